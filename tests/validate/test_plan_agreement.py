"""L1 holds generated code to its own plan: the names it declares, the value it returns.

The faults this catches stay valid code that every other check passes: an answer
cut short after a call it planned, a `return` turned into a bare expression, an
attribute misspelt in a call chain the plan names.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from mge.atomize import AtomizeConfig
from mge.atomize._plan import plan_file, returns_value
from mge.validate import Assembly, AtomSpec, validate_atom

HEADER = "import math\n\n\n"
SPEC = AtomSpec(
    atom_id="geo.py::area#0",
    kind="function",
    name="area",
    qualname="area",
    language="python",
    file="geo.py",
    signature="def area(radius)",
    declared_calls=("math.pi", "round"),
    returns=True,
)
RIGHT = "def area(radius):\n    return round(math.pi * radius * radius, 2)\n"


def plan_verdict(candidate: str, spec: AtomSpec = SPEC) -> tuple[bool, str]:
    first = HEADER.count("\n") + 1
    assembly = Assembly(
        text=HEADER + candidate,
        first_line=first,
        last_line=first + candidate.count("\n") - 1,
    )
    verdict = validate_atom(candidate, spec, assembly)
    found = [r for r in verdict.results if r.check == "plan"]
    assert len(found) == 1, verdict.results
    return found[0].passed, found[0].output


def test_code_that_follows_its_plan_passes() -> None:
    assert plan_verdict(RIGHT) == (True, "")


@pytest.mark.parametrize(
    ("candidate", "said"),
    [
        # `return` left as a bare expression
        ("def area(radius):\n    round(math.pi * radius * radius, 2)\n", "returns no value"),
        # the answer stopped before the call the plan declared
        ("def area(radius):\n    return math.pi * radius * radius\n", "never uses round"),
        # an attribute misspelt in the declared chain
        ("def area(radius):\n    return round(math.pii * radius * radius, 2)\n", "math.pi"),
    ],
)
def test_code_that_lost_part_of_its_plan_is_sent_back(candidate: str, said: str) -> None:
    passed, output = plan_verdict(candidate)
    assert not passed
    assert said in output


def test_a_return_inside_a_nested_function_is_not_the_body_returning() -> None:
    nested = "def area(radius):\n    def inner():\n        return round(math.pi)\n    inner()\n"
    passed, output = plan_verdict(nested)
    assert not passed and "returns no value" in output


def test_on_the_last_attempt_a_disagreement_is_recorded_not_fatal() -> None:
    """The plan may be what is wrong (a callee the body never needed): the last
    attempt is accepted and the disagreement stays in the verdict for review."""
    passed, output = plan_verdict(
        "def area(radius):\n    return math.pi * radius * radius\n",
        replace(SPEC, plan_binding=False),
    )
    assert passed
    assert "accepted on the last attempt" in output and "round" in output


def test_headers_and_other_languages_are_not_held_to_a_body_plan() -> None:
    candidate = "def area(radius):\n    pass\n"
    first = HEADER.count("\n") + 1
    assembly = Assembly(text=HEADER + candidate, first_line=first, last_line=first + 1)
    for spec in (replace(SPEC, kind="class_header"), replace(SPEC, language="typescript")):
        results = validate_atom(candidate, spec, assembly).results
        assert "plan" not in {r.check for r in results}


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("def f():\n    return 1\n", True),
        ("def f():\n    return\n", False),
        ("    x = 1\n    if x:\n        return x\n", True),
        ("    y = lambda: 3\n    print(y)\n", False),
        ("    class A:\n        def m(self):\n            return 1\n", False),
        # Pieces that continue a compound statement are read after a stand-in opener.
        ("    elif x:\n        return 2\n", True),
        ("    elif x:\n        return\n", False),  # a `return False` cut short
        ("    else:\n        return NotImplemented\n", True),
        ("    # the rest\n    except KeyError:\n        return None\n", True),
        ("    finally:\n        done()\n", False),
        ("    else:\n", None),  # a clause with no body cannot parse even so
    ],
)
def test_returns_value(code: str, expected: bool | None) -> None:
    assert returns_value(code) is expected


SKELETON = '''import math


def area(radius):
    """Area of a circle."""
    # calls: math.pi
    # returns: the area
    ...


def report(values):
    """Lines for the report."""
    # step: collect the lines | calls: str | binds: lines
    # step: join them | returns: the joined text
    ...
'''


def test_the_plan_grammar_carries_returns_to_the_atoms() -> None:
    planned = plan_file(SKELETON, "geo.py", config=AtomizeConfig())
    assert planned.problems == []
    returns = {atom.id: atom.context.get("returns") for atom in planned.result.atoms}
    assert returns["geo.py::area#0"] == "the area"
    assert returns["geo.py::report#0"] is None
    assert returns["geo.py::report#1"] == "the joined text"


@pytest.mark.parametrize(
    ("lines", "problem"),
    [
        ("    # returns: a\n    # returns: b\n", "once per body"),
        ("    # returns: \n", "malformed plan line"),
        ("    # returns: x\n    # step: s | calls: str\n", "steps after"),
        ("    # step: a | returns: \n    # step: b\n", "without what it returns"),
    ],
)
def test_malformed_returns_lines_are_problems(lines: str, problem: str) -> None:
    skeleton = f'def f(x):\n    """Doc."""\n{lines}    ...\n'
    problems = plan_file(skeleton, "m.py", config=AtomizeConfig()).problems
    assert any(problem in p for p in problems), problems


def _binds_verdict(before: str, candidate: str, after: str, spec: AtomSpec) -> list[str]:
    """The `plan` check's outputs for a candidate placed between two pieces of code."""
    first = before.count("\n") + 1
    assembly = Assembly(
        text=before + candidate + after,
        first_line=first,
        last_line=first + candidate.count("\n") - 1,
    )
    results = validate_atom(candidate, spec, assembly).results
    return [r.output for r in results if r.check == "plan" and not r.passed]


STEP = replace(
    SPEC,
    atom_id="geo.py::shapes#1",
    kind="block",
    name="shapes",
    qualname="shapes",
    signature=None,
    declared_calls=(),
    returns=False,
    whole_definition=False,
    piece=1,
    planned_binds=frozenset({"sides"}),
)
STEP_BEFORE = "def shapes(kinds):\n    found = {}\n    for kind in kinds:\n"
STEP_AFTER = "        found[kind] = sides\n    return found\n"


def test_a_step_that_binds_what_its_plan_says_passes() -> None:
    candidate = "        sides = [kind] * 3  # a triangle\n"
    assert _binds_verdict(STEP_BEFORE, candidate, STEP_AFTER, STEP) == []
    # A loop target, an `as` name or a walrus binds as well as an assignment.
    for other in (
        "        for sides in [kind]:\n            pass\n",
        "        with open(kind) as sides:\n            pass\n",
        "        if (sides := kind):\n            pass\n",
    ):
        assert _binds_verdict(STEP_BEFORE, other, STEP_AFTER, STEP) == []


def test_a_step_cut_short_before_its_binding_is_sent_back() -> None:
    # What a truncated answer looks like: the line that started the list is gone.
    candidate = "        # the sides of each shape\n        print(kind)\n"
    outputs = _binds_verdict(STEP_BEFORE, candidate, STEP_AFTER, STEP)
    assert outputs == ["it never binds sides, which its plan says it binds"]
    # On the last attempt the plan may be what is wrong: recorded, not fatal.
    last = replace(STEP, plan_binding=False)
    assert _binds_verdict(STEP_BEFORE, candidate, STEP_AFTER, last) == []


def test_a_class_level_statement_must_bind_its_planned_constants() -> None:
    spec = replace(
        STEP,
        atom_id="spec.py::Parser#3",
        kind="statement",
        name="Parser",
        qualname="Parser",
        piece=0,
        planned_binds=frozenset({"ALIASES", "EMPTY"}),
    )
    before = "class Parser:\n    NUMBER = 1\n\n"
    after = "\n    def empty(self):\n        return self.EMPTY\n"
    whole = "    ALIASES = {'=': 1}\n\n    EMPTY = ['*', None]\n"
    assert _binds_verdict(before, whole, after, spec) == []
    cut = "    ALIASES = {'=': 1}\n"
    assert _binds_verdict(before, cut, after, spec) == [
        "it never binds EMPTY, which its plan says it binds"
    ]


def test_the_first_step_keeps_what_it_binds_and_is_held_to_it() -> None:
    # The first piece of a stepped body is the definition itself: its `defines`
    # are its name and parameters, and what its step binds travels as `binds`.
    planned = plan_file(SKELETON, "geo.py", config=AtomizeConfig())
    binds = {atom.id: atom.context.get("binds") for atom in planned.result.atoms}
    assert binds["geo.py::report#0"] == ["lines"]
    assert binds["geo.py::report#1"] == []
    assert binds["geo.py::area#0"] is None
    spec = replace(
        STEP,
        atom_id="geo.py::report#0",
        kind="function",
        name="report",
        qualname="report",
        piece=0,
        planned_binds=frozenset({"lines"}),
    )
    after = "    return '\\n'.join(lines)\n"
    whole = 'def report(values):\n    """Lines."""\n    lines = [str(v) for v in values]\n'
    assert _binds_verdict("", whole, after, spec) == []
    cut = 'def report(values):\n    """Lines."""\n'
    assert _binds_verdict("", cut, after, spec) == [
        "it never binds lines, which its plan says it binds"
    ]


@pytest.mark.parametrize(
    ("candidate", "name", "used"),
    [
        ("return rounded(x)", "round", False),  # a longer word is not the name
        ("return round(x)", "round", True),
        ("total = x_round + 1", "round", False),
        ("return café(x)", "café", True),  # word characters beyond ASCII
        ("el.$on('x')", "$on", True),  # not a word: a JavaScript name with `$`
        ("el.von('x')", "$on", False),
        ("math . pi", "math.pi", True),
        ("mathpi", "math.pi", False),
    ],
)
def test_a_declared_name_counts_only_as_a_whole_name(candidate: str, name: str, used: bool) -> None:
    from mge.validate.atomic import _uses

    assert _uses(candidate, name) is used
