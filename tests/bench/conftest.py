"""The bench's tests import `bench`, which lives at the repository's root beside
`src/` and is not installed: the root goes on the import path once, here."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bench.scheduler._drive import EngineRun

_REPO = str(Path(__file__).resolve().parents[2])
if _REPO not in sys.path:
    sys.path.insert(0, _REPO)


def engine_run(**changes: Any) -> EngineRun:
    """An engine run with made-up figures: 4,000 atoms, 10 s, 12 s of CPU (6 driver,
    5 started, 1 database), the machine busy 17 s; `changes` replaces any field."""
    from bench.scheduler._drive import EngineRun  # once the root is on the path

    figures: dict[str, Any] = {
        "executor": "ray",
        "status": "completed",
        "atoms": 4000,
        "completed": 4000,
        "attempts": 4000,
        "generate_seconds": 10.0,
        "total_seconds": 20.0,
        "driver_cpu_seconds": 6.0,
        "children_cpu_seconds": 5.0,
        "database_cpu_seconds": 1.0,
        "machine_busy_seconds": 17.0,
        "max_in_flight": 100,
        "validation_seconds": 0.0,
    }
    return EngineRun(**{**figures, **changes})
