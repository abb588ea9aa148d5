"""The model review of a queued atom: the real `anthropic` and `openai` SDKs against
the loopback server of `mge.llm.testing`, on a real shop run whose settings are
switched to a real provider. A good answer is parsed and stored (and not asked
again), a garbage answer, a server error and a timeout become notes, the replay
model is never asked, and the review is shown through the CLI and the API."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry
from sqlalchemy import select
from sqlalchemy.orm import Session
from tests.conftest import LOOPBACK_URL
from tests.review.conftest import WITH_TAX, ShopRun
from typer.testing import CliRunner

from mge.api import ApiSettings, create_app
from mge.cli.app import app
from mge.db import make_engine, session_scope
from mge.db.models import AtomicUnit, GenerationRun, HumanReviewQueue
from mge.llm import MalformedResponse
from mge.llm.testing import (
    CHAT,
    MESSAGES,
    Reply,
    ScriptedServer,
    anthropic_body,
    openai_body,
)
from mge.monitoring import MgeMetrics
from mge.review import (
    ReviewSettings,
    ensure_model_review,
    item_view,
    list_queue,
    queue_doubtful,
)
from mge.review.model_review import MAX_FINDINGS, parse_answer

GOOD = """Here is my review.

```json
{"verdict": "wrong",
 "summary": "The expression ends with a dangling +.",
 "findings": [
   {"line": 3, "severity": "error", "message": "a stray + at the end of the return"},
   {"line": 99, "severity": "loud", "message": "RATE is never checked for None"}
 ]}
```
Hope this helps."""


@dataclass(frozen=True)
class Flavor:
    prefix: str
    model: str
    path: str
    key_variable: str
    api_root: str
    body: Callable[..., dict[str, Any]]

    def ok(self, text: str) -> Reply:
        if self.prefix == "anthropic":
            return Reply(
                body=self.body(text, input_tokens=1000, output_tokens=200, model=self.model)
            )
        return Reply(
            body=self.body(text, prompt_tokens=1000, completion_tokens=200, model=self.model)
        )


ANTHROPIC = Flavor(
    "anthropic", "claude-haiku-4-5", MESSAGES, "ANTHROPIC_API_KEY", "", anthropic_body
)
OPENAI = Flavor("openai", "gpt-4.1", CHAT, "OPENAI_API_KEY", "/v1", openai_body)
FLAVORS = pytest.mark.parametrize("flavor", [ANTHROPIC, OPENAI], ids=["anthropic", "openai"])
QUICK = ReviewSettings(model_retries=0, model_timeout_seconds=2.0)


def _use_real_model(
    shop: ShopRun,
    flavor: Flavor,
    server: ScriptedServer,
    monkeypatch: pytest.MonkeyPatch,
    **extra: Any,
) -> None:
    """The shop run as if it had been made with a real provider at the loopback server."""
    monkeypatch.setenv(flavor.key_variable, "sk-test")
    engine = make_engine(shop.url)
    with session_scope(engine) as session:
        run = session.get_one(GenerationRun, shop.run_id)
        run.settings = {
            **run.settings,
            "model": f"{flavor.prefix}:{flavor.model}",
            "base_url": server.url + flavor.api_root,
            **extra,
        }
        run.simulated = False
        queue_doubtful(session, run_id=shop.run_id)
    engine.dispose()


def _failed(session: Session) -> HumanReviewQueue:
    return next(i for i in list_queue(session) if i.atom.atom_key == WITH_TAX)


def _prompt(server: ScriptedServer, flavor: Flavor, n: int = 0) -> str:
    body = server.requests_to(flavor.path)[n].body
    return json.dumps(body)


# -- parsing -------------------------------------------------------------------------


def test_the_answer_is_read_from_prose_and_fences_with_lines_kept_inside_the_atom() -> None:
    parsed = parse_answer(GOOD, lines=3)
    assert parsed.verdict == "wrong"
    assert parsed.summary == "The expression ends with a dangling +."
    assert parsed.findings == [
        {
            "source": "model",
            "severity": "error",
            "line": 3,
            "message": "a stray + at the end of the return",
        },
        # a line outside the atom is about the whole atom; an unknown severity a warning
        {
            "source": "model",
            "severity": "warning",
            "line": 0,
            "message": "RATE is never checked for None",
        },
    ]


def test_an_object_without_a_verdict_is_skipped_and_synonyms_are_accepted() -> None:
    text = 'Context: {"atom": 1}. Review: {"verdict": "Correct", "findings": "none"}'
    parsed = parse_answer(text, lines=5)
    assert (parsed.verdict, parsed.findings, parsed.summary) == ("ok", [], "")


def test_findings_are_capped_and_bad_entries_dropped() -> None:
    many = [{"line": 1, "message": f"m{n}"} for n in range(MAX_FINDINGS + 5)]
    text = json.dumps({"verdict": "suspect", "findings": [{"line": "x"}, 7, *many]})
    parsed = parse_answer(text, lines=2)
    assert len(parsed.findings) == MAX_FINDINGS
    assert parsed.findings[0]["message"] == "m0"


@pytest.mark.parametrize(
    "text",
    ["I cannot review this.", '{"verdict": "maybe"}', '{"verdict": "ok"', "[1, 2]"],
)
def test_garbage_is_a_malformed_response(text: str) -> None:
    with pytest.raises(MalformedResponse):
        parse_answer(text, lines=3)


# -- through the real SDKs -----------------------------------------------------------


@FLAVORS
def test_a_good_answer_is_stored_charged_to_the_run_and_not_asked_again(
    flavor: Flavor, server: ScriptedServer, shop: ShopRun, monkeypatch: pytest.MonkeyPatch
) -> None:
    _use_real_model(shop, flavor, server, monkeypatch)
    server.script(flavor.path, flavor.ok(GOOD))
    engine = make_engine(shop.url)
    with session_scope(engine) as session:
        cost_before = session.get_one(GenerationRun, shop.run_id).cost_usd
        review = ensure_model_review(session, _failed(session), settings=QUICK)
    assert review["status"] == "done" and review["current"] is True
    assert review["verdict"] == "wrong"
    assert review["model"] == f"{flavor.prefix}:{flavor.model}"
    assert (review["input_tokens"], review["output_tokens"]) == (1000, 200)
    assert review["cost_usd"] > 0

    # what the model was shown: the code with line numbers, its contract, the
    # evidence and the static findings
    prompt = _prompt(server, flavor)
    assert "return net + net * RATE // 100 +" in prompt
    assert "def with_tax(net: int) -> int" in prompt
    assert "the code does not parse on its own" in prompt
    assert "failed atomic validation after 3 attempts" in prompt

    with session_scope(engine) as session:
        item = _failed(session)
        view = item_view(session, item)
        run = session.get_one(GenerationRun, shop.run_id)
        assert run.cost_usd == pytest.approx(cost_before + review["cost_usd"])
        # a second look (and a refresh of the queue) reuses the stored review
        ensure_model_review(session, item, settings=QUICK)
        queue_doubtful(session, run_id=shop.run_id)
        again = item_view(session, _failed(session))
    assert len(server.requests_to(flavor.path)) == 1
    for shown in (view, again):
        sources = [s["source"] for s in shown["suggestions"]]
        assert "model" in sources and sources.index("model") > 0  # after the static ones
        model = [s for s in shown["suggestions"] if s["source"] == "model"]
        assert model[0]["line"] == 3 and "stray +" in model[0]["message"]
        assert shown["model_review"]["verdict"] == "wrong"
    engine.dispose()


@FLAVORS
def test_a_garbage_answer_is_a_note_kept_until_asked_again(
    flavor: Flavor, server: ScriptedServer, shop: ShopRun, monkeypatch: pytest.MonkeyPatch
) -> None:
    _use_real_model(shop, flavor, server, monkeypatch)
    server.script(flavor.path, flavor.ok("Looks fine to me!"), flavor.ok(GOOD))
    engine = make_engine(shop.url)
    with session_scope(engine) as session:
        item = _failed(session)
        review = ensure_model_review(session, item, settings=QUICK)
        assert review["status"] == "error"
        assert "not a usable review" in review["note"] and "Looks fine" in review["note"]
        assert review["input_tokens"] == 1000  # it was paid for all the same
        assert all(s["source"] != "model" for s in item_view(session, item)["suggestions"])
        # viewing again does not call the provider again ...
        assert ensure_model_review(session, item, settings=QUICK)["status"] == "error"
        assert len(server.requests_to(flavor.path)) == 1
        # ... asking again does
        assert ensure_model_review(session, item, settings=QUICK, force=True)["status"] == "done"
    assert len(server.requests_to(flavor.path)) == 2
    engine.dispose()


@FLAVORS
def test_a_server_error_or_a_timeout_is_a_note_not_a_crash(
    flavor: Flavor, server: ScriptedServer, shop: ShopRun, monkeypatch: pytest.MonkeyPatch
) -> None:
    _use_real_model(shop, flavor, server, monkeypatch)
    server.script(
        flavor.path,
        Reply(500, {"error": {"type": "api_error", "message": "overloaded"}}),
        Reply(body=flavor.ok(GOOD).body, delay=5.0),
    )
    engine = make_engine(shop.url)
    with session_scope(engine) as session:
        item = _failed(session)
        cost = session.get_one(GenerationRun, shop.run_id).cost_usd
        failed = ensure_model_review(session, item, settings=QUICK)
        assert failed["status"] == "error"
        assert failed["note"].startswith("the model review failed") and "HTTP 500" in failed["note"]
        slow = ensure_model_review(session, item, settings=QUICK, force=True)
        assert slow["status"] == "error" and "timed out" in slow["note"]
        assert session.get_one(GenerationRun, shop.run_id).cost_usd == cost
        assert item_view(session, item)["model_review"]["status"] == "error"
    engine.dispose()


def test_the_replay_model_is_never_asked_and_the_view_says_so(
    server: ScriptedServer, shop: ShopRun
) -> None:
    engine = make_engine(shop.url)
    with session_scope(engine) as session:
        queue_doubtful(session, run_id=shop.run_id)
        item = _failed(session)
        review = ensure_model_review(session, item)
        assert review["status"] == "skipped"
        assert "not a real model" in review["note"] and "replay" in review["note"]
        assert "model_review" not in item.evidence  # nothing stored
        assert item_view(session, item)["model_review"]["status"] == "skipped"
    assert server.received == []
    engine.dispose()


def test_a_missing_key_or_a_spent_budget_skips_the_call(
    server: ScriptedServer, shop: ShopRun, monkeypatch: pytest.MonkeyPatch
) -> None:
    _use_real_model(shop, ANTHROPIC, server, monkeypatch, budget_usd=1.0)
    engine = make_engine(shop.url)
    with session_scope(engine) as session:
        item = _failed(session)
        monkeypatch.delenv("ANTHROPIC_API_KEY")
        review = ensure_model_review(session, item)
        assert review["status"] == "skipped" and "ANTHROPIC_API_KEY" in review["note"]
        monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-test")
        session.get_one(GenerationRun, shop.run_id).cost_usd = 1.0
        session.flush()
        review = ensure_model_review(session, item)
        assert review["status"] == "skipped" and "budget of $1.00 is spent" in review["note"]
    assert server.received == []
    engine.dispose()


def test_new_code_is_reviewed_again_and_a_review_setting_picks_the_model(
    server: ScriptedServer, shop: ShopRun, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The run used replay; the review setting names a real model for reviews only."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    settings = ReviewSettings(
        model="openai:gpt-4.1", model_base_url=server.url + "/v1", model_retries=0
    )
    server.script(CHAT, OPENAI.ok(GOOD), OPENAI.ok('{"verdict": "ok", "summary": "fine"}'))
    engine = make_engine(shop.url)
    with session_scope(engine) as session:
        queue_doubtful(session, run_id=shop.run_id)
        item = _failed(session)
        assert ensure_model_review(session, item, settings=settings)["verdict"] == "wrong"
        atom = session.scalars(select(AtomicUnit).where(AtomicUnit.atom_key == WITH_TAX)).one()
        atom.code = atom.code.replace(" +\n", "\n")
        session.flush()
        stale = item_view(session, item)
        assert stale["model_review"]["current"] is False
        assert all(s["source"] != "model" for s in stale["suggestions"])
        fresh = ensure_model_review(session, item, settings=settings)
        assert (fresh["verdict"], fresh["current"]) == ("ok", True)
    assert len(server.requests_to(CHAT)) == 2
    assert "RATE // 100 +" not in _prompt(server, OPENAI, 1)
    engine.dispose()


# -- shown through the CLI and the API -----------------------------------------------


def test_review_show_in_the_cli_asks_once_and_prints_the_model_review(
    server: ScriptedServer, shop: ShopRun, monkeypatch: pytest.MonkeyPatch
) -> None:
    _use_real_model(shop, ANTHROPIC, server, monkeypatch)
    server.script(MESSAGES, ANTHROPIC.ok(GOOD))
    engine = make_engine(shop.url)
    with session_scope(engine) as session:
        item_id = str(_failed(session).id)
    engine.dispose()
    runner = CliRunner()
    shown = runner.invoke(app, ["review", "show", item_id, "--db", shop.url])
    assert shown.exit_code == 0, shown.output
    assert "model review (anthropic:claude-haiku-4-5): wrong" in shown.output
    # The model counts from the atom's first line (file line 6): file line 8.
    assert "line 8: a stray + at the end of the return  (model)" in shown.output
    as_json = runner.invoke(app, ["review", "show", item_id[:8], "--db", shop.url, "--json"])
    view = json.loads(as_json.stdout)
    assert view["model_review"]["status"] == "done"
    assert any(s["source"] == "model" for s in view["suggestions"])
    assert len(server.requests_to(MESSAGES)) == 1


def test_review_show_in_the_cli_says_when_no_model_review_is_made(shop: ShopRun) -> None:
    engine = make_engine(shop.url)
    with session_scope(engine) as session:
        item_id = str(list_queue(session)[0].id)
    engine.dispose()
    shown = CliRunner().invoke(app, ["review", "show", item_id, "--db", shop.url])
    assert shown.exit_code == 0
    assert "model review: not made: the run's model is 'replay'" in shown.output


def test_the_api_item_carries_the_model_review_and_asking_again_needs_the_token(
    server: ScriptedServer, shop: ShopRun, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _use_real_model(shop, OPENAI, server, monkeypatch)
    server.script(CHAT, OPENAI.ok(GOOD), OPENAI.ok('{"verdict": "suspect", "findings": []}'))
    settings = ApiSettings(database_url=shop.url, runs_dir=tmp_path / "runs", api_token="t0k")
    api = create_app(settings, metrics=MgeMetrics(CollectorRegistry()))
    with TestClient(api, base_url=LOOPBACK_URL) as client:
        first = client.get("/api/v2/review/items").json()["items"][0]
        assert first["atom"] == WITH_TAX and first["priority"] == 1
        detail = client.get(f"/api/v2/review/items/{first['id']}").json()
        assert detail["model_review"]["verdict"] == "wrong"
        assert detail["model_review"]["model"] == "openai:gpt-4.1"
        assert next(s for s in detail["suggestions"] if s["source"] == "model")["line"] == 3
        client.get(f"/api/v2/review/items/{first['id']}")  # a second view: no new call
        assert len(server.requests_to(CHAT)) == 1
        path = f"/api/v2/review/items/{first['id']}/model-review"
        assert client.post(path).status_code == 401
        again = client.post(path, headers={"Authorization": "Bearer t0k"})
        assert again.status_code == 200 and again.json()["verdict"] == "suspect"
        detail = client.get(f"/api/v2/review/items/{first['id']}").json()
        assert all(s["source"] != "model" for s in detail["suggestions"])
    assert len(server.requests_to(CHAT)) == 2


def test_mge_review_model_reviews_the_items_of_a_replay_run(
    server: ScriptedServer, shop: ShopRun, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MGE_REVIEW_MODEL", "openai:gpt-4.1")
    monkeypatch.setenv("MGE_REVIEW_BASE_URL", server.url + "/v1")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    server.script(CHAT, OPENAI.ok(GOOD))
    engine = make_engine(shop.url)
    with session_scope(engine) as session:
        item_id = str(list_queue(session)[0].id)  # the engine's item, never refreshed
    engine.dispose()
    shown = CliRunner().invoke(app, ["review", "show", item_id, "--db", shop.url])
    assert shown.exit_code == 0, shown.output
    assert "model review (openai:gpt-4.1): wrong" in shown.output
    # the static findings were computed for the prompt although none were stored
    assert "the code does not parse on its own" in _prompt(server, OPENAI)
