"""A TypeScript project end to end through the real CLI: `plan from-code`, then a
replay run at fault rates 0 and 0.1 (examples/ts-ledger)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tests.execute.conftest import mge_cli

EXAMPLE = Path(__file__).parents[2] / "examples" / "ts-ledger" / "reference"


def _planned(tmp_path: Path) -> Path:
    project = tmp_path / "project"
    shutil.copytree(EXAMPLE, project)
    plan = tmp_path / "plan" / "plan.yaml"
    done = mge_cli("plan", "from-code", str(project), "-o", str(plan), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    return plan


def _run(tmp_path: Path, plan: Path, rate: str, name: str) -> dict[str, object]:
    done = mge_cli(
        "run", str(plan), "--fault-rate", rate, "--seed", "1", "--no-mutation", "--json",
        "--quiet", "--db", f"sqlite:///{tmp_path / 'mge.db'}", "--out", str(tmp_path / name),
        cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode in (0, 1), done.stderr
    report: dict[str, object] = json.loads(done.stdout)
    return report


def test_replay_at_fault_rates_0_and_0_1(tmp_path: Path) -> None:
    plan = _planned(tmp_path)
    clean = _run(tmp_path, plan, "0", "out0")
    assert clean["status"] == "completed"
    assert clean["tests"] == {"total": 6, "passed": 6, "failed": 0}
    assert clean["precision_percent"] == 100.0
    assert clean["reference_match_percent"] == 100.0
    out = tmp_path / "out0"
    for source in (EXAMPLE / "src").rglob("*.ts"):
        relative = source.relative_to(EXAMPLE)
        assert (out / relative).read_bytes() == source.read_bytes(), relative

    faulty = _run(tmp_path, plan, "0.1", "out1")
    assert faulty["status"] == "completed"
    assert faulty["attempts"] > clean["attempts"]  # type: ignore[operator]
    assert faulty["first_try_success_rate"] < 1.0  # type: ignore[operator]
