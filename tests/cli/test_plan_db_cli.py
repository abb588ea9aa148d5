"""`mge plan import | list | export` against a real database."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from mge.plan import load_plan

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "inventory" / "plan.yaml"


def _mge(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mge", *args], capture_output=True, text=True, timeout=120
    )


def test_import_list_export_round_trip(db_url: str, tmp_path: Path) -> None:
    imported = _mge("plan", "import", str(EXAMPLE), "--db", db_url, "--json")
    assert imported.returncode == 0, imported.stderr
    masterplan_id = json.loads(imported.stdout)["masterplan_id"]
    listed = json.loads(_mge("plan", "list", "--db", db_url, "--json").stdout)["masterplans"]
    assert [row["id"] for row in listed] == [masterplan_id]
    exported = tmp_path / "plan.yaml"
    result = _mge("plan", "export", masterplan_id[:8], "-o", str(exported), "--db", db_url)
    assert result.returncode == 0, result.stderr
    (tmp_path / "reference").symlink_to(EXAMPLE.parent / "reference")
    assert load_plan(exported) == load_plan(EXAMPLE)


def test_export_of_an_unknown_masterplan(sqlite_url: str) -> None:
    _mge("db", "upgrade", "--db", sqlite_url)
    result = _mge("plan", "export", "abcdef12", "--db", sqlite_url)
    assert result.returncode == 6
    assert result.stderr.strip() == "error: no masterplan abcdef12"
