"""Fixtures for the model layer: the loopback server and a recording sleep."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from mge.llm.testing import ScriptedServer, SleepRecorder


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    scripted = ScriptedServer()
    scripted.start()
    yield scripted
    scripted.stop()


@pytest.fixture
def sleeps() -> SleepRecorder:
    return SleepRecorder()
