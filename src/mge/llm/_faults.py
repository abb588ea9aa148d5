"""Faults of the kinds LLMs really make, injected into known-good code.

The replay model answers from reference code; with a fault rate it damages some
answers the way a real model would, so that validation, retries and review meet
real failures. Each kind is one small edit:

- `syntax_error`     a closing bracket dropped, or a line indented wrongly
- `undefined_name`   a typo in one use of a variable or function name
- `wrong_attribute`  a typo in an attribute or field name (`user.emai_verified`)
- `wrong_operator`   a flipped comparison (`<` → `<=`, `==` → `!=`), a swapped
                     arithmetic or boolean operator, a dropped `not`, an
                     off-by-one `range` bound
- `wrong_constant`   a number, string or boolean literal changed
- `missing_return`   `return value` left as a bare expression
- `truncated`        the answer cut off part-way through
- `prose_fences`     the code wrapped in chat prose and Markdown fences

Python code is edited through `ast` positions and `tokenize` tokens, so edits
land on real names and operators and never inside strings or comments; other
languages (or fragments that do not parse) get text-level edits. Decisions are
deterministic per (seed, purpose kind, target, attempt): the same run replays
the same faults, and a retry draws afresh. A chosen kind that cannot apply to a
snippet (no attribute to misspell, say) hands over to the next requested kind in
a fixed rotation, so a fault always changes the code when any requested kind can.
"""

from __future__ import annotations

import ast
import builtins
import dataclasses
import hashlib
import io
import itertools
import keyword
import random
import re
import tokenize
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from mge.atomize import measure_source
from mge.errors import AtomizeError, ConfigError
from mge.llm._fault_profiles import UNIFORM, FaultProfile
from mge.llm._plan_faults import PLAN_FAULT_KINDS, apply_plan_fault
from mge.llm._types import Purpose

__all__ = ["FAULT_KINDS", "FaultOutcome", "apply_fault", "choose_fault", "parse_fault_kinds"]

FAULT_KINDS: tuple[str, ...] = (
    "syntax_error",
    "undefined_name",
    "wrong_attribute",
    "wrong_operator",
    "wrong_constant",
    "missing_return",
    "truncated",
    "prose_fences",
)
#: Kinds a run may ask for: the uniform profile's eight, and those only the
#: realistic profile draws by default.
KNOWN_FAULT_KINDS: tuple[str, ...] = (*FAULT_KINDS, "missing_corner_case")

_WRAPPER = "if True:\n"
_SKELETON_CODE_KINDS = frozenset({"syntax_error", "truncated", "prose_fences"})
_Edit = tuple[int, int, str]


@dataclass(frozen=True, slots=True)
class FaultOutcome:
    """The answer to send and which fault, if any, shaped it (for tests and benches)."""

    code: str
    kind: str | None


def parse_fault_kinds(kinds: str | Iterable[str] | None) -> tuple[str, ...]:
    """Validate a kind list (`"a,b"` or an iterable); `None` or `"all"` means every kind."""
    if kinds is None:
        return FAULT_KINDS
    names = [k.strip() for k in kinds.split(",")] if isinstance(kinds, str) else list(kinds)
    names = [n for n in names if n]
    if names == ["all"]:
        return FAULT_KINDS
    unknown = [n for n in names if n not in KNOWN_FAULT_KINDS]
    if unknown or not names:
        raise ConfigError(
            f"unknown fault kind {', '.join(map(repr, unknown)) or '(none given)'}; "
            f"choose from {', '.join(KNOWN_FAULT_KINDS)}"
        )
    return tuple(dict.fromkeys(names))


def _rng(seed: int, purpose: Purpose, salt: str) -> random.Random:
    key = f"{seed}\x00{purpose.kind}\x00{purpose.target}\x00{purpose.attempt}\x00{salt}"
    return random.Random(int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big"))


def choose_fault(
    code: str,
    purpose: Purpose,
    *,
    seed: int,
    rate: float,
    kinds: Sequence[str] = FAULT_KINDS,
    profile: FaultProfile = UNIFORM,
) -> FaultOutcome:
    """Decide, deterministically, whether and how to damage this answer."""
    if rate <= 0 or not kinds:
        return FaultOutcome(code, None)
    if purpose.kind == "skeleton":
        # A skeleton is a plan: most of its faults are planning mistakes, the rest
        # the code faults that fit a whole file (a bracket, a cut-off, chat around).
        kinds = [*PLAN_FAULT_KINDS, *(k for k in kinds if k in _SKELETON_CODE_KINDS)]
    elif profile.size_scaled:
        loc, complexity = _measure(code, purpose.language)
        rate = profile.rate_for(rate, loc, complexity)
    if profile.repeat and purpose.attempt > 1:
        before = dataclasses.replace(purpose, attempt=purpose.attempt - 1)
        previous = choose_fault(code, before, seed=seed, rate=rate, kinds=kinds, profile=profile)
        if previous.kind is not None and _rng(seed, purpose, "repeat").random() < profile.repeat:
            damaged = _damaged(code, previous.kind, _rng(seed, purpose, previous.kind), purpose)
            if damaged is not None:
                return FaultOutcome(damaged, previous.kind)
    draw = _rng(seed, purpose, "decide")
    if draw.random() >= rate:
        return FaultOutcome(code, None)
    for kind in _order(kinds, profile, draw):
        damaged = _damaged(code, kind, _rng(seed, purpose, kind), purpose)
        if damaged is not None:
            return FaultOutcome(damaged, kind)
    return FaultOutcome(code, None)


def _order(kinds: Sequence[str], profile: FaultProfile, draw: random.Random) -> list[str]:
    """The kinds to try, the drawn one first: uniformly drawn then a fixed rotation,
    or (with weights) drawn by weight, then the rest by weight."""
    weighted = [k for k in kinds if profile.weights.get(k, 0.0) > 0]
    if not weighted:
        first = draw.randrange(len(kinds))
        return [*kinds[first:], *kinds[:first]]
    chosen = draw.choices(weighted, weights=[profile.weights[k] for k in weighted])[0]
    rest = sorted((k for k in kinds if k != chosen), key=lambda k: -profile.weights.get(k, 0.0))
    return [chosen, *rest]


def _damaged(code: str, kind: str, rng: random.Random, purpose: Purpose) -> str | None:
    if kind in PLAN_FAULT_KINDS:
        damaged = apply_plan_fault(code, kind, rng)
    else:
        damaged = apply_fault(code, kind, rng, purpose.language)
    return damaged if damaged is not None and damaged != code else None


def _measure(code: str, language: str) -> tuple[int, float]:
    try:
        return measure_source(code.encode("utf-8", errors="surrogateescape"), language or "python")
    except AtomizeError:
        return len([line for line in code.splitlines() if line.strip()]), 1.0


def apply_fault(code: str, kind: str, rng: random.Random, language: str = "python") -> str | None:
    """`code` with one fault of `kind`, or None if the kind cannot change this code."""
    if not code.strip():
        return None
    if kind == "prose_fences":
        return _prose_fences(code, rng, language)
    if kind == "truncated":
        return _truncate(code, rng)
    source = _PySource.parse(code) if language.lower() in ("python", "py") else None
    result = _python_fault(source, kind, rng) if source else _text_fault(code, kind, rng)
    return result if result is not None and result != code else None


# --- wrapping and truncation (any language) ---------------------------------------

_PROSE_BEFORE = (
    "Here is the implementation:\n\n",
    "Sure! Below is the code.\n\n",
    "",
    "```{lang}\n",
)
_PROSE_AFTER = (
    "\nThis keeps the behaviour described in the docstring.\n",
    "\nLet me know if you need anything else.\n",
    "",
    "```\n",
)


def _prose_fences(code: str, rng: random.Random, language: str) -> str:
    body = code if code.endswith("\n") else code + "\n"
    lang = language.lower()
    before = rng.choice(_PROSE_BEFORE).format(lang=lang)
    after = rng.choice(_PROSE_AFTER)
    if not before and not after:
        before = "Here is the code:\n\n"
    return f"{before}```{lang}\n{body}```\n{after}"


_SIGNIFICANT = re.compile(r"\S+")


def _truncate(code: str, rng: random.Random) -> str | None:
    """Cut at a word boundary somewhere in the last 60% of the text, dropping real code."""
    starts = [m.start() for m in _SIGNIFICANT.finditer(code) if not m.group().startswith("#")]
    if len(starts) < 2:
        return None
    low = max(1, int(len(starts) * 0.4))
    cut = starts[rng.randrange(low, len(starts))]
    return code[:cut].rstrip(" \t")


# --- Python, through ast and tokenize -----------------------------------------------


class _PySource:
    """Code parsed as-is, or as a fragment inside `if True:` when it is indented."""

    def __init__(self, text: str, prefix: str, tree: ast.AST) -> None:
        self.text = text  # what was parsed: prefix + original code
        self.prefix = prefix
        self.tree = tree
        self.lines = text.splitlines(keepends=True)
        self._line_start = [0]
        for line in self.lines:
            self._line_start.append(self._line_start[-1] + len(line))
        self.tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
        self.identifiers = {t.string for t in self.tokens if t.type == tokenize.NAME}

    @classmethod
    def parse(cls, code: str) -> _PySource | None:
        for prefix in ("", _WRAPPER):
            text = prefix + code
            try:
                return cls(text, prefix, ast.parse(text))
            except (SyntaxError, ValueError, tokenize.TokenError):
                continue
        return None

    def parses(self, code: str) -> bool:
        try:
            ast.parse(self.prefix + code)
        except (SyntaxError, ValueError):
            return False
        return True

    def offset(self, lineno: int, byte_col: int) -> int:
        line = self.lines[lineno - 1] if lineno - 1 < len(self.lines) else ""
        chars = len(line.encode("utf-8")[:byte_col].decode("utf-8", errors="ignore"))
        return self._line_start[lineno - 1] + chars

    def token_offset(self, position: tuple[int, int]) -> int:
        return self._line_start[position[0] - 1] + position[1]

    def start(self, node: ast.AST) -> int:
        return self.offset(node.lineno, node.col_offset)  # type: ignore[attr-defined]

    def end(self, node: ast.AST) -> int:
        return self.offset(node.end_lineno, node.end_col_offset)  # type: ignore[attr-defined]

    def tokens_between(self, start: int, end: int) -> list[tokenize.TokenInfo]:
        return [
            t
            for t in self.tokens
            if start <= self.token_offset(t.start) and self.token_offset(t.end) <= end
        ]

    def apply(self, edit: _Edit) -> str:
        start, end, replacement = edit
        changed = self.text[:start] + replacement + self.text[end:]
        return changed[len(self.prefix) :]

    def nodes(self, *types: type[ast.AST]) -> list[ast.AST]:
        return [n for n in ast.walk(self.tree) if isinstance(n, types) and hasattr(n, "lineno")]


def _python_fault(src: _PySource, kind: str, rng: random.Random) -> str | None:
    if kind == "syntax_error":
        candidates = [e for e in _syntax_edits(src) if e[0] >= len(src.prefix)]
        rng.shuffle(candidates)
        for edit in candidates:
            changed = src.apply(edit)
            if not src.parses(changed):
                return changed
        return None
    finder = _PY_EDITS.get(kind)
    if finder is None:
        raise ConfigError(f"unknown fault kind {kind!r}")
    # Never edit the `if True:` line that lets an indented fragment parse.
    edits = [e for e in finder(src, rng) if e[0] >= len(src.prefix)]
    return src.apply(rng.choice(edits)) if edits else None


def _syntax_edits(src: _PySource) -> list[_Edit]:
    edits: list[_Edit] = []
    for tok in src.tokens:
        if tok.type == tokenize.OP and tok.string in ")]}":
            at = src.token_offset(tok.start)
            edits.append((at, at + 1, ""))
    later_in_block = [
        stmt
        for parent in [*src.nodes(ast.stmt, ast.excepthandler), src.tree]
        for field in ("body", "orelse", "finalbody")
        for stmt in getattr(parent, field, [])[1:]
        if isinstance(stmt, ast.stmt)
    ]
    for stmt in later_in_block:
        at = src.start(stmt)
        edits.append((at, at, "  "))  # a later statement indented off its block
    last = src.text.rstrip()
    if last:
        edits.append((len(last), len(last), ")"))
    return edits


def _typos(name: str, rng: random.Random) -> list[str]:
    """Plausible misspellings: a letter dropped, two swapped, one doubled."""
    out: list[str] = []
    for i in range(len(name)):
        if len(name) > 2:
            out.append(name[:i] + name[i + 1 :])
        if i + 1 < len(name) and name[i] != name[i + 1]:
            out.append(name[:i] + name[i + 1] + name[i] + name[i + 2 :])
        out.append(name[:i] + name[i] + name[i:])
    rng.shuffle(out)
    return out


def _fresh_typo(name: str, taken: set[str], rng: random.Random) -> str | None:
    for typo in _typos(name, rng):
        if (
            typo.isidentifier()
            and not keyword.iskeyword(typo)
            and typo not in taken
            and not hasattr(builtins, typo)
        ):
            return typo
    return None


def _undefined_name_edits(src: _PySource, rng: random.Random) -> list[_Edit]:
    edits: list[_Edit] = []
    for node in src.nodes(ast.Name):
        assert isinstance(node, ast.Name)
        if isinstance(node.ctx, ast.Load) and node.id not in ("True", "False", "None"):
            typo = _fresh_typo(node.id, src.identifiers, rng)
            if typo:
                edits.append((src.start(node), src.end(node), typo))
    return edits


def _wrong_attribute_edits(src: _PySource, rng: random.Random) -> list[_Edit]:
    edits: list[_Edit] = []
    for node in src.nodes(ast.Attribute):
        assert isinstance(node, ast.Attribute)
        end = src.end(node)
        if src.text[end - len(node.attr) : end] != node.attr:
            continue
        typo = _fresh_typo(node.attr, src.identifiers, rng)
        if typo:
            edits.append((end - len(node.attr), end, typo))
    return edits


_COMPARE_FLIP = {
    "<": "<=",
    "<=": "<",
    ">": ">=",
    ">=": ">",
    "==": "!=",
    "!=": "==",
    "in": "not in",
    "not in": "in",
    "is": "is not",
    "is not": "is",
}
_BINARY_SWAP = {
    "+": "-",
    "-": "+",
    "*": "+",
    "/": "*",
    "//": "/",
    "%": "//",
    "**": "*",
    "+=": "-=",
    "-=": "+=",
    "*=": "+=",
    "and": "or",
    "or": "and",
}
_SKIP = {tokenize.NL, tokenize.NEWLINE, tokenize.COMMENT, tokenize.INDENT, tokenize.DEDENT}


def _operator_between(src: _PySource, start: int, end: int) -> tuple[int, int, str] | None:
    """The operator token(s) between two operands, skipping brackets and comments."""
    toks = [
        t for t in src.tokens_between(start, end) if t.type not in _SKIP and t.string not in "()"
    ]
    if not toks:
        return None
    first, last = toks[0], toks[-1]
    text = " ".join(t.string for t in toks)
    return src.token_offset(first.start), src.token_offset(last.end), text


def _wrong_operator_edits(src: _PySource, rng: random.Random) -> list[_Edit]:
    edits: list[_Edit] = []
    for node in src.nodes(ast.Compare, ast.BinOp, ast.BoolOp, ast.AugAssign):
        if isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
        elif isinstance(node, ast.BinOp):
            operands = [node.left, node.right]
        elif isinstance(node, ast.BoolOp):
            operands = list(node.values)
        else:
            assert isinstance(node, ast.AugAssign)
            operands = [node.target, node.value]
        for left, right in itertools.pairwise(operands):
            found = _operator_between(src, src.end(left), src.start(right))
            if found is None:
                continue
            start, end, op = found
            flipped = _COMPARE_FLIP.get(op) or _BINARY_SWAP.get(op)
            if flipped:
                edits.append((start, end, flipped))
    for node in src.nodes(ast.UnaryOp):
        assert isinstance(node, ast.UnaryOp)
        if isinstance(node.op, ast.Not):
            # Drop the `not` keyword and its space, keeping any bracket after it.
            between = src.tokens_between(src.start(node), src.start(node.operand))
            after = [t for t in between[1:] if t.type not in _SKIP]
            end = src.token_offset(after[0].start) if after else src.start(node.operand)
            edits.append((src.start(node), end, ""))
    for node in src.nodes(ast.Call):
        assert isinstance(node, ast.Call)
        if isinstance(node.func, ast.Name) and node.func.id == "range" and node.args:
            bound = node.args[0] if len(node.args) == 1 else node.args[1]
            edits.append((src.end(bound), src.end(bound), " + 1"))
    return edits


def _docstrings(tree: ast.AST) -> set[int]:
    ids: set[int] = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        first = body[0] if isinstance(body, list) and body else None
        value = first.value if isinstance(first, ast.Expr) else None
        if isinstance(value, ast.Constant) and isinstance(value.value, str):
            ids.add(id(value))
    return ids


def _annotation_nodes(tree: ast.AST) -> set[int]:
    roots: list[ast.AST] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.arg | ast.AnnAssign) and node.annotation is not None:
            roots.append(node.annotation)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.returns:
            roots.append(node.returns)
    return {id(inner) for root in roots for inner in ast.walk(root)}


def _changed_constant(value: object, rng: random.Random) -> object:
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + rng.choice((1, -1)) if value else 1
    if isinstance(value, float):
        return value * 2 if value else 1.0
    if isinstance(value, str):
        if not value:
            return " "
        i = rng.randrange(len(value))
        return value[:i] + value[i + 1 :] if len(value) > 1 else value + value
    return value


def _wrong_constant_edits(src: _PySource, rng: random.Random) -> list[_Edit]:
    skip = _docstrings(src.tree) | _annotation_nodes(src.tree)
    inside_fstrings = {id(inner) for node in src.nodes(ast.JoinedStr) for inner in ast.walk(node)}
    edits: list[_Edit] = []
    for node in src.nodes(ast.Constant):
        assert isinstance(node, ast.Constant)
        if id(node) in skip or id(node) in inside_fstrings:
            continue
        if isinstance(node.value, bool | int | float | str) and not isinstance(node.value, complex):
            new = _changed_constant(node.value, rng)
            if new != node.value:
                edits.append((src.start(node), src.end(node), repr(new)))
    return edits


def _missing_return_edits(src: _PySource, rng: random.Random) -> list[_Edit]:
    edits: list[_Edit] = []
    for node in src.nodes(ast.Return):
        assert isinstance(node, ast.Return)
        if node.value is not None and not (
            isinstance(node.value, ast.Constant) and node.value.value is None
        ):
            edits.append((src.start(node), src.start(node.value), ""))
    return edits


_GUARD_EXITS = (ast.Return, ast.Raise, ast.Continue, ast.Break)


def _missing_corner_case_edits(src: _PySource, rng: random.Random) -> list[_Edit]:
    """A guard clause left out (`if not items: return 0`): the corner case it
    handled is missing. Only where the block keeps another statement, so the code
    still parses and only the behaviour is wrong."""
    edits: list[_Edit] = []
    for parent in ast.walk(src.tree):
        for field in ("body", "orelse", "finalbody"):
            block = getattr(parent, field, None)
            if not isinstance(block, list) or len(block) < 2:
                continue
            for node in block:
                if (
                    isinstance(node, ast.If)
                    and not node.orelse
                    and len(node.body) == 1
                    and isinstance(node.body[0], _GUARD_EXITS)
                ):
                    edits.append((src.start(node), src.end(node), ""))
    return edits


_PY_EDITS: dict[str, Callable[[_PySource, random.Random], list[_Edit]]] = {
    "missing_corner_case": _missing_corner_case_edits,
    "undefined_name": _undefined_name_edits,
    "wrong_attribute": _wrong_attribute_edits,
    "wrong_operator": _wrong_operator_edits,
    "wrong_constant": _wrong_constant_edits,
    "missing_return": _missing_return_edits,
}


# --- other languages: text-level edits ----------------------------------------------

_WORD = re.compile(r"\b[A-Za-z_$][\w$]*\b")
_KEYWORDS = set(keyword.kwlist) | {
    "function", "const", "let", "var", "new", "this", "typeof", "instanceof", "extends",
    "interface", "type", "export", "default", "true", "false", "null", "undefined", "void",
    "switch", "case", "catch", "throw", "static", "public", "private", "protected", "readonly",
    "string", "number", "boolean", "any", "unknown", "never", "of", "do", "super", "enum",
    "implements", "declare", "abstract", "async", "await", "yield", "get", "set", "constructor",
}  # fmt: skip
_TEXT_OPERATORS = re.compile(r"===|!==|==|!=|<=|>=|&&|\|\||(?<= )[<>](?= )|(?<= )[+\-](?= )")
_TEXT_FLIP = {
    "===": "!==", "!==": "===", "==": "!=", "!=": "==", "<=": "<", ">=": ">", "<": "<=",
    ">": ">=", "&&": "||", "||": "&&", "+": "-", "-": "+",
}  # fmt: skip


def _text_fault(code: str, kind: str, rng: random.Random) -> str | None:
    if kind == "missing_corner_case":
        return None  # needs the syntax tree: Python only
    edits: list[_Edit] = []
    taken = set(_WORD.findall(code))
    if kind == "syntax_error":
        edits = [(m.start(), m.end(), "") for m in re.finditer(r"[)\]}]", code)]
        if not edits:
            end = len(code.rstrip())
            edits = [(end, end, "(")]
    elif kind == "undefined_name":
        seen: set[str] = set()
        for m in _WORD.finditer(code):
            word = m.group()
            is_member = m.start() > 0 and code[m.start() - 1] == "."
            if word in seen and word not in _KEYWORDS and not is_member:
                typo = _fresh_typo(word, taken, rng)
                if typo:
                    edits.append((m.start(), m.end(), typo))
            seen.add(word)
    elif kind == "wrong_attribute":
        for m in re.finditer(r"(?<=\.)[A-Za-z_$][\w$]*", code):
            typo = _fresh_typo(m.group(), taken, rng)
            if typo:
                edits.append((m.start(), m.end(), typo))
    elif kind == "wrong_operator":
        edits = [
            (m.start(), m.end(), _TEXT_FLIP[m.group()]) for m in _TEXT_OPERATORS.finditer(code)
        ]
    elif kind == "wrong_constant":
        for m in re.finditer(r"(?<![\w.$])\d+(?![\w.])|\btrue\b|\bfalse\b", code):
            word = m.group()
            new = {"true": "false", "false": "true"}.get(word) or str(int(word) + 1)
            edits.append((m.start(), m.end(), new))
    elif kind == "missing_return":
        edits = [(m.start(), m.end(), "") for m in re.finditer(r"\breturn\s+(?=[^\s;}])", code)]
    else:
        raise ConfigError(f"unknown fault kind {kind!r}")
    if not edits:
        return None
    start, end, replacement = rng.choice(edits)
    return code[:start] + replacement + code[end:]
