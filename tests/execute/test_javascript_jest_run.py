"""The jest example end to end through the real CLI (examples/js-jest: 2 CommonJS
modules, 8 jest tests): at fault rate 0 the output is the reference, and every
level's tests (module, component, acceptance) run with the project's jest."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest
from tests.execute.conftest import mge_cli

from mge.errors import ConfigError
from mge.execute import executor

EXAMPLE = Path(__file__).parents[2] / "examples" / "js-jest"

pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")


def test_replay_at_fault_rate_0_is_the_reference(tmp_path: Path) -> None:
    done = mge_cli(
        "run", str(EXAMPLE / "plan.yaml"), "--fault-rate", "0", "--seed", "1", "--no-mutation",
        "--json", "--quiet", "--db", f"sqlite:///{tmp_path / 'mge.db'}",
        "--out", str(tmp_path / "out"), cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["status"] == "completed"
    assert report["tests"] == {"total": 8, "passed": 8, "failed": 0}
    assert report["atoms"]["failed"] == 0
    assert report["reference_match_percent"] == 100.0
    for source in (EXAMPLE / "reference" / "src").rglob("*.js"):
        relative = source.relative_to(EXAMPLE / "reference")
        assert (tmp_path / "out" / relative).read_bytes() == source.read_bytes(), relative
    with sqlite3.connect(tmp_path / "mge.db") as db:
        runs = db.execute(
            "select level, scope, output from validation_results where check_name = 'tests'"
        ).fetchall()
    assert sorted(runs) == [
        ("component", "src", "4/4 passed"),
        ("module", "src.prices", "4/4 passed"),
        ("module", "src.units", "4/4 passed"),
        ("system", "acceptance", "8/8 passed"),
    ]


def test_jest_is_picked_from_the_plan(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    for name in ("run_jest_tests", "run_vitest_tests", "run_node_tests"):
        runner = name.split("_")[1]
        monkeypatch.setattr(executor, name, lambda *a, r=runner, **k: calls.append(r))
    local = executor.LocalExecutor()
    modules = EXAMPLE / "reference" / "node_modules"
    for runner in ("node", "vitest", "jest"):
        executor.run_project_tests(
            "javascript", local, EXAMPLE, [], timeout=5, runner=runner, node_modules=modules
        )
    assert calls == ["node", "vitest", "jest"]
    # Jest is the project's own: without the reference there is none to run.
    with pytest.raises(ConfigError, match="a jest plan needs a reference"):
        executor.run_project_tests("javascript", local, EXAMPLE, [], timeout=5, runner="jest")
