"""An atom of the atomizer as an `atomic_units` row."""

from __future__ import annotations

from typing import Any

from mge.atomize import Atom
from mge.db.models import AtomicUnit, MasterPlan, MasterPlanTask


def decode_code(code: bytes) -> str:
    """Text for the database: PostgreSQL text cannot hold arbitrary bytes, so bytes
    that are not UTF-8 are kept as backslash escapes; the byte span stays exact."""
    return code.decode("utf-8", errors="backslashreplace")


def atom_values(atom: Atom) -> dict[str, Any]:
    """The `atomic_units` columns an atom fills, by column name (the rest keep their
    defaults); `atom_row` builds the ORM object from them, bulk writers the row."""
    context = atom.context
    return {
        "atom_key": atom.id,
        "name": atom.name[:300],
        "qualname": atom.qualname[:500],
        "kind": atom.kind,
        "file_path": atom.file,
        "language": atom.language,
        "start_byte": atom.start_byte,
        "end_byte": atom.end_byte,
        "start_line": atom.start_line,
        "end_line": atom.end_line,
        "code": decode_code(atom.code),
        "loc": atom.loc,
        "complexity": atom.complexity,
        "signature": context.get("signature"),
        "context_imports": list(context.get("imports", [])),
        "context_types": list(context.get("types", [])),
        "context_preconditions": list(context.get("preconditions", [])),
        "context_postconditions": list(context.get("postconditions", [])),
        "context_callees": list(context.get("callees", [])),
        "context_completeness": atom.context_completeness,
        "atomicity_score": atom.atomicity_score,
        "atomicity_violations": list(atom.violations),
        "is_atomic": not atom.violations,
        "extra": {
            "nws_chars": atom.nws_chars,
            "references": list(context.get("references", [])),
            "defines": list(context.get("defines", [])),
            "external": list(context.get("external", [])),
        },
    }


def atom_row(
    atom: Atom,
    *,
    masterplan: MasterPlan,
    number: int,
    task: MasterPlanTask | None = None,
) -> AtomicUnit:
    return AtomicUnit(masterplan=masterplan, task=task, atom_number=number, **atom_values(atom))
