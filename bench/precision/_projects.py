"""The projects the precision table regenerates: the bundled example and real ones.

The real projects are pure-Python packages with their own test suites, fetched as
source distributions from PyPI (pinned in `bench.corpus._projects`, cached),
laid out as `<stage>/<package>/` and `<stage>/tests/`, and turned into plans by
the real CLI: `mge plan from-code <stage>/<package> --tests <stage>/tests`.
Their original tests are run once against the reference code first; a project
whose own suite does not pass there is reported, not benchmarked.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from bench.corpus._projects import Sdist, by_name
from bench.corpus._projects import stage as corpus_stage

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_PLAN = ROOT / "examples" / "inventory" / "plan.yaml"


# Two projects of the corpus (`bench.corpus._projects`, where each sdist is pinned
# by sha256): small, pure Python, no runtime dependencies, own suites pass.
SDISTS = (by_name("inflection"), by_name("cachetools"))


@dataclass(frozen=True)
class Project:
    label: str
    plan: Path


def _mge() -> str:
    found = Path(sys.executable).with_name("mge")
    return str(found) if found.exists() else "mge"


def stage(sdist: Sdist, scratch: Path) -> Path:
    """The corpus's layout of the project, then the plan from `mge plan from-code`."""
    source, tests = corpus_stage(sdist, scratch)
    plan = source.parent / "plan.yaml"
    command = [_mge(), "plan", "from-code", *sdist.from_code_args(source, tests)]
    subprocess.run(
        [*command, "-o", str(plan)],
        check=True,
        timeout=300,
        capture_output=True,
    )
    return plan


def reference_suite_passes(plan: Path) -> tuple[bool, str]:
    """The project's own tests on its reference code: the ceiling of the table."""
    root = plan.parent
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=600,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(root)},
    )
    last = (done.stdout.strip().splitlines() or [""])[-1]
    return done.returncode == 0, last


def projects(scratch: Path, *, names: list[str] | None = None) -> list[Project]:
    found = []
    if names is None or "inventory" in names:
        found.append(Project("inventory (bundled example)", EXAMPLE_PLAN))
    for sdist in SDISTS:
        if names is not None and sdist.name not in names:
            continue
        plan = stage(sdist, scratch)
        passes, summary = reference_suite_passes(plan)
        label = f"{sdist.label} (PyPI)"
        print(f"  {label}: own tests on the reference: {summary}", flush=True)
        if passes:
            found.append(Project(label, plan))
    return found
