"""A failing progress sink neither stops the run nor fails in silence."""

from __future__ import annotations

import logging

import pytest

from mge.execute import FanOut


class Broken:
    def event(self, kind: str, **data: object) -> None:
        raise KeyError(kind)


class Recorder:
    def __init__(self) -> None:
        self.kinds: list[str] = []

    def event(self, kind: str, **data: object) -> None:
        self.kinds.append(kind)


def test_a_failing_sink_is_logged_once_by_name(caplog: pytest.LogCaptureFixture) -> None:
    recorder = Recorder()
    fan = FanOut(Broken(), recorder)
    with caplog.at_level(logging.WARNING, logger="mge.execute"):
        for kind in ("stage", "attempt", "atom_done"):
            fan.event(kind, atom="a")
    assert recorder.kinds == ["stage", "attempt", "atom_done"]
    records = [r for r in caplog.records if r.name == "mge.execute"]
    assert len(records) == 1
    assert "Broken" in records[0].getMessage() and "'stage'" in records[0].getMessage()
    assert records[0].exc_info is not None and records[0].exc_info[0] is KeyError
    assert fan.failures == {0: 3}
