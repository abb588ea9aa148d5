"""The fault profiles' statistics over many draws: the rate, the mix of kinds, the
repeats on retry and the scaling with size are what the profiles say."""

from __future__ import annotations

from collections import Counter

import pytest

from mge.errors import ConfigError
from mge.llm import Purpose, make_model
from mge.llm._fault_profiles import REALISTIC, UNIFORM
from mge.llm._faults import FAULT_KINDS, choose_fault

CODE = """def total(order, rate):
    if not order.lines:
        return 0
    amount = 0
    for line in order.lines:
        amount += line.price * line.quantity
    if amount > 100:
        amount = amount - 5
    return round(amount * (1 + rate), 2)
"""
SHORT = "def double(x):\n    return x * 2\n"
DRAWS = 4000


def _kinds(profile: object, rate: float, code: str = CODE, attempt: int = 1) -> Counter[str]:
    kinds = tuple(REALISTIC.weights) if profile is REALISTIC else FAULT_KINDS
    return Counter(
        choose_fault(
            code,
            Purpose("atom", f"m.py::f#{i}", attempt),
            seed=5,
            rate=rate,
            kinds=kinds,
            profile=profile,  # type: ignore[arg-type]
        ).kind
        or "none"
        for i in range(DRAWS)
    )


def test_uniform_faults_at_the_rate_with_every_kind_alike() -> None:
    counts = _kinds(UNIFORM, 0.2)
    faulted = DRAWS - counts["none"]
    assert abs(faulted / DRAWS - 0.2) < 0.025  # about 4 standard deviations
    shares = [counts[k] / faulted for k in FAULT_KINDS]
    assert max(shares) - min(shares) < 0.07


def test_realistic_faults_follow_the_weights_led_by_logic_errors() -> None:
    counts = _kinds(REALISTIC, 1.0)
    assert counts["none"] == 0
    for kind, weight in REALISTIC.weights.items():
        assert abs(counts[kind] / DRAWS - weight) < 0.03, kind
    logic = ("wrong_operator", "missing_corner_case", "wrong_constant", "missing_return")
    assert sum(counts[k] for k in logic) / DRAWS > 0.55
    assert (counts["syntax_error"] + counts["truncated"]) / DRAWS < 0.15


def test_a_realistic_model_repeats_its_mistake_on_retry() -> None:
    repeated = faulted = 0
    for i in range(DRAWS):
        first = choose_fault(
            CODE,
            Purpose("atom", f"a#{i}", 1),
            seed=2,
            rate=0.3,
            kinds=tuple(REALISTIC.weights),
            profile=REALISTIC,
        )
        if first.kind is None:
            continue
        faulted += 1
        second = choose_fault(
            CODE,
            Purpose("atom", f"a#{i}", 2),
            seed=2,
            rate=0.3,
            kinds=tuple(REALISTIC.weights),
            profile=REALISTIC,
        )
        repeated += second.kind == first.kind
    # half repeat outright; a fresh draw adds a few more of the same kind
    assert 0.5 < repeated / faulted < 0.65
    uniform = sum(
        choose_fault(CODE, Purpose("atom", f"a#{i}", 2), seed=2, rate=0.3).kind
        == choose_fault(CODE, Purpose("atom", f"a#{i}", 1), seed=2, rate=0.3).kind
        is not None
        for i in range(DRAWS)
    )
    assert uniform / DRAWS < 0.03  # the uniform profile draws each attempt afresh


def test_longer_and_more_complex_atoms_fail_more_often() -> None:
    long_rate = 1 - _kinds(REALISTIC, 0.1)["none"] / DRAWS
    short_rate = 1 - _kinds(REALISTIC, 0.1, code=SHORT)["none"] / DRAWS
    assert long_rate > short_rate * 1.5
    assert REALISTIC.rate_for(0.1, 10, 1.0) == pytest.approx(0.1)
    assert REALISTIC.rate_for(0.1, 1000, 10.0) == pytest.approx(0.2)  # capped at 2x
    assert UNIFORM.rate_for(0.1, 1000, 10.0) == 0.1


def test_an_unknown_profile_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="unknown fault profile 'chaos'"):
        make_model("replay", reference_dir=None, fault_profile="chaos")
