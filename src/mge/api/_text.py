"""Text a client may send that Python accepts but storage and JSON output do not.

JSON can carry lone surrogates (`"\\ud800"`) and NUL characters; neither survives
UTF-8 encoding, a file path or a PostgreSQL text column. They are refused at the
edge as bad input (4xx) instead of failing deep inside as a 500.
"""

from __future__ import annotations

from typing import Any

__all__ = ["text_problem"]


def _problem(value: str) -> str | None:
    if "\x00" in value:
        return "holds a NUL character"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "is not valid Unicode (a lone surrogate)"
    return None


def text_problem(data: Any, where: str = "") -> str | None:
    """The first string in `data` (nested dicts and lists too) that cannot be stored,
    as `"<where>: <problem>"`, or None."""
    if isinstance(data, str):
        problem = _problem(data)
        return f"{where or 'text'} {problem}" if problem else None
    if isinstance(data, dict):
        for key, value in data.items():
            found = text_problem(key, where) or text_problem(value, f"{where}.{key}".lstrip("."))
            if found:
                return found
    if isinstance(data, list):
        for index, value in enumerate(data):
            found = text_problem(value, f"{where}[{index}]")
            if found:
                return found
    return None
