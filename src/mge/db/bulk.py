"""One statement for many rows, with each value converted the way SQLAlchemy would.

A run writes about eight rows per attempt (the attempt, its checks, the atom's
new state), tens of thousands a run, and most of their values repeat: the run,
the plan, the atom, one timestamp per attempt. On SQLite, SQLAlchemy's
executemany spent more time building a parameter dict per row and converting
every value (a UUID to hex, a timestamp to text) than SQLite spent storing them.
`BulkWrite` compiles its statement once per dialect, converts each column with
the converter SQLAlchemy itself would use for its type (so the stored values are
the same), converts an object once when a column meets it again, and gives the
rows to the driver's executemany as tuples. Dialects with named parameters
(PostgreSQL's driver) take SQLAlchemy's own path, which batches rows its own way.

`insert_rows` writes many new rows of one table in batches: by COPY on
PostgreSQL (psycopg 3), by `BulkWrite` elsewhere. `mge migrate-tasks` stores a
masterplan's atoms, edges and waves this way (tens of thousands of rows).
"""

from __future__ import annotations

import enum
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, cast

from sqlalchemy import JSON, Connection, Dialect, Enum, Table, TypeDecorator, insert
from sqlalchemy.sql.dml import Insert, Update
from sqlalchemy.sql.schema import CallableColumnDefault, ScalarElementColumnDefault
from sqlalchemy.types import TypeEngine

_Convert = Callable[[Any], Any]


@dataclass(frozen=True)
class _Compiled:
    sql: str
    names: tuple[str, ...]
    converters: tuple[_Convert | None, ...]


class BulkWrite:
    """`statement` (an INSERT of a table, or an UPDATE with bound parameters) run
    for many rows; each row is a mapping of parameter name to value, and every row
    gives every parameter."""

    def __init__(self, statement: Insert | Update) -> None:
        self.statement = statement
        self._compiled: dict[str, _Compiled | None] = {}

    def _compile(self, dialect: Dialect, keys: Sequence[str]) -> _Compiled | None:
        cache_key = f"{dialect.name}:{','.join(keys)}"
        if cache_key not in self._compiled:
            compiled = self.statement.compile(dialect=dialect, column_keys=list(keys))
            names = compiled.positiontup
            if not compiled.positional or names is None or not set(names) <= set(keys):
                # Named parameters, or parameters the rows do not give (a column
                # default to compute per row): SQLAlchemy's own path does it.
                self._compiled[cache_key] = None
            else:
                self._compiled[cache_key] = _Compiled(
                    sql=compiled.string,
                    names=tuple(names),
                    converters=tuple(
                        _bind_converter(compiled.binds[name].type.dialect_impl(dialect), dialect)
                        for name in names
                    ),
                )
        return self._compiled[cache_key]

    def execute(self, connection: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
        if not rows:
            return
        compiled = self._compile(connection.dialect, list(rows[0]))
        if compiled is None:
            connection.execute(self.statement, list(rows))
            return
        columns = [
            _converted([row[name] for row in rows], convert)
            for name, convert in zip(compiled.names, compiled.converters, strict=True)
        ]
        connection.exec_driver_sql(compiled.sql, list(zip(*columns, strict=True)))


def _bind_converter(column_type: TypeEngine[Any], dialect: Dialect) -> _Convert | None:
    """The converter SQLAlchemy uses for `column_type`, with JSON's empty lists and
    dicts (most of an atom's context columns) encoded once instead of per row."""
    convert = column_type.bind_processor(dialect)
    if convert is None or not isinstance(column_type, JSON):
        return convert
    return _empties_once(convert)


def _empties_once(convert: _Convert) -> _Convert:
    empty_list, empty_dict = convert([]), convert({})

    def converted(value: Any) -> Any:
        if not value:
            if type(value) is list:
                return empty_list
            if type(value) is dict:
                return empty_dict
        return convert(value)

    return converted


def _converted(values: list[Any], convert: _Convert | None) -> list[Any]:
    if convert is None:
        return values
    result: list[Any] = []
    last: object = _converted  # a sentinel no value is
    done: Any = None
    for value in values:
        if value is not last:
            last, done = value, convert(value)
        result.append(done)
    return result


def insert_rows(
    connection: Connection, table: Table, rows: Iterable[Mapping[str, Any]], *, batch: int = 2000
) -> int:
    """Insert many rows of `table` (each a mapping of column name to value; a column
    a row does not give takes its default, as in an ORM insert) in batches of
    `batch`, so only one batch of driver parameters is alive at a time; the number
    of rows written.

    PostgreSQL through psycopg takes them by COPY, with each value converted as its
    column type would convert it; other databases by `BulkWrite`'s executemany.
    """
    copying = connection.dialect.name == "postgresql" and connection.dialect.driver == "psycopg"
    writer = None if copying else _writer_for(table)
    written = 0
    chunk: list[Mapping[str, Any]] = []
    defaults = _defaults(table)
    once: dict[str, Any] = {}
    for given in rows:
        row = dict(given)
        for name, default, each_row in defaults:
            if name not in row:
                if each_row:
                    row[name] = default()
                else:
                    if name not in once:
                        once[name] = default()
                    row[name] = once[name]
        chunk.append(row)
        if len(chunk) >= batch:
            written += _write(connection, table, chunk, writer)
            chunk = []
    if chunk:
        written += _write(connection, table, chunk, writer)
    return written


#: One `BulkWrite` per table, so its compiled statement is reused across calls (a
#: run inserts its attempts and checks a few rows at a time, hundreds of times).
_WRITERS: dict[Table, BulkWrite] = {}


def _writer_for(table: Table) -> BulkWrite:
    writer = _WRITERS.get(table)
    if writer is None:
        writer = _WRITERS[table] = BulkWrite(insert(table))
    return writer


def _defaults(table: Table) -> list[tuple[str, Callable[[], Any], bool]]:
    """Each column with its Python-side default (what an ORM insert uses when a row
    does not give the column: a constant or a call), else NULL, and whether the
    call is made for each row. It is for keys and unique columns (a fresh id per
    row); any other column's call (a timestamp) is made once per `insert_rows`,
    as the database's own `now()` is once per statement: converting 100,000
    distinct timestamps was a tenth of a migration's writing."""
    missing: list[tuple[str, Callable[[], Any], bool]] = []
    for column in table.columns:
        default = column.default
        if column.server_default is not None:
            continue  # left out of the statement, so the database fills it
        if default is None:
            missing.append((column.name, partial(_constant, None), False))
        elif isinstance(default, CallableColumnDefault):
            # SQLAlchemy wraps the function to take an execution context it ignores.
            call = partial(default.arg, None)  # type: ignore[arg-type]
            missing.append((column.name, call, bool(column.primary_key or column.unique)))
        elif isinstance(default, ScalarElementColumnDefault):
            missing.append((column.name, partial(_constant, default.arg), False))
        else:
            raise TypeError(f"{table.name}.{column.name}: a SQL default cannot be bulk-copied")
    return missing


def _constant(value: Any) -> Any:
    return value


def _write(
    connection: Connection,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    writer: BulkWrite | None,
) -> int:
    if writer is not None:
        writer.execute(connection, rows)
        return len(rows)
    names = list(rows[0])
    import psycopg

    dialect = connection.dialect
    converters = [_copy_converter(table.c[name].type, dialect) for name in names]
    columns = ", ".join(connection.dialect.identifier_preparer.quote(name) for name in names)
    quoted = connection.dialect.identifier_preparer.format_table(table)
    driver = cast("psycopg.Connection[Any]", connection.connection.dbapi_connection)
    with driver.cursor() as cursor, cursor.copy(f"COPY {quoted} ({columns}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(
                [
                    value if convert is None or value is None else convert(value)
                    for value, convert in zip(
                        (row[name] for name in names), converters, strict=True
                    )
                ]
            )
    return len(rows)


def _copy_converter(column_type: TypeEngine[Any], dialect: Dialect) -> _Convert | None:
    """How a value of `column_type` goes to COPY: JSON as JSONB, enums as their
    values, decorated types through their own bind conversion; None when psycopg
    adapts the Python value as it is (numbers, text, UUIDs, booleans)."""
    if isinstance(column_type, JSON):
        # JSON text, which the server parses into the column's type as it would
        # psycopg's own JSON dumper's output.
        return _empties_once(json.dumps)
    if isinstance(column_type, Enum):
        return _enum_value
    if isinstance(column_type, TypeDecorator):
        decorated = column_type

        def convert(value: Any) -> Any:
            return decorated.process_bind_param(value, dialect)

        return convert
    return None


def _enum_value(value: Any) -> Any:
    return value.value if isinstance(value, enum.Enum) else value
