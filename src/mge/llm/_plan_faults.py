"""Faults of a skeleton answer: the mistakes a model makes when it plans a file.

A skeleton is the atom plan (see `mge.atomize._plan`), so the replay model damages
its plan the way a model would get it wrong, and the engine meets the damage
through the same parser and checks a real model's answer goes through:

- `missing_callee`    a name the body uses left out of its `calls` (fewer edges:
                      the body may be written before what it calls)
- `extra_callee`      a misspelt name added to a `calls` list (the parser finds it
                      bound nowhere and asks again)
- `changed_signature` a parameter renamed in a signature (the body written later
                      no longer honours the planned interface: L1's contract check)
- `missing_function`  a whole definition left out (its callers' declared names are
                      bound nowhere, or the tests find it missing)
- `malformed_plan`    a plan line that breaks the grammar (asked again)
"""

from __future__ import annotations

import ast
import random
import re

__all__ = ["PLAN_FAULT_KINDS", "apply_plan_fault"]

PLAN_FAULT_KINDS: tuple[str, ...] = (
    "missing_callee",
    "extra_callee",
    "changed_signature",
    "missing_function",
    "malformed_plan",
)

_CALLS = re.compile(
    r"(?m)^(?P<head>[ \t]*# (?:calls: |step: .*? \| calls: ))(?P<names>[^|\n]+?)"
    r"(?= \| binds: |$)"
)
_STEP = re.compile(r"(?m)^[ \t]*# step: ")


def apply_plan_fault(skeleton: str, kind: str, rng: random.Random) -> str | None:
    """`skeleton` with one planning fault of `kind`, or None when it has nothing the
    kind could damage (no declared names, no definition, no steps)."""
    if kind in ("missing_callee", "extra_callee"):
        declared = list(_CALLS.finditer(skeleton))
        if not declared:
            return None
        found = rng.choice(declared)
        names = [n.strip() for n in found.group("names").split(",")]
        if kind == "missing_callee":
            names.pop(rng.randrange(len(names)))
        else:
            word = rng.choice(names).split(".")[0]
            names.append(_misspelt(word, rng))
        if not names and found.group("head").lstrip().startswith("# step: "):
            # The step keeps its intent (and what it binds), with no calls.
            cut = found.start("names") - len(" | calls: ")
            return skeleton[:cut] + skeleton[found.end() :]
        if not names:
            start = skeleton.rfind("\n", 0, found.start()) + 1
            end = skeleton.find("\n", found.end())
            return skeleton[:start] + skeleton[end + 1 if end != -1 else len(skeleton) :]
        return skeleton[: found.start("names")] + ", ".join(names) + skeleton[found.end() :]
    if kind == "malformed_plan":
        steps = list(_STEP.finditer(skeleton))
        if not steps:
            return None
        step = rng.choice(steps)
        broken = step.group().replace("# step: ", rng.choice(("# Step: ", "# step - ")))
        return skeleton[: step.start()] + broken + skeleton[step.end() :]
    try:
        tree = ast.parse(skeleton)
    except SyntaxError:
        return None
    functions = [
        node for node in ast.walk(tree) if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
    ]
    lines = skeleton.splitlines(keepends=True)
    if kind == "missing_function":
        if not functions:
            return None
        node = rng.choice(functions)
        first = min([node.lineno, *(d.lineno for d in node.decorator_list)]) - 1
        assert node.end_lineno is not None
        return "".join(lines[:first] + lines[node.end_lineno :])
    if kind == "changed_signature":
        arguments = [
            (node, arg)
            for node in functions
            for arg in node.args.args + node.args.kwonlyargs
            if arg.arg not in ("self", "cls") and arg.lineno == node.lineno
        ]
        if not arguments:
            return None
        _, arg = rng.choice(arguments)
        line = lines[arg.lineno - 1]
        start = len(line.encode()[: arg.col_offset].decode(errors="replace"))
        renamed = line[:start] + _misspelt(arg.arg, rng) + line[start + len(arg.arg) :]
        return "".join([*lines[: arg.lineno - 1], renamed, *lines[arg.lineno :]])
    raise ValueError(f"unknown planning fault {kind!r}")


def _misspelt(word: str, rng: random.Random) -> str:
    """A plausible misspelling: a letter doubled or dropped."""
    if len(word) > 3 and rng.random() < 0.5:
        at = rng.randrange(1, len(word) - 1)
        return word[:at] + word[at + 1 :]
    at = rng.randrange(len(word))
    return word[: at + 1] + word[at] + word[at + 1 :]
