"""The larger TypeScript example end to end through the real CLI (examples/ts-calc:
15 modules, 1,010 lines, 18 `node:test` tests): at fault rate 0 the output is the
reference and every test passes; at 0.1 the run completes and the counts it reports
are those of an independent `node --test` run of what it wrote."""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest
from tests.execute.conftest import mge_cli

from mge.validate.typescript import SERVICE_DIR, node_binary

EXAMPLE = Path(__file__).parents[2] / "examples" / "ts-calc"

pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")


def _run(tmp_path: Path, rate: str, name: str) -> dict[str, object]:
    done = mge_cli(
        "run", str(EXAMPLE / "plan.yaml"), "--fault-rate", rate, "--seed", "1", "--no-mutation",
        "--json", "--quiet", "--db", f"sqlite:///{tmp_path / 'mge.db'}",
        "--out", str(tmp_path / name), cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode in (0, 1), done.stderr
    report: dict[str, object] = json.loads(done.stdout)
    return report


def _node_test(project: Path) -> dict[str, int]:
    """Compile the written project with the pinned tsc (type errors do not stop it)
    and run its tests with node's runner: node's own summary, not MGE's parser. The
    build stays under the project, whose package.json makes its `.js` modules ESM."""
    build = project / "independent-build"
    tsc = SERVICE_DIR / "node_modules" / "typescript" / "bin" / "tsc"
    types = SERVICE_DIR / "node_modules" / "@types"
    subprocess.run(
        [node_binary(), str(tsc), "-p", "tsconfig.json", "--outDir", str(build),
         "--typeRoots", str(types)],
        cwd=project, capture_output=True, timeout=300, check=False,
    )  # fmt: skip
    tests = sorted(str(p) for p in (build / "test").glob("*.test.js"))
    done = subprocess.run(
        [node_binary(), "--test", "--test-reporter=tap", *tests],
        cwd=build, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    summary = dict(re.findall(r"^# (tests|pass|fail) (\d+)$", done.stdout, re.MULTILINE))
    return {key: int(value) for key, value in summary.items()}


def test_replay_at_fault_rate_0_is_the_reference(tmp_path: Path) -> None:
    report = _run(tmp_path, "0", "out")
    assert report["status"] == "completed"
    assert report["tests"] == {"total": 18, "passed": 18, "failed": 0}
    assert report["atoms"]["failed"] == 0  # type: ignore[index]
    assert report["reference_match_percent"] == 100.0
    assert report["first_try_success_rate"] == 1.0
    for source in (EXAMPLE / "reference" / "src").rglob("*.ts"):
        relative = source.relative_to(EXAMPLE / "reference")
        assert (tmp_path / "out" / relative).read_bytes() == source.read_bytes(), relative
    # The acceptance run's per-test coverage, mapped back through the source maps,
    # reaches the review score: a share on nearly every function, and below 1 where
    # a branch is untested (`readString`'s unknown escape, say).
    with sqlite3.connect(tmp_path / "mge.db") as db:
        rows = db.execute(
            "select name, json_extract(extra, '$.test_coverage') from atomic_units"
            " where kind in ('function', 'method')"
        ).fetchall()
    measured = [share for _, share in rows if share is not None]
    assert len(measured) >= 0.9 * len(rows)
    assert sum(measured) / len(measured) > 0.9
    assert 0 < dict(rows)["readString"] < 1


@pytest.mark.slow
def test_replay_at_fault_rate_0_1_reports_what_node_counts(tmp_path: Path) -> None:
    report = _run(tmp_path, "0.1", "out")
    assert report["status"] == "completed"
    assert report["attempts"] > report["atoms"]["total"]  # type: ignore[index]
    counted = _node_test(tmp_path / "out")
    tests = report["tests"]
    assert counted == {
        "tests": tests["total"],  # type: ignore[index]
        "pass": tests["passed"],  # type: ignore[index]
        "fail": tests["failed"],  # type: ignore[index]
    }
    written = "".join(p.read_text() for p in (tmp_path / "out" / "src").rglob("*.ts"))
    assert "NotImplementedError" not in written  # a failed atom's stub is TypeScript
