"""The fault-0 invariant on the corpora of real projects: PyPI (`_projects.CORPUS`)
and npm (`_npm.NPM_CORPUS`).

At fault rate 0 the replay model answers with the reference, so anything short of
a byte-identical project with the same test verdict is the engine's doing: a
layout `plan from-code` refuses, an atom L1 rejects, a file written differently,
a suite the engine runs differently from pytest. Each project is measured by
`_invariant.measure`; a project whose own suite does not pass on its reference
(or needs a package MGE does not install) is reported and left out of the pooled
figures. `python -m bench.corpus [--projects a,b] [--write-docs]`; `fetch
[--subset]` only downloads (what `make system-deps` runs for the test subset).

The module imports MGE lazily so that `fetch` works before MGE is installed.
"""

from __future__ import annotations

import argparse
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

from bench._docs import write_section

if TYPE_CHECKING:
    from bench.corpus._invariant import Outcome

DOCS = Path(__file__).resolve().parents[2] / "docs" / "BENCHMARKS.md"
SECTION = "## Fault-0 invariant on the corpus"
COMMAND = ".venv/bin/python -m bench.corpus --write-docs"


def table(outcomes: list[Outcome]) -> str:
    from bench.corpus import _npm, _projects

    def features_of(label: str) -> str:
        name = label.split(" ")[0]
        try:
            return _projects.by_name(name).features
        except KeyError:
            return _npm.by_name(name).features

    lines = [
        "| project | features | reference tests | plans | atoms | rejected / blocked "
        "| byte-equal | engine tests | independent tests | invariant | reason |",
        "|---|---|---:|---|---:|---:|---|---:|---:|---|---|",
    ]
    for o in outcomes:
        features = features_of(o.project)
        if o.left_out and not o.planned:
            measured = ["n/a"] * 5
        else:
            measured = [
                str(o.atoms),
                f"{len(o.rejected)} / {o.blocked}",
                "yes" if o.byte_equal else "no",
                str(o.engine_tests),
                str(o.independent_tests),
            ]
        verdict = "holds" if o.holds else ("left out" if o.left_out else "broken")
        reason = o.broken.replace("|", "\\|").replace("\n", " ")
        lines.append(
            f"| {o.project} | {features} | {o.reference_tests} "
            f"| {'yes' if o.planned else 'no'} | "
            + " | ".join(measured)
            + f" | {verdict} | {reason} |"
        )
    return "\n".join(lines)


def pooled(outcomes: list[Outcome]) -> str:
    measured = [o for o in outcomes if not o.left_out or o.planned]
    holding = [o for o in measured if o.holds]
    atoms = sum(o.atoms for o in measured)
    rejected = sum(len(o.rejected) for o in measured)
    return (
        f"{len(holding)}/{len(measured)} measured projects hold the invariant "
        f"({len(outcomes) - len(measured)} left out); {atoms} atoms, {rejected} rejected, "
        f"{sum(o.blocked for o in measured)} blocked."
    )


def write_docs(body: str) -> None:
    write_section(SECTION, body, DOCS)


METHOD = """\
Every project of the corpus (`bench/corpus/_projects.py`: real pure-Python
projects from PyPI, each sdist pinned by version and sha256, fetched into
`.test-corpora/pypi/`) is staged as `<package>` + `tests/` + its own pytest
configuration files + the other files its suite reads (a README it runs, the
package's `.egg-info` metadata), its own suite is run on that reference with plain
pytest, and then it is planned with the real CLI (`mge plan from-code`, those
files named with `--support`) and regenerated
by the engine with the replay model at fault rate 0 (seed 0, `levels="atomic"`,
no mutation testing). The invariant: the project plans, no atom is rejected by
L1 or blocked, every planned file equals the reference byte for byte, and the
run report's `tests` (passed/total; skipped not counted) equal an independent
`python -m pytest` of the suite on the output (counted per test from its `-rA`
outcomes: a test fails if its setup, call, teardown or a subtest failed; plugin
autoloading off as in the engine), which in turn equals the suite's
verdict on the reference (a test helper the output lacks shows up there). A
project whose suite fails on its reference, or needs a package MGE does not
install, is *left out* of the pooled figure with its reason; a project that
breaks the invariant is *broken*, with the first rejected atom and the check
that rejected it, the crash, or the refusal. `make test` checks the projects
marked `subset=True` that hold it today (`tests/corpus/test_fault_zero.py`).

The npm packages (`bench/corpus/_npm.py`: registry tarballs pinned by version and
integrity, fetched into `.test-corpora/npm/`, each with its own `node:test` suite
and no dependency beyond node's built-ins) are staged as `package.json` + their
code + their tests, and measured the same way; the independent run is plain `node
--test` in the project's folder, counted per leaf test from node's JUnit report,
where the engine reads node's TAP report in the sandbox."""


def _document(outcomes: list[Outcome], planned: int) -> None:
    machine = f"{platform.python_implementation()} {platform.python_version()}, "
    machine += f"{platform.machine()}, 2 cores"
    done = "" if len(outcomes) == planned else f" Partial: {len(outcomes)} of {planned}."
    body = [SECTION, "", METHOD, "", "```", COMMAND, "```", "", f"Machine: {machine}.{done}"]
    write_docs("\n".join([*body, "", table(outcomes), "", pooled(outcomes), ""]))


def fetch(*, subset: bool) -> int:
    """Download what is not cached yet: both corpora, or only the fast subsets
    `make test` checks. Exit status 1 when any download failed."""
    from bench.corpus import _npm, _projects

    chosen: list[_projects.Sdist | _npm.NpmPackage] = (
        [*_projects.SUBSET, *_npm.SUBSET] if subset else [*_projects.CORPUS, *_npm.NPM_CORPUS]
    )
    failed = 0
    for project in chosen:
        try:
            if isinstance(project, _npm.NpmPackage):
                _npm.fetch(project)
            else:
                _projects.fetch(project)
        except (RuntimeError, subprocess.TimeoutExpired) as error:
            print(f"corpus: {error}", file=sys.stderr)
            failed += 1
    print(f"corpus: {len(chosen) - failed}/{len(chosen)} projects in .test-corpora/")
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    from bench.corpus import _npm, _projects

    args_in = list(argv or [])
    if args_in[:1] == ["fetch"]:
        return fetch(subset="--subset" in args_in)
    from bench.corpus._invariant import measure

    parser = argparse.ArgumentParser(prog="python -m bench.corpus")
    parser.add_argument("--projects", default=None, help="comma-separated project names")
    parser.add_argument("--write-docs", action="store_true", help="update docs/BENCHMARKS.md")
    args, _unknown = parser.parse_known_args(args_in)
    names = args.projects.split(",") if args.projects else None
    everything: list[_projects.Sdist | _npm.NpmPackage] = [*_projects.CORPUS, *_npm.NPM_CORPUS]
    chosen = [p for p in everything if names is None or p.name in names]
    began = time.perf_counter()
    outcomes = []
    with tempfile.TemporaryDirectory(prefix="mge-bench-corpus-") as scratch:
        for project in chosen:
            outcome = measure(project, Path(scratch))
            verdict = "holds" if outcome.holds else outcome.broken
            print(f"  {outcome.project}: {verdict} ({outcome.seconds:.0f} s)", flush=True)
            outcomes.append(outcome)
            if args.write_docs:
                # After every project, so a long run interrupted still leaves its figures.
                _document(outcomes, len(chosen))
    print(table(outcomes))
    print(pooled(outcomes))
    print(f"bench/corpus took {time.perf_counter() - began:.0f} s")
    if args.write_docs:
        print(f"wrote {DOCS}")
    # A broken project is a finding for the table, not a failure of the bench.
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
