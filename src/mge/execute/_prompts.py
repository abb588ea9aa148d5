"""Prompt templates (files in `prompts/`) filled for skeleton and atom requests.

The shared prefix (plan, task, the file's skeleton) is the same for every atom of a
file, and it comes first, so providers' prompt caches serve it after the first call.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from string import Template

PREREQUISITE_BUDGET_CHARS = 6000

_KIND_HINTS = {
    "module_header": "It is the top of the file: module docstring, imports and constants.",
    "class_header": "It is the class line with its docstring and class-level attributes"
    " (not the methods, which come as their own atoms).",
    "function": "It is the whole function, decorators and docstring included.",
    "method": "It is the whole method, decorators and docstring included, or, for a long"
    " method, its first lines up to where the next piece continues.",
    "block": "It is the next piece of a long body, continuing exactly where the code shown"
    " so far stops, at the same indentation.",
    "statement": "It is top-level code between the definitions.",
}


@cache
def template(name: str) -> Template:
    text = resources.files("mge.execute").joinpath("prompts", f"{name}.md").read_text("utf-8")
    return Template(text)


def render(name: str, **values: object) -> str:
    return template(name).safe_substitute({key: str(value) for key, value in values.items()})


@dataclass(frozen=True)
class Prerequisite:
    atom_id: str
    code: str


def _listing(items: list[str]) -> str:
    return "; ".join(items) if items else "none"


def atom_prompt(
    *,
    atom_id: str,
    file: str,
    kind: str,
    qualname: str,
    language: str,
    signature: str | None,
    preconditions: list[str],
    postconditions: list[str],
    callees: list[str],
    prerequisites: list[Prerequisite],
    intent: str | None = None,
    returns: str | None = None,
    attempt: int,
    previous: str | None,
    errors: str | None,
) -> str:
    shown: list[str] = []
    budget = PREREQUISITE_BUDGET_CHARS
    for item in prerequisites:
        block = f"`{item.atom_id}` (validated):\n```{language}\n{item.code.rstrip()}\n```"
        if len(block) > budget:
            shown.append(f"`{item.atom_id}`: validated, not shown (over the context budget)")
            continue
        budget -= len(block)
        shown.append(block)
    prereq_text = "Code it builds on, already written:\n\n" + "\n\n".join(shown) if shown else ""
    text = render(
        "atom",
        atom_id=atom_id,
        file=file,
        kind=kind.replace("_", " "),
        qualname=qualname,
        what=_KIND_HINTS.get(kind, ""),
        signature=signature or "(none)",
        preconditions=_listing(preconditions),
        postconditions=_listing(postconditions),
        callees=_listing(callees),
        step=(
            f"This atom is one step of the body, as planned in the skeleton: {intent}\n"
            if intent
            else ""
        )
        + (f"The skeleton plans it to return a value: {returns}\n" if returns else ""),
        prerequisites=prereq_text,
    )
    if attempt > 1 and previous is not None:
        text += render(
            "retry", attempt=attempt, language=language, previous=previous, errors=errors or ""
        )
    return text
