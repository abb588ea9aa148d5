"""The review page's item panel, rendered on the server: lines named by the file,
highlighting by language, the previous attempt as a diff, fields instead of JSON,
and nothing from the database turned into markup."""

from __future__ import annotations

from typing import Any

import pytest

from mge.api._review_html import render_item
from mge.review.file_view import FileView

FILE = FileView(
    path="shop/money.py",
    language="python",
    text="RATE = 20\n\n\ndef with_tax(net: int) -> int:\n    return net + net * RATE // 100 +\n",
    first_line=4,
    last_line=5,
)


@pytest.mark.parametrize(("atom_line", "file_line"), [(1, 4), (2, 5), (0, None), (-1, None)])
def test_suggestion_lines_become_file_lines(atom_line: int, file_line: int | None) -> None:
    assert FILE.file_line(atom_line) == file_line


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("syntax: line 2: invalid syntax", "syntax: line 5: invalid syntax"),
        ("line 0: unexpected indent", "line 3: unexpected indent"),  # the line before
        ("line -9: x; line 1: y", "line 1: x; line 4: y"),  # never before the file
        ("no line here", "no line here"),
    ],
)
def test_check_messages_name_file_lines(message: str, expected: str) -> None:
    assert FILE.in_file_lines(message) == expected


def _view(**changes: Any) -> dict[str, Any]:
    view: dict[str, Any] = {
        "atom": "shop/money.py::with_tax#0",
        "language": "python",
        "code": "def with_tax(net: int) -> int:\n    return net + net * RATE // 100 +\n",
        "last_error": "- [syntax] syntax: line 2: invalid syntax",
        "suggestions": [
            {
                "source": "check",
                "severity": "error",
                "line": 0,
                "file_line": None,
                "message": "the code does not parse on its own",
            },
            {
                "source": "model",
                "severity": "warning",
                "line": 2,
                "file_line": 5,
                "message": "a dangling <b>+</b>",
            },
        ],
        "context": {
            "signature": "def with_tax(net: int) -> int",
            "callees": [],
            "preconditions": ["net: int"],
            "completeness": 1.0,
        },
        "evidence": {"attempts": 3, "confidence": {"score": 0.0, "components": {"failed": 6.0}}},
        "events": [
            {
                "at": "2026-12-03T10:00:00+00:00",
                "actor": "<ana>",
                "action": "claim",
                "to_status": "in_review",
                "note": "<script>alert(1)</script>",
            }
        ],
    }
    view.update(changes)
    return view


def test_the_panel_reads_as_a_person_would() -> None:
    html = render_item(_view(), FILE, None)
    assert '<span class="linenos">4</span><span class="k">def</span>' in html
    assert "line 0" not in html and "line 2" not in html  # only file lines are named
    assert "[error] this atom: the code does not parse on its own (check)" in html
    assert (
        '<li class="sev-warning src-model">[warning] line 5: a dangling &lt;b&gt;+&lt;/b&gt;'
        in html
    )
    assert "Last check: - [syntax] syntax: line 5: invalid syntax" in html
    assert '<details id="surroundings">' in html and "lines 1&ndash;5 of 5" in html
    assert '<span class="hll"><span class="linenos">4</span>' in html  # the atom stands out
    assert "<dt>signature</dt><dd><code>def with_tax(net: int) -&gt; int</code></dd>" in html
    assert '<dt>callees</dt><dd><span class="none">none</span></dd>' in html
    assert "<dt>components</dt><dd><dl" in html and "{" not in html.split("panel-more")[1]
    assert "No earlier attempt." in html
    assert "<script>" not in html and "&lt;script&gt;" in html and "&lt;ana&gt;" in html


def test_the_previous_attempt_as_a_diff() -> None:
    earlier = "def with_tax(net: int) -> int:\n    return net * 2\n"
    html = render_item(_view(), FILE, (2, earlier))
    assert "Attempt 2 &rarr; now" in html
    assert '<span class="gd">-    return net * 2</span>' in html
    assert '<span class="gi">+    return net + net * RATE // 100 +</span>' in html
    same = render_item(_view(), FILE, (2, _view()["code"]))
    assert "Attempt 2 gave the same code." in same


@pytest.mark.parametrize(
    ("language", "token"),
    [
        ("typescript", '<span class="kd">const</span>'),
        ("javascript", '<span class="kd">const</span>'),
        ("cobol-ish", "const x = 1;"),
    ],
)
def test_highlighting_follows_the_language(language: str, token: str) -> None:
    view = _view(language=language, code="const x = 1;\n", suggestions=[], last_error=None)
    lines = FileView("a.ts", language, "const x = 1;\n", 1, 1)
    assert token in render_item(view, lines, None)
