"""Concurrency counts model calls, not atoms.

`RunSettings.concurrency` is how many calls a run keeps in flight. An atom holds
one of those slots while it asks the model, and gives it back while its answer is
judged and stored: held across validation, each slot would stand idle for the
checks' time at every attempt, and with a validation worker queueing a hundred
atoms' checks that is a third of the slot's time. Given back, the slot goes at
once to the next ready atom (or to an atom's next attempt).

The slot of the atom a task is working on is held in a context variable, so the
code that calls the model (`Generation._generate`, for the atom itself and for any
regeneration its repair starts) takes and gives it without passing it down.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Callable


class ModelSlot:
    """One atom's claim on the run's model-call slots. The atom starts out wanting a
    slot (the scheduler counted it so when it started the atom)."""

    def __init__(
        self,
        slots: asyncio.Semaphore,
        *,
        wanting: Callable[[int], None],
        holding: Callable[[int], None],
    ) -> None:
        self._slots = slots
        # Told +1/-1 as the atom starts or stops wanting a slot (waiting for one or
        # holding it), and as it takes or gives one back.
        self._wanting = wanting
        self._holding = holding
        self.wants = True
        self.held = False

    async def take(self) -> None:
        """Hold a slot, waiting for one if every slot is taken."""
        if self.held:
            return
        if not self.wants:
            self.wants = True
            self._wanting(+1)
        try:
            await self._slots.acquire()
        except BaseException:
            self.wants = False
            self._wanting(-1)
            raise
        self.held = True
        self._holding(+1)

    def give_back(self) -> None:
        """Give the slot back (if held) and stop wanting one."""
        if self.held:
            self.held = False
            self._slots.release()
            self._holding(-1)
        if self.wants:
            self.wants = False
            self._wanting(-1)


#: The slot of the atom the current task works on (None outside the schedule).
current_slot: contextvars.ContextVar[ModelSlot | None] = contextvars.ContextVar(
    "current_slot", default=None
)
