"""Static findings on a real run's atoms: the slips that pass every test run so far."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from tests.review.conftest import DISCOUNT, TOTAL, ShopRun

from mge.db import make_engine, session_scope
from mge.db.models import AtomicUnit
from mge.review.suggestions import project_findings, unified_diff

HEADER = "shop/money.py::<module>#0"


def _findings_with(session: Session, shop: ShopRun, key: str, code: str) -> dict[str, list[str]]:
    atom = session.scalars(select(AtomicUnit).where(AtomicUnit.atom_key == key)).one()
    atom.code = code
    session.flush()
    return {
        k: [f"{s.severity}: {s.message}" for s in v]
        for k, v in project_findings(session, masterplan_id=atom.masterplan_id).items()
    }


DISCOUNT_HEAD = 'def discount(net: int, percent: int) -> int:\n    """A net price."""\n'


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        # a name used nowhere else, one edit from a project name
        ("    return net - net * percnt // 100\n", "'percnt' appears nowhere else"),
        # an identifier-like string one edit from a project name
        ("    print('with_tx')\n    return net\n", "'with_tx' appears nowhere else"),
        # the value is computed and dropped
        ("    net - net * percent // 100\n", "a computed value is discarded"),
        # a path that ends without a value
        ("    if percent:\n        return net\n", "can end without returning one"),
        ("    return net == None and net\n", "comparison to None"),
        ("    return undefined_thing\n", "undefined name 'undefined_thing'"),
    ],
)
def test_likely_bugs_are_found_in_the_atom(shop: ShopRun, body: str, expected: str) -> None:
    engine = make_engine(shop.url)
    with session_scope(engine) as session:
        found = _findings_with(session, shop, DISCOUNT, DISCOUNT_HEAD + body)
        session.rollback()
    engine.dispose()
    assert any(expected in message for message in found.get(DISCOUNT, [])), found


def test_correct_code_and_library_names_are_not_flagged(shop: ShopRun) -> None:
    engine = make_engine(shop.url)
    with session_scope(engine) as session:
        found = _findings_with(
            session,
            shop,
            DISCOUNT,
            DISCOUNT_HEAD + "    if percent:\n        return net - net * percent // 100\n"
            "    return max(net, 0)\n",
        )
        session.rollback()
    engine.dispose()
    assert [m for m in found.get(DISCOUNT, []) if not m.startswith("info")] == []


def test_an_undefined_name_also_implicates_the_module_header(shop: ShopRun) -> None:
    engine = make_engine(shop.url)
    with session_scope(engine) as session:
        atom = session.scalars(select(AtomicUnit).where(AtomicUnit.atom_key == HEADER)).one()
        atom.code = '"""Prices in cents, with tax."""\n\nimport math\n'
        found = _findings_with(session, shop, DISCOUNT, DISCOUNT_HEAD + "    return RATE + net\n")
        session.rollback()
    engine.dispose()
    assert any("undefined name 'RATE'" in m for m in found[DISCOUNT])
    assert any("may be missing here" in m for m in found[HEADER])


def test_unified_diff_marks_the_changed_lines() -> None:
    diff = unified_diff("a = 1\nb = 2\n", "a = 1\nb = 3\n", label="x")
    assert "-b = 2" in diff and "+b = 3" in diff and "--- x (before)" in diff


def _findings_beside(shop: ShopRun, key: str, code: str, body: str) -> dict[str, list[str]]:
    """The findings for `body` as the discount atom while another atom holds `code`."""
    engine = make_engine(shop.url)
    with session_scope(engine) as session:
        atom = session.scalars(select(AtomicUnit).where(AtomicUnit.atom_key == key)).one()
        atom.code = code
        found = _findings_with(session, shop, DISCOUNT, body)
        session.rollback()
    engine.dispose()
    return found


TOTAL_CODE = (
    "def total(prices: list[int]) -> int:\n"
    '    """The gross total of net prices."""\n'
    "    return sum(price * 2 for price in prices)\n"
)


@pytest.mark.parametrize(
    ("body", "dropped"),
    [
        # total() only computes a value: dropping it is a lost `return`
        ("    total([net])\n    return net\n", True),
        # a call that is the whole body of a `try` probes for an exception
        (
            "    try:\n        total([net])\n    except TypeError:\n        return 0\n"
            "    return net\n",
            False,
        ),
        # print has an effect of its own
        ("    print(net)\n    return net\n", False),
    ],
)
def test_a_dropped_value_of_a_function_that_only_computes_it(
    shop: ShopRun, body: str, dropped: bool
) -> None:
    found = _findings_beside(shop, TOTAL, TOTAL_CODE, DISCOUNT_HEAD + body)
    assert (
        any("the value of total() is dropped" in m for m in found.get(DISCOUNT, [])) is dropped
    ), found


def _errors(found: dict[str, list[str]], key: str) -> list[str]:
    return [m for m in found.get(key, []) if m.startswith("error")]


@pytest.mark.parametrize(
    "body",
    [
        # the loop gives it its value
        "    best: int\n    for best in range(net):\n        pass\n    return best\n",
        # a protocol's declaration: its implementations return the value
        "    ...\n",
        # a style point, not a defect
        '    return int(f"1") + net\n',
    ],
)
def test_correct_idioms_are_not_errors(shop: ShopRun, body: str) -> None:
    engine = make_engine(shop.url)
    with session_scope(engine) as session:
        found = _findings_with(session, shop, DISCOUNT, DISCOUNT_HEAD + body)
        session.rollback()
    engine.dispose()
    assert _errors(found, DISCOUNT) == []


def test_a_class_header_whose_body_is_in_other_atoms_parses(shop: ShopRun) -> None:
    engine = make_engine(shop.url)
    with session_scope(engine) as session:
        atom = session.scalars(select(AtomicUnit).where(AtomicUnit.atom_key == DISCOUNT)).one()
        atom.kind = "class_header"
        found = _findings_with(session, shop, DISCOUNT, "class Price(int):\n")
        broken = _findings_with(session, shop, DISCOUNT, "class Price(int:\n")
        session.rollback()
    engine.dispose()
    assert _errors(found, DISCOUNT) == []
    assert any("does not parse" in m for m in _errors(broken, DISCOUNT))


@pytest.mark.parametrize(
    ("header", "flagged"), [("import math\n", True), ("import numpy\n", False)]
)
def test_attributes_are_not_judged_in_a_file_importing_a_library_outside_the_stdlib(
    shop: ShopRun, header: str, flagged: bool
) -> None:
    header_code = '"""Prices in cents, with tax."""\n\n' + header
    found = _findings_beside(
        shop, HEADER, header_code, DISCOUNT_HEAD + "    return net.frobnicate\n"
    )
    assert any("'frobnicate' is defined nowhere" in m for m in _errors(found, DISCOUNT)) is flagged
