"""Where each injected fault was caught, recomputed by the bench from stored attempts.

The engine never knows which answers were faulted. The replay model decides it
deterministically from (seed, atom, attempt) with `mge.llm._faults.choose_fault`,
so the bench replays that decision for every stored attempt (`atom_retry_history`)
on the atom's reference code and follows the faulted ones:

- `L1`: the attempt failed atomic validation;
- `L2`/`L3`/`L4`: it passed L1, became the atom's code, and a later attempt of
  the same atom was triggered by blame at that level (`blame:module`,
  `blame:component`, `blame:system`);
- `harmless`: it passed L1 and its code equals the reference anyway (chat prose
  and fences around the code, stripped by extraction);
- `silent`: it passed L1, was never blamed, and differs from the reference.

Blame that lands on an atom whose current code was *not* faulted is counted too
(`innocent regenerations`), since each costs an attempt.
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from mge.atomize import same_code
from mge.db.models import AtomicUnit, AtomRetryHistory
from mge.llm import Purpose
from mge.llm._fault_profiles import FAULT_PROFILES
from mge.llm._faults import FAULT_KINDS, choose_fault

# `blame:atomic`: regenerated because a later atom failed L1 the same way on every
# attempt (the engine's context repair): caught at L1, by the dependent's checks.
LEVELS = {
    "blame:atomic": "L1",
    "blame:module": "L2",
    "blame:component": "L3",
    "blame:system": "L4",
}
OUTCOMES = ("L1", "L2", "L3", "L4", "harmless", "silent")


@dataclass
class Slip:
    """A faulted answer that got past every level (or one example of blame's aim)."""

    atom: str
    attempt: int
    kind: str
    outcome: str


@dataclass
class FaultLedger:
    injected: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    by_kind: dict[str, Counter[str]] = field(default_factory=dict)
    innocent_regenerations: int = 0
    blamed_regenerations: int = 0
    silent: list[Slip] = field(default_factory=list)

    def share(self, outcome: str) -> float | None:
        return 100.0 * self.outcomes[outcome] / self.injected if self.injected else None


def account(
    engine: Engine,
    run_id: uuid.UUID,
    *,
    seed: int,
    rate: float,
    kinds: tuple[str, ...] = FAULT_KINDS,
    language: str = "python",
    profile: str = "uniform",
) -> FaultLedger:
    ledger = FaultLedger()
    weights = FAULT_PROFILES[profile].weights
    chosen_kinds = tuple(weights) if weights and kinds == FAULT_KINDS else kinds
    with Session(engine) as session:
        rows = session.execute(
            select(
                AtomicUnit.atom_key,
                AtomicUnit.reference_code,
                AtomRetryHistory.attempt_number,
                AtomRetryHistory.trigger,
                AtomRetryHistory.succeeded,
                AtomRetryHistory.generated_code,
            )
            .join(AtomRetryHistory, AtomRetryHistory.atom_id == AtomicUnit.id)
            .where(AtomRetryHistory.run_id == run_id)
            .order_by(AtomicUnit.atom_key, AtomRetryHistory.attempt_number)
        ).all()
    by_atom: dict[str, list[tuple[int, str, bool, str | None, str | None]]] = {}
    for key, reference, attempt, trigger, succeeded, code in rows:
        by_atom.setdefault(key, []).append((attempt, trigger, succeeded, code, reference))
    for key, attempts in by_atom.items():
        current: tuple[int, str] | None = None  # the fault behind the atom's current code
        # A fault already caught whose regeneration has not (yet) replaced the code:
        # blaming it again is neither a new catch nor an innocent regeneration.
        stale = False
        previous: tuple[str, bool] | None = None  # (trigger, succeeded) of the last attempt
        for attempt, trigger, succeeded, code, reference in attempts:
            opens = previous is None or previous[0] != trigger or previous[1]
            if trigger in LEVELS and opens:
                # A regeneration that blame started: it caught the current fault, if any.
                if current is not None:
                    _note(ledger, key, current, LEVELS[trigger])
                    ledger.blamed_regenerations += 1
                    current, stale = None, True
                elif not stale:
                    ledger.innocent_regenerations += 1
            previous = (trigger, succeeded)
            if succeeded:
                stale = False
            kind = None
            if reference is not None:
                purpose = Purpose("atom", key, attempt, language)
                kind = choose_fault(
                    reference,
                    purpose,
                    seed=seed,
                    rate=rate,
                    kinds=chosen_kinds,
                    profile=FAULT_PROFILES[profile],
                ).kind
            if kind is None:
                if succeeded:
                    current = None
                continue
            ledger.injected += 1
            if not succeeded:
                _note(ledger, key, (attempt, kind), "L1")
            elif same_code(code, reference):
                _note(ledger, key, (attempt, kind), "harmless")
                current = None
            else:
                current = (attempt, kind)
        if current is not None:
            _note(ledger, key, current, "silent")
    return ledger


def _note(ledger: FaultLedger, key: str, fault: tuple[int, str], outcome: str) -> None:
    attempt, kind = fault
    ledger.outcomes[outcome] += 1
    ledger.by_kind.setdefault(kind, Counter())[outcome] += 1
    if outcome == "silent":
        ledger.silent.append(Slip(key, attempt, kind, outcome))
