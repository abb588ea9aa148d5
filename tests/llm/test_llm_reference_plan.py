"""At fault rate 0 the replay model's skeleton answers plan exactly the reference's
atoms, so the output is the reference byte for byte: checked on the bundled example
and on a deterministic sample of the standard library (code nobody tuned for)."""

from __future__ import annotations

import random
import sysconfig
from pathlib import Path

import pytest
from tests.execute.test_fault_zero_constructs import copy_construct

from mge.atomize import AtomizeConfig
from mge.atomize._plan import plan_file
from mge.llm._reference import PlanReference

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "inventory" / "reference"
STDLIB = Path(sysconfig.get_paths()["stdlib"])
# Small real modules of constructs that once broke the fault-0 invariant on the corpus.
CONSTRUCTS = Path(__file__).resolve().parents[1] / "execute" / "fixtures" / "constructs"
CONFIG = AtomizeConfig()


def _sample() -> list[tuple[Path, str]]:
    example = [(EXAMPLE, str(p.relative_to(EXAMPLE))) for p in sorted(EXAMPLE.rglob("*.py"))]
    modules = sorted(p.name for p in STDLIB.glob("*.py"))
    chosen = random.Random(18).sample(modules, 40)
    return example + [(STDLIB, name) for name in chosen]


@pytest.mark.parametrize(("root", "file"), _sample(), ids=lambda v: str(v)[-40:])
def test_the_replay_plan_is_the_reference_atomization(root: Path, file: str) -> None:
    _check(root, file)


def _constructs() -> list[tuple[str, str]]:
    return [
        (fixture.name, path.relative_to(fixture).as_posix().removesuffix(".txt"))
        for fixture in sorted(CONSTRUCTS.iterdir())
        for path in sorted(fixture.rglob("*.py*"))
        if path.name.endswith((".py", ".py.txt")) and "tests" not in path.relative_to(fixture).parts
    ]


@pytest.mark.parametrize(("fixture", "file"), _constructs())
def test_the_replay_plan_of_each_construct_is_its_atomization(
    fixture: str, file: str, tmp_path: Path
) -> None:
    _check(copy_construct(CONSTRUCTS / fixture, tmp_path / fixture), file)


def _check(root: Path, file: str) -> None:
    reference = PlanReference(root, CONFIG)
    skeleton = reference.skeleton(file)
    assert skeleton is not None
    planned = plan_file(skeleton, file, config=CONFIG)
    assert planned.problems == []
    expected = reference.atomized(file)
    assert expected is not None
    assert [a.id for a in planned.result.atoms] == [a.id for a in expected.atoms]
    assert [a.kind for a in planned.result.atoms] == [a.kind for a in expected.atoms]
    answers = [reference.atom(a.id) for a in planned.result.atoms]
    joined = "".join(answer or "" for answer in answers)
    assert joined.encode("utf-8", errors="surrogateescape") == (root / file).read_bytes()


def test_the_reference_plan_declares_the_attributes_a_piece_sets() -> None:
    """A step that sets state is held to it: an answer cut off before
    `self.data = []` still parses and passes every other check."""
    from mge.llm._reference import _attributes_set

    code = (
        "    self.item = attrs or None\n"
        "    self.data = []\n"
        "    self.count += 1\n"
        "    self.size: int = 3\n"
        "    if self.ready == 3:\n"
        "        cls.registry[key] = value\n"
        "    print(self.other)\n"
    )
    assert _attributes_set(code) == ["self.item", "self.data", "self.count", "self.size"]


TS_CALC = Path(__file__).resolve().parents[2] / "examples" / "ts-calc" / "reference"


def _ts_files() -> list[str]:
    return sorted(
        str(p.relative_to(TS_CALC)) for p in TS_CALC.rglob("*.ts") if "node_modules" not in p.parts
    )


@pytest.mark.parametrize("file", _ts_files())
def test_a_typescript_replay_skeleton_plans_without_problems(file: str) -> None:
    skeleton = PlanReference(TS_CALC, CONFIG).skeleton(file)
    assert skeleton is not None
    planned = plan_file(skeleton, file, config=CONFIG, language="typescript")
    assert planned.problems == []
    assert planned.result.atoms


def test_a_typescript_skeleton_that_does_not_parse_is_sent_back_with_its_line() -> None:
    # A parameter list that lost its `)`: planned as it is, the contract would hold
    # every answer to a broken signature.
    skeleton = PlanReference(TS_CALC, CONFIG).skeleton("src/util/result.ts")
    assert skeleton is not None and "Promise<T>):" in skeleton
    broken = skeleton.replace("Promise<T>):", "Promise<T>:", 1)
    line = broken[: broken.index("Promise<T>:")].count("\n") + 1
    planned = plan_file(broken, "src/util/result.ts", config=CONFIG, language="typescript")
    assert planned.problems and planned.problems[0].startswith(f"line {line}: ")
    assert len(planned.problems) <= 3
