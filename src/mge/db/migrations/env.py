"""Alembic environment: runs on a connection handed over by `mge.db.migrate`.

Each revision runs in its own transaction, so a failing one leaves the database
at the revision before it, on SQLite as on PostgreSQL.
"""

from __future__ import annotations

from alembic import context

import mge.db.models  # noqa: F401  (registers every table on the metadata)
from mge.db.base import Base

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=True,
    transaction_per_migration=True,
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
