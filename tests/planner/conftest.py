"""A tiny project the planning tests script a model with: one task that adds numbers."""

from __future__ import annotations

from typing import Any

import pytest

COUNTER_DISCOVERY: dict[str, Any] = {
    "name": "counter",
    "summary": "Add numbers.",
    "goals": ["add two numbers"],
    "use_cases": [{"name": "add", "description": "add 2 and 3 to get 5"}],
    "interfaces": [{"kind": "library", "name": "counter.core"}],
    "entities": [{"name": "Counter", "fields": [{"name": "value", "type": "int"}]}],
}

COUNTER_PLAN = """```yaml
version: 1
name: counter
acceptance: [tests/test_core.py]
phases:
  - name: Core
    milestones:
      - name: Arithmetic
        tests: [tests/test_core.py]
        tasks:
          - id: counter.core
            name: Adding
            files: [counter/core.py]
            interface: ["class Counter", "def add(a, b) -> int", "LIMIT: int = 10"]
            complexity: low
            tests: [tests/test_core.py]
```
"""


@pytest.fixture
def discovery() -> dict[str, Any]:
    """The discovery document of the counter project, as a model would send it."""
    return dict(COUNTER_DISCOVERY)


@pytest.fixture
def plan_answer() -> str:
    """The counter project's masterplan, as a model's fenced YAML answer."""
    return COUNTER_PLAN
