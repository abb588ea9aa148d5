"""L1 checks of TypeScript and JavaScript atoms with the TypeScript compiler.

One node process per run holds one TypeScript language service (`ts/service.mjs`,
with the compiler pinned by `ts/package-lock.json`); it is fed the assembled file of
each attempt and answers the compiler's diagnostics for that file, reusing
everything it already parsed and checked (the rest of the project, the standard
library's declarations). JavaScript is checked by the same service with `checkJs`.

Diagnostics are mapped to the atom by line: only those inside the candidate's lines
of the assembled file count against it, with lines counted in the atom, as the
model sees it. Each is classified for the retry prompt by the compiler's code:

| class | diagnostics |
|---|---|
| `syntax` | syntactic diagnostics (codes 1000-1999) |
| `name` | a name, module, export or member that is not there (2304, 2307, 2339, ...) |
| `type` | every other semantic error (2322 not assignable, 2345 argument, 2554 arity, ...) |

The contract check compares the candidate's definition (name and parameter list)
with the skeleton's signature, from the syntax tree.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tree_sitter import Node

from mge.atomize._decompose import is_header_statement
from mge.atomize._languages import parse
from mge.errors import MgeError
from mge.validate.atomic import Assembly, AtomSpec, CheckResult

SERVICE_DIR = Path(__file__).with_name("ts")
SERVICE_SCRIPT = SERVICE_DIR / "service.mjs"
TS_LANGUAGES = frozenset({"typescript", "tsx", "javascript"})

_NAME_CODES = frozenset({2304, 2305, 2307, 2339, 2551, 2552, 2580, 2614, 2693, 2724, 18004})
# In a JavaScript file every type is inferred, and an atom is checked beside bodies
# that only throw: what the compiler infers there is the skeleton's, not the code's
# (a constructor function's `prototype` read on `void`, a property set in an elided
# body missing), and idiomatic JavaScript breaks inferred types the reference itself
# (a JSDoc shape read with more keys than it lists). Only what holds whatever the
# bodies infer counts: broken syntax and grammar (TS1xxx, which the checker reports
# for `const x` without a value, `return` outside a function), except the few
# grammar codes that judge a type; and a name, module or export that is not there,
# declared twice or used before its declaration.
_JS_CODES = frozenset({2300, 2304, 2305, 2307, 2448, 2451, 2552, 2580, 2588, 2614, 2724, 18004})
# Grammar diagnostics that depend on an inferred type or on what a module exports.
_JS_TYPED_GRAMMAR = frozenset(
    {1055, 1058, 1059, 1062, 1064, 1192, 1259, 1320, 1321, 1322, 1345, 1360, 1361, 1362}
)
_JS_SUFFIXES = (".js", ".jsx", ".mjs", ".cjs")


class ToolchainMissing(MgeError):
    """Node or the pinned TypeScript compiler is not installed."""


@dataclass(frozen=True)
class Diagnostic:
    line: int
    column: int
    end_line: int
    code: int
    category: str
    message: str
    kind: str
    #: A member read on a global of the language's own library that the library does
    #: not declare (`Array.isArrray`): its members are the standard's, so this holds
    #: in JavaScript too.
    library_member: bool = False

    @property
    def holds_in_javascript(self) -> bool:
        if self.kind == "syntactic" or self.code in _JS_CODES or self.library_member:
            return True
        return 1000 <= self.code < 2000 and self.code not in _JS_TYPED_GRAMMAR

    @property
    def error_class(self) -> str:
        if self.kind == "syntactic" or 1000 <= self.code < 2000:
            return "syntax"
        if self.code in _NAME_CODES:
            return "name"
        return "type"


def node_binary() -> str:
    """The `node` on PATH, or an error that says how to install it."""
    node = shutil.which("node")
    if node is None:
        raise ToolchainMissing(
            "node is not installed; install it with `sudo apt-get install nodejs npm`"
            " (scripts/install_system_tools.sh does it)"
        )
    return node


def ensure_compiler() -> None:
    """An error that says how to install the compiler when it is not there."""
    node_binary()
    if not (SERVICE_DIR / "node_modules" / "typescript" / "package.json").is_file():
        raise ToolchainMissing(
            f"the TypeScript compiler is not installed; run `npm ci --prefix {SERVICE_DIR}`"
            " (make test and make demo do it)"
        )


class TypeScriptService:
    """The run's compiler process. Thread-safe: one request at a time."""

    def __init__(self, root: str | Path) -> None:
        ensure_compiler()
        self.root = Path(root).resolve()
        self._lock = threading.Lock()
        self._baselines: dict[str, list[Diagnostic]] = {}
        self._process = subprocess.Popen(
            [node_binary(), str(SERVICE_SCRIPT)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            cwd=self.root,
            text=True,
            encoding="utf-8",
        )
        answer = self._ask({"op": "version"})
        self.versions = {"typescript": str(answer["typescript"]), "node": str(answer["node"])}
        self._ask({"op": "open", "root": str(self.root)})

    def _ask(self, request: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            stdin, stdout = self._process.stdin, self._process.stdout
            if stdin is None or stdout is None or self._process.poll() is not None:
                raise MgeError("the TypeScript service has stopped")
            stdin.write(json.dumps(request) + "\n")
            stdin.flush()
            line = stdout.readline()
        if not line:
            raise MgeError("the TypeScript service stopped without an answer")
        answer: dict[str, Any] = json.loads(line)
        if not answer.get("ok"):
            raise MgeError(f"TypeScript service: {answer.get('error')}")
        return answer

    def check(
        self, target: str, text: str, others: dict[str, str] | None = None
    ) -> list[Diagnostic]:
        """The compiler's diagnostics for `target` (relative to the root) with `text`
        as its content and `others` replacing other files."""
        files = {**(others or {}), target: text}
        answer = self._ask({"op": "check", "target": target, "files": files})
        found = [Diagnostic(**item) for item in answer["diagnostics"]]
        if target.endswith(_JS_SUFFIXES):
            return [d for d in found if d.holds_in_javascript]
        return found

    def baseline(
        self, target: str, text: str, others: dict[str, str] | None = None
    ) -> list[Diagnostic]:
        """`check` of a file's baseline text (its skeleton), remembered: every atom of
        the file is compared with the same one."""
        key = hashlib.sha256(
            json.dumps([target, text, sorted((others or {}).items())]).encode()
        ).hexdigest()
        if key not in self._baselines:
            self._baselines[key] = self.check(target, text, others)
        return self._baselines[key]

    def close(self) -> None:
        """Stop the process (end of input ends it) and close its pipes."""
        if self._process.stdin is not None and not self._process.stdin.closed:
            self._process.stdin.close()
        try:
            self._process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        if self._process.stdout is not None:
            self._process.stdout.close()

    def __enter__(self) -> TypeScriptService:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def check_compiler(
    candidate: str,
    spec: AtomSpec,
    assembly: Assembly,
    service: TypeScriptService,
    others: dict[str, str] | None = None,
    baseline: str | None = None,
) -> CheckResult:
    """The `types` check: the compiler's diagnostics inside the candidate's lines;
    `others` are the other files of the project as they stand (skeletons).

    With `baseline`, the text the candidate was put into before it was (the file's
    skeleton, see `in_skeleton`), a diagnostic outside the candidate's lines that the
    baseline does not have is the candidate's too: a body cut short leaves its
    brackets open and the parser reports it lines later, a method without a body
    turns the next method into its implementation."""
    started = time.perf_counter()
    diagnostics = service.check(spec.file, assembly.text, others)
    mine = [d for d in diagnostics if assembly.first_line <= d.line <= assembly.last_line]
    if baseline is not None:
        before = service.baseline(spec.file, baseline, others)
        if spec.kind == "module_header":
            # The skeleton's own header has what the configuration says of any
            # header (an import the elided bodies do not use, under
            # `noUnusedLocals`): only what the candidate adds is its own.
            mine = _new(mine, before)
        mine += _caused_outside(diagnostics, assembly, before)
    if not mine:
        return CheckResult("types", "types", True, "", time.perf_counter() - started)
    classes = sorted({d.error_class for d in mine})
    # The retry prompt names the worst class: broken syntax hides the rest.
    worst = next(c for c in ("syntax", "name", "type") if c in classes)
    lines = [f"{_where(d, assembly)}: TS{d.code} {d.message.splitlines()[0]}" for d in mine[:5]]
    return CheckResult(
        "types",
        "types",
        False,
        "; ".join(lines),
        time.perf_counter() - started,
        worst,
        {"codes": [d.code for d in mine], "classes": classes},
    )


def _new(diagnostics: list[Diagnostic], before: list[Diagnostic]) -> list[Diagnostic]:
    """The diagnostics the baseline had not (by code and message, as many times as
    they are new)."""
    known = Counter((d.code, d.message) for d in before)
    found: list[Diagnostic] = []
    for d in diagnostics:
        if known[(d.code, d.message)] > 0:
            known[(d.code, d.message)] -= 1
        else:
            found.append(d)
    return found


def _caused_outside(
    diagnostics: list[Diagnostic], assembly: Assembly, before: list[Diagnostic]
) -> list[Diagnostic]:
    """The diagnostics outside the candidate's lines that the baseline had not (by
    code and message, as many times as they are new)."""
    outside = [d for d in diagnostics if not assembly.first_line <= d.line <= assembly.last_line]
    return _new(outside, before)


def _where(diagnostic: Diagnostic, assembly: Assembly) -> str:
    """The diagnostic's line counted in the atom, as the model sees it."""
    if diagnostic.line > assembly.last_line:
        return "after the end of this code"
    if diagnostic.line < assembly.first_line:
        return "before this code"
    return f"line {diagnostic.line - assembly.first_line + 1}"


def in_skeleton(skeleton: str, candidate: str, spec: AtomSpec) -> Assembly | None:
    """The file as the compiler sees the candidate during a run: the skeleton (every
    declaration with its types, bodies elided) with the definition the atom plans
    replaced by the candidate (a module header: the skeleton's header replaced).
    None when the atom is no whole function or method or header, or
    the skeleton has no definition of its name."""
    if spec.kind == "module_header":
        return _header_in_skeleton(skeleton, candidate, spec.language)
    if spec.kind not in ("function", "method") or not spec.whole_definition:
        return None
    source = skeleton.encode("utf-8", errors="surrogateescape")
    owner = spec.qualname.rpartition(".")[0]
    stack = [parse(source, spec.language).root_node]
    while stack:
        node = stack.pop(0)
        name = node.child_by_field_name("name")
        named = name is not None and _text(source, name) == spec.name
        if node.type in _DEFINITIONS and named and (not owner or _owner(source, node) == owner):
            if node.parent is not None and node.parent.type == "export_statement":
                node = node.parent
            start = source.rfind(b"\n", 0, node.start_byte) + 1  # its indentation too
            before = source[:start].decode("utf-8", "surrogateescape")
            end = node.end_byte
            # The last member of a class holds the class's closing brace: the
            # candidate then stands for the rest of the class body too.
            closes = _closing_lines(candidate)
            parent = node.parent
            while closes and parent is not None:
                if parent.type == "class_body":
                    end, closes = parent.end_byte, closes - 1
                parent = parent.parent
            after = source[end:].decode("utf-8", "surrogateescape")
            body = candidate if candidate.endswith("\n") else candidate + "\n"
            first = before.count("\n") + 1
            return Assembly(
                text=before + body + after.removeprefix("\n"),
                first_line=first,
                last_line=first + body.count("\n") - 1,
            )
        stack.extend(node.children)
    return None


def _header_in_skeleton(skeleton: str, candidate: str, language: str) -> Assembly:
    """The skeleton with its module header (the leading imports, re-exports and
    literal constants, with the comments among them) replaced by the candidate.

    A header is the file's imports: one that names a module that is not there
    (`./tokes.js`) or drops a name the file's declarations use is caught here, by
    the compiler, instead of failing every test that loads the file with an error
    that names no project line."""
    source = skeleton.encode("utf-8", errors="surrogateescape")
    end = 0
    for child in parse(source, language).root_node.children:
        if child.type == "comment":
            continue
        if not is_header_statement(child, language):
            break
        end = child.end_byte
    after = source[end:].decode("utf-8", "surrogateescape").lstrip("\n")
    body = candidate if candidate.endswith("\n") else candidate + "\n"
    return Assembly(text=body + after, first_line=1, last_line=max(1, body.count("\n")))


def _closing_lines(candidate: str) -> int:
    """How many lines holding only `}` end the candidate less indented than its
    first code line: the closing braces of the classes around it."""
    lines = [line for line in candidate.splitlines() if line.strip()]
    code = [line for line in lines if not line.lstrip().startswith(("/", "*", "@"))]
    if not code:
        return 0
    indent = len(code[0]) - len(code[0].lstrip())
    count = 0
    for line in reversed(lines):
        if line.strip() != "}" or len(line) - len(line.lstrip()) >= indent:
            break
        count += 1
    return count


def _text(source: bytes, node: Node) -> str:
    return source[node.start_byte : node.end_byte].decode("utf-8", "replace")


def _owner(source: bytes, node: Node) -> str:
    parent = node.parent
    while parent is not None:
        if parent.type in ("class_declaration", "abstract_class_declaration", "class"):
            name = parent.child_by_field_name("name")
            return "" if name is None else _text(source, name)
        parent = parent.parent
    return ""


def reference_errors(root: Path, files: list[str]) -> list[tuple[str, Diagnostic]]:
    """The compiler's errors in a project's own files (`plan check` on a TypeScript or
    JavaScript plan: type errors in the reference are reported before generation)."""
    found: list[tuple[str, Diagnostic]] = []
    with TypeScriptService(root) as service:
        for file in files:
            path = root / file
            if path.is_file():
                text = path.read_text(encoding="utf-8", errors="surrogateescape")
                found.extend((file, d) for d in service.check(file, text) if d.category == "error")
    return found


_DEFINITIONS = frozenset(
    {
        "function_declaration",
        "generator_function_declaration",
        "method_definition",
        "function_signature",
        "method_signature",
    }
)


def _definition(code: str, language: str) -> tuple[str, str] | None:
    """(name, parameter list without spaces) of the first definition in `code`."""
    source = code.encode("utf-8", errors="surrogateescape")
    stack = [parse(source, language).root_node]
    while stack:
        node = stack.pop(0)
        if node.type in _DEFINITIONS:
            name = node.child_by_field_name("name")
            params = node.child_by_field_name("parameters")
            if name is None or params is None:
                return None
            text = source[params.start_byte : params.end_byte].decode("utf-8", "replace")
            return source[name.start_byte : name.end_byte].decode(), re.sub(r"\s+", "", text)
        stack.extend(node.children)
    return None


def check_contract(candidate: str, spec: AtomSpec) -> CheckResult | None:
    """The definition's name and parameters against the skeleton's signature; None
    when the atom is no whole definition or the skeleton gives no signature."""
    if spec.kind not in ("function", "method") or not spec.signature or not spec.whole_definition:
        return None
    started = time.perf_counter()
    planned = _definition(spec.signature + ("" if "{" in spec.signature else " {}"), spec.language)
    if planned is None:
        return None
    found = _definition(candidate, spec.language)
    problems: list[str] = []
    if found is None:
        problems.append(f"no definition of {planned[0]} found")
    elif found[0] != planned[0]:
        problems.append(f"defines {found[0]}, the skeleton plans {planned[0]}")
    elif found[1] != planned[1]:
        problems.append(f"parameters {found[1]} differ from the skeleton's {planned[1]}")
    if problems:
        return CheckResult(
            "contract",
            "types",
            False,
            "; ".join(problems),
            time.perf_counter() - started,
            "contract",
        )
    return CheckResult("contract", "types", True, "", time.perf_counter() - started)


__all__ = [
    "SERVICE_DIR",
    "TS_LANGUAGES",
    "Diagnostic",
    "ToolchainMissing",
    "TypeScriptService",
    "check_compiler",
    "check_contract",
    "ensure_compiler",
    "in_skeleton",
    "node_binary",
    "reference_errors",
]
