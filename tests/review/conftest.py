"""A tiny real project run through the real engine, with a scripted model that makes
known mistakes: one atom never passes atomic validation (so its dependents are
blocked) and one passes every check while being wrong (a silent fault)."""

from __future__ import annotations

import asyncio
import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from mge.atomize import AtomizeConfig
from mge.db import make_engine, migrate
from mge.execute import build_settings, create_run, execute_run
from mge.llm import Model, ModelRequest, ModelResponse, make_model
from mge.llm._reference import PlanReference
from mge.review import rank_after_run

PLAN = Path(__file__).parent / "fixtures" / "shop" / "plan.yaml"
WITH_TAX = "shop/money.py::with_tax#0"
TOTAL = "shop/money.py::total#0"
LABEL = "shop/money.py::label#0"
DISCOUNT = "shop/money.py::discount#0"

BROKEN_WITH_TAX = (
    'def with_tax(net: int) -> int:\n    """The gross price of a net price in cents."""\n'
    "    return net + net * RATE // 100 +\n"
)
FIXED_WITH_TAX = (
    'def with_tax(net: int) -> int:\n    """The gross price of a net price in cents."""\n'
    "    return net + net * RATE // 100\n"
)
WRONG_DISCOUNT = (
    "def discount(net: int, percent: int) -> int:\n"
    '    """A net price after a discount in percent."""\n'
    "    return net + net * percent // 100\n"
)


class Scripted:
    """Replay, except that chosen atoms get a chosen answer on chosen attempts."""

    def __init__(self, wrong: dict[str, tuple[str, set[int]]]) -> None:
        reference = PlanReference(PLAN.parent / "reference", AtomizeConfig())
        self.inner: Model = make_model("replay", reference=reference)
        self.wrong = wrong

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def simulated(self) -> bool:
        return True

    async def complete(self, request: ModelRequest) -> ModelResponse:
        response = await self.inner.complete(request)
        purpose = request.purpose
        if purpose is not None and purpose.target in self.wrong:
            text, attempts = self.wrong[purpose.target]
            if purpose.attempt in attempts:
                return ModelResponse(
                    text=f"```python\n{text}```",
                    input_tokens=response.input_tokens,
                    output_tokens=response.output_tokens,
                    cached_tokens=0,
                    model=response.model,
                    latency_seconds=0.0,
                    cost_usd=response.cost_usd,
                )
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


def run_shop(url: str, out: Path) -> uuid.UUID:
    """The shop plan through the engine: with_tax fails, discount is silently wrong."""
    migrate.upgrade(url)
    engine = make_engine(url)
    try:
        # The review scenarios start from a failed atom whose callers wait for it.
        settings = build_settings(out_dir=str(out), wait_on_failure="any", second_pass=False)
        run_id = create_run(engine, PLAN, settings)
        model = Scripted({WITH_TAX: (BROKEN_WITH_TAX, {1, 2, 3}), DISCOUNT: (WRONG_DISCOUNT, {1})})
        asyncio.run(execute_run(engine, run_id, model=model, after_run=rank_after_run))
    finally:
        engine.dispose()
    return run_id


@dataclass(frozen=True)
class ShopRun:
    url: str
    run_id: uuid.UUID


@pytest.fixture(scope="session")
def _shop_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, uuid.UUID]:
    root = tmp_path_factory.mktemp("shop-template")
    run_id = run_shop(f"sqlite:///{root / 'mge.db'}", root / "out")
    return root / "mge.db", run_id


@pytest.fixture
def shop(tmp_path: Path, _shop_template: tuple[Path, uuid.UUID]) -> ShopRun:
    """A finished shop run in a fresh SQLite file (copied from one real run)."""
    template, run_id = _shop_template
    shutil.copy(template, tmp_path / "mge.db")
    return ShopRun(f"sqlite:///{tmp_path / 'mge.db'}", run_id)


@pytest.fixture
def shop_any(db_url: str, tmp_path: Path) -> ShopRun:
    """A finished shop run on SQLite and on PostgreSQL."""
    return ShopRun(db_url, run_shop(db_url, tmp_path / "out"))


RunFactory = Callable[[str, Path], uuid.UUID]
