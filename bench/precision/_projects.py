"""The projects the precision table regenerates: the bundled example and the corpora.

The real projects are every entry of the corpora (`bench.corpus._projects`: pure
Python packages from PyPI, each sdist pinned by sha256; `bench.corpus._npm`:
JavaScript packages from npm, each tarball pinned by integrity), staged as the
fault-0 bench stages them and turned into plans by the real CLI (`mge plan
from-code`). The project's own suite is run once on its reference first, with
plain pytest or plain `node --test` as its developers would; a project whose suite
does not pass there, or that `plan from-code` refuses, is reported with the reason
and left out of the pooled figures, since no regenerated code can be judged
against a failing ceiling. Each corpus is pooled on its own (`corpus_of`).
"""

from __future__ import annotations

import random
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from bench.corpus._invariant import _why_not as why_not
from bench.corpus._invariant import staged, suite_counts
from bench.corpus._npm import NPM_CORPUS, NpmPackage
from bench.corpus._projects import CORPUS, Sdist

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_PLAN = ROOT / "examples" / "inventory" / "plan.yaml"
EXAMPLE = "inventory"
# The corpus is split once into two halves for review calibration: confidence
# signals and weights may be chosen looking at the development half only.
SPLIT_SEED = 20261204
HALVES = ("development", "held-out")


def members_of(half: str) -> list[str]:
    """The projects of one half: the corpus shuffled once with `SPLIT_SEED`, the first
    half (rounded down) for development; the bundled example is development."""
    names = sorted(sdist.name for sdist in CORPUS)
    random.Random(SPLIT_SEED).shuffle(names)
    development = [EXAMPLE, *names[: len(names) // 2]]
    if half == HALVES[0]:
        return development
    return [name for name in names if name not in development]


def corpus_of(project: str) -> str:
    """The corpus a project's rows are pooled with: figures of JavaScript packages
    and of Python projects are not one population."""
    return "npm" if any(p.name == project for p in NPM_CORPUS) else "PyPI"


def half_of(project: str) -> str:
    return HALVES[0] if project in members_of(HALVES[0]) else HALVES[1]


@dataclass(frozen=True)
class Project:
    name: str
    label: str
    plan: Path
    reference_tests: int  # the own suite's tests that pass on the reference (0: not run)


@dataclass(frozen=True)
class LeftOut:
    name: str
    label: str
    reason: str


def _mge() -> str:
    found = Path(sys.executable).with_name("mge")
    return str(found) if found.exists() else "mge"


def _prepare(sdist: Sdist | NpmPackage, scratch: Path) -> Project | LeftOut:
    """Stage the project, check its suite on the reference, then plan it with the CLI."""
    root, from_code_args = staged(sdist, scratch)
    counts, output = suite_counts(sdist, root)
    if counts.failed or not counts.total:
        summary = output.splitlines()[-1] if output else "no output"
        return LeftOut(sdist.name, sdist.label, why_not(output, summary))
    plan = root / "plan.yaml"
    command = [_mge(), "plan", "from-code", *from_code_args, "-o", str(plan)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        last = (done.stderr.strip() or done.stdout.strip()).splitlines()[-1:]
        reason = f"plan from-code refused: {last[0] if last else done.returncode}"
        return LeftOut(sdist.name, sdist.label, reason)
    return Project(sdist.name, sdist.label, plan, counts.passed)


def projects(
    scratch: Path, *, names: list[str] | None = None
) -> tuple[list[Project], list[LeftOut]]:
    """The measurable projects in corpus order (the example first), and the rest with
    why each cannot be measured."""
    found: list[Project] = []
    left_out: list[LeftOut] = []
    if names is None or EXAMPLE in names:
        found.append(Project(EXAMPLE, "inventory (bundled example)", EXAMPLE_PLAN, 0))
    for sdist in (*CORPUS, *NPM_CORPUS):
        if names is not None and sdist.name not in names:
            continue
        prepared = _prepare(sdist, scratch / sdist.name.lstrip("@").replace("/", "-"))
        if isinstance(prepared, Project):
            print(f"  {sdist.label}: {prepared.reference_tests} tests pass on the reference")
            found.append(prepared)
        else:
            print(f"  {sdist.label}: left out, {prepared.reason}", flush=True)
            left_out.append(prepared)
    return found, left_out
