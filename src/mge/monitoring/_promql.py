"""Which metric names a PromQL expression reads — enough PromQL to check our own queries.

Not a parser: it removes what cannot be a metric name (strings, label matchers,
range and subquery brackets, grouping label lists, function names, keywords,
numbers and durations) and returns the identifiers left. promtool checks that
the expression parses; this checks that it reads series we export.
"""

from __future__ import annotations

import re

__all__ = ["metric_names"]

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
_MATCHERS = re.compile(r"\{[^{}]*\}")
_BRACKETS = re.compile(r"\[[^\[\]]*\]")
_GROUPING = re.compile(
    r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)", re.IGNORECASE
)
_GROUP_BARE = re.compile(r"\b(?:group_left|group_right)\b", re.IGNORECASE)
_VARIABLE = re.compile(r"\$\{?\w+\}?")
_NUMBER = re.compile(r"(?<![\w:])(?:0x[0-9a-fA-F]+|\d+(?:\.\d*)?(?:e[+-]?\d+)?|\.\d+)\w*")
_IDENT = re.compile(r"[A-Za-z_:][A-Za-z0-9_:]*")
_KEYWORDS = frozenset({"and", "or", "unless", "bool", "offset", "inf", "nan", "atan2"})


def metric_names(expr: str) -> set[str]:
    """The metric names `expr` selects (Grafana `$variables` are allowed and ignored)."""
    text = _STRING.sub(" ", expr)
    text = _VARIABLE.sub(" ", text)
    text = _MATCHERS.sub(" ", text)
    text = _BRACKETS.sub(" ", text)
    text = _GROUPING.sub(" ", text)
    text = _GROUP_BARE.sub(" ", text)
    text = _NUMBER.sub(" ", text)
    names: set[str] = set()
    for match in _IDENT.finditer(text):
        name = match.group()
        rest = text[match.end() :].lstrip()
        if rest.startswith("("):
            continue  # a function or an aggregation operator
        if name.lower() in _KEYWORDS:
            continue
        names.add(name)
    return names
