"""The atomicity validator: ten named criteria, each passed or violated.

| criterion               | an atom passes when                                               |
|-------------------------|-------------------------------------------------------------------|
| `size`                  | LOC ≤ `max_loc`                                                   |
| `complexity`            | cyclomatic complexity ≤ `max_complexity`                          |
| `single_responsibility` | it holds at most one function or class definition (nested ones  |
|                         | inside that definition do not count)                              |
| `syntax_error`          | it holds no ERROR or MISSING node (a syntactically complete unit) |
| `context_completeness`  | `context_completeness` ≥ 0.95                                     |
| `fan_out`               | it calls at most `MAX_FAN_OUT` distinct callees                   |
| `sibling_coupling`      | it reads names bound by at most `MAX_COUPLED_SIBLINGS` other      |
|                         | atoms of the same scope                                           |
| `hidden_state`          | testable: no `global`/`nonlocal` (Python) and no writes to        |
|                         | `window`, `globalThis`, `global`, `self`, `document` (TS/JS)      |
| `nondeterminism`        | no unseeded clock or randomness (`time.time`, `datetime.now`,     |
|                         | `random.*` without `random.seed`, `uuid4`, `Math.random`,         |
|                         | `Date.now`, `new Date`, …)                                        |
| `clear_io`              | a function or method has every parameter and its return typed,    |
|                         | or documented (docstring sections, JSDoc); other kinds pass       |

`atomicity_score` = passed / 10, computed from integers, so eight passes is
exactly 0.8. `violations` lists the failed criteria by name, in table order.
"""

from __future__ import annotations

from mge.atomize._context import AtomFacts
from mge.atomize._decompose import Piece
from mge.atomize._model import AtomizeConfig

__all__ = [
    "CRITERIA",
    "MAX_COUPLED_SIBLINGS",
    "MAX_FAN_OUT",
    "MIN_CONTEXT_COMPLETENESS",
    "judge",
]

CRITERIA: tuple[str, ...] = (
    "size",
    "complexity",
    "single_responsibility",
    "syntax_error",
    "context_completeness",
    "fan_out",
    "sibling_coupling",
    "hidden_state",
    "nondeterminism",
    "clear_io",
)
MAX_FAN_OUT = 8
MAX_COUPLED_SIBLINGS = 4
MIN_CONTEXT_COMPLETENESS = 0.95

_NONDETERMINISTIC = frozenset(
    {
        "time.time",
        "time.time_ns",
        "time.monotonic",
        "time.perf_counter",
        "datetime.now",
        "datetime.utcnow",
        "datetime.today",
        "date.today",
        "datetime.datetime.now",
        "datetime.datetime.utcnow",
        "datetime.date.today",
        "uuid.uuid1",
        "uuid.uuid4",
        "uuid1",
        "uuid4",
        "os.urandom",
        "Math.random",
        "Date.now",
        "Date",
        "crypto.randomUUID",
        "crypto.getRandomValues",
        "performance.now",
    }
)
_RANDOM_PREFIXES = ("random.", "secrets.", "np.random.", "numpy.random.")
_SEEDS = frozenset({"random.seed", "np.random.seed", "numpy.random.seed"})


def _nondeterministic(callees: list[str]) -> bool:
    # Set tests first: most atoms call nothing of the kind, and they answer in C.
    if not _SEEDS.isdisjoint(callees):
        return False
    if not _NONDETERMINISTIC.isdisjoint(callees):
        return True
    return any(
        name.startswith(_RANDOM_PREFIXES) and not name.endswith(("Random", "seed"))
        for name in callees
    )


def _coupled(pieces: list[Piece], facts: list[AtomFacts]) -> list[int]:
    """For each atom, how many other atoms of its scope bind a name it reads."""
    visible: list[set[str]] = []
    for piece, fact in zip(pieces, facts, strict=True):
        if piece.kind in {"function", "method", "class_header"} and piece.definition is not None:
            visible.append({piece.name})
        else:
            visible.append(fact.defines)
    by_scope: dict[str, list[int]] = {}
    for position, piece in enumerate(pieces):
        key = piece.qualname if piece.kind == "block" else piece.scope
        by_scope.setdefault(key, []).append(position)
        if piece.kind in {"function", "method"} and piece.qualname != key:
            by_scope.setdefault(piece.qualname, []).append(position)
    counts = [0] * len(pieces)
    for members in by_scope.values():
        # An inverted index (name -> atoms of this scope binding it) keeps this linear
        # in the names read, where comparing every pair of atoms is quadratic.
        binders: dict[str, set[int]] = {}
        for other in members:
            for name in visible[other]:
                binders.setdefault(name, set()).add(other)
        for position in members:
            coupled: set[int] = set()
            for name in facts[position].references:
                found = binders.get(name)
                if found:
                    coupled |= found
            coupled.discard(position)
            counts[position] = max(counts[position], len(coupled))
    return counts


def judge(
    pieces: list[Piece], facts: list[AtomFacts], config: AtomizeConfig
) -> list[tuple[float, list[str]]]:
    """(atomicity_score, violations) for every atom, in order."""
    coupling = _coupled(pieces, facts)
    verdicts: list[tuple[float, list[str]]] = []
    for position, (piece, fact) in enumerate(zip(pieces, facts, strict=True)):
        failed = {
            "size": piece.loc > config.max_loc,
            "complexity": 1 + piece.decisions > config.max_complexity,
            "single_responsibility": fact.definitions > 1,
            "syntax_error": fact.has_error,
            "context_completeness": fact.completeness < MIN_CONTEXT_COMPLETENESS,
            "fan_out": len(fact.callees) > MAX_FAN_OUT,
            "sibling_coupling": coupling[position] > MAX_COUPLED_SIBLINGS,
            "hidden_state": bool(fact.global_writes),
            "nondeterminism": _nondeterministic(fact.callees),
            "clear_io": piece.kind in {"function", "method"} and not fact.documented_io,
        }
        violations = [name for name in CRITERIA if failed[name]]
        passed = len(CRITERIA) - len(violations)
        verdicts.append((passed / len(CRITERIA), violations))
    return verdicts
