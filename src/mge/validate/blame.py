"""Blame: which atoms most likely caused a failing test, import or lint.

Two sources of evidence, in this order:

1. **Traceback.** Frames of the failure that fall inside project files map, by
   line, onto the atoms whose spans hold them. The deepest project frame is where
   the error surfaced, so suspects are ranked from the innermost frame outwards.
2. **Coverage.** When no frame enters project code (a function returned a wrong
   value and only the test's assertion noticed), atoms are ranked by the Ochiai
   score of spectrum-based fault localisation: an atom run by many failing tests
   and few passing ones is suspicious, `failed(a) / sqrt(total_failed *
   (failed(a) + passed(a)))`.
3. **A missing name.** An `AttributeError`, `NameError` or `ImportError` names what
   the running code lacks (`type object 'Parser' has no attribute 'EMPTY_VALUES'`).
   The atom whose plan says it binds that name, in that class or module, is where
   it went missing. Neither of the others can find it: the binding line is not in
   the traceback (only the line that looked it up is), and a class body or module
   header runs at import, before any test's coverage is recorded.

4. **A call that does not fit its callee.** A `TypeError` that a call's arguments
   do not match a signature (`TableFormat.__new__() got an unexpected keyword
   argument 'with_header_hide'`) surfaces at the call, but the signature may be
   what is wrong: a field misspelt in a `namedtuple` or dataclass, a parameter
   dropped from a `def`. The atom whose plan binds the callee is a suspect too,
   ranked below the call's frame, so a round that regenerated the call and still
   fails moves on to the definition instead of running out of suspects.

All are computed from text and line numbers only: blame never looks at a
reference or knows which answers were faulted.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from mge.validate.node_testing import BUILD_DIR

# "inventory/orders.py:45: in quote" (pytest --tb=long) and
# 'File "/abs/inventory/orders.py", line 45, in quote' (plain tracebacks)
_PYTEST_FRAME = re.compile(r"^([^\s:]+\.py):(\d+):", re.MULTILINE)
_PYTHON_FRAME = re.compile(r'File "([^"]+\.py)", line (\d+)')
# What a failure says is missing: (owner kind, owner, name). The owner kind is
# "class" (an attribute of a class or of its instances), "module", or "scope" (a
# bare name, looked up in the module of the innermost frame).
#: The source of a suspect whose binding a failure says holds the wrong value.
WRONG_VALUE = "wrong value"
_MISSING = (
    ("class", re.compile(r"AttributeError: type object '([\w.]+)' has no attribute '(\w+)'")),
    ("class", re.compile(r"AttributeError: '([\w.]+)' object has no attribute '(\w+)'")),
    ("module", re.compile(r"AttributeError: module '([\w.]+)' has no attribute '(\w+)'")),
    ("import", re.compile(r"ImportError: cannot import name '(\w+)' from '([\w.]+)'")),
    ("scope", re.compile(r"NameError: (?:free variable |name )'(\w+)' is not defined")),
    # JavaScript's ReferenceError, as node's report gives the message on a line of
    # its own or after `error:`.
    (
        "scope",
        re.compile(r"(?:^|ReferenceError: |error: ')([A-Za-z_$][\w$]*) is not defined\b", re.M),
    ),
    # JavaScript's TypeError for a name bound to the wrong value: the name is there,
    # what its binding holds is not what the reader needs.
    (
        "value",
        re.compile(
            r"(?:^|TypeError: |error: ')([A-Za-z_$][\w$]*) is not"
            r" (?:a function|a constructor|iterable)\b",
            re.M,
        ),
    ),
)
# "at Ledger.balance (/abs/src/ledger.ts:41:32)" and "Ledger.balance (file:///abs/x.js:3:1)"
# (node's stack lines, source-mapped to TypeScript): innermost frame first.
_NODE_FRAME = re.compile(r"(?:file://)?(/[^\s():]+\.[cm]?[jt]sx?):(\d+):\d+\)?\s*$", re.MULTILINE)
# A module that failed to load names no frame of the project, only the file that
# imported it: "Cannot find module '/abs/.mge-build/src/tokes.js' imported from
# /abs/.mge-build/src/lexer.js" (ES modules) or "Require stack:\n- /abs/lexer.js"
# (CommonJS), or vitest's "... imported from '/abs/src/stats.ts'" (the path
# quoted, the importer's source itself). Its imports are at the top of that file.
_NODE_IMPORTER = re.compile(
    r"Cannot find (?:module|package) '[^']+' imported from '?(?:file://)?(/[^\s']+\.[cm]?[jt]sx?)"
    r"|Cannot find module '[^']+'\s*\nRequire stack:\s*\n- (/\S+\.[cm]?[jt]sx?)"
)
# Where node runs what the compiler emitted, and the source extensions each emitted
# file may come from.
_BUILD_DIR = f"/{BUILD_DIR}/"
_SOURCES_OF = {
    ".js": (".ts", ".tsx", ".js", ".jsx"),
    ".mjs": (".mts", ".mjs"),
    ".cjs": (".cts", ".cjs"),
}


@dataclass(frozen=True)
class AtomSpan:
    atom_id: str
    file: str
    first_line: int
    last_line: int


@dataclass(frozen=True)
class Binding:
    """The names one atom's plan says it binds (`defines`), where it lives."""

    atom_id: str
    file: str
    qualname: str  # "<module>" for top-level code, "C.m" for a method of C
    defines: tuple[str, ...]
    kind: str = ""  # the atom's kind: "statement", "method", ...


@dataclass(frozen=True)
class Suspect:
    atom_id: str
    score: float
    source: str  # "traceback", "coverage", "missing name" or "signature"
    evidence: str


class SpanIndex:
    """Line → atom, per file, for one assembled project."""

    def __init__(self, spans: Sequence[AtomSpan]) -> None:
        self._by_file: dict[str, list[AtomSpan]] = {}
        for span in spans:
            self._by_file.setdefault(span.file, []).append(span)

    def files(self) -> list[str]:
        return list(self._by_file)

    def atom_at(self, file: str, line: int) -> str | None:
        path = self._match_file(file)
        if path is None:
            return None
        for span in self._by_file[path]:
            if span.first_line <= line <= span.last_line:
                return span.atom_id
        return None

    def project_file(self, file: str) -> str | None:
        """The project file a frame's path names, if it is one."""
        return self._match_file(file)

    def _match_file(self, file: str) -> str | None:
        normalised = file.replace("\\", "/")
        for known in self._by_file:
            if normalised == known or normalised.endswith("/" + known):
                return known
        if _BUILD_DIR in normalised:
            # A compiled file node loaded: the project file it was emitted from.
            emitted = normalised.split(_BUILD_DIR, 1)[1]
            stem, dot, extension = emitted.rpartition(".")
            for source in _SOURCES_OF.get(dot + extension, ()) if dot else ():
                if (found := self._match_file("/" + stem + source)) is not None:
                    return found
        return None


def frames(text: str) -> list[tuple[str, int]]:
    """Every (file, line) frame in a failure text, outermost first."""
    found = [(m.group(1), int(m.group(2)), m.start()) for m in _PYTEST_FRAME.finditer(text)]
    found += [(m.group(1), int(m.group(2)), m.start()) for m in _PYTHON_FRAME.finditer(text)]
    found.sort(key=lambda item: item[2])
    # Node prints the innermost frame first: reversed, they read like the others.
    node = [(m.group(1), int(m.group(2))) for m in _NODE_FRAME.finditer(text)]
    # A module that failed to load: its importer's imports, innermost of all.
    importers = [(m.group(1) or m.group(2), 1) for m in _NODE_IMPORTER.finditer(text)]
    return [(file, line) for file, line, _ in found] + node[::-1] + importers[::-1]


def blame_traceback(text: str, index: SpanIndex) -> list[Suspect]:
    """Atoms named by the traceback, innermost frame first, each once."""
    suspects: list[Suspect] = []
    seen: set[str] = set()
    project_frames = [
        (file, line, atom)
        for file, line in frames(text)
        if (atom := index.atom_at(file, line)) is not None
    ]
    for depth, (file, line, atom) in enumerate(reversed(project_frames)):
        if atom in seen:
            continue
        seen.add(atom)
        suspects.append(
            Suspect(
                atom_id=atom,
                score=round(1.0 / (1 + depth), 4),
                source="traceback",
                evidence=f"{file}:{line} appears in the traceback",
            )
        )
    return suspects


def missing_names(text: str) -> list[tuple[str, str, str]]:
    """(owner kind, owner, name) for every missing name a failure text reports, once
    each, in order: owner kind "class", "module", "scope" or "value" (a name bound
    to what its reader cannot use; see `_MISSING`)."""
    found: list[tuple[int, tuple[str, str, str]]] = []
    for kind, pattern in _MISSING:
        for match in pattern.finditer(text):
            if kind == "import":
                item = ("module", match.group(2), match.group(1))
            elif kind in ("scope", "value"):
                item = (kind, "", match.group(1))
            else:
                item = (kind, match.group(1), match.group(2))
            found.append((match.start(), item))
    found.sort(key=lambda pair: pair[0])
    return list(dict.fromkeys(item for _, item in found))


_NO_MODULE = re.compile(r"ModuleNotFoundError: No module named '([\w.]+)'")


def absent_dependency(text: str, project_files: Sequence[str], declared: set[str]) -> str | None:
    """The third-party module a failure says is not installed, when the plan itself
    imports it: no regeneration of project code can install a dependency, so such
    a failure blames no atom (it stays failing, for a person to see). A module of
    the project, or one the plan never declared (a misspelt import), is code's."""
    found = _NO_MODULE.search(text)
    if found is None:
        return None
    top = found.group(1).split(".")[0]
    modules = {_module_of(f).split(".")[0] for f in project_files}
    modules |= {_module_of(f.removeprefix("src/")).split(".")[0] for f in project_files}
    if top in modules or top not in declared:
        return None
    return top


def _module_of(file: str) -> str:
    dotted = file.replace("\\", "/").removesuffix(".py").removesuffix("/__init__")
    return dotted.replace("/", ".")


def _in_class(binding: Binding, owner: str) -> bool:
    """Whether the atom is code of class `owner` (its body or one of its methods);
    `owner` may be dotted or a bare class name, as error messages print it."""
    parts = binding.qualname.split(".")
    tail = owner.split(".")
    return any(parts[i : i + len(tail)] == tail for i in range(len(parts) - len(tail) + 1))


def _binds_at_top(binding: Binding, name: str) -> bool:
    """Whether the atom binds `name` at a module's top level: a statement or header
    of the module, or the definition (`def`, `class`) of that name itself."""
    return name in binding.defines and binding.qualname.split(".")[0] in ("<module>", name)


def blame_missing(
    text: str, bindings: Sequence[Binding], index: SpanIndex | None = None
) -> list[Suspect]:
    """Atoms whose plan binds a name the failure says is missing, in the owner the
    message names: the class (its body and methods), the module (its top-level
    code), or for a bare `NameError` the top-level code of the files in the
    traceback (any file when none is). Only the plan is read, never a reference."""
    suspects: list[Suspect] = []
    seen: set[str] = set()
    frame_files: set[str] = set()
    if index is not None:
        for file, _line in frames(text):
            matched = index.project_file(file)
            if matched is not None:
                frame_files.add(matched)
    for kind, owner, name in missing_names(text):
        if kind == "class":
            matches = [b for b in bindings if name in b.defines and _in_class(b, owner)]
        elif kind == "module":
            matches = [
                b
                for b in bindings
                if name in b.defines
                and b.qualname.split(".")[0] in ("<module>", name)
                and (_module_of(b.file) == owner or _module_of(b.file).endswith("." + owner))
            ]
        else:
            top = [b for b in bindings if _binds_at_top(b, name)]
            matches = [b for b in top if b.file in frame_files] or top
        for binding in matches:
            if binding.atom_id in seen:
                continue
            seen.add(binding.atom_id)
            where = f"{owner}.{name}" if owner else name
            wrong = kind == "value"
            suspects.append(
                Suspect(
                    atom_id=binding.atom_id,
                    score=1.0,
                    source=WRONG_VALUE if wrong else "missing name",
                    evidence=f"the failure says {where} "
                    + ("holds the wrong value" if wrong else "is missing")
                    + "; this atom's plan binds it",
                )
            )
    return suspects


# "f() got an unexpected keyword argument 'x'", "Cls.__init__() missing 1 required
# positional argument: 'y'", "g() takes 2 positional arguments but 3 were given",
# "h() got multiple values for argument 'z'": the callee's qualified name.
_SIGNATURE = re.compile(
    r"TypeError: ([\w.<>]+)\(\) (?:got an unexpected keyword argument|missing \d+ required"
    r"|takes (?:no|\d+|from \d+ to \d+) (?:positional |keyword-only )?arguments?"
    r"|got multiple values for argument|got some positional-only arguments)"
)
_CONSTRUCTORS = ("__new__", "__init__")


def mismatched_callees(text: str) -> list[str]:
    """The qualified names of the callables a failure says were called with
    arguments their signatures do not take, once each, in order (`<locals>` parts
    dropped: a nested function is named by its own name)."""
    found = (m.group(1) for m in _SIGNATURE.finditer(text))
    names = (".".join(p for p in name.split(".") if p != "<locals>") for name in found)
    return list(dict.fromkeys(names))


def blame_signature(text: str, bindings: Sequence[Binding]) -> list[Suspect]:
    """Atoms whose plan binds a callable that a failure says was called against its
    signature: the method in its class (a constructor: the class's `__init__` or
    `__new__`, else whatever binds the class name, a `class` header or a module
    statement such as a `namedtuple`), or a top-level function of any module."""
    suspects: list[Suspect] = []
    seen: set[str] = set()
    for callee in mismatched_callees(text):
        parts = callee.split(".")
        name, owner = parts[-1], ".".join(parts[:-1])
        if owner and name in _CONSTRUCTORS:
            matches = [b for b in bindings if name in b.defines and _in_class(b, owner)]
            name, owner = parts[-2], ".".join(parts[:-2])
            if not matches:
                matches = [b for b in bindings if _binds_at_top(b, name)]
        elif owner:
            matches = [b for b in bindings if name in b.defines and _in_class(b, owner)]
        else:
            matches = [b for b in bindings if _binds_at_top(b, name)]
        # An import binds the name too, but defines no signature.
        defining = [b for b in matches if b.kind != "module_header"]
        for binding in defining:
            if binding.atom_id in seen:
                continue
            seen.add(binding.atom_id)
            suspects.append(
                Suspect(
                    atom_id=binding.atom_id,
                    score=1.0,
                    source="signature",
                    evidence=f"the failure says a call does not fit {callee}(); "
                    "this atom's plan binds it",
                )
            )
    return suspects


def atoms_run(files: Mapping[str, Sequence[int]], index: SpanIndex) -> set[str]:
    """The atoms one test's line coverage (file → lines) went through."""
    return {
        atom
        for file, lines in files.items()
        for line in lines
        if (atom := index.atom_at(file, line)) is not None
    }


def blame_coverage(
    coverage: Mapping[str, Mapping[str, Sequence[int]]],
    verdicts: Mapping[str, bool],
    index: SpanIndex,
) -> list[Suspect]:
    """Ochiai ranking of atoms over per-test line coverage."""
    failed_by: dict[str, int] = {}
    passed_by: dict[str, int] = {}
    total_failed = sum(1 for ok in verdicts.values() if not ok)
    if total_failed == 0:
        return []
    for test, files in coverage.items():
        if test not in verdicts:
            continue
        counter = passed_by if verdicts[test] else failed_by
        for atom in atoms_run(files, index):
            counter[atom] = counter.get(atom, 0) + 1
    suspects = []
    for atom, failed in failed_by.items():
        passed = passed_by.get(atom, 0)
        score = failed / math.sqrt(total_failed * (failed + passed))
        suspects.append(
            Suspect(
                atom_id=atom,
                score=round(score, 4),
                source="coverage",
                evidence=f"run by {failed} failing and {passed} passing tests",
            )
        )
    suspects.sort(key=lambda s: (-s.score, s.atom_id))
    return suspects


def ochiai_scores(
    coverage: Mapping[str, Mapping[str, Sequence[int]]],
    verdicts: Mapping[str, bool],
    index: SpanIndex,
) -> tuple[dict[str, float], dict[str, set[str]]]:
    """Ochiai score per atom, and the atoms each test ran."""
    ran = {test: atoms_run(files, index) for test, files in coverage.items()}
    scores = {s.atom_id: s.score for s in blame_coverage(coverage, verdicts, index)}
    return scores, ran


_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def import_time_scores(
    coverage: Mapping[str, Mapping[str, Sequence[int]]],
    verdicts: Mapping[str, bool],
    sources: Mapping[str, str],
    bindings: Sequence[Binding],
    index: SpanIndex,
) -> tuple[dict[str, float], dict[str, set[str]]]:
    """Ochiai for code that runs at import (module headers, class headers, class-
    and module-level statements), which no test's line coverage can see.

    Such an atom's names are read later, by lines the tests do run: a wrong
    constant (`OP_GTE = '>'`) is used by `Range.OP_GTE` in the line that parses a
    `>=`. So a test counts as running the atom's name when it ran a project line
    that mentions the name, each name is scored by Ochiai over the tests, and the
    atom takes its best name's score: one constant read only on failing paths
    makes its atom a suspect, whatever else it binds. Returns the scores and, per
    test, the import-time atoms whose names it read. Words are matched in the
    line's text, comments and strings included: a spurious reader only spreads a
    name over more tests, which lowers its score."""
    wanted: dict[str, set[str]] = {}
    for binding in bindings:
        for name in binding.defines:
            wanted.setdefault(name, set()).add(binding.atom_id)
    lines_of = {file: text.splitlines() for file, text in sources.items()}
    reads: dict[str, set[str]] = {}
    for test, files in coverage.items():
        if test not in verdicts:
            continue
        names: set[str] = set()
        for file, numbers in files.items():
            project = index.project_file(file)
            text = lines_of.get(project) if project is not None else None
            if text is None:
                continue
            for number in numbers:
                if 0 < number <= len(text):
                    names.update(w for w in _WORD.findall(text[number - 1]) if w in wanted)
        reads[test] = names
    total_failed = sum(1 for ok in verdicts.values() if not ok)
    if total_failed == 0:
        return {}, {}
    failed_by: dict[str, int] = {}
    passed_by: dict[str, int] = {}
    for test, names in reads.items():
        counter = passed_by if verdicts[test] else failed_by
        for name in names:
            counter[name] = counter.get(name, 0) + 1
    name_score = {
        name: failed / math.sqrt(total_failed * (failed + passed_by.get(name, 0)))
        for name, failed in failed_by.items()
    }
    scores: dict[str, float] = {}
    for name, score in name_score.items():
        for atom in wanted[name]:
            scores[atom] = max(scores.get(atom, 0.0), round(score, 4))
    ran = {test: {atom for name in names for atom in wanted[name]} for test, names in reads.items()}
    return scores, ran


def top_suspects(suspects: Sequence[Suspect], limit: int) -> list[Suspect]:
    """The suspects sharing the best score, at most `limit`: regenerating an innocent
    atom costs an attempt and risks a new error, so only the likeliest are retried."""
    ordered = sorted(suspects, key=lambda s: (-s.score, s.atom_id))
    if not ordered:
        return []
    best = ordered[0].score
    return [s for s in ordered if s.score >= best][:limit]
