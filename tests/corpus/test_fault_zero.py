"""The fault-0 invariant on a fast subset of the real PyPI and npm corpora.

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

from bench.corpus._invariant import Counts, Outcome, measure, pytest_counts  # noqa: E402
from bench.corpus._npm import SUBSET as NPM_SUBSET  # noqa: E402
from bench.corpus._npm import NpmPackage, node_counts  # noqa: E402
from bench.corpus._projects import SUBSET, Sdist  # noqa: E402

from mge.validate.node_testing import run_node_tests  # noqa: E402


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
    _assert_holds(measure(sdist, tmp_path))


@pytest.mark.parametrize("package", NPM_SUBSET, ids=lambda p: p.slug)
def test_fault_zero_gives_back_an_npm_package(package: NpmPackage, tmp_path: Path) -> None:
    """CommonJS packages: exports assigned after the functions, prototypes set at
    run time, type errors idiomatic JavaScript has under `checkJs`."""
    if not package.archive.is_file():
        pytest.skip(f"{package.archive} missing: run scripts/install_test_corpora.sh")
    _assert_holds(measure(package, tmp_path))


NODE_SUITE = """\
'use strict'
const test = require('node:test')
const assert = require('node:assert')

test('group', async (t) => {
  await t.test('inner passes', () => assert.ok(true))
  await t.test('inner fails', () => assert.strictEqual(1, 2))
})
test('plain', () => {})
test('skipped', { skip: 'not here' }, () => {})
"""


def test_the_independent_node_count_is_per_leaf_like_the_engine_s(tmp_path: Path) -> None:
    """A test with subtests is a group, not a test of its own (node's summary says 4
    tests); a skipped test is not counted. The engine reads node's TAP in the
    sandbox, the bench node's JUnit report outside it: the two must agree."""
    (tmp_path / "package.json").write_text('{"name": "counts"}')
    (tmp_path / "test").mkdir()
    (tmp_path / "test" / "counts.test.js").write_text(NODE_SUITE)
    independent, _ = node_counts(tmp_path)
    assert independent == (3, 2, 1)
    engine = run_node_tests(tmp_path, ["test/counts.test.js"])
    assert (engine.total, engine.passed, engine.failed) == independent


def _assert_holds(outcome: Outcome) -> None:
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
