"""Which tree-sitter grammar reads which file, with parsers built once per language.

Parsers are cached per thread-free process use: building a `Language` and `Parser`
costs more than parsing a small file, and the decomposer parses thousands.
"""

from __future__ import annotations

from functools import cache
from pathlib import PurePath

import tree_sitter_javascript
import tree_sitter_python
import tree_sitter_typescript
from tree_sitter import Language, Parser, Tree

from mge.errors import AtomizeError

__all__ = [
    "EXTENSIONS",
    "LANGUAGES",
    "check_language",
    "detect_language",
    "get_language",
    "parse",
    "supported_language",
]

LANGUAGES: tuple[str, ...] = ("python", "typescript", "tsx", "javascript")

EXTENSIONS: dict[str, str] = {
    ".py": "python",
    ".pyi": "python",
    ".ts": "typescript",
    ".mts": "typescript",
    ".cts": "typescript",
    ".tsx": "tsx",
    ".js": "javascript",
    ".mjs": "javascript",
    ".cjs": "javascript",
    ".jsx": "javascript",
}


def supported_language(path: str | PurePath) -> str | None:
    """The language of `path` from its extension, or None when it is not one MGE reads."""
    return EXTENSIONS.get(PurePath(path).suffix.lower())


def detect_language(path: str | PurePath) -> str:
    """The language of `path` from its extension.

    Raises:
        AtomizeError: the extension is not Python, TypeScript, TSX or JavaScript.
    """
    language = supported_language(path)
    if language is None:
        known = ", ".join(sorted(EXTENSIONS))
        raise AtomizeError(f"{path}: unsupported file type (known extensions: {known})")
    return language


def check_language(language: str) -> str:
    """`language` normalised, or an error naming the accepted values."""
    name = language.strip().lower()
    aliases = {"py": "python", "ts": "typescript", "js": "javascript", "jsx": "javascript"}
    name = aliases.get(name, name)
    if name not in LANGUAGES:
        raise AtomizeError(f"unknown language {language!r} (use one of: {', '.join(LANGUAGES)})")
    return name


@cache
def get_language(language: str) -> Language:
    if language == "python":
        return Language(tree_sitter_python.language())
    if language == "typescript":
        return Language(tree_sitter_typescript.language_typescript())
    if language == "tsx":
        return Language(tree_sitter_typescript.language_tsx())
    if language == "javascript":
        return Language(tree_sitter_javascript.language())
    raise AtomizeError(f"unknown language {language!r}")


@cache
def _parser(language: str) -> Parser:
    return Parser(get_language(language))


def parse(source: bytes, language: str) -> Tree:
    """The syntax tree of `source`; tree-sitter recovers from errors, so this never fails."""
    return _parser(language).parse(source)


def syntax_errors(tree: Tree) -> list[tuple[int, str]]:
    """Where a tree is broken, as (1-based line, what): tree-sitter keeps parsing past
    an error, so the tree says where each broken spot is, not only that one exists."""
    found: list[tuple[int, str]] = []
    stack = [tree.root_node]
    while stack:
        node = stack.pop()
        if node.is_error or node.is_missing:
            what = f"missing {node.type}" if node.is_missing else "unexpected code"
            found.append((node.start_point[0] + 1, what))
        if node.has_error:
            stack.extend(node.children)
    return found
