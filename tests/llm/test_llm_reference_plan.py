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
