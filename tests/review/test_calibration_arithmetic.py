"""The calibration figures on hand-built runs whose wrong atoms are known, and the
confidence of a finished run unchanged once its reference is gone."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session
from tests.review.conftest import PLAN

from mge.db import make_engine, migrate
from mge.db.models import AtomicUnit, GenerationRun
from mge.execute import build_settings, create_run, execute_run
from mge.review import rank_after_run
from mge.review.calibration import ranking
from mge.review.confidence import score_run


def test_ten_atoms_two_wrong_both_in_the_bottom_fifth() -> None:
    values = [0.1, 0.2, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 0.97]
    wrong = [True, True, False, False, False, False, False, False, False, False]
    figures = ranking(values, wrong, failed=3)
    assert (figures.atoms, figures.wrong, figures.failed) == (10, 2, 3)
    assert figures.auroc == 1.0
    # bottom 15% of 10 atoms rounds to 2 (1.5 rounds half to even: 2), bottom 20% is 2
    assert figures.recall_bottom_15 == 1.0
    assert figures.recall_bottom_20 == 1.0
    assert figures.precision_at_wrong == 1.0


def test_a_wrong_atom_ranked_high_is_missed_and_counted_against_auroc() -> None:
    # 20 atoms, 4 wrong: three among the 4 least confident, one at the very top
    values = [i / 20 for i in range(20)]
    wrong = [i in {0, 1, 2, 19} for i in range(20)]
    figures = ranking(values, wrong)
    assert figures.wrong == 4
    assert figures.recall_bottom_15 == 0.75  # cut = 3 atoms
    assert figures.recall_bottom_20 == 0.75  # cut = 4 atoms
    assert figures.precision_at_wrong == 0.75
    # each of the three low wrong atoms beats all 16 right ones, the top one none
    assert figures.auroc == pytest.approx(48 / 64)


def test_ties_never_favour_the_wrong_atoms() -> None:
    # every atom scores the same: the wrong one sorts last among equals
    figures = ranking([0.5] * 10, [i == 0 for i in range(10)])
    assert figures.recall_bottom_20 == 0.0
    assert figures.precision_at_wrong == 0.0
    assert figures.auroc == 0.5


def test_a_run_with_no_wrong_atom_has_no_figures() -> None:
    figures = ranking([0.2, 0.9], [False, False])
    assert figures.wrong == 0
    assert figures.auroc is None and figures.recall_bottom_20 is None
    assert figures.precision_at_wrong is None


def test_confidence_is_unchanged_when_the_reference_is_removed_after_the_run(
    tmp_path: Path,
) -> None:
    project = tmp_path / "shop"
    shutil.copytree(PLAN.parent, project)
    url = f"sqlite:///{tmp_path / 'mge.db'}"
    migrate.upgrade(url)
    engine = make_engine(url)
    try:
        settings = build_settings(
            model="replay", fault_rate=0.5, seed=3, out_dir=str(tmp_path / "out")
        )
        run_id = create_run(engine, project / "plan.yaml", settings)
        asyncio.run(execute_run(engine, run_id, after_run=rank_after_run))
        with Session(engine) as session:
            masterplan_id = session.get_one(GenerationRun, run_id).masterplan_id
            before = score_run(session, masterplan_id=masterplan_id)
            assert any(a.reference_code for a in session.scalars(select(AtomicUnit)))
            session.rollback()
        # the reference goes: the source tree on disk and the copy the run stored
        shutil.rmtree(project / "reference")
        with Session(engine) as session:
            session.execute(update(AtomicUnit).values(reference_code=None))
            session.commit()
        with Session(engine) as session:
            after = score_run(session, masterplan_id=masterplan_id)
    finally:
        engine.dispose()
    assert after == before
    assert any(c.score < 0.9 for c in before.values())  # the run had doubts to keep
