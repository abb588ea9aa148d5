"""Atomic (L1) validation: each check on small real snippets, as a table."""

from __future__ import annotations

import dataclasses

import pytest

from mge.validate import Assembly, AtomSpec, validate_atom

HEADER = "import math\n\nLIMIT = 3\n\n\n"
GOOD = '''def area(radius: float) -> float:
    """Area of a circle.

    >>> round(area(1.0), 2)
    3.14
    """
    return math.pi * radius * radius
'''


def check(
    candidate: str,
    *,
    kind: str = "function",
    signature: str | None = None,
    planned: frozenset[str] = frozenset(),
    module: str | None = None,
    tmp_module_dir: object = None,
) -> list[tuple[str, bool, str | None]]:
    text = HEADER + candidate
    first = HEADER.count("\n") + 1
    assembly = Assembly(
        text=text,
        first_line=first,
        last_line=first + candidate.count("\n") - 1,
        planned_names=planned,
    )
    spec = AtomSpec(
        atom_id="geo.py::area#0",
        kind=kind,
        name="area",
        qualname="area",
        language="python",
        file="geo.py",
        signature=signature or "def area(radius: float) -> float",
    )
    verdict = validate_atom(candidate, spec, assembly)
    return [(r.check, r.passed, r.error_class) for r in verdict.results]


def failures(candidate: str, **kwargs: object) -> dict[str, str | None]:
    return {name: cls for name, ok, cls in check(candidate, **kwargs) if not ok}  # type: ignore[arg-type]


def test_good_code_passes_every_check() -> None:
    results = check(GOOD)
    assert {name for name, _, _ in results} >= {"format", "syntax", "names", "contract", "size"}
    assert all(ok for _, ok, _ in results)


@pytest.mark.parametrize(
    ("candidate", "check_name", "error_class"),
    [
        ("", "format", "format"),
        ("def area(radius: float) -> float:\n    return (math.pi * radius\n", "syntax", "syntax"),
        ("def area(radius: float) -> float:\n  x = 1\n    return x\n", "syntax", "syntax"),
        ("def area(radius: float) -> float:\n    return mth.pi * radius\n", "names", "name"),
        ("def area(radius: float, scale: int) -> float:\n    return 1.0\n", "contract", "contract"),
        ("def surface(radius: float) -> float:\n    return 1.0\n", "contract", "contract"),
    ],
)
def test_each_kind_of_error_is_caught_and_classified(
    candidate: str, check_name: str, error_class: str
) -> None:
    assert failures(candidate).get(check_name) == error_class


def test_a_name_another_atom_will_define_is_no_error() -> None:
    code = "def area(radius: float) -> float:\n    return SCALE * radius\n"
    assert failures(code) == {"names": "name"}
    assert failures(code, planned=frozenset({"SCALE"})) == {}


def test_syntax_errors_stop_the_later_checks() -> None:
    names = [name for name, _, _ in check("def area(radius: float) -> float:\n    return (\n")]
    assert names == ["format", "syntax"]


def test_a_class_header_must_declare_its_class() -> None:
    assert failures("class Circle:\n    sides = 0\n", kind="class_header") == {
        "contract": "contract"
    }


def _doctest_verdict(
    tmp_path: object, body: str, extra: str = "", *, state_complete: bool = True
) -> dict[str, str | None]:
    from pathlib import Path

    root = Path(str(tmp_path))
    candidate = (
        "def area(radius: float) -> float:\n"
        '    """Area.\n\n    >>> area(2.0)\n    12.0\n    """\n' + body
    )
    text = HEADER + extra + candidate
    (root / "geo.py").write_text(text)
    first = (HEADER + extra).count("\n") + 1
    assembly = Assembly(
        text=text,
        first_line=first,
        last_line=first + candidate.count("\n") - 1,
        module="geo",
        pythonpath=(root,),
        module_state_complete=state_complete,
    )
    spec = AtomSpec(
        atom_id="geo.py::area#0",
        kind="function",
        name="area",
        qualname="area",
        language="python",
        file="geo.py",
        signature="def area(radius: float) -> float",
    )
    verdict = validate_atom(candidate, spec, assembly)
    return {r.check: r.error_class for r in verdict.results if not r.passed}


def test_doctests_run_in_the_sandbox(tmp_path: object) -> None:
    assert _doctest_verdict(tmp_path, "    return 3.0 * radius * radius\n") == {}
    assert _doctest_verdict(tmp_path, "    return 3.0 * radius + radius\n") == {"doctest": "test"}


def test_a_doctest_that_needs_code_not_generated_yet_is_inconclusive(tmp_path: object) -> None:
    stub = "def factor() -> float:\n    raise NotImplementedError('mge: not generated yet')\n\n\n"
    assert _doctest_verdict(tmp_path, "    return factor() * radius * radius\n", stub) == {}


def test_a_wrong_value_from_an_incomplete_module_is_inconclusive(tmp_path: object) -> None:
    wrong = "    return 3.0 * radius + radius\n"
    assert _doctest_verdict(tmp_path, wrong, state_complete=False) == {}
    assert _doctest_verdict(tmp_path, wrong, state_complete=True) == {"doctest": "test"}


SKELETON = '''class Kind(Enum):
    """What moved."""

    IN = "in"
    OUT = "out"

    def label(self) -> str:
        ...
'''


def test_a_class_header_cut_short_loses_the_names_its_skeleton_declares() -> None:
    from mge.validate import declared_class_names

    declared = declared_class_names(SKELETON, "Kind")
    assert declared == frozenset({"IN", "OUT"})
    whole = 'class Kind(Enum):\n    """What moved."""\n\n    IN = "in"\n    OUT = "out"\n'
    cut = 'class Kind(Enum):\n    """What moved."""\n'
    for candidate, expected in ((whole, {}), (cut, {"contract": "contract"})):
        text = "from enum import Enum\n\n\n" + candidate
        verdict = validate_atom(
            candidate,
            AtomSpec(
                atom_id="k.py::Kind#0",
                kind="class_header",
                name="Kind",
                qualname="Kind",
                language="python",
                file="k.py",
                declared_names=declared,
            ),
            Assembly(text=text, first_line=4, last_line=3 + candidate.count("\n")),
        )
        assert {r.check: r.error_class for r in verdict.results if not r.passed} == expected


CheckVerdict = dict[str, tuple[bool, str]]


def _names_verdict(text: str, first: int, last: int, name: str = "total") -> CheckVerdict:
    spec = AtomSpec(
        atom_id=f"m.py::{name}#0",
        kind="method",
        name=name,
        qualname=f"Cart.{name}",
        language="python",
        file="m.py",
        signature=f"def {name}(self) -> int",
    )
    verdict = validate_atom(
        "".join(text.splitlines(keepends=True)[first - 1 : last]),
        spec,
        Assembly(text=text, first_line=first, last_line=last),
    )
    return {r.check: (r.passed, r.output) for r in verdict.results}


# The candidate is `Cart.total` (lines 12-13); everything else is context that the
# name check reduces to bare names before pyflakes walks it.
SURROUNDINGS = """\
import decimal


def setup() -> None:
    global REGISTRY
    REGISTRY = {}


class Cart:
    items: list[int] = []

    def total(self) -> int:
        return sum(self.items) + len(REGISTRY) + helper(decimal.Decimal(1)) + {extra}

    def other(self) -> int:
        return missing_in_other_method


def helper(value: decimal.Decimal) -> int:
    return int(value) + also_missing_elsewhere


class Later:
    def method(self) -> int:
        return missing_in_a_later_class
"""


def test_the_name_check_sees_the_whole_module_but_judges_only_the_candidate() -> None:
    clean = _names_verdict(SURROUNDINGS.replace("{extra}", "0"), 12, 13)
    # A name bound by `global` inside another function, a later definition and an
    # import all count as defined; faults in other definitions are not the candidate's.
    assert clean["names"] == (True, "")
    broken = _names_verdict(SURROUNDINGS.replace("{extra}", "undefined_thing"), 12, 13)
    assert broken["names"][0] is False
    assert "undefined_thing" in broken["names"][1]
    assert "missing_in_other_method" not in broken["names"][1]
    # The contract still reads the candidate's own definition from the same tree.
    assert broken["contract"] == (True, "")
    # A class defined further down binds its name too.
    later = _names_verdict(SURROUNDINGS.replace("{extra}", "len(Later.__name__)"), 12, 13)
    assert later["names"] == (True, "")


def test_an_undefined_name_that_is_a_slip_for_a_known_one_says_which() -> None:
    """The retry prompt points at the fix, as Python's NameError does: a near miss of
    a name the file binds, plans or builds in is named; a name like nothing is not."""
    cases = {
        "mth.pi": "did you mean 'math'?",  # an import of the header
        "LIMT": "did you mean 'LIMIT'?",  # a module constant
        "radiuss": "did you mean 'radius'?",  # a parameter
        "lenn(str(radius))": "did you mean 'len'?",  # a builtin
        "Circl": "did you mean 'Circle'?",  # planned by another atom
    }
    for expression, hint in cases.items():
        candidate = f"def area(radius: float) -> float:\n    return {expression}\n"
        text = HEADER + candidate
        first = HEADER.count("\n") + 1
        assembly = Assembly(text, first, first + 1, planned_names=frozenset({"Circle"}))
        spec = AtomSpec("geo.py::area#0", "function", "area", "area", "python", "geo.py")
        names = next(
            r for r in validate_atom(candidate, spec, assembly).results if r.check == "names"
        )
        assert not names.passed and hint in names.output, (expression, names.output)
        if expression == "LIMT":
            unlike = candidate.replace("LIMT", "quux")
            verdict = validate_atom(
                unlike, spec, dataclasses.replace(assembly, text=HEADER + unlike)
            )
            output = next(r.output for r in verdict.results if r.check == "names")
            assert output == "undefined name 'quux' (line 2)"


def test_a_local_name_used_before_assignment_in_the_candidate_is_caught() -> None:
    text = SURROUNDINGS.replace(
        "return sum(self.items) + len(REGISTRY) + helper(decimal.Decimal(1)) + {extra}",
        "print(count)\n        count = 1\n        return count",
    )
    verdict = _names_verdict(text, 12, 15)
    assert verdict["names"][0] is False
    assert "count" in verdict["names"][1]


def test_a_long_correct_atom_is_measured_not_rejected() -> None:
    long = (
        "def area(radius: float) -> float:\n"
        + "".join(f"    r{i} = radius + {i}\n" for i in range(30))
        + "    return r0\n"
    )
    results = check(long)
    assert all(ok for _, ok, _ in results)
    assert ("size", True, None) in results and ("complexity", True, None) in results
    first = HEADER.count("\n") + 1
    verdict = validate_atom(
        long,
        AtomSpec("geo.py::area#0", "function", "area", "area", "python", "geo.py"),
        Assembly(text=HEADER + long, first_line=first, last_line=first + 31),
    )
    size = next(r for r in verdict.results if r.check == "size")
    assert size.details == {"loc": 32, "over_limit": True}
    assert "over the limit of 15" in size.output


def _module_names(text: str, file: str, module: str, candidate_line: int) -> tuple[bool, str]:
    lines = text.splitlines(keepends=True)
    spec = AtomSpec(
        atom_id=f"{file}::<module>#1",
        kind="statement",
        name="<module>",
        qualname="<module>",
        language="python",
        file=file,
    )
    verdict = validate_atom(
        lines[candidate_line - 1],
        spec,
        Assembly(text=text, first_line=candidate_line, last_line=candidate_line, module=module),
    )
    return next((r.passed, r.output) for r in verdict.results if r.check == "names")


@pytest.mark.parametrize(
    ("importing", "absolute"),
    [
        ("from .extra import merge\n", False),
        ("from pkg.sub.extra import merge\n", True),
        ("import pkg.sub.extra\n", True),
        ("try:\n    from .extra.deep import merge\nexcept ImportError:\n    pass\n", False),
    ],
)
def test_importing_a_submodule_binds_it_in_its_package(importing: str, absolute: bool) -> None:
    text = importing + "del extra\n"
    line = text.count("\n")
    assert _module_names(text, "pkg/sub/__init__.py", "pkg.sub", line) == (True, "")
    # Only in the package itself: a sibling module's import binds nothing there...
    assert _module_names(text, "pkg/sub/mod.py", "pkg.sub.mod", line)[0] is False
    # ...and a submodule of another package is not one of this package's.
    if absolute:
        assert _module_names(text, "pkg/other/__init__.py", "pkg.other", line)[0] is False


def test_a_submodule_is_bound_only_once_it_is_imported() -> None:
    text = "del extra\nfrom .extra import merge\n"
    passed, output = _module_names(text, "pkg/__init__.py", "pkg", 1)
    assert passed is False
    assert "extra" in output


VERSION_GATED = """\
import sys

PY3 = sys.version_info[0] == 3
OLD = PY3 and sys.version_info < (3, 2)
TYPES = {"str": str if PY3 else unicode}
if sys.version_info.major < 3:
    text_type = basestring
READER = OLD and raw_input
"""


@pytest.mark.parametrize("line", [5, 7, 8])
def test_a_name_in_a_branch_this_python_never_takes_is_no_error(line: int) -> None:
    assert _module_names(VERSION_GATED, "compat.py", "compat", line) == (True, "")


@pytest.mark.parametrize(
    ("old", "new"),
    [
        # The branch that runs here: its names are checked.
        ("str if PY3 else unicode", "unicode if PY3 else str"),
        # A gate that is not the Python version is not known statically.
        ("PY3 = sys.version_info[0] == 3", "PY3 = sys.argv[0] == 3"),
    ],
)
def test_a_name_in_a_branch_that_may_run_is_still_checked(old: str, new: str) -> None:
    passed, output = _module_names(VERSION_GATED.replace(old, new), "compat.py", "compat", 5)
    assert passed is False
    assert "unicode" in output


def test_a_skeleton_signature_disagreement_is_not_fatal_on_the_last_attempt() -> None:
    """The skeleton is an answer too: when it misspelt a parameter, every right
    answer disagrees with it. Until the last first-time attempt the disagreement
    sends the answer back; on that attempt it is recorded and the code accepted."""
    code = "def area(radius: float) -> float:\n    return radius\n"
    text = HEADER + code
    first = HEADER.count("\n") + 1
    assembly = Assembly(text=text, first_line=first, last_line=first + 1)
    spec = AtomSpec(
        atom_id="geo.py::area#0",
        kind="function",
        name="area",
        qualname="area",
        language="python",
        file="geo.py",
        signature="def area(raduis: float) -> float",
    )
    binding = {r.check: r for r in validate_atom(code, spec, assembly).results}
    assert not binding["contract"].passed
    last = {
        r.check: r
        for r in validate_atom(
            code, dataclasses.replace(spec, plan_binding=False), assembly
        ).results
    }
    assert last["contract"].passed
    assert "accepted on the last attempt although signature" in last["contract"].output
    # A definition of another name is no disagreement about details: still refused.
    other = "def surface(radius: float) -> float:\n    return radius\n"
    assembly = Assembly(text=HEADER + other, first_line=first, last_line=first + 1)
    spec_last = dataclasses.replace(spec, plan_binding=False)
    results = {r.check: r for r in validate_atom(other, spec_last, assembly).results}
    assert not results["contract"].passed


CUT_AFTER_HEADER = """\
def first_even(numbers):
    for number in numbers:
"""


@pytest.mark.parametrize("continued", [False, True])
def test_an_answer_cut_short_after_a_header_fails_unless_the_plan_continues_it(
    continued: bool,
) -> None:
    """The assembly closes an open header with a stand-in `pass` (a body split over
    atoms is written piece by piece), so the file compiles either way; only when no
    later piece continues the body is the missing body the answer's own."""
    text = "\n" + CUT_AFTER_HEADER + "        pass\n"
    spec = AtomSpec(
        atom_id="nums.py::first_even#0",
        kind="function",
        name="first_even",
        qualname="first_even",
        language="python",
        file="nums.py",
        continued=continued,
    )
    verdict = validate_atom(CUT_AFTER_HEADER, spec, Assembly(text=text, first_line=2, last_line=3))
    syntax = next(r for r in verdict.results if r.check == "syntax")
    assert syntax.passed is continued
    if not continued:
        assert syntax.output == "line 2: the statement has no body"
    whole = CUT_AFTER_HEADER + "        if number % 2 == 0:\n            return number\n"
    verdict = validate_atom(whole, spec, Assembly(text="\n" + whole, first_line=2, last_line=5))
    assert next(r for r in verdict.results if r.check == "syntax").passed


def test_the_walk_over_the_candidate_lines_meets_what_a_full_walk_meets() -> None:
    """Skipping subtrees outside the lines must lose no node that lies on them, and
    keep `ast.walk`'s order (the feedback lists what it finds in that order)."""
    import ast
    import inspect

    import mge.validate.atomic as atomic

    tree = ast.parse(inspect.getsource(atomic))
    last = max(getattr(node, "end_lineno", 0) or 0 for node in ast.walk(tree))
    for first_line, last_line in [(1, 5), (300, 340), (last - 20, last), (50, 50)]:
        seen = list(atomic._nodes_over(tree, first_line, last_line))
        on_lines = [
            node for node in ast.walk(tree) if first_line <= getattr(node, "lineno", 0) <= last_line
        ]
        assert [n for n in seen if first_line <= getattr(n, "lineno", 0) <= last_line] == on_lines
        assert len(seen) < sum(1 for _ in ast.walk(tree))


def test_the_lean_name_checker_finds_what_pyflakes_finds_and_reports_nothing_else() -> None:
    # The names check reads only undefined names; its checker skips the rest of
    # pyflakes' reports (unused imports above all) and must find the same undefined
    # names on real files, each with one deliberately unbound name added.
    import ast
    from pathlib import Path

    import pyflakes.checker
    import pyflakes.messages

    import mge.validate.atomic as atomic

    read = (pyflakes.messages.UndefinedName, pyflakes.messages.UndefinedLocal)
    sources = sorted(Path(atomic.__file__).parent.glob("*.py"))
    assert sources
    for path in sources:
        text = path.read_text(encoding="utf-8") + "\n\ndef _added():\n    return unbound_name\n"
        full = pyflakes.checker.Checker(ast.parse(text), filename=str(path))
        lean = atomic._LeanChecker(ast.parse(text), filename=str(path))
        expected = [
            (type(m).__name__, m.lineno, m.message_args)
            for m in full.messages
            if isinstance(m, read) and m.message_args[0] not in atomic._BUILTINS
        ]
        found = [(type(m).__name__, m.lineno, m.message_args) for m in lean.messages]
        assert all(isinstance(m, read) for m in lean.messages)
        assert [f for f in found if f[2][0] not in atomic._BUILTINS] == expected
        assert ("UndefinedName", text.count("\n"), ("unbound_name",)) in expected
