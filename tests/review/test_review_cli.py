"""`mge review ...` driven through the real CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import select
from tests.review.conftest import FIXED_WITH_TAX, WITH_TAX, ShopRun
from typer.testing import CliRunner

from mge.cli.app import app
from mge.db import make_engine, session_scope
from mge.db.models import ReviewAuditEvent
from mge.errors import MgeError

runner = CliRunner()


def _mge(*args: str) -> tuple[int, str, str]:
    """In-process, with MGE errors read the way `mge.cli.app.main` maps them."""
    result = runner.invoke(app, list(args))
    if isinstance(result.exception, MgeError):
        return result.exception.exit_code, result.stdout, f"error: {result.exception.message}"
    return result.exit_code, result.stdout, result.stderr


def _mge_process(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mge", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "NO_COLOR": "1"},
    )


def _list(shop: ShopRun, *extra: str) -> list[dict[str, object]]:
    code, out, err = _mge("review", "list", "--db", shop.url, "--json", *extra)
    assert code == 0, err
    items: list[dict[str, object]] = json.loads(out)["items"]
    return items


def test_list_refresh_show_claim_edit_and_the_audit_trail(shop: ShopRun, tmp_path: Path) -> None:
    items = _list(shop, "--run", str(shop.run_id), "--refresh", "--bottom-share", "0.3")
    assert [i["priority"] for i in items] == sorted(i["priority"] for i in items)
    first = items[0]
    assert first["atom"] == WITH_TAX and first["priority"] == 1
    assert first["blocked_dependents"] == 2 and items[1]["priority"] > 1

    code, out, _ = _mge("review", "show", str(first["id"])[:8], "--db", shop.url, "--json")
    assert code == 0
    assert json.loads(out)["atom"] == WITH_TAX
    # for a person: lines of the file (with_tax starts at line 6), never "line 0"
    code, out, _ = _mge("review", "show", str(first["id"]), "--db", shop.url)
    assert code == 0
    assert "[error] this atom: the code does not parse on its own" in out
    assert "syntax: line 8: invalid syntax" in out and "line 0" not in out
    numbered = [line.strip() for line in out.splitlines()]
    assert any(line.startswith("8 ") and "RATE // 100 +" in line for line in numbered)

    code, out, err = _mge("review", "claim", str(first["id"]), "--as", "ana", "--db", shop.url)
    assert code == 0, err
    assert "in_review" in out

    # the real process: one `error:` line and the Conflict exit code, no traceback
    done = _mge_process("review", "approve", str(first["id"]), "--as", "bo", "--db", shop.url)
    assert done.returncode == 7
    assert done.stderr.startswith("error: review ") and "claimed by ana" in done.stderr
    assert "Traceback" not in done.stderr

    bad = tmp_path / "bad.py"
    bad.write_text("def with_tax(net: int) -> int:\n    return (\n")
    code, _, err = _mge(
        "review", "edit", str(first["id"]), "--file", str(bad), "--as", "ana", "--db", shop.url
    )
    assert code == 1 and "fails atomic validation" in err

    good = tmp_path / "good.py"
    good.write_text(FIXED_WITH_TAX)
    code, out, err = _mge(
        "review",
        "edit",
        str(first["id"]),
        "--file",
        str(good),
        "--as",
        "ana",
        "--db",
        shop.url,
        "--json",
    )
    assert code == 0, err
    assert json.loads(out)["unblocked"] == 2

    assert [i["id"] for i in _list(shop)] == [items[1]["id"]]
    engine = make_engine(shop.url)
    with session_scope(engine) as session:
        actions = [e.action for e in session.scalars(select(ReviewAuditEvent))]
    engine.dispose()
    assert sorted(actions) == ["claim", "edit"]


def test_edit_opens_the_editor_when_no_file_is_given(shop: ShopRun, tmp_path: Path) -> None:
    script = tmp_path / "fix.sh"
    script.write_text("#!/bin/sh\nsed -i 's/ +$//' \"$1\"\n")
    script.chmod(0o755)
    item = _list(shop)[0]
    result = runner.invoke(
        app,
        ["review", "edit", str(item["id"]), "--as", "ana", "--db", shop.url],
        env={"EDITOR": str(script), "VISUAL": ""},
    )
    assert result.exit_code == 0, result.stderr
    assert "edited" in result.stdout


def test_bulk_approve_skip_reject_release_and_errors(shop: ShopRun) -> None:
    items = _list(shop, "--run", str(shop.run_id), "--refresh", "--bottom-share", "0.7")
    ids = [str(i["id"]) for i in items]
    code, out, err = _mge("review", "skip", ids[0], "--as", "ana", "--db", shop.url)
    assert code == 0, err
    code, _, err = _mge("review", "reject", ids[1], "--as", "ana", "--db", shop.url)
    assert code == 2  # --note is required
    code, out, err = _mge(
        "review", "reject", ids[1], "--as", "ana", "--note", "looks off", "--db", shop.url
    )
    assert code == 0 and "rejected" in out
    code, out, _ = _mge("review", "claim", ids[2], "--as", "ana", "--db", shop.url)
    code, out, err = _mge("review", "release", ids[2], "--as", "ana", "--db", shop.url)
    assert code == 0 and "pending" in out
    code, out, err = _mge("review", "approve", *ids, "--as", "ana", "--db", shop.url, "--json")
    assert code == 0, err
    assert [r["ok"] for r in json.loads(out)["results"]] == [True, True, True]
    assert _list(shop) == []
    code, _, err = _mge("review", "show", "00000000-0000-0000-0000-000000000000", "--db", shop.url)
    assert code == 6 and "no review item" in err
    code, _, err = _mge("review", "list", "--refresh", "--db", shop.url)
    assert code == 2 and "--run" in err


def test_calibrate_reports_the_ranking_on_a_replay_run(shop: ShopRun) -> None:
    code, out, err = _mge("review", "calibrate", str(shop.run_id), "--db", shop.url, "--json")
    assert code == 0, err
    figures = json.loads(out)
    # discount is the one completed atom whose code differs from the reference
    assert (figures["atoms"], figures["wrong"], figures["failed"]) == (3, 1, 1)
    assert 0.0 <= figures["auroc"] <= 1.0
