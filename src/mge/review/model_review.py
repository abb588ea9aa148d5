"""A model's review of a queued atom, shown beside the static findings.

Only a real model is asked (`anthropic:NAME` or `openai:NAME`: the review setting,
else `MGE_REVIEW_MODEL`, else the run's model): the replay model answers from the
reference code, so its "review" would say nothing. The answer is parsed into a
verdict and findings with atom-relative lines and stored on the item (the findings
in `ai_suggestions` with source "model", the rest in `evidence["model_review"]`,
with the model, tokens and cost), keyed by a hash of the code it judged: viewing
the item again reuses it, and an edit or a regeneration asks again. The cost is
added to the run's totals, so it counts against the run's budget, and no call is
made once that budget is spent.

A provider failure or an unusable answer never fails the view: it is stored as a
note (so a broken provider is not called on every page view) and asked again only
on request (`mge review show ID --ask-model`, `POST .../model-review`).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from string import Template
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from mge.db.base import utcnow
from mge.db.models import GenerationRun, HumanReviewQueue
from mge.errors import BudgetExhausted, MgeError, NotFound
from mge.llm import (
    Budget,
    MalformedResponse,
    Model,
    ModelRequest,
    ModelResponse,
    Purpose,
    worst_case_usd,
)
from mge.llm import make_model as _make_model
from mge.review.queue import MODEL_SOURCE, ReviewSettings, run_of
from mge.review.suggestions import atom_suggestions

__all__ = [
    "MAX_FINDINGS",
    "ParsedReview",
    "ensure_model_review",
    "model_review_view",
    "parse_answer",
    "review_prompt",
]

#: At most this many findings are kept from one answer.
MAX_FINDINGS = 12
_REAL_PREFIXES = ("anthropic:", "openai:")
_VERDICTS = {
    "ok": "ok",
    "correct": "ok",
    "pass": "ok",
    "approve": "ok",
    "suspect": "suspect",
    "doubtful": "suspect",
    "unsure": "suspect",
    "wrong": "wrong",
    "incorrect": "wrong",
    "fail": "wrong",
    "bug": "wrong",
}
_SEVERITIES = ("error", "warning", "info")
_SYSTEM = (
    "You review small pieces of generated Python for a human reviewer. You are terse, "
    "concrete and you answer with one JSON object."
)
_EVIDENCE_CHARS = 3000


@dataclass(frozen=True)
class ParsedReview:
    """What a model's answer says: a verdict, a summary and findings as suggestion dicts."""

    verdict: str
    summary: str
    findings: list[dict[str, Any]]


def _sha(code: str | None) -> str:
    return hashlib.sha256((code or "").encode("utf-8")).hexdigest()


@cache
def _template() -> Template:
    path = resources.files("mge.review").joinpath("prompts", "model_review.md")
    return Template(path.read_text("utf-8"))


def _evidence_text(item: HumanReviewQueue) -> str:
    atom = item.atom
    lines = [
        f"- status: {atom.status.value}, attempts: {atom.attempts}",
        f"- queued: {item.reason}",
    ]
    confidence = (item.evidence or {}).get("confidence") or {}
    if isinstance(confidence, dict) and confidence:
        components = confidence.get("components") or {}
        reasons = ", ".join(f"{k} {v}" for k, v in sorted(components.items())) or "none"
        lines.append(f"- confidence {item.confidence_score:.2f}; reasons for doubt: {reasons}")
    blame = (item.evidence or {}).get("blame") or (
        item.evidence if (item.evidence or {}).get("level") else None
    )
    if isinstance(blame, dict) and blame.get("level"):
        lines.append(f"- blamed by {blame['level']} validation:\n{blame.get('failure')!s}")
    if atom.last_error:
        lines.append(f"- last errors:\n{atom.last_error}")
    return "\n".join(lines)[:_EVIDENCE_CHARS]


def review_prompt(item: HumanReviewQueue, static: list[dict[str, Any]]) -> str:
    """The question put to the model: the code with its contract, evidence and findings."""
    atom = item.atom
    code = atom.code or ""
    numbered = "\n".join(f"{n:>3} | {line}" for n, line in enumerate(code.splitlines(), 1))
    shown = [
        f"- line {s.get('line', 0)} [{s.get('severity')}] {s.get('message')}"
        for s in static
        if s.get("source") != MODEL_SOURCE
    ]

    def listing(values: list[str] | None) -> str:
        return "; ".join(values) if values else "none"

    return _template().safe_substitute(
        atom_key=atom.atom_key,
        kind=atom.kind.replace("_", " "),
        file=atom.file_path,
        signature=atom.signature or "none",
        preconditions=listing(atom.context_preconditions),
        postconditions=listing(atom.context_postconditions),
        callees=listing(atom.context_callees),
        imports=listing(atom.context_imports),
        language=atom.language or "python",
        numbered_code=numbered or "(no code)",
        evidence=_evidence_text(item),
        findings="\n".join(shown) or "none",
        max_findings=str(MAX_FINDINGS),
    )


def _finding(raw: object, lines: int) -> dict[str, Any] | None:
    if not isinstance(raw, dict):
        return None
    message = raw.get("message")
    if not isinstance(message, str) or not message.strip():
        return None
    try:
        line = int(raw.get("line") or 0)
    except (TypeError, ValueError):
        line = 0
    severity = str(raw.get("severity") or "").lower()
    return {
        "source": MODEL_SOURCE,
        "severity": severity if severity in _SEVERITIES else "warning",
        "line": line if 0 <= line <= lines else 0,
        "message": message.strip()[:400],
    }


def parse_answer(text: str, *, lines: int) -> ParsedReview:
    """The first JSON object with a `verdict` in the answer, prose and fences around it
    ignored. Lines outside the atom become 0 (the whole atom).

    Raises:
        MalformedResponse: no such object, or a verdict that is none of ok / suspect /
            wrong (or a common synonym).
    """
    decoder = json.JSONDecoder()
    for match in re.finditer(r"\{", text):
        try:
            value, _ = decoder.raw_decode(text, match.start())
        except json.JSONDecodeError:
            continue
        if not isinstance(value, dict) or "verdict" not in value:
            continue
        verdict = _VERDICTS.get(str(value["verdict"]).strip().lower())
        if verdict is None:
            raise MalformedResponse(
                f"the verdict {str(value['verdict'])[:40]!r} is not one of ok, suspect, wrong"
            )
        raw_findings = value.get("findings")
        findings = [
            found
            for found in (
                _finding(raw, lines)
                for raw in (raw_findings if isinstance(raw_findings, list) else [])
            )
            if found is not None
        ][:MAX_FINDINGS]
        summary = value.get("summary")
        return ParsedReview(
            verdict, summary.strip()[:1000] if isinstance(summary, str) else "", findings
        )
    raise MalformedResponse("the answer holds no JSON object with a verdict")


def _spec(
    session: Session, item: HumanReviewQueue, settings: ReviewSettings
) -> tuple[str, str | None, GenerationRun]:
    """The model that reviews: the setting, else `MGE_REVIEW_MODEL` (with
    `MGE_REVIEW_BASE_URL`), else the run's own model and base URL."""
    run = run_of(session, _run_id(session, item))
    if settings.model:
        return settings.model, settings.model_base_url, run
    chosen = os.environ.get("MGE_REVIEW_MODEL", "").strip()
    if chosen:
        return chosen, os.environ.get("MGE_REVIEW_BASE_URL") or None, run
    run_settings = run.settings or {}
    return str(run_settings.get("model") or run.model), run_settings.get("base_url"), run


def _run_id(session: Session, item: HumanReviewQueue) -> str:
    """The run recorded at queueing, else the plan's latest run."""
    recorded = (item.evidence or {}).get("run_id")
    if recorded:
        return str(recorded)
    latest = session.scalar(
        select(GenerationRun.id)
        .where(GenerationRun.masterplan_id == item.masterplan_id)
        .order_by(GenerationRun.created_at.desc())
    )
    if latest is None:
        raise NotFound(f"review {item.id} belongs to no run")
    return str(latest)


def model_review_view(
    session: Session, item: HumanReviewQueue, settings: ReviewSettings | None = None
) -> dict[str, Any]:
    """What the reviewer is told about the model review, without calling any model.

    `status` is `done`, `error` (a stored failure note), `skipped` (no real model, or
    the budget is spent) or `not_asked`; `current` says whether a stored review was
    made for the atom's current code.
    """
    settings = settings or ReviewSettings()
    stored = (item.evidence or {}).get("model_review")
    if isinstance(stored, dict) and stored.get("status") in ("done", "error"):
        current = stored.get("code_sha256") == _sha(item.atom.code)
        view = {**stored, "current": current}
        if not current:
            view["note"] = "made for earlier code of this atom; it will be asked again"
        return view
    try:
        spec, _base, _run = _spec(session, item, settings)
    except MgeError as error:
        return {"status": "skipped", "current": False, "note": f"not made: {error.message}"}
    if not spec.startswith(_REAL_PREFIXES):
        return {
            "status": "skipped",
            "current": False,
            "model": spec,
            "note": f"not made: the run's model is {spec!r}, not a real model "
            "(configure anthropic:NAME or openai:NAME)",
        }
    return {"status": "not_asked", "current": False, "model": spec, "note": "not asked yet"}


def _store(
    item: HumanReviewQueue,
    record: dict[str, Any],
    findings: list[dict[str, Any]],
) -> None:
    static = [s for s in item.ai_suggestions or [] if s.get("source") != MODEL_SOURCE]
    item.ai_suggestions = static + findings
    item.evidence = {**(item.evidence or {}), "model_review": record}


def _charge(session: Session, run: GenerationRun, response: ModelResponse) -> None:
    """Add the call to the run's totals in one UPDATE, so a run resumed later (or an
    engine writing its own totals meanwhile) counts it against the same budget."""
    session.execute(
        update(GenerationRun)
        .where(GenerationRun.id == run.id)
        .values(
            cost_usd=GenerationRun.cost_usd + response.cost_usd,
            input_tokens=GenerationRun.input_tokens + response.input_tokens,
            output_tokens=GenerationRun.output_tokens + response.output_tokens,
            cached_tokens=GenerationRun.cached_tokens + response.cached_tokens,
        )
        .execution_options(synchronize_session=False)
    )


async def _ask(model: Model, request: ModelRequest, close: bool) -> ModelResponse:
    try:
        return await model.complete(request)
    finally:
        if close:
            await model.aclose()


def ensure_model_review(
    session: Session,
    item: HumanReviewQueue,
    *,
    settings: ReviewSettings | None = None,
    model: Model | None = None,
    force: bool = False,
) -> dict[str, Any]:
    """Make the model review of the item's current code if none is stored (or `force`),
    and return what `model_review_view` shows. Never raises for provider trouble.

    `model` replaces the one the spec names (the caller keeps ownership of it).
    Must not run inside an event loop (it drives the async model with asyncio.run).
    Flushes; the caller commits.
    """
    settings = settings or ReviewSettings()
    view = model_review_view(session, item, settings)
    if view["status"] == "skipped":
        return view
    if view.get("current") and not force:
        return view
    spec, base_url, run = _spec(session, item, settings)
    budget = Budget((run.settings or {}).get("budget_usd"))
    budget.charge(float(run.cost_usd or 0.0))
    if budget.exhausted:
        return {
            **view,
            "status": "skipped",
            "current": False,
            "note": f"not made: the run's budget of ${budget.limit_usd:.2f} is spent",
        }
    if model is None:
        try:
            chosen: Model = _make_model(
                spec,
                base_url=base_url,
                timeout=settings.model_timeout_seconds,
                max_transport_retries=settings.model_retries,
            )
        except MgeError as error:
            return {
                **view,
                "status": "skipped",
                "current": False,
                "note": f"not made: {error.message}",
            }
    else:
        chosen = model
    code = item.atom.code or ""
    static = [s for s in item.ai_suggestions or [] if s.get("source") != MODEL_SOURCE]
    if not static:
        static = [s.to_dict() for s in atom_suggestions(session, item.atom)]
    request = ModelRequest.single(
        review_prompt(item, static),
        system=_SYSTEM,
        max_tokens=2000,
        purpose=Purpose("other", item.atom.atom_key),
    )
    try:
        # Its worst case must fit what the run has left, as for the engine's calls.
        budget.check(worst_case_usd(chosen, request))
    except BudgetExhausted as refused:
        if model is None:
            asyncio.run(chosen.aclose())
        return {**view, "status": "skipped", "current": False, "note": f"not made: {refused}"}
    record: dict[str, Any] = {
        "model": spec,
        "code_sha256": _sha(code),
        "at": utcnow().isoformat(),
        "verdict": None,
        "summary": "",
        "input_tokens": 0,
        "output_tokens": 0,
        "cost_usd": 0.0,
    }
    findings: list[dict[str, Any]] = []
    try:
        response = asyncio.run(_ask(chosen, request, close=model is None))
    except MgeError as error:
        record.update(status="error", note=f"the model review failed: {error.message}")
    else:
        _charge(session, run, response)
        record.update(
            answered_by=response.model,
            input_tokens=response.input_tokens,
            output_tokens=response.output_tokens,
            cost_usd=round(response.cost_usd, 6),
        )
        try:
            parsed = parse_answer(response.text, lines=len(code.splitlines()))
        except MalformedResponse as error:
            record.update(
                status="error",
                note=f"the model's answer was not a usable review ({error.message}); "
                f"it began: {response.text[:160]!r}",
            )
        else:
            findings = parsed.findings
            record.update(status="done", verdict=parsed.verdict, summary=parsed.summary, note="")
    _store(item, record, findings)
    session.flush()
    return model_review_view(session, item, settings)
