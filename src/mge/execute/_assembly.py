"""Files assembled from atoms: for validation, for the workspace and for output.

A file is its atoms in order. An atom that is not part of an assembly is replaced
by a filler that keeps the file valid code: a definition becomes a stub with its
signature whose body raises `NotImplementedError(STUB_MARK: atom id)`, a piece of a
body becomes a statement that is valid where it lands and binds the names the piece
plans to bind (`_structure` closes a `try` or `match` the written code leaves open),
a class header becomes `class Name:` with `pass`, and other top-level code is left
out. Fillers are built from the plan's structure (names, signatures, indentation,
the names each atom binds) and the code written around them, never from code the
model has not written.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from mge.execute._structure import Line, Structure, continues_statement, first_line
from mge.validate import STUB_MARK

if TYPE_CHECKING:
    from mge.db.models import AtomicUnit

_SCRIPT_SUFFIXES = (".ts", ".tsx", ".mts", ".cts", ".js", ".jsx", ".mjs", ".cjs")


def is_script(file: str) -> bool:
    """A TypeScript or JavaScript file (by its name)."""
    return file.endswith(_SCRIPT_SUFFIXES)


_DEF_LINE = re.compile(r"^([ \t]*)(?:@|async\s+def\b|def\b|class\b)")


@dataclass(frozen=True)
class PlannedAtom:
    """What the plan fixes about an atom, enough to stand in for it."""

    atom_id: str
    file: str
    kind: str
    name: str
    qualname: str
    signature: str | None
    indent: str
    body_indent: str

    @classmethod
    def of_row(cls, row: AtomicUnit) -> PlannedAtom:
        """The planned atom of a stored row (its indentation kept in `extra`)."""
        extra = row.extra or {}
        return cls(
            atom_id=row.atom_key,
            file=row.file_path,
            kind=row.kind,
            name=row.name,
            qualname=row.qualname or row.name,
            signature=row.signature,
            indent=str(extra.get("indent", "")),
            body_indent=str(extra.get("body_indent", "    ")),
        )


def indentation(code: str, kind: str) -> tuple[str, str]:
    """(indent of the atom's first line, indent of the body under it), from the
    planned code: the definition line for definitions, the first code line else."""
    lines = [
        line for line in code.splitlines() if line.strip() and not line.lstrip().startswith("#")
    ]
    if not lines:
        return "", "    "
    first = lines[0]
    if kind in ("function", "method", "class_header"):
        for line in lines:
            match = _DEF_LINE.match(line)
            if match and not line.lstrip().startswith("@"):
                first = line
                break
    indent = first[: len(first) - len(first.lstrip())]
    return indent, indent + "    "


def filler(atom: PlannedAtom, *, first_piece: bool, missing: str | None = None) -> str:
    """The stand-in text for an atom left out of an assembly. A stub names the atom
    that is not there (`missing`, a piece of its body, or the definition itself), so
    a call that reaches it says which atom to look at."""
    if is_script(atom.file):
        return _script_filler(atom, first_piece=first_piece, missing=missing)
    if atom.kind in ("function", "method") and first_piece:
        signature = _bare_signature(atom.signature) or f"def {atom.name}(*args, **kwargs)"
        decorators = "".join(f"{atom.indent}{d}\n" for d in _decorators(atom.signature))
        message = f"{STUB_MARK}: {missing or atom.atom_id}"
        return (
            f"{decorators}{atom.indent}{signature.rstrip(':')}:\n"
            f"{atom.body_indent}raise NotImplementedError({message!r})\n"
        )
    if atom.kind == "class_header" and first_piece:
        return f"{atom.indent}class {atom.name}:\n{atom.body_indent}pass\n"
    if atom.kind == "class_header":
        return f"{atom.indent}pass\n"
    if atom.kind == "block":
        return f"{atom.indent}pass\n"
    return ""


def _script_filler(atom: PlannedAtom, *, first_piece: bool, missing: str | None) -> str:
    """`filler` for TypeScript and JavaScript (the classes it closes are added by
    `assemble`, which knows the atoms after it)."""
    if not first_piece:
        return ""
    if atom.kind in ("function", "method"):
        message = json.dumps(f"{STUB_MARK}: {missing or atom.atom_id}")
        signature = " ".join((atom.signature or "").split())
        if not signature:
            keyword = "" if atom.kind == "method" else "function "
            signature = f"{keyword}{atom.name}(...args: unknown[]): never"
        return f"{atom.indent}{signature} {{ throw new Error({message}); }}\n"
    if atom.kind == "class_header":
        signature = " ".join((atom.signature or "").split()) or f"class {atom.name}"
        return f"{atom.indent}{signature} {{\n"
    return ""


def _classes(atom: PlannedAtom) -> list[str]:
    """The classes open around an atom (after it, for a class header)."""
    if atom.qualname == "<module>" or atom.kind not in _DEFINITION_KINDS:
        return []
    parts = atom.qualname.split(".")
    return parts if atom.kind == "class_header" else parts[:-1]


def script_closing(atoms: Sequence[PlannedAtom], position: int) -> str:
    """The closing braces a stand-in for `atoms[position]` writes: those of the classes
    open around it that the next atom is outside of (the last member of a class holds
    the class's closing brace; pieces of the stand-in's own body are left out)."""
    here = _classes(atoms[position])
    later = [atom for atom in atoms[position + 1 :] if atom.kind != "block"]
    after = _classes(later[0]) if later else []
    if later and later[0].kind == "class_header":
        after = after[:-1]
    shared = 0
    while shared < min(len(here), len(after)) and here[shared] == after[shared]:
        shared += 1
    unit = _indent_unit(atoms[position], len(here))
    return "".join(f"{unit * depth}}}\n" for depth in range(len(here) - 1, shared - 1, -1))


def _indent_unit(atom: PlannedAtom, depth: int) -> str:
    """One level of the file's indentation, from an atom `depth` classes deep."""
    if atom.kind == "class_header":
        depth -= 1
    if depth <= 0 or not atom.indent:
        return "  "
    return atom.indent[: max(len(atom.indent) // depth, 1)]


_SIGNATURE_START = re.compile(r"\b(?:async\s+)?def\b")


def _bare_signature(signature: str | None) -> str | None:
    """The `def ...(...)` part of a signature, without decorators written before it."""
    if not signature:
        return None
    match = _SIGNATURE_START.search(signature)
    return signature[match.start() :] if match else None


def _decorators(signature: str | None) -> list[str]:
    """Decorators written before `def` in a one-line signature (`@property def x(self)`):
    a stub keeps them, so a property stays a property."""
    if not signature:
        return []
    match = _SIGNATURE_START.search(signature)
    prefix = signature[: match.start()] if match else ""
    return [d.strip() for d in re.findall(r"@[^@]+", prefix) if d.strip()]


@dataclass(frozen=True)
class Assembled:
    text: str
    spans: dict[str, tuple[int, int]]


_DEFINITION_KINDS = frozenset({"function", "method", "class_header"})


def _comes_back(atoms: Sequence[PlannedAtom], position: int) -> bool:
    """For a definition whose qualname was seen before: whether it starts one of its
    own all the same, a name that comes back after other code (a class defined
    twice in a file, as tests do) rather than a later piece of the one before it."""
    atom = atoms[position]
    if position == 0:
        return False
    before = atoms[position - 1].qualname
    return before != atom.qualname and not before.startswith(atom.qualname + ".")


def _starts(atoms: Sequence[PlannedAtom]) -> list[bool]:
    """Per atom, whether it starts a definition (or a run of top-level code) of its
    own. A function or method atom always does: the pieces that continue a body are
    `block` atoms, so a def that follows another of the same name (`@overload`
    variants, a property's setter after its getter) is a definition in its own right,
    not a later piece of the one before it."""
    seen: set[str] = set()
    starts: list[bool] = []
    for position, atom in enumerate(atoms):
        starts.append(
            atom.qualname not in seen
            or atom.kind in ("function", "method")
            or (atom.kind in _DEFINITION_KINDS and _comes_back(atoms, position))
        )
        seen.add(atom.qualname)
    return starts


def _collapsed(
    atoms: Sequence[PlannedAtom], code_of: Callable[[PlannedAtom], str | None], around: str
) -> dict[int, bool]:
    """For `assemble(..., around=KEY)`: the atoms that start a definition not holding
    KEY, mapped to True (a binding of its name stands for the whole definition), and
    the rest of that definition's atoms mapped to False (left out). A definition whose
    code has a `global` statement is kept: it can bind module names from inside.
    (Plain loops: this runs for every attempt over every atom of the file.)"""
    result: dict[int, bool] = {}
    seen: set[str] = set()
    index, count = 0, len(atoms)
    while index < count:
        atom = atoms[index]
        qualname = atom.qualname
        if atom.kind not in _DEFINITION_KINDS or (
            qualname in seen and not _comes_back(atoms, index)
        ):
            seen.add(qualname)
            index += 1
            continue
        seen.add(qualname)
        nested = qualname + "."
        holds_key = atom.atom_id == around
        end = index + 1
        while end < count and (
            atoms[end].qualname == qualname or atoms[end].qualname.startswith(nested)
        ):
            holds_key = holds_key or atoms[end].atom_id == around
            end += 1
        if holds_key:
            index += 1  # descend: the definitions nested in it are judged one by one
            continue
        declares_global = False
        for member in atoms[index:end]:
            code = code_of(member)
            if code is not None and "global" in code:
                declares_global = True
                break
        if not declares_global:
            result[index] = True
            for inner in range(index + 1, end):
                result[inner] = False
                seen.add(atoms[inner].qualname)
        index = end
    return result


def top_level_piece(atom: PlannedAtom) -> bool:
    """A top-level statement or a piece of one (a long `if` at module level is cut
    into blocks of the module, definitions under it included)."""
    return atom.kind in ("statement", "module_header") or (
        atom.kind == "block" and atom.qualname == "<module>"
    )


def _statement_stand_in(atoms: Sequence[PlannedAtom], position: int, names: Sequence[str]) -> str:
    """In the written project, a top-level statement left out binds the names it
    would have bound to None, so that the definitions after it that read them at
    import (defaults, decorators) still load; unless its body is in the atoms after
    it (they are left out with it, see `assemble`)."""
    atom = atoms[position]
    after = atoms[position + 1] if position + 1 < len(atoms) else None
    opens = after is not None and len(after.indent.expandtabs(8)) > len(atom.indent.expandtabs(8))
    return "" if opens or not names else f"{atom.indent}{' = '.join(names)} = None\n"


def top_level_names(code: str) -> set[str]:
    """The names a piece of module-level code binds with imports, definitions and
    assignments at its top level (nothing when it does not parse)."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return set()
    bound: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            bound |= {(alias.asname or alias.name).partition(".")[0] for alias in node.names}
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            bound.add(node.name)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            bound |= {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
    return bound


def _owners(atoms: Sequence[PlannedAtom], starts: Sequence[bool]) -> list[int]:
    """Per atom, the position of the atom that starts its definition: the latest
    start of its qualname (two defs of one name are two definitions)."""
    latest: dict[str, int] = {}
    owners: list[int] = []
    for position, atom in enumerate(atoms):
        if starts[position]:
            latest[atom.qualname] = position
        owners.append(latest.get(atom.qualname, position))
    return owners


def _incomplete(
    atoms: Sequence[PlannedAtom],
    code_of: Callable[[PlannedAtom], str | None],
    owners: Sequence[int],
) -> dict[int, str]:
    """Functions and methods with a piece left out: the position of the definition's
    first atom -> the first piece left out."""
    found: dict[int, str] = {}
    for position, atom in enumerate(atoms):
        owner = owners[position]
        if (
            atoms[owner].kind in ("function", "method")
            and owner not in found
            and code_of(atom) is None
        ):
            found[owner] = atom.atom_id
    return found


def assemble(
    atoms: Sequence[PlannedAtom],
    code_of: Callable[[PlannedAtom], str | None],
    *,
    around: str | None = None,
    defines: Mapping[str, Sequence[str]] | None = None,
    whole_definitions: bool = False,
) -> Assembled:
    """Join a file's atoms; `code_of` gives an atom's text, or None for a filler.

    `spans` gives each included atom's first and last line (1-based) in the text.
    A method's later pieces are kept out when its first piece is out, since they
    would continue a body that is not there.

    With `around=KEY` the text is the view atomic validation needs of atom KEY: every
    definition (function, class, method) that does not hold KEY is reduced to a
    `name = None` binding in its place (neighbouring ones share one statement). Its
    contents bind nothing KEY can see, so the verdict is the same as on the whole
    file, while parsing and checking cost what the atom's own definition costs
    instead of growing with the file.

    `defines` (atom key -> names) lets the stand-in for a piece of a body bind the
    names the planned piece binds (see `Structure.block_filler`).

    With `whole_definitions` (the written project) a function or method with any
    piece left out is a stub as a whole, naming that piece: what was written of it
    would run without the rest and return a wrong answer instead of failing. What
    lies inside a top-level statement that is left out (the body of an `if` or a
    `for`, definitions under it) is left out too.
    """
    parts: list[str] = []
    spans: dict[str, tuple[int, int]] = {}
    line = 1
    # Definitions (by the position of their first atom) whose first atom is a
    # stand-in: their later pieces would continue a body that is not there.
    skipped_heads: set[int] = set()
    starts = _starts(atoms)
    owners = _owners(atoms, starts)
    collapsed = _collapsed(atoms, code_of, around) if around is not None else {}
    # The statements the text leaves open, so that each piece (and the end of the
    # file) lands where it is valid: see `_structure`.
    structure = Structure()
    # Consecutive stand-ins become one chained binding (`a = b = c = None`): the
    # same names bound at the same point, at a fraction of the statements to parse,
    # compile and check.
    chained: list[str] = []
    chained_indent = ""

    # TypeScript and JavaScript: braces, not indentation, close what is open.
    script = bool(atoms) and is_script(atoms[0].file)

    def emit(text: str) -> int:
        """Append `text` after what it needs to be valid there; its first line."""
        nonlocal line
        closing = structure.closing(first_line(text)) if text and not script else ""
        for piece in (closing, text):
            if piece:
                parts.append(piece)
                line += piece.count("\n")
        structure.feed(text)
        return line - text.count("\n")

    def close_chain() -> None:
        if chained:
            emit(f"{chained_indent}{' = '.join(chained)} = None\n")
            chained.clear()

    def following(position: int) -> Line | None:
        """The first line of the written piece that continues the body a stand-in
        for the block at `position` is in, if one does."""
        for later in range(position + 1, len(atoms)):
            atom = atoms[later]
            if atom.kind != "block" or later in collapsed or owners[later] in skipped_heads:
                return None
            code = code_of(atom)
            if code is not None:
                return first_line(code)
        return None

    incomplete = _incomplete(atoms, code_of, owners) if whole_definitions else {}
    left_out_under: int | None = None
    for position, atom in enumerate(atoms):
        first_piece = starts[position]
        owner = owners[position]
        if left_out_under is not None:
            width = len(atom.indent.expandtabs(8))
            if width > left_out_under or (
                width == left_out_under and continues_statement(code_of(atom) or "")
            ):
                continue  # inside (or a clause of) a top-level statement left out
            left_out_under = None
        if whole_definitions and not script and top_level_piece(atom) and code_of(atom) is None:
            left_out_under = len(atom.indent.expandtabs(8))
        if owner in incomplete:
            if first_piece:
                skipped_heads.add(owner)
                text = filler(atom, first_piece=True, missing=incomplete[owner])
                emit(text + (script_closing(atoms, position) if script else ""))
            continue
        if position in collapsed:
            if collapsed[position]:
                if chained and chained_indent != atom.indent:
                    close_chain()
                chained.append(atom.name)
                chained_indent = atom.indent
            continue
        close_chain()
        code = code_of(atom)
        if atom.kind == "block" and owner in skipped_heads:
            continue
        if code is None:
            if atom.kind == "block":
                names = defines.get(atom.atom_id, ()) if defines else ()
                text = structure.block_filler(atom.indent, following(position), names)
            elif script:
                text = filler(atom, first_piece=first_piece)
                if atom.kind in _DEFINITION_KINDS and first_piece:
                    text += script_closing(atoms, position)
            elif whole_definitions and atom.kind == "statement" and defines:
                text = _statement_stand_in(atoms, position, defines.get(atom.atom_id, ()))
            else:
                text = filler(atom, first_piece=first_piece)
            if atom.kind in ("function", "method"):
                skipped_heads.add(owner)
            emit(text)
        else:
            text = code if code.endswith("\n") or not code else code + "\n"
            start = emit(text)
            spans[atom.atom_id] = (start, start + max(text.count("\n"), 1) - 1)
    close_chain()
    emit_end = "" if script else structure.closing(None)
    if emit_end:
        parts.append(emit_end)
    return Assembled(text="".join(parts), spans=spans)
