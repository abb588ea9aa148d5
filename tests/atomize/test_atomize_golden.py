"""Golden tests on hand-made files: kinds, sizes, complexity, context and criteria.

Each expectation was checked by reading the fixture: the line spans, LOC and
decision counts below are what a person counts in the file.
"""

from __future__ import annotations

import pytest

from mge.atomize import Atom, AtomizeConfig, FileResult, atomize_source, complexity_of

from .conftest import fixture_bytes


def atomize(name: str, config: AtomizeConfig | None = None) -> FileResult:
    source = fixture_bytes(name)
    result = atomize_source(source, name, config=config or AtomizeConfig())
    assert result.joined() == source
    return result


def by_id(result: FileResult) -> dict[str, Atom]:
    return {atom.id: atom for atom in result.atoms}


# -- Python --------------------------------------------------------------------------


def test_python_kinds_and_spans() -> None:
    result = atomize("inventory.py")
    layout = [(a.kind, a.qualname, a.start_line, a.end_line) for a in result.atoms]
    assert layout == [
        ("module_header", "<module>", 1, 10),
        ("statement", "<module>", 11, 15),
        ("class_header", "Item", 16, 24),
        ("method", "Item.is_low", 25, 32),
        ("method", "Item.take", 33, 51),
        ("function", "restock_order", 52, 60),
        ("function", "summarize", 61, 65),
        ("block", "summarize", 66, 67),
        ("block", "summarize", 68, 74),
        ("block", "summarize", 75, 81),
        ("function", "save", 82, 87),
        ("statement", "<module>", 88, 107),
        ("statement", "<module>", 108, 109),
    ]


def test_python_sizes_and_complexity() -> None:
    atoms = by_id(atomize("inventory.py"))
    # docstring (6 lines) + def + return = 8 lines, 2 of them blank.
    assert atoms["inventory.py::Item.is_low#0"].loc == 6
    assert atoms["inventory.py::Item.is_low#0"].complexity == 1.0
    # one `if` in take; `for` + `if` in restock_order.
    assert atoms["inventory.py::Item.take#0"].complexity == 2.0
    assert atoms["inventory.py::restock_order#0"].complexity == 3.0
    # summarize (19 LOC, five decisions) is split into four chained pieces whose
    # decisions add up to the function's: - | for | if, elif | `if low or empty`.
    # Each piece after the first starts at a compound statement's header line.
    pieces = [atoms[f"inventory.py::summarize#{n}"] for n in range(4)]
    assert [p.kind for p in pieces] == ["function", "block", "block", "block"]
    assert [p.complexity for p in pieces] == [1.0, 2.0, 3.0, 3.0]
    assert sum(p.loc for p in pieces) == 19
    assert sum(p.complexity - 1 for p in pieces) == 5
    assert all(p.loc <= 10 and p.complexity <= 3.0 for p in pieces)
    assert all(p.context["signature"] == "def summarize(items: list[Item]) -> str" for p in pieces)


def test_python_long_literal_stays_whole_with_violation() -> None:
    units = by_id(atomize("inventory.py"))["inventory.py::<module>#2"]
    assert units.name == "UNITS"
    assert units.loc == 18
    assert units.violations == ["size"]
    assert units.atomicity_score == 0.9


def test_python_context() -> None:
    atoms = by_id(atomize("inventory.py"))
    take = atoms["inventory.py::Item.take#0"]
    assert take.context["signature"] == "def take(self, count: int) -> int"
    assert take.context["preconditions"] == [
        "assert count > 0",
        "count: int",
        "count: how many units a customer takes.",
    ]
    assert take.context["postconditions"] == [
        "returns int",
        "returns The units left.",
        "raises ValueError: when the shelf holds fewer than `count` units.",
    ]
    assert take.context["callees"] == ["ValueError"]
    assert take.context["types"] == ["int"]

    save = atoms["inventory.py::save#0"]
    assert save.context["imports"] == ["from pathlib import Path", "import json", "import time"]
    assert save.context["callees"] == ["path.write_text", "json.dumps", "time.time"]
    assert save.context["types"] == ["list", "Item", "Path"]
    assert "DEFAULT_PATH" in save.context["references"]
    assert "_last_saved" in save.context["defines"]
    assert save.context_completeness == 1.0

    item = atoms["inventory.py::Item#0"]
    assert item.context["signature"] == "@dataclass class Item"
    assert item.context["imports"] == ["from dataclasses import dataclass, field"]


def test_python_criteria() -> None:
    atoms = by_id(atomize("inventory.py"))
    save = atoms["inventory.py::save#0"]
    assert save.violations == ["hidden_state", "nondeterminism"]
    assert save.atomicity_score == 0.8
    assert atoms["inventory.py::restock_order#0"].violations == []
    assert atoms["inventory.py::restock_order#0"].atomicity_score == 1.0


def test_python_untyped_undocumented_function_fails_clear_io() -> None:
    source = b"def f(a, b):\n    return a + b\n\n\ndef g(a: int) -> int:\n    return a\n"
    atoms = atomize_source(source, "io.py").atoms
    assert atoms[0].violations == ["clear_io"]
    assert atoms[1].violations == []


def test_python_unresolved_names_lower_completeness() -> None:
    source = b"import os\n\n\ndef f(p: str) -> str:\n    return missing(os.sep + p) + other\n"
    atom = atomize_source(source, "c.py").atoms[-1]
    # reads: os (import), str (builtin), missing, other -> 2 of 4 resolve.
    assert atom.context["references"] == ["missing", "os", "other", "str"]
    assert atom.context_completeness == 0.5
    assert "context_completeness" in atom.violations


def test_python_syntax_error_is_kept_and_flagged() -> None:
    source = fixture_bytes("broken_py.txt")
    result = atomize_source(source, "broken.py")
    assert result.has_syntax_error
    assert result.joined() == source
    flagged = [a for a in result.atoms if "syntax_error" in a.violations]
    assert flagged and all(b"broken" in a.code for a in flagged)
    fine = [a for a in result.atoms if a.qualname == "fine"]
    assert fine and fine[0].violations == ["clear_io"]


def test_config_changes_the_cut() -> None:
    wide = atomize("inventory.py", AtomizeConfig(target_loc=40, max_loc=60, max_complexity=10))
    assert "summarize" not in [a.qualname for a in wide.atoms if a.kind == "block"]
    narrow = atomize("inventory.py", AtomizeConfig(target_loc=2, max_loc=3, max_complexity=1))
    assert len(narrow.atoms) > len(wide.atoms)


# -- TypeScript -------------------------------------------------------------------------


def test_typescript_kinds() -> None:
    result = atomize("cart.ts")
    assert [(a.kind, a.qualname) for a in result.atoms] == [
        ("module_header", "<module>"),
        ("statement", "<module>"),
        ("class_header", "Cart"),
        ("method", "Cart.constructor"),
        ("method", "Cart.add"),
        ("method", "Cart.total"),
        ("function", "tenPercent"),
        ("function", "describe"),
        ("block", "describe"),
        ("block", "describe"),
        ("block", "describe"),
    ]


def test_typescript_context_and_criteria() -> None:
    atoms = by_id(atomize("cart.ts"))
    add = atoms["cart.ts::Cart.add#0"]
    assert add.context["signature"] == "add(item: Item, quantity: number = 1): number"
    assert add.context["preconditions"] == [
        "item: Item",
        "quantity: number",
        "item the item to add",
        "quantity how many, at least 1",
    ]
    assert add.context["postconditions"] == [
        "returns number",
        "returns the number of lines in the cart",
        "throws {RangeError} when the cart is full",
    ]
    assert add.context["imports"] == ['import type { Item } from "./item";']
    assert add.complexity == 2.0

    total = atoms["cart.ts::Cart.total#0"]
    # for…of + ternary
    assert total.complexity == 3.0
    assert total.context["callees"] == ["zero", "add", "discount"]
    assert total.context["types"] == ["Discount", "Money"]

    tail = atoms["cart.ts::describe#3"]
    assert tail.violations == ["nondeterminism"]
    assert "Date.now" in tail.context["callees"]
    # a split body's pieces add up to the function: for, if, else-if, ternary.
    assert sum(atoms[f"cart.ts::describe#{n}"].complexity - 1 for n in range(4)) == 4


def test_tsx_components() -> None:
    result = atomize("widget.tsx")
    assert [(a.kind, a.name) for a in result.atoms] == [
        ("module_header", "<header>"),
        ("statement", "Props"),
        ("function", "Counter"),
        ("function", "Panel"),
    ]
    counter = result.atoms[2]
    assert counter.context["imports"] == ['import React, { useState } from "react";']
    assert counter.context["postconditions"] == ["returns JSX.Element"]
    # JSX tags are not references; destructured parameters are bindings.
    assert "button" not in counter.context["references"]
    assert {"label", "initial"} <= set(counter.context["defines"])
    assert counter.context_completeness == 1.0
    panel = result.atoms[3]
    assert panel.complexity == 2.0  # the `&&` in JSX


def test_javascript_jsdoc_switch_and_require() -> None:
    atoms = by_id(atomize("format.js"))
    size = atoms["format.js::formatSize#0"]
    assert size.complexity == 3.0  # while + &&
    assert size.context["preconditions"] == ["{number} bytes the size in bytes"]
    assert size.context["postconditions"] == ["returns {string} the size with a unit"]
    assert size.violations == []
    describe = atoms["format.js::describeFile#0"]
    assert describe.complexity == 3.0  # two `case`, `default` does not count
    assert describe.context["imports"] == ['const path = require("path");']
    assert describe.violations == ["clear_io"]


@pytest.mark.parametrize(
    ("code", "language", "expected"),
    [
        ("x = 1\n", "python", 1.0),
        ("if a and b:\n    pass\n", "python", 3.0),
        ("if a:\n    pass\nelif b:\n    pass\nelse:\n    pass\n", "python", 3.0),
        ("y = [i for i in xs if i]\n", "python", 3.0),
        ("try:\n    f()\nexcept A:\n    g()\nexcept B:\n    h()\n", "python", 3.0),
        ("s = 'if a and b or c'  # if d\n", "python", 1.0),
        ("match x:\n    case 1:\n        pass\n    case _:\n        pass\n", "python", 3.0),
        ("const v = a ?? b;", "typescript", 2.0),
        ("if (a || b) { c(); } else if (d) { e(); }", "javascript", 4.0),
        ("do { x(); } while (y && z);", "javascript", 3.0),
        ("const s = 'if (a && b)'; // while", "javascript", 1.0),
        ("try { f(); } catch (e) { g(); }", "tsx", 2.0),
    ],
)
def test_complexity_counts_decision_nodes(code: str, language: str, expected: float) -> None:
    assert complexity_of(code, language) == expected
