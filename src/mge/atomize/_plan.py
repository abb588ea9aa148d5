"""The atom plan of a file, read from a model's skeleton answer.

A skeleton answer is the file's interface with every function body elided to
`...`; just above each `...` the model writes the body's plan as comments:

    def plan_restock(catalog: Catalog, demand: dict[str, int]) -> RestockPlan:
        \"\"\"Decide what to buy from whom.\"\"\"
        # step: collect the lines to buy per supplier | calls: catalog.items, reorder_quantity
        # step: split the orders into those to send and those held | calls: RestockPlan
        ...

    def total(lines: list[Line]) -> Decimal:
        \"\"\"What the lines cost.\"\"\"
        # calls: sum, Decimal
        ...

`# calls:` lists the names a body will call or read; a body longer than the
max LOC is planned as `# step:` lines instead, each one line of intent with the
names that step calls or reads and, after ` | binds: `, the local names it binds
that other steps use. A body (`# returns: what`) or a step (`| returns: what`,
last) that hands back a value says so: the code written for it must then return
a value, which an answer that lost its `return` does not. The grammar is
line-based so a model can write it inside ordinary code and a parser can hold
it to the letter: anything that starts like a plan line but does not follow the
grammar is a problem, never silently dropped.

That answer is the atom plan, for every model: module and class headers and
module-level statements are atoms as the skeleton's own code atomizes; a body
without steps is one atom; a body with N steps is N atoms, the first holding
the signature and docstring (kind `function`/`method`), the rest kind `block`.
The graph layer reads the declared names as uses, so edges and waves come from
the plan too. Sizes are not predicted here: they are measured on the code that
is accepted for each atom.
"""

from __future__ import annotations

import ast
import bisect
import builtins
import itertools
import re
import textwrap
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

from mge.atomize._api import atomize_source
from mge.atomize._languages import syntax_errors
from mge.atomize._model import Atom, AtomizeConfig, FileResult

__all__ = [
    "BodyPlan",
    "PlannedFile",
    "Step",
    "callee_exists",
    "elided_bodies",
    "functions",
    "known_names",
    "plan_file",
    "render_body_plan",
    "returns_value",
]

_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_DOTTED = re.compile(rf"{_NAME}(?:\.{_NAME})*")
# Anything a model might mean as a plan line: `# step`, `#Steps:`, `# CALLS -`.
_PLAN_LIKE = re.compile(r"#\s*(?:steps?|calls?|returns?)\s*[:=-]", re.IGNORECASE)
_CALLS_LINE = re.compile(r"# calls: (.*)")
_RETURNS_LINE = re.compile(r"# returns: (.*)")
_STEP_LINE = re.compile(r"# step: (.*)")
_STEP_CALLS = " | calls: "
_STEP_BINDS = " | binds: "
_STEP_RETURNS = " | returns: "
_IDENTIFIER = re.compile(_NAME)


@dataclass(frozen=True, slots=True)
class Step:
    """One step of a long body: a line of intent and the names it uses."""

    intent: str
    calls: tuple[str, ...] = ()
    #: Local names the step binds that later steps (or functions nested in earlier
    #: ones) use: until the step is written, what stands in for it binds them.
    binds: tuple[str, ...] = ()
    #: What the step hands back, when it returns a value (None: it does not say so).
    returns: str | None = None


@dataclass(frozen=True, slots=True)
class BodyPlan:
    """What the skeleton says of one elided body."""

    qualname: str
    calls: tuple[str, ...] = ()
    steps: tuple[Step, ...] = ()
    returns: str | None = None

    @property
    def pieces(self) -> int:
        return max(len(self.steps), 1)

    def calls_of(self, piece: int) -> tuple[str, ...]:
        """The names the body's `piece`-th atom declares."""
        if len(self.steps) > 1:
            return self.steps[piece].calls
        return self.calls if not self.steps else self.steps[0].calls

    def intent_of(self, piece: int) -> str | None:
        return self.steps[piece].intent if len(self.steps) > 1 else None

    def returns_of(self, piece: int) -> str | None:
        """What the body's `piece`-th atom is planned to return, if anything."""
        if len(self.steps) > 1:
            return self.steps[piece].returns
        return self.returns if not self.steps else self.steps[0].returns


@dataclass(frozen=True, slots=True)
class _Body:
    """An elided body in a skeleton: where its plan lines sit, and its indent."""

    qualname: str
    first_line: int  # 0-based index of the first line after the docstring/header
    ellipsis_line: int  # 0-based index of the `...` line
    indent: str
    def_line: int  # 0-based index of the `def` line


@dataclass
class PlannedFile:
    """A file's planned atoms (over the plan source) and the answer's problems."""

    result: FileResult
    problems: list[str] = field(default_factory=list)


def render_body_plan(
    calls: Sequence[str], steps: Sequence[Step], indent: str, returns: str | None = None
) -> list[str]:
    """The plan lines of one body, as a model writes them (without newlines)."""
    if len(steps) > 1:
        return [
            f"{indent}# step: {step.intent}"
            + (f"{_STEP_CALLS}{', '.join(step.calls)}" if step.calls else "")
            + (f"{_STEP_BINDS}{', '.join(step.binds)}" if step.binds else "")
            + (f"{_STEP_RETURNS}{step.returns}" if step.returns else "")
            for step in steps
        ]
    lines = [f"{indent}# calls: {', '.join(calls)}"] if calls else []
    return lines + ([f"{indent}# returns: {returns}"] if returns else [])


# A piece that continues a compound statement, and what it continues.
_CONTINUES = re.compile(r"(?:[ \t]*#[^\n]*\n|[ \t]*\n)*(elif|else|except|finally)\b")
_STAND_IN_OPENER = {
    "elif": "if False:\n    pass\n",
    "else": "if False:\n    pass\n",
    "except": "try:\n    pass\n",
    "finally": "try:\n    pass\n",
}


def returns_value(code: str) -> bool | None:
    """Whether a piece of a function body hands back a value: a `return` with a
    value at the function's own level (not in a nested function, class or lambda).

    `code` is a whole definition or a run of its body's statements, indented as in
    the file. A piece that continues a compound statement (it opens with `elif`,
    `else`, `except` or `finally`) is read after a stand-in for the clause it
    continues, which returns nothing. None when it does not parse even so: nothing
    can be said, so nothing is held against it.
    """
    text = textwrap.dedent(code)
    opener = _CONTINUES.match(text)
    if opener is not None:
        text = _STAND_IN_OPENER[opener.group(1)] + text
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return None
    statements: list[ast.AST] = list(tree.body)
    if len(tree.body) == 1 and isinstance(tree.body[0], ast.FunctionDef | ast.AsyncFunctionDef):
        statements = list(tree.body[0].body)
    pending = statements
    while pending:
        node = pending.pop()
        if isinstance(node, ast.Return) and node.value is not None:
            return True
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda):
            continue
        pending.extend(ast.iter_child_nodes(node))
    return False


def _is_docstring(node: ast.stmt) -> bool:
    return (
        isinstance(node, ast.Expr)
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str)
    )


def _is_ellipsis(node: ast.stmt) -> bool:
    return (
        isinstance(node, ast.Expr)
        and isinstance(node.value, ast.Constant)
        and node.value.value is Ellipsis
    )


def functions(
    tree: ast.Module,
) -> list[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]]:
    """Every function definition with the qualname the atomizer gives it (classes
    nest names, other compound statements do not), in file order."""
    found: list[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]] = []

    def visit(statements: Iterable[ast.stmt], prefix: str) -> None:
        for node in statements:
            if isinstance(node, ast.ClassDef):
                visit(node.body, f"{prefix}{node.name}.")
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                found.append((prefix + node.name, node))
            else:
                for child in ast.iter_child_nodes(node):
                    if isinstance(child, ast.stmt):
                        visit([child], prefix)
                for name in ("body", "orelse", "finalbody", "handlers", "cases"):
                    for child in getattr(node, name, ()) or ():
                        if isinstance(child, (ast.ExceptHandler, ast.match_case)):
                            visit(child.body, prefix)

    visit(tree.body, "")
    return found


def elided_bodies(tree: ast.Module, lines: Sequence[str]) -> list[_Body]:
    """Every function whose body is an optional docstring then `...` on a line of its
    own, with the qualname the atomizer gives it."""
    found: list[_Body] = []
    for qualname, node in functions(tree):
        body = node.body
        if (
            1 <= len(body) <= 2
            and _is_ellipsis(body[-1])
            and (len(body) == 1 or _is_docstring(body[0]))
            and body[-1].lineno > node.lineno
            and body[-1].lineno == body[-1].end_lineno
            # On a line of its own: not after a signature's closing `) -> T:`.
            and not lines[body[-1].lineno - 1][: body[-1].col_offset].strip()
        ):
            last = body[-1]
            found.append(
                _Body(
                    qualname=qualname,
                    first_line=_region_start(body, lines),
                    ellipsis_line=last.lineno - 1,
                    # As written: a file indented with tabs keeps its tabs.
                    indent=_leading_space(lines[last.lineno - 1]),
                    def_line=node.lineno - 1,
                )
            )
    return found


def _leading_space(line: str) -> str:
    return line[: len(line) - len(line.lstrip(" \t\f"))]


def _region_start(body: list[ast.stmt], lines: Sequence[str]) -> int:
    """0-based index of the first line where a body's plan may stand: after its
    docstring, or else after the header, which is the nearest line above `...`
    that is neither blank nor only a comment."""
    if len(body) == 2:
        end = body[0].end_lineno
        assert end is not None
        return end
    index = body[-1].lineno - 1
    while index > 0 and (not lines[index - 1].strip() or lines[index - 1].lstrip().startswith("#")):
        index -= 1
    return index


def known_names(tree: ast.Module) -> frozenset[str]:
    """Every name the file binds anywhere, its parameters included, and builtins:
    a declared name whose first part is none of these exists nowhere."""
    names: set[str] = set(dir(builtins)) | {"self", "cls", "__name__", "__file__"}
    star = False
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            names.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                if alias.name == "*":
                    star = True
                names.add(alias.asname or alias.name.split(".")[0])
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.add(node.name)
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            names.update(node.names)
        elif isinstance(node, ast.MatchAs | ast.MatchStar) and node.name:
            names.add(node.name)
        elif isinstance(node, ast.MatchMapping) and node.rest:
            names.add(node.rest)
    if star:
        names.add("*")
    return frozenset(names)


def callee_exists(name: str, known: frozenset[str]) -> bool:
    """Whether a declared name can be used where the plan says: well formed, and its
    first part bound somewhere in the file (or a star import makes anything so)."""
    if not _DOTTED.fullmatch(name):
        return False
    return "*" in known or name.split(".", 1)[0] in known


def _names(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


def _parse_body(
    lines: list[str], body: _Body, known: frozenset[str], problems: list[str]
) -> BodyPlan:
    calls: tuple[str, ...] = ()
    steps: list[Step] = []
    seen_calls = False
    returns: str | None = None
    where = body.qualname
    for index in range(body.first_line, body.ellipsis_line):
        raw = lines[index]
        text = raw.strip()
        if not text:
            continue
        if not text.startswith("#"):
            problems.append(f"line {index + 1}: {where}: code before `...` in an elided body")
            continue
        if not _PLAN_LIKE.match(text):
            continue  # an ordinary comment
        number = index + 1
        if match := _CALLS_LINE.fullmatch(text):
            if seen_calls or steps:
                problems.append(
                    f"line {number}: {where}: `# calls:` once per body, and not with steps "
                    "(a step names its own calls after ` | calls: `)"
                )
            seen_calls = True
            calls = _names(match.group(1))
        elif match := _RETURNS_LINE.fullmatch(text):
            if returns is not None or steps:
                problems.append(
                    f"line {number}: {where}: `# returns:` once per body, and not with steps "
                    "(a step says what it returns after ` | returns: `)"
                )
            returns = match.group(1).strip()
            if not returns:
                problems.append(f"line {number}: {where}: `# returns:` without what it returns")
        elif match := _STEP_LINE.fullmatch(text):
            if seen_calls or returns is not None:
                problems.append(f"line {number}: {where}: steps after `# calls:` or `# returns:`")
            planned, said, returned = match.group(1).partition(_STEP_RETURNS.rstrip())
            if said and not returned.strip():
                problems.append(f"line {number}: {where}: ` | returns:` without what it returns")
            rest, _, bound = planned.partition(_STEP_BINDS)
            intent, _, named = rest.partition(_STEP_CALLS)
            if not intent.strip():
                problems.append(f"line {number}: {where}: a step without intent")
            binds = _names(bound)
            for name in binds:
                if not _IDENTIFIER.fullmatch(name):
                    problems.append(f"line {number}: {where}: binds {name!r}, not a name")
            steps.append(Step(intent.strip(), _names(named), binds, returned.strip() or None))
        else:
            problems.append(
                f"line {number}: {where}: malformed plan line {text[:60]!r} (write "
                "`# calls: a, b.c`, `# returns: what` or `# step: intent | calls: a, b`)"
            )
    declared = [*calls, *(name for step in steps for name in step.calls)]
    for name in declared:
        if not callee_exists(name, known):
            problems.append(f"{where}: declares {name!r}, which exists nowhere in the file")
    return BodyPlan(body.qualname, calls, tuple(steps), returns)


def _plan_line(indent: str, calls: Sequence[str]) -> str:
    """A body line of the plan source: the declared names as uses, so the graph layer
    resolves them by scope exactly as it would in the code to come."""
    return f"{indent}{'; '.join(calls) if calls else '...'}\n"


def plan_file(
    text: str, file: str, *, config: AtomizeConfig, language: str = "python"
) -> PlannedFile:
    """The planned atoms of one file from its skeleton answer (see the module docstring).

    The atoms span a *plan source*: the skeleton with each elided body's plan lines
    and `...` replaced by one line per planned atom naming what it uses. Only the
    layout, kinds, names, signatures and uses of these atoms mean anything; their
    code is written by the model later.
    """
    if language != "python":
        result = atomize_source(
            text.encode("utf-8"), file, language=language, config=config, keep_tree=True
        )
        # A broken skeleton would plan broken signatures and spans: it is sent back
        # with where it breaks, as a Python skeleton that does not parse is.
        broken = syntax_errors(result.tree) if result.has_syntax_error and result.tree else []
        result.tree = None
        return PlannedFile(result, [f"line {line}: {what}" for line, what in broken[:3]])
    problems: list[str] = []
    try:
        tree = ast.parse(text, file)
    except SyntaxError as error:
        problems.append(f"line {error.lineno}: {error.msg}")
        return PlannedFile(FileResult(file, language, len(text), []), problems=problems)
    lines = text.splitlines(keepends=True)
    known = known_names(tree)
    bodies = elided_bodies(tree, lines)
    out: list[str] = []
    # Per planned body, by the offset (in the plan source) of its first body line:
    # its plan and the offsets where each step after the first begins. Keyed by
    # place, not name: a property's getter and setter share a qualname.
    placed: dict[int, tuple[BodyPlan, list[int]]] = {}
    position = 0
    cursor = 0
    for body in sorted(bodies, key=lambda b: b.first_line):
        plan = _parse_body(lines, body, known, problems)
        kept = "".join(lines[cursor : body.first_line])
        out.append(kept)
        position += len(kept.encode("utf-8", errors="surrogateescape"))
        anchor = position
        offsets: list[int] = []
        for piece in range(plan.pieces):
            if piece:
                offsets.append(position)
            line = _plan_line(body.indent, plan.calls_of(piece))
            out.append(line)
            position += len(line.encode("utf-8", errors="surrogateescape"))
        placed[anchor] = (plan, offsets)
        cursor = body.ellipsis_line + 1
    out.append("".join(lines[cursor:]))
    source = "".join(out).encode("utf-8", errors="surrogateescape")
    result = atomize_source(source, file, language=language, config=config)
    result.atoms = _split_bodies(result.atoms, source, placed)
    return PlannedFile(result, problems)


def _split_bodies(
    atoms: list[Atom], source: bytes, placed: dict[int, tuple[BodyPlan, list[int]]]
) -> list[Atom]:
    """Each planned body as exactly its planned atoms: the atomizer's own pieces of
    it (a long docstring can make two) joined, then cut where its steps begin."""
    anchors = sorted(placed)
    out: list[Atom] = []
    index = 0
    while index < len(atoms):
        atom = atoms[index]
        end = index + 1
        while (
            end < len(atoms) and atoms[end].qualname == atom.qualname and atoms[end].kind == "block"
        ):
            end += 1
        at = bisect.bisect_left(anchors, atom.start_byte)
        if (
            atom.kind not in ("function", "method")
            or at == len(anchors)
            or anchors[at] >= atoms[end - 1].end_byte
        ):
            out.append(atom)
            index += 1
            continue
        plan, splits = placed[anchors[at]]
        start_byte, end_byte = atom.start_byte, atoms[end - 1].end_byte
        cuts = [start_byte, *splits, end_byte]
        for piece, (begin, finish) in enumerate(itertools.pairwise(cuts)):
            code = source[begin:finish]
            context = dict(atom.context)
            context["callees"] = list(plan.calls_of(piece))
            if len(plan.steps) > 1 and piece:
                context["defines"] = sorted(plan.steps[piece].binds)
            if len(plan.steps) > 1:
                # What this step binds for later ones, the first step included (its
                # `defines` are the definition's own name and parameters): L1 holds
                # the code to it.
                context["binds"] = sorted(plan.steps[piece].binds)
            intent = plan.intent_of(piece)
            if intent is not None:
                context["intent"] = intent
            returned = plan.returns_of(piece)
            if returned is not None:
                context["returns"] = returned
            out.append(
                replace(
                    atom,
                    kind=atom.kind if piece == 0 else "block",
                    start_byte=begin,
                    end_byte=finish,
                    start_line=source.count(b"\n", 0, begin) + 1,
                    end_line=source.count(b"\n", 0, max(finish - 1, begin)) + 1,
                    code=code,
                    context=context,
                    violations=[],
                    depends_on=[],
                )
            )
        index = end
    ordinals: dict[str, int] = {}
    for atom in out:
        ordinal = ordinals.get(atom.qualname, 0)
        ordinals[atom.qualname] = ordinal + 1
        atom.id = f"{atom.file}::{atom.qualname}#{ordinal}"
    return out
