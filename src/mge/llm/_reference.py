"""Reference answers for the replay model, read from a plan's reference code.

This module and the labelled measurement module (`mge.execute.measurement`) are
the only readers of reference code; an import contract in `make test` keeps every
other part of the pipeline from importing it. The replay model is a model like any
other: the engine sends it the same requests and plans from its answers exactly as
it would from a real model's.

A skeleton request is answered as a model that knows the code would answer it: the
file's interface and module-level code, and over each elided body its plan (the
names the body uses, and where the reference's own atomization splits the body,
one step per piece). An atom request is answered with the reference atom's text,
found by the id the engine planned from that skeleton.
"""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path

from mge.atomize import Atom, AtomizeConfig, FileResult, atomize_source, skeleton
from mge.atomize._plan import (
    Step,
    callee_exists,
    elided_bodies,
    functions,
    known_names,
    render_body_plan,
    returns_value,
)

__all__ = ["PlanReference"]

_INTENT_WIDTH = 72


class PlanReference:
    def __init__(self, root: Path, config: AtomizeConfig) -> None:
        self.root = root
        self.config = config

    def _source(self, file: str) -> bytes | None:
        path = (self.root / file).resolve()
        if not path.is_relative_to(self.root.resolve()) or not path.is_file():
            return None
        return path.read_bytes()

    def skeleton(self, file: str) -> str | None:
        source = self._source(file)
        if source is None:
            return None
        text = skeleton(source, file, statements=True)
        if not file.endswith(".py"):
            return text
        result = self.atomized(file)
        return text if result is None else _with_body_plans(text, source, result)

    @cache  # noqa: B019  (one instance per run; the cache lives as long as the run)
    def atomized(self, file: str) -> FileResult | None:
        source = self._source(file)
        return None if source is None else atomize_source(source, file, config=self.config)

    @cache  # noqa: B019
    def atoms_of(self, file: str) -> dict[str, Atom]:
        """The file's reference atoms by id (a file can hold hundreds)."""
        result = self.atomized(file)
        return {} if result is None else {atom.id: atom for atom in result.atoms}

    def atom(self, atom_id: str) -> str | None:
        file = atom_id.split("::", 1)[0]
        found = self.atoms_of(file).get(atom_id)
        if found is None:
            return None
        if file.endswith(".py") or found.kind not in ("function", "method"):
            return found.text
        # A TypeScript/JavaScript skeleton plans no steps, so the engine asks for a
        # whole definition: the reference's pieces of a long body, joined.
        result = self.atomized(file)
        atoms = [] if result is None else result.atoms
        start = next(i for i, atom in enumerate(atoms) if atom.id == atom_id)
        text = found.text
        for atom in atoms[start + 1 :]:
            if atom.kind != "block" or atom.qualname != found.qualname:
                break
            text += atom.text
        return text


def _definitions(result: FileResult) -> dict[str, list[list[Atom]]]:
    """Per qualname, each definition's pieces in file order (its first atom and the
    `block` atoms that continue it)."""
    groups: dict[str, list[list[Atom]]] = {}
    current: list[Atom] | None = None
    for atom in result.atoms:
        if atom.kind in ("function", "method"):
            current = [atom]
            groups.setdefault(atom.qualname, []).append(current)
        elif atom.kind == "block" and current is not None and current[0].qualname == atom.qualname:
            current.append(atom)
        else:
            current = None
    return groups


def _intent(lines: list[str], statements: list[int], first: int, last: int) -> str:
    """A piece's line of intent: the first statement that starts inside it, as written."""
    for number in statements:
        if first <= number <= last:
            text = " ".join(lines[number - 1].split())
            return text if len(text) <= _INTENT_WIDTH else text[: _INTENT_WIDTH - 3] + "..."
    return "continue"


_RETURN_LINE = re.compile(r"^\s*return\s+(\S.*)$", re.MULTILINE)


def _returned(code: str) -> str | None:
    """What a piece returns, as its plan says it: the first returned expression as
    written, or None when the piece hands back no value."""
    if not returns_value(code):
        return None
    found = _RETURN_LINE.search(code)
    text = " ".join(found.group(1).split()) if found else "a value"
    return text if len(text) <= _INTENT_WIDTH else text[: _INTENT_WIDTH - 3] + "..."


# `self.total = ...`, `cls.registry[key] = ...` is a read; `self.count += 1` a set.
_ATTRIBUTE_SET = re.compile(
    r"^[ \t]*((?:self|cls)\.[A-Za-z_]\w*)[ \t]*(?::[^=\n]+)?(?:[-+*/%&|^@]|//|<<|>>|\*\*)?=(?!=)",
    re.MULTILINE,
)


def _attributes_set(code: str) -> list[str]:
    """The instance and class attributes a piece assigns, which its plan declares
    beside what it calls and reads: state a step sets is part of what it is for."""
    return _ATTRIBUTE_SET.findall(code)


def _statement_lines(source: bytes) -> list[int]:
    """Line numbers where a statement starts, docstrings aside, sorted."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    docstrings = {
        id(node.body[0])
        for node in ast.walk(tree)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Module))
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
        and isinstance(node.body[0].value.value, str)
    }
    return sorted(
        {
            node.lineno
            for node in ast.walk(tree)
            if isinstance(node, ast.stmt)
            and id(node) not in docstrings
            and not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
        }
    )


def _step_binds(atom: Atom, *, first: bool) -> tuple[str, ...]:
    """What a step binds for the steps after it, as the plan grammar asks: its
    local names. The first step holds the `def` line too, whose name and parameters
    are the definition's own, not the step's."""
    names = set(atom.context.get("defines", []))
    if first:
        names -= _header_names(atom)
    return tuple(sorted(names))


def _header_names(atom: Atom) -> set[str]:
    """The function name and parameter names of a definition's signature."""
    signature = str(atom.context.get("signature") or "").strip().removesuffix(":")
    try:
        tree = ast.parse(signature + ":\n    pass\n")
    except SyntaxError:
        return {atom.name}
    node = tree.body[0] if tree.body else None
    if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
        return {atom.name}
    arguments = node.args
    every = [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]
    every += [a for a in (arguments.vararg, arguments.kwarg) if a is not None]
    return {node.name, *(a.arg for a in every)}


def _with_body_plans(text: str, source: bytes, result: FileResult) -> str:
    """The skeleton with each elided body's plan written above its `...`."""
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return text
    lines = text.splitlines(keepends=True)
    known = known_names(tree)
    groups = _definitions(result)
    # Which definition of its name each def is, counting every def: an elided body
    # after defs of the same name that the skeleton writes whole (`@overload`
    # variants on one line) is still the reference's matching definition.
    occurrences: dict[int, int] = {}
    counted: dict[str, int] = {}
    for qualname, node in functions(tree):
        occurrences[node.lineno - 1] = counted.get(qualname, 0)
        counted[qualname] = occurrences[node.lineno - 1] + 1
    reference_lines = source.decode("utf-8", errors="replace").splitlines()
    statements = _statement_lines(source)
    inserts: dict[int, list[str]] = {}
    for body in sorted(elided_bodies(tree, lines), key=lambda b: b.first_line):
        occurrence = occurrences[body.def_line]
        found = groups.get(body.qualname, [])
        if occurrence >= len(found):
            continue
        pieces = found[occurrence]

        def declared(atom: Atom) -> tuple[str, ...]:
            # Sorted: the order the atomizer's query yields names in is not stable.
            names = [*atom.context.get("callees", []), *_attributes_set(atom.text)]
            return tuple(sorted({n for n in names if callee_exists(n, known)}))

        if len(pieces) > 1:
            steps = [
                Step(
                    _intent(reference_lines, statements, atom.start_line, atom.end_line),
                    declared(atom),
                    _step_binds(atom, first=index == 0),
                    _returned(atom.text),
                )
                for index, atom in enumerate(pieces)
            ]
            rendered = render_body_plan((), steps, body.indent)
        else:
            rendered = render_body_plan(
                declared(pieces[0]), (), body.indent, _returned(pieces[0].text)
            )
        if rendered:
            inserts[body.ellipsis_line] = rendered
    out: list[str] = []
    for index, line in enumerate(lines):
        for plan_line in inserts.get(index, ()):
            out.append(plan_line + "\n")
        out.append(line)
    return "".join(out)
