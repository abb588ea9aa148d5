"""Module, component and system validation with blame, on a tiny real project
whose model is scripted to make known mistakes."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from mge.atomize import AtomizeConfig
from mge.db import make_engine, migrate
from mge.db.models import (
    AtomicUnit,
    AtomRetryHistory,
    AtomStatus,
    GenerationRun,
    HumanReviewQueue,
    TestType,
    ValidationLevel,
    ValidationResult,
)
from mge.execute import build_settings, create_run, execute_run, run_report
from mge.llm import Model, ModelRequest, ModelResponse, make_model
from mge.llm._reference import PlanReference
from mge.review import rank_after_run

PLAN = Path(__file__).parent / "fixtures" / "calc" / "plan.yaml"
SCALE = "calc/ops.py::scale#0"
ADD = "calc/ops.py::add#0"


class Scripted:
    """Replay, except that chosen atoms get a chosen wrong answer on chosen attempts."""

    def __init__(self, wrong: dict[str, tuple[str, set[int]]]) -> None:
        reference = PlanReference(PLAN.parent / "reference", AtomizeConfig())
        self.inner: Model = make_model("replay", reference=reference)
        self.wrong = wrong

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def simulated(self) -> bool:
        return True

    async def complete(self, request: ModelRequest) -> ModelResponse:
        response = await self.inner.complete(request)
        purpose = request.purpose
        if purpose is not None and purpose.target in self.wrong:
            text, attempts = self.wrong[purpose.target]
            if purpose.attempt in attempts:
                return ModelResponse(
                    text=f"```python\n{text}```",
                    input_tokens=response.input_tokens,
                    output_tokens=response.output_tokens,
                    cached_tokens=0,
                    model=response.model,
                    latency_seconds=0.0,
                    cost_usd=response.cost_usd,
                )
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


WRONG_SCALE = (
    'def scale(x: int, k: int) -> int:\n    """`x` taken `k` times."""\n    return x + k\n'
)
CRASHING_ADD = (
    'def add(a: int, b: int) -> int:\n    """The sum of two numbers."""\n    return [a][1] + b\n'
)


def _run(sqlite_url: str, out: Path, model: Model, **settings: object) -> uuid.UUID:
    migrate.upgrade(sqlite_url)
    engine = make_engine(sqlite_url)
    run_id = create_run(engine, PLAN, build_settings(out_dir=str(out), **settings))
    asyncio.run(execute_run(engine, run_id, model=model, after_run=rank_after_run))
    engine.dispose()
    return run_id


def _attempts(sqlite_url: str, key: str) -> list[tuple[int, str, bool]]:
    return [(n, trigger, ok) for atom, n, trigger, ok in _history(sqlite_url) if atom == key]


def _history(sqlite_url: str) -> list[tuple[str, int, str, bool]]:
    """Every attempt of the run: atom, attempt number, trigger, passed L1."""
    engine = make_engine(sqlite_url)
    with Session(engine) as session:
        rows = session.execute(
            select(
                AtomicUnit.atom_key,
                AtomRetryHistory.attempt_number,
                AtomRetryHistory.trigger,
                AtomRetryHistory.succeeded,
            )
            .join(AtomicUnit, AtomicUnit.id == AtomRetryHistory.atom_id)
            .order_by(AtomicUnit.atom_key, AtomRetryHistory.attempt_number)
        ).all()
    engine.dispose()
    return [(key, n, trigger, ok) for key, n, trigger, ok in rows]


def _failed(sqlite_url: str) -> list[str]:
    engine = make_engine(sqlite_url)
    with Session(engine) as session:
        failed = session.scalars(
            select(AtomicUnit.atom_key).where(AtomicUnit.status == AtomStatus.FAILED)
        ).all()
    engine.dispose()
    return list(failed)


def test_a_wrong_operator_passes_l1_and_is_blamed_by_coverage(
    sqlite_url: str, tmp_path: Path
) -> None:
    run_id = _run(sqlite_url, tmp_path / "out", Scripted({SCALE: (WRONG_SCALE, {1})}))
    assert _attempts(sqlite_url, SCALE) == [(1, "generation", True), (2, "blame:module", True)]
    assert "return x * k" in (tmp_path / "out" / "calc" / "ops.py").read_text()
    engine = make_engine(sqlite_url)
    report = run_report(engine, run_id)
    with Session(engine) as session:
        module = session.scalars(
            select(ValidationResult)
            .where(ValidationResult.level == ValidationLevel.MODULE)
            .where(ValidationResult.check_name == "tests")
            .order_by(ValidationResult.created_at)
        ).all()
    engine.dispose()
    assert [r.passed for r in module] == [False, True]
    assert report["precision_percent"] == 100.0
    assert report["tests"] == {"total": 5, "passed": 5, "failed": 0}


def test_a_crash_is_blamed_by_its_traceback(sqlite_url: str, tmp_path: Path) -> None:
    _run(sqlite_url, tmp_path / "out", Scripted({ADD: (CRASHING_ADD, {1})}))
    assert _attempts(sqlite_url, ADD) == [(1, "generation", True), (2, "blame:module", True)]
    assert "return a + b" in (tmp_path / "out" / "calc" / "ops.py").read_text()


def test_blame_stops_at_the_budget_and_queues_the_suspect(sqlite_url: str, tmp_path: Path) -> None:
    run_id = _run(sqlite_url, tmp_path / "out", Scripted({SCALE: (WRONG_SCALE, {1, 2, 3})}))
    assert [n for n, _, _ in _attempts(sqlite_url, SCALE)] == [1, 2, 3]
    engine = make_engine(sqlite_url)
    with Session(engine) as session:
        atom = session.scalars(select(AtomicUnit).where(AtomicUnit.atom_key == SCALE)).one()
        review = session.scalars(
            select(HumanReviewQueue).where(HumanReviewQueue.atom_id == atom.id)
        ).one()
        assert atom.needs_review
        assert (
            review.evidence["blame"]["level"] in ("module", "system") or "level" in review.evidence
        )
        # The final acceptance run still fails on it, and only on it: the review
        # score's evidence says so; an atom no failing test ran carries none.
        assert atom.extra["suspicion"] == 1.0
        assert atom.extra["confidence"]["components"]["suspected"] > 0.0
        add = session.scalars(select(AtomicUnit).where(AtomicUnit.atom_key == ADD)).one()
        assert "suspicion" not in add.extra
    report = run_report(engine, run_id)
    engine.dispose()
    assert report["tests"]["failed"] == 2  # type: ignore[index]
    assert report["precision_percent"] == 60.0
    assert report["reference_match_percent"] < 100


TALLY = Path(__file__).parent / "fixtures" / "tally" / "plan.yaml"
CONSTANTS = "tally/counter.py::Counter#1"
BUMP = "tally/counter.py::Counter.bump#0"


def _run_fixture(
    sqlite_url: str, plan: Path, out: Path, wrong: dict[str, tuple[str, set[int]]]
) -> dict[str, object]:
    """A run of one of the fixture plans, with its own reference behind the script."""
    scripted = Scripted(wrong)
    scripted.inner = make_model(
        "replay", reference=PlanReference(plan.parent / "reference", AtomizeConfig())
    )
    migrate.upgrade(sqlite_url)
    engine = make_engine(sqlite_url)
    run_id = create_run(engine, plan, build_settings(out_dir=str(out)))
    asyncio.run(execute_run(engine, run_id, model=scripted, after_run=rank_after_run))
    report = run_report(engine, run_id)
    engine.dispose()
    return report


def test_a_wrong_class_constant_is_found_through_the_lines_that_read_it(
    sqlite_url: str, tmp_path: Path
) -> None:
    # LIMIT = 4 is valid code and binds every planned name: only the tests see it.
    # No test runs the class body, but the failing one runs `full`, the only line
    # that reads LIMIT, so the piece binding LIMIT is as suspect as `full` itself.
    wrong = {CONSTANTS: ("    STEP = 1\n    LIMIT = 4\n", {1})}
    report = _run_fixture(sqlite_url, TALLY, tmp_path / "out", wrong)
    assert [t for _, t, _ in _attempts(sqlite_url, CONSTANTS)] == ["generation", "blame:module"]
    assert _attempts(sqlite_url, BUMP) == [(1, "generation", True)]  # read by the passing test
    assert "LIMIT = 3" in (tmp_path / "out" / "tally" / "counter.py").read_text()
    assert report["tests"] == {"total": 2, "passed": 2, "failed": 0}


class PerAttempt(Scripted):
    """Scripted, with a different wrong answer per attempt."""

    def __init__(self, target: str, answers: dict[int, str]) -> None:
        super().__init__({})
        self.target = target
        self.answers = answers

    async def complete(self, request: ModelRequest) -> ModelResponse:
        purpose = request.purpose
        if purpose is not None and purpose.target == self.target:
            self.wrong = {self.target: (self.answers.get(purpose.attempt, ""), {purpose.attempt})}
            if purpose.attempt not in self.answers:
                self.wrong = {}
        return await super().complete(request)


BROKEN_SCALE = "def scale(x: int, k: int) -> int:\n    return (x *\n"
OTHER_WRONG_SCALE = WRONG_SCALE.replace("x + k", "x - k")


@pytest.mark.parametrize(
    ("answers", "attempts", "regenerations"),
    [
        # Generation needs all three attempts (two do not parse) and the third is
        # wrong but valid. Blame still regenerates it: its budget does not depend
        # on how many L1 retries the generation took.
        (
            {1: BROKEN_SCALE, 2: BROKEN_SCALE, 3: WRONG_SCALE},
            [
                (1, "generation", False),
                (2, "generation", False),
                (3, "generation", True),
                (4, "blame:module", True),
            ],
            1,
        ),
        # The module level's regeneration makes another mistake. The system level's
        # first answer does not parse: L1 sends it back with its error, as it would
        # a generation's, and the next answer is right. The budget counts
        # regenerations (two), not the answers L1 rejected on the way.
        (
            {1: WRONG_SCALE, 2: OTHER_WRONG_SCALE, 3: BROKEN_SCALE},
            [
                (1, "generation", True),
                (2, "blame:module", True),
                (3, "blame:system", False),
                (4, "blame:system", True),
            ],
            2,
        ),
    ],
    ids=["after-generation-retries", "l1-rejected-within-a-regeneration"],
)
def test_blames_budget_counts_regenerations_not_answers_l1_rejected(
    sqlite_url: str,
    tmp_path: Path,
    answers: dict[int, str],
    attempts: list[tuple[int, str, bool]],
    regenerations: int,
) -> None:
    run_id = _run(sqlite_url, tmp_path / "out", PerAttempt(SCALE, answers))
    assert _attempts(sqlite_url, SCALE) == attempts
    engine = make_engine(sqlite_url)
    report = run_report(engine, run_id)
    with Session(engine) as session:
        extra = session.scalars(select(AtomicUnit.extra).where(AtomicUnit.atom_key == SCALE)).one()
    engine.dispose()
    assert extra["blame_regenerations"] == regenerations
    assert report["tests"] == {"total": 5, "passed": 5, "failed": 0}


HALF_WRONG_SCALE = (
    'def scale(x: int, k: int) -> int:\n    """`x` taken `k` times."""\n'
    "    return x * k + (k > 1)\n"
)


def test_a_round_after_which_more_tests_pass_leaves_the_round_budget_alone(
    sqlite_url: str, tmp_path: Path
) -> None:
    # One round of budget. The first regeneration fixes one of the two failing
    # tests: progress, so blame goes on, and the second one fixes the other.
    model = PerAttempt(SCALE, {1: WRONG_SCALE, 2: HALF_WRONG_SCALE})
    run_id = _run(sqlite_url, tmp_path / "out", model, blame_rounds=1)
    assert _module_test_checks(sqlite_url) == [False, False, True]
    assert _attempts(sqlite_url, SCALE) == [
        (1, "generation", True),
        (2, "blame:module", True),
        (3, "blame:module", True),
    ]
    engine = make_engine(sqlite_url)
    report = run_report(engine, run_id)
    engine.dispose()
    assert report["tests"] == {"total": 5, "passed": 5, "failed": 0}


def _module_test_checks(sqlite_url: str) -> list[bool]:
    engine = make_engine(sqlite_url)
    with Session(engine) as session:
        passed = session.scalars(
            select(ValidationResult.passed)
            .where(ValidationResult.level == ValidationLevel.MODULE)
            .where(ValidationResult.check_name == "tests")
            .order_by(ValidationResult.created_at)
        ).all()
    engine.dispose()
    return list(passed)


def test_a_round_that_gets_nowhere_uses_up_the_round_budget(
    sqlite_url: str, tmp_path: Path
) -> None:
    # The regeneration repeats the mistake: the module's one round is spent, and
    # only the system level (with a round of its own) gets the atom right.
    model = PerAttempt(SCALE, {1: WRONG_SCALE, 2: WRONG_SCALE})
    _run(sqlite_url, tmp_path / "out", model, blame_rounds=1)
    assert _module_test_checks(sqlite_url) == [False, False]
    assert _attempts(sqlite_url, SCALE) == [
        (1, "generation", True),
        (2, "blame:module", True),
        (3, "blame:system", True),
    ]


def test_a_check_on_a_project_unchanged_since_its_last_run_is_not_run_again(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The module's regeneration gives the same wrong answer: the project is byte
    # for byte what the module check just failed on, so its outcome is reused
    # (and recorded again); the system level's regeneration then fixes it.
    from mge.execute._hierarchy import Hierarchy

    runs: list[str] = []
    real = Hierarchy._tests

    def counted(
        self: Hierarchy, tests: list[str], test_type: TestType, *args: Any, **kw: Any
    ) -> Any:
        runs.append(test_type.value)
        return real(self, tests, test_type, *args, **kw)

    monkeypatch.setattr(Hierarchy, "_tests", counted)
    _run(
        sqlite_url,
        tmp_path / "out",
        PerAttempt(SCALE, {1: WRONG_SCALE, 2: WRONG_SCALE}),
        blame_rounds=1,
    )
    assert _module_test_checks(sqlite_url) == [False, False]
    assert runs.count(TestType.UNIT.value) == 1
    assert _attempts(sqlite_url, SCALE)[-1] == (3, "blame:system", True)


PIECES = Path(__file__).parent / "fixtures" / "pieces" / "plan.yaml"


def test_a_piece_failing_the_same_way_every_time_has_its_predecessor_repaired(
    sqlite_url: str, tmp_path: Path
) -> None:
    # The loop's piece is cut short after its `for` line: valid while later pieces
    # stand in for its body, so it passes L1. The next piece is right, but its
    # `elif` has no `if` to follow: every attempt fails with the same syntax error.
    # That repeated error blames the context: the loop piece is regenerated, and the
    # `elif` piece, tried again, passes. Nothing fails, nothing is blocked.
    loop, follower = "fmt/split.py::pieces#1", "fmt/split.py::pieces#2"
    wrong = {loop: ('    for part in text.split("|"):\n', {1})}
    report = _run_fixture(sqlite_url, PIECES, tmp_path / "out", wrong)
    assert _attempts(sqlite_url, loop) == [(1, "generation", True), (2, "blame:atomic", True)]
    assert _attempts(sqlite_url, follower) == [
        (1, "generation", False),
        (2, "generation", False),
        (3, "generation", False),
        (4, "blame:atomic", True),
    ]
    assert report["atoms"]["failed"] == 0 and report["atoms"]["blocked"] == 0  # type: ignore[index]
    assert report["tests"] == {"total": 2, "passed": 2, "failed": 0}


def test_a_piece_whose_context_was_repaired_gets_a_generations_attempts_on_it(
    sqlite_url: str, tmp_path: Path
) -> None:
    # As above, and the `elif` piece's first two answers after the repair misspell a
    # name: its three attempts before the repair were spent on the broken loop piece,
    # so it still has a generation's three on the repaired one, and passes.
    loop, follower = "fmt/split.py::pieces#1", "fmt/split.py::pieces#2"
    misspelt = '        elif part == "{{":\n            outt.append("{")\n'
    wrong = {loop: ('    for part in text.split("|"):\n', {1}), follower: (misspelt, {4, 5})}
    report = _run_fixture(sqlite_url, PIECES, tmp_path / "out", wrong)
    assert _attempts(sqlite_url, follower) == [
        (1, "generation", False),
        (2, "generation", False),
        (3, "generation", False),
        (4, "blame:atomic", False),
        (5, "blame:atomic", False),
        (6, "blame:atomic", True),
    ]
    assert report["atoms"]["failed"] == 0 and report["atoms"]["blocked"] == 0  # type: ignore[index]
    assert report["tests"] == {"total": 2, "passed": 2, "failed": 0}


def test_a_first_piece_that_drops_what_its_step_binds_is_sent_back(
    sqlite_url: str, tmp_path: Path
) -> None:
    # The plan's first step binds `out` for the later ones; an answer cut short
    # after the docstring is valid code, but L1 now holds it to that binding.
    first = "fmt/split.py::pieces#0"
    cut = 'def pieces(text: str) -> list[str]:\n    """Pieces."""\n'
    report = _run_fixture(sqlite_url, PIECES, tmp_path / "out", {first: (cut, {1})})
    assert _attempts(sqlite_url, first) == [(1, "generation", False), (2, "generation", True)]
    assert report["tests"] == {"total": 2, "passed": 2, "failed": 0}


class ByAttempt(Scripted):
    """Scripted, with chosen answers per atom and attempt."""

    def __init__(self, answers: dict[str, dict[int, str]]) -> None:
        super().__init__({})
        self.answers = answers

    async def complete(self, request: ModelRequest) -> ModelResponse:
        purpose = request.purpose
        self.wrong = {}
        if purpose is not None and purpose.attempt in self.answers.get(purpose.target, {}):
            text = self.answers[purpose.target][purpose.attempt]
            self.wrong = {purpose.target: (text, {purpose.attempt})}
        return await super().complete(request)


MEAN = "calc/ops.py::mean#0"
TOTAL = "calc/ops.py::total#0"
WRONG_MEAN = (
    'def mean(values: list[int]) -> float:\n    """The average of a non-empty list."""\n'
    "    return total(values) / len(values) + 1\n"
)
ZERO_TOTAL = (
    'def total(values: list[int]) -> int:\n    """The sum of a list, through `add`."""\n'
    "    return 0\n"
)


def test_a_regeneration_that_breaks_a_passing_test_is_put_back(
    sqlite_url: str, tmp_path: Path
) -> None:
    # `mean` is wrong and its first regeneration is wrong another way, so blame
    # turns to `total` (run by the failing test too). Its new code returns 0 and
    # breaks `test_total`, which passed: the old code is put back, with no model
    # call, and `mean` is blamed again and fixed.
    answers = {
        MEAN: {1: WRONG_MEAN, 2: WRONG_MEAN.replace("+ 1", "- 1")},
        TOTAL: {2: ZERO_TOTAL},
    }
    run_id = _run(sqlite_url, tmp_path / "out", ByAttempt(answers))
    assert [(n, t) for n, t, _ in _attempts(sqlite_url, TOTAL)][:2] == [
        (1, "generation"),
        (2, "blame:module"),
    ]
    engine = make_engine(sqlite_url)
    with Session(engine) as session:
        row = session.scalars(select(AtomicUnit).where(AtomicUnit.atom_key == TOTAL)).one()
        assert row.extra["restored"] == ["it broke tests/test_ops.py::test_total"]
        assert "result = add(result, value)" in (row.code or "")
    report = run_report(engine, run_id)
    engine.dispose()
    assert report["tests"] == {"total": 5, "passed": 5, "failed": 0}
    assert "result = add(result, value)" in (tmp_path / "out" / "calc" / "ops.py").read_text()


def _scale(parameter: str) -> str:
    return (
        f"def scale(x: int, {parameter}: int) -> int:\n"
        f'    """`x` taken `k` times."""\n    return x * {parameter}\n'
    )


def test_a_last_attempt_that_disagrees_with_the_plan_anew_is_not_accepted(
    sqlite_url: str, tmp_path: Path
) -> None:
    # Each attempt renames the parameter differently: three mistakes, not a model
    # that knows better than the skeleton. The atom fails its first three attempts
    # and the pass after the rest of the project gets it right.
    answers = {SCALE: {1: _scale("q"), 2: _scale("r"), 3: _scale("s")}}
    _run(sqlite_url, tmp_path / "out", ByAttempt(answers), levels="atomic")
    attempts = _attempts(sqlite_url, SCALE)
    assert [ok for _, _, ok in attempts] == [False, False, False, True]
    assert "x * k" in (tmp_path / "out" / "calc" / "ops.py").read_text()


def test_a_last_attempt_that_repeats_its_disagreement_with_the_plan_is_accepted(
    sqlite_url: str, tmp_path: Path
) -> None:
    # The same signature twice against the skeleton's: the skeleton may be what is
    # wrong, so the last first-time attempt is taken and a person judges it.
    answers = {SCALE: {1: _scale("q"), 2: _scale("times"), 3: _scale("times")}}
    _run(sqlite_url, tmp_path / "out", ByAttempt(answers), levels="atomic")
    assert _attempts(sqlite_url, SCALE) == [
        (1, "generation", False),
        (2, "generation", False),
        (3, "generation", True),
    ]
    assert "x * times" in (tmp_path / "out" / "calc" / "ops.py").read_text()


def _stored_report(sqlite_url: str, run_id: uuid.UUID) -> dict[str, Any]:
    engine = make_engine(sqlite_url)
    with Session(engine) as session:
        report = dict(session.get_one(GenerationRun, run_id).report or {})
    engine.dispose()
    return report


def test_a_skeleton_gets_the_attempts_a_failed_atom_gets_in_all(
    sqlite_url: str, tmp_path: Path
) -> None:
    # Three broken skeletons of calc/ops.py, then a right one: with the second pass
    # on (3 + 2 attempts) the file is planned and generated; with it off (3) the
    # skeleton is rejected and every atom of the file is a stand-in.
    broken = {attempt: "def total(values:\n" for attempt in (1, 2, 3)}
    answers = {"calc/ops.py": broken}
    run_id = _run(sqlite_url, tmp_path / "out", ByAttempt(answers), levels="atomic")
    assert "skeleton_failures" not in _stored_report(sqlite_url, run_id)
    assert "return x * k" in (tmp_path / "out" / "calc" / "ops.py").read_text()
    off = _run(sqlite_url, tmp_path / "off", ByAttempt(answers), levels="atomic", second_pass=False)
    assert "calc/ops.py" in _stored_report(sqlite_url, off)["skeleton_failures"]


class _StopAtBlame(Scripted):
    """`Scripted`, interrupted (as by a kill) when blame first asks for `target`."""

    def __init__(self, wrong: dict[str, tuple[str, set[int]]], target: str) -> None:
        super().__init__(wrong)
        self.target = target

    async def complete(self, request: ModelRequest) -> ModelResponse:
        purpose = request.purpose
        if purpose is not None and purpose.target == self.target and purpose.attempt > 1:
            raise asyncio.CancelledError
        return await super().complete(request)


@pytest.mark.parametrize("killed", [False, True], ids=["stopped", "killed"])
def test_a_resumed_run_keeps_the_verdicts_decided_before_it_was_stopped(
    tmp_path: Path, killed: bool
) -> None:
    """Stopped while blame regenerates a suspect of the module's tests, after its
    imports check passed, with a module left half written on disk (a kill during
    a write): the resumed run takes the imports check at its stored verdict
    instead of judging the half-written file, and ends as the run never stopped.
    `killed`: the row as a kill leaves it before the regeneration stored anything
    (still completed, the regeneration counted); with a budget of one regeneration
    the resumed run must finish that one, not count it again and give up."""
    wrong = {SCALE: (WRONG_SCALE, {1})}
    straight_url = f"sqlite:///{tmp_path / 'straight.db'}"
    _run(straight_url, tmp_path / "straight", Scripted(wrong), blame_attempts=1)
    expected = _history(straight_url)
    assert (SCALE, 2, "blame:module", True) in expected
    assert _failed(straight_url) == []

    url = f"sqlite:///{tmp_path / 'stopped.db'}"
    out = tmp_path / "out"
    run_id = _run(url, out, _StopAtBlame(wrong, SCALE), blame_attempts=1)
    engine = make_engine(url)
    with Session(engine) as session:
        assert session.get_one(GenerationRun, run_id).status.value == "interrupted"
        atom = session.scalars(select(AtomicUnit).where(AtomicUnit.atom_key == SCALE)).one()
        assert atom.extra["blame_regenerations"] == 1
        if killed:
            atom.status = AtomStatus.COMPLETED
            session.commit()
    ops = out / "calc" / "ops.py"
    text = ops.read_text()
    ops.write_text(text[: text.index("def add") + 12])  # cut short inside a definition
    status = asyncio.run(
        execute_run(engine, run_id, model=Scripted(wrong), after_run=rank_after_run)
    )
    engine.dispose()
    assert status.value == "completed"
    assert _history(url) == expected
    assert _failed(url) == []
    assert ops.read_text() == (tmp_path / "straight" / "calc" / "ops.py").read_text()


def test_a_failed_atom_leaves_its_tasks_module_checks_and_blame_running(
    sqlite_url: str, tmp_path: Path
) -> None:
    """`add` fails every attempt and is written as a stub; `scale` has a wrong
    operator. The task's module tests still run: those that reach the stub fail on
    it and blame passes them over, the others send blame to `scale`, at L2."""
    broken_add = "def add(a: int, b: int) -> int:\n    return (a +\n"
    wrong = {ADD: (broken_add, set(range(1, 30))), SCALE: (WRONG_SCALE, {1})}
    _run(sqlite_url, tmp_path / "out", Scripted(wrong))
    assert _failed(sqlite_url) == [ADD]
    blamed = {(key, trigger) for key, _, trigger, _ in _history(sqlite_url)}
    assert {(key, trigger) for key, trigger in blamed if trigger.startswith("blame")} == {
        (SCALE, "blame:module")
    }
    assert "return x * k" in (tmp_path / "out" / "calc" / "ops.py").read_text()
