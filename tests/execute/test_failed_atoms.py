"""A failed atom takes down only what needs it: whatever fails, the written project
compiles and imports, and a definition that is not all there raises
NotImplementedError naming the atom that is missing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from tests.execute.conftest import run_plan

from mge.atomize import AtomizeConfig
from mge.db import make_engine
from mge.db.models import AtomicUnit, AtomStatus
from mge.execute import run_report
from mge.llm import Model, ModelRequest, ModelResponse, make_model
from mge.llm._reference import PlanReference
from mge.plan import dump_plan, from_code
from mge.validate import STUB_MARK

FIXTURES = Path(__file__).parent / "fixtures"


def _project(root: Path) -> Path:
    """A small package of what trips a generator up: an empty `__init__.py`, files of
    only a comment or a docstring, a class of only `pass`, compound statements cut
    into blocks. Returns its plan."""
    package = root / "reference" / "tricky"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "notes.py").write_text("# Only a comment.\n")
    (package / "doc.py").write_text('"""Only a docstring."""\n')
    (package / "marker.py").write_text('"""Markers."""\n\n\nclass Marker:\n    pass\n')
    (package / "compound.py").write_bytes((FIXTURES / "blocks" / "compound.py.txt").read_bytes())
    plan = root / "plan.yaml"
    plan.write_text(dump_plan(from_code(package, plan_dir=root)))
    return plan


class FaultyAtoms:
    """The replay model with faults in atom answers only: skeletons come back whole,
    so the run reaches generation however high the fault rate."""

    def __init__(self, plan: Path, fault_rate: float, seed: int) -> None:
        reference = PlanReference(plan.parent / "reference", AtomizeConfig())
        self.clean = make_model("replay", reference=reference)
        self.faulty = make_model("replay", reference=reference, fault_rate=fault_rate, seed=seed)

    @property
    def name(self) -> str:
        return self.clean.name

    @property
    def simulated(self) -> bool:
        return True

    async def complete(self, request: ModelRequest) -> ModelResponse:
        atom = request.purpose is not None and request.purpose.kind == "atom"
        return await (self.faulty if atom else self.clean).complete(request)

    async def aclose(self) -> None:
        await self.clean.aclose()
        await self.faulty.aclose()


def _modules(out: Path) -> list[str]:
    return sorted(
        ".".join(path.relative_to(out).with_suffix("").parts).removesuffix(".__init__")
        for path in out.rglob("*.py")
        if "tests" not in path.relative_to(out).parts
    )


def _imports(out: Path, modules: list[str]) -> subprocess.CompletedProcess[str]:
    script = "import importlib, sys\nfor name in sys.argv[1:]:\n    importlib.import_module(name)\n"
    return subprocess.run(
        [sys.executable, "-c", script, *modules],
        cwd=out,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_fault_free_run_of_odd_constructs_completes(sqlite_url: str, tmp_path: Path) -> None:
    plan = _project(tmp_path)
    out = tmp_path / "out"
    run_id = run_plan(sqlite_url, plan, out, fault_rate=0.0, levels="atomic", run_tests=False)
    engine = make_engine(sqlite_url)
    report = run_report(engine, run_id)
    engine.dispose()
    # An empty skeleton (the empty `__init__.py`) is an empty file, not a failed stage.
    assert report["status"] == "completed", report.get("error")
    reference = tmp_path / "reference"
    for path in sorted(reference.rglob("*.py")):
        assert (out / path.relative_to(reference)).read_bytes() == path.read_bytes(), path


@pytest.mark.parametrize(("rate", "seed"), [(0.5, 4), (0.9, 5)])
def test_with_one_attempt_and_many_faults_the_output_still_imports(
    sqlite_url: str, example_plan: Path, tmp_path: Path, rate: float, seed: int
) -> None:
    out = tmp_path / "out"
    model: Model = FaultyAtoms(example_plan, fault_rate=rate, seed=seed)
    run_plan(
        sqlite_url,
        example_plan,
        out,
        model=model,
        max_attempts=1,
        blame_attempts=0,  # no second pass either: one attempt means one
        levels="atomic",
        run_tests=False,
    )
    engine = make_engine(sqlite_url)
    with Session(engine) as session:
        atoms = list(session.scalars(select(AtomicUnit)))
    engine.dispose()
    failed = [a for a in atoms if a.status is AtomStatus.FAILED]
    assert failed, "the fault rate should make some atoms fail"
    for path in sorted(out.rglob("*.py")):
        compile(path.read_text(), str(path), "exec", dont_inherit=True)
    result = _imports(out, _modules(out))
    assert result.returncode == 0, result.stderr[-2000:]
    written = {path.relative_to(out).as_posix(): path.read_text() for path in out.rglob("*.py")}
    for atom in failed:
        if atom.kind in ("function", "method", "block") and atom.qualname != "<module>":
            # Its definition is a stub that names it (or a piece that failed before it).
            assert f"{STUB_MARK}: {atom.file_path}::{atom.qualname}#" in written[atom.file_path]
