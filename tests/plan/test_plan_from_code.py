"""`from_code` on small real packages written here, on the bundled example, and on h11."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from mge.errors import PlanError
from mge.plan import Plan, Task, check_plan, dump_plan, from_code, load_plan, validate_plan

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "inventory"


def _write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return root


def _tasks(plan: Plan) -> dict[str, Task]:
    return {task.id: task for task in plan.tasks()}


def _phase_of(plan: Plan) -> dict[str, int]:
    return {t.id: i for i, p in enumerate(plan.phases) for m in p.milestones for t in m.tasks}


def _valid(plan: Plan) -> Plan:
    assert check_plan(plan) == []
    return plan


def test_layers_follow_imports_and_ids_are_module_names(tmp_path: Path) -> None:
    src = _write(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/base.py": '"""Base things."""\nVALUE = 1\n',
            "app/mid.py": "from app.base import VALUE\n",
            "app/top.py": "import app.mid\nfrom app import base\n",
            "app/util/__init__.py": "",
            "app/util/text.py": "from ..base import VALUE\n",
        },
    )
    plan = _valid(from_code(src / "app", plan_dir=tmp_path))
    tasks = _tasks(plan)
    assert plan.name == "app"
    assert plan.reference == "."
    assert tasks["app.mid"].depends_on == ["app.base"]
    assert tasks["app.top"].depends_on == ["app.base", "app.mid"]
    assert tasks["app.util.text"].depends_on == ["app.base"]
    assert tasks["app.base"].files == ["app/base.py"]
    assert tasks["app.base"].name == "Base things"
    assert tasks["app.base"].description == "Defines VALUE."
    assert _phase_of(plan) == {
        "app": 0,
        "app.base": 0,
        "app.util": 0,
        "app.mid": 1,
        "app.util.text": 1,
        "app.top": 2,
    }
    assert [[m.name for m in p.milestones] for p in plan.phases] == [
        ["app", "app.util"],
        ["app", "app.util"],
        ["app"],
    ]


def test_an_import_cycle_shares_a_phase_and_keeps_module_level_imports(tmp_path: Path) -> None:
    src = _write(
        tmp_path,
        {
            "cyc/__init__.py": "",
            "cyc/low.py": "X = 1\n",
            # a imports b at import time; b imports a only inside a function.
            "cyc/a.py": "from cyc.b import helper\nfrom cyc.low import X\n",
            "cyc/b.py": "def helper():\n    from cyc import a\n    return a\n",
        },
    )
    plan = _valid(from_code(src, plan_dir=tmp_path))
    tasks = _tasks(plan)
    phase = _phase_of(plan)
    assert phase["cyc.a"] == phase["cyc.b"] == 1
    assert tasks["cyc.a"].depends_on == ["cyc.b", "cyc.low"]
    assert tasks["cyc.b"].depends_on == []
    assert "In an import cycle with cyc.a." in tasks["cyc.b"].description
    assert "Also imports cyc.a, built after it in the cycle" in tasks["cyc.b"].description
    ids = [t.id for t in plan.phases[1].milestones[0].tasks]
    assert ids.index("cyc.b") < ids.index("cyc.a")


def test_a_cycle_of_module_level_imports_is_still_ordered(tmp_path: Path) -> None:
    src = _write(
        tmp_path,
        {
            "ring/__init__.py": "",
            "ring/one.py": "import ring.two\n",
            "ring/two.py": "import ring.three\n",
            "ring/three.py": "import ring.one\n",
        },
    )
    first = from_code(src, plan_dir=tmp_path)
    _valid(first)
    kept = {t.id: t.depends_on for t in first.tasks()}
    # One edge of the ring is cut, the other two are kept, and the same way every time.
    assert sum(len(deps) for deps in kept.values()) == 2
    assert dump_plan(from_code(src, plan_dir=tmp_path)) == dump_plan(first)


def test_package_re_exports_point_at_the_defining_module(tmp_path: Path) -> None:
    src = _write(
        tmp_path,
        {
            "lib/__init__.py": (
                "from lib.core import Engine\nfrom .extra import *\nfrom . import tools\n"
                "def version():\n    return 1\n"
            ),
            "lib/core.py": "class Engine: ...\n",
            "lib/extra.py": "__all__ = ['Widget']\nclass Widget: ...\n",
            "lib/tools.py": "def tool(): ...\n",
            "lib/user.py": (
                "from lib import Engine, Widget\nfrom . import tools\n"
                "import lib as L\nBase = L.core.Engine\n"
            ),
            "lib/uses_init.py": "from lib import version\n",
            "lib/alias.py": "import lib\nclass Mine(lib.Widget):\n    pass\n",
        },
    )
    tasks = _tasks(_valid(from_code(src / "lib", plan_dir=tmp_path)))
    assert tasks["lib.user"].depends_on == ["lib.core", "lib.extra", "lib.tools"]
    assert tasks["lib.uses_init"].depends_on == ["lib"]
    assert tasks["lib.alias"].depends_on == ["lib.extra"]
    assert tasks["lib"].depends_on == ["lib.core", "lib.extra", "lib.tools"]


def test_type_checking_and_function_imports_count(tmp_path: Path) -> None:
    src = _write(
        tmp_path,
        {
            "tc/__init__.py": "",
            "tc/types.py": "class T: ...\n",
            "tc/lazy.py": "def f():\n    import tc.late\n",
            "tc/late.py": "",
            "tc/user.py": (
                "from typing import TYPE_CHECKING\nimport typing\nimport os\n"
                "if TYPE_CHECKING:\n    from tc.types import T\n"
                "if typing.TYPE_CHECKING:\n    from tc import lazy\n"
            ),
        },
    )
    tasks = _tasks(_valid(from_code(src, plan_dir=tmp_path)))
    assert tasks["tc.user"].depends_on == ["tc.lazy", "tc.types"]
    assert tasks["tc.lazy"].depends_on == ["tc.late"]


def test_odd_files_do_not_stop_the_plan(tmp_path: Path) -> None:
    src = _write(
        tmp_path,
        {
            "odd/__init__.py": "",
            "odd/py2.py": "print 'hello'\n",
            "odd/fine.py": "from odd import py2\nfrom .... import nowhere\n",
            "odd/__pycache__/x.py": "",
            "odd/.hidden/y.py": "",
            "scripts/odd.py": "",
            "setup.py": "",
            "tools/2to3.py": "",
            "tools/café.py": "",
            "tools/caf_.py": "",
        },
    )
    plan = _valid(from_code(src, plan_dir=tmp_path))
    tasks = _tasks(plan)
    # `scripts/odd.py` is also module `odd`: both keep a task, with path-based ids.
    assert set(tasks) == {
        "odd",
        "odd.py2",
        "odd.fine",
        "scripts.odd",
        "setup",
        "_2to3",
        "caf_",
        "caf__2",
    }
    assert tasks["caf__2"].files == ["tools/café.py"]
    assert tasks["odd"].files == ["odd/__init__.py"]
    assert "does not parse (SyntaxError at line 1)" in tasks["odd.py2"].description
    assert tasks["odd.fine"].depends_on == ["odd.py2"]
    assert tasks["scripts.odd"].files == ["scripts/odd.py"]
    assert plan.name == src.name  # not one top-level package: the directory names the plan


def test_tests_are_mapped_to_the_tasks_they_import(tmp_path: Path) -> None:
    src = _write(
        tmp_path,
        {
            "calc/__init__.py": "from calc.ops import add\n",
            "calc/ops.py": "def add(a, b):\n    return a + b\n",
            "calc/fmt.py": "from calc.ops import add\n",
            "tests/conftest.py": "import pytest\n",
            "tests/helpers.py": "",
            "tests/test_ops.py": "from calc import add\n",
            "tests/test_fmt.py": "import calc.fmt\nimport calc.ops\n",
            "tests/test_none.py": "def test_x():\n    pass\n",
            "calc/tests/__init__.py": "",
            "calc/tests/test_inside.py": "from ..fmt import add\n",
        },
    )
    plan = _valid(from_code(src, plan_dir=tmp_path))
    tasks = _tasks(plan)
    assert set(tasks) == {"calc", "calc.ops", "calc.fmt"}
    assert tasks["calc.ops"].tests == ["tests/test_fmt.py", "tests/test_ops.py"]
    assert tasks["calc.fmt"].tests == ["calc/tests/test_inside.py", "tests/test_fmt.py"]
    assert tasks["calc"].tests == []
    assert plan.acceptance == [
        "calc/tests/test_inside.py",
        "tests/test_fmt.py",
        "tests/test_none.py",
        "tests/test_ops.py",
    ]
    milestone_tests = {m.name: m.tests for p in plan.phases for m in p.milestones}
    assert plan.phases[0].milestones[0].tests == ["tests/test_ops.py"]
    assert milestone_tests["calc"] == ["calc/tests/test_inside.py", "tests/test_fmt.py"]


def test_conftest_imports_count_for_the_tests_below_it(tmp_path: Path) -> None:
    src = _write(
        tmp_path,
        {
            "shop/__init__.py": "",
            "shop/db.py": "",
            "shop/api.py": "",
            "tests/conftest.py": "from shop.db import *\n",
            "tests/test_api.py": "from shop import api\n",
            "other/test_alone.py": "from shop import api\n",
        },
    )
    tasks = _tasks(from_code(src, plan_dir=tmp_path))
    assert tasks["shop.db"].tests == ["tests/test_api.py"]
    assert tasks["shop.api"].tests == ["other/test_alone.py", "tests/test_api.py"]


def test_an_explicit_tests_directory(tmp_path: Path) -> None:
    src = _write(
        tmp_path,
        {
            "proj/pkg/__init__.py": "",
            "proj/pkg/m.py": "",
            "proj/checks/test_m.py": "from pkg import m\n",
            "proj/checks/util.py": "",
            "elsewhere/test_x.py": "",
        },
    )
    plan = _valid(from_code(src / "proj" / "pkg", tests=src / "proj" / "checks", plan_dir=src))
    assert plan.reference == "proj"
    assert _tasks(plan)["pkg.m"].tests == ["checks/test_m.py"]
    assert "pkg.util" not in _tasks(plan) and "util" not in _tasks(plan)
    with pytest.raises(PlanError, match="outside the project root"):
        from_code(src / "proj" / "pkg", tests=src / "elsewhere")


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p / "missing", "source not found"),
        (lambda p: _write(p, {"empty/README.md": "x"}) / "empty", "no Python modules found"),
    ],
)
def test_bad_sources_are_plan_errors(tmp_path: Path, make: object, message: str) -> None:
    assert callable(make)
    with pytest.raises(PlanError, match=message):
        from_code(make(tmp_path))


def test_without_a_plan_dir_the_reference_is_absolute(tmp_path: Path) -> None:
    src = _write(tmp_path, {"solo.py": "x = 1\n"})
    plan = from_code(src / "solo.py")
    assert plan.reference == tmp_path.resolve().as_posix()
    assert [t.id for t in plan.tasks()] == ["solo"]
    assert plan.name == "solo"


def test_the_bundled_example_plan_is_what_from_code_makes() -> None:
    committed = (EXAMPLE / "plan.yaml").read_text()
    regenerated = from_code(EXAMPLE / "reference", plan_dir=EXAMPLE)
    assert dump_plan(regenerated) == committed
    assert load_plan(EXAMPLE / "plan.yaml") == regenerated


def test_the_bundled_example_has_the_layers_of_its_imports() -> None:
    plan = load_plan(EXAMPLE / "plan.yaml")
    assert plan.name == "inventory"
    assert plan.reference == "reference"
    assert [[t.id for m in p.milestones for t in m.tasks] for p in plan.phases] == [
        ["inventory.errors", "inventory.money"],
        ["inventory.models", "inventory.valuation"],
        ["inventory.catalog", "inventory.ledger", "inventory.pricing"],
        ["inventory.csvio", "inventory.orders", "inventory.restock"],
        ["inventory.report", "inventory.returns"],
        ["inventory"],
    ]
    tasks = _tasks(plan)
    # The tests import from the package, and are still mapped to the defining modules.
    assert "tests/test_pricing.py" in tasks["inventory.pricing"].tests
    assert "tests/test_money.py" in tasks["inventory.money"].tests
    assert tasks["inventory"].tests == []
    assert len(plan.acceptance) == 12
    _, issues = validate_plan(plan.model_dump(), plan_dir=EXAMPLE)
    assert issues == []


def test_the_bundled_example_tests_pass_on_its_reference() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "reference/tests"],
        cwd=EXAMPLE,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert " passed" in result.stdout and "failed" not in result.stdout


def _installed_package(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    assert spec is not None and spec.origin is not None, f"{name} is a dependency of httpx"
    return Path(spec.origin).parent


def test_a_real_project_from_pypi(tmp_path: Path) -> None:
    """h11 (installed with httpx): eleven modules with an import cycle between two."""
    package = _installed_package("h11")
    plan = _valid(from_code(package, plan_dir=tmp_path))
    tasks = _tasks(plan)
    phase = _phase_of(plan)
    modules = sorted(p.name for p in package.glob("*.py"))
    assert sorted(f.rpartition("/")[2] for t in tasks.values() for f in t.files) == modules
    assert phase["h11._events"] == phase["h11._headers"]
    assert "In an import cycle" in tasks["h11._events"].description
    assert "h11._events" in tasks["h11._connection"].depends_on
    assert phase["h11"] == len(plan.phases) - 1
    _, issues = validate_plan(plan.model_dump(), plan_dir=tmp_path)
    assert issues == []


def _check_layering(plan: Plan) -> None:
    """Phases are import layers: a task outside a cycle sits right after its latest import."""
    phase = _phase_of(plan)
    for task in plan.tasks():
        in_cycle = "In an import cycle" in task.description
        for dep in task.depends_on:
            assert phase[dep] < phase[task.id] or (in_cycle and phase[dep] == phase[task.id])
        if not in_cycle:
            assert phase[task.id] == max((phase[d] + 1 for d in task.depends_on), default=0)


@pytest.mark.parametrize(
    "name", ["h11", "yaml", "pyflakes", "pathspec", "markdown_it", "mako", "typer", "rich"]
)
def test_installed_packages_give_valid_layered_plans(tmp_path: Path, name: str) -> None:
    package = _installed_package(name)
    plan = _valid(from_code(package, plan_dir=tmp_path))
    _check_layering(plan)
    files = [f for t in plan.tasks() for f in t.files]
    expected = sorted(
        p.relative_to(package.parent).as_posix()
        for p in package.rglob("*.py")
        if "__pycache__" not in p.parts and not {"tests", "test"} & set(p.parts)
    )
    assert sorted(files) == expected


def test_the_example_plan_is_layered() -> None:
    _check_layering(load_plan(EXAMPLE / "plan.yaml"))


def test_support_given_by_hand_joins_what_is_found(tmp_path: Path) -> None:
    """A root file the suite reads and the package's installed metadata are named
    with `support`; a planned module or a test file named there stays what it is."""
    project = _write(
        tmp_path,
        {
            "README.md": "    >>> 1 + 1\n    2\n",
            "pkg/__init__.py": "VERSION = 1\n",
            "pkg.egg-info/PKG-INFO": "Name: pkg\nVersion: 1.0\n",
            "pkg.egg-info/top_level.txt": "pkg\n",
            "tests/test_readme.py": "import pkg\n",
            "tests/helper.py": "",
        },
    )
    plan = from_code(
        project / "pkg",
        tests=project / "tests",
        support=[project / "README.md", project / "pkg.egg-info", project / "pkg/__init__.py"],
    )
    assert plan.support == [
        "README.md",
        "pkg.egg-info/PKG-INFO",
        "pkg.egg-info/top_level.txt",
        "tests/helper.py",
    ]
    assert plan.assets == []
    assert check_plan(plan) == []


@pytest.mark.parametrize(
    ("support", "message"),
    [("nope.txt", "support path not found: "), ("../elsewhere", "is not inside the project")],
)
def test_a_bad_support_path_is_a_plan_error(tmp_path: Path, support: str, message: str) -> None:
    project = _write(tmp_path / "project", {"pkg/__init__.py": "", "tests/test_a.py": ""})
    (tmp_path / "elsewhere").mkdir()
    with pytest.raises(PlanError, match=message):
        from_code(project / "pkg", tests=project / "tests", support=[project / support])
