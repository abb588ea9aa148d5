"""The review page's item panel, rendered on the server.

Code is highlighted by Pygments for the atom's language, with the file's own line
numbers; the code around the atom is folded under `<details>`; the diff against the
previous attempt is highlighted as a diff; context and evidence are fields to read,
not JSON to parse by eye. Every piece of text from the database passes through
Pygments or `html.escape`, so nothing stored can become markup, and the page's
Content-Security-Policy would stop a script even if it did.
"""

from __future__ import annotations

import functools
from html import escape
from typing import Any

from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexer import Lexer
from pygments.lexers import DiffLexer, TextLexer, get_lexer_by_name
from pygments.util import ClassNotFound

from mge.review.file_view import FileView
from mge.review.suggestions import unified_diff

__all__ = ["highlight_css", "render_item"]

CSS_CLASS = "hl"
# Lines of the file shown above and below the atom when the surroundings unfold.
AROUND = 20


@functools.cache
def highlight_css() -> str:
    """The colours of the highlighted code, as a stylesheet for the page."""
    formatter: HtmlFormatter[str] = HtmlFormatter(style="default", cssclass=CSS_CLASS)
    return str(formatter.get_style_defs(f".{CSS_CLASS}"))  # type: ignore[no-untyped-call]


def _lexer(language: str) -> Lexer:
    lexer: Lexer
    try:
        lexer = get_lexer_by_name(language)
    except ClassNotFound:
        lexer = TextLexer()
    return lexer


def _code(text: str, lexer: Lexer, *, first: int = 1, marked: range | None = None) -> str:
    """Highlighted lines numbered from `first`; `marked` (file lines) stand out."""
    hl_lines = [line - first + 1 for line in marked] if marked is not None else []
    formatter = HtmlFormatter(
        cssclass=CSS_CLASS, linenos="inline", linenostart=first, hl_lines=hl_lines, wrapcode=True
    )
    return str(highlight(text, lexer, formatter))


def _window(view: FileView) -> tuple[str, int, int]:
    """The file's lines around the atom: (text, first line, last line)."""
    lines = view.text.splitlines(keepends=True)
    first = max(1, (view.first_line or 1) - AROUND)
    last = min(len(lines), (view.last_line or view.first_line or 1) + AROUND)
    return "".join(lines[first - 1 : last]), first, last


def _value(value: Any) -> str:
    """One field's value as text a person reads: lists as lists, numbers rounded."""
    if value is None or value == "" or value == [] or value == {}:
        return '<span class="none">none</span>'
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return escape(f"{value:.3g}")
    if isinstance(value, list):
        items = "".join(f"<li>{_value(item)}</li>" for item in value)
        return f"<ul>{items}</ul>"
    if isinstance(value, dict):
        return _fields(value)
    return f"<code>{escape(str(value))}</code>"


def _fields(data: dict[str, Any], element_id: str | None = None) -> str:
    ident = f' id="{element_id}"' if element_id else ""
    rows = "".join(
        f"<dt>{escape(str(key).replace('_', ' '))}</dt><dd>{_value(value)}</dd>"
        for key, value in data.items()
    )
    return f'<dl class="fields"{ident}>{rows}</dl>'


def _suggestions(view: dict[str, Any], lines: FileView) -> str:
    items = []
    for suggestion in view["suggestions"]:
        severity = escape(str(suggestion["severity"]))
        source = escape(str(suggestion["source"]))
        line = suggestion.get("file_line")
        where = f"line {line}" if line else "this atom"
        classes = f"sev-{severity}" + (" src-model" if suggestion["source"] == "model" else "")
        items.append(
            f'<li class="{classes}">[{severity}] {where}: '
            f"{escape(str(suggestion['message']))} ({source})</li>"
        )
    error = view.get("last_error")
    last = (
        f'<p class="last-error">Last check: {escape(lines.in_file_lines(str(error)))}</p>'
        if error
        else ""
    )
    listed = f'<ul id="suggestions">{"".join(items)}</ul>' if items else ""
    empty = "" if items or error else '<p class="none">No findings.</p>'
    return f"<h3>Problems</h3>{last}{listed}{empty}"


def _previous(view: dict[str, Any], previous: tuple[int, str] | None) -> str:
    head = "<h3>Against the previous attempt</h3>"
    if previous is None:
        return f'{head}<p class="none">No earlier attempt.</p>'
    number, code = previous
    diff = unified_diff(code, view["code"], label=str(view["atom"]))
    if not diff:
        return f'{head}<p class="none">Attempt {number} gave the same code.</p>'
    shown = _code(diff, DiffLexer())
    return f'{head}<p>Attempt {number} &rarr; now</p><div id="item-previous">{shown}</div>'


def _events(view: dict[str, Any]) -> str:
    items = "".join(
        "<li>"
        + escape(
            f"{e['at']} {e['actor']} {e['action']} → {e['to_status']}"
            + (f" — {e['note']}" if e["note"] else "")
        )
        + "</li>"
        for e in view["events"]
    )
    return f'<h3>Audit trail</h3><ul id="events">{items}</ul>'


def render_item(view: dict[str, Any], lines: FileView, previous: tuple[int, str] | None) -> str:
    """The panel of one review item (`mge.review.item_view`), as an HTML fragment."""
    lexer = _lexer(str(view.get("language") or lines.language))
    first, last = lines.first_line, lines.last_line
    where = f", lines {first}&ndash;{last}" if first is not None else ""
    code = view["code"]
    code_html = _code(code, lexer, first=first or 1) if code else '<p class="none">No code yet.</p>'
    parts = [
        f"<h3>Code <small>{escape(lines.path)}{where}</small></h3>",
        f'<div id="item-code">{code_html}</div>',
        _suggestions(view, lines),
    ]
    if lines.text.strip():
        text, start, end = _window(lines)
        marked = range(first, (last or first) + 1) if first is not None else None
        parts.append(
            '<details id="surroundings"><summary>'
            f"{escape(lines.path)} around the atom: lines {start}&ndash;{end} of {lines.line_count}"
            "</summary>"
            f"{_code(text, lexer, first=start, marked=marked)}</details>"
        )
    parts.append(_previous(view, previous))
    more = [
        "<h3>Context</h3>" + _fields(dict(view["context"]), "item-context"),
        "<h3>Evidence</h3>" + _fields(dict(view["evidence"]), "item-evidence"),
        _events(view),
    ]
    # Two parts: the page shows the editor between what to judge and the background.
    return f'<div id="panel-main">{"".join(parts)}</div><div id="panel-more">{"".join(more)}</div>'
