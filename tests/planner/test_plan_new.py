"""`mge plan new` against the loopback OpenAI-compatible server, bad answers included.

The server plays the model with scripted answers; the stages, retries, sandboxed
stub runs and costs are the real ones.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from mge.llm import make_model
from mge.llm.testing import CHAT, MESSAGES, Reply, ScriptedServer, anthropic_body, openai_body
from mge.plan import load_plan
from mge.plan._drafting import render_test_files
from mge.planner import draft_plan

GOOD_TESTS = render_test_files(
    {
        "tests/test_core.py": "from counter.core import add\n\n\ndef test_add():\n"
        "    assert add(2, 3) == 5\n"
    }
)
VACUOUS_TESTS = render_test_files(
    {
        "tests/test_core.py": "from counter.core import add\n\n\ndef test_add():\n"
        "    assert add is not None\n"
    }
)


def _answer(text: str, tokens: int = 100) -> Reply:
    return Reply(body=openai_body(text, prompt_tokens=tokens, completion_tokens=tokens // 2))


def _script_good_run(server: ScriptedServer, discovery: dict[str, Any], plan: str) -> None:
    server.script(
        CHAT,
        # discovery: first without goals (refused), then right
        _answer(json.dumps({**discovery, "goals": []})),
        _answer("```json\n" + json.dumps(discovery) + "\n```"),
        _answer(plan),
        # tests: first a test that passes on the stubs (vacuous), then a real one
        _answer(VACUOUS_TESTS),
        _answer(GOOD_TESTS),
    )


async def test_three_stages_with_retries_and_costs(
    server: ScriptedServer, discovery: dict[str, Any], plan_answer: str
) -> None:
    _script_good_run(server, discovery, plan_answer)
    model = make_model("openai:planner", base_url=f"{server.url}/v1", env={})
    try:
        draft = await draft_plan("a library that adds numbers", model)
    finally:
        await model.aclose()
    assert draft.error is None, draft.error
    assert draft.complete
    assert draft.plan is not None and draft.plan.tasks()[0].id == "counter.core"
    assert list(draft.tests) == ["tests/test_core.py"]
    assert [(s.stage, s.attempts, s.ok) for s in draft.stages] == [
        ("discovery", 2, True),
        ("masterplan", 1, True),
        ("tests", 2, True),
    ]
    assert draft.cost()["total"]["input_tokens"] == 500
    sent = [r.body["messages"] for r in server.requests_to(CHAT)]
    # Each refusal went back with its field path or its reason.
    assert "- goals: List should have at least 1 item" in sent[1][-1]["content"]
    assert "passes against the empty skeleton" in sent[4][-1]["content"]
    assert "test_core.py::test_add" in sent[4][-1]["content"]
    # Each stage has its own prompt.
    assert "discovery document" in sent[0][-1]["content"]
    assert "Write the masterplan" in sent[2][-1]["content"]
    assert "acceptance tests" in sent[3][-1]["content"]


async def test_a_stage_that_stays_wrong_ends_the_draft_and_keeps_the_rest(
    server: ScriptedServer, discovery: dict[str, Any], plan_answer: str
) -> None:
    broken = plan_answer.replace("files: [counter/core.py]", "files: []")
    server.script(CHAT, _answer(json.dumps(discovery)), *[_answer(broken)] * 2)
    model = make_model("openai:planner", base_url=f"{server.url}/v1", env={})
    try:
        draft = await draft_plan("a library that adds numbers", model, max_attempts=2)
    finally:
        await model.aclose()
    assert draft.discovery is not None and draft.plan is None
    assert draft.error == (
        "masterplan refused 2 times; last: phases[0].milestones[0].tasks[0].files:"
        " must not be empty"
    )


def test_uncollectable_tests_are_sent_back(
    server: ScriptedServer, discovery: dict[str, Any], plan_answer: str
) -> None:
    importing_nothing = render_test_files(
        {
            "tests/test_core.py": "from counter.core import subtract\n\n\ndef test_x():\n"
            "    assert subtract(3, 2) == 1\n"
        }
    )
    server.script(
        CHAT, _answer(json.dumps(discovery)), _answer(plan_answer), _answer(importing_nothing)
    )
    model = make_model("openai:planner", base_url=f"{server.url}/v1", env={})
    draft = asyncio.run(draft_plan("adds", model, max_attempts=1))
    assert draft.error is not None
    assert draft.error.startswith(
        "tests refused 1 times; last: tests/test_core.py: does not collect"
    )
    assert "subtract" in draft.error


def _mge(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mge", *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=cwd,
        env={"PATH": "/usr/bin:/bin", "HOME": str(cwd or Path.home())},
    )


def test_cli_writes_the_plan_discovery_and_tests(
    server: ScriptedServer, tmp_path: Path, discovery: dict[str, Any], plan_answer: str
) -> None:
    _script_good_run(server, discovery, plan_answer)
    out = tmp_path / "plan.yaml"
    result = _mge(
        "plan", "new", "a library that adds numbers", "--model", "openai:planner",
        "--base-url", f"{server.url}/v1", "-o", str(out), "--json", cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["complete"] and report["summary"]["tasks"] == 1
    assert [s["attempts"] for s in report["cost"]["stages"]] == [2, 1, 2]
    assert load_plan(out).tasks()[0].interface[1] == "def add(a, b) -> int"
    assert json.loads((tmp_path / "plan.discovery.json").read_text())["name"] == "counter"
    assert "add(2, 3) == 5" in (tmp_path / "plan.tests" / "tests" / "test_core.py").read_text()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["   "], "error: the request is empty: say what you want built"),
        (["--from", "missing.md"], "error: cannot read missing.md:"),
        (["x" * 20_001], "error: the request is 20,001 characters; the limit is 20,000"),
        ([], "error: give the request as an argument or with --from FILE, not both"),
    ],
)
def test_bad_requests_fail_in_one_line(tmp_path: Path, args: list[str], message: str) -> None:
    result = _mge("plan", "new", *args, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith(message)
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "plan.yaml").exists()


def test_the_budget_cap_covers_planning_calls(tmp_path: Path) -> None:
    """Replay bills like a real model; a cap below one stage's cost stops the draft
    after that stage, with the budget error, and keeps what was made."""
    reference = Path(__file__).resolve().parents[2] / "examples" / "inventory" / "reference"
    result = _mge(
        "plan", "new", "a stock-keeping library", "--reference", str(reference),
        "--budget-usd", "0.05", "--db", f"sqlite:///{tmp_path / 'mge.db'}", "--json",
        cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 5, result.stderr
    assert result.stderr.startswith("error: budget of $0.0500 reached (spent $0.")
    report = json.loads(result.stdout)
    assert [s["stage"] for s in report["cost"]["stages"]] == ["discovery", "masterplan"]
    assert report["cost"]["stages"][1]["attempts"] == 0
    assert (tmp_path / "plan.discovery.json").is_file() and not (tmp_path / "plan.yaml").exists()


async def test_the_anthropic_provider_drafts_too(
    server: ScriptedServer, discovery: dict[str, Any], plan_answer: str
) -> None:
    server.script(
        MESSAGES,
        *[
            Reply(body=anthropic_body(text, input_tokens=40, output_tokens=20))
            for text in (json.dumps(discovery), plan_answer, GOOD_TESTS)
        ],
    )
    model = make_model(
        "anthropic:planner", base_url=server.url, env={"ANTHROPIC_API_KEY": "test-key"}
    )
    try:
        draft = await draft_plan("a library that adds numbers", model)
    finally:
        await model.aclose()
    assert draft.complete, draft.error
    assert [s.attempts for s in draft.stages] == [1, 1, 1]
    assert draft.cost()["total"]["input_tokens"] == 120
    system = server.requests_to(MESSAGES)[0].body["system"]
    assert "planning stage of a code generator" in json.dumps(system)
