"""Which completed atoms context repair regenerates when a piece fails L1 the same
way on every attempt (`Scheduling._context_suspects`), on hand-built run states."""

from __future__ import annotations

import uuid
from types import SimpleNamespace

from mge.db.models import AtomStatus
from mge.execute._assembly import PlannedAtom
from mge.execute._run_state import AtomState
from mge.execute._schedule import Scheduling


def _state(key: str, qualname: str, piece: int, status: AtomStatus, **kw: object) -> AtomState:
    planned = PlannedAtom(key, "lib/decode.js", "block", qualname, qualname, None, "", "  ")
    return AtomState(
        row_id=uuid.uuid4(), key=key, planned=planned, task_key=None, language="javascript",
        loc=3, complexity=1.0, preconditions=[], postconditions=[], callees=[],
        defines=list(kw.pop("defines", [])), intent=None, returns=None, status=status,
        attempts=1, code="", wave=1, whole_definition=False, piece=piece, **kw,  # type: ignore[arg-type]
    )  # fmt: skip


def _suspects(states: list[AtomState], key: str, error: str) -> tuple[list[str], list[str]]:
    runner = SimpleNamespace(
        states={s.key: s for s in states}, files={"lib/decode.js": [s.key for s in states]}
    )
    return Scheduling._context_suspects(runner, key, error)  # type: ignore[arg-type]


def test_every_earlier_piece_of_the_body_is_a_suspect_nearest_first() -> None:
    """The last piece needs only its predecessor, but a piece two back that lost its
    `} else if (…) {` line is what breaks it: every completed earlier piece of the
    same body is tried, nearest first; other bodies and unfinished pieces are not."""
    done = AtomStatus.COMPLETED
    states = [
        _state("other#0", "encode", 0, done),
        _state("decode#0", "decode", 0, done),
        _state("decode#1", "decode", 1, AtomStatus.FAILED),
        _state("decode#2", "decode", 2, done),
        _state("decode#3", "decode", 3, done),
        _state("decode#4", "decode", 4, AtomStatus.RUNNING, needs_behaviour={"decode#3"}),
    ]
    binders, pieces = _suspects(states, "decode#4", "- [syntax] syntax: line 3: unexpected code")
    assert binders == []
    assert pieces == ["decode#3", "decode#2", "decode#0"]


def test_an_undefined_name_points_at_the_atoms_planned_to_bind_it() -> None:
    done = AtomStatus.COMPLETED
    states = [
        _state("decode#0", "decode", 0, done, defines=["buffer"]),
        _state("decode#1", "decode", 1, done),
        _state(
            "decode#2", "decode", 2, AtomStatus.RUNNING, needs_behaviour={"decode#0", "decode#1"}
        ),
    ]
    binders, _ = _suspects(states, "decode#2", "- [name] names: undefined name 'buffer' (line 2)")
    assert binders == ["decode#0"]
