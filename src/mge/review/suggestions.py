"""What a reviewer should look at in an atom: static findings, always available.

Findings come from the atom read in its file (pyflakes over the file as the run
assembled it, so undefined names and unused imports are judged with the whole
module in view), from checks on the atom alone for slips that pass every test
run so far (comparisons to None with ==, mutable defaults, bare except, a
self-comparison, answers cut short after a keyword, missing type hints), from the
project as a whole (a name used once next to a similar one, an attribute nothing
defines) and from the skeleton the run wrote first (a declared value the atom
contradicts). A model review is not run here: it needs a real model, and replay
answers would only echo the reference.
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import difflib
import functools
import importlib
import itertools
import re
import sys
import textwrap
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from types import ModuleType
from typing import Any

import pyflakes.api
import pyflakes.messages
from pyflakes.reporter import Reporter
from sqlalchemy import select
from sqlalchemy.orm import Session

from mge.db.models import AtomicUnit, AtomRetryHistory, GenerationRun

__all__ = [
    "Suggestion",
    "atom_suggestions",
    "file_findings",
    "previous_diff",
    "project_findings",
    "unified_diff",
]

#: pyflakes messages that are almost always a defect rather than a style point.
_SERIOUS = (
    pyflakes.messages.UndefinedName,
    pyflakes.messages.UndefinedExport,
    pyflakes.messages.UndefinedLocal,
    pyflakes.messages.DuplicateArgument,
    pyflakes.messages.MultiValueRepeatedKeyLiteral,
    pyflakes.messages.ReturnOutsideFunction,
    pyflakes.messages.IsLiteral,
    pyflakes.messages.PercentFormatInvalidFormat,
    pyflakes.messages.StringDotFormatExtraPositionalArguments,
)


@dataclass(frozen=True)
class Suggestion:
    """One finding; `line` counts from the atom's first line (1-based), 0 when unknown."""

    source: str
    severity: str
    line: int
    message: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class _Collect(Reporter):  # type: ignore[misc]
    def __init__(self) -> None:
        self.messages: list[pyflakes.messages.Message] = []

    def flake(self, message: pyflakes.messages.Message) -> None:
        self.messages.append(message)

    def syntaxError(self, *args: object) -> None:
        return None

    def unexpectedError(self, *args: object) -> None:
        return None


def file_findings(
    session: Session, *, masterplan_id: uuid.UUID, file: str
) -> dict[str, list[Suggestion]]:
    """pyflakes over one file assembled from its atoms' current code, per atom key."""
    atoms = list(
        session.scalars(
            select(AtomicUnit)
            .where(AtomicUnit.masterplan_id == masterplan_id, AtomicUnit.file_path == file)
            .order_by(AtomicUnit.atom_number)
        )
    )
    text, spans, lost = _assemble(atoms)
    reporter = _Collect()
    # pyflakes forgives undefined names in a package's `__all__`; a typo there is
    # exactly the kind of slip no test runs into, so check it as a plain module.
    checked_as = (
        file[: -len("__init__.py")] + "package.py" if file.endswith("__init__.py") else file
    )
    pyflakes.api.check(text, checked_as, reporter)
    found: dict[str, list[Suggestion]] = {}
    for message in reporter.messages:
        line = int(message.lineno)
        if isinstance(message, pyflakes.messages.UndefinedName) and message.message_args[0] in lost:
            continue
        place = _atom_at(spans, line)
        if place is not None:
            severity = "error" if isinstance(message, _SERIOUS) else "warning"
            text_of = message.message % message.message_args
            found.setdefault(place[0], []).append(
                Suggestion("pyflakes", severity, place[1], text_of)
            )
    return found


def _assemble(atoms: list[AtomicUnit]) -> tuple[str, list[tuple[int, int, str]], set[str]]:
    """A file's text from its atoms' current code, each atom's line span in it, and
    the names of atoms left out because they do not parse."""
    spans: list[tuple[int, int, str]] = []
    text = ""
    codes = [(atom.atom_key, atom.code or "") for atom in atoms]
    if not _parses(_join(codes)):
        # One broken atom would hide every finding in the file: leave out the atoms
        # that do not parse (blank lines keep the line numbers), and forgive the
        # names they define.
        broken = {key for key, code in codes if code and _parse_alone(code) is None}
        lost = {atom.name for atom in atoms if atom.atom_key in broken}
        codes = [(k, "\n" * c.count("\n") if k in broken else c) for k, c in codes]
    else:
        lost = set()
    for key, code in codes:
        if code and not code.endswith("\n"):
            code += "\n"
        first = text.count("\n") + 1
        text += code
        spans.append((first, text.count("\n"), key))
    return text, spans, lost


def _atom_at(spans: list[tuple[int, int, str]], line: int) -> tuple[str, int] | None:
    """The atom holding a line of its assembled file, and the line within the atom."""
    for first, last, key in spans:
        if first <= line <= last:
            return key, line - first + 1
    return None


def _join(codes: list[tuple[str, str]]) -> str:
    return "".join(code if code.endswith("\n") or not code else code + "\n" for _, code in codes)


def _parse_alone(code: str) -> ast.Module | None:
    """The atom as a module of its own, if it is one (a body piece may not be)."""
    source = textwrap.dedent(code)
    for candidate in (source, "if True:\n" + textwrap.indent(source, "    ")):
        try:
            return ast.parse(candidate)
        except SyntaxError:
            continue
    return None


def _with_empty_body(header: str) -> str:
    """A class header followed by `pass` one level deeper than its last line."""
    lines = [line for line in header.splitlines() if line.strip()]
    indent = len(lines[-1]) - len(lines[-1].lstrip()) if lines else 0
    return header.rstrip("\n") + "\n" + " " * (indent + 4) + "pass\n"


def _likely_bugs(tree: ast.Module, offset: int) -> list[Suggestion]:
    found: list[Suggestion] = []

    def add(node: ast.AST, severity: str, message: str, source: str = "check") -> None:
        line = max(1, int(getattr(node, "lineno", 1)) - offset)
        found.append(Suggestion(source, severity, line, message))

    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            for op, right in zip(node.ops, node.comparators, strict=True):
                if (
                    isinstance(op, ast.Eq | ast.NotEq)
                    and isinstance(right, ast.Constant)
                    and right.value is None
                ):
                    add(node, "warning", "comparison to None with ==/!=; use `is`/`is not`")
            if (
                len(node.comparators) == 1
                and ast.dump(node.left) == ast.dump(node.comparators[0])
                and not isinstance(node.left, ast.Constant)
            ):
                add(node, "error", "a value is compared with itself")
        elif isinstance(node, ast.ExceptHandler) and node.type is None:
            add(node, "warning", "bare `except:` also catches KeyboardInterrupt and SystemExit")
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for default in [*node.args.defaults, *node.args.kw_defaults]:
                if isinstance(default, ast.List | ast.Dict | ast.Set):
                    add(default, "warning", f"mutable default argument in {node.name}()")
            arguments = [*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs]
            missing = [
                a.arg for a in arguments if a.annotation is None and a.arg not in ("self", "cls")
            ]
            if missing:
                add(node, "info", f"{node.name}(): no type hint for {', '.join(missing)}", "hint")
            if node.returns is None and node.name != "__init__":
                add(node, "info", f"{node.name}(): no return type hint", "hint")
    return found


def atom_suggestions(session: Session, atom: AtomicUnit) -> list[Suggestion]:
    """Every static finding for one atom, most serious first."""
    found = project_findings(session, masterplan_id=atom.masterplan_id).get(atom.atom_key, [])
    order = {"error": 0, "warning": 1, "info": 2}
    return sorted(found, key=lambda s: (order.get(s.severity, 3), s.line))


def _parses(source: str) -> bool:
    try:
        ast.parse(source)
    except SyntaxError:
        return False
    return True


def unified_diff(before: str | None, after: str | None, *, label: str = "code") -> str:
    """A unified diff for people: what a change does to the atom's code."""
    return "".join(
        difflib.unified_diff(
            (before or "").splitlines(keepends=True),
            (after or "").splitlines(keepends=True),
            fromfile=f"{label} (before)",
            tofile=f"{label} (after)",
        )
    )


def previous_diff(session: Session, atom: AtomicUnit) -> str:
    """The diff between the atom's previous generated candidate and its current code."""
    candidates = [
        history.generated_code
        for history in session.scalars(
            select(AtomRetryHistory)
            .where(AtomRetryHistory.atom_id == atom.id)
            .order_by(AtomRetryHistory.attempt_number)
        )
        if history.generated_code is not None
    ]
    earlier = [code for code in candidates if code != atom.code]
    if not earlier:
        return ""
    return unified_diff(earlier[-1], atom.code, label=atom.atom_key)


# -- the whole project at once --------------------------------------------------------

_BUILTIN_WORDS = frozenset(
    word.lower()
    for kind in (str, bytes, list, dict, set, frozenset, tuple, int, float, complex, object)
    for word in dir(kind)
) | frozenset(word.lower() for word in dir(builtins))


def _stdlib_modules(names: Iterable[str]) -> Iterator[ModuleType]:
    """The standard-library modules among `names` that import here, in name order."""
    for name in sorted(names):
        if name not in sys.stdlib_module_names:
            continue
        try:
            yield importlib.import_module(name)
        except ImportError:
            continue


def _library_words(modules: set[str]) -> frozenset[str]:
    """Names the standard-library modules the project imports define, with the members
    of their classes (`Decimal.quantize`, `Path.write_text`, `DictWriter.writerow`):
    a name from a library is not a typo of a project name."""
    words: set[str] = set()
    for module in _stdlib_modules(modules):
        for attribute in dir(module):
            words.add(attribute.lower())
            value = getattr(module, attribute, None)
            if isinstance(value, type):
                words.update(member.lower() for member in dir(value))
    return frozenset(words)


def _distance(a: str, b: str, limit: int) -> int:
    """Edit distance with adjacent swaps, cut off above `limit`."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cost = 0 if ca == cb else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                current[j] = min(current[j], previous2[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        previous2, previous = previous, current
    return previous[-1]


def _words(tree: ast.AST) -> tuple[list[str], list[tuple[str, int]], set[str]]:
    """(every name an atom writes, the uses among them with their lines, the modules it
    imports). Uses are loaded names and attributes, keywords, and identifier-like
    strings: where a typo hides. Definitions only feed the vocabulary."""
    every: list[str] = []
    uses: list[tuple[str, int]] = []
    modules: set[str] = set()
    for node in ast.walk(tree):
        line = int(getattr(node, "lineno", 0))
        if isinstance(node, ast.Name):
            every.append(node.id)
            if isinstance(node.ctx, ast.Load):
                uses.append((node.id, line))
        elif isinstance(node, ast.Attribute):
            every.append(node.attr)
            if isinstance(node.ctx, ast.Load):
                uses.append((node.attr, line))
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            every.append(node.name)
        elif isinstance(node, ast.arg):
            every.append(node.arg)
        elif isinstance(node, ast.keyword):
            for name in [node.arg] if node.arg is not None else []:
                every.append(name)
                uses.append((name, line))
        elif isinstance(node, ast.alias):
            every.append((node.asname or node.name).split(".")[0])
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and node.value.isidentifier()
        ):
            every.append(node.value)
            uses.append((node.value, line))
        if isinstance(node, ast.Import):
            modules.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            modules.add(node.module.split(".")[0])
    return every, uses, modules


_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _near_misses(
    trees: dict[str, ast.Module], offsets: dict[str, int], texts: list[str]
) -> dict[str, list[Suggestion]]:
    """Names used once in the whole project (its code, comments and docstrings) that
    are one or two edits from a name written elsewhere or from a name of a library it
    imports: the typos (`self.skku`, `'reorer_level'`) no test may touch."""
    counts: dict[str, int] = {}
    for text in texts:
        for word in _WORD.findall(text):
            counts[word.lower()] = counts.get(word.lower(), 0) + 1
    per_atom: dict[str, list[tuple[str, int]]] = {}
    modules: set[str] = set()
    for key, tree in trees.items():
        _every, uses, imported = _words(tree)
        per_atom[key] = uses
        modules |= imported
    library = _library_words(modules)
    known = _BUILTIN_WORDS | library
    by_length: dict[int, list[str]] = {}
    for word in set(counts) | library:
        by_length.setdefault(len(word), []).append(word)
    found: dict[str, list[Suggestion]] = {}
    for key, words in per_atom.items():
        for word, line in words:
            lowered = word.lower()
            if counts.get(lowered, 0) > 1 or len(word) < 3 or lowered in known:
                continue
            limit = 1 if len(word) < 7 else 2
            close = [
                other
                for size in range(len(word) - limit, len(word) + limit + 1)
                for other in by_length.get(size, [])
                if other != lowered
                and not other.startswith(lowered)
                and not lowered.startswith(other)
                and _distance(lowered, other, limit) <= limit
            ]
            if close:
                found.setdefault(key, []).append(
                    Suggestion(
                        "check",
                        "error",
                        max(1, line - offsets.get(key, 0)),
                        f"{word!r} appears nowhere else; a typo of {sorted(close)[0]!r}?",
                    )
                )
    return found


def _defined_names(tree: ast.AST) -> set[str]:
    """Every name a piece of code defines or binds: functions, classes, fields and
    other assignments, attributes it sets, parameters, imports."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Attribute) and not isinstance(node.ctx, ast.Load):
            names.add(node.attr)
        elif isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            names.add(node.id)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, ast.alias):
            names.update((node.asname or node.name).split("."))
    return names


_EXCEPTION_WORDS = frozenset(word.lower() for word in dir(BaseException))


@functools.lru_cache(maxsize=32)
def _library_source_words(modules: frozenset[str]) -> frozenset[str]:
    """Every identifier in the Python source of the standard-library modules the
    project imports: attributes of objects their C parts return (`reader.line_num`)
    are not in any `dir()`, but the Python wrappers around them name them."""
    words: set[str] = set()
    for module in _stdlib_modules(modules):
        path = getattr(module, "__file__", None)
        if not path or not str(path).endswith(".py"):
            continue
        try:
            with open(path, encoding="utf-8") as handle:
                words.update(word.lower() for word in _WORD.findall(handle.read()))
        except OSError:
            continue
    return frozenset(words)


def _undefined_attributes(
    trees: dict[str, ast.Module],
    offsets: dict[str, int],
    plans: list[ast.Module],
    imported: dict[str, set[str]],
    own: set[str],
) -> dict[str, list[Suggestion]]:
    """Attributes read that nothing defines: no class, field, method or assignment of
    the project (nor its skeletons, for the parts not generated) and no standard
    library module it imports has that name — `line.su` for `line.sku`, a typo too
    short or too far from its original for the near-miss check."""
    defined: set[str] = set()
    modules: set[str] = set()
    for tree in [*trees.values(), *plans]:
        defined |= _defined_names(tree)
        modules |= _words(tree)[2]
    # Attributes of what a library outside the standard library returns, or of a
    # class built on one of its classes, are unknowable without importing it, which
    # the review does not do: files that import one are left out.
    outside = {
        file
        for file, modules_of in imported.items()
        if any(module not in sys.stdlib_module_names for module in modules_of - own)
    }
    known = _BUILTIN_WORDS | _EXCEPTION_WORDS | _library_words(modules)
    known |= _library_source_words(frozenset(modules))
    found: dict[str, list[Suggestion]] = {}
    for key, tree in trees.items():
        if key.split("::", 1)[0] in outside:
            continue
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.ctx, ast.Load)
                and node.attr not in defined
                and node.attr.lower() not in known
                and not (node.attr.startswith("__") and node.attr.endswith("__"))
            ):
                found.setdefault(key, []).append(
                    Suggestion(
                        "check",
                        "error",
                        max(1, node.lineno - offsets.get(key, 0)),
                        f"attribute {node.attr!r} is defined nowhere in the project "
                        "or the standard-library modules it imports",
                    )
                )
    return found


def _discarded_values(tree: ast.Module, offset: int) -> list[Suggestion]:
    """An expression computed and thrown away (`self.gross - self.discount` on its own
    line): almost always a lost `return`."""
    found: list[Suggestion] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Expr) and isinstance(
            node.value,
            ast.BinOp | ast.Compare | ast.BoolOp | ast.Name | ast.Attribute | ast.Subscript,
        ):
            found.append(
                Suggestion(
                    "check",
                    "error",
                    max(1, node.lineno - offset),
                    "a computed value is discarded (a missing `return`?)",
                )
            )
    return found


def _returns_something(signature: str | None) -> bool:
    if not signature or "->" not in signature:
        return False
    annotation = signature.rsplit("->", 1)[1].strip().rstrip(":").strip()
    return annotation not in (*_NO_VALUE, "")


def _falls_off(body: list[ast.stmt]) -> bool:
    """Whether running `body` can reach its end without `return` or `raise`."""
    if not body:
        return True
    last = body[-1]
    if isinstance(last, ast.Return | ast.Raise):
        return False
    if isinstance(last, ast.If):
        return _falls_off(last.body) or _falls_off(last.orelse)
    if isinstance(last, ast.With | ast.AsyncWith):
        return _falls_off(last.body)
    if isinstance(last, ast.Try):
        return (_falls_off(last.orelse) if last.orelse else _falls_off(last.body)) or any(
            _falls_off(handler.body) for handler in last.handlers
        )
    if isinstance(last, ast.Match):
        return any(_falls_off(case.body) for case in last.cases)
    if isinstance(last, ast.While):
        return not (isinstance(last.test, ast.Constant) and last.test.value is True)
    return True


def _is_generator(body: list[ast.stmt]) -> bool:
    return any(
        isinstance(inner, ast.Yield | ast.YieldFrom) for node in body for inner in ast.walk(node)
    )


_NO_VALUE = ("None", "NoReturn", "Never")


def _is_stub(body: list[ast.stmt]) -> bool:
    """A body of only a docstring, `...` or `pass`: a protocol's or an abstract
    method's declaration, which promises a value its implementations return."""
    return all(
        isinstance(statement, ast.Pass)
        or (isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant))
        for statement in body
    )


def _missing_return(
    atom: AtomicUnit, tree: ast.Module, offset: int, *, whole: bool, last_piece: bool
) -> list[Suggestion]:
    """A function that promises a value but can end without returning one (checked on
    the whole definition, or on the last piece of a split body)."""
    message = "the function promises a value but can end without returning one"
    if atom.kind in ("function", "method"):
        if not whole:
            return []
        for node in tree.body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.returns:
                if (
                    ast.unparse(node.returns) in _NO_VALUE
                    or _is_generator(node.body)
                    or _is_stub(node.body)
                ):
                    return []
                if _falls_off(node.body):
                    return [Suggestion("check", "error", max(1, node.lineno - offset), message)]
        return []
    if atom.kind == "block" and last_piece and _returns_something(atom.signature):
        body = tree.body[0].body if offset and isinstance(tree.body[0], ast.If) else tree.body
        if not _is_generator(body) and _falls_off(body):
            return [Suggestion("check", "error", 1, message)]
    return []


#: Calls that change or consume what they are called on: a function returning one of
#: these has an effect besides its value, so its value may be dropped on purpose.
_EFFECTFUL_CALLS = frozenset(
    {
        *("append", "appendleft", "extend", "extendleft", "insert", "add", "update"),
        *("pop", "popitem", "popleft", "remove", "discard", "clear", "setdefault"),
        *("next", "send", "throw", "write", "writelines", "read", "readline"),
        *("readlines", "close", "flush", "seek", "truncate", "acquire", "release"),
        *("put", "wait", "join", "start", "run", "sort", "reverse"),
        *("print", "setattr", "delattr", "exec", "eval", "__import__"),
    }
)
_CONTROL = (
    ast.Yield,
    ast.YieldFrom,
    ast.Await,
    ast.Raise,
    ast.Global,
    ast.Nonlocal,
    ast.Delete,
)


def _own_nodes(body: list[ast.stmt]) -> Iterator[ast.AST]:
    """Every node of a function body, not those of functions or classes inside it."""
    stack: list[ast.AST] = list(body)
    while stack:
        node = stack.pop()
        yield node
        stack.extend(
            child
            for child in ast.iter_child_nodes(node)
            if not isinstance(
                child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda
            )
        )


def _only_computes(function: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """Whether a function only computes and returns a value: every path returns
    something other than None or itself, and it raises nothing, writes no attribute
    or item, calls no argument and nothing known to change what it is called on. Its
    value dropped, a call of it does nothing at all."""
    if isinstance(function, ast.AsyncFunctionDef) or _falls_off(function.body):
        return False
    for decorator in function.decorator_list:
        if not (
            isinstance(decorator, ast.Name) and decorator.id in ("staticmethod", "classmethod")
        ):
            return False
    arguments = function.args
    parameters = {
        a.arg
        for a in [
            *arguments.posonlyargs,
            *arguments.args,
            *arguments.kwonlyargs,
            *filter(None, [arguments.vararg, arguments.kwarg]),
        ]
    }
    for node in _own_nodes(function.body):
        if isinstance(node, _CONTROL):
            return False
        if isinstance(node, ast.Return) and (
            node.value is None
            or (isinstance(node.value, ast.Constant) and node.value.value is None)
            or (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"))
        ):
            return False
        if isinstance(node, ast.Expr) and not isinstance(node.value, ast.Constant):
            return False
        if isinstance(node, ast.Attribute | ast.Subscript) and isinstance(node.ctx, ast.Store):
            return False
        if isinstance(node, ast.Call):
            called = _called_name(node)
            if called in _EFFECTFUL_CALLS or called in parameters:
                return False
    return True


def _called_name(call: ast.Call) -> str | None:
    function = call.func
    if isinstance(function, ast.Attribute):
        return function.attr
    return function.id if isinstance(function, ast.Name) else None


def _dropped_values(
    files: dict[str, tuple[ast.Module, list[tuple[int, int, str]]]],
) -> dict[str, list[Suggestion]]:
    """Calls whose value is dropped although every function of that name in the
    project only computes and returns a value: a lost `return` or assignment (`def
    copy(self): type(self).from_dict(self)`) that no test notices when nothing checks
    the result. Judged over whole files: a call that is the whole body of a `try`
    probes for an exception, which is a use of its own."""
    verdicts: dict[str, list[bool]] = {}
    bound: set[str] = set()
    for tree, _spans in files.values():
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                verdicts.setdefault(node.name, []).append(_only_computes(node))
            elif isinstance(node, ast.ClassDef):
                bound.add(node.name)
            elif isinstance(node, ast.arg):
                bound.add(node.arg)
            elif isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
                bound.add(node.id)
    pure = {
        name
        for name, each in verdicts.items()
        if all(each) and name not in bound and not name.startswith("__")
    }
    found: dict[str, list[Suggestion]] = {}
    for tree, spans in files.values():
        probes = {
            id(statement)
            for node in ast.walk(tree)
            if isinstance(node, ast.Try) and node.handlers
            for statement in node.body
        }
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Expr)
                and isinstance(node.value, ast.Call)
                and id(node) not in probes
                and _called_name(node.value) in pure
            ):
                place = _atom_at(spans, node.lineno)
                if place is not None:
                    found.setdefault(place[0], []).append(
                        Suggestion(
                            "check",
                            "error",
                            place[1],
                            f"the value of {_called_name(node.value)}() is dropped, and it "
                            "does nothing else (a missing `return` or assignment?)",
                        )
                    )
    return found


def _bare_raise(tree: ast.Module, offset: int) -> list[Suggestion]:
    """A bare `raise` outside any `except` block of the atom: an answer cut short
    after `raise` still parses, and then fails with "no active exception" instead
    of the error it meant to raise."""
    handled: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ExceptHandler):
            handled.update(id(inner) for inner in ast.walk(node))
    return [
        Suggestion(
            "check",
            "error",
            max(1, node.lineno - offset),
            "a bare `raise` outside an `except` block re-raises nothing (cut short?)",
        )
        for node in ast.walk(tree)
        if isinstance(node, ast.Raise) and node.exc is None and id(node) not in handled
    ]


def _stored_names(tree: ast.AST) -> set[str]:
    """The names a piece of code binds, bare annotations (`x: int`) aside."""
    bare = {
        id(node.target)
        for node in ast.walk(tree)
        if isinstance(node, ast.AnnAssign) and node.value is None
    }
    return {
        node.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store) and id(node) not in bare
    }


def _annotated_only(
    atom: AtomicUnit, tree: ast.Module, offset: int, elsewhere: set[str]
) -> list[Suggestion]:
    """A local variable given a type but no value (`urgent: set[str]` for `urgent:
    set[str] = set()`): an answer cut short before the value still parses, and the
    first read of the name fails. `elsewhere`: the names the other pieces of a split
    body bind."""
    if atom.kind == "block":
        scopes: list[ast.AST] = [tree]
    elif atom.kind in ("function", "method"):
        scopes = [
            n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)
        ]
    else:
        return []
    found: list[Suggestion] = []
    for scope in scopes:
        annotated = [
            node
            for node in ast.walk(scope)
            if isinstance(node, ast.AnnAssign) and node.value is None and node.simple
        ]
        # `node: DirEntry` before `for node in scan:` declares what the loop binds.
        bound = _stored_names(scope) | (elsewhere if atom.kind == "block" else set())
        found += [
            Suggestion(
                "check",
                "error",
                max(1, node.lineno - offset),
                f"local `{ast.unparse(node.target)}` is annotated but never given a value",
            )
            for node in annotated
            if ast.unparse(node.target) not in bound
        ]
    return found


def _own_returns(body: list[ast.stmt]) -> list[ast.Return]:
    """The `return` statements of a body, not those of functions nested in it."""
    found: list[ast.Return] = []
    stack: list[ast.AST] = list(body)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Return):
            found.append(node)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda | ast.ClassDef):
            continue
        stack.extend(ast.iter_child_nodes(node))
    return found


def _empty_returns(atom: AtomicUnit, tree: ast.Module, offset: int) -> list[Suggestion]:
    """A bare `return` in a function that promises a value: `return total` cut short,
    or a value forgotten; the caller gets None where the annotation says otherwise."""
    bodies: list[list[ast.stmt]] = []
    if atom.kind in ("function", "method"):
        bodies = [
            node.body
            for node in tree.body
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
            and node.returns is not None
            and ast.unparse(node.returns) not in _NO_VALUE
            and not _is_generator(node.body)
        ]
    elif atom.kind == "block" and _returns_something(atom.signature):
        body = tree.body[0].body if offset and isinstance(tree.body[0], ast.If) else tree.body
        bodies = [] if _is_generator(body) else [body]
    return [
        Suggestion(
            "check",
            "error",
            max(1, node.lineno - offset),
            "a bare `return` in a function that promises a value",
        )
        for body in bodies
        for node in _own_returns(body)
        if node.value is None
    ]


_Scope = ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef


def _find_scope(tree: ast.Module, qualname: str) -> _Scope | None:
    """The class or function `qualname` (dotted) names in a module, if it is there."""
    body: list[ast.stmt] = tree.body
    found: _Scope | None = None
    for part in qualname.split("."):
        found = next((n for n in body if isinstance(n, _Scope) and n.name == part), None)
        if found is None:
            return None
        body = found.body
    return found


def _assigned(statement: ast.stmt) -> tuple[str, ...]:
    """The names a simple assignment binds, as its key for comparison."""
    if isinstance(statement, ast.Assign):
        return tuple(ast.unparse(target) for target in statement.targets)
    if isinstance(statement, ast.AnnAssign):
        return (ast.unparse(statement.target),)
    return ()


def _declarations(body: list[ast.stmt]) -> dict[tuple[str, ...], ast.stmt]:
    return {key: node for node in body if (key := _assigned(node))}


def _skeleton_drift(
    atom: AtomicUnit, tree: ast.Module, offset: int, plan: ast.Module
) -> list[Suggestion]:
    """Where the atom contradicts the skeleton the run wrote first: a decorator, a
    base class, a field, a constant or `__all__` that differs from the declaration
    the rest of the project was generated against (`frozen=True` become
    `frozen=False`, a default value changed). The atomic contract checks names and
    signatures; values declared outside function bodies are checked here, since no
    test may execute them with a value that shows the change."""
    body = tree.body[0].body if offset and isinstance(tree.body[0], ast.If) else tree.body
    found: list[Suggestion] = []

    def add(node: ast.AST, what: str, planned: str) -> None:
        line = max(1, int(getattr(node, "lineno", 1)) - offset)
        shown = planned if len(planned) <= 80 else planned[:77] + "..."
        found.append(
            Suggestion("check", "error", line, f"{what}: not as the skeleton declares (`{shown}`)")
        )

    def compare_statements(mine: list[ast.stmt], planned: list[ast.stmt]) -> None:
        expected = _declarations(planned)
        for key, node in _declarations(mine).items():
            if key in expected and ast.dump(node) != ast.dump(expected[key]):
                add(node, ", ".join(key), ast.unparse(expected[key]))

    def compare_header(mine: _Scope, planned: _Scope) -> None:
        if type(planned) is not type(mine):
            return
        decorators = [ast.dump(d) for d in mine.decorator_list]
        if decorators != [ast.dump(d) for d in planned.decorator_list]:
            node = mine.decorator_list[0] if mine.decorator_list else mine
            shown = " ".join(f"@{ast.unparse(d)}" for d in planned.decorator_list)
            add(node, "decorators", shown or "none")
        if isinstance(mine, ast.ClassDef) and isinstance(planned, ast.ClassDef):
            bases = [ast.dump(b) for b in [*mine.bases, *mine.keywords]]
            if bases != [ast.dump(b) for b in [*planned.bases, *planned.keywords]]:
                shown = ", ".join(ast.unparse(b) for b in [*planned.bases, *planned.keywords])
                add(mine, f"bases of {mine.name}", f"({shown})")
            compare_statements(mine.body, planned.body)

    if atom.kind in ("class_header", "function", "method"):
        mine = next((n for n in body if isinstance(n, _Scope)), None)
        planned = _find_scope(plan, atom.qualname) if atom.qualname else None
        if mine is not None and planned is not None:
            compare_header(mine, planned)
    elif atom.kind in ("module_header", "statement"):
        compare_statements(body, plan.body)
    return found


def _skeletons(session: Session, masterplan_id: uuid.UUID) -> dict[str, ast.Module]:
    """The skeletons of the masterplan's latest run that has them, parsed."""
    runs = session.scalars(
        select(GenerationRun)
        .where(GenerationRun.masterplan_id == masterplan_id)
        .order_by(GenerationRun.created_at.desc())
    )
    for run in runs:
        texts = (run.report or {}).get("skeletons") or {}
        if texts:
            parsed: dict[str, ast.Module] = {}
            for file, text in texts.items():
                try:
                    parsed[str(file)] = ast.parse(str(text))
                except SyntaxError:
                    continue
            return parsed
    return {}


def project_findings(session: Session, *, masterplan_id: uuid.UUID) -> dict[str, list[Suggestion]]:
    """Every static finding of every atom of a masterplan, by atom key.

    pyflakes runs per file; an undefined name also implicates the file's module
    header (a lost import) and the piece before it in a split body (a lost line).
    """
    atoms = list(
        session.scalars(
            select(AtomicUnit)
            .where(AtomicUnit.masterplan_id == masterplan_id)
            .order_by(AtomicUnit.atom_number)
        )
    )
    found: dict[str, list[Suggestion]] = {}

    def add(key: str, suggestion: Suggestion) -> None:
        found.setdefault(key, []).append(suggestion)

    files: dict[str, list[AtomicUnit]] = {}
    for atom in atoms:
        files.setdefault(atom.file_path, []).append(atom)
    trees: dict[str, ast.Module] = {}
    offsets: dict[str, int] = {}
    whole_files: dict[str, tuple[ast.Module, list[tuple[int, int, str]]]] = {}
    skeletons = _skeletons(session, masterplan_id)
    for file, members in files.items():
        if not file.endswith(".py"):
            continue
        headers = [
            a.atom_key
            for a in members
            if a.kind == "module_header" and a.code and "import" in a.code
        ]
        text, spans, _lost = _assemble(members)
        with contextlib.suppress(SyntaxError, ValueError):
            whole_files[file] = (ast.parse(text), spans)
        previous_piece: dict[str, str] = {}
        for before, after in itertools.pairwise(members):
            if after.qualname and before.qualname == after.qualname:
                previous_piece[after.atom_key] = before.atom_key
        for key, suggestions in file_findings(
            session, masterplan_id=masterplan_id, file=file
        ).items():
            for suggestion in suggestions:
                add(key, suggestion)
                if suggestion.message.startswith("undefined name") and "__all__" not in (
                    suggestion.message
                ):
                    related = Suggestion(
                        "related",
                        "warning",
                        0,
                        f"{suggestion.message} in {key}: an import or a line may be missing here",
                    )
                    for other in [*headers, previous_piece.get(key, "")]:
                        if other and other != key:
                            add(other, related)
        # The names each split body binds, over all its pieces.
        stored: dict[str, set[str]] = {}
        for atom in members:
            piece = _parse_alone(atom.code) if atom.kind == "block" and atom.code else None
            if piece is not None:
                stored.setdefault(atom.qualname or "", set()).update(_stored_names(piece))
        last_of: dict[str, str] = {}
        pieces: dict[str, int] = {}
        for atom in members:
            last_of[atom.qualname or atom.atom_key] = atom.atom_key
            pieces[atom.qualname or atom.atom_key] = (
                pieces.get(atom.qualname or atom.atom_key, 0) + 1
            )
        for atom in members:
            if not atom.code or atom.language != "python":
                continue
            source = textwrap.dedent(atom.code)
            tree = _parse_alone(atom.code)
            if tree is None and atom.kind == "class_header":
                # Its body is the methods' and fields' atoms: it parses with one.
                tree = _parse_alone(_with_empty_body(atom.code))
            whole = pieces[atom.qualname or atom.atom_key] == 1
            if tree is None:
                if whole and atom.kind != "block":
                    add(
                        atom.atom_key,
                        Suggestion("check", "error", 0, "the code does not parse on its own"),
                    )
                continue
            offset = 0 if _parses(source) else 1
            trees[atom.atom_key] = tree
            offsets[atom.atom_key] = offset
            for suggestion in _likely_bugs(tree, offset):
                add(atom.atom_key, suggestion)
            for suggestion in _discarded_values(tree, offset):
                add(atom.atom_key, suggestion)
            last_piece = last_of.get(atom.qualname or atom.atom_key) == atom.atom_key
            for suggestion in _missing_return(
                atom, tree, offset, whole=whole, last_piece=last_piece
            ):
                add(atom.atom_key, suggestion)
            for suggestion in [
                *_bare_raise(tree, offset),
                *_empty_returns(atom, tree, offset),
                *_annotated_only(atom, tree, offset, stored.get(atom.qualname or "", set())),
            ]:
                add(atom.atom_key, suggestion)
            plan = skeletons.get(file)
            if plan is not None and (whole or atom.kind in ("module_header", "statement")):
                for suggestion in _skeleton_drift(atom, tree, offset, plan):
                    add(atom.atom_key, suggestion)
    texts = [atom.code for atom in atoms if atom.code]
    for key, suggestions in _near_misses(trees, offsets, texts).items():
        for suggestion in suggestions:
            add(key, suggestion)
    for key, suggestions in _dropped_values(whole_files).items():
        for suggestion in suggestions:
            add(key, suggestion)
    plans = list(skeletons.values())
    # The project's own modules: every folder and module name of its files.
    own = {part.removesuffix(".py") for file in files for part in file.split("/")}
    imported: dict[str, set[str]] = {}
    for key, tree in trees.items():
        imported.setdefault(key.split("::", 1)[0], set()).update(_words(tree)[2])
    for key, suggestions in _undefined_attributes(trees, offsets, plans, imported, own).items():
        for suggestion in suggestions:
            add(key, suggestion)
    return found
