"""A hard spending cap shared by every concurrent call of a run.

Each call reserves its worst-case cost (its prompt and its `max_tokens` of output
at the price table) before it is made, and settles the reservation with its real
cost afterwards. Spent plus reserved never passes the cap, so calls running at
the same time (skeletons, atoms, blame regenerations) cannot overshoot it
together, which checking the spent total alone allowed. A call that does not fit
while others are in flight waits for them to settle, because their real costs are
usually far below their reservations; a call that cannot fit even when nothing is
in flight raises `BudgetExhausted`, the execution layer's signal to stop cleanly.
"""

from __future__ import annotations

import asyncio
import math
import threading
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Protocol, runtime_checkable

from mge.errors import BudgetExhausted, ConfigError
from mge.llm._types import Model, ModelRequest, ModelResponse

__all__ = [
    "Budget",
    "BudgetedModel",
    "PricedModel",
    "Reservation",
    "check_dollars",
    "worst_case_usd",
]


def check_dollars(what: str, value: float | None) -> float | None:
    """`value` when it is a finite, non-negative amount (or None); a one-line
    `ConfigError` otherwise, since `nan` compares false with every cap and would
    silently remove it, and an infinite or negative cap is no cap at all."""
    if value is None:
        return None
    if not math.isfinite(value) or value < 0:
        raise ConfigError(f"{what} must be a finite amount of dollars >= 0, got {value}")
    return value


@runtime_checkable
class PricedModel(Protocol):
    """A model that can say what a request costs at most before sending it."""

    def worst_case_usd(self, request: ModelRequest) -> float: ...


def worst_case_usd(model: Model, request: ModelRequest) -> float:
    """The most `request` can cost on `model`; 0.0 for a model that has no prices
    (a local server, a test double): such calls reserve nothing but still stop at
    the cap."""
    # `getattr`, not `isinstance(model, PricedModel)`: a runtime protocol check
    # walks the protocol's members on every call, and every model call makes one.
    priced = getattr(model, "worst_case_usd", None)
    return float(priced(request)) if callable(priced) else 0.0


@dataclass(slots=True)
class Reservation:
    """Dollars held for one call until it settles."""

    amount_usd: float
    open: bool = True


class Budget:
    """Dollars spent against an optional limit (`None` = no cap, spending still tracked)."""

    def __init__(self, limit_usd: float | None) -> None:
        self.limit_usd = check_dollars("the budget", limit_usd)
        self._spent = 0.0
        self._reserved = 0.0
        self._calls = 0
        # A thread lock, not an asyncio one: the critical sections never await, and
        # this keeps the budget safe when runs share it across threads too.
        self._lock = threading.Lock()
        self._waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = []

    @property
    def spent_usd(self) -> float:
        with self._lock:
            return self._spent

    @property
    def reserved_usd(self) -> float:
        with self._lock:
            return self._reserved

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

    def _refusal(self, estimate_usd: float) -> BudgetExhausted | None:
        """Why a call costing up to `estimate_usd` can never fit (lock held)."""
        if self.limit_usd is None:
            return None
        if self._spent >= self.limit_usd or self._spent + estimate_usd > self.limit_usd:
            return BudgetExhausted(
                f"budget of ${self.limit_usd:.4f} reached (spent ${self._spent:.4f}, "
                f"the next call may cost up to ${estimate_usd:.4f})"
            )
        return None

    def check(self, estimate_usd: float = 0.0) -> None:
        """Raise `BudgetExhausted` if the cap is reached or `estimate_usd` would cross it."""
        with self._lock:
            refusal = self._refusal(max(estimate_usd, 0.0))
        if refusal is not None:
            raise refusal

    def try_reserve(self, estimate_usd: float) -> Reservation | None:
        """A reservation if the call fits now, None if it fits only once calls in
        flight settle; `BudgetExhausted` if it cannot fit at all."""
        estimate = max(float(estimate_usd), 0.0)
        with self._lock:
            refusal = self._refusal(estimate)
            if refusal is not None:
                raise refusal
            if (
                self.limit_usd is not None
                and self._spent + self._reserved + estimate > self.limit_usd
            ):
                return None
            self._reserved += estimate
            return Reservation(estimate)

    async def reserve(self, estimate_usd: float) -> Reservation:
        """Wait until a call costing up to `estimate_usd` fits under the cap and hold
        that much for it; `BudgetExhausted` as soon as it can no longer fit."""
        loop = asyncio.get_running_loop()
        while True:
            waiter: asyncio.Future[None] = loop.create_future()
            with self._lock:
                # Registered under the lock, so a settlement between this check and
                # the await still wakes us.
                self._waiters.append((loop, waiter))
            reservation = self.try_reserve(estimate_usd)
            if reservation is not None:
                self._forget(waiter)
                return reservation
            try:
                await waiter
            finally:
                self._forget(waiter)

    def _forget(self, waiter: asyncio.Future[None]) -> None:
        with self._lock:
            self._waiters = [(loop, w) for loop, w in self._waiters if w is not waiter]

    def settle(self, reservation: Reservation, cost_usd: float | None) -> None:
        """Close `reservation`: charge the call's real cost, or nothing (`None`) for
        a call that was never answered; either way the held amount is freed."""
        with self._lock:
            if reservation.open:
                reservation.open = False
                self._reserved = max(self._reserved - reservation.amount_usd, 0.0)
            if cost_usd is not None:
                self._spent += float(cost_usd)
                self._calls += 1
            waiters, self._waiters = self._waiters, []
        for loop, waiter in waiters:
            loop.call_soon_threadsafe(_wake, waiter)

    async def call(
        self, model: Model, request: ModelRequest, *, go: Callable[[], None] | None = None
    ) -> ModelResponse:
        """`model.complete(request)` held against the cap: reserve its worst case
        (waiting for room), run `go` (a last check that may raise, e.g. a stop asked
        while waiting), call, and settle with the real cost; a call that raises is
        settled at nothing."""
        reservation = await self.reserve(worst_case_usd(model, request))
        try:
            if go is not None:
                go()
            response = await model.complete(request)
        except BaseException:
            self.settle(reservation, None)
            raise
        self.settle(reservation, response.cost_usd)
        return response

    def charge(self, response: ModelResponse | float) -> None:
        """Record the cost of a finished call (a response, or a dollar amount)."""
        cost = response if isinstance(response, float | int) else response.cost_usd
        self.settle(Reservation(0.0, open=False), float(cost))


def _wake(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


class BudgetedModel:
    """A model wrapper that reserves each call's worst case and settles after it."""

    def __init__(self, model: Model, budget: Budget) -> None:
        self.model = model
        self.budget = budget

    @property
    def name(self) -> str:
        return self.model.name

    @property
    def simulated(self) -> bool:
        return self.model.simulated

    def worst_case_usd(self, request: ModelRequest) -> float:
        return worst_case_usd(self.model, request)

    async def complete(self, request: ModelRequest) -> ModelResponse:
        return await self.budget.call(self.model, request)

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
