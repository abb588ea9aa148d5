"""How a run tells its watchers what is happening, without knowing who watches.

The CLI shows a Rich progress bar, the API streams server-sent events, metrics
count; each implements `ProgressSink`. Events are plain dicts so any of them can
be serialised as they are.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Protocol

log = logging.getLogger("mge.execute")


class ProgressSink(Protocol):
    def event(self, kind: str, **data: Any) -> None: ...


class NullProgress:
    def event(self, kind: str, **data: Any) -> None:
        return None


class FanOut:
    """Sends every event to several sinks; one failing sink never stops a run.

    A watcher's bug must not cost the run, but it must not vanish either: the first
    failure of each sink is logged with the sink's name and its traceback; later
    ones of the same sink are only counted (`failures`), so a sink that fails on
    every event does not flood the log with thousands of copies."""

    def __init__(self, *sinks: ProgressSink) -> None:
        self.sinks = sinks
        self.failures: dict[int, int] = {}

    def event(self, kind: str, **data: Any) -> None:
        for index, sink in enumerate(self.sinks):
            try:
                sink.event(kind, **data)
            except Exception:
                seen = self.failures.get(index, 0)
                self.failures[index] = seen + 1
                if not seen:
                    log.exception(
                        "progress sink %s failed on a %r event; it gets the next events, "
                        "but its further failures are not logged",
                        type(sink).__qualname__,
                        kind,
                    )


class CallbackProgress:
    def __init__(self, callback: Callable[[str, dict[str, Any]], None]) -> None:
        self.callback = callback

    def event(self, kind: str, **data: Any) -> None:
        self.callback(kind, data)
