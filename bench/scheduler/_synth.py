"""Synthetic projects whose atom graphs have a chosen shape.

Each project is `modules` files of `per_module` one-line functions, written as a
plan plus reference code so the engine runs it like any other plan with the
replay model. The shape comes from the calls alone:

- `wide`: no function calls another, so every atom can start at once;
- `chain`: in every module each function calls the previous one, so each module
  is a chain `per_module` atoms deep (modules run side by side);
- `layered`: modules are grouped `LAYER_MODULES` to a layer; each function calls
  one to three seeded-random functions of the previous layer's modules (imported
  in the module header, so each layer adds two atoms to the critical path).

Files that import nothing have no header atom, so the atom count is exactly
modules x per_module for `wide` and `chain`, plus one header per importing module
for `layered`.
"""

from __future__ import annotations

import random
from pathlib import Path

import yaml

SHAPES = ("wide", "chain", "layered")
PACKAGE = "synth"
LAYER_MODULES = 5


def _fn(module: int, index: int) -> str:
    return f"f{module:03d}_{index:04d}"


def module_sources(shape: str, modules: int, per_module: int, seed: int = 0) -> dict[str, str]:
    """File path -> source for the synthetic package."""
    if shape not in SHAPES:
        raise ValueError(f"unknown shape {shape!r}; choose from {', '.join(SHAPES)}")
    rng = random.Random(seed)
    files: dict[str, str] = {f"{PACKAGE}/__init__.py": ""}
    for m in range(modules):
        lines: list[str] = []
        calls: list[list[str]] = []
        layer = m // LAYER_MODULES
        if shape == "layered" and layer > 0:
            below = range((layer - 1) * LAYER_MODULES, layer * LAYER_MODULES)
            previous = [(b, i) for b in below for i in range(per_module)]
            calls = [
                [_fn(*p) for p in rng.sample(previous, rng.randint(1, 3))]
                for _ in range(per_module)
            ]
            for b in below:
                used = sorted({n for group in calls for n in group if n.startswith(f"f{b:03d}_")})
                if used:
                    lines.append(f"from {PACKAGE}.m{b:03d} import {', '.join(used)}\n")
        for i in range(per_module):
            if shape == "chain" and i > 0:
                body = f"return {_fn(m, i - 1)}(x) + {i}"
            elif calls:
                body = "return " + " + ".join(f"{name}(x)" for name in calls[i])
            else:
                body = f"return x + {i}"
            lines.append(f"\n\ndef {_fn(m, i)}(x: int) -> int:\n    {body}\n")
        files[f"{PACKAGE}/m{m:03d}.py"] = "".join(lines).lstrip("\n")
    return files


def write_project(root: Path, shape: str, modules: int, per_module: int, seed: int = 0) -> Path:
    """Write reference code and a plan under `root`; returns the plan path."""
    sources = module_sources(shape, modules, per_module, seed)
    reference = root / "reference"
    for file, text in sources.items():
        target = reference / file
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    tasks = []
    for m in range(modules):
        layer = m // LAYER_MODULES
        depends = (
            [f"m{b:03d}" for b in range((layer - 1) * LAYER_MODULES, layer * LAYER_MODULES)]
            if shape == "layered" and layer > 0
            else []
        )
        tasks.append(
            {
                "id": f"m{m:03d}",
                "name": f"synthetic module {m}",
                "files": [f"{PACKAGE}/m{m:03d}.py"],
                "depends_on": depends,
                "complexity": "low",
            }
        )
    plan = {
        "version": 1,
        "name": f"synthetic-{shape}",
        "language": "python",
        "reference": "reference",
        "phases": [{"name": "All", "milestones": [{"name": "All", "tasks": tasks}]}],
    }
    path = root / "plan.yaml"
    path.write_text(yaml.safe_dump(plan, sort_keys=False), encoding="utf-8")
    return path
