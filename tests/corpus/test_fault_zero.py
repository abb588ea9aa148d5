"""The fault-0 invariant on a fast subset of the real PyPI corpus.

At fault rate 0 the replay model answers with the reference, so each project must
plan, pass L1 atom by atom, come back byte for byte, and get the same test verdict
from the engine as from an independent pytest run. These are projects nobody
tuned the engine for: a regression in planning, atomization, assembly or the
sandboxed test run shows up here as a named atom, file or count. The sdists are
fetched (sha256-checked) by `make system-deps`; the full corpus is `make bench`.
"""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

from mge.validate.testing import run_pytest

REPO = Path(__file__).resolve().parents[2]
# `bench` is the repository's benchmark package, not an installed one: the corpus
# list lives there so that the bench and these tests measure the same projects.
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.corpus._invariant import Counts, measure, pytest_counts  # noqa: E402
from bench.corpus._projects import SUBSET, Sdist  # noqa: E402


def test_the_subset_mixes_layouts() -> None:
    """Single modules and packages, tests beside or inside the code: each layout
    takes its own path through `plan from-code` and the test copying."""
    assert len(SUBSET) >= 5
    assert {sdist.package.endswith(".py") for sdist in SUBSET} == {True, False}
    assert {bool(sdist.tests) for sdist in SUBSET} == {True, False}


MIXED_SUITE = """\
    import unittest

    import pytest


    class Numbers(unittest.TestCase):
        def test_all_even(self):
            for n in (2, 3, 4, 5):
                with self.subTest(n=n):
                    self.assertEqual(n % 2, 0)

        def test_plain(self):
            self.assertTrue(True)


    @pytest.fixture
    def broken():
        yield 1
        raise RuntimeError("teardown")


    def test_teardown_fails(broken):
        assert broken == 1


    @pytest.mark.xfail(reason="known")
    def test_known_bug():
        assert False


    @pytest.mark.skip(reason="not here")
    def test_skipped():
        pass
"""


def test_the_independent_count_is_per_test_like_the_engine_s(tmp_path: Path) -> None:
    """Two failing subtests fail one test (pytest's summary line says 2 failed and
    counts their test as passed), a failing teardown fails its passed test (the
    summary counts it twice), xfail and skip are not counted."""
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_mix.py").write_text(textwrap.dedent(MIXED_SUITE))
    independent, _ = pytest_counts(tmp_path, [])
    assert independent == Counts(total=3, passed=1, failed=2)
    engine = run_pytest(tmp_path, ["tests/test_mix.py"], timeout=120)
    assert Counts(engine.total, engine.passed, engine.failed) == independent


def test_a_suite_that_cannot_start_is_one_failure_in_both_counts(tmp_path: Path) -> None:
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "conftest.py").write_text("import not_installed_anywhere\n")
    for name in ("a", "b"):
        (tmp_path / "tests" / f"test_{name}.py").write_text(f"def test_{name}():\n    pass\n")
    independent, output = pytest_counts(tmp_path, [])
    assert independent == Counts(total=1, passed=0, failed=1)
    assert "ImportError while loading conftest" in output
    engine = run_pytest(tmp_path, ["tests/test_a.py", "tests/test_b.py"], timeout=120)
    assert Counts(engine.total, engine.passed, engine.failed) == independent


@pytest.mark.parametrize("sdist", SUBSET, ids=lambda s: s.name)
def test_fault_zero_gives_back_the_reference(sdist: Sdist, tmp_path: Path) -> None:
    if not sdist.archive.is_file():
        pytest.skip(f"{sdist.archive} missing: run scripts/install_test_corpora.sh")
    outcome = measure(sdist, tmp_path)

    assert not outcome.left_out, outcome.left_out
    assert outcome.reference_tests.total > 0 and outcome.reference_tests.failed == 0
    assert outcome.planned
    assert not outcome.error, outcome.error
    assert outcome.atoms > 0
    assert outcome.rejected == []
    assert outcome.blocked == 0
    assert outcome.differing == []
    assert outcome.engine_tests == outcome.independent_tests
    # Same counts on the output as the suite gave on the reference itself.
    assert outcome.engine_tests == outcome.reference_tests
    assert outcome.holds
