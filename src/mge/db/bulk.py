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
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Dialect
from sqlalchemy.sql.dml import Insert, Update

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
                        compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect)
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
