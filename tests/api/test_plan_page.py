"""The plan page in Chromium: open a drafted plan, edit a task inline, approve it."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from prometheus_client import CollectorRegistry
from tests.conftest import needs_chromium, serve_on_loopback

from mge.api import ApiSettings, create_app
from mge.db import make_engine, session_scope
from mge.db.models import PlanDraft
from mge.monitoring import MgeMetrics

if TYPE_CHECKING:
    from playwright.sync_api import Page

REFERENCE = Path(__file__).resolve().parents[2] / "examples" / "inventory" / "reference"

pytestmark = needs_chromium


@pytest.fixture
def drafted(sqlite_url: str, tmp_path: Path) -> str:
    result = subprocess.run(
        [
            sys.executable, "-m", "mge", "plan", "new", "a small stock-keeping library",
            "--reference", str(REFERENCE), "-o", str(tmp_path / "plan.yaml"),
            "--db", sqlite_url, "--by", "ann", "--json",
        ],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return str(json.loads(result.stdout)["draft_id"])


@pytest.fixture
def served(sqlite_url: str, tmp_path: Path, drafted: str) -> Iterator[str]:
    settings = ApiSettings(database_url=sqlite_url, runs_dir=tmp_path / "runs")
    with serve_on_loopback(create_app(settings, metrics=MgeMetrics(CollectorRegistry()))) as url:
        yield url


def test_open_edit_a_task_and_approve(
    served: str, drafted: str, sqlite_url: str, page: Page
) -> None:
    from playwright.sync_api import expect

    page.goto(f"{served}/plan?id={drafted}")
    expect(page.locator("#draft-status")).to_have_text("draft")
    money = page.locator('article.task[data-task="inventory.money"]')
    expect(money.locator("h4")).to_contain_text("inventory.money")
    expect(money.locator(".task-files")).to_have_value("inventory/money.py")
    page.fill("#author", "bea")

    # A broken edit is refused with the path of the field.
    money.locator(".task-files").fill("")
    money.locator(".task-files").dispatch_event("change")
    page.click("#save")
    expect(page.locator("#message")).to_contain_text(".files: must not be empty")

    money.locator(".task-files").fill("inventory/money.py")
    money.locator(".task-files").dispatch_event("change")
    interface = money.locator(".task-interface")
    interface.fill(interface.input_value() + "\ndef round_up(amount)")
    interface.dispatch_event("change")
    page.click("#save")
    expect(page.locator("#message")).to_have_text("saved as version 2")
    page.click("#approve")
    expect(page.locator("#message")).to_have_text("approved as version 3")
    expect(page.locator("#draft-status")).to_have_text("approved")
    expect(page.locator("#versions li")).to_have_count(3)

    engine = make_engine(sqlite_url)
    with session_scope(engine) as session:
        draft = session.get(PlanDraft, uuid.UUID(drafted))
        assert draft is not None and draft.status == "approved"
        assert [(v.author, v.note) for v in draft.versions] == [
            ("ann", "generated"),
            ("bea", "edited"),
            ("bea", "approved"),
        ]
        money_task = next(
            t
            for p in draft.versions[-1].plan["phases"]  # type: ignore[index]
            for m in p["milestones"]
            for t in m["tasks"]
            if t["id"] == "inventory.money"
        )
        assert money_task["interface"][-1] == "def round_up(amount)"
    engine.dispose()
