"""Atomic (L1) validation: is one generated atom fit to build on?

The validator sees only code: the candidate, the file assembled around it from
the atoms generated so far (with stubs for definitions still to come), and the
atom's planned interface from the skeleton. It never sees reference code, so it
judges a replayed answer exactly as it would judge a real model's.

Checks, each stored as one `validation_results` row:

| check | catches | error class |
|---|---|---|
| `format` | an answer with no code in it | format |
| `syntax` | ERROR/MISSING nodes in the atom; `compile()` of the assembled file | syntax |
| `names` | names the atom reads that nothing defines (pyflakes on the assembled file) | name |
| `contract` | a definition whose name or signature differs from the skeleton's | contract |
| `plan` | code that never uses or binds a name its plan declares, or returns no value | contract |
| `types` | TS/JS: the compiler's diagnostics in the atom (`typescript.py`) | syntax / name / type |
| `doctest` | failing `>>>` examples in the atom's docstring, run in the sandbox | test / timeout |
| `size`, `complexity` | an atom over the plan's limits *and* over its planned size | size |

Size and complexity fail an attempt only when the candidate is bigger than both
the limit and the atom it replaces: an atom the decomposer could not split below
the limit is not asked to do the impossible.
"""

from __future__ import annotations

import ast
import difflib
import re
import sys
import textwrap
import time
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

import pyflakes.checker
import pyflakes.messages

from mge.atomize import measure_source
from mge.atomize._languages import parse, syntax_errors
from mge.atomize._plan import returns_value
from mge.validate.sandbox import Limits, run_python

if TYPE_CHECKING:
    from tree_sitter import Node

    from mge.validate.typescript import TypeScriptService

STUB_MARK = "mge: not generated yet"
DOCTEST_LIMITS = Limits(timeout_seconds=20, cpu_seconds=20)

_DEFINITION_KINDS = frozenset({"function", "method"})


@dataclass(frozen=True)
class AtomSpec:
    """The planned interface of one atom, from the skeleton."""

    atom_id: str
    kind: str
    name: str
    qualname: str
    language: str
    file: str
    signature: str | None = None
    max_loc: int = 15
    max_complexity: float = 3.0
    whole_definition: bool = True
    piece: int = 0
    # For a class header: the class-level names the skeleton declares (fields, enum
    # members, constants); an answer cut short after the docstring loses them. For a
    # module header: the names the skeleton's header binds (imports, constants).
    declared_names: frozenset[str] = frozenset()
    # For a body or a step of one: what its plan says it uses and whether it returns
    # a value. `plan_binding` False (the last attempt) records a disagreement without
    # failing on it: the plan may be what is wrong, and a person then judges it.
    declared_calls: tuple[str, ...] = ()
    returns: bool = False
    plan_binding: bool = True
    # For a step of a body (`block`, or the first piece of a body planned in steps)
    # or a top-level or class-level `statement`: the names its plan says it binds (a
    # step's `| binds:`, what the skeleton's statement binds). Later code reads them,
    # so an answer cut short before it binds one passes every other check and breaks
    # its readers instead.
    planned_binds: frozenset[str] = frozenset()
    # The plan continues this atom's code in the next atom: a body planned in steps
    # (every piece but the last), or in TypeScript and JavaScript a long top-level
    # statement and the blocks after it. Such code is no whole statement by itself.
    continued: bool = False


@dataclass(frozen=True)
class Assembly:
    """The candidate's file as it stands: the text, and the candidate's lines in it
    (1-based, inclusive). `planned_names` are module-level names that atoms not
    generated yet will define, so reading them is no error."""

    text: str
    first_line: int
    last_line: int
    planned_names: frozenset[str] = frozenset()
    module: str | None = None
    pythonpath: tuple[Path, ...] = ()
    # False when top-level statements of the file are left out of the assembly: the
    # module's state (registries, tables filled at import) may then be incomplete.
    module_state_complete: bool = True


@dataclass(frozen=True)
class CheckResult:
    check: str
    test_type: str
    passed: bool
    output: str = ""
    duration_seconds: float = 0.0
    error_class: str | None = None
    details: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class AtomVerdict:
    results: tuple[CheckResult, ...]

    @property
    def passed(self) -> bool:
        return all(result.passed for result in self.results)

    @property
    def failures(self) -> list[CheckResult]:
        return [result for result in self.results if not result.passed]

    def feedback(self) -> str:
        """The failures as the model will read them on the next attempt."""
        return "\n".join(
            f"- [{failure.error_class}] {failure.check}: {failure.output}"
            for failure in self.failures
        )

    @property
    def error_classes(self) -> list[str]:
        return sorted({f.error_class for f in self.failures if f.error_class})

    def disputed(self) -> list[str]:
        """The disagreements with the plan that `plan_binding` False let through."""
        return [
            result.output.removeprefix(_ACCEPTED_ON_LAST)
            for result in self.results
            if result.passed and result.output.startswith(_ACCEPTED_ON_LAST)
        ]

    def bound_to_plan(self) -> AtomVerdict:
        """The verdict `plan_binding` True gives: each disagreement let through
        fails as a contract error, with no check run again."""
        return replace(
            self,
            results=tuple(
                replace(
                    result,
                    passed=False,
                    output=result.output.removeprefix(_ACCEPTED_ON_LAST),
                    error_class="contract",
                )
                if result.passed and result.output.startswith(_ACCEPTED_ON_LAST)
                else result
                for result in self.results
            ),
        )


# How a check that `plan_binding` False let through says what it let through.
_ACCEPTED_ON_LAST = "accepted on the last attempt although "


def _timed(check: str, test_type: str) -> _Timer:
    return _Timer(check, test_type)


class _Timer:
    def __init__(self, check: str, test_type: str) -> None:
        self.check = check
        self.test_type = test_type
        self.started = time.perf_counter()

    def done(
        self,
        passed: bool,
        output: str = "",
        error_class: str | None = None,
        **details: object,
    ) -> CheckResult:
        return CheckResult(
            check=self.check,
            test_type=self.test_type,
            passed=passed,
            output=output,
            duration_seconds=time.perf_counter() - self.started,
            error_class=None if passed else error_class,
            details=dict(details),
        )


def _tree_problems(assembly: Assembly, language: str, *, cut: bool = False) -> list[str]:
    """Syntax errors in the candidate's lines; with `cut`, on a tree without any, also
    a last statement the candidate leaves unfinished (see `_cut_at_end`)."""
    source = assembly.text.encode("utf-8", errors="surrogateescape")
    tree = parse(source, language)
    problems = [
        f"line {line - assembly.first_line + 1}: {what}"
        for line, what in syntax_errors(tree)
        if assembly.first_line <= line <= assembly.last_line
    ]
    if cut and not problems:
        problems.extend(_cut_at_end(tree.root_node, source, assembly))
        problems.extend(_without_effect(tree.root_node, assembly))
    return problems


#: Expressions that do nothing as a statement of their own.
_INERT = frozenset({"identifier", "member_expression", "subscript_expression"})


def _without_effect(root: Node, assembly: Assembly) -> list[str]:
    """Statements in the candidate's lines that only name a value: `module.exports`
    left of an assignment cut off at its `=` is valid code that exports nothing, and
    as the last statement of a file nothing follows it for `_cut_at_end` to read.
    A statement that only reads a name or member is no code anyone writes on
    purpose (linters reject it too), so it says the answer was cut short."""
    found: list[str] = []
    stack = [root]
    while stack:
        node = stack.pop()
        line = node.start_point[0] + 1
        if node.end_point[0] + 1 < assembly.first_line or line > assembly.last_line:
            continue
        if node.type == "expression_statement" and assembly.first_line <= line:
            named = [c for c in node.named_children if c.type != "comment"]
            if len(named) == 1 and named[0].type in _INERT:
                where = line - assembly.first_line + 1
                found.append(f"line {where}: the statement has no effect (cut short?)")
            continue
        stack.extend(node.children)
    return found


#: Nodes whose children are whole statements or members: an atom may end between two.
_STATEMENT_LISTS = frozenset(
    {"program", "statement_block", "class_body", "switch_body", "switch_case", "switch_default"}
)
#: Statements an atom never ends inside: they hold no statement list of their own
#: (what they hold that does, a function's body, is met first on the way up).
_SIMPLE_STATEMENTS = frozenset(
    {
        "expression_statement",
        "lexical_declaration",
        "variable_declaration",
        "return_statement",
        "throw_statement",
        "break_statement",
        "continue_statement",
        "import_statement",
        "export_statement",
        "type_alias_declaration",
        "public_field_definition",
        "field_definition",
    }
)


def _cut_at_end(root: Node, source: bytes, assembly: Assembly) -> list[str]:
    """A JavaScript/TypeScript candidate that ends part-way through a statement which
    the code after it completes: `this.limit =` followed by the next piece's
    `p = i + 1` parses as one chained assignment, so only where the statement ends
    can tell. Atoms are cut between statements (or between the parts of an `if`, a
    `try`, ...), never inside an expression, so the boundary must not lie inside
    a simple statement; the answer was cut off (or left unfinished) there."""
    lines = source.split(b"\n")
    end = sum(len(line) + 1 for line in lines[: assembly.last_line])
    last = len(source[:end].rstrip())
    following = len(source) - len(source[end:].lstrip())
    if last == 0 or following >= len(source):
        return []
    node: Node | None = root
    spanning = root
    while node is not None:
        spanning = node
        node = next(
            (c for c in node.children if c.start_byte < last and c.end_byte > following), None
        )
    current: Node | None = spanning
    while current is not None and current.type not in _STATEMENT_LISTS:
        if current.type in _SIMPLE_STATEMENTS:
            line = current.start_point[0] + 1 - assembly.first_line + 1
            where = max(line, 1)
            return [f"line {where}: the statement is cut off at the end of the code"]
        current = current.parent
    return []


def _standalone(candidate: str, spec: AtomSpec) -> bool:
    """A top-level module header or statement that the plan does not continue in
    the atoms after it: valid code by itself."""
    return (
        spec.kind in ("module_header", "statement")
        and not spec.continued
        and not candidate[:1].isspace()
    )


def _syntax(
    candidate: str, spec: AtomSpec, assembly: Assembly
) -> tuple[CheckResult, ast.Module | None]:
    """The check, and for Python the assembled file's syntax tree, which the name and
    contract checks reuse: parsing a whole file once per attempt instead of three
    times is most of what L1 validation costs on a big file."""
    timer = _timed("syntax", "syntax")
    problems: list[str] = []
    module: ast.Module | None = None
    if spec.language == "python":
        try:
            module = ast.parse(assembly.text, spec.file)
            # Compiling the tree adds the checks the parser leaves to the compiler
            # ('return' outside a function, misplaced nonlocal, ...).
            compile(module, spec.file, "exec", dont_inherit=True)
        except SyntaxError as error:
            where = (error.lineno or 0) - assembly.first_line + 1
            problems.append(f"line {where}: {_relative_lines(error.msg, assembly)}")
            module = None
        except ValueError as error:
            problems.append(str(error))
            module = None
    # Code CPython compiles is valid whatever tree-sitter thinks of it, so the
    # tree-sitter pass, which names every broken spot, runs only on broken code (and
    # on languages without a compiler at hand).
    if spec.language != "python" or problems:
        problems.extend(_tree_problems(assembly, spec.language, cut=spec.language != "python"))
    if not problems and spec.language != "python" and _standalone(candidate, spec):
        # Top-level TypeScript/JavaScript parses on its own: what a statement cut
        # short breaks is reported where the parser gives up, after its lines.
        alone = Assembly(text=candidate, first_line=1, last_line=candidate.count("\n") + 1)
        problems.extend(_tree_problems(alone, spec.language))
    if not problems and module is not None and not spec.continued:
        problems.extend(_bodiless_headers(module, spec, assembly))
    if problems:
        return timer.done(False, "; ".join(problems[:3]), "syntax"), None
    return timer.done(True), module


_BODIES = ("function", "method", "block")


def _bodiless_headers(module: ast.Module, spec: AtomSpec, assembly: Assembly) -> list[str]:
    """A statement header in the candidate whose whole body lies after it, when no
    later atom continues the candidate's code: an answer cut short after `for x in
    xs:`. The assembly closes such a header with a stand-in `pass` (a body split
    over atoms is written piece by piece), so the file compiles and only the plan
    can tell that nothing is coming: without this the atom passes, and its function
    quietly does nothing."""
    if spec.kind not in _BODIES:
        return []
    found: list[str] = []
    for node in _nodes_over(module, assembly.first_line, assembly.last_line):
        body = getattr(node, "body", None)
        line = getattr(node, "lineno", None)
        if not isinstance(body, list) or not body or line is None:
            continue
        if assembly.first_line <= line <= assembly.last_line < body[0].lineno:
            found.append(f"line {line - assembly.first_line + 1}: the statement has no body")
    return found


def _nodes_over(tree: ast.AST, first_line: int, last_line: int) -> Iterator[ast.AST]:
    """The nodes of `tree` whose lines may meet `first_line..last_line`: a subtree
    whose span lies wholly outside is skipped (every node within it lies inside that
    span), so a check of the candidate's lines walks the candidate, not the file."""
    todo: deque[ast.AST] = deque([tree])  # breadth first, as `ast.walk` goes
    while todo:
        node = todo.popleft()
        yield node
        for child in ast.iter_child_nodes(node):
            start = getattr(child, "lineno", None)
            end = getattr(child, "end_lineno", None)
            decorators = getattr(child, "decorator_list", None)
            if decorators:  # a definition's line is its `def`; its decorators come first
                start = decorators[0].lineno
            if start is not None and end is not None and (end < first_line or start > last_line):
                continue
            todo.append(child)


_WORD = re.compile(r"\w+")
_DETECTED_AT = re.compile(r"\(detected at line (\d+)\)|(?<=on line )(\d+)")


def _relative_lines(message: str, assembly: Assembly) -> str:
    """The compiler's message with the line it names counted in the atom, as every
    other line in the feedback is: the model never sees the assembled file. A line
    past the atom (an unterminated string runs on to the end of the file) says
    nothing about the atom, so it is not given."""

    def relative(match: re.Match[str]) -> str:
        if match.group(2) is not None:  # "... statement on line N"
            return str(int(match.group(2)) - assembly.first_line + 1)
        line = int(match.group(1))
        if line > assembly.last_line:
            return "(detected after the end of this code)"
        return f"(detected at line {line - assembly.first_line + 1})"

    return _DETECTED_AT.sub(relative, message)


def _outside(node: ast.stmt, assembly: Assembly) -> bool:
    if (node.end_lineno or node.lineno) < assembly.first_line:
        return True
    decorators = getattr(node, "decorator_list", None)
    start = decorators[0].lineno if decorators else node.lineno
    return start > assembly.last_line


def _bare_name(node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> ast.stmt:
    """`name = None` where the definition stood: the same binding, nothing to walk."""
    target = ast.copy_location(ast.Name(id=node.name, ctx=ast.Store()), node)
    value = ast.copy_location(ast.Constant(value=None), node)
    return ast.copy_location(ast.Assign(targets=[target], value=value), node)


def _hollow(body: list[ast.stmt], assembly: Assembly, globals_used: bool) -> list[ast.stmt]:
    """`body` with every definition that lies wholly outside the candidate reduced to
    a bare binding of its name. Only the candidate's lines are judged, and what other
    definitions contain binds no name the candidate can see (except `global`
    statements, whose functions are kept whole), so pyflakes need not walk them: on
    a file of a hundred atoms this turns a check that grew with the file into one
    that grows with the atom."""
    kept: list[ast.stmt] = []
    for node in body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            if _outside(node, assembly):
                declares_globals = globals_used and any(
                    isinstance(g, ast.Global) for g in ast.walk(node)
                )
                kept.append(node if declares_globals else _bare_name(node))
                continue
            if isinstance(node, ast.ClassDef):
                # The tree is this check's own, so the class is hollowed in place.
                node.body = _hollow(node.body, assembly, globals_used) or [
                    ast.copy_location(ast.Pass(), node)
                ]
        kept.append(node)
    return kept


def _submodule_bound(node: ast.stmt, package: str) -> list[str]:
    """The names an import binds in `package`'s namespace as a side effect: importing
    a submodule sets it as an attribute of its package, so in the package's
    `__init__.py`, `from .sub import f`, `from pkg.sub import f` and
    `import pkg.sub` all bind `sub` there, which pyflakes does not know."""
    modules: list[str] = []
    if isinstance(node, ast.ImportFrom) and node.module:
        if node.level == 1:
            modules.append(f"{package}.{node.module}")
        elif node.level == 0:
            modules.append(node.module)
    elif isinstance(node, ast.Import):
        modules.extend(alias.name for alias in node.names)
    prefix = package + "."
    return [m.removeprefix(prefix).split(".")[0] for m in modules if m.startswith(prefix)]


def _bind_submodules(body: list[ast.stmt], package: str) -> list[ast.stmt]:
    """`body` (module level, compound statements included) with a binding of each
    submodule an import binds implicitly, right after that import."""
    out: list[ast.stmt] = []
    for node in body:
        out.append(node)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            continue
        for name in _submodule_bound(node, package):
            target = ast.copy_location(ast.Name(id=name, ctx=ast.Store()), node)
            value = ast.copy_location(ast.Constant(value=None), node)
            out.append(ast.copy_location(ast.Assign(targets=[target], value=value), node))
        for field_name in ("body", "orelse", "finalbody"):
            inner = getattr(node, field_name, None)
            if isinstance(inner, list) and inner and isinstance(inner[0], ast.stmt):
                setattr(node, field_name, _bind_submodules(inner, package))
        for handler in getattr(node, "handlers", ()) or ():
            handler.body = _bind_submodules(handler.body, package)
    return out


_VERSION_ATTRIBUTES = frozenset({"version_info", "version", "hexversion"})
_VERSION_NODES = (
    ast.Name,
    ast.Attribute,
    ast.Subscript,
    ast.Constant,
    ast.Compare,
    ast.BoolOp,
    ast.UnaryOp,
    ast.Tuple,
    ast.Slice,
    ast.Load,
    ast.cmpop,
    ast.boolop,
    ast.Not,
)


def _version_attribute(node: ast.Attribute) -> bool:
    """`sys.version_info`, or an attribute of it (`sys.version_info.major`)."""
    if isinstance(node.value, ast.Attribute):
        return _version_attribute(node.value)
    return (
        node.attr in _VERSION_ATTRIBUTES
        and isinstance(node.value, ast.Name)
        and node.value.id == "sys"
    )


def _version_value(expression: ast.expr, flags: dict[str, object]) -> tuple[bool, object]:
    """(True, value) when `expression` depends on nothing but the running Python's
    version (`sys.version_info`, `sys.version`, `sys.hexversion`) and on flags made
    from it, as `PY3 = sys.version_info[0] == 3`; (False, None) else."""
    for node in ast.walk(expression):
        if not isinstance(node, _VERSION_NODES):
            return False, None
        if isinstance(node, ast.Attribute) and not _version_attribute(node):
            return False, None
        if isinstance(node, ast.Name) and node.id != "sys" and node.id not in flags:
            return False, None
    names = dict(flags, sys=sys)
    try:
        code = compile(ast.Expression(expression), "<version>", "eval")
        # Only version data and the node kinds checked above: nothing else can run.
        return True, eval(code, {"__builtins__": {}}, names)
    except Exception:  # a comparison that fails is not a usable gate
        return False, None


def _dead_code(module: ast.Module) -> list[ast.AST]:
    """The parts of the module's top level that a version check skips on the running
    Python: the branch of an `if`, a conditional expression or an `and`/`or` that
    is never taken here (`str if PY3 else unicode`). They never run, so a name
    read there cannot raise NameError."""
    flags: dict[str, object] = {}
    dead: list[ast.AST] = []

    def gate(test: ast.expr) -> bool | None:
        known, value = _version_value(test, flags)
        return bool(value) if known else None

    for statement in module.body:
        if (
            isinstance(statement, ast.Assign)
            and len(statement.targets) == 1
            and isinstance(statement.targets[0], ast.Name)
        ):
            known, value = _version_value(statement.value, flags)
            if known:
                flags[statement.targets[0].id] = value
        if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            continue
        for node in ast.walk(statement):
            if isinstance(node, ast.If | ast.IfExp):
                taken = gate(node.test)
                if taken is not None:
                    branch = node.orelse if taken else node.body
                    dead.extend(branch if isinstance(branch, list) else [branch])
            elif isinstance(node, ast.BoolOp):
                for position, value in enumerate(node.values[:-1]):
                    taken = gate(value)
                    if taken is not None and taken == isinstance(node.op, ast.Or):
                        dead.extend(node.values[position + 1 :])
                        break
    return dead


def _within(node: ast.AST, line: int, column: int) -> bool:
    start = (node.lineno, node.col_offset)  # type: ignore[attr-defined]
    end = (node.end_lineno, node.end_col_offset)  # type: ignore[attr-defined]
    return bool(start <= (line, column) < end)


_BUILTINS = frozenset(pyflakes.checker.builtin_vars)


class _LeanChecker(pyflakes.checker.Checker):  # type: ignore[misc]
    """pyflakes without the builtins bound up front: binding ~160 names (an object
    and a scope entry each) is most of a check on a small file, and an
    undefined-name report for a builtin is dropped afterwards, which is what binding
    it would have done. The checker fills `builtIns` itself and then binds each one,
    so the set it sees here stays empty whatever it is given."""

    @property
    def builtIns(self) -> frozenset[str]:  # pyflakes' own attribute name
        return frozenset()

    @builtIns.setter
    def builtIns(self, value: object) -> None:
        del value

    def report(self, messageClass: type, *args: object, **kwargs: object) -> None:
        # Only undefined names are read (`_names`); on an assembled file most
        # reports are its stand-ins' unused imports, made and thrown away.
        if messageClass in _READ_MESSAGES:
            super().report(messageClass, *args, **kwargs)

    def checkDeadScopes(self) -> None:
        """Skipped: once every scope is examined, pyflakes looks for imports and
        variables never used and for a bad `__all__`, and reports only those."""


_READ_MESSAGES = (pyflakes.messages.UndefinedName, pyflakes.messages.UndefinedLocal)


def _names(spec: AtomSpec, assembly: Assembly, module: ast.Module) -> CheckResult:
    """Undefined names in the candidate's lines. Consumes `module` (it is hollowed)."""
    timer = _timed("names", "types")
    # Every node keeps a location (stand-ins copy their originals'), so no fix-up pass.
    dead = _dead_code(module) if "sys" in assembly.text else []
    module.body = _hollow(module.body, assembly, "global" in assembly.text)
    if assembly.module and PurePosixPath(spec.file).name == "__init__.py":
        module.body = _bind_submodules(module.body, assembly.module)
    checker = _LeanChecker(module, filename=spec.file)
    undefined: list[str] = []
    for message in checker.messages:  # undefined names only (`_LeanChecker.report`)
        if not assembly.first_line <= message.lineno <= assembly.last_line:
            continue
        name = str(message.message_args[0])
        if any(_within(node, message.lineno, message.col) for node in dead):
            continue
        if name in assembly.planned_names or (
            name in _BUILTINS and isinstance(message, pyflakes.messages.UndefinedName)
        ):
            continue
        hint = _near_name(name, module, assembly)
        undefined.append(
            f"undefined name '{name}' (line {message.lineno - assembly.first_line + 1})"
            + (f", did you mean '{hint}'?" if hint else "")
        )
    if undefined:
        return timer.done(False, "; ".join(sorted(set(undefined))), "name")
    return timer.done(True)


def _bound_names(module: ast.Module) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(module):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, ast.alias):
            names.add((node.asname or node.name).partition(".")[0])
    return names


def _near_name(name: str, module: ast.Module, assembly: Assembly) -> str | None:
    """The one name the file binds (or plans, or Python builds in) that `name` is
    most likely a slip for, as Python's own NameError suggests: the retry prompt
    then points at the fix instead of only at the line."""
    known = _bound_names(module) | assembly.planned_names | _BUILTINS
    known.discard(name)
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.8)
    return close[0] if close else None


def _normalise_signature(text: str) -> str | None:
    source = text.strip()
    if not source.endswith(":"):
        source += ":"
    try:
        module = ast.parse(source + "\n    ...\n")
    except SyntaxError:
        return None
    node = module.body[0] if module.body else None
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
        return _render_signature(node)
    return None


def _render_signature(node: ast.FunctionDef | ast.AsyncFunctionDef) -> str:
    returns = f" -> {ast.unparse(node.returns)}" if node.returns else ""
    prefix = "async def" if isinstance(node, ast.AsyncFunctionDef) else "def"
    return f"{prefix} {node.name}({ast.unparse(node.args)}){returns}"


def _first_definition(assembly: Assembly, module: ast.Module) -> ast.stmt | None:
    """The first definition that starts inside the candidate's lines. The assembly
    parses as a whole (fillers close what the candidate leaves open), so a method's
    first piece is judged by its header even though its body continues later."""
    for node in ast.walk(module):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            line = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            if assembly.first_line <= line <= assembly.last_line:
                return node
    return None


def class_level_names(node: ast.ClassDef) -> set[str]:
    """Names a class body binds directly: assignments, annotated fields, definitions."""
    names: set[str] = set()
    for statement in node.body:
        if isinstance(statement, ast.Assign):
            names.update(t.id for t in statement.targets if isinstance(t, ast.Name))
        elif isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name):
            names.add(statement.target.id)
        elif isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(statement.name)
    return names


def declared_class_names(skeleton: str, qualname: str) -> frozenset[str]:
    """The attributes (not methods) the skeleton gives class `qualname`."""
    try:
        tree = ast.parse(skeleton)
    except SyntaxError:
        return frozenset()
    body: list[ast.stmt] = tree.body
    found: ast.ClassDef | None = None
    for part in qualname.split("."):
        found = next((n for n in body if isinstance(n, ast.ClassDef) and n.name == part), None)
        if found is None:
            return frozenset()
        body = found.body
    if found is None:
        return frozenset()
    methods = {n.name for n in found.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}
    return frozenset(class_level_names(found) - methods)


def _header_binds(candidate: str) -> set[str] | None:
    """Names a module header's code binds at module level; None when it does not parse
    alone."""
    try:
        tree = ast.parse(textwrap.dedent(candidate))
    except SyntaxError:
        return None
    bound: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            bound.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            bound.add(node.name)
        else:
            bound.update(
                n.id
                for n in ast.walk(node)
                if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)
            )
    return bound


def _contract(spec: AtomSpec, assembly: Assembly, module: ast.Module) -> CheckResult | None:
    if spec.language != "python":
        return None
    if spec.kind == "module_header" and spec.declared_names:
        # The skeleton wrote the header: an answer that lost an import or a constant
        # of it would leave every user of the name broken.
        lines = assembly.text.splitlines(keepends=True)
        bound = _header_binds("".join(lines[assembly.first_line - 1 : assembly.last_line]))
        missing = sorted(spec.declared_names - bound) if bound is not None else []
        timer = _timed("contract", "types")
        if missing:
            return _disagreement(
                timer,
                spec,
                f"the header does not bind {', '.join(missing)}, which the skeleton's does",
            )
        return timer.done(True)
    if spec.piece > 0:
        return None
    timer = _timed("contract", "types")
    if spec.kind in _DEFINITION_KINDS and spec.signature:
        found = _first_definition(assembly, module)
        if not isinstance(found, ast.FunctionDef | ast.AsyncFunctionDef):
            return timer.done(False, f"expected a definition of {spec.name}()", "contract")
        if found.name != spec.name:
            return timer.done(
                False, f"defines {found.name}() where {spec.name}() was asked for", "contract"
            )
        actual = _render_signature(found)
        # A signature already written the way it renders needs no parse to compare.
        same = actual == spec.signature.strip().removesuffix(":").rstrip()
        expected = None if same else _normalise_signature(spec.signature)
        if expected is not None and actual != expected:
            return _disagreement(
                timer, spec, f"signature `{actual}` differs from the skeleton's `{expected}`"
            )
        return timer.done(True)
    if spec.kind == "class_header":
        found = _first_definition(assembly, module)
        if not isinstance(found, ast.ClassDef) or found.name != spec.name:
            return timer.done(False, f"expected the header of class {spec.name}", "contract")
        missing = sorted(spec.declared_names - class_level_names(found))
        if missing and spec.whole_definition:
            return _disagreement(
                timer,
                spec,
                f"class {spec.name} does not define {', '.join(missing)}, "
                "which its skeleton declares",
            )
        return timer.done(True)
    return None


def _disagreement(timer: _Timer, spec: AtomSpec, message: str) -> CheckResult:
    """Code that disagrees with the skeleton on what the skeleton fixed (a
    signature, a class's fields, a header's imports). The skeleton is an answer
    too and may be what is wrong (a misspelt parameter): on the last first-time
    attempt (`plan_binding` False) the disagreement is recorded, not fatal, as the
    `plan` check does, and a person judges it; otherwise a right answer is refused
    on every attempt and the atom fails with everything that needs it."""
    if not spec.plan_binding:
        return timer.done(True, _ACCEPTED_ON_LAST + message)
    return timer.done(False, message, "contract")


def _uses(candidate: str, dotted: str) -> bool:
    """Whether the code mentions a declared name, as a name or attribute chain."""
    if _WORD.fullmatch(dotted):
        # A whole word: some maximal run of word characters is the name. Every
        # declared name would otherwise be a pattern of its own to compile.
        return dotted in _WORD.findall(candidate)
    parts = [re.escape(part) for part in dotted.split(".")]
    return re.search(r"(?<![\w])" + r"\s*\.\s*".join(parts) + r"(?!\w)", candidate) is not None


def bound_in_lines(module: ast.Module, first_line: int, last_line: int) -> set[str]:
    """Every name the code on lines `first_line..last_line` binds, in any scope:
    assignment and loop targets, definitions, imports, `as` and match captures,
    parameters. Generous on purpose: the check only asks whether a planned name
    is bound at all, never where."""
    bound: set[str] = set()
    for node in ast.walk(module):
        line = getattr(node, "lineno", None)
        if line is None or not first_line <= line <= last_line:
            continue
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            bound.add(node.id)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            bound.add(node.name)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            bound.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, ast.ExceptHandler | ast.MatchAs | ast.MatchStar) and node.name:
            bound.add(node.name)
        elif isinstance(node, ast.MatchMapping) and node.rest:
            bound.add(node.rest)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, ast.Global | ast.Nonlocal):
            bound.update(node.names)
    return bound


def _planned_binds(spec: AtomSpec, assembly: Assembly, module: ast.Module) -> CheckResult | None:
    """A step or statement that does not bind a name its plan says it binds: most
    often an answer cut short (`elif isinstance(s, And):` and a comment, the list
    it was to start gone), valid code that breaks only the later code reading the
    name, where blame would look first."""
    if spec.language != "python" or spec.kind not in ("block", "statement", *_DEFINITION_KINDS):
        return None
    if not spec.planned_binds:
        return None
    timer = _timed("plan", "types")
    bound = bound_in_lines(module, assembly.first_line, assembly.last_line)
    missing = sorted(spec.planned_binds - bound)
    if not missing:
        return timer.done(True)
    message = f"it never binds {', '.join(missing)}, which its plan says it binds"
    if not spec.plan_binding:
        return timer.done(True, _ACCEPTED_ON_LAST + message)
    return timer.done(False, message, "contract")


def _plan_agreement(candidate: str, spec: AtomSpec) -> CheckResult | None:
    """The code against its own plan: a body or step that never mentions a name its
    plan declares, or returns nothing where the plan says it returns a value, most
    often lost part of itself (an answer cut short, a `return` dropped, an
    attribute misspelt) while staying valid code that nothing else would flag.
    A JavaScript/TypeScript top-level statement is held to the names its plan reads
    (`module.exports = SBMH` answered as `module.exports`, or left out of the answer)."""
    script_statement = spec.language != "python" and spec.kind == "statement"
    if not script_statement and (
        spec.language != "python" or spec.kind not in (*_DEFINITION_KINDS, "block")
    ):
        return None
    if not spec.declared_calls and not spec.returns:
        return None
    timer = _timed("plan", "types")
    problems = []
    unused = [name for name in spec.declared_calls if not _uses(candidate, name)]
    if unused:
        problems.append(f"it never uses {', '.join(unused)}, which its plan declares")
    if spec.returns and returns_value(candidate) is False:
        problems.append("it returns no value, where its plan says it returns one")
    if not problems:
        return timer.done(True)
    message = "; ".join(problems)
    if not spec.plan_binding:
        return timer.done(True, _ACCEPTED_ON_LAST + message)
    return timer.done(False, message, "contract")


_DOCTEST_SCRIPT = """
import doctest, importlib, sys
module = importlib.import_module({module!r})
target = module
for part in {qualname!r}.split("."):
    target = getattr(target, part)
finder = doctest.DocTestFinder(recurse=False)
runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
for test in finder.find(target, {qualname!r}, module=module, globs=dict(vars(module))):
    runner.run(test, out=sys.stdout.write)
failed, attempted = runner.summarize(verbose=False)
sys.exit(1 if failed else 0)
"""


def _doctest(
    candidate: str, spec: AtomSpec, assembly: Assembly, limits: Limits
) -> CheckResult | None:
    if spec.language != "python" or ">>>" not in candidate or assembly.module is None:
        return None
    # A class header's examples exercise methods that are separate atoms, so they are
    # checked at module level (L2), not here.
    if spec.kind not in _DEFINITION_KINDS or not spec.whole_definition:
        return None
    timer = _timed("doctest", "unit")
    script = _DOCTEST_SCRIPT.format(module=assembly.module, qualname=spec.qualname)
    result = run_python(["-c", script], pythonpath=assembly.pythonpath, limits=limits)
    if result.timed_out:
        return timer.done(
            False, f"doctest timed out after {limits.timeout_seconds:.0f}s", "timeout"
        )
    if result.ok:
        return timer.done(True, result.stdout[-2000:])
    combined = result.stdout + result.stderr
    if _inconclusive(combined, assembly, spec.file):
        return timer.done(
            True, "inconclusive: depends on code not generated yet", inconclusive=True
        )
    return timer.done(False, _excerpt(combined), "test")


_NAME_ERROR = re.compile(r"NameError: name '(\w+)' is not defined")
_IMPORT_ERROR = re.compile(r"(?:ImportError|ModuleNotFoundError): ")
_FRAME = re.compile(r'File "([^"]+)", line (\d+)')
_EXCEPTION = re.compile(r"^\s*(\w+(?:Error|Exception|Exit|Interrupt))\b", re.MULTILINE)


def _inconclusive(output: str, assembly: Assembly, file: str) -> bool:
    """True when the examples failed for want of code not generated yet, not because
    of the candidate: a stub was called, an import found nothing, a planned name is
    unbound, or every exception was raised outside the candidate's own lines (a
    stand-in class that takes no arguments, say). A wrong value printed by the
    candidate, or an exception raised in its lines, is a real failure."""
    if STUB_MARK in output or _IMPORT_ERROR.search(output):
        return True
    names = set(_NAME_ERROR.findall(output))
    if names and names <= assembly.planned_names:
        return True
    blocks = output.split("Exception raised:")[1:]
    if not blocks and not assembly.module_state_complete and "Expected:" in output:
        return True  # a wrong value, but computed from a module that is not all there
    if not blocks and "Traceback (most recent call last)" in output:
        blocks = [output]  # the module failed to import before any example ran
    if not blocks:
        return False
    for block in blocks:
        frames = _FRAME.findall(block.split("*" * 20, 1)[0])
        if not frames:
            continue
        path, line = frames[-1]
        if path.endswith(file) and assembly.first_line <= int(line) <= assembly.last_line:
            return False
    return "Expected:" not in output


def _excerpt(text: str, limit: int = 1500) -> str:
    text = re.sub(r"\n{3,}", "\n\n", text.strip())
    return text if len(text) <= limit else "..." + text[-limit:]


def _size(candidate: str, spec: AtomSpec) -> Iterable[CheckResult]:
    """Size and complexity, measured and recorded, never a rejection: correct code
    that is longer than planned is still correct, and the plan fixes what an atom
    holds, so another attempt could not make it smaller. What is over the limits
    stays visible: the measures are stored with the accepted code, lower its
    atomicity and feed the review ranking."""
    timer = _timed("size", "syntax")
    source = textwrap.dedent(candidate).encode("utf-8", errors="surrogateescape")
    loc, complexity = measure_source(source, spec.language)
    over = loc > spec.max_loc
    yield timer.done(
        True,
        f"{loc} LOC" + (f" (over the limit of {spec.max_loc})" if over else ""),
        None,
        loc=loc,
        over_limit=over,
    )
    timer = _timed("complexity", "syntax")
    over = complexity > spec.max_complexity
    yield timer.done(
        True,
        f"complexity {complexity:g}"
        + (f" (over the limit of {spec.max_complexity:g})" if over else ""),
        None,
        complexity=complexity,
        over_limit=over,
    )


def validate_atom(
    candidate: str,
    spec: AtomSpec,
    assembly: Assembly,
    *,
    doctest_limits: Limits = DOCTEST_LIMITS,
    compiler: TypeScriptService | None = None,
) -> AtomVerdict:
    """Run every L1 check that applies; later checks are skipped once the code
    does not parse, since their findings would only echo the syntax error.

    For TypeScript and JavaScript, `compiler` (the run's TypeScript service) adds
    the `types` check (names and types, see `mge.validate.typescript`); the
    contract against the skeleton's signature is checked with or without it."""
    timer = _timed("format", "syntax")
    if not candidate.strip():
        return AtomVerdict((timer.done(False, "the answer held no code", "format"),))
    results: list[CheckResult] = [timer.done(True)]
    syntax, module = _syntax(candidate, spec, assembly)
    results.append(syntax)
    if not syntax.passed:
        return AtomVerdict(tuple(results))
    if module is not None:
        # The contract reads the definitions before the name check hollows the tree.
        contract = _contract(spec, assembly, module)
        binds = _planned_binds(spec, assembly, module)
        results.append(_names(spec, assembly, module))
        if contract is not None:
            results.append(contract)
        agreement = _plan_agreement(candidate, spec)
        if agreement is not None:
            results.append(agreement)
        if binds is not None:
            results.append(binds)
    elif spec.language != "python":
        from mge.validate.typescript import check_compiler, check_contract

        ts_contract = check_contract(candidate, spec)
        if ts_contract is not None:
            results.append(ts_contract)
        script_agreement = _plan_agreement(candidate, spec)
        if script_agreement is not None:
            results.append(script_agreement)
        if compiler is not None:
            results.append(check_compiler(candidate, spec, assembly, compiler))
    results.extend(_size(candidate, spec))
    if all(result.passed for result in results):
        doctest = _doctest(candidate, spec, assembly, doctest_limits)
        if doctest is not None:
            results.append(doctest)
    return AtomVerdict(tuple(results))
