"""The confidence score: in [0, 1], lower for every reason for doubt, and its ranking
measured with AUROC exactly as the benchmark does."""

from __future__ import annotations

import uuid
from dataclasses import replace

import pytest

from mge.review import AtomEvidence, score
from mge.review.calibration import auroc


def clean(**changes: object) -> AtomEvidence:
    base = AtomEvidence(
        atom_id=uuid.uuid4(),
        atom_key="pkg/m.py::f#0",
        status="completed",
        attempts=1,
        loc=4,
        complexity=1.0,
        atomicity_score=1.0,
        context_completeness=1.0,
        doctest_passed=True,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


DOUBTS = [
    {"status": "failed"},
    {"blamed_unresolved": True},
    {"blame_regenerations": 1},
    {"task_failing": True},
    {"scope_failing": 2},
    {"attempts": 3},
    {"error_classes": ["names", "contract"]},
    {"doctest_passed": False},
    {"loc": 15},
    {"complexity": 3.0},
    {"atomicity_score": 0.5},
    {"context_completeness": 0.2},
    {"dependents": 12},
    {"static_errors": 1},
    {"static_warnings": 2},
    {"test_coverage": 0.0},
    {"mutants": 2, "mutants_killed": 0},
]


@pytest.mark.parametrize("doubt", DOUBTS, ids=lambda d: next(iter(d)))
def test_each_reason_for_doubt_lowers_the_score_and_is_named(doubt: dict[str, object]) -> None:
    trusted = score(clean())
    doubted = score(clean(**doubt))
    assert 0.0 <= doubted.score < trusted.score <= 1.0
    assert sum(doubted.components.values()) > sum(trusted.components.values())


def test_full_coverage_or_none_stored_is_no_doubt() -> None:
    assert score(clean(test_coverage=1.0)) == score(clean(test_coverage=None))


def test_a_clean_atom_is_trusted_and_a_failed_one_is_not() -> None:
    assert score(clean()).score > 0.9
    assert score(clean(status="failed", attempts=3, doctest_passed=False)).score < 0.05


def test_failure_outweighs_blame_which_outweighs_size() -> None:
    failed = score(clean(status="failed")).score
    blamed = score(clean(blamed_unresolved=True)).score
    large = score(clean(loc=15, complexity=3.0)).score
    assert failed < blamed < large


def test_the_components_sum_to_the_doubt_behind_the_score() -> None:
    import math

    from mge.review.confidence import BIAS

    result = score(clean(attempts=3, static_errors=1, doctest_passed=False))
    doubt = sum(result.components.values())
    assert result.score == pytest.approx(1 / (1 + math.exp(-(BIAS - doubt))), abs=1e-4)


@pytest.mark.parametrize(
    ("scores", "wrong", "expected"),
    [
        ([0.1, 0.9, 0.8], [True, False, False], 1.0),
        ([0.9, 0.1, 0.2], [True, False, False], 0.0),
        ([0.5, 0.5], [True, False], 0.5),
        ([0.1, 0.6, 0.4, 0.9], [True, True, False, False], 0.75),
        ([0.3, 0.4], [False, False], None),
    ],
)
def test_auroc(scores: list[float], wrong: list[bool], expected: float | None) -> None:
    assert auroc(scores, wrong) == expected


def test_a_static_error_outweighs_a_failing_task_with_unresolved_blame() -> None:
    # near-certain defects first: a failing task holds many correct atoms
    suspected = score(clean(task_failing=True, blamed_unresolved=True)).score
    assert score(clean(static_errors=1)).score < suspected


def test_untested_code_is_doubted_in_proportion_to_what_no_test_ran() -> None:
    half = score(clean(test_coverage=0.5)).score
    assert score(clean(test_coverage=0.0)).score < half < score(clean(test_coverage=0.9)).score


def test_surviving_mutants_are_doubted_and_no_mutation_data_changes_nothing() -> None:
    pinned = score(clean(mutants=2, mutants_killed=2))
    assert pinned == score(clean())
    assert "unpinned" not in pinned.components
    half = score(clean(mutants=2, mutants_killed=1))
    none_killed = score(clean(mutants=3, mutants_killed=0))
    assert none_killed.score < half.score < pinned.score
    assert half.components["unpinned"] < none_killed.components["unpinned"]
