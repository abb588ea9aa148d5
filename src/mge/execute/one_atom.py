"""One atom of a stored run, validated or generated again: what human review needs.

Review works atom by atom, long after the run. It gets the parts of the engine that
judge and generate one atom, over the run's stored state, and nothing that
schedules, validates levels above or finishes a run: no `Runner`.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Engine

from mge.db.models import AtomicUnit, AtomStatus
from mge.errors import ConfigError, NotFound
from mge.execute._generation import Generation
from mge.llm import Model
from mge.validate import AtomVerdict

__all__ = ["regenerate_one", "validate_one"]


class _NoModel:
    """Stands in for the model where an atom is only validated: it is never asked."""

    name = "none"
    simulated = False

    async def complete(self, request: Any) -> Any:
        raise ConfigError("this operation does not call a model")

    async def aclose(self) -> None:
        return None


class _OneAtom(Generation):
    """The run's stored atoms and graph, and the generation of one atom."""

    def __init__(self, engine: Engine, run_id: uuid.UUID, *, model: Model | None = None) -> None:
        super().__init__(engine, run_id, model=model)
        self._load_states()

    def check(self, atom_key: str) -> None:
        if atom_key not in self.states:
            raise NotFound(f"run {self.run_id} has no atom {atom_key}")


def validate_one(engine: Engine, run_id: uuid.UUID, atom_key: str, code: str) -> AtomVerdict:
    """Atomic (L1) validation of a reviewer's code for one atom, in the same assembly
    the engine would use (its completed prerequisites in view)."""
    work = _OneAtom(engine, run_id, model=_NoModel())
    try:
        work.check(atom_key)
        # A reviewer's code is held to everything but the plan: the person may be
        # correcting the plan itself; a disagreement is still shown in the verdict.
        return work._validate(atom_key, code, plan_binding=False)
    finally:
        work.session.close()


async def regenerate_one(
    engine: Engine, run_id: uuid.UUID, atom_key: str, *, feedback: str
) -> bool:
    """One more attempt at an atom with a reviewer's feedback, stored like any attempt.

    The attempt limit is raised by one so an atom that used all its attempts can still
    be asked again. A failed atom stays failed (with the new candidate stored) when
    the attempt does not pass; a completed one keeps its code (`regenerate`).
    Returns whether the new code passed atomic validation.
    """
    work = _OneAtom(engine, run_id)
    try:
        work.check(atom_key)
        state = work.states[atom_key]
        work.settings = work.settings.model_copy(update={"max_attempts": state.attempts + 1})
        if state.status is AtomStatus.COMPLETED:
            passed = await work.regenerate(atom_key, feedback=feedback, trigger="review")
        else:
            passed = await work._generate(atom_key, feedback=feedback, trigger="review")
            if not passed:
                row = work.session.get_one(AtomicUnit, state.row_id)
                row.status = AtomStatus.FAILED
                state.status = AtomStatus.FAILED
        work.commit()  # the attempt may still wait for the group commit
        return passed
    finally:
        await work.model.aclose()
        if work._commit_timer is not None:
            work._commit_timer.cancel()
        work.session.close()
