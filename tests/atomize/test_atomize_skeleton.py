"""Skeletons keep the interface, elide every body, and still parse."""

from __future__ import annotations

import sysconfig
from pathlib import Path

import pytest

from mge.atomize import skeleton
from mge.atomize._languages import parse

from .conftest import TS_CORPUS, fixture_bytes, require_corpus


def parses_cleanly(text: str, language: str) -> bool:
    return not parse(text.encode("utf-8"), language).root_node.has_error


def test_python_skeleton_content() -> None:
    out = skeleton(fixture_bytes("inventory.py"), "inventory.py")
    assert parses_cleanly(out, "python")
    assert out.startswith('"""Stock keeping for a small shop')
    for kept in (
        "from dataclasses import dataclass, field",
        "LOW_STOCK = 5",
        "@dataclass\nclass Item:",
        "    sku: str",
        "    def take(self, count: int) -> int:",
        '            ValueError: when the shelf holds fewer than `count` units.\n        """\n'
        "        ...\n",
        "def save(items: list[Item], path: Path = DEFAULT_PATH) -> None:\n    ...\n",
        "UNITS = {",
    ):
        assert kept in out
    for dropped in ("self.quantity -= count", "global _last_saved", 'if __name__ == "__main__"'):
        assert dropped not in out


def test_python_skeleton_of_class_with_only_methods_and_one_liners() -> None:
    source = (
        b"class A:\n    def f(self): return 1\n    print('side effect')\n\nx = [f(i) for i in y]\n"
    )
    out = skeleton(source, "a.py")
    assert parses_cleanly(out, "python")
    assert "def f(self): ..." in out
    assert "print" not in out


@pytest.mark.parametrize(("name", "language"), [("cart.ts", "typescript"), ("widget.tsx", "tsx")])
def test_typescript_skeletons(name: str, language: str) -> None:
    out = skeleton(fixture_bytes(name), name)
    assert parses_cleanly(out, language)
    assert 'throw new Error("not implemented")' in out
    assert "return " not in out and "return;" not in out


def test_typescript_skeleton_content() -> None:
    out = skeleton(fixture_bytes("cart.ts"), "cart.ts")
    assert "export interface Line {\n  item: Item;\n  quantity: number;\n}" in out
    assert "export type Discount = (total: Money) => Money;" in out
    assert "   * @throws {RangeError} when the cart is full\n   */\n  add(item: Item" in out
    assert "private lines: Line[] = [];" in out
    assert "export const tenPercent: Discount = (total) => { throw" in out


def test_javascript_skeleton() -> None:
    out = skeleton(fixture_bytes("format.js"), "format.js")
    assert parses_cleanly(out, "javascript")
    assert '"use strict";' in out and 'const path = require("path");' in out
    assert "function formatSize(bytes) { throw" in out
    assert "module.exports" not in out


def test_stdlib_skeletons_parse() -> None:
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    files = sorted(p for p in stdlib.glob("*.py"))
    checked = 0
    for path in files:
        source = path.read_bytes()
        if parse(source, "python").root_node.has_error:
            continue
        out = skeleton(source, str(path))
        assert parses_cleanly(out, "python"), path
        assert len(out) <= len(source.decode("utf-8", errors="replace"))
        checked += 1
    assert checked > 150


def test_typescript_corpus_skeletons_parse() -> None:
    root = require_corpus(TS_CORPUS)
    checked = 0
    for path in sorted(root.rglob("*.ts"))[::3]:
        source = path.read_bytes()
        if parse(source, "typescript").root_node.has_error:
            continue
        assert parses_cleanly(skeleton(source, str(path)), "typescript"), path
        checked += 1
    assert checked > 50


COMMONJS = b"""'use strict'
const path = require('node:path')

function Parser (options) {
  this.options = options
}

Parser.prototype.parse = function (text) {
  return text.split(path.sep)
}

if (process.env.DEBUG) {
  Parser.debug = true
}

module.exports = Parser
module.exports.default = Parser
"""


def test_javascript_statements_are_kept_whole_for_an_atom_plan() -> None:
    """A CommonJS file's exports are statements after its functions: an atom plan
    that lost them would generate a module exporting nothing. The interface view
    drops them, as it drops Python's top-level calls."""
    planned = skeleton(COMMONJS, "index.js", statements=True)
    interface = skeleton(COMMONJS, "index.js")
    assert parses_cleanly(planned, "javascript")
    for statement in (
        "Parser.prototype.parse = function (text) {\n  return text.split(path.sep)\n}",
        "if (process.env.DEBUG) {\n  Parser.debug = true\n}",
        "module.exports = Parser\nmodule.exports.default = Parser\n",
    ):
        assert statement in planned
        assert statement not in interface
    assert 'function Parser (options) { throw new Error("not implemented"); }' in planned
    assert "this.options = options" not in planned
