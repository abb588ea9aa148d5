"""Skeletons: a file's interface with every body elided.

What stays: imports, comments, module and class docstrings, constants and other
top-level assignments, type declarations (TS interfaces, type aliases, enums),
classes with their attributes, and every function and method signature with its
docstring. Function bodies become `...` in Python and
`{ throw new Error("not implemented"); }` in TypeScript/JavaScript, so the
skeleton parses and each body can be generated as its own atom later. Any other
top-level statement (calls, loops, `if __name__ == "__main__":`) is dropped; a class
body left with nothing (only `pass`, calls, loops) becomes `...`, and a file left
with nothing (an empty `__init__.py`) has an empty skeleton, which is valid.

The skeleton is built by byte edits on the original text, never by printing the
tree, so everything kept keeps its exact spelling, comments and layout.
"""

from __future__ import annotations

from tree_sitter import Node

from mge.atomize._decompose import definition_parts
from mge.atomize._languages import check_language, detect_language, parse

__all__ = ["skeleton"]

_THROW = b'{ throw new Error("not implemented"); }'
_PY_KEEP = frozenset({"import_statement", "import_from_statement", "future_import_statement"})
_PY_KEEP_EXPRESSIONS = frozenset(
    {"string", "concatenated_string", "assignment", "augmented_assignment"}
)
_JS_KEEP = frozenset(
    {
        "import_statement",
        "interface_declaration",
        "type_alias_declaration",
        "enum_declaration",
        "ambient_declaration",
        "abstract_class_declaration",
        "internal_module",
        "module",
        "comment",
        "empty_statement",
    }
)
_JS_FUNCTION_VALUES = frozenset(
    {"arrow_function", "function_expression", "function", "generator_function"}
)

Edit = tuple[int, int, bytes]


class _Skeleton:
    def __init__(self, source: bytes, language: str, *, statements: bool = False) -> None:
        self.source = source
        self.language = language
        self.statements = statements
        self.edits: list[Edit] = []

    # -- shared ----------------------------------------------------------------

    def remove(self, node: Node) -> None:
        """Drop a statement together with its line when it stands alone on it."""
        start, end = node.start_byte, node.end_byte
        line_start = self.source.rfind(b"\n", 0, start) + 1
        if not self.source[line_start:start].strip():
            start = line_start
        line_end = self.source.find(b"\n", end)
        if line_end == -1:
            line_end = len(self.source)
        if not self.source[end:line_end].strip():
            end = min(line_end + 1, len(self.source))
        self.edits.append((start, end, b""))

    def result(self) -> bytes:
        out: list[bytes] = []
        position = 0
        for start, end, replacement in sorted(self.edits):
            if start < position:
                continue
            out.append(self.source[position:start])
            out.append(replacement)
            position = end
        out.append(self.source[position:])
        return b"".join(out)

    # -- Python ------------------------------------------------------------------

    def py_body(self, block: Node) -> None:
        """Keep a module or class body's interface, elide function bodies. A class
        body that keeps nothing (only `pass`, calls, loops) becomes one `...`: its
        statements are not removed one by one, or the class would have no body."""
        kept = 0
        dropped: list[Node] = []
        for member in block.named_children:
            kind = member.type
            if kind == "comment":
                continue
            parts = definition_parts(member, "python")
            if parts is not None:
                kept += 1
                what, inner, body = parts
                if what == "class":
                    if body is not None:
                        self.py_body(body)
                elif body is not None:
                    self.py_function(inner, body)
                continue
            if kind in _PY_KEEP or kind == "type_alias_statement":
                kept += 1
                continue
            if (
                kind == "expression_statement"
                and member.named_child_count == 1
                and member.named_children[0].type in _PY_KEEP_EXPRESSIONS
            ):
                kept += 1
                continue
            condition = member.child_by_field_name("condition")
            if (
                kind == "if_statement"
                and condition is not None
                and b"TYPE_CHECKING" in (condition.text or b"")
            ):
                kept += 1
                continue
            if self.statements:
                kept += 1
                continue
            dropped.append(member)
        if kept == 0 and block.type == "block":
            self.edits.append((block.start_byte, block.end_byte, b"..."))
            return
        for member in dropped:
            self.remove(member)

    def py_function(self, function: Node, body: Node) -> None:
        statements = body.named_children
        first = statements[0] if statements else None
        same_line = (
            self.source.count(b"\n", function.start_byte, body.start_byte) == 0
            if first is not None
            else True
        )
        if (
            first is not None
            and not same_line
            and first.type == "expression_statement"
            and first.named_child_count == 1
            and first.named_children[0].type in {"string", "concatenated_string"}
        ):
            line_start = self.source.rfind(b"\n", 0, first.start_byte) + 1
            indent = self.source[line_start : first.start_byte]
            self.edits.append((first.end_byte, body.end_byte, b"\n" + indent + b"..."))
            return
        self.edits.append((body.start_byte, body.end_byte, b"..."))

    # -- TypeScript / JavaScript ---------------------------------------------------

    def js_program(self, root: Node) -> None:
        for member in root.named_children:
            self.js_statement(member, top=True)

    def js_statement(self, node: Node, *, top: bool) -> None:
        kind = node.type
        if kind in _JS_KEEP:
            return
        if kind == "export_statement":
            inner = node.child_by_field_name("declaration") or node.child_by_field_name("value")
            if inner is not None:
                self.js_declaration(inner)
            return
        if kind == "expression_statement":
            child = node.named_children[0] if node.named_child_count else None
            if child is not None and child.type == "string":
                return
        if not self.js_declaration(node) and not (top and self.statements):
            self.remove(node)

    def js_declaration(self, node: Node) -> bool:
        """Elide bodies inside a declaration; False when `node` is not one."""
        kind = node.type
        if kind in {"function_declaration", "generator_function_declaration"}:
            self.js_elide(node)
            return True
        if kind in _JS_FUNCTION_VALUES:
            self.js_elide(node)
            return True
        if kind in {"class_declaration", "class", "abstract_class_declaration"}:
            body = node.child_by_field_name("body")
            if body is not None:
                for member in body.named_children:
                    if member.type == "method_definition":
                        self.js_elide(member)
                    elif member.type == "class_static_block":
                        self.remove(member)
                    elif member.type in {"public_field_definition", "field_definition"}:
                        value = member.child_by_field_name("value")
                        if value is not None and value.type in _JS_FUNCTION_VALUES:
                            self.js_elide(value)
            return True
        if kind in {"lexical_declaration", "variable_declaration"}:
            for declarator in node.named_children:
                value = declarator.child_by_field_name("value")
                if value is not None and value.type in _JS_FUNCTION_VALUES:
                    self.js_elide(value)
                elif value is not None and value.type == "class":
                    self.js_declaration(value)
            return True
        return kind in _JS_KEEP

    def js_elide(self, function: Node) -> None:
        body = function.child_by_field_name("body")
        if body is None:
            return
        self.edits.append((body.start_byte, body.end_byte, _THROW))


def skeleton(
    source: bytes, path: str, language: str | None = None, *, statements: bool = False
) -> str:
    """The interface of a file, bodies elided (see the module docstring).

    Args:
        source: the file's bytes.
        path: its name, used for the language when `language` is not given.
        language: forces a language.
        statements: keep every module- and class-level statement whole instead of
            dropping those that are not interface. An atom plan needs them: they
            are atoms of the file too (registration code, a `__main__` guard), and
            a plan that leaves them out would plan a different file.

    Raises:
        AtomizeError: the language is unknown or cannot be told from `path`.
    """
    name = check_language(language) if language else detect_language(path)
    tree = parse(source, name)
    builder = _Skeleton(source, name, statements=statements)
    if name == "python":
        builder.py_body(tree.root_node)
    else:
        builder.js_program(tree.root_node)
    return builder.result().decode("utf-8", errors="replace")
