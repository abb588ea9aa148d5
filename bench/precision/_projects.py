"""The projects the precision table regenerates: the bundled example and real ones.

The real projects are pure-Python packages with their own test suites, fetched as
source distributions from PyPI when the bench runs (`pip download --no-binary`),
laid out as `<stage>/<package>/` and `<stage>/tests/`, and turned into plans by
the real CLI: `mge plan from-code <stage>/<package> --tests <stage>/tests`.
Their original tests are run once against the reference code first; a project
whose own suite does not pass there is reported, not benchmarked.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_PLAN = ROOT / "examples" / "inventory" / "plan.yaml"


@dataclass(frozen=True)
class Sdist:
    """A PyPI source distribution and where its package and tests sit inside it."""

    name: str
    version: str
    package: str  # path of the package (or module) inside the unpacked sdist
    tests: tuple[str, ...]  # test files or directories inside the unpacked sdist

    @property
    def label(self) -> str:
        return f"{self.name} {self.version} (PyPI)"


# Small pure-Python projects whose sdists ship their test suites, with no runtime
# dependencies, so their tests need nothing but pytest.
SDISTS = (
    Sdist("inflection", "0.5.1", "inflection", ("test_inflection.py",)),
    Sdist("cachetools", "8.0.0", "src/cachetools", ("tests",)),
)


@dataclass(frozen=True)
class Project:
    label: str
    plan: Path


def _mge() -> str:
    found = Path(sys.executable).with_name("mge")
    return str(found) if found.exists() else "mge"


def fetch(sdist: Sdist, scratch: Path) -> Path:
    """Download and unpack the sdist; returns the unpacked directory."""
    downloads = scratch / "downloads"
    downloads.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--quiet",
            "--no-deps",
            "--no-binary",
            ":all:",
            f"{sdist.name}=={sdist.version}",
            "-d",
            str(downloads),
        ],
        check=True,
        timeout=300,
        capture_output=True,
    )
    archive = next(downloads.glob(f"{sdist.name}-{sdist.version}.tar.gz"))
    with tarfile.open(archive) as tar:
        tar.extractall(scratch / "unpacked", filter="data")
    return scratch / "unpacked" / f"{sdist.name}-{sdist.version}"


def stage(sdist: Sdist, unpacked: Path, scratch: Path) -> Path:
    """`<stage>/<package>` + `<stage>/tests/`, then the plan from `mge plan from-code`."""
    root = scratch / "stage" / sdist.name
    if root.exists():
        shutil.rmtree(root)
    package = unpacked / sdist.package
    shutil.copytree(package, root / package.name)
    tests = root / "tests"
    tests.mkdir(parents=True)
    for item in sdist.tests:
        source = unpacked / item
        if source.is_dir():
            shutil.copytree(source, tests, dirs_exist_ok=True)
        else:
            shutil.copy2(source, tests / source.name)
    plan = root / "plan.yaml"
    command = [_mge(), "plan", "from-code", str(root / package.name), "--tests", str(tests)]
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
        plan = stage(sdist, fetch(sdist, scratch), scratch)
        passes, summary = reference_suite_passes(plan)
        print(f"  {sdist.label}: own tests on the reference: {summary}", flush=True)
        if passes:
            found.append(Project(sdist.label, plan))
    return found
