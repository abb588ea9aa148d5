"""How well confidence ranks the wrong atoms first, measured where the truth is known.

On a replay run every atom has reference code, so "wrong" is simply: its final code
differs from the reference (compared as tokens, layout and comments aside). This
module reads the reference; the score in `mge.review.confidence` never does.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mge.atomize import same_code
from mge.db.models import AtomicUnit, AtomStatus
from mge.review.confidence import score_run

__all__ = ["Calibration", "auroc", "measure", "ranking"]


@dataclass(frozen=True)
class Calibration:
    """Ranking quality of confidence for "completed atom wrong" on one run."""

    atoms: int
    wrong: int
    failed: int
    auroc: float | None
    recall_bottom_15: float | None
    recall_bottom_20: float | None
    precision_at_wrong: float | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def auroc(scores: list[float], wrong: list[bool]) -> float | None:
    """The chance that a wrong atom scores lower than a right one (ties count half)."""
    bad = [s for s, w in zip(scores, wrong, strict=True) if w]
    good = [s for s, w in zip(scores, wrong, strict=True) if not w]
    if not bad or not good:
        return None
    wins = sum(1.0 if b < g else 0.5 if b == g else 0.0 for b in bad for g in good)
    return wins / (len(bad) * len(good))


def _recall_in_bottom(order: list[bool], share: float) -> float | None:
    total = sum(order)
    if not total:
        return None
    cut = max(1, round(share * len(order)))
    return sum(order[:cut]) / total


def measure(session: Session, *, masterplan_id: uuid.UUID) -> Calibration:
    """Score the run's atoms, then compare the ranking with the reference."""
    scores = score_run(session, masterplan_id=masterplan_id)
    every = list(
        session.scalars(select(AtomicUnit).where(AtomicUnit.masterplan_id == masterplan_id))
    )
    # Failed atoms are in the queue whatever their score; the hard part, and what is
    # measured, is finding the silent faults among the atoms that passed.
    atoms = [
        atom
        for atom in every
        if atom.status is AtomStatus.COMPLETED and atom.reference_code is not None
    ]
    values = [scores[atom.id].score for atom in atoms]
    wrong = [not same_code(atom.code, atom.reference_code) for atom in atoms]
    return ranking(values, wrong, failed=sum(atom.status is AtomStatus.FAILED for atom in every))


def ranking(values: list[float], wrong: list[bool], *, failed: int = 0) -> Calibration:
    """The figures for one run's completed atoms: their confidence and whether each
    is wrong."""
    # Lowest confidence first; among equal scores the wrong ones are NOT favoured, so
    # ties can only make the figures worse, never better.
    order = [w for _, w in sorted(zip(values, wrong, strict=True), key=lambda p: (p[0], p[1]))]
    count = sum(order)
    precision = sum(order[:count]) / count if count else None
    return Calibration(
        atoms=len(order),
        wrong=count,
        failed=failed,
        auroc=auroc(values, wrong),
        recall_bottom_15=_recall_in_bottom(order, 0.15),
        recall_bottom_20=_recall_in_bottom(order, 0.20),
        precision_at_wrong=precision,
    )
