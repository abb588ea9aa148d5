"""The review page in a real browser: Debian's Chromium driven by Playwright against
the app served by uvicorn on loopback. Open the queue, open an item, claim it, edit
the code, see the next item, approve it with the keyboard; the database changes."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from prometheus_client import CollectorRegistry
from sqlalchemy import select
from tests.conftest import needs_chromium, serve_on_loopback
from tests.review.conftest import FIXED_WITH_TAX, TOTAL, WITH_TAX, ShopRun

from mge.api import ApiSettings, create_app
from mge.db import make_engine, session_scope
from mge.db.models import AtomicUnit, AtomStatus, HumanReviewQueue, ReviewAuditEvent, ReviewStatus
from mge.llm.testing import CHAT, Reply, ScriptedServer, openai_body
from mge.monitoring import MgeMetrics
from mge.review import ReviewSettings, queue_doubtful

if TYPE_CHECKING:
    from playwright.sync_api import Page


pytestmark = needs_chromium


@pytest.fixture
def served(shop: ShopRun, tmp_path: Path) -> Iterator[str]:
    engine = make_engine(shop.url)
    with session_scope(engine) as session:
        queue_doubtful(session, run_id=shop.run_id, settings=ReviewSettings(bottom_share=0.3))
    engine.dispose()
    settings = ApiSettings(database_url=shop.url, runs_dir=tmp_path / "runs")
    with serve_on_loopback(create_app(settings, metrics=MgeMetrics(CollectorRegistry()))) as url:
        yield url


def test_claim_edit_and_approve_in_the_browser(served: str, shop: ShopRun, page: Page) -> None:
    from playwright.sync_api import expect

    page.goto(f"{served}/review")
    rows = page.locator("#queue-body tr.item")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text(WITH_TAX)
    # the most urgent item opens by itself
    expect(page.locator("#item-atom")).to_have_text(WITH_TAX)
    expect(page.locator("#suggestions li").first).to_have_text(
        "[error] this atom: the code does not parse on its own (check)"
    )
    # the code highlighted on the server, numbered by its lines in the file
    code = page.locator("#item-code .hl")
    expect(code.locator("span.k").first).to_have_text("def")
    expect(code.locator(".linenos").first).to_have_text("6")
    expect(page.locator(".last-error")).to_contain_text("line 8: invalid syntax")
    expect(page.locator("#item-view")).not_to_contain_text("line 0")
    # the file around the atom, folded until asked for
    around = page.locator("#surroundings")
    expect(around).not_to_have_attribute("open", "")
    expect(around.locator("summary")).to_contain_text("shop/money.py around the atom: lines 1")
    expect(around.locator(".hll").first).to_be_hidden()
    around.locator("summary").click()
    expect(around.locator(".hl")).to_contain_text("RATE = 20")
    expect(around.locator(".hll").first).to_contain_text("def with_tax")
    expect(page.locator("#item-view")).to_contain_text("Attempt 2 gave the same code.")
    # context and evidence as fields to read, not JSON
    context = page.locator("#item-context")
    expect(context.locator("dt").first).to_have_text("signature")
    expect(context).to_contain_text("def with_tax(net: int) -> int")
    expect(context).not_to_contain_text("{")
    expect(page.locator("#item-evidence")).to_contain_text("blocked dependents")
    expect(rows.first.locator("td").first).to_have_text("P1")
    expect(page.locator("#item-priority")).to_have_text("P1")
    expect(page.locator("#model-review")).to_contain_text("not made: the run's model")
    expect(page.locator("#btn-model-review")).to_be_hidden()

    page.fill("#reviewer", "ana")
    page.click("#btn-claim")
    expect(page.locator("#message")).to_contain_text("claim: in_review")
    expect(rows.first).to_contain_text("ana")

    page.fill("#editor", FIXED_WITH_TAX)
    expect(page.locator("#edit-diff")).to_contain_text("+    return net + net * RATE // 100")
    # reloading the open item keeps the edit in progress
    with page.expect_response(lambda r: "/items/" in r.url and r.request.method == "GET"):
        page.click("#reload")
    expect(page.locator("#editor")).to_have_value(FIXED_WITH_TAX)
    expect(page.locator("#edit-diff")).to_contain_text("+    return net + net * RATE // 100")
    screenshot = os.environ.get("MGE_REVIEW_SCREENSHOT")
    if screenshot:
        page.screenshot(path=screenshot, full_page=False)
    page.fill("#note", "a stray + at the end")
    page.click("#btn-save-edit")
    expect(page.locator("#message")).to_contain_text("edit: edited")
    expect(page.locator("#message")).to_contain_text("2 blocked atoms back to pending")

    # the queue moved on to the next item; approve it with the keyboard
    expect(rows).to_have_count(1)
    expect(page.locator("#item-atom")).not_to_have_text(WITH_TAX)
    next_atom = page.locator("#item-atom").inner_text()
    page.locator("body").click(position={"x": 5, "y": 900})
    page.keyboard.press("a")
    expect(page.locator("#message")).to_contain_text("approve: approved")
    expect(page.locator("#queue-empty")).to_be_visible()

    engine = make_engine(shop.url)
    with session_scope(engine) as session:
        items = {item.atom.atom_key: item for item in session.scalars(select(HumanReviewQueue))}
        assert items[WITH_TAX].status is ReviewStatus.EDITED
        assert items[WITH_TAX].edited_code == FIXED_WITH_TAX
        assert items[WITH_TAX].review_notes == "a stray + at the end"
        assert items[next_atom].status is ReviewStatus.APPROVED
        assert items[next_atom].reviewer == "ana"
        total = session.scalars(select(AtomicUnit).where(AtomicUnit.atom_key == TOTAL)).one()
        assert total.status is AtomStatus.PENDING
        actions = sorted(e.action for e in session.scalars(select(ReviewAuditEvent)))
        assert actions == ["approve", "claim", "edit"]
    engine.dispose()


def test_a_conflict_is_shown_to_the_second_reviewer(served: str, shop: ShopRun, page: Page) -> None:
    from playwright.sync_api import expect

    engine = make_engine(shop.url)
    with session_scope(engine) as session:
        from mge.review import claim, list_queue

        claim(session, review_id=list_queue(session)[0].id, actor="bo")
    engine.dispose()
    page.goto(f"{served}/review")
    expect(page.locator("#item-holder")).to_contain_text("claimed by bo")
    page.fill("#reviewer", "ana")
    page.click("#btn-approve")
    expect(page.locator("#message")).to_contain_text("Conflict")
    expect(page.locator("#message")).to_have_class("error")
    engine = make_engine(shop.url)
    with session_scope(engine) as session:
        assert [e.action for e in session.scalars(select(ReviewAuditEvent))] == ["claim"]
    engine.dispose()


def test_the_model_review_is_shown_and_asked_again_from_the_page(
    served: str, page: Page, server: ScriptedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A real provider (the OpenAI SDK against the loopback server) reviews the item
    the page opens; the button asks again and the page shows the new answer."""
    from playwright.sync_api import expect

    monkeypatch.setenv("MGE_REVIEW_MODEL", "openai:gpt-4.1")
    monkeypatch.setenv("MGE_REVIEW_BASE_URL", server.url + "/v1")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    first = '{"verdict": "wrong", "findings": [{"line": 3, "message": "a dangling +"}]}'
    second = '{"verdict": "suspect", "summary": "check the rounding", "findings": []}'
    server.script(CHAT, Reply(body=openai_body(first)), Reply(body=openai_body(second)))
    page.goto(f"{served}/review")
    expect(page.locator("#item-atom")).to_have_text(WITH_TAX)
    review = page.locator("#model-review")
    expect(review).to_contain_text("Model review (openai:gpt-4.1): wrong")
    expect(page.locator("#suggestions li.src-model")).to_have_text(
        "[warning] line 8: a dangling + (model)"  # line 3 of the atom, line 8 of the file
    )
    page.click("#btn-model-review")
    expect(review).to_contain_text("suspect — check the rounding")
    expect(page.locator("#suggestions li.src-model")).to_have_count(0)
    assert len(server.requests_to(CHAT)) == 2
