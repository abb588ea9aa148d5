"""Split-then-merge: cut a file into atoms that partition it byte for byte.

The decomposer never copies or rebuilds text. It only chooses *cut points*: byte
offsets where one atom ends and the next begins. The first cut is 0, the last is
the file's length and cuts strictly increase, so the atoms cover every byte
exactly once, in order, whatever the tree looks like (ERROR nodes included).

Cuts are only placed at the start of a line whose text before a statement is
blank, so no token, string or comment is ever cut in two. A cut moves up over the
comment-only lines right above a statement, so a leading comment or JSDoc block
travels with the code it describes.

1. *Split.* Every top-level statement, class member and definition gives a unit.
   A unit whose LOC exceeds `max_loc` or whose complexity exceeds
   `max_complexity` is expanded: its header becomes one unit and every statement
   of its bodies (recursing through if/for/while/try/with/match, TS/JS blocks,
   callbacks) another, down to statements that are small enough or cannot be
   split (a long literal stays whole).
2. *Merge.* Consecutive units of the same merge group (the statements of one
   run, the pieces of one long body, the module header, a class header) are
   joined while the result stays within `target_loc` and `max_complexity`.
   Definitions are never merged with their neighbours: each function, method and
   class header stays its own atom so the graph can point at it.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass

from tree_sitter import Node

from mge.atomize._model import AtomizeConfig
from mge.atomize._text import LineIndex

__all__ = ["SPLIT_KINDS", "Piece", "decompose", "definition_parts"]

MODULE = "<module>"

# Nodes whose children are the statements of a body.
_BODIES = frozenset({"block", "statement_block", "class_body", "switch_body"})
# Nodes that continue a compound statement on a line of their own.
_CLAUSES = frozenset(
    {
        "elif_clause",
        "else_clause",
        "except_clause",
        "except_group_clause",
        "finally_clause",
        "case_clause",
        "catch_clause",
        "switch_case",
        "switch_default",
    }
)
# What the decomposer cuts at inside a node: where these start is known up front (see
# `decompose`'s `bodies`), so subtrees holding none are never walked.
SPLIT_KINDS = _BODIES | _CLAUSES
# Nodes never descended into when looking for bodies: they hold none.
_OPAQUE = frozenset(
    {
        "string",
        "template_string",
        "comment",
        "integer",
        "float",
        "number",
        "identifier",
        "concatenated_string",
        "regex",
    }
)
_DOCUMENTED = frozenset({"function_definition", "class_definition"})
_PY_FUNCTIONS = frozenset({"function_definition"})
_PY_CLASSES = frozenset({"class_definition"})
_JS_FUNCTIONS = frozenset({"function_declaration", "generator_function_declaration"})
_JS_CLASSES = frozenset({"class_declaration", "abstract_class_declaration"})
_JS_FUNCTION_VALUES = frozenset(
    {"arrow_function", "function_expression", "function", "generator_function"}
)
_JS_METHODS = frozenset({"method_definition", "abstract_method_signature"})
_JS_DECLARATIONS = frozenset({"lexical_declaration", "variable_declaration"})


@dataclass(slots=True)
class Piece:
    """One atom before context: its span, what it is and where it sits."""

    start: int
    end: int
    kind: str
    name: str
    qualname: str
    scope: str
    definition: Node | None
    loc: int
    decisions: int


@dataclass(slots=True)
class _Unit:
    start: int
    kind: str
    name: str
    qualname: str
    scope: str
    group: int
    definition: Node | None
    anchor: int = -1
    header: bool = False
    line: int = 0


def _text(node: Node | None) -> str:
    if node is None or node.text is None:
        return ""
    return node.text.decode("utf-8", errors="replace")


def definition_parts(node: Node, language: str) -> tuple[str, Node, Node | None] | None:
    """(kind, inner definition, body) when `node` defines a function or class.

    kind is "function" or "class". Wrappers are looked through: Python decorators,
    TS/JS `export`, and `const f = () => {...}` declarations of one function.
    """
    if language == "python":
        if node.type == "decorated_definition":
            inner = node.child_by_field_name("definition")
            if inner is None:
                return None
            node = inner
        if node.type in _PY_FUNCTIONS:
            return ("function", node, node.child_by_field_name("body"))
        if node.type in _PY_CLASSES:
            return ("class", node, node.child_by_field_name("body"))
        return None
    if node.type == "export_statement":
        inner = node.child_by_field_name("declaration") or node.child_by_field_name("value")
        if inner is None:
            return None
        node = inner
    if node.type in _JS_FUNCTIONS or node.type in _JS_METHODS:
        return ("function", node, node.child_by_field_name("body"))
    if node.type in _JS_FUNCTION_VALUES and node.child_by_field_name("body") is not None:
        return ("function", node, node.child_by_field_name("body"))
    if node.type in _JS_CLASSES or node.type == "class":
        return ("class", node, node.child_by_field_name("body"))
    if node.type in _JS_DECLARATIONS:
        declarators = [c for c in node.named_children if c.type == "variable_declarator"]
        if len(declarators) == 1:
            value = declarators[0].child_by_field_name("value")
            if value is not None and value.type in _JS_FUNCTION_VALUES:
                return ("function", declarators[0], value.child_by_field_name("body"))
            if value is not None and value.type == "class":
                return ("class", declarators[0], value.child_by_field_name("body"))
    return None


def _is_docstring(statement: Node) -> bool:
    return (
        statement.type == "expression_statement"
        and statement.named_child_count == 1
        and statement.named_children[0].type in {"string", "concatenated_string"}
    )


def _definition_name(inner: Node) -> str:
    name = inner.child_by_field_name("name")
    return _text(name) if name is not None else "<anonymous>"


def is_header_statement(node: Node, language: str) -> bool:
    """Imports, a docstring, and constants: what belongs to a module header."""
    kind = node.type
    if language == "python":
        if kind in {"import_statement", "import_from_statement", "future_import_statement"}:
            return True
        if kind == "expression_statement" and node.named_child_count == 1:
            child = node.named_children[0]
            if child.type in {"string", "concatenated_string"}:
                return True
            if child.type == "assignment":
                right = child.child_by_field_name("right")
                return right is None or right.type not in {"lambda", "call"}
        return False
    if kind == "import_statement":
        return True
    if kind == "export_statement":
        return (
            node.child_by_field_name("declaration") is None
            and node.child_by_field_name("value") is None
        )
    if kind == "expression_statement" and node.named_child_count == 1:
        return node.named_children[0].type == "string"
    if kind in _JS_DECLARATIONS:
        for declarator in node.named_children:
            value = declarator.child_by_field_name("value")
            if value is not None and value.type not in {
                "string",
                "number",
                "true",
                "false",
                "null",
                "template_string",
                "identifier",
                "member_expression",
                "call_expression",
            }:
                return False
        return True
    return False


def _statement_name(node: Node, language: str) -> str:
    """A short human label for a statement atom: what it binds, else what it is."""
    target = node
    if target.type == "export_statement":
        target = target.child_by_field_name("declaration") or target
    if target.type == "expression_statement" and target.named_child_count:
        target = target.named_children[0]
    if target.type in {"assignment", "augmented_assignment", "assignment_expression"}:
        left = target.child_by_field_name("left")
        if left is not None and left.end_byte - left.start_byte <= 60:
            return _text(left)
    if target.type in _JS_DECLARATIONS:
        first = target.named_children[0] if target.named_child_count else None
        if first is not None and first.child_by_field_name("name") is not None:
            return _text(first.child_by_field_name("name"))
    name = target.child_by_field_name("name")
    if name is not None and name.end_byte - name.start_byte <= 60:
        return _text(name)
    return target.type


class _Decomposer:
    def __init__(
        self,
        source: bytes,
        language: str,
        config: AtomizeConfig,
        index: LineIndex,
        decisions: list[int],
        bodies: list[int],
    ) -> None:
        self.source = source
        self.language = language
        self.config = config
        self.index = index
        self.line_starts = index.line_starts
        self.decisions = decisions
        self.bodies = bodies
        self.units: list[_Unit] = []
        self.last_cut = -1
        self.groups = 0
        self.run_group: int | None = None

    # -- helpers ---------------------------------------------------------------

    def new_group(self) -> int:
        self.groups += 1
        return self.groups

    def decisions_in(self, start: int, end: int) -> int:
        return bisect_left(self.decisions, end) - bisect_left(self.decisions, start)

    def is_big(self, start: int, end: int) -> bool:
        if self.index.loc(start, end) > self.config.max_loc:
            return True
        return 1 + self.decisions_in(start, end) > self.config.max_complexity

    def holds_body(self, start: int, end: int) -> bool:
        """Whether a body or clause node lies within bytes `start..end` (zero-width ones
        at either end included): expanding a node that holds none adds no unit."""
        position = bisect_left(self.bodies, start)
        return position < len(self.bodies) and self.bodies[position] <= end

    def cut_line(self, start: int) -> int | None:
        """The line of the cut before a node starting at `start`: its own line, moved up
        over leading comment lines; None when code precedes it on its line or the cut
        would not come after the last one."""
        index = self.index
        starts = self.line_starts
        line = index.line_of(start)
        line_start = starts[line]
        if line_start < start and self.source[line_start:start].strip(b" \t\x0c"):
            return None
        while line > 0:
            above = line - 1
            if index.is_code_line(above) or starts[above] <= self.last_cut:
                break
            if not self.source[starts[above] : starts[line]].strip():
                break
            line = above
        return line if starts[line] > self.last_cut else None

    def add(
        self,
        start: int,
        kind: str,
        name: str,
        qualname: str,
        scope: str,
        group: int,
        definition: Node | None = None,
    ) -> None:
        """A unit for the node starting at `start`, unless no cut can go before it."""
        line = self.cut_line(start)
        if line is None:
            if self.units:
                return
            line = 0
        cut = self.line_starts[line]
        self.units.append(
            _Unit(cut, kind, name, qualname, scope, group, definition, start, line=line)
        )
        self.last_cut = cut

    # -- the walk ----------------------------------------------------------------

    def run(self, root: Node) -> None:
        in_header = True
        header_group = self.new_group()
        for child in root.children:
            if child.type == "comment":
                continue
            if in_header and is_header_statement(child, self.language):
                self.add(
                    child.start_byte, "module_header", "<header>", MODULE, MODULE, header_group
                )
                continue
            in_header = False
            self.member(child, MODULE, "function")

    def member(self, node: Node, scope: str, function_kind: str) -> None:
        """A statement of a module or class body: a definition or a plain statement."""
        parts = definition_parts(node, self.language)
        if parts is not None:
            kind, inner, body = parts
            if kind == "class":
                self.klass(node, inner, body, scope)
            else:
                self.function(node, inner, scope, function_kind)
            return
        if self.run_group is None:
            self.run_group = self.new_group()
        name = _statement_name(node, self.language)
        qualname = scope
        start = node.start_byte
        self.add(start, "statement", name, qualname, scope, self.run_group)
        if self.is_big(start, node.end_byte):
            self.expand(node, "block", name, qualname, scope, self.run_group)

    def function(self, node: Node, inner: Node, scope: str, kind: str) -> None:
        self.run_group = None
        name = _definition_name(inner)
        qualname = name if scope == MODULE else f"{scope}.{name}"
        group = self.new_group()
        start = node.start_byte
        self.add(start, kind, name, qualname, scope, group, inner)
        if self.is_big(start, node.end_byte):
            self.expand(node, "block", name, qualname, scope, group, inner)
        self.run_group = None

    def klass(self, node: Node, inner: Node, body: Node | None, scope: str) -> None:
        self.run_group = None
        name = _definition_name(inner)
        qualname = name if scope == MODULE else f"{scope}.{name}"
        header_group = self.new_group()
        self.add(node.start_byte, "class_header", name, qualname, scope, header_group, inner)
        if body is None:
            return
        in_header = True
        for member in body.children:
            if member.type == "comment" or not member.is_named:
                continue
            is_definition = definition_parts(member, self.language) is not None
            if in_header and not is_definition:
                start = member.start_byte
                self.add(start, "class_header", name, qualname, scope, header_group, inner)
                if self.is_big(start, member.end_byte):
                    self.expand(member, "class_header", name, qualname, scope, header_group, inner)
                continue
            in_header = False
            self.member(member, qualname, "method")
        self.run_group = None

    def expand(
        self,
        node: Node,
        kind: str,
        name: str,
        qualname: str,
        scope: str,
        group: int,
        definition: Node | None = None,
    ) -> None:
        """Units for the statements inside `node`'s bodies, recursing into big ones.

        The unit that opens `node` (its header line: `def …:`, `if …:`, `else:`)
        is marked, so the merge step starts a piece with it and keeps its first
        body statement with it instead of leaving a header dangling at a piece's end.
        A definition's docstring gets no cut: it stays with the signature.
        """
        self.mark_header(node.start_byte)
        documented = node.type in _DOCUMENTED
        for child in node.children:
            if child.type in _BODIES:
                first = True
                for statement in child.children:
                    if statement.type == "comment" or not statement.is_named:
                        continue
                    if first and documented and _is_docstring(statement):
                        first = False
                        continue
                    first = False
                    start = statement.start_byte
                    self.add(start, kind, name, qualname, scope, group, definition)
                    if self.is_big(start, statement.end_byte):
                        self.expand(statement, kind, name, qualname, scope, group, definition)
            elif child.type in _CLAUSES:
                self.add(child.start_byte, kind, name, qualname, scope, group, definition)
                self.expand(child, kind, name, qualname, scope, group, definition)
            elif child.child_count and child.type not in _OPAQUE:
                start = child.start_byte
                if self.holds_body(start, child.end_byte):
                    self.expand(child, kind, name, qualname, scope, group, definition)
                else:
                    # All that expanding it would do: it starts where the last unit does.
                    self.mark_header(start)

    def mark_header(self, start: int) -> None:
        """Mark the last unit as a header when it opens the node starting at `start`."""
        if self.units and self.units[-1].anchor == start:
            self.units[-1].header = True

    # -- merge ---------------------------------------------------------------------

    def pieces(self) -> list[Piece]:
        size = len(self.source)
        units = self.units
        if not units:
            return []
        units[0].start = 0
        units[0].line = 0
        # Units start at line starts: each one's LOC and decisions are differences of
        # running totals at consecutive units, one lookup per unit instead of four.
        lines = [unit.line for unit in units]
        lines.append(self.index.line_of(size - 1) + 1)
        code_before = self.index.code_lines_before(lines)
        decisions_before = [bisect_left(self.decisions, unit.start) for unit in units]
        decisions_before.append(bisect_left(self.decisions, size))
        target = self.config.target_loc
        max_complexity = self.config.max_complexity
        max_loc = self.config.max_loc
        pieces: list[Piece] = []
        previous_group = -1
        glued = False
        for position, unit in enumerate(units):
            end = units[position + 1].start if position + 1 < len(units) else size
            loc = code_before[position + 1] - code_before[position]
            decisions = decisions_before[position + 1] - decisions_before[position]
            if pieces and unit.group == previous_group and (glued or not unit.header):
                last = pieces[-1]
                # Right after a header line, fill up to the max rather than the target.
                limit = max_loc if glued else target
                if last.loc + loc <= limit and 1 + last.decisions + decisions <= max_complexity:
                    last.end = end
                    last.loc += loc
                    last.decisions += decisions
                    glued = unit.header
                    continue
            previous_group = unit.group
            glued = unit.header
            pieces.append(
                Piece(
                    start=unit.start,
                    end=end,
                    kind=unit.kind,
                    name=unit.name,
                    qualname=unit.qualname,
                    scope=unit.scope,
                    definition=unit.definition,
                    loc=loc,
                    decisions=decisions,
                )
            )
        return pieces


def decompose(
    source: bytes,
    root: Node,
    language: str,
    config: AtomizeConfig,
    index: LineIndex,
    decisions: list[int],
    bodies: list[int],
) -> list[Piece]:
    """The pieces of `source`, in order, partitioning it exactly.

    Args:
        source: the file's bytes, as parsed into `root`.
        root: the syntax tree's root node.
        language: one of the supported language names.
        config: size and complexity bounds.
        index: line metrics of `source`.
        decisions: sorted start offsets of the decision nodes (for complexity).
        bodies: sorted start offsets of the body and clause nodes (to expand only
            nodes that hold some).
    """
    if not source:
        return []
    decomposer = _Decomposer(source, language, config, index, decisions, bodies)
    decomposer.run(root)
    if not decomposer.units:
        return [Piece(0, len(source), "module_header", "<header>", MODULE, MODULE, None, 0, 0)]
    return decomposer.pieces()
