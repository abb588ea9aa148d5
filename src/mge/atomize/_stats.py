"""The distribution over many files: what `mge atomize` prints and `--json` carries."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from mge.atomize._model import AtomizeConfig, FileResult

__all__ = ["percentile", "summarize"]


def percentile(sorted_values: Sequence[int], share: float) -> int:
    """The nearest-rank percentile of already sorted values (0 when there are none)."""
    if not sorted_values:
        return 0
    rank = max(1, -(-int(share * 100) * len(sorted_values) // 100))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def summarize(results: Sequence[FileResult], config: AtomizeConfig | None = None) -> dict[str, Any]:
    """Totals and distribution: atoms, bytes, LOC p50/p90/max, kinds, violations."""
    bounds = config or AtomizeConfig()
    locs = sorted(atom.loc for result in results for atom in result.atoms)
    kinds: Counter[str] = Counter()
    violations: Counter[str] = Counter()
    for result in results:
        for atom in result.atoms:
            kinds[atom.kind] += 1
            violations.update(atom.violations)
    atoms = sum(len(result.atoms) for result in results)
    within = sum(1 for loc in locs if loc <= bounds.max_loc)
    return {
        "files": len(results),
        "atoms": atoms,
        "bytes": sum(result.size_bytes for result in results),
        "loc": sum(locs),
        "loc_p50": percentile(locs, 0.5),
        "loc_p90": percentile(locs, 0.9),
        "loc_max": locs[-1] if locs else 0,
        "atoms_within_max_loc": within,
        "config": bounds.to_dict(),
        "kinds": dict(sorted(kinds.items())),
        "violations": dict(sorted(violations.items())),
        "files_with_syntax_errors": sum(1 for result in results if result.has_syntax_error),
        "files_not_utf8": sum(1 for result in results if not result.utf8),
    }
