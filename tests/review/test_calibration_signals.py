"""The signals aimed at silent faults, on a real run of the shop plan whose only
fault is silent (`discount` adds the discount; no test calls it): stored test
coverage, and static checks against the run's own skeleton, a bare `raise` and a
bare `return` — each must move a wrong atom down the ranking."""

from __future__ import annotations

import ast
import asyncio
import shutil
import uuid
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from tests.review.conftest import DISCOUNT, LABEL, PLAN, TOTAL, WITH_TAX, WRONG_DISCOUNT, Scripted

from mge.db import make_engine, migrate, session_scope
from mge.db.models import AtomicUnit
from mge.execute import build_settings, create_run, execute_run
from mge.review import rank_after_run
from mge.review.calibration import measure
from mge.review.confidence import score_run
from mge.review.suggestions import _skeleton_drift, project_findings

HEADER = "shop/money.py::<module>#0"


@pytest.fixture(scope="module")
def _silent_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("silent")
    url = f"sqlite:///{root / 'mge.db'}"
    migrate.upgrade(url)
    engine = make_engine(url)
    try:
        run_id = create_run(engine, PLAN, build_settings(out_dir=str(root / "out")))
        asyncio.run(
            execute_run(
                engine,
                run_id,
                model=Scripted({DISCOUNT: (WRONG_DISCOUNT, {1})}),
                after_run=rank_after_run,
            )
        )
    finally:
        engine.dispose()
    return root / "mge.db"


@pytest.fixture
def silent(tmp_path: Path, _silent_template: Path) -> str:
    shutil.copy(_silent_template, tmp_path / "mge.db")
    return f"sqlite:///{tmp_path / 'mge.db'}"


def _atoms(session: Session) -> dict[str, AtomicUnit]:
    return {atom.atom_key: atom for atom in session.scalars(select(AtomicUnit))}


def _masterplan(session: Session) -> uuid.UUID:
    return next(iter(_atoms(session).values())).masterplan_id


def test_the_run_stores_what_the_passing_tests_executed(silent: str) -> None:
    with session_scope(make_engine(silent)) as session:
        atoms = _atoms(session)
        # tests/test_money.py calls with_tax and total; nothing calls label or discount
        assert atoms[WITH_TAX].extra["test_coverage"] == 1.0
        assert atoms[TOTAL].extra["test_coverage"] == 1.0
        assert atoms[LABEL].extra["test_coverage"] == 0.0
        assert atoms[DISCOUNT].extra["test_lines"] == [0, 2]
        # the module header has no function line: no evidence either way
        assert "test_coverage" not in atoms[HEADER].extra


def test_the_run_stores_how_many_mutants_the_tests_killed(silent: str) -> None:
    with session_scope(make_engine(silent)) as session:
        atoms = _atoms(session)
        # test_with_tax pins `net + net * RATE // 100` exactly: every mutant dies
        # (it has four candidates: `+`, `*`, `//` and `100`, more than the setting)
        mutation = atoms[WITH_TAX].extra["mutation"]
        assert mutation["mutants"] == build_settings().mutants_per_atom
        assert mutation["killed"] == mutation["mutants"]
        assert mutation["survived"] == []
        # nothing ran label or discount: no mutant, no signal
        assert "mutation" not in atoms[LABEL].extra
        assert "mutation" not in atoms[DISCOUNT].extra
        masterplan_id = _masterplan(session)
        before = score_run(session, masterplan_id=masterplan_id)[atoms[WITH_TAX].id]
        atoms[WITH_TAX].extra = {**atoms[WITH_TAX].extra, "mutation": {"mutants": 2, "killed": 0}}
        session.flush()
        after = score_run(session, masterplan_id=masterplan_id)[atoms[WITH_TAX].id]
        session.rollback()
    assert "unpinned" not in before.components
    assert after.components["unpinned"] > 0
    assert after.score < before.score


def test_coverage_ranks_the_untested_wrong_atom_lower(silent: str) -> None:
    with session_scope(make_engine(silent)) as session:
        masterplan_id = _masterplan(session)
        with_coverage = measure(session, masterplan_id=masterplan_id)
        scores = {key: atom.confidence_score for key, atom in _atoms(session).items()}
        assert with_coverage.wrong == 1
        assert scores[DISCOUNT] < min(scores[WITH_TAX], scores[TOTAL], scores[HEADER])
        for atom in _atoms(session).values():
            atom.extra = {k: v for k, v in atom.extra.items() if k != "test_coverage"}
        without = measure(session, masterplan_id=masterplan_id)
        session.rollback()
    assert with_coverage.auroc is not None and without.auroc is not None
    assert with_coverage.auroc > without.auroc


def _messages(session: Session, key: str) -> list[str]:
    found = project_findings(session, masterplan_id=_masterplan(session))
    return [f"{s.severity}: {s.message}" for s in found.get(key, [])]


def test_a_constant_that_contradicts_the_skeleton_is_an_error(silent: str) -> None:
    with session_scope(make_engine(silent)) as session:
        header = _atoms(session)[HEADER]
        header_id = header.id
        assert "RATE = 20" in (header.code or "")
        assert not [m for m in _messages(session, HEADER) if m.startswith("error")]
        before = score_run(session, masterplan_id=header.masterplan_id)[header.id].score
        header.code = (header.code or "").replace("RATE = 20", "RATE = 21")
        session.flush()
        messages = _messages(session, HEADER)
        after = score_run(session, masterplan_id=header.masterplan_id)
        session.rollback()
    assert any("RATE: not as the skeleton declares (`RATE = 20`)" in m for m in messages)
    assert after[header_id].score < before
    # now the lowest of all, below even the untested wrong `discount`
    assert after[header_id].score == min(c.score for c in after.values())


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        # `raise InvalidQuantity(net)` cut short after its keyword
        ("    if net < 0:\n        raise\n    return net\n", "bare `raise` outside"),
        # `return net - ...` cut short after its keyword
        ("    if percent:\n        return\n    return net\n", "bare `return` in a function"),
        # `cut: int = net * percent // 100` cut short after its annotation
        ("    cut: int\n    return net - cut\n", "local `cut` is annotated but never given"),
        # an attribute too short for the near-miss check, defined nowhere
        ("    return net - net.su * percent // 100\n", "attribute 'su' is defined nowhere"),
    ],
)
def test_slips_a_test_may_not_reach_are_errors(silent: str, body: str, expected: str) -> None:
    head = 'def discount(net: int, percent: int) -> int:\n    """A net price."""\n'
    with session_scope(make_engine(silent)) as session:
        atom = _atoms(session)[DISCOUNT]
        atom.code = head + body
        session.flush()
        messages = _messages(session, DISCOUNT)
        session.rollback()
    assert any(m.startswith("error") and expected in m for m in messages), messages


def test_a_bare_raise_in_an_except_block_and_library_attributes_are_fine(silent: str) -> None:
    code = (
        "def discount(net: int, percent: int) -> int:\n"
        "    try:\n        return net.real // percent.numerator\n"
        "    except ZeroDivisionError:\n        raise\n"
    )
    with session_scope(make_engine(silent)) as session:
        atom = _atoms(session)[DISCOUNT]
        atom.code = code
        session.flush()
        messages = _messages(session, DISCOUNT)
        session.rollback()
    assert not [m for m in messages if m.startswith("error")], messages


SKELETON = '''\
from dataclasses import dataclass


@dataclass(frozen=True)
class Layer:
    """Units bought together."""

    quantity: int
    note: str = ""

    def value(self) -> int:
        """What they cost."""
        ...
'''


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (
            '@dataclass(frozen=False)\nclass Layer:\n    """Units."""\n\n    quantity: int\n'
            '    note: str = ""\n',
            "decorators: not as the skeleton declares (`@dataclass(frozen=True)`)",
        ),
        (
            '@dataclass(frozen=True)\nclass Layer:\n    """Units."""\n\n    quantity: int\n'
            "    note: str = ' '\n",
            "note: not as the skeleton declares (`note: str = ''`)",
        ),
        (
            "@dataclass(frozen=True)\nclass Layer(object):\n    quantity: int\n"
            '    note: str = ""\n',
            "bases of Layer: not as the skeleton declares (`()`)",
        ),
    ],
)
def test_a_class_header_that_contradicts_the_skeleton(code: str, expected: str) -> None:
    atom = AtomicUnit(kind="class_header", qualname="Layer", name="Layer")
    found = _skeleton_drift(atom, ast.parse(code), 0, ast.parse(SKELETON))
    assert any(expected in s.message for s in found), found


def test_a_class_header_as_planned_has_no_drift() -> None:
    code = (
        '@dataclass(frozen=True)\nclass Layer:\n    """Units, said differently."""\n\n'
        '    quantity: int\n    note: str = ""\n'
    )
    atom = AtomicUnit(kind="class_header", qualname="Layer", name="Layer")
    assert _skeleton_drift(atom, ast.parse(code), 0, ast.parse(SKELETON)) == []
