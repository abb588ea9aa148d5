"""`plan from-code` on TypeScript and JavaScript projects (mge.plan._from_code_js)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mge.cli.app import app
from mge.errors import PlanError
from mge.plan import check_plan, dump_plan, from_code, load_plan, parse_plan

EXAMPLE = Path(__file__).parents[2] / "examples" / "ts-ledger" / "reference"


def _write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def _deps(plan: object) -> dict[str, list[str]]:
    return {t.id: t.depends_on for t in plan.tasks()}  # type: ignore[attr-defined]


TS_PROJECT = {
    "package.json": json.dumps({"name": "@acme/shapes", "type": "module"}),
    # tsconfig's own dialect: comments and a trailing comma.
    "tsconfig.json": """{
      // aliases
      "compilerOptions": {"baseUrl": "./src",
        "paths": {"@lib/*": ["lib/*"], "#cfg": ["config.ts"]},},
    }""",
    "src/lib/area.ts": "/** Areas of shapes. */\nexport const area = (r: number) => 3 * r * r;\n",
    "src/lib/index.ts": 'export * from "./area.js";\n',
    "src/config.ts": "export const scale = 2;\n",
    "src/shapes.ts": (
        'import { area } from "./lib";\nimport { scale } from "#cfg";\n'
        'import type { X } from "@lib/area.js";\nimport fs from "node:fs";\n'
        "export const big = () => area(scale);\n"
    ),
    "src/lazy.ts": 'export async function load() { return import("./shapes.js"); }\n',
    "src/shapes.test.ts": 'import { big } from "./shapes.js";\n',
    "src/__tests__/lazy.ts": 'import { load } from "../lazy";\n',
    "test/helpers.ts": "export const h = 1;\n",
    "test/data.json": "{}",
    "test/area.spec.ts": 'import { area } from "../src/lib/area.js";\nimport "./helpers.js";\n',
    "src/types.d.ts": "declare const X: number;\n",
    "node_modules/dep/index.js": "module.exports = 1;\n",
}


def test_typescript_project_resolution_and_tests(tmp_path: Path) -> None:
    root = _write(tmp_path / "proj", TS_PROJECT)
    plan = from_code(root)
    assert check_plan(plan) == []
    assert plan.language == "typescript"
    assert plan.name == "acme-shapes"
    assert _deps(plan) == {
        "src.config": [],
        "src.lib.area": [],
        "src.lib.index": ["src.lib.area"],  # .js specifier -> .ts file
        "src.shapes": ["src.config", "src.lib.area", "src.lib.index"],  # index, paths aliases
        "src.lazy": ["src.shapes"],  # import()
    }
    tasks = {t.id: t for t in plan.tasks()}
    assert tasks["src.lib.area"].name == "Areas of shapes"
    assert tasks["src.lib.area"].tests == ["test/area.spec.ts"]
    assert tasks["src.lazy"].tests == ["src/__tests__/lazy.ts"]
    # Every source file under test/ is one, as `node --test` runs them all.
    assert plan.acceptance == [
        "src/__tests__/lazy.ts",
        "src/shapes.test.ts",
        "test/area.spec.ts",
        "test/helpers.ts",
    ]
    assert plan.support == ["package.json", "test/data.json", "tsconfig.json"]
    assert [a.path for a in plan.assets] == ["src/types.d.ts"]
    assert all("node_modules" not in f for t in plan.tasks() for f in t.files)


def test_javascript_project_with_commonjs_and_tests_option(tmp_path: Path) -> None:
    root = _write(
        tmp_path / "js",
        {
            "package.json": json.dumps({"name": "calc"}),
            "lib/add.js": "exports.add = (a, b) => a + b;\n",
            "lib/calc.cjs": 'const { add } = require("./add");\nmodule.exports = { add };\n',
            "checks/calc.js": 'const { add } = require("../lib/calc.cjs");\n',
        },
    )
    plan = from_code(root / "lib", tests=root / "checks")
    assert plan.language == "javascript"
    assert _deps(plan) == {"lib.add": [], "lib.calc": ["lib.add"]}
    assert plan.acceptance == ["checks/calc.js"]
    assert plan.reference == root.as_posix()  # the root is the folder with package.json


def test_import_cycle_shares_a_phase(tmp_path: Path) -> None:
    root = _write(
        tmp_path / "c",
        {
            "package.json": "{}",
            "a.ts": 'import { b } from "./b";\nexport const a = 1;\n',
            "b.ts": 'import { a } from "./a";\nexport const b = 2;\n',
        },
    )
    plan = from_code(root)
    assert check_plan(plan) == []
    assert _deps(plan) == {"a": [], "b": ["a"]}
    assert "built after it in the cycle" in next(t for t in plan.tasks() if t.id == "a").description


def test_no_package_json_is_refused(tmp_path: Path) -> None:
    root = _write(tmp_path / "bare", {"x.ts": "export const x = 1;\n"})
    with pytest.raises(PlanError, match=r"no package\.json"):
        from_code(root)


def test_cli_on_the_example(tmp_path: Path) -> None:
    out = tmp_path / "plan" / "plan.yaml"
    result = CliRunner().invoke(app, ["plan", "from-code", str(EXAMPLE), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "5 tasks" in result.output
    plan = load_plan(out)
    assert plan.language == "typescript"
    assert _deps(plan)["src.report"] == ["src.core.ledger", "src.util.money"]
    check = CliRunner().invoke(app, ["plan", "check", str(out)])
    assert check.exit_code == 0, check.output


VITEST_EXAMPLE = Path(__file__).parents[2] / "examples" / "ts-vitest" / "reference"
JEST_EXAMPLE = Path(__file__).parents[2] / "examples" / "js-jest" / "reference"


@pytest.mark.parametrize(
    ("manifest", "runner"),
    [
        ({"devDependencies": {"ava": "6.0.0"}}, "ava"),
        ({"scripts": {"test": "mocha --recursive"}}, "mocha"),
        # One that jest would not save: both named, mocha refused.
        ({"devDependencies": {"jest": "29.7.0", "mocha": "10.0.0"}}, "mocha"),
    ],
)
def test_another_test_runner_is_named_in_one_line(
    tmp_path: Path, manifest: dict[str, object], runner: str
) -> None:
    root = _write(
        tmp_path / "v", {"package.json": json.dumps({"name": "v", **manifest}), "a.ts": ""}
    )
    with pytest.raises(PlanError) as err:
        from_code(root)
    message = str(err.value)
    assert message.endswith(
        f"names the test runner {runner}; MGE runs node:test, vitest and jest suites"
    )
    assert "\n" not in message


def test_a_project_naming_vitest_and_jest_is_refused_in_one_line(tmp_path: Path) -> None:
    manifest = {"name": "v", "devDependencies": {"vitest": "3.2.4", "jest": "29.7.0"}}
    root = _write(tmp_path / "v", {"package.json": json.dumps(manifest), "a.ts": ""})
    with pytest.raises(PlanError, match="names the test runners vitest and jest;") as err:
        from_code(root)
    assert "\n" not in str(err.value)


def test_a_jest_project_is_planned_for_jest(tmp_path: Path) -> None:
    out = tmp_path / "plan.yaml"
    result = CliRunner().invoke(app, ["plan", "from-code", str(JEST_EXAMPLE), "-o", str(out)])
    assert result.exit_code == 0, result.output
    plan = load_plan(out)
    assert (plan.language, plan.test_runner) == ("javascript", "jest")
    assert plan.acceptance == ["test/prices.test.js", "test/units.test.js"]
    assert {t.id for t in plan.tasks()} == {"src.units", "src.prices"}
    # What `plan from-code` makes of the example is the committed plan.
    committed = load_plan(JEST_EXAMPLE.parent / "plan.yaml")
    assert committed.model_copy(update={"reference": plan.reference}) == plan


@pytest.mark.parametrize(
    "manifest",
    [{"scripts": {"test": "jest --ci"}}, {"devDependencies": {"jest": "29.7.0"}}],
)
def test_jest_is_found_in_the_script_or_the_dependencies(
    tmp_path: Path, manifest: dict[str, object]
) -> None:
    files = {
        "package.json": json.dumps({"name": "j", **manifest}),
        "src/a.js": "exports.a = 1;\n",
        # The runner's configuration runs where the verdict is made: copied.
        "jest.config.js": "module.exports = {};\n",
    }
    root = _write(tmp_path / "j", files)
    plan = from_code(root)
    assert plan.test_runner == "jest"
    assert [t.id for t in plan.tasks()] == ["src.a"]
    assert "jest.config.js" in plan.support


def test_a_vitest_project_is_planned_for_vitest(tmp_path: Path) -> None:
    out = tmp_path / "plan.yaml"
    result = CliRunner().invoke(app, ["plan", "from-code", str(VITEST_EXAMPLE), "-o", str(out)])
    assert result.exit_code == 0, result.output
    plan = load_plan(out)
    assert (plan.language, plan.test_runner) == ("typescript", "vitest")
    assert "test_runner: vitest" in out.read_text()
    assert plan.acceptance == ["test/math.test.ts", "test/stats.test.ts"]
    assert {t.id for t in plan.tasks()} == {"src.math", "src.stats"}


@pytest.mark.parametrize(
    "manifest",
    [{"scripts": {"test": "vitest run"}}, {"dependencies": {"vitest": "3.2.4"}}],
)
def test_vitest_is_found_in_the_script_or_the_dependencies(
    tmp_path: Path, manifest: dict[str, object]
) -> None:
    files = {
        "package.json": json.dumps({"name": "v", **manifest}),
        "src/a.ts": "export const a = 1;\n",
        # The runner's configuration runs where the verdict is made: copied.
        "vitest.config.ts": "export default {};\n",
    }
    root = _write(tmp_path / "v", files)
    plan = from_code(root)
    assert plan.test_runner == "vitest"
    assert [t.id for t in plan.tasks()] == ["src.a"]
    assert "vitest.config.ts" in plan.support


def test_a_node_test_project_keeps_its_plan_text(tmp_path: Path) -> None:
    root = _write(tmp_path / "n", {"package.json": json.dumps({"name": "n"}), "a.ts": ""})
    plan = from_code(root)
    assert plan.test_runner == "node"
    # The default is left out, so plans made before runners read as they did.
    assert "test_runner" not in dump_plan(plan)
    assert parse_plan(dump_plan(plan)).test_runner == "node"


def test_plan_check_reports_type_errors_in_the_reference(tmp_path: Path) -> None:
    root = _write(
        tmp_path / "bad",
        {
            "package.json": "{}",
            "a.ts": "export const n: number = 1;\n",
            "b.ts": 'import { n } from "./a";\nexport const s: string = n;\n',
        },
    )
    out = tmp_path / "plan.yaml"
    assert CliRunner().invoke(app, ["plan", "from-code", str(root), "-o", str(out)]).exit_code == 0
    check = CliRunner().invoke(app, ["plan", "check", str(out)])
    assert check.exit_code == 2
    assert check.output.strip() == (
        "reference b.ts:2: TS2322 Type 'number' is not assignable to type 'string'."
    )


@pytest.mark.parametrize("example", ["ts-ledger", "ts-calc", "ts-vitest"])
def test_the_committed_example_plan_is_what_from_code_makes(example: str) -> None:
    from mge.plan import dump_plan

    folder = EXAMPLE.parents[1] / example
    regenerated = from_code(folder / "reference", plan_dir=folder)
    assert dump_plan(regenerated) == (folder / "plan.yaml").read_text()


def test_demo_names_its_examples() -> None:
    from mge.errors import ConfigError

    result = CliRunner().invoke(app, ["demo", "--example", "cobol"])
    assert isinstance(result.exception, ConfigError)
    assert str(result.exception) == "unknown example 'cobol' (use one of: python, ts, ts-calc)"
