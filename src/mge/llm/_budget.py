"""A hard spending cap shared by every concurrent call of a run.

The execution layer calls `check()` before each model call and `charge()` after;
`BudgetExhausted` from `check()` is its signal to stop starting calls and end the
run as `budget_exhausted`. Calls already in flight when the cap is crossed still
finish and are charged, so a run can overshoot by at most the cost of its
concurrent calls; `check(estimate_usd=...)` narrows that by refusing a call whose
estimated cost would cross the cap.
"""

from __future__ import annotations

import threading
from types import TracebackType

from mge.errors import BudgetExhausted, ConfigError
from mge.llm._types import Model, ModelRequest, ModelResponse

__all__ = ["Budget", "BudgetedModel"]


class Budget:
    """Dollars spent against an optional limit (`None` = no cap, spending still tracked)."""

    def __init__(self, limit_usd: float | None) -> None:
        if limit_usd is not None and limit_usd < 0:
            raise ConfigError(f"budget must be >= 0 dollars, got {limit_usd}")
        self.limit_usd = limit_usd
        self._spent = 0.0
        self._calls = 0
        # A thread lock, not an asyncio one: the critical sections never await, and
        # this keeps the budget safe when runs share it across threads too.
        self._lock = threading.Lock()

    @property
    def spent_usd(self) -> float:
        with self._lock:
            return self._spent

    @property
    def calls(self) -> int:
        with self._lock:
            return self._calls

    @property
    def remaining_usd(self) -> float | None:
        with self._lock:
            return None if self.limit_usd is None else max(self.limit_usd - self._spent, 0.0)

    @property
    def exhausted(self) -> bool:
        with self._lock:
            return self.limit_usd is not None and self._spent >= self.limit_usd

    def check(self, estimate_usd: float = 0.0) -> None:
        """Raise `BudgetExhausted` if the cap is reached or `estimate_usd` would cross it."""
        with self._lock:
            if self.limit_usd is None:
                return
            if self._spent >= self.limit_usd or (
                estimate_usd > 0 and self._spent + estimate_usd > self.limit_usd
            ):
                raise BudgetExhausted(
                    f"budget of ${self.limit_usd:.4f} reached (spent ${self._spent:.4f})"
                )

    def charge(self, response: ModelResponse | float) -> None:
        """Record the cost of a finished call (a response, or a dollar amount)."""
        cost = response if isinstance(response, float | int) else response.cost_usd
        with self._lock:
            self._spent += float(cost)
            self._calls += 1


class BudgetedModel:
    """A model wrapper that checks the budget before each call and charges after."""

    def __init__(self, model: Model, budget: Budget) -> None:
        self.model = model
        self.budget = budget

    @property
    def name(self) -> str:
        return self.model.name

    @property
    def simulated(self) -> bool:
        return self.model.simulated

    async def complete(self, request: ModelRequest) -> ModelResponse:
        self.budget.check()
        response = await self.model.complete(request)
        self.budget.charge(response)
        return response

    async def aclose(self) -> None:
        await self.model.aclose()

    async def __aenter__(self) -> BudgetedModel:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
