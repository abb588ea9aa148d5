from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from mge.db import make_engine, migrate


@pytest.fixture
def migrated_engine(db_url: str) -> Iterator[Engine]:
    """An engine on a database upgraded to head, on SQLite and PostgreSQL."""
    migrate.upgrade(db_url)
    engine = make_engine(db_url)
    yield engine
    engine.dispose()
