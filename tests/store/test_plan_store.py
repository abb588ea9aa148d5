"""A plan imported into the database and exported back unchanged."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mge.db import make_engine, migrate
from mge.db.models import MasterPlanTask, TaskComplexity
from mge.plan import parse_plan
from mge.store.plans import export_plan, get_masterplan, import_plan

PLAN = """
version: 1
name: shop
description: A tiny shop.
language: python
atomization: {target_loc: 8, max_loc: 12, max_complexity: 2.5}
reference: reference/
acceptance: [tests/test_checkout.py]
phases:
  - name: Core
    milestones:
      - name: Domain
        tests: [tests/test_domain.py]
        tasks:
          - id: models
            name: Models
            description: Items and carts.
            files: [shop/models.py]
            complexity: low
            tests: [tests/test_models.py]
          - id: pricing
            name: Pricing
            files: [shop/pricing.py, shop/tax.py]
            depends_on: [models]
            complexity: high
  - name: Service
    milestones:
      - name: Checkout
        tasks:
          - id: checkout
            name: Checkout
            files: [shop/checkout.py]
            depends_on: [models, pricing]
"""


def test_import_then_export_gives_the_plan_back(db_url: str, tmp_path: Path) -> None:
    plan = parse_plan(PLAN)
    migrate.upgrade(db_url)
    engine = make_engine(db_url)
    plan_file = tmp_path / "plan.yaml"
    with Session(engine) as session:
        row = import_plan(session, plan, plan_path=plan_file)
        session.commit()
        plan_id = row.id
    with Session(engine) as session:
        stored = get_masterplan(session, plan_id)
        assert export_plan(stored) == plan
        assert stored.reference_path == str((tmp_path / "reference").resolve())
        assert stored.atomization_config == {"target_loc": 8, "max_loc": 12, "max_complexity": 2.5}
        tasks = session.scalars(select(MasterPlanTask).order_by(MasterPlanTask.task_number)).all()
        assert [t.task_key for t in tasks] == ["models", "pricing", "checkout"]
        assert tasks[1].complexity is TaskComplexity.HIGH
        assert tasks[2].milestone.phase.name == "Service"
        assert tasks[1].target_files == ["shop/pricing.py", "shop/tax.py"]
        # Rows are the authority: a change in the database shows in the export.
        tasks[0].name = "Item and cart models"
        session.commit()
        assert export_plan(get_masterplan(session, plan_id.hex[:8])).tasks()[0].name == (
            "Item and cart models"
        )
        assert session.scalar(select(func.count()).select_from(MasterPlanTask)) == 3
    engine.dispose()


def test_the_test_runner_is_kept_and_an_old_document_means_node(
    db_url: str, tmp_path: Path
) -> None:
    vitest = parse_plan(
        PLAN.replace("language: python", "language: typescript\ntest_runner: vitest")
    )
    assert vitest.test_runner == "vitest"
    migrate.upgrade(db_url)
    engine = make_engine(db_url)
    with Session(engine) as session:
        row = import_plan(session, vitest, plan_path=tmp_path / "plan.yaml")
        session.commit()
        assert export_plan(get_masterplan(session, row.id)) == vitest
        # A plan stored before the field existed has none in its document.
        document = dict(row.plan_document)
        del document["test_runner"]
        row.plan_document = document
        session.commit()
        assert export_plan(get_masterplan(session, row.id)).test_runner == "node"
    engine.dispose()
