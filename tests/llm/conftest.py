"""Fixtures for the model layer: the loopback server and a recording sleep."""

from __future__ import annotations

import pytest

from mge.llm.testing import SleepRecorder


@pytest.fixture
def sleeps() -> SleepRecorder:
    return SleepRecorder()
