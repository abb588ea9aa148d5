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

Both are computed from text and line numbers only: blame never looks at a
reference or knows which answers were faulted.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

# "inventory/orders.py:45: in quote" (pytest --tb=long) and
# 'File "/abs/inventory/orders.py", line 45, in quote' (plain tracebacks)
_PYTEST_FRAME = re.compile(r"^([^\s:]+\.py):(\d+):", re.MULTILINE)
_PYTHON_FRAME = re.compile(r'File "([^"]+\.py)", line (\d+)')
# "at Ledger.balance (/abs/src/ledger.ts:41:32)" and "Ledger.balance (file:///abs/x.js:3:1)"
# (node's stack lines, source-mapped to TypeScript): innermost frame first.
_NODE_FRAME = re.compile(r"(?:file://)?(/[^\s():]+\.[cm]?[jt]sx?):(\d+):\d+\)?\s*$", re.MULTILINE)


@dataclass(frozen=True)
class AtomSpan:
    atom_id: str
    file: str
    first_line: int
    last_line: int


@dataclass(frozen=True)
class Suspect:
    atom_id: str
    score: float
    source: str  # "traceback" or "coverage"
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

    def _match_file(self, file: str) -> str | None:
        normalised = file.replace("\\", "/")
        for known in self._by_file:
            if normalised == known or normalised.endswith("/" + known):
                return known
        return None


def frames(text: str) -> list[tuple[str, int]]:
    """Every (file, line) frame in a failure text, outermost first."""
    found = [(m.group(1), int(m.group(2)), m.start()) for m in _PYTEST_FRAME.finditer(text)]
    found += [(m.group(1), int(m.group(2)), m.start()) for m in _PYTHON_FRAME.finditer(text)]
    found.sort(key=lambda item: item[2])
    # Node prints the innermost frame first: reversed, they read like the others.
    node = [(m.group(1), int(m.group(2))) for m in _NODE_FRAME.finditer(text)]
    return [(file, line) for file, line, _ in found] + node[::-1]


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
        atoms = {
            atom
            for file, lines in files.items()
            for line in lines
            if (atom := index.atom_at(file, line)) is not None
        }
        counter = passed_by if verdicts[test] else failed_by
        for atom in atoms:
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
    ran: dict[str, set[str]] = {}
    for test, files in coverage.items():
        ran[test] = {
            atom
            for file, lines in files.items()
            for line in lines
            if (atom := index.atom_at(file, line)) is not None
        }
    scores = {s.atom_id: s.score for s in blame_coverage(coverage, verdicts, index)}
    return scores, ran


def top_suspects(suspects: Sequence[Suspect], limit: int) -> list[Suspect]:
    """The suspects sharing the best score, at most `limit`: regenerating an innocent
    atom costs an attempt and risks a new error, so only the likeliest are retried."""
    ordered = sorted(suspects, key=lambda s: (-s.score, s.atom_id))
    if not ordered:
        return []
    best = ordered[0].score
    return [s for s in ordered if s.score >= best][:limit]
