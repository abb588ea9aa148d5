"""The declarative base and the column types every model shares.

The same models run on SQLite (the default, zero set-up) and PostgreSQL
(production), so the portable choices live here once: UUID keys, JSON that is
JSONB on PostgreSQL, timestamps that are always timezone-aware UTC (SQLite keeps
no zone, so values are normalised on the way in and out), and enums stored as
constrained strings so that adding a value later is a plain migration.
"""

from __future__ import annotations

import enum
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Dialect, Enum, MetaData, TypeDecorator, Uuid
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from uuid_utils.compat import uuid7

# Deterministic constraint names, so migrations can name what they drop.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# None is SQL NULL, never the JSON text `null`: otherwise a nullable column that was
# NULL reads back as None but is stored differently, and "IS NULL" stops finding it
# (a revert would not give back the rows it found).
JSONType = JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored with its zone and always read back as aware UTC."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; MGE stores timezone-aware UTC only")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def str_enum(enum_class: type[enum.Enum], name: str) -> Enum:
    """A portable enum column: VARCHAR plus a CHECK constraint, values not names."""
    return Enum(
        enum_class,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=32,
        values_callable=lambda members: [member.value for member in members],
        validate_strings=True,
    )


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {  # noqa: RUF012  (read once by SQLAlchemy)
        datetime: UTCDateTime(),
        uuid.UUID: Uuid(),
        dict[str, Any]: JSONType,
        list[Any]: JSONType,
    }


class UUIDPrimaryKey:
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)


def sequential_id() -> uuid.UUID:
    """A time-ordered key (UUIDv7) for rows written by the thousand: rows written
    together get neighbouring keys, so an insert touches the last page of the key
    index instead of a random one. With tens of thousands of attempt and check rows
    a run, random keys made every commit dirty pages all over the index (more to
    write, more to checkpoint). Rows people name by an id prefix (plans, runs,
    review items) keep random keys: time-ordered ones share their first characters
    with everything made in the same minute."""
    return uuid7()


class SequentialPrimaryKey:
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=sequential_id)


class Timestamps:
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
