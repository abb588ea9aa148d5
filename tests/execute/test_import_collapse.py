"""Issue 19: a failure stays local. A file whose skeleton was never accepted still
imports (its names are stubs), a skeleton cut short before the names its `__all__`
lists is rejected, and a check that fails at import leaves out the atom its
traceback names (tested on the engine in `test_hierarchy`)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session
from tests.execute.conftest import run_plan

from mge.atomize import AtomizeConfig
from mge.db import make_engine
from mge.db.models import AtomicUnit, AtomStatus, HumanReviewQueue, TestType
from mge.execute import run_report
from mge.execute._checks import CheckOutcome, import_failures
from mge.execute._planning import _skeleton_problems
from mge.execute._stand_ins import class_stand_in, imported_from, missing_module
from mge.llm import Model, ModelRequest, ModelResponse, make_model
from mge.llm._reference import PlanReference
from mge.plan import dump_plan, from_code
from mge.validate import STUB_MARK
from mge.validate.testing import TestFailure, TestOutcome

_TYPE = TestType.INTEGRATION


def test_imported_from_resolves_absolute_and_relative_imports() -> None:
    sources = {
        "pkg/__init__.py": "from .version import __version__\nfrom pkg.core import run\n",
        "pkg/sub/tools.py": "from ..version import release as r\nfrom ..core import *\n",
        "pkg/other.py": "from . import version\nimport pkg.version\n",
        "pkg/broken.py": "def (:\n",
    }
    assert imported_from("pkg.version", sources) == ["__version__", "release"]
    assert imported_from("pkg.core", sources) == ["run"]


def _run(root: Path, code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=60
    )


def test_a_missing_module_imports_and_every_use_names_the_file(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text(
        "from .version import __version__\n"
        "from .helpers import Base, compute\n"
        "from . import helpers\n"
        "\n"
        "class Mine(Base):\n"
        "    pass\n"
        "\n"
        "def later(x=helpers.default_key):\n"
        "    return compute(x)\n"
        "\n"
        "VALUE = 3\n"
    )
    (package / "version.py").write_text(missing_module("pkg/version.py", ["__version__"]))
    (package / "helpers.py").write_text(missing_module("pkg/helpers.py", ["Base", "compute"]))
    ast.parse((package / "helpers.py").read_text())
    done = _run(tmp_path, "import pkg; print(pkg.VALUE)")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "3"
    for use in ("pkg.later()", "pkg.Mine()", "pkg.helpers.anything(1)", "pkg.__version__()"):
        failed = _run(tmp_path, f"import pkg; {use}")
        assert failed.returncode != 0
        assert "NotImplementedError" in failed.stderr
        assert f"{STUB_MARK}: the skeleton of pkg/" in failed.stderr
    # Dunder names it was not asked for are missing, as on any module: `hasattr`
    # and `from m import *` behave.
    probe = _run(
        tmp_path,
        "import pkg.helpers as h; print(hasattr(h, '__wrapped__'), hasattr(h, '__all__'))\n"
        "from pkg.helpers import *",
    )
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.strip() == "False False"


def test_a_skeleton_that_stops_before_its_exports_is_rejected() -> None:
    whole = (
        '__all__ = ("hashkey", "methodkey")\n\n'
        "def hashkey(*args): ...\n\n"
        "def methodkey(self, *args): ...\n"
    )
    cut = '__all__ = ("hashkey", "methodkey", "typedkey")\n\ndef hashkey(*args): ...\n'
    assert _skeleton_problems(whole, "pkg/keys.py", "python", ["pkg/keys.py"]) == []
    problems = _skeleton_problems(cut, "pkg/keys.py", "python", ["pkg/keys.py"])
    assert len(problems) == 1
    assert "methodkey, typedkey" in problems[0]
    # Names bound by imports, under `try`, or served by `__getattr__` count.
    other = (
        "__all__ = ['a', 'b', 'c']\n"
        "from x import a\n"
        "try:\n    b = 1\nexcept ImportError:\n    b = 2\n"
        "def __getattr__(name): ...\n"
    )
    assert _skeleton_problems(other, "pkg/m.py", "python", ["pkg/m.py"]) == []


def test_import_failures_are_the_uncollected_files_only() -> None:
    tests = TestOutcome(
        total=2,
        failed=2,
        collection_error=False,
        failures=[
            TestFailure("tests/test_a.py::test_x", "assert 1 == 2", "tb"),
            TestFailure(
                "tests/test_b.py", "ImportError", "pkg/m.py:3: in <module>", collection=True
            ),
        ],
    )
    outcome = CheckOutcome(False, _TYPE, "tests", "", [], tests)
    assert import_failures(outcome) == ["tests/test_b.py\nImportError\npkg/m.py:3: in <module>"]
    imports = CheckOutcome(False, _TYPE, "import", "", ["Traceback ..."])
    assert import_failures(imports) == ["Traceback ..."]
    assert import_failures(CheckOutcome(True, _TYPE, "import", "", [])) == []


def _table_project(root: Path) -> Path:
    """A package with a constant table read at import, and a test file importing
    it. Returns its plan."""
    package = root / "reference" / "table"
    package.mkdir(parents=True)
    tests = root / "reference" / "tests"
    tests.mkdir()
    (package / "__init__.py").write_text('"""Unit conversion."""\n')
    (package / "units.py").write_text(
        '"""Conversion factors to metres."""\n\n'
        'FACTORS = {"m": 1.0, "km": 1000.0}\n'
        'KILOMETRE = FACTORS["km"]\n\n\n'
        "def to_metres(value: float, unit: str) -> float:\n"
        '    """`value` given in `unit`, in metres."""\n'
        "    return value * FACTORS[unit]\n"
    )
    (tests / "test_units.py").write_text(
        "from table.units import to_metres\n\n\n"
        "def test_to_metres() -> None:\n"
        '    assert to_metres(2.0, "km") == 2000.0\n\n\n'
        "def test_metres() -> None:\n"
        '    assert to_metres(3.0, "m") == 3.0\n'
    )
    plan = root / "plan.yaml"
    plan.write_text(dump_plan(from_code(package, tests, plan_dir=root)))
    return plan


class WrongStatement:
    """The replay model, except that every attempt at the statement binding
    `KILOMETRE` reads a key the table does not have: valid code that passes atomic
    validation and fails when the module is imported, however often it is retried."""

    def __init__(self, plan: Path) -> None:
        reference = PlanReference(plan.parent / "reference", AtomizeConfig())
        self.inner: Model = make_model("replay", reference=reference)
        self.asked: list[str] = []

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def simulated(self) -> bool:
        return True

    async def complete(self, request: ModelRequest) -> ModelResponse:
        response = await self.inner.complete(request)
        purpose = request.purpose
        if purpose is None or purpose.kind != "atom":
            return response
        if 'KILOMETRE = FACTORS["km"]' not in response.text:
            return response
        self.asked.append(purpose.target)
        return ModelResponse(
            text=response.text.replace('FACTORS["km"]', 'FACTORS["kilometre"]'),
            input_tokens=response.input_tokens,
            output_tokens=response.output_tokens,
            cached_tokens=0,
            model=response.model,
            latency_seconds=0.0,
            cost_usd=response.cost_usd,
        )

    async def aclose(self) -> None:
        await self.inner.aclose()


def test_code_that_fails_at_import_after_every_attempt_is_left_out(
    sqlite_url: str, tmp_path: Path
) -> None:
    plan = _table_project(tmp_path / "project")
    model = WrongStatement(plan)
    out = tmp_path / "out"
    run_id = run_plan(sqlite_url, plan, out, model=model)
    assert model.asked, "the scripted statement was never asked for"
    key = model.asked[0]
    assert len(model.asked) >= 2  # generated, then blamed and regenerated
    engine = make_engine(sqlite_url)
    with Session(engine) as session:
        atom = session.scalars(select(AtomicUnit).where(AtomicUnit.atom_key == key)).one()
        review = session.scalars(
            select(HumanReviewQueue).where(HumanReviewQueue.atom_id == atom.id)
        ).one()
        others = session.scalars(select(AtomicUnit).where(AtomicUnit.atom_key != key)).all()
        assert atom.status is AtomStatus.FAILED and atom.needs_review
        assert 'FACTORS["kilometre"]' in (atom.code or "")  # kept for the reviewer
        assert "fails at import" in (atom.last_error or "")
        assert review.original_code == atom.code
        assert all(other.status is AtomStatus.COMPLETED for other in others)
    report = run_report(engine, run_id)
    engine.dispose()
    # The written module imports (the statement is the skeleton's stand-in), and the
    # whole suite runs and passes.
    text = (out / "table" / "units.py").read_text()
    assert "kilometre" not in text
    done = subprocess.run(
        [sys.executable, "-c", "import table.units"], cwd=out, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert report["tests"] == {"total": 2, "passed": 2, "failed": 0}


def test_a_failed_class_header_keeps_the_skeletons_bases() -> None:
    skeleton = (
        "from .base import Cache\n\n\n"
        "@decorated\n"
        "class LFUCache(Cache, metaclass=Meta):\n"
        '    """Least frequently used."""\n\n'
        "    class _Link:\n"
        "        __slots__ = ('count',)\n\n"
        "    def __init__(self, maxsize): ...\n"
    )
    assert class_stand_in(skeleton, "LFUCache", "", "    ") == (
        "class LFUCache(Cache, metaclass=Meta):\n    pass\n"
    )
    assert class_stand_in(skeleton, "LFUCache._Link", "    ", "        ") == (
        "    class _Link:\n        pass\n"
    )
    assert class_stand_in(skeleton, "Missing", "", "    ") is None
    assert class_stand_in("class (:\n", "LFUCache", "", "    ") is None


def test_a_missing_module_collected_as_a_test_module_stops_no_session(tmp_path: Path) -> None:
    # `python_files = *.py` (boolean.py's setting) collects the package's own
    # modules: pytest reads `pytest_plugins` and the module fixtures of each, and
    # a stand-in answering them with a stub class stopped the whole session with a
    # UsageError that named no project line, so no test ran and blame had nothing.
    (tmp_path / "pytest.ini").write_text(
        "[pytest]\npython_files = *.py\naddopts = --doctest-modules\n"
    )
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text(missing_module("pkg/__init__.py", []))
    (package / "util.py").write_text(
        'def one():\n    """\n    >>> one()\n    1\n    """\n    return 1\n'
    )
    (package / "test_util.py").write_text(
        "from pkg.util import one\n\n\ndef test_one():\n    assert one() == 1\n"
    )
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "pkg"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 passed" in done.stdout
    probe = _run(
        tmp_path,
        "import pkg\n"
        "print(*(hasattr(pkg, n) for n in ('pytest_plugins', 'setup_module', 'Anything')))",
    )
    assert probe.stdout.strip() == "False False True", probe.stderr
