"""At fault rate 0 the replay model answers with the reference, so every atom must
pass L1 at its first attempt and the output must equal the reference byte for
byte. Each fixture here is a small real module holding one construct that broke
this on a project of the corpus (`bench/corpus`): the same construct, on code the
engine was not tuned for, must keep working."""

from __future__ import annotations

import shutil
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session
from tests.execute.conftest import run_plan

from mge.db import make_engine
from mge.db.models import AtomicUnit, AtomRetryHistory
from mge.execute import run_report
from mge.plan import dump_plan, from_code

CONSTRUCTS = Path(__file__).parent / "fixtures" / "constructs"


def copy_construct(fixture: Path, target: Path) -> Path:
    """The fixture project at `target`. A module the formatter must not touch (tabs,
    layouts ruff would rewrite) is stored as `NAME.py.txt` and becomes `NAME.py`."""
    shutil.copytree(fixture, target)
    for stored in sorted(target.rglob("*.py.txt")):
        stored.rename(stored.with_suffix(""))
    return target


def _regenerate(fixture: str, src: str, sqlite_url: str, tmp_path: Path) -> Path:
    """Plan `src` of the fixture project, regenerate it at fault rate 0 and check the
    invariant; returns the project copy (the reference)."""
    project = copy_construct(CONSTRUCTS / fixture, tmp_path / "project")
    plan = tmp_path / "plan.yaml"
    plan.write_text(dump_plan(from_code(project / src, plan_dir=tmp_path)))
    out = tmp_path / "out"
    run_id = run_plan(sqlite_url, plan, out, fault_rate=0.0, levels="atomic", run_tests=False)
    engine = make_engine(sqlite_url)
    try:
        report = run_report(engine, run_id)
        with Session(engine) as session:
            rejected = session.execute(
                select(AtomicUnit.atom_key, AtomRetryHistory.error_message)
                .join(AtomicUnit, AtomicUnit.id == AtomRetryHistory.atom_id)
                .where(AtomRetryHistory.succeeded.is_(False))
            ).all()
    finally:
        engine.dispose()
    assert report["status"] == "completed", report.get("error")
    assert [tuple(row) for row in rejected] == []
    assert report["atoms"]["blocked"] == 0
    assert report["atoms"]["completed"] == report["atoms"]["total"] > 0
    for path in sorted((project / src).parent.rglob("*.py")):
        if "tests" in path.relative_to(project).parts:
            continue
        written = out / path.relative_to(project)
        assert written.read_bytes() == path.read_bytes(), path
    return project


def test_overloaded_methods_are_each_a_definition(sqlite_url: str, tmp_path: Path) -> None:
    """`@overload` variants and a property's setter share their qualname with the
    def before them; the concrete body after them is cut into blocks, and each block
    must be judged in place, not taken for a piece of an overload's body."""
    _regenerate("overloads", "seq.py", sqlite_url, tmp_path)


def test_a_tab_indented_module_keeps_its_tabs(sqlite_url: str, tmp_path: Path) -> None:
    """The plan of an elided body is indented as the body is; spaces there made the
    assembled file mix tabs and spaces, and L1 rejected the module's own header."""
    _regenerate("tabs", "text.py", sqlite_url, tmp_path)


def test_a_package_deletes_the_submodules_its_imports_bound(
    sqlite_url: str, tmp_path: Path
) -> None:
    """Importing `pkg.sub` (or `from .sub import f`) binds `sub` in the package's
    namespace; the package's `__init__.py` may use or delete that name."""
    _regenerate("submodules", "shapes", sqlite_url, tmp_path)


def test_names_of_another_python_in_its_branches(sqlite_url: str, tmp_path: Path) -> None:
    """`str if PY3 else unicode`: the branch for the other Python never runs here,
    so the name it reads is no error."""
    _regenerate("version_gates", "compat.py", sqlite_url, tmp_path)


def test_a_stub_body_on_the_line_that_closes_its_signature(sqlite_url: str, tmp_path: Path) -> None:
    """`) -> T: ...` ends a multi-line signature with its body: the skeleton keeps it
    as written, and the plan must not take that line for an elided body's `...`."""
    _regenerate("long_signatures", "groups.py", sqlite_url, tmp_path)


def test_a_doctest_calling_a_function_not_all_written_is_inconclusive(
    sqlite_url: str, tmp_path: Path
) -> None:
    """`sieve`'s example calls `iter_index`, a generator cut into blocks: while its
    later blocks are not written, it is a stub that says so, not a body that stops
    short and makes `sieve`'s correct code fail its doctest."""
    _regenerate("doctest_neighbours", "primes.py", sqlite_url, tmp_path)
