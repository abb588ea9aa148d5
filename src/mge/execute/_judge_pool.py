"""Atomic verdicts from worker processes, so validation stops sharing one core.

With many calls in flight and a fast model, the engine's event loop is busy with
its own work: prompts, model bookkeeping, database writes and L1 validation. L1
is the largest part and needs nothing but plain data (`_judge.judge`), so it can
run in another process on another core. A `JudgePool` starts worker processes
(`python -m mge.execute._judge_pool`) that speak length-prefixed pickles over
their stdin and stdout: first the layout of every file, then one request per
attempt, answered by the verdict; when told to stop, a worker answers with the
CPU time it spent since it took the layouts.

A worker takes every request waiting in its pipe before it judges the next one,
and judges the one with the least priority first (the eager schedule gives the
atom's longest chain of dependents, negated), first come first served among
equals. Judged in the order sent, an atom on the critical path would wait behind
up to `depth` other atoms' checks at each step of its chain.

The pool never changes a verdict, only where it is computed. An attempt is judged
in the engine's own process when no worker is ready yet (a worker takes a second
or two to start, and is ready once it has the layouts), when every worker already
has `depth` requests waiting (the loop's own core is then the one with time to
spare), when a worker reports an error (the local call raises it as it would have
without the pool), and after a worker died.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import heapq
import math
import os
import pickle
import signal
import struct
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import IO, Any

from mge.execute._judge import FileAtom, judge, prepare_to_judge
from mge.validate import AtomSpec, AtomVerdict

_HEADER = struct.Struct(">I")
_SWITCH_SECONDS = 0.0002
_READY = "ready"
_STOPPED = "stopped"


def _frame(message: object) -> bytes:
    payload = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    return _HEADER.pack(len(payload)) + payload


class _Unavailable(Exception):
    """The worker could not give this verdict; the engine computes it itself."""


class _Worker(asyncio.SubprocessProtocol):
    """One worker process: requests out on its stdin, verdicts back on its stdout."""

    def __init__(self, on_gone: Callable[[_Worker], None]) -> None:
        self.transport: asyncio.SubprocessTransport | None = None
        self.ready = False
        self.gone = False
        self.exited = asyncio.Event()
        self.waiting: dict[int, asyncio.Future[AtomVerdict]] = {}
        # CPU time the worker spent from taking the layouts to being told to stop,
        # as it reports on the way out: its start-up is not validation work.
        self.judging_cpu_seconds = 0.0
        self._buffer = bytearray()
        self._on_gone = on_gone

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def send(self, message: object) -> None:
        pipe = self.transport.get_pipe_transport(0) if self.transport else None
        if pipe is None or self.gone:
            raise _Unavailable("the worker has stopped")
        assert isinstance(pipe, asyncio.WriteTransport)
        pipe.write(_frame(message))

    def pipe_data_received(self, fd: int, data: bytes) -> None:
        if fd != 1:
            return
        self._buffer += data
        while len(self._buffer) >= _HEADER.size:
            (size,) = _HEADER.unpack_from(self._buffer)
            if len(self._buffer) < _HEADER.size + size:
                return
            payload = bytes(self._buffer[_HEADER.size : _HEADER.size + size])
            del self._buffer[: _HEADER.size + size]
            self._answer(pickle.loads(payload))

    def _answer(self, message: Any) -> None:
        if message == _READY:
            self.ready = True
            return
        if message[0] == _STOPPED:
            self.judging_cpu_seconds = float(message[1])
            return
        request, verdict, error = message
        future = self.waiting.pop(request, None)
        if future is None or future.done():
            return
        if error is not None:
            future.set_exception(_Unavailable(error))
        else:
            future.set_result(verdict)

    def process_exited(self) -> None:
        self._stop()
        self.exited.set()

    def pipe_connection_lost(self, fd: int, exc: Exception | None) -> None:
        if fd == 1:
            self._stop()

    def _stop(self) -> None:
        if self.gone:
            return
        self.gone = True
        self.ready = False
        for future in self.waiting.values():
            if not future.done():
                future.set_exception(_Unavailable("the worker stopped"))
        self.waiting.clear()
        self._on_gone(self)


class JudgePool:
    """Worker processes giving atomic verdicts; see the module docstring."""

    def __init__(self, *, depth: int = 64) -> None:
        self._layouts: dict[str, tuple[FileAtom, ...]] = {}
        self._depth = depth
        self._workers: list[_Worker] = []  # the live ones
        self._processes: list[tuple[asyncio.SubprocessTransport, _Worker]] = []
        self._next_request = 0
        self.workers = 0
        self.remote = 0
        self.local = 0
        self.judging_cpu_seconds = 0.0

    @classmethod
    async def start(cls, workers: int, *, depth: int = 64) -> JudgePool:
        """Start `workers` processes; they boot in the background, and a worker is
        ready once `load` has given it the layouts. Starting before the layouts exist
        lets the workers' interpreter start and imports (a second or two) overlap
        the engine's own preparation instead of the first atoms."""
        pool = cls(depth=depth)
        loop = asyncio.get_running_loop()
        package_root = str(Path(__file__).resolve().parents[2])
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            [package_root, *([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])]
        )
        for _ in range(workers):
            transport, worker = await loop.subprocess_exec(
                lambda: _Worker(pool._forget),
                sys.executable,
                "-m",
                "mge.execute._judge_pool",
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.DEVNULL,
                env=env,
            )
            pool._workers.append(worker)
            pool._processes.append((transport, worker))
        pool.workers = workers
        return pool

    def load(self, layouts: Mapping[str, tuple[FileAtom, ...]]) -> None:
        """Give every live worker the files' layouts, which makes it ready."""
        self._layouts = dict(layouts)
        for worker in list(self._workers):
            with contextlib.suppress(_Unavailable):
                worker.send(("layouts", self._layouts))

    async def wait_ready(self, timeout: float = 30.0) -> bool:
        """Wait until every live worker has started; True if all did in time."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while any(not w.ready for w in self._workers) and loop.time() < deadline:
            await asyncio.sleep(0.02)
        return bool(self._workers) and all(w.ready for w in self._workers)

    def kill_workers(self) -> None:
        """Kill every worker process at once (what a crash of one looks like)."""
        for transport, _ in self._processes:
            with contextlib.suppress(ProcessLookupError):
                transport.kill()

    def _forget(self, worker: _Worker) -> None:
        if worker in self._workers:
            self._workers.remove(worker)

    async def judge(
        self,
        candidate: str,
        spec: AtomSpec,
        view: Mapping[str, str],
        *,
        priority: float = 0.0,
    ) -> AtomVerdict:
        """The verdict on `candidate`; a worker judges the least `priority` it holds
        first."""
        worker = min(
            (w for w in self._workers if w.ready and len(w.waiting) < self._depth),
            key=lambda w: len(w.waiting),
            default=None,
        )
        if worker is not None:
            self._next_request += 1
            request = self._next_request
            future: asyncio.Future[AtomVerdict] = asyncio.get_running_loop().create_future()
            worker.waiting[request] = future
            try:
                worker.send(("judge", request, priority, candidate, spec, dict(view)))
                verdict = await future
            except _Unavailable:
                worker.waiting.pop(request, None)
            else:
                self.remote += 1
                return verdict
        self.local += 1
        return judge(candidate, spec, self._layouts[spec.file], view)

    async def aclose(self) -> None:
        for worker in list(self._workers):
            with contextlib.suppress(_Unavailable):
                worker.send(("stop",))
        for transport, worker in self._processes:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(worker.exited.wait(), timeout=5)
            if not worker.exited.is_set():
                with contextlib.suppress(ProcessLookupError):
                    transport.kill()
            transport.close()
            self.judging_cpu_seconds += worker.judging_cpu_seconds
        self._workers.clear()
        self._processes.clear()


def _read(stream: IO[bytes], size: int) -> bytes | None:
    data = b""
    while len(data) < size:
        chunk = stream.read(size - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def _messages(requests: IO[bytes]) -> Iterator[Any]:
    """The requests as they arrive, until end of input."""
    while True:
        header = _read(requests, _HEADER.size)
        if header is None:
            return
        payload = _read(requests, _HEADER.unpack(header)[0])
        if payload is None:
            return
        yield pickle.loads(payload)


class _Inbox:
    """Requests read off the pipe by a thread as they arrive, taken least priority
    first: what waits is ordered here, not by arrival."""

    def __init__(self, requests: IO[bytes]) -> None:
        self._ready = threading.Condition()
        self._heap: list[tuple[float, int, Any]] = []
        self._arrived = 0
        self._ended = False
        threading.Thread(target=self._read, args=(requests,), daemon=True).start()

    def _read(self, requests: IO[bytes]) -> None:
        for message in _messages(requests):
            # Judging requests wait by priority; the layouts go before them and
            # `stop` after every request that came before it.
            priority = {"layouts": -math.inf, "stop": math.inf}.get(message[0])
            if priority is None:
                priority = message[2]
            with self._ready:
                self._arrived += 1
                heapq.heappush(self._heap, (priority, self._arrived, message))
                self._ready.notify()
        with self._ready:
            self._ended = True
            self._ready.notify()

    def take(self) -> Any | None:
        """The next request, or None at end of input once none is left."""
        with self._ready:
            while not self._heap and not self._ended:
                self._ready.wait()
            return heapq.heappop(self._heap)[2] if self._heap else None


def serve(requests: IO[bytes], replies: IO[bytes]) -> None:
    """The worker's loop: layouts, then verdicts until `stop` or end of input."""
    layouts: dict[str, tuple[FileAtom, ...]] = {}
    ready_at = time.process_time()
    inbox = _Inbox(requests)
    while (message := inbox.take()) is not None:
        if message[0] == "stop":
            replies.write(_frame((_STOPPED, time.process_time() - ready_at)))
            replies.flush()
            return
        if message[0] == "layouts":
            layouts = message[1]
            prepare_to_judge(layouts)
            # The layouts live as long as the worker: out of the collector's sight,
            # so its full passes walk only what judging made (each pass walked them
            # all, 30-80 ms on a 3,000-atom plan, while a request waited).
            gc.collect()
            gc.freeze()
            ready_at = time.process_time()
            replies.write(_frame(_READY))
            replies.flush()
            continue
        _, request, _priority, candidate, spec, view = message
        reply: tuple[int, AtomVerdict | None, str | None]
        try:
            reply = (request, judge(candidate, spec, layouts[spec.file], view), None)
        except Exception as error:  # the engine judges it again itself and sees it
            reply = (request, None, f"{type(error).__name__}: {error}")
        replies.write(_frame(reply))
        replies.flush()


def _main() -> None:
    # Ctrl-C reaches the whole process group; the engine stops gracefully and
    # closes its workers itself, so the attempts in flight still get verdicts.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Judging is throughput work; the engine's loop is the run's single decider,
    # and every request it writes wakes this process. Under the default policy the
    # woken worker often took the engine's core at once: on a 3,145-atom plan the
    # engine's writes to the pipe cost 114-137 ms of CPU but 607-667 ms of its time.
    # A batch process waits for its turn instead (371-505 ms), and no core idles.
    with contextlib.suppress(AttributeError, OSError):
        os.sched_setscheduler(0, os.SCHED_BATCH, os.sched_param(0))
    # The thread reading requests needs the interpreter lock to take one off the
    # pipe, and the judging thread keeps it for up to the switch interval (5 ms by
    # default): a request on the critical path waited that long before it could be
    # ordered first. Measured on a 3,145-atom plan, the critical path's requests
    # reached the inbox in 1.1 ms instead of 1.4 ms on average, and their round
    # trip fell from about 6 to about 4 ms.
    sys.setswitchinterval(_SWITCH_SECONDS)
    replies = os.fdopen(os.dup(1), "wb")
    # Nothing a check prints may corrupt the reply stream.
    os.dup2(2, 1)
    serve(sys.stdin.buffer, replies)


if __name__ == "__main__":
    _main()
