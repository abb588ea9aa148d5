"""The execution engine end to end on the bundled example, with the replay model."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from tests.execute.conftest import InstrumentedModel, replay_model, run_plan

from mge.db import make_engine, migrate
from mge.db.models import (
    AtomDependency,
    AtomicUnit,
    AtomRetryHistory,
    AtomStatus,
    ExecutionWave,
    GenerationRun,
    HumanReviewQueue,
    RunStatus,
    ValidationLevel,
    ValidationResult,
)
from mge.errors import ConfigError, PlanError
from mge.execute import CallbackProgress, build_settings, create_run, execute_run, run_report
from mge.execute._generation import Generation

REFERENCE = Path(__file__).resolve().parents[2] / "examples" / "inventory" / "reference"


def _report(url: str, run_id: uuid.UUID) -> dict[str, object]:
    engine = make_engine(url)
    try:
        return run_report(engine, run_id)
    finally:
        engine.dispose()


def _python_files(root: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(root)): path.read_bytes()
        for path in sorted(root.rglob("*.py"))
        if "__pycache__" not in path.parts
    }


def test_fault_free_replay_rebuilds_the_reference_exactly(
    sqlite_url: str, example_plan: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    run_id = run_plan(sqlite_url, example_plan, out, fault_rate=0.0)
    report = _report(sqlite_url, run_id)
    assert report["status"] == "completed"
    atoms = report["atoms"]
    assert isinstance(atoms, dict)
    assert atoms["completed"] == atoms["total"] > 60
    assert report["first_try_success_rate"] == 1.0
    assert report["reference_match_percent"] == 100.0
    tests = report["tests"]
    assert isinstance(tests, dict)
    assert tests["total"] > 0 and tests["passed"] == tests["total"]
    assert report["precision_percent"] == 100.0
    assert report["simulated"] is True
    assert _python_files(out / "inventory") == _python_files(REFERENCE / "inventory")
    tokens = report["tokens"]
    assert isinstance(tokens, dict) and tokens["input"] > 0 and tokens["cached"] > 0
    assert isinstance(report["cost_usd"], float) and report["cost_usd"] > 0


def test_faults_are_caught_retried_and_every_atom_accounted_for(
    sqlite_url: str, example_plan: Path, tmp_path: Path
) -> None:
    run_id = run_plan(sqlite_url, example_plan, tmp_path / "out", fault_rate=0.2, seed=11)
    report = _report(sqlite_url, run_id)
    atoms = report["atoms"]
    assert isinstance(atoms, dict)
    assert atoms["completed"] + atoms["failed"] + atoms["blocked"] == atoms["total"]
    engine = make_engine(sqlite_url)
    with Session(engine) as session:
        run = session.get_one(GenerationRun, run_id)
        attempts = session.scalars(select(AtomRetryHistory)).all()
        assert len(attempts) == run.attempts_total == report["attempts"]
        assert sum(a.cost_usd for a in attempts) <= run.cost_usd
        assert all(a.input_tokens > 0 and a.temperature in (0.7, 0.5, 0.3) for a in attempts)
        retried = [a for a in attempts if a.attempt_number > 1]
        assert retried, "a 20% fault rate must make some atom retry"
        for attempt in retried:
            assert attempt.prompt is not None and "previous attempt was rejected" in attempt.prompt
        failed_first = [a for a in attempts if a.attempt_number == 1 and not a.succeeded]
        assert all(a.error_type and a.error_analysis["failures"] for a in failed_first)
        results = session.scalars(
            select(ValidationResult).where(ValidationResult.level == ValidationLevel.ATOMIC)
        ).all()
        assert {r.check_name for r in results} >= {"format", "syntax", "names", "size"}
        failed_atoms = session.scalars(
            select(AtomicUnit).where(AtomicUnit.status == AtomStatus.FAILED)
        ).all()
        reviewed = {review.atom_id for review in session.scalars(select(HumanReviewQueue))}
        assert reviewed >= {atom.id for atom in failed_atoms}
        higher = session.scalars(
            select(ValidationResult).where(ValidationResult.level != ValidationLevel.ATOMIC)
        ).all()
        assert {r.level for r in higher} >= {ValidationLevel.MODULE, ValidationLevel.SYSTEM}
    engine.dispose()


def test_waves_and_eager_give_the_same_output(
    sqlite_url: str, example_plan: Path, tmp_path: Path
) -> None:
    eager = tmp_path / "eager"
    waves = tmp_path / "waves"
    common = {"fault_rate": 0.2, "seed": 5, "levels": "atomic"}
    run_plan(sqlite_url, example_plan, eager, schedule="eager", **common)
    run_plan(sqlite_url, example_plan, waves, schedule="waves", concurrency=7, **common)
    assert _python_files(eager) == _python_files(waves)
    engine = make_engine(sqlite_url)
    with Session(engine) as session:
        waves_rows = session.scalars(select(ExecutionWave)).all()
        assert waves_rows and all(w.started_at is not None for w in waves_rows)
    engine.dispose()


def test_concurrency_bound_is_never_exceeded(
    sqlite_url: str, example_plan: Path, tmp_path: Path
) -> None:
    model = InstrumentedModel(replay_model(example_plan))
    run_plan(
        sqlite_url, example_plan, tmp_path / "out", model=model, concurrency=3, levels="atomic"
    )
    assert model.peak == 3


def test_a_slot_is_given_back_while_an_answer_is_judged(
    sqlite_url: str, example_plan: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Concurrency counts model calls: while an atom's answer is judged, its slot
    goes to another atom's call, so calls plus judgings exceed the concurrency,
    and calls alone never do."""
    model = InstrumentedModel(replay_model(example_plan))
    judging = 0
    busiest = 0
    judged = Generation._judged

    async def slow_judged(self: Generation, key: str, candidate: str, **kw: Any) -> Any:
        nonlocal judging, busiest
        judging += 1
        busiest = max(busiest, judging + model.in_flight)
        try:
            await asyncio.sleep(0.01)  # a validation worker with a queue
            return await judged(self, key, candidate, **kw)
        finally:
            judging -= 1

    monkeypatch.setattr(Generation, "_judged", slow_judged)
    run_plan(
        sqlite_url, example_plan, tmp_path / "out", model=model, concurrency=3, levels="atomic"
    )
    assert model.peak == 3
    assert busiest > 3


class _SlowModel(InstrumentedModel):
    """Answers atoms after `seconds` of latency."""

    def __init__(self, inner: Any, seconds: float) -> None:
        super().__init__(inner)
        self.seconds = seconds

    async def complete(self, request: Any) -> Any:
        if request.purpose is not None and request.purpose.kind == "atom":
            await asyncio.sleep(self.seconds)
        return await super().complete(request)


def test_an_attempt_says_how_long_its_call_took_and_its_answer_then_waited(
    sqlite_url: str, example_plan: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    judged = Generation._judged

    async def slow_judged(self: Generation, key: str, candidate: str, **kw: Any) -> Any:
        await asyncio.sleep(0.02)  # a queue before the validation worker
        return await judged(self, key, candidate, **kw)

    monkeypatch.setattr(Generation, "_judged", slow_judged)
    attempts: list[dict[str, Any]] = []
    migrate.upgrade(sqlite_url)
    engine = make_engine(sqlite_url)
    try:
        settings = build_settings(out_dir=str(tmp_path / "out"), levels="atomic", concurrency=8)
        run_id = create_run(engine, example_plan, settings)

        def noted(kind: str, data: dict[str, Any]) -> None:
            if kind == "attempt":
                attempts.append(data)

        progress = CallbackProgress(noted)
        model = _SlowModel(replay_model(example_plan), 0.03)
        asyncio.run(execute_run(engine, run_id, model=model, progress=progress))
    finally:
        engine.dispose()
    assert attempts
    for attempt in attempts:
        # The call's latency is in the first, the judging queue in the second.
        assert 0.03 <= attempt["model_seconds"] < 5.0
        assert 0.02 <= attempt["checked_seconds"] < 5.0


def test_a_permanent_failure_blocks_exactly_what_needs_its_behaviour(
    sqlite_url: str, example_plan: Path, tmp_path: Path
) -> None:
    """The first piece of a split body fails: its later pieces (TEMPORAL) wait, and
    so does whatever needs theirs; atoms that only call it are still generated."""
    broken = "inventory/restock.py::plan_restock#0"
    model = InstrumentedModel(replay_model(example_plan), broken=broken)
    run_plan(sqlite_url, example_plan, tmp_path / "out", model=model, levels="atomic")
    engine = make_engine(sqlite_url)
    with Session(engine) as session:
        atoms = {a.id: a for a in session.scalars(select(AtomicUnit))}
        by_key = {a.atom_key: a for a in atoms.values()}
        edges = session.scalars(select(AtomDependency).where(AtomDependency.is_broken.is_(False)))
        needs: dict[str, list[str]] = {}
        for edge in edges:
            source, target = atoms[edge.from_atom_id].atom_key, atoms[edge.to_atom_id].atom_key
            types = set(edge.edge_metadata.get("types") or [edge.dependency_type.value])
            first, then = by_key[source], by_key[target]
            continues = (
                "temporal" in types
                and first.qualname == then.qualname
                and first.kind != "module_header"
                and then.kind in ("block", "class_header")
            )
            if "data_flow" in types or continues:
                needs.setdefault(source, []).append(target)
        expected: set[str] = set()
        stack = list(needs.get(broken, []))
        while stack:
            key = stack.pop()
            if key not in expected:
                expected.add(key)
                stack.extend(needs.get(key, []))
        assert by_key[broken].status is AtomStatus.FAILED
        # Three attempts, then blame's two on the second pass once the rest was done.
        assert by_key[broken].attempts == 3 + 2
        triggers = session.scalars(
            select(AtomRetryHistory.trigger)
            .where(AtomRetryHistory.atom_id == by_key[broken].id)
            .order_by(AtomRetryHistory.attempt_number)
        ).all()
        assert triggers == ["generation"] * 3 + ["second-pass"] * 2
        blocked = {k for k, a in by_key.items() if a.status is AtomStatus.BLOCKED}
        assert {f"inventory/restock.py::plan_restock#{i}" for i in range(1, 6)} <= expected
        assert blocked == expected
        others = set(by_key) - expected - {broken}
        assert all(by_key[k].status is AtomStatus.COMPLETED for k in others)
        review = session.scalars(
            select(HumanReviewQueue).where(HumanReviewQueue.atom_id == by_key[broken].id)
        ).one()
        # Failed with atoms blocked behind it: the most urgent priority.
        assert review.confidence_score == 0.0 and review.priority == 1
    engine.dispose()


def test_a_failed_atom_passes_on_the_second_pass_and_what_it_blocked_is_generated(
    sqlite_url: str, example_plan: Path, tmp_path: Path
) -> None:
    """The first piece of a split body is refused on all three of its attempts, so
    its later pieces wait; once the rest of the project is generated it gets blame's
    budget again, passes, and the pieces behind it are generated: the file is the
    reference again, and the atom stays in review."""
    broken = "inventory/restock.py::plan_restock#0"
    model = InstrumentedModel(replay_model(example_plan), broken=broken, refusals=3)
    out = tmp_path / "out"
    run_plan(sqlite_url, example_plan, out, model=model, levels="atomic")
    engine = make_engine(sqlite_url)
    with Session(engine) as session:
        by_key = {a.atom_key: a for a in session.scalars(select(AtomicUnit))}
        assert {a.status for a in by_key.values()} == {AtomStatus.COMPLETED}
        assert by_key[broken].attempts == 4
        triggers = session.scalars(
            select(AtomRetryHistory.trigger)
            .where(AtomRetryHistory.atom_id == by_key[broken].id)
            .order_by(AtomRetryHistory.attempt_number)
        ).all()
        assert triggers == ["generation"] * 3 + ["second-pass"]
        review = session.scalars(
            select(HumanReviewQueue).where(HumanReviewQueue.atom_id == by_key[broken].id)
        ).one()
        assert review.priority > 1  # nothing waits behind it any more
    engine.dispose()
    # The pieces after it were generated only after it passed.
    later = [f"inventory/restock.py::plan_restock#{i}" for i in range(1, 6)]
    assert model.atoms.index(later[0]) > len(model.atoms) - 1 - model.atoms[::-1].index(broken)
    reference = example_plan.parent / "reference" / "inventory" / "restock.py"
    assert (out / "inventory" / "restock.py").read_text() == reference.read_text()


@pytest.mark.parametrize("settings", [{"blame_attempts": 0}, {"second_pass": False}])
def test_without_a_second_pass_a_failed_atom_stays_failed(
    sqlite_url: str, example_plan: Path, tmp_path: Path, settings: dict[str, object]
) -> None:
    broken = "inventory/restock.py::plan_restock#0"
    model = InstrumentedModel(replay_model(example_plan), broken=broken, refusals=3)
    run_plan(sqlite_url, example_plan, tmp_path / "out", model=model, levels="atomic", **settings)
    engine = make_engine(sqlite_url)
    with Session(engine) as session:
        by_key = {a.atom_key: a for a in session.scalars(select(AtomicUnit))}
    engine.dispose()
    assert by_key[broken].status is AtomStatus.FAILED and by_key[broken].attempts == 3
    assert by_key["inventory/restock.py::plan_restock#1"].status is AtomStatus.BLOCKED


def test_a_failed_class_header_blocks_none_of_its_methods(
    sqlite_url: str, example_plan: Path, tmp_path: Path
) -> None:
    """A class header that used all its attempts is a bare `class Catalog:` in the
    output; its methods need only that the class exists, so they are still written,
    and the file imports."""
    broken = "inventory/catalog.py::Catalog#0"
    model = InstrumentedModel(replay_model(example_plan), broken=broken)
    out = tmp_path / "out"
    run_plan(sqlite_url, example_plan, out, model=model, levels="atomic")
    engine = make_engine(sqlite_url)
    with Session(engine) as session:
        by_key = {a.atom_key: a for a in session.scalars(select(AtomicUnit))}
    engine.dispose()
    assert by_key[broken].status is AtomStatus.FAILED
    methods = [k for k in by_key if k.startswith("inventory/catalog.py::Catalog.")]
    assert len(methods) >= 4
    assert all(by_key[k].status is AtomStatus.COMPLETED for k in methods)
    assert not [k for k, a in by_key.items() if a.status is AtomStatus.BLOCKED]
    text = (out / "inventory" / "catalog.py").read_text()
    assert "class Catalog:" in text and "def __contains__(self, sku: object) -> bool:" in text
    done = subprocess.run(
        [sys.executable, "-c", "import inventory.catalog as c; print(len(c.Catalog()))"],
        cwd=out,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "0"


def test_the_budget_stops_the_run_and_resume_finishes_it(
    sqlite_url: str, example_plan: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    # Skeletons cost about $0.20 here, and each atom call reserves its worst case
    # (about $0.07), so $0.5 leaves room for some atoms but not all.
    run_id = run_plan(sqlite_url, example_plan, out, budget_usd=0.5, levels="atomic")
    report = _report(sqlite_url, run_id)
    assert report["status"] == RunStatus.BUDGET_EXHAUSTED.value
    atoms = report["atoms"]
    assert isinstance(atoms, dict) and 0 < atoms["completed"] < atoms["total"]
    from mge.execute import prepare_resume

    engine = make_engine(sqlite_url)
    prepare_resume(engine, str(run_id), budget_usd=100.0)
    asyncio.run(execute_run(engine, run_id))
    engine.dispose()
    final = _report(sqlite_url, run_id)
    assert final["status"] == "completed"
    assert _python_files(out / "inventory") == _python_files(REFERENCE / "inventory")


@pytest.mark.parametrize(
    ("settings", "error", "message"),
    [
        ({"model": "nonsense:model"}, ConfigError, "nonsense"),
        ({"model": "anthropic:claude-x"}, Exception, "ANTHROPIC_API_KEY"),
        ({"budget_usd": 0}, ConfigError, "budget"),
        ({"concurrency": 0}, ConfigError, "concurrency"),
    ],
)
def test_bad_settings_fail_before_anything_is_written(
    sqlite_url: str,
    example_plan: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    settings: dict[str, object],
    error: type[Exception],
    message: str,
) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    migrate.upgrade(sqlite_url)
    engine = make_engine(sqlite_url)
    with pytest.raises(error, match=message):
        create_run(engine, example_plan, build_settings(out_dir=str(tmp_path / "o"), **settings))
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(GenerationRun)) == 0
    engine.dispose()


def test_an_invalid_plan_or_a_busy_output_is_refused(sqlite_url: str, tmp_path: Path) -> None:
    migrate.upgrade(sqlite_url)
    engine = make_engine(sqlite_url)
    bad = tmp_path / "plan.yaml"
    bad.write_text("version: 1\nname: x\nphases: []\n")
    with pytest.raises(PlanError):
        create_run(engine, bad, build_settings(out_dir=str(tmp_path / "o")))
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "keep.txt").write_text("mine")
    example = Path(__file__).resolve().parents[2] / "examples" / "inventory" / "plan.yaml"
    with pytest.raises(ConfigError, match="not empty"):
        create_run(engine, example, build_settings(out_dir=str(busy)))
    assert (busy / "keep.txt").read_text() == "mine"
    engine.dispose()
