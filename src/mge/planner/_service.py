"""`mge plan new`: a request becomes a discovery document, a masterplan, and tests first.

Three model calls, each with its own prompt (files in `prompts/`), each answer
judged by the pure rules of `mge.plan._drafting`. A refused answer is sent back
with its field errors, up to `max_attempts` times per stage; every call is charged
to the budget and counted for its stage. The third stage runs the tests against
the plan's stub skeleton in the sandbox: a test that does not collect, or passes
there, is sent back.

A stage that still fails ends the draft with its error; what was generated so far
stays in the `Draft`, so the caller can store it and the person can pick it up.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from string import Template
from typing import Any, TypeVar

from mge.errors import MgeError
from mge.llm import Budget, Message, Model, ModelRequest, ModelResponse, Purpose
from mge.llm._types import PurposeKind
from mge.plan import Plan, dump_plan
from mge.plan._drafting import (
    Discovery,
    DraftIssue,
    DraftRejected,
    parse_discovery,
    parse_masterplan,
    parse_test_files,
    planned_tests,
    stub_files,
    vacuous_tests,
)
from mge.validate.testing import TestOutcome, run_pytest

__all__ = ["Draft", "StageCost", "TestRunner", "draft_plan", "stub_verdict"]

T = TypeVar("T")

#: Runs tests (paths relative to a root) and reports per-test verdicts.
TestRunner = Callable[[Path, list[str]], TestOutcome]


@cache
def _template(name: str) -> Template:
    text = resources.files("mge.planner").joinpath("prompts", f"{name}.md").read_text("utf-8")
    return Template(text)


def _render(template: str, **values: object) -> str:
    return _template(template).safe_substitute({k: str(v) for k, v in values.items()})


@dataclass
class StageCost:
    """What one stage cost: its model calls, their tokens and dollars."""

    stage: str
    attempts: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0
    cost_usd: float = 0.0
    ok: bool = False

    def add(self, response: ModelResponse) -> None:
        self.attempts += 1
        self.input_tokens += response.input_tokens
        self.output_tokens += response.output_tokens
        self.cached_tokens += response.cached_tokens
        self.cost_usd += response.cost_usd


@dataclass
class Draft:
    """Everything a `plan new` produced, complete or not; `error` says where it stopped."""

    request: str
    model: str
    simulated: bool
    discovery: Discovery | None = None
    plan: Plan | None = None
    tests: dict[str, str] = field(default_factory=dict)
    stages: list[StageCost] = field(default_factory=list)
    error: str | None = None
    # The error that stopped it, so the CLI exits with that error's code.
    failure: MgeError | None = None

    @property
    def complete(self) -> bool:
        return self.error is None and self.plan is not None and bool(self.tests)

    def cost(self) -> dict[str, Any]:
        """Tokens and dollars per stage and in total, as the reports show them."""
        total = {
            key: sum(getattr(s, key) for s in self.stages)
            for key in ("input_tokens", "output_tokens", "cached_tokens", "cost_usd")
        }
        return {"stages": [asdict(s) for s in self.stages], "total": total}


def stub_verdict(plan: Plan, tests: dict[str, str], runner: TestRunner) -> list[DraftIssue]:
    """Problems of `tests` run against the plan's stub skeleton: files that do not
    collect, tests that pass (vacuous), or no test at all."""
    with tempfile.TemporaryDirectory(prefix="mge-stubs-") as name:
        root = Path(name)
        for path, text in {**stub_files(plan), **tests}.items():
            target = root / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        outcome = runner(root, sorted(tests))
    issues: list[DraftIssue] = []
    for failure in outcome.failures:
        if failure.nodeid not in outcome.verdicts:
            if "NotImplementedError" in failure.text + failure.message:
                continue  # it ran the stubs at import and failed, as it should
            issues.append(
                DraftIssue(
                    failure.nodeid or failure.test,
                    f"does not collect: {_reason(failure.message or failure.text, outcome.output)}",
                )
            )
    for nodeid in vacuous_tests(outcome.verdicts):
        issues.append(DraftIssue(nodeid, "passes against the empty skeleton, so it checks nothing"))
    if not issues and not outcome.verdicts:
        issues.append(DraftIssue("", "no test ran"))
    return issues


def _reason(message: str, output: str) -> str:
    """The line that says why: pytest's first `E ` line when the session itself broke
    (a conftest that cannot import), else the failure's last line."""
    for line in (message + "\n" + output).splitlines():
        if line.startswith("E "):
            return line[1:].strip()
    lines = message.strip().splitlines()
    return lines[-1] if lines else "no output"


def sandbox_runner(root: Path, tests: list[str]) -> TestOutcome:
    return run_pytest(root, tests, timeout=120.0, per_test_timeout=10.0)


async def _stage(
    stage: str,
    prompt: str,
    judge: Callable[[str], T],
    *,
    model: Model,
    budget: Budget,
    cost: StageCost,
    max_attempts: int,
    kind: PurposeKind,
    target: str,
) -> T:
    """Ask, judge, and send a refused answer back with its problems."""
    system = _render("system")
    messages = [Message("user", prompt)]
    last: DraftRejected | None = None
    for attempt in range(1, max_attempts + 1):
        budget.check()
        request = ModelRequest(
            system=system,
            messages=tuple(messages),
            max_tokens=8192,
            purpose=Purpose(kind, target, attempt=attempt),
        )
        response = await model.complete(request)
        budget.charge(response)
        cost.add(response)
        try:
            result = await asyncio.to_thread(judge, response.text)
        except DraftRejected as exc:
            last = exc
            listing = "\n".join(f"- {issue}" for issue in exc.issues[:30])
            messages += [
                Message("assistant", response.text),
                Message("user", _render("retry", issues=listing, stage=stage)),
            ]
            continue
        cost.ok = True
        return result
    assert last is not None
    raise DraftRejected(
        f"{stage} refused {max_attempts} times; last",
        last.issues,
    )


async def draft_plan(
    request: str,
    model: Model,
    *,
    budget: Budget | None = None,
    max_attempts: int = 3,
    runner: TestRunner = sandbox_runner,
) -> Draft:
    """Run the three stages; a stage that fails for good ends the draft with its error."""
    budget = budget or Budget(None)
    draft = Draft(request=request, model=model.name, simulated=model.simulated)

    async def run(stage: str, kind: PurposeKind, prompt: str, judge: Callable[[str], T]) -> T:
        cost = StageCost(stage)
        draft.stages.append(cost)
        return await _stage(
            stage,
            prompt,
            judge,
            model=model,
            budget=budget,
            cost=cost,
            max_attempts=max_attempts,
            kind=kind,
            target="request",
        )

    try:
        draft.discovery = await run(
            "discovery", "discovery", _render("discovery", request=request), parse_discovery
        )
        discovery_json = draft.discovery.model_dump_json(indent=2)
        plan: Plan = await run(
            "masterplan",
            "masterplan",
            _render("masterplan", discovery=discovery_json, name=draft.discovery.name),
            parse_masterplan,
        )
        draft.plan = plan

        def judge_tests(answer: str) -> dict[str, str]:
            files = parse_test_files(answer, plan)
            issues = stub_verdict(plan, files, runner)
            if issues:
                raise DraftRejected("tests", issues)
            return files

        draft.tests = await run(
            "tests",
            "tests",
            _render(
                "tests",
                discovery=discovery_json,
                plan=dump_plan(plan),
                files=", ".join(planned_tests(plan)),
            ),
            judge_tests,
        )
    except MgeError as exc:
        draft.error = str(exc)
        draft.failure = exc
    return draft


def discovery_text(discovery: Discovery) -> str:
    """The document as the JSON it is stored and edited as."""
    return json.dumps(discovery.model_dump(mode="json"), indent=2) + "\n"
