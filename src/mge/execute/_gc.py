"""The cyclic collector frozen while runs generate, shared by every run in the process.

`gc.freeze()` and `gc.unfreeze()` act on the whole interpreter: in the service
several runs generate at once, and a run that unfroze on its way out would hand
every other run's long-lived objects back to the collector halfway through their
generation. So runs count themselves in and out under one lock: each one freezes
what exists when it starts (its own plan and rows included), and only the last to
leave unfreezes.
"""

from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import Iterator

__all__ = ["collector_frozen", "frozen_runs"]

_lock = threading.Lock()
_inside = 0


def frozen_runs() -> int:
    """How many runs are inside `collector_frozen` now."""
    with _lock:
        return _inside


@contextlib.contextmanager
def collector_frozen() -> Iterator[None]:
    """Generation with the objects that exist before it (plan, graph, atom rows,
    parsed references: hundreds of thousands on a big plan) moved out of the cyclic
    garbage collector's sight. Every attempt allocates syntax trees, and each full
    collection would walk all of those long-lived objects again: on a 2,000-atom
    plan that was over a third of the engine's CPU time. Objects made during
    generation are collected as usual; the frozen ones are handed back when the
    last run in the process leaves."""
    global _inside
    with _lock:
        _inside += 1
        # The young generations only: a full collection walks every object the
        # run loaded (566,000 on a 3,000-atom plan: 0.15 s, 7% of its generation)
        # and found nothing there, since the collector ran as they were loaded.
        gc.collect(1)
        gc.freeze()
    try:
        yield
    finally:
        with _lock:
            _inside -= 1
            if _inside == 0:
                gc.unfreeze()
