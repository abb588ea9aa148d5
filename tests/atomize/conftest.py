"""Shared helpers for the atomize tests: fixture paths and the real corpora."""

from __future__ import annotations

from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
REPO = Path(__file__).resolve().parents[2]
CORPORA = REPO / ".test-corpora"
TS_CORPUS = CORPORA / "rxjs" / "node_modules" / "rxjs" / "src"
JS_CORPUS = CORPORA / "lodash-es" / "node_modules" / "lodash-es"


@pytest.fixture
def fixtures() -> Path:
    return FIXTURES


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def require_corpus(path: Path) -> Path:
    """The corpus directory, or a skip telling how to install it."""
    if not path.is_dir():
        pytest.skip(f"{path} missing: run scripts/install_test_corpora.sh (make system-deps)")
    return path
