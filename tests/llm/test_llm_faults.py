"""Injected faults: determinism, distribution, and that each kind is really caught.

"Caught" means what a real validator would see: the code no longer compiles,
pyflakes reports something new, or running it on a few inputs gives different
results or exceptions than the reference. The snippets are small functions whose
every line matters for the listed inputs, so an edit cannot hide in dead code.
"""

from __future__ import annotations

import io
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import pytest
from pyflakes.api import check as pyflakes_check
from pyflakes.reporter import Reporter

from mge.errors import ConfigError
from mge.llm import FAULT_KINDS, Purpose, extract_code, parse_fault_kinds
from mge.llm._faults import apply_fault, choose_fault


@dataclass(frozen=True)
class Snippet:
    name: str
    code: str
    harness_prefix: str  # makes an indented fragment a full module
    run: Callable[[dict[str, Any]], Any]


def _users() -> list[SimpleNamespace]:
    return [
        SimpleNamespace(email_verified=True, age=18),
        SimpleNamespace(email_verified=True, age=17),
        SimpleNamespace(email_verified=False, age=40),
        SimpleNamespace(email_verified=True, age=30),
    ]


SNIPPETS = [
    Snippet(
        "count_active",
        '''def count_active(users, minimum_age):
    """Count users old enough whose email is verified."""
    total = 0
    for user in users:
        if user.email_verified and user.age >= minimum_age:
            total += 1
    return total
''',
        "",
        lambda ns: ns["count_active"](_users(), 18),
    ),
    Snippet(
        "window_sums",
        """def window_sums(values, size):
    sums = []
    for start in range(len(values) - size + 1):
        sums.append(sum(values[start:start + size]))
    return sums
""",
        "",
        lambda ns: [ns["window_sums"]([1, 2, 3, 4], 2), ns["window_sums"]([5, 1, 2], 1)],
    ),
    Snippet(
        "describe",
        """def describe(order):
    if order["status"] == "paid" and not order.get("refunded"):
        label = "settled"
    else:
        label = "open"
    return f"{order['id']}: {label}"
""",
        "",
        lambda ns: [
            ns["describe"](order)
            for order in (
                {"id": 1, "status": "paid"},
                {"id": 2, "status": "paid", "refunded": True},
                {"id": 3, "status": "new"},
            )
        ],
    ),
    Snippet(
        "cart_total",  # a method: an indented fragment, parsed inside `if True:`
        """    def total(self):
        return sum(item.price * item.quantity for item in self.items)
""",
        "class Cart:\n    def __init__(self, items):\n        self.items = items\n\n",
        lambda ns: ns["Cart"](
            [SimpleNamespace(price=3, quantity=4), SimpleNamespace(price=5, quantity=1)]
        ).total(),
    ),
    Snippet(
        "area_ratio",
        """def area_ratio(radius, scale=2):
    full = 3.14159 * radius ** 2
    return full / (scale * scale)
""",
        "",
        lambda ns: [ns["area_ratio"](1), ns["area_ratio"](3), ns["area_ratio"](3, 4)],
    ),
]


def _outcome(snippet: Snippet, code: str) -> tuple[str, Any]:
    namespace: dict[str, Any] = {}
    try:
        exec(compile(snippet.harness_prefix + code, snippet.name, "exec"), namespace)
        return ("ok", snippet.run(namespace))
    except Exception as exc:
        return ("raised", type(exc).__name__)


def _flakes(source: str) -> set[str]:
    out = io.StringIO()
    pyflakes_check(source, "snippet.py", Reporter(out, io.StringIO()))
    return {line.split(":", 3)[-1].strip() for line in out.getvalue().splitlines()}


def _caught(snippet: Snippet, code: str) -> bool:
    source = snippet.harness_prefix + code
    try:
        compile(source, snippet.name, "exec")
    except SyntaxError:
        return True
    if _flakes(source) - _flakes(snippet.harness_prefix + snippet.code):
        return True
    return _outcome(snippet, code) != _outcome(snippet, snippet.code)


def test_snippets_run_cleanly_as_given() -> None:
    for snippet in SNIPPETS:
        status, _ = _outcome(snippet, snippet.code)
        assert status == "ok", snippet.name


CODE_KINDS = [k for k in FAULT_KINDS if k != "prose_fences"]


@pytest.mark.parametrize("kind", CODE_KINDS)
def test_every_fault_of_every_kind_is_caught_or_changes_behaviour(kind: str) -> None:
    applied = 0
    for snippet in SNIPPETS:
        for seed in range(12):
            faulted = apply_fault(snippet.code, kind, random.Random(seed))
            if faulted is None:
                continue
            applied += 1
            assert faulted != snippet.code
            # The engine extracts code from every answer first; the fault must survive that.
            assert extract_code(faulted, "python") == faulted
            assert _caught(snippet, faulted), f"{kind} on {snippet.name} (seed {seed}):\n{faulted}"
    assert applied >= 24  # the kind applied to most snippets, not vacuously


def test_each_kind_is_caught_by_the_check_that_fits_it() -> None:
    code = SNIPPETS[0].code
    clean_flakes = _flakes(code)
    for seed in range(8):
        rng = random.Random(seed)
        with pytest.raises(SyntaxError):
            compile(apply_fault(code, "syntax_error", rng) or "", "s", "exec")
        typo = apply_fault(code, "undefined_name", random.Random(seed)) or ""
        assert any("undefined name" in m for m in _flakes(typo) - clean_flakes)
        renamed = apply_fault(code, "wrong_attribute", random.Random(seed)) or ""
        assert _outcome(SNIPPETS[0], renamed) == ("raised", "AttributeError")
        unreturned = apply_fault(code, "missing_return", random.Random(seed)) or ""
        assert _outcome(SNIPPETS[0], unreturned) == ("ok", None)


def test_prose_and_fences_are_undone_by_extraction() -> None:
    for snippet in SNIPPETS:
        for seed in range(12):
            wrapped = apply_fault(snippet.code, "prose_fences", random.Random(seed))
            assert wrapped is not None and "```" in wrapped
            assert _caught(snippet, wrapped)  # as sent, it is not valid Python
            assert extract_code(wrapped, "python") == snippet.code


def test_a_kind_that_cannot_apply_returns_none() -> None:
    assert apply_fault("x = y\n", "wrong_attribute", random.Random(0)) is None
    assert apply_fault("def f(a):\n    print(a)\n", "missing_return", random.Random(0)) is None
    assert apply_fault("   \n", "syntax_error", random.Random(0)) is None


TYPESCRIPT = """export function clamp(value: number, low: number): number {
  if (value < low) {
    return low;
  }
  return user.emailVerified ? value : 0;
}
"""


@pytest.mark.parametrize("kind", FAULT_KINDS)
def test_other_languages_get_text_level_faults(kind: str) -> None:
    for seed in range(5):
        faulted = apply_fault(TYPESCRIPT, kind, random.Random(seed), "typescript")
        assert faulted is not None and faulted != TYPESCRIPT
    if kind == "prose_fences":
        assert extract_code(faulted, "typescript") == TYPESCRIPT


def _purposes(count: int) -> list[Purpose]:
    return [Purpose("atom", f"pkg/mod.py::f{i}#0") for i in range(count)]


def test_fault_decisions_are_deterministic_per_seed_atom_and_attempt() -> None:
    code = SNIPPETS[0].code
    first = [choose_fault(code, p, seed=7, rate=0.5) for p in _purposes(200)]
    again = [choose_fault(code, p, seed=7, rate=0.5) for p in _purposes(200)]
    other_seed = [choose_fault(code, p, seed=8, rate=0.5) for p in _purposes(200)]
    retried = [
        choose_fault(code, Purpose(p.kind, p.target, attempt=2), seed=7, rate=0.5)
        for p in _purposes(200)
    ]
    assert first == again
    assert [o.kind for o in first] != [o.kind for o in other_seed]
    assert [o.kind for o in first] != [o.kind for o in retried]


def test_fault_rate_and_kinds_follow_the_requested_distribution() -> None:
    code = SNIPPETS[0].code  # every kind applies to it
    draws = 4000
    outcomes = [choose_fault(code, p, seed=1, rate=0.3) for p in _purposes(draws)]
    faulted = [o for o in outcomes if o.kind is not None]
    # Binomial(4000, 0.3): sd ≈ 29, so ±120 is over four standard deviations.
    assert abs(len(faulted) - 0.3 * draws) < 120
    assert all(o.code != code for o in faulted)
    assert all(o.code == code for o in outcomes if o.kind is None)
    counts = Counter(o.kind for o in faulted)
    expected = len(faulted) / len(FAULT_KINDS)  # ≈ 150, sd ≈ 11.5
    assert set(counts) == set(FAULT_KINDS)
    for kind, count in counts.items():
        assert abs(count - expected) < 50, (kind, counts)


def test_rate_zero_and_one() -> None:
    code = SNIPPETS[1].code
    assert all(choose_fault(code, p, seed=3, rate=0.0).kind is None for p in _purposes(50))
    assert all(choose_fault(code, p, seed=3, rate=1.0).code != code for p in _purposes(50))


def test_an_inapplicable_kind_hands_over_to_the_next_requested_one() -> None:
    code = "def f(a):\n    return a\n"  # no attribute to misspell
    outcomes = [
        choose_fault(code, p, seed=2, rate=1.0, kinds=("wrong_attribute", "missing_return"))
        for p in _purposes(40)
    ]
    assert {o.kind for o in outcomes} == {"missing_return"}
    only_attribute = choose_fault(
        code, _purposes(1)[0], seed=2, rate=1.0, kinds=("wrong_attribute",)
    )
    assert only_attribute.kind is None and only_attribute.code == code


def test_fault_kind_lists_are_validated() -> None:
    assert parse_fault_kinds(None) == FAULT_KINDS
    assert parse_fault_kinds("all") == FAULT_KINDS
    assert parse_fault_kinds("truncated, syntax_error,truncated") == ("truncated", "syntax_error")
    with pytest.raises(ConfigError, match="unknown fault kind 'typo'"):
        parse_fault_kinds("syntax_error,typo")
    with pytest.raises(ConfigError):
        parse_fault_kinds("")


def _real_atoms() -> list[str]:
    """Every function and method of this package's own source, methods still indented."""
    import ast
    from pathlib import Path

    import mge.llm

    atoms: list[str] = []
    for path in sorted(Path(mge.llm.__file__).parent.glob("*.py")):
        source = path.read_text(encoding="utf-8")
        lines = source.splitlines(keepends=True)
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.end_lineno:
                atoms.append("".join(lines[node.lineno - 1 : node.end_lineno]))
    return atoms


def test_faults_on_real_code_keep_their_promises() -> None:
    import ast
    import textwrap

    atoms = _real_atoms()
    assert len(atoms) > 80
    for i, atom in enumerate(atoms):
        for kind in FAULT_KINDS:
            faulted = apply_fault(atom, kind, random.Random(i))
            if faulted is None:
                continue
            assert faulted != atom
            if kind == "syntax_error":
                with pytest.raises(SyntaxError):
                    ast.parse(textwrap.dedent(faulted))
            elif kind in ("undefined_name", "wrong_attribute", "wrong_operator", "wrong_constant"):
                ast.parse(textwrap.dedent(faulted))  # still valid: only the meaning changed


def test_edits_land_on_the_right_characters_after_non_ascii_text() -> None:
    code = 'def greet(user):\n    return "héllo ✓ " + user.name\n'
    for seed in range(10):
        renamed = apply_fault(code, "wrong_attribute", random.Random(seed))
        assert renamed is not None and renamed.startswith(code[: code.index("user.") + 5])
        assert renamed.rstrip().rsplit(".", 1)[1] != "name"
        flipped = apply_fault(code, "wrong_operator", random.Random(seed))
        assert flipped == 'def greet(user):\n    return "héllo ✓ " - user.name\n'
