"""One attempt's atomic verdict from plain data, so any process can give it.

Everything the verdict depends on is passed in: the candidate, the atom's planned
interface, the layout of its file (the planned atoms in order, with the names each
defines) and the code of the atoms the attempt may see (its completed
prerequisites in the same file). Nothing here reads the run's live state, so the
engine can hand the work to another process (`_judge_pool`) and get the same
verdict it would compute itself.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from mge.atomize import prepare
from mge.atomize._languages import supported_language
from mge.execute._assembly import PlannedAtom, assemble, top_level_piece
from mge.execute._output import module_name
from mge.validate import Assembly, AtomSpec, AtomVerdict, validate_atom


@dataclass(frozen=True)
class FileAtom:
    """One planned atom of a file, as an assembly of the file needs it."""

    planned: PlannedAtom
    defines: tuple[str, ...] = ()


def atom_assembly(
    layout: Sequence[FileAtom],
    key: str,
    code_of: Callable[[PlannedAtom], str | None],
    *,
    compact: bool = True,
) -> Assembly:
    """The file of atom `key` as its attempt sees it. `compact` reduces definitions
    that do not hold the atom to bindings (see `assemble`); doctests need the whole
    file, since their tracebacks name lines of the real one."""
    assembled = assemble(
        [atom.planned for atom in layout],
        code_of,
        around=key if compact else None,
        defines={atom.planned.atom_id: atom.defines for atom in layout if atom.defines},
    )
    first, last = assembled.spans[key]
    # Top-level code runs at import, in file order: names it defines are "planned"
    # (reading them is no error) while it is left out of a view.
    module_level = [atom for atom in layout if top_level_piece(atom.planned)]
    return Assembly(
        text=assembled.text,
        first_line=first,
        last_line=last,
        planned_names=frozenset(
            name
            for atom in module_level
            if atom.planned.atom_id not in assembled.spans
            for name in atom.defines
        ),
        module=module_name(layout[0].planned.file) if layout else None,
        module_state_complete=all(atom.planned.atom_id in assembled.spans for atom in module_level),
    )


def judge(
    candidate: str, spec: AtomSpec, layout: Sequence[FileAtom], view: Mapping[str, str]
) -> AtomVerdict:
    """The verdict on `candidate` for atom `spec.atom_id`, with the atoms in `view`
    (key -> code) shown as written and every other atom of the file as a stand-in.
    Doctests are not run here: an atom with examples needs the whole project on
    disk, which only the engine can lay out."""
    key = spec.atom_id

    def code_of(planned: PlannedAtom) -> str | None:
        return candidate if planned.atom_id == key else view.get(planned.atom_id)

    verdict = validate_atom(candidate, spec, atom_assembly(layout, key, code_of))
    if "syntax" in verdict.error_classes:
        # How a parser recovers from broken code, and so what the feedback says,
        # depends on the code around it: broken code is judged on the whole file
        # (it is rare, so the cost does not matter).
        verdict = validate_atom(candidate, spec, atom_assembly(layout, key, code_of, compact=False))
    return verdict


def prepare_to_judge(layouts: Mapping[str, Sequence[FileAtom]]) -> None:
    """Everything judging builds on first use, built before the first candidate of
    the files in `layouts` arrives (see `mge.atomize.prepare`)."""
    prepare(sorted({language for file in layouts if (language := supported_language(file))}))
