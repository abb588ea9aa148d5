from __future__ import annotations

from pathlib import Path

import pytest

EXAMPLE_PLAN = Path(__file__).resolve().parents[2] / "examples" / "inventory" / "plan.yaml"


@pytest.fixture
def example_plan() -> Path:
    return EXAMPLE_PLAN
