"""Measurement against the reference: the one place outside the replay model that
reads reference code.

MGE measures itself by regenerating real projects whose original code is known.
The pipeline never sees that code (an import contract in `make test` keeps every
other module of execute, validate, review, graph, store and the API from importing
the reference reader); this module compares a finished run's accepted code with it,
after generation and validation are over, so nothing it learns can steer the run:

- `reference_match_percent`: atoms whose final code equals the reference atom,
  compared as tokens (layout and comments aside), over all atoms of the run;
- `silent_faults`: completed atoms that passed every check yet differ from it;
- each atom row's `reference_code`, written only now, for calibration of the
  review ranking (`mge review calibrate`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from mge.atomize import AtomizeConfig, same_code
from mge.db.models import AtomicUnit, AtomStatus
from mge.llm._reference import PlanReference

__all__ = ["ReferenceMeasure", "measure_against_reference"]


@dataclass(frozen=True)
class ReferenceMeasure:
    reference_match_percent: float
    silent_faults: int


def measure_against_reference(
    rows: Iterable[AtomicUnit], reference_dir: Path, config: AtomizeConfig
) -> ReferenceMeasure | None:
    """Compare each atom's final code with the reference atom of the same id, and
    store the reference text on the row. None when there are no atoms."""
    reference = PlanReference(reference_dir, config)
    total = matches = completed = 0
    for row in rows:
        total += 1
        expected = reference.atom(row.atom_key)
        row.reference_code = expected
        if row.status is AtomStatus.COMPLETED:
            completed += 1
            matches += same_code(row.code, expected)
    if not total:
        return None
    return ReferenceMeasure(round(100.0 * matches / total, 2), completed - matches)
