"""Which atoms a failing check blames, on a hand-made outcome (no model, no run):
the ranking rules of `Blame._suspects` that decide what gets regenerated."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from mge.db.models import AtomStatus, TestType
from mge.execute._assembly import PlannedAtom
from mge.execute._checks import CheckOutcome
from mge.execute._hierarchy import Hierarchy
from mge.validate.blame import AtomSpan, SpanIndex
from mge.validate.testing import TestFailure, TestOutcome

SOURCE = """\
class Shop:
    RATE = 2

    def __init__(self):
        self.items = []

    def price(self, n):
        if n < 0:
            raise ValueError("negative")
        return n * self.RATE
"""
# line → atom: the class header (1-2), __init__ (4-5), price (7-10)
ATOMS = {
    "shop.py::Shop#0": ("class_header", "Shop", 1, 2, ("Shop", "RATE")),
    "shop.py::Shop.__init__#0": ("method", "Shop.__init__", 4, 5, ("__init__", "self", "items")),
    "shop.py::Shop.price#0": ("method", "Shop.price", 7, 10, ("price", "self", "n")),
}


def _hierarchy(
    tmp_path: Path,
    exhausted: frozenset[str] = frozenset(),
    source: str = SOURCE,
    atoms: dict[str, tuple[str, str, int, int, tuple[str, ...]]] = ATOMS,
) -> tuple[Hierarchy, SpanIndex]:
    (tmp_path / "shop.py").write_text(source)
    states = {
        key: SimpleNamespace(
            planned=PlannedAtom(key, "shop.py", kind, qual.split(".")[-1], qual, None, "", ""),
            defines=list(defines),
            status=AtomStatus.COMPLETED,
        )
        for key, (kind, qual, _, _, defines) in atoms.items()
    }
    hierarchy = Hierarchy.__new__(Hierarchy)
    hierarchy.runner = SimpleNamespace(  # type: ignore[assignment]
        states=states, files={"shop.py": list(atoms)}, blame_exhausted=exhausted.__contains__
    )
    hierarchy.out = tmp_path
    index = SpanIndex(
        [AtomSpan(key, "shop.py", first, last) for key, (_, _, first, last, _) in atoms.items()]
    )
    return hierarchy, index


def _outcome(
    failing: dict[str, str], passing: list[str], ran: dict[str, list[int]]
) -> CheckOutcome:
    tests = TestOutcome(
        total=len(failing) + len(passing),
        passed=len(passing),
        failed=len(failing),
        failures=[TestFailure(t, "", text, nodeid=t) for t, text in failing.items()],
        coverage={t: {"shop.py": lines} for t, lines in ran.items()},
        verdicts={**{t: False for t in failing}, **{t: True for t in passing}},
    )
    return CheckOutcome(False, TestType.UNIT, "tests", "", [], tests)


def _restores(hierarchy: Hierarchy) -> list[tuple[str, str]]:
    """Let the hierarchy put code back without a database; returns the list that
    records each (atom, reason) put back."""
    restored: list[tuple[str, str]] = []
    states = hierarchy.runner.states

    def restore_code(key: str, code: str, *, reason: str) -> None:
        restored.append((key, reason))
        states[key].code = code

    hierarchy.runner.restore_code = restore_code  # type: ignore[attr-defined]
    hierarchy.runner.commit = lambda: None  # type: ignore[attr-defined]
    return restored


RAISED = "shop.py:9: in price\n    raise ValueError\nE   ValueError: negative\n"


def test_the_frame_that_raised_is_blamed_even_when_a_constructor_scores_higher(
    tmp_path: Path,
) -> None:
    # Four tests fail, all through __init__; one raised inside `price`, which only
    # it ran. Ochiai puts __init__ first (every failing test ran it); the frame
    # where the error surfaced is blamed in the same round, not after the budget.
    hierarchy, index = _hierarchy(tmp_path)
    outcome = _outcome(
        {"t1": RAISED, "t2": "AssertionError", "t3": "AssertionError", "t4": "AssertionError"},
        ["t5"],
        {"t1": [4, 5, 8, 9], "t2": [4, 5], "t3": [4, 5], "t4": [4, 5], "t5": [4, 5]},
    )
    picked = [s.atom_id for s in hierarchy._suspects(outcome, index, [], set())]
    assert picked[0] == "shop.py::Shop.__init__#0"
    assert "shop.py::Shop.price#0" in picked
    # Once tried, the frame is not offered again for the same failure.
    tried = {"shop.py::Shop.price#0", "shop.py::Shop.__init__#0"}
    again = [s.atom_id for s in hierarchy._suspects(outcome, index, [], tried)]
    assert "shop.py::Shop.price#0" not in again


def test_a_class_constant_read_only_by_failing_tests_is_a_suspect(tmp_path: Path) -> None:
    # The class header ran at import, so no test's coverage holds it; the failing
    # test ran line 10, which reads RATE, and the passing one did not.
    hierarchy, index = _hierarchy(tmp_path)
    outcome = _outcome(
        {"t1": "AssertionError: 4 != 6"}, ["t2"], {"t1": [4, 5, 8, 10], "t2": [4, 5]}
    )
    suspects = hierarchy._suspects(outcome, index, [], {"shop.py::Shop.price#0"})
    assert [s.atom_id for s in suspects] == ["shop.py::Shop#0"]
    assert suspects[0].score == 1.0


def test_a_missing_attribute_outranks_the_frame_that_read_it(tmp_path: Path) -> None:
    hierarchy, index = _hierarchy(tmp_path)
    text = "shop.py:10: in price\nE   AttributeError: type object 'Shop' has no attribute 'RATE'\n"
    outcome = _outcome({"t1": text}, ["t2"], {"t1": [4, 5, 8, 10], "t2": [4, 5]})
    suspects = hierarchy._suspects(outcome, index, [], set())
    assert suspects[0].atom_id == "shop.py::Shop#0"
    assert suspects[0].source == "missing name"


def test_a_failure_that_reached_a_stub_blames_no_other_atom(tmp_path: Path) -> None:
    # `price` failed L1 and is a stub: tests calling it fail for a known reason.
    # Blaming the constructor they also ran would only risk new faults.
    hierarchy, index = _hierarchy(tmp_path)
    stub = (
        "shop.py:8: in price\n"
        "E   NotImplementedError: mge: not generated yet: shop.py::Shop.price#0\n"
    )
    outcome = _outcome({"t1": stub}, ["t2"], {"t1": [4, 5, 8], "t2": [4, 5]})
    assert hierarchy._suspects(outcome, index, [], set()) == []
    # node's report of a TypeScript stub: `throw new Error("mge: not generated yet: …")`.
    thrown = (
        "Error: mge: not generated yet: shop.py::Shop.price#0\n    at Shop.price (shop.py:8:11)\n"
    )
    outcome = _outcome({"t1": thrown}, ["t2"], {"t1": [4, 5, 8], "t2": [4, 5]})
    assert hierarchy._suspects(outcome, index, [], set()) == []


STUBBED = """\
class Shop:
    RATE = 2

    def __init__(self):
        self.items = []

    def total(self, ns):
        return sum(ns) + len(self.items)

    def tax(self, n):
        raise NotImplementedError("mge: not generated yet: shop.py::Shop.tax#0")
"""
STUBBED_ATOMS = {
    "shop.py::Shop#0": ("class_header", "Shop", 1, 2, ("Shop", "RATE")),
    "shop.py::Shop.__init__#0": ("method", "Shop.__init__", 4, 5, ("__init__", "self", "items")),
    "shop.py::Shop.total#0": ("method", "Shop.total", 7, 8, ("total", "self", "ns")),
    "shop.py::Shop.tax#0": ("method", "Shop.tax", 10, 11, ("tax", "self", "n")),
}


def test_tests_that_stopped_at_a_stub_do_not_count_against_the_code_they_ran(
    tmp_path: Path,
) -> None:
    # t1 and t2 built a Shop and stopped at `tax`, a stub; t3 failed on `total`.
    # Counted as failures, t1 and t2 would make the constructor every test runs
    # the likeliest suspect of t3's failure; their failure is explained by the stub.
    hierarchy, index = _hierarchy(tmp_path, source=STUBBED, atoms=STUBBED_ATOMS)
    stub = (
        "shop.py:11: in tax\nE   NotImplementedError: mge: not generated yet: shop.py::Shop.tax#0\n"
    )
    outcome = _outcome(
        {"t1": stub, "t2": stub, "t3": "AssertionError: 7 != 6"},
        ["t4"],
        {"t1": [4, 5, 11], "t2": [4, 5, 11], "t3": [4, 5, 8], "t4": [4, 5]},
    )
    suspects = hierarchy._suspects(outcome, index, [], set())
    assert [s.atom_id for s in suspects] == ["shop.py::Shop.total#0"]


def test_an_atom_regenerated_for_a_test_that_still_fails_gives_way_to_its_next_candidate(
    tmp_path: Path,
) -> None:
    # `price` and the class constant it reads are run only by the failing test,
    # the constructor by both: Ochiai blames `price` first. Once a regeneration of
    # `price` left the test failing (in this check or an earlier one), the class
    # header is tried next, and after it the constructor.
    hierarchy, index = _hierarchy(tmp_path)
    outcome = _outcome({"t1": "AssertionError"}, ["t2"], {"t1": [4, 5, 8, 10], "t2": [4, 5]})
    first = [s.atom_id for s in hierarchy._suspects(outcome, index, [], set())]
    assert first == ["shop.py::Shop.price#0"]
    cleared = {"t1": ["shop.py::Shop.price#0"]}
    then = [s.atom_id for s in hierarchy._suspects(outcome, index, [], set(), cleared)]
    assert then == ["shop.py::Shop#0"]
    cleared = {"t1": ["shop.py::Shop.price#0", "shop.py::Shop#0"]}
    last = [s.atom_id for s in hierarchy._suspects(outcome, index, [], set(), cleared)]
    assert last == ["shop.py::Shop.__init__#0"]
    # Cleared for another test only: no effect on this one.
    other = {"t9": ["shop.py::Shop.price#0"]}
    assert [s.atom_id for s in hierarchy._suspects(outcome, index, [], set(), other)] == first


def test_a_cleared_atom_is_still_blamed_when_it_is_the_only_candidate(tmp_path: Path) -> None:
    # The model may repeat its mistake: a cleared atom is scored down, not ruled out.
    hierarchy, index = _hierarchy(tmp_path)
    outcome = _outcome({"t1": "AssertionError"}, [], {"t1": [8, 9]})
    cleared = {"t1": ["shop.py::Shop.price#0"]}
    suspects = hierarchy._suspects(outcome, index, [], set(), cleared)
    assert [s.atom_id for s in suspects] == ["shop.py::Shop.price#0"]
    assert suspects[0].score < 1.0


def test_a_best_suspect_out_of_regenerations_brings_the_next_one_that_has_some(
    tmp_path: Path,
) -> None:
    # `price` is the likeliest but blame has used its regenerations: it is still
    # named (it goes to review), and the constructor is regenerated beside it.
    hierarchy, index = _hierarchy(tmp_path, exhausted=frozenset({"shop.py::Shop.price#0"}))
    outcome = _outcome({"t1": "AssertionError"}, ["t2"], {"t1": [4, 5, 8, 9], "t2": [4, 5]})
    picked = [s.atom_id for s in hierarchy._suspects(outcome, index, [], set())]
    assert picked == ["shop.py::Shop.price#0", "shop.py::Shop.__init__#0"]


def test_only_a_test_that_passed_before_the_round_can_undo_it(tmp_path: Path) -> None:
    # The round regenerated `price`; t1 fails now. If t1 passed before, the new
    # `price` broke it and its old code comes back. If t1 did not run before (its
    # file failed to import, and the round fixed that), it is no evidence at all.
    hierarchy, index = _hierarchy(tmp_path)
    restored = _restores(hierarchy)
    states = hierarchy.runner.states
    states["shop.py::Shop.price#0"].code = "new"
    outcome = _outcome({"t1": "AssertionError"}, ["t2"], {"t1": [4, 5, 8, 9], "t2": [4, 5]})
    round_ = ["shop.py::Shop.price#0"]
    before = {"shop.py::Shop.price#0": "old"}
    assert hierarchy._undo_breakage(outcome, index, {"t2"}, round_, before) == []
    assert restored == []
    assert hierarchy._undo_breakage(outcome, index, {"t1", "t2"}, round_, before) == round_
    assert restored == [("shop.py::Shop.price#0", "it broke t1")]
    assert states["shop.py::Shop.price#0"].code == "old"


def test_a_class_body_that_broke_a_test_is_put_back_though_no_coverage_shows_it(
    tmp_path: Path,
) -> None:
    # The round regenerated the class header (run at import, so in no test's line
    # coverage) and `price`. t1 passed before and fails now, having run only the
    # constructor: the class body is put back, `price` (which t1 never ran) is kept.
    hierarchy, index = _hierarchy(tmp_path)
    states = hierarchy.runner.states
    restored = _restores(hierarchy)
    round_ = ["shop.py::Shop#0", "shop.py::Shop.price#0"]
    for key in round_:
        states[key].code = "new"
    before = dict.fromkeys(round_, "old")
    outcome = _outcome({"t1": "AttributeError"}, ["t2"], {"t1": [4, 5], "t2": [4, 5, 8, 10]})
    assert hierarchy._undo_breakage(outcome, index, {"t1", "t2"}, round_, before) == [
        "shop.py::Shop#0"
    ]
    assert [key for key, _ in restored] == ["shop.py::Shop#0"]
    assert states["shop.py::Shop.price#0"].code == "new"
    # A test that ran nothing in the class's file says nothing about its body.
    states["shop.py::Shop#0"].code = "new"
    restored.clear()
    elsewhere = _outcome({"t1": "AttributeError"}, ["t2"], {"t1": [], "t2": [4, 5]})
    assert hierarchy._undo_breakage(elsewhere, index, {"t1", "t2"}, round_, before) == []


def test_a_regeneration_that_fixed_more_tests_than_it_broke_is_kept(tmp_path: Path) -> None:
    # The new `price` fixed t3 and t4 (failing before the round) and broke t1, which
    # passed before only because the old fault kept it off a path with another
    # fault: the fix is kept, and t1 goes on to be blamed. Had it fixed only one
    # test and broken two, it would be put back.
    hierarchy, index = _hierarchy(tmp_path)
    states = hierarchy.runner.states
    restored = _restores(hierarchy)
    round_ = ["shop.py::Shop.price#0"]
    before = {"shop.py::Shop.price#0": "old"}
    states["shop.py::Shop.price#0"].code = "new"
    ran = {"t1": [8, 10], "t2": [4, 5], "t3": [8, 10], "t4": [8, 9]}
    outcome = _outcome({"t1": "AssertionError"}, ["t2", "t3", "t4"], ran)
    assert hierarchy._undo_breakage(outcome, index, {"t1", "t2"}, round_, before) == []
    assert states["shop.py::Shop.price#0"].code == "new"
    worse = _outcome({"t1": "AssertionError", "t2": "AssertionError"}, ["t3"], ran | {"t2": [8]})
    assert hierarchy._undo_breakage(worse, index, {"t1", "t2"}, round_, before) == round_
    assert [key for key, _ in restored] == ["shop.py::Shop.price#0"]


def test_new_code_that_reads_a_name_nobody_binds_is_put_back(tmp_path: Path) -> None:
    """The round regenerated `price`, whose new code misspelt `self.RATE`; the module
    now fails where no test passed before or after (a failure at collection), so
    there are no broken tests to weigh. The failure names the missing attribute,
    its innermost frame is in the new code, and the old code never read that name:
    the old code comes back. A missing name the old code read too proves nothing."""
    hierarchy, index = _hierarchy(tmp_path)
    states = hierarchy.runner.states
    restored = _restores(hierarchy)
    round_ = ["shop.py::Shop.price#0"]
    key = round_[0]
    before = {key: "    def price(self, n):\n        return n * self.RATE\n"}
    states[key].code = "    def price(self, n):\n        return n * self.RAET\n"
    failure = (
        "tests/test_shop.py:3: in <module>\n    TOTAL = Shop().price(2)\n"
        "shop.py:10: in price\n    return n * self.RAET\n"
        "E   AttributeError: 'Shop' object has no attribute 'RAET'\n"
    )
    outcome = _outcome({"tests/test_shop.py": failure}, [], {})
    assert hierarchy._undo_new_misses(outcome, index, round_, before) == round_
    assert restored == [(key, "its new code reads RAET, which is missing")]
    assert states[key].code == before[key]
    # The same failure when the old code already read `RAET`: not the round's doing.
    restored.clear()
    states[key].code = "    def price(self, n):\n        return n * self.RAET  # new\n"
    before = {key: "    def price(self, n):\n        return self.RAET\n"}
    assert hierarchy._undo_new_misses(outcome, index, round_, before) == []
    # Nor when the frame that raised is code the round did not touch.
    elsewhere = failure.replace("shop.py:10: in price", "shop.py:5: in __init__")
    before = {key: "old"}
    assert (
        hierarchy._undo_new_misses(_outcome({"t": elsewhere}, [], {}), index, round_, before) == []
    )
    assert restored == []
