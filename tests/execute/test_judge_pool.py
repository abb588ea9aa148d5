"""Validation workers: verdicts from another process equal the engine's own."""

from __future__ import annotations

import asyncio
import io
import os
import time
from collections.abc import Awaitable, Callable

import pytest

from mge.execute._assembly import PlannedAtom
from mge.execute._judge import FileAtom, judge
from mge.execute._judge_pool import JudgePool, _frame, _Inbox
from mge.validate import AtomSpec, AtomVerdict

FILE = "pkg/shapes.py"


def _atom(atom_id: str, kind: str, name: str, signature: str | None = None) -> PlannedAtom:
    return PlannedAtom(
        atom_id=atom_id,
        file=FILE,
        kind=kind,
        name=name,
        qualname=name,
        signature=signature,
        indent="",
        body_indent="    ",
    )


HEADER = _atom(f"{FILE}::<module>#0", "module_header", "<module>")
AREA = _atom(f"{FILE}::area#0", "function", "area", "def area(w: float, h: float) -> float")
SQUARE = _atom(f"{FILE}::square#0", "function", "square", "def square(side: float) -> float")
LAYOUT = {
    FILE: (
        FileAtom(HEADER, ("math",)),
        FileAtom(AREA),
        FileAtom(SQUARE),
    )
}
SEEN = {
    HEADER.atom_id: "import json\nimport math\n",
    AREA.atom_id: "def area(w: float, h: float) -> float:\n    return w * h\n",
}


def _spec(atom: PlannedAtom) -> AtomSpec:
    return AtomSpec(
        atom_id=atom.atom_id,
        kind=atom.kind,
        name=atom.name,
        qualname=atom.qualname,
        language="python",
        file=FILE,
        signature=atom.signature,
    )


CANDIDATES = {
    "good": "def square(side: float) -> float:\n    return area(side, side)\n",
    "uses the header": "def square(side: float) -> float:\n    return math.pow(side, 2)\n",
    "syntax": "def square(side: float) -> float:\n    return area(side side)\n",
    "undefined": "def square(side: float) -> float:\n    return areaa(side, side)\n",
    "contract": "def square(s: int) -> float:\n    return area(s, s)\n",
    "empty": "   \n",
}


def _comparable(verdict: AtomVerdict) -> list[tuple[str, bool, str, str | None]]:
    return [(r.check, r.passed, r.output, r.error_class) for r in verdict.results]


def _with_pool(body: Callable[[JudgePool], Awaitable[None]]) -> None:
    async def run() -> None:
        pool = await JudgePool.start(1)
        try:
            pool.load(LAYOUT)
            assert await pool.wait_ready(), "the worker did not start"
            await body(pool)
        finally:
            await pool.aclose()

    asyncio.run(run())


def test_a_worker_gives_the_verdict_the_engine_would() -> None:
    expected = {
        name: judge(code, _spec(SQUARE), LAYOUT[FILE], SEEN) for name, code in CANDIDATES.items()
    }
    # The candidates cover passing and each kind of failure the view decides.
    assert expected["good"].passed and expected["uses the header"].passed
    assert expected["syntax"].error_classes == ["syntax"]
    assert expected["undefined"].error_classes == ["name"]
    assert expected["contract"].error_classes == ["contract"]
    assert expected["empty"].error_classes == ["format"]

    async def body(pool: JudgePool) -> None:
        verdicts = await asyncio.gather(
            *(pool.judge(code, _spec(SQUARE), SEEN) for code in CANDIDATES.values())
        )
        for name, verdict in zip(CANDIDATES, verdicts, strict=True):
            assert _comparable(verdict) == _comparable(expected[name]), name
        assert (pool.remote, pool.local) == (len(CANDIDATES), 0)

    _with_pool(body)


def test_what_the_view_holds_reaches_the_worker() -> None:
    """The header in view binds `json`, which its plan does not list: the verdict
    turns on whether the view reached the worker."""
    code = "def square(side: float) -> float:\n    return float(json.loads(str(side))) ** 2\n"

    async def body(pool: JudgePool) -> None:
        seen = await pool.judge(code, _spec(SQUARE), SEEN)
        unseen = await pool.judge(code, _spec(SQUARE), {})
        assert seen.passed
        assert unseen.error_classes == ["name"]
        assert _comparable(unseen) == _comparable(judge(code, _spec(SQUARE), LAYOUT[FILE], {}))

    _with_pool(body)


def test_a_worker_error_is_raised_as_the_engine_would_raise_it() -> None:
    stranger = AtomSpec(
        atom_id="other.py::f#0",
        kind="function",
        name="f",
        qualname="f",
        language="python",
        file="other.py",
    )

    async def body(pool: JudgePool) -> None:
        with pytest.raises(KeyError):
            await pool.judge("def f():\n    pass\n", stranger, {})
        assert pool.local == 1

    _with_pool(body)


def test_after_a_worker_dies_the_engine_judges_by_itself() -> None:
    async def body(pool: JudgePool) -> None:
        pool.kill_workers()
        for _ in range(100):
            verdict = await pool.judge(CANDIDATES["undefined"], _spec(SQUARE), SEEN)
            assert verdict.error_classes == ["name"]
            if pool.local:
                break
            await asyncio.sleep(0.02)
        assert pool.local >= 1

    _with_pool(body)


@pytest.mark.skipif(not hasattr(os, "SCHED_BATCH"), reason="Linux scheduling policies")
def test_a_worker_runs_as_a_batch_process_so_its_wakeups_leave_the_engine_its_core() -> None:
    async def body(pool: JudgePool) -> None:
        pids = [transport.get_pid() for transport, _ in pool._processes]
        assert pids
        # Every thread of the worker, the one reading the pipe included.
        for pid in pids:
            for thread in os.listdir(f"/proc/{pid}/task"):
                assert os.sched_getscheduler(int(thread)) == os.SCHED_BATCH
        # The engine's own process keeps the default policy.
        assert os.sched_getscheduler(0) == os.SCHED_OTHER

    _with_pool(body)


def test_workers_started_before_the_layouts_are_ready_once_given_them() -> None:
    async def run() -> None:
        pool = await JudgePool.start(1)
        try:
            # Without layouts a worker cannot judge, so it never reports ready...
            assert not await pool.wait_ready(timeout=0.3)
            # ...and the layouts given later make it take the work.
            pool.load(LAYOUT)
            assert await pool.wait_ready(), "the worker did not take the layouts"
            verdict = await pool.judge(CANDIDATES["undefined"], _spec(SQUARE), SEEN)
            assert verdict.error_classes == ["name"]
            assert (pool.remote, pool.local) == (1, 0)
        finally:
            await pool.aclose()
        # On the way out the worker reported the CPU time it spent judging.
        assert pool.judging_cpu_seconds > 0

    asyncio.run(run())


def test_a_worker_takes_the_least_priority_among_the_requests_waiting() -> None:
    """Requests that wait in a worker's pipe are judged least priority first (the
    critical path's atoms first), equal priorities in the order sent; the layouts
    go before any of them and `stop` after all of them."""
    sent = [
        ("judge", 1, 0.0, "a"),
        ("layouts", {}),
        ("judge", 2, -3.0, "b"),
        ("judge", 3, -1.0, "c"),
        ("stop",),
        ("judge", 4, -3.0, "d"),
        ("judge", 5, 0.0, "e"),
    ]
    inbox = _Inbox(io.BytesIO(b"".join(_frame(message) for message in sent)))
    for _ in range(500):  # all of them waiting before the first is taken
        if inbox._ended:
            break
        time.sleep(0.01)
    taken = [inbox.take() for _ in sent]
    assert inbox.take() is None  # end of input
    assert [m[0] if m[0] != "judge" else m[3] for m in taken] == [
        "layouts",
        "b",
        "d",
        "c",
        "a",
        "e",
        "stop",
    ]


def test_a_worker_hands_the_interpreter_lock_over_within_its_short_interval() -> None:
    """The thread that reads requests must not wait the default 5 ms for the
    judging thread to let go of the lock, or a critical-path request waits that
    long before it is ordered first."""
    import subprocess
    import sys

    from mge.execute._judge_pool import _SWITCH_SECONDS

    code = (
        "import sys; from mge.execute._judge_pool import _main; _main(); "
        "sys.stderr.write(repr(sys.getswitchinterval()))"
    )
    finished = subprocess.run(
        [sys.executable, "-c", code],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    interval = float(finished.stderr.strip().splitlines()[-1])
    assert interval == pytest.approx(_SWITCH_SECONDS) and interval < sys.getswitchinterval()
