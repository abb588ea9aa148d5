"""`collector_paused`: overlapping pauses on several threads end together."""

from __future__ import annotations

import gc
import threading

from mge._collector import collector_paused


def test_the_collector_returns_only_when_the_last_overlapping_pause_ends() -> None:
    assert gc.isenabled()
    inside, release = threading.Event(), threading.Event()

    def other() -> None:
        with collector_paused():
            inside.set()
            release.wait(10)

    thread = threading.Thread(target=other)
    thread.start()
    inside.wait(10)
    with collector_paused():
        assert not gc.isenabled()
    # This thread's pause ended first: the other one's is still running.
    assert not gc.isenabled()
    release.set()
    thread.join(10)
    assert gc.isenabled()


def test_a_collector_that_was_off_stays_off() -> None:
    gc.disable()
    try:
        with collector_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
