"""`/api/v2/drafts`: the review of a drafted plan over HTTP, same rules as the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from fastapi.testclient import TestClient

from mge.api import ApiSettings

REFERENCE = Path(__file__).resolve().parents[2] / "examples" / "inventory" / "reference"


def _draft(api_settings: ApiSettings, tmp_path: Path) -> str:
    result = subprocess.run(
        [
            sys.executable, "-m", "mge", "plan", "new", "a small stock-keeping library",
            "--reference", str(REFERENCE), "-o", str(tmp_path / "plan.yaml"),
            "--db", api_settings.database_url, "--by", "ann", "--json",
        ],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return str(json.loads(result.stdout)["draft_id"])


def test_show_edit_approve_over_http(
    client: TestClient, api_settings: ApiSettings, tmp_path: Path
) -> None:
    draft_id = _draft(api_settings, tmp_path)
    listed = client.get("/api/v2/drafts").json()
    assert [row["id"] for row in listed] == [draft_id]
    shown = client.get(f"/api/v2/drafts/{draft_id}").json()
    assert shown["status"] == "draft" and shown["versions"][0]["author"] == "ann"

    plan = shown["plan"]
    plan["phases"][0]["milestones"][0]["tasks"][0]["complexity"] = "huge"
    bad = client.post(f"/api/v2/drafts/{draft_id}/edit", json={"author": "bob", "plan": plan})
    assert bad.status_code == 422
    assert bad.json()["detail"]["issues"][0] == {
        "path": "phases[0].milestones[0].tasks[0].complexity",
        "message": "'huge' is not one of 'low', 'medium', 'high' or 'critical'",
    }

    # Renaming a class the tests import: the edit is a valid plan, its tests no longer collect.
    for phase in plan["phases"]:
        for milestone in phase["milestones"]:
            for task in milestone["tasks"]:
                task["complexity"] = "medium"
                task["interface"] = [
                    "class Catalogue" if e == "class Catalog" else e for e in task["interface"]
                ]
    edited = client.post(f"/api/v2/drafts/{draft_id}/edit", json={"author": "bob", "plan": plan})
    assert edited.status_code == 200, edited.text
    assert edited.json()["number"] == 2
    refused = client.post(f"/api/v2/drafts/{draft_id}/approve", json={"author": "ann"})
    assert refused.status_code == 422
    assert refused.json()["detail"].startswith("cannot approve: ")

    for phase in plan["phases"]:
        for milestone in phase["milestones"]:
            for task in milestone["tasks"]:
                task["interface"] = [
                    "class Catalog" if e == "class Catalogue" else e for e in task["interface"]
                ]
    client.post(f"/api/v2/drafts/{draft_id}/edit", json={"author": "bob", "plan": plan})
    approved = client.post(f"/api/v2/drafts/{draft_id}/approve", json={"author": "ann"})
    assert approved.status_code == 200, approved.text
    assert approved.json() == {"draft_id": draft_id, "number": 4, "status": "approved"}
    again = client.post(f"/api/v2/drafts/{draft_id}/approve", json={"author": "ann"})
    assert again.status_code == 409
    versions = client.get(f"/api/v2/drafts/{draft_id}").json()["versions"]
    assert [(v["author"], v["note"]) for v in versions] == [
        ("ann", "generated"),
        ("bob", "edited"),
        ("bob", "edited"),
        ("ann", "approved"),
    ]
    assert client.get("/api/v2/drafts/ffffffff").status_code == 404


def test_a_run_of_an_unapproved_draft_is_refused_and_stores_nothing(
    client: TestClient, api_settings: ApiSettings, tmp_path: Path
) -> None:
    """`POST /runs` holds a drafted plan to the same rule as `mge run`."""
    draft_id = _draft(api_settings, tmp_path)
    plan = client.get(f"/api/v2/drafts/{draft_id}").json()["plan"]
    refused = client.post("/api/v2/runs", json={"plan": plan})
    assert refused.status_code == 409, refused.text
    assert "not approved" in refused.json()["detail"]
    assert client.get("/api/v2/runs").json() == []
    assert client.get("/api/v2/plans").json() == []
