"""How a run tells its watchers what is happening, without knowing who watches.

The CLI shows a Rich progress bar, the API streams server-sent events, metrics
count; each implements `ProgressSink`. Events are plain dicts so any of them can
be serialised as they are.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol


class ProgressSink(Protocol):
    def event(self, kind: str, **data: Any) -> None: ...


class NullProgress:
    def event(self, kind: str, **data: Any) -> None:
        return None


class FanOut:
    """Sends every event to several sinks; one failing sink never stops a run."""

    def __init__(self, *sinks: ProgressSink) -> None:
        self.sinks = sinks

    def event(self, kind: str, **data: Any) -> None:
        for sink in self.sinks:
            try:
                sink.event(kind, **data)
            except Exception:
                continue


class CallbackProgress:
    def __init__(self, callback: Callable[[str, dict[str, Any]], None]) -> None:
        self.callback = callback

    def event(self, kind: str, **data: Any) -> None:
        self.callback(kind, data)
