"""The system of record: SQLAlchemy models, engines and sessions, Alembic migrations."""

from mge.db.engine import make_engine, parse_database_url, session_scope

__all__ = ["make_engine", "parse_database_url", "session_scope"]
