"""Skeletons of any construct: every skeleton compiles, and every definition the
atomizer plans keeps the interface it has in the source."""

from __future__ import annotations

import ast
import sysconfig
from pathlib import Path

import pytest

from mge.atomize import atomize_source, skeleton

from .conftest import FIXTURES

GOLDEN = FIXTURES / "skeletons"
# Every 7th file of the standard library (sorted, so the sample is the same on every
# run): about 300 files of every style, from codecs tables to asyncio, in a few seconds.
STDLIB = Path(sysconfig.get_paths()["stdlib"])
SAMPLE_STEP = 7
DEFINITIONS = ("function", "method", "class_header")


def _interfaces(tree: ast.Module) -> dict[str, str]:
    """Qualified name -> rendered interface, for the definitions a skeleton keeps:
    those at module level and in class bodies (a function's body is elided)."""
    found: dict[str, str] = {}

    def walk(body: list[ast.stmt], prefix: str) -> None:
        for node in body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                keyword = "async def" if isinstance(node, ast.AsyncFunctionDef) else "def"
                returns = f" -> {ast.unparse(node.returns)}" if node.returns else ""
                found.setdefault(
                    prefix + node.name, f"{keyword} {node.name}({ast.unparse(node.args)}){returns}"
                )
            elif isinstance(node, ast.ClassDef):
                bases = ", ".join(ast.unparse(b) for b in [*node.bases, *node.keywords])
                found.setdefault(prefix + node.name, f"class {node.name}({bases})")
                walk(node.body, f"{prefix}{node.name}.")

    walk(tree.body, "")
    return found


def _check(source: bytes, path: str) -> str:
    """The skeleton of `source`, after asserting it compiles and keeps every planned
    definition's interface."""
    out = skeleton(source, path)
    compile(out, path, "exec", dont_inherit=True)
    original, kept = _interfaces(ast.parse(source)), _interfaces(ast.parse(out))
    for atom in atomize_source(source, path).atoms:
        if atom.kind in DEFINITIONS and atom.qualname in original:
            assert kept.get(atom.qualname) == original[atom.qualname], (path, atom.qualname)
    return out


@pytest.mark.parametrize(
    "name", sorted(p.name.removesuffix(".py.txt") for p in GOLDEN.glob("*.py.txt"))
)
def test_golden_skeletons(name: str) -> None:
    source = (GOLDEN / f"{name}.py.txt").read_bytes()
    expected = (GOLDEN / f"{name}.skeleton").read_text()
    assert _check(source, f"{name}.py") == expected


def test_a_class_of_only_pass_keeps_a_body() -> None:
    out = _check(b"class A:\n    pass\n\n\nclass B(A): pass\n", "m.py")
    assert out == "class A:\n    ...\n\n\nclass B(A): ...\n"


def test_a_file_with_nothing_to_keep_has_an_empty_skeleton() -> None:
    assert _check(b"", "pkg/__init__.py") == ""
    assert _check(b"main()\n", "run.py") == ""


def test_stdlib_sample_skeletons_compile_and_keep_interfaces() -> None:
    files = sorted(p for p in STDLIB.rglob("*.py") if "site-packages" not in p.parts)
    checked = 0
    for path in files[::SAMPLE_STEP]:
        source = path.read_bytes()
        try:
            compile(source, str(path), "exec", dont_inherit=True)
        except (SyntaxError, ValueError):
            continue  # test data of the compiler and lib2to3: not valid Python 3.11
        _check(source, path.relative_to(STDLIB).as_posix())
        checked += 1
    assert checked > 250
