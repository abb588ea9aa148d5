"""Request → draft → review → approved plan → `mge run` → report, through the real CLI.

The replay model answers the planning calls from the bundled inventory example
(its `from-code` plan is the right answer); the database is real.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from mge.plan import Plan, dump_plan

REFERENCE = Path(__file__).resolve().parents[2] / "examples" / "inventory" / "reference"


def _mge(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mge", *args],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=cwd,
    )


def _new(tmp_path: Path, db: str) -> str:
    result = _mge(
        "plan", "new", "a small stock-keeping library", "--reference", str(REFERENCE),
        "-o", "plan.yaml", "--db", db, "--by", "ann", "--json", cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["complete"] and report["simulated"]
    assert [s["stage"] for s in report["cost"]["stages"]] == ["discovery", "masterplan", "tests"]
    assert all(s["input_tokens"] > 0 and s["cost_usd"] > 0 for s in report["cost"]["stages"])
    return str(report["draft_id"])[:8]


def _show(tmp_path: Path, db: str, draft: str) -> dict[str, Any]:
    result = _mge("plan", "show", draft, "--db", db, "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    return dict(json.loads(result.stdout))


def _write_edit(tmp_path: Path, plan: dict[str, Any]) -> Path:
    path = tmp_path / "edited.yaml"
    path.write_text(dump_plan(Plan.model_validate(plan)), encoding="utf-8")
    return path


def test_edits_are_versions_and_bad_ones_are_refused(db_url: str, tmp_path: Path) -> None:
    draft = _new(tmp_path, db_url)
    shown = _show(tmp_path, db_url, draft)
    assert shown["status"] == "draft"
    assert "inventory.catalog" in {
        t["id"] for p in shown["plan"]["phases"] for m in p["milestones"] for t in m["tasks"]
    }

    plan = shown["plan"]
    plan["phases"][0]["milestones"][0]["tasks"][0]["depends_on"] = ["no.such.task"]
    bad = _mge(
        "plan", "edit", draft, str(_write_edit(tmp_path, plan)), "--db", db_url, cwd=tmp_path
    )
    assert bad.returncode == 2
    assert bad.stderr.strip() == (
        "error: masterplan: phases[0].milestones[0].tasks[0].depends_on:"
        " unknown task 'no.such.task'"
    )

    plan["phases"][0]["milestones"][0]["tasks"][0]["depends_on"] = []
    plan["phases"][0]["milestones"][0]["tasks"][0]["complexity"] = "high"
    good = _mge(
        "plan", "edit", draft, str(_write_edit(tmp_path, plan)), "--db", db_url, "--by", "bob",
        cwd=tmp_path,
    )  # fmt: skip
    assert good.returncode == 0, good.stderr
    versions = _show(tmp_path, db_url, draft)["versions"]
    assert [(v["number"], v["author"], v["note"]) for v in versions] == [
        (1, "ann", "generated"),
        (2, "bob", "edited"),
    ]
    assert "-      complexity: medium\n+      complexity: high\n" in versions[1]["diff"]


def test_approval_is_refused_while_the_tests_do_not_collect(
    sqlite_url: str, tmp_path: Path
) -> None:
    draft = _new(tmp_path, sqlite_url)
    plan = _show(tmp_path, sqlite_url, draft)["plan"]
    # The tests import Catalog; a plan that renamed it cannot be approved.
    for phase in plan["phases"]:
        for milestone in phase["milestones"]:
            for task in milestone["tasks"]:
                task["interface"] = [
                    "class Catalogue" if e == "class Catalog" else e for e in task["interface"]
                ]
    edit = _mge(
        "plan", "edit", draft, str(_write_edit(tmp_path, plan)), "--db", sqlite_url, cwd=tmp_path
    )
    assert edit.returncode == 0, edit.stderr
    refused = _mge("plan", "approve", draft, "--db", sqlite_url, cwd=tmp_path)
    assert refused.returncode == 2
    assert refused.stderr.startswith("error: cannot approve: ")
    assert "does not collect" in refused.stderr and "Catalog" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    assert _show(tmp_path, sqlite_url, draft)["status"] == "draft"

    rejected = _mge(
        "plan", "reject", draft, "--reason", "no catalog", "--db", sqlite_url, cwd=tmp_path
    )
    assert rejected.returncode == 0, rejected.stderr
    again = _mge("plan", "approve", draft, "--db", sqlite_url, cwd=tmp_path)
    assert again.returncode == 7
    assert again.stderr.strip() == f"error: plan draft {draft} was rejected"


@pytest.mark.postgres
def test_request_to_approved_plan_to_run_report(postgres_url: str, tmp_path: Path) -> None:
    db = postgres_url
    draft = _new(tmp_path, db)
    run_args = ["run", "plan.yaml", "--db", db, "--no-mutation", "--json", "--quiet"]

    refused = _mge(*run_args, "--out", "refused", cwd=tmp_path)
    assert refused.returncode == 7
    assert refused.stderr.strip() == (
        f"error: this plan is draft {draft} (version 1), not approved: approve it with"
        f" `mge plan approve {draft}` or pass --yes"
    )
    assert not (tmp_path / "refused").exists()

    approved = _mge("plan", "approve", draft, "--db", db, "--by", "ann", cwd=tmp_path)
    assert approved.returncode == 0, approved.stderr
    assert approved.stdout.startswith(f"approved draft {draft} as version 2; wrote ")

    result = _mge(*run_args, "--out", "out", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["status"] == "completed" and report["simulated"]
    # Precision is measured against the tests written first, read from the draft.
    assert report["tests"]["total"] > 0
    assert report["precision_percent"] == 100.0
    versions = _show(tmp_path, db, draft)["versions"]
    assert [v["note"] for v in versions] == ["generated", "approved"]
    assert report["plan_version_id"] is not None
