"""The file around an atom under review, as its atoms hold it now, and the atom's
lines in it.

Checks and suggestions count lines from the atom's first line, because that is what
the model sees. A person reads the file: the review page shows the code around the
atom and names every place by its line in that file, so "line 3 of the atom" and
"line 0" (unknown) never reach a reviewer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from mge.db.models import AtomicUnit, AtomRetryHistory
from mge.execute._assembly import PlannedAtom, assemble

__all__ = ["FileView", "file_view", "in_file_lines", "previous_attempt"]

_ATOM_LINE = re.compile(r"\bline (-?\d+)")


@dataclass(frozen=True)
class FileView:
    """`text` is the file with every atom's current code (stand-ins where an atom has
    none); `first_line`/`last_line` are the atom's lines in it, None when the atom
    itself has no code yet."""

    path: str
    language: str
    text: str
    first_line: int | None
    last_line: int | None

    @property
    def line_count(self) -> int:
        return self.text.count("\n") + (0 if self.text.endswith("\n") else 1)

    def file_line(self, atom_line: int) -> int | None:
        """A suggestion's line (1-based in the atom, 0 when unknown) in the file."""
        if self.first_line is None or atom_line < 1:
            return None
        return self.first_line + atom_line - 1

    def in_file_lines(self, message: str) -> str:
        """A check's message with each `line N` rewritten as the file's line."""
        return in_file_lines(message, self.first_line)


def in_file_lines(message: str, first_line: int | None) -> str:
    """`message` with each `line N` (counted in an atom starting at `first_line` of
    its file, where 0 or less is a line before it) as the file's line, never below 1."""
    if first_line is None:
        return message

    def shifted(match: re.Match[str]) -> str:
        return f"line {max(1, first_line + int(match.group(1)) - 1)}"

    return _ATOM_LINE.sub(shifted, message)


def file_view(session: Session, atom: AtomicUnit) -> FileView:
    """The atom's file assembled the way the engine writes it, from the stored rows."""
    rows = list(
        session.scalars(
            select(AtomicUnit)
            .where(
                AtomicUnit.masterplan_id == atom.masterplan_id,
                AtomicUnit.file_path == atom.file_path,
            )
            .order_by(AtomicUnit.atom_number)
        )
    )
    code = {row.atom_key: row.code for row in rows}
    assembled = assemble([PlannedAtom.of_row(row) for row in rows], lambda p: code[p.atom_id])
    span = assembled.spans.get(atom.atom_key)
    return FileView(
        path=atom.file_path,
        language=atom.language,
        text=assembled.text,
        first_line=span[0] if span else None,
        last_line=span[1] if span else None,
    )


def previous_attempt(session: Session, atom: AtomicUnit) -> tuple[int, str] | None:
    """(attempt number, code) of the attempt before the one that gave the current
    code; the last attempt when the current code is a person's edit; None if none."""
    attempts = [
        (history.attempt_number, history.generated_code)
        for history in session.scalars(
            select(AtomRetryHistory)
            .where(AtomRetryHistory.atom_id == atom.id)
            .order_by(AtomRetryHistory.attempt_number)
        )
        if history.generated_code is not None
    ]
    if attempts and attempts[-1][1] == atom.code:
        attempts.pop()
    return attempts[-1] if attempts else None
