from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from mge.db import make_engine, migrate
from mge.db.models import AtomicUnit, ValidationResult
from mge.execute import build_settings, create_run, execute_run
from mge.llm import Model, ModelRequest, ModelResponse
from mge.review import rank_after_run

EXAMPLE_PLAN = Path(__file__).resolve().parents[2] / "examples" / "inventory" / "plan.yaml"


@pytest.fixture
def example_plan() -> Path:
    return EXAMPLE_PLAN


def mge_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The real `mge` command in a fresh interpreter, as a user runs it."""
    return subprocess.run(
        [sys.executable, "-m", "mge", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=600,
        env={**os.environ, "NO_COLOR": "1"},
    )


def run_plan(
    url: str, plan: Path, out: Path, model: Model | None = None, **settings: object
) -> uuid.UUID:
    """Create and execute one run of `plan` on the database at `url`."""
    migrate.upgrade(url)
    engine = make_engine(url)
    try:
        run_id = create_run(engine, plan, build_settings(out_dir=str(out), **settings))
        asyncio.run(execute_run(engine, run_id, model=model, after_run=rank_after_run))
    finally:
        engine.dispose()
    return run_id


def verdict_rows(url: str, run_id: uuid.UUID) -> list[tuple[str, int, str, bool, str | None]]:
    """Every check the run stored, sorted: atom, attempt, check, passed, output."""
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            rows = session.execute(
                select(
                    AtomicUnit.atom_key,
                    ValidationResult.attempt_number,
                    ValidationResult.check_name,
                    ValidationResult.passed,
                    ValidationResult.output,
                )
                .join(AtomicUnit, AtomicUnit.id == ValidationResult.atom_id)
                .where(ValidationResult.run_id == run_id)
            ).all()
        return sorted((str(k), int(n), str(c), bool(p), o) for k, n, c, p, o in rows)
    finally:
        engine.dispose()


def replay_model(plan: Path) -> Model:
    """The replay model over the plan's `reference/` folder, for wrapping in tests."""
    from mge.atomize import AtomizeConfig
    from mge.llm import make_model
    from mge.llm._reference import PlanReference

    return make_model("replay", reference=PlanReference(plan.parent / "reference", AtomizeConfig()))


class InstrumentedModel:
    """Wraps a model: counts calls in flight, notes the order atoms are asked for,
    and can refuse one atom, for good or for its first `refusals` requests."""

    def __init__(
        self, inner: Model, *, broken: str | None = None, refusals: int | None = None
    ) -> None:
        self.inner = inner
        self.broken = broken
        self.refusals = refusals
        self.in_flight = 0
        self.peak = 0
        self.atoms: list[str] = []

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def simulated(self) -> bool:
        return self.inner.simulated

    async def complete(self, request: ModelRequest) -> ModelResponse:
        if request.purpose is not None and request.purpose.kind == "atom":
            self.atoms.append(request.purpose.target)
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        try:
            await asyncio.sleep(0.002)
            response = await self.inner.complete(request)
        finally:
            self.in_flight -= 1
        if request.purpose is not None and request.purpose.target == self.broken:
            if self.refusals is not None:
                if self.refusals <= 0:
                    return response
                self.refusals -= 1
            return ModelResponse(
                text="I cannot write this.",
                input_tokens=10,
                output_tokens=5,
                cached_tokens=0,
                model=self.name,
                latency_seconds=0.0,
                cost_usd=0.0,
            )
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


def send_chat_completion(
    handler: BaseHTTPRequestHandler, model: str, answer: str, usage: dict[str, Any]
) -> None:
    """Answer a loopback OpenAI chat-completions request as the real API does."""
    payload = {
        "id": "x",
        "object": "chat.completion",
        "created": 0,
        "model": model,
        "choices": [
            {
                "index": 0,
                "finish_reason": "stop",
                "message": {"role": "assistant", "content": answer},
            }
        ],
        "usage": usage,
    }
    data = json.dumps(payload).encode()
    handler.send_response(200)
    handler.send_header("content-type", "application/json")
    handler.send_header("content-length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)
