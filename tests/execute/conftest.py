from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest

from mge.db import make_engine, migrate
from mge.execute import build_settings, create_run, execute_run
from mge.llm import Model

EXAMPLE_PLAN = Path(__file__).resolve().parents[2] / "examples" / "inventory" / "plan.yaml"


@pytest.fixture
def example_plan() -> Path:
    return EXAMPLE_PLAN


def run_plan(
    url: str, plan: Path, out: Path, model: Model | None = None, **settings: object
) -> uuid.UUID:
    """Create and execute one run of `plan` on the database at `url`."""
    migrate.upgrade(url)
    engine = make_engine(url)
    try:
        run_id = create_run(engine, plan, build_settings(out_dir=str(out), **settings))
        asyncio.run(execute_run(engine, run_id, model=model))
    finally:
        engine.dispose()
    return run_id


def replay_model(plan: Path) -> Model:
    """The replay model over the plan's `reference/` folder, for wrapping in tests."""
    from mge.atomize import AtomizeConfig
    from mge.execute._reference import PlanReference
    from mge.llm import make_model

    return make_model("replay", reference=PlanReference(plan.parent / "reference", AtomizeConfig()))
