"""One tree-sitter query per language that gathers, in a single pass in C, every
node the decomposer, the complexity counter and the context injector look at.

Walking the tree node by node in Python costs several times the parse itself; a
query visits the tree once and hands back only the few node kinds that matter.
Patterns that a grammar does not know (JavaScript has no type annotations) are
dropped when the query is built, so one list serves both TypeScript and JavaScript.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from operator import attrgetter

from tree_sitter import Node, Query, QueryCursor, QueryError, Tree

from mge.atomize._decompose import SPLIT_KINDS
from mge.atomize._languages import get_language

__all__ = ["Captures", "capture"]

_PYTHON = """
(comment) @comment
[(if_statement) (elif_clause) (for_statement) (while_statement) (except_clause)
 (case_clause) (boolean_operator) (conditional_expression) (if_clause)
 (for_in_clause)] @decision
(ERROR) @error
(MISSING) @error
(identifier) @ident
(attribute attribute: (identifier) @nonref)
(keyword_argument name: (identifier) @nonref)
(import_statement) @import
(import_from_statement) @import
(future_import_statement) @import
(call function: (identifier) @call)
(call function: (attribute) @call)
(type (identifier) @typename)
(type (generic_type (identifier) @typename))
(type (attribute) @typename)
(type (binary_operator (identifier) @typename))
(type (binary_operator (binary_operator (identifier) @typename)))
(import_statement (dotted_name (identifier) @nonref))
(import_statement (aliased_import (dotted_name (identifier) @nonref)))
(import_statement (aliased_import alias: (identifier) @nonref))
(import_from_statement (dotted_name (identifier) @nonref))
(import_from_statement (aliased_import (dotted_name (identifier) @nonref)))
(import_from_statement (aliased_import alias: (identifier) @nonref))
(relative_import (dotted_name (identifier) @nonref))
(future_import_statement (dotted_name (identifier) @nonref))
(global_statement) @global
(nonlocal_statement) @global
(function_definition name: (identifier) @def) @owner
(class_definition name: (identifier) @def) @owner
(function_definition) @definition
(class_definition) @definition
(parameters (identifier) @def)
(lambda_parameters (identifier) @def)
(typed_parameter (identifier) @def)
(default_parameter name: (identifier) @def)
(typed_default_parameter name: (identifier) @def)
(list_splat_pattern (identifier) @def)
(dictionary_splat_pattern (identifier) @def)
(assignment left: (identifier) @def)
(assignment left: (pattern_list (identifier) @def))
(assignment left: (tuple_pattern (identifier) @def))
(assignment left: (list_pattern (identifier) @def))
(augmented_assignment left: (identifier) @def)
(for_statement left: (identifier) @def)
(for_statement left: (pattern_list (identifier) @def))
(for_statement left: (tuple_pattern (identifier) @def))
(for_in_clause left: (identifier) @def)
(for_in_clause left: (pattern_list (identifier) @def))
(for_in_clause left: (tuple_pattern (identifier) @def))
(as_pattern_target (identifier) @def)
(named_expression name: (identifier) @def)
(global_statement (identifier) @def)
(nonlocal_statement (identifier) @def)
(type_alias_statement left: (type (identifier) @def))
"""

_SCRIPT = """
(comment) @comment
[(if_statement) (for_statement) (for_in_statement) (while_statement) (do_statement)
 (catch_clause) (switch_case) (ternary_expression)] @decision
(binary_expression operator: ["&&" "||" "??"] @decision)
(ERROR) @error
(MISSING) @error
(identifier) @ident
(shorthand_property_identifier) @ident
(type_identifier) @ident
(type_identifier) @typename
(lexical_declaration
 (variable_declarator
  value: (call_expression function: (identifier) @_req (#eq? @_req "require")))) @import
(variable_declaration
 (variable_declarator
  value: (call_expression function: (identifier) @_req (#eq? @_req "require")))) @import
(jsx_opening_element name: (identifier) @nonref (#match? @nonref "^[a-z]"))
(jsx_closing_element name: (identifier) @nonref (#match? @nonref "^[a-z]"))
(jsx_self_closing_element name: (identifier) @nonref (#match? @nonref "^[a-z]"))
(shorthand_property_identifier_pattern) @def
(object_pattern (pair_pattern value: (identifier) @def))
(array_pattern (identifier) @def)
(object_assignment_pattern left: (shorthand_property_identifier_pattern) @def)
(import_specifier (identifier) @nonref)
(import_clause (identifier) @nonref)
(namespace_import (identifier) @nonref)
(import_require_clause (identifier) @nonref)
(import_statement) @import
(call_expression function: (identifier) @call)
(call_expression function: (member_expression) @call)
(new_expression constructor: (identifier) @call)
(new_expression constructor: (member_expression) @call)
(function_declaration name: (identifier) @def) @owner
(generator_function_declaration name: (identifier) @def) @owner
(function_expression name: (identifier) @def)
(class_declaration name: (_) @def) @owner
(abstract_class_declaration name: (_) @def) @owner
(function_declaration) @definition
(generator_function_declaration) @definition
(class_declaration) @definition
(abstract_class_declaration) @definition
(method_definition) @definition
(class name: (_) @def)
(variable_declarator name: (identifier) @def)
(variable_declarator name: (object_pattern (shorthand_property_identifier_pattern) @def))
(variable_declarator name: (object_pattern (pair_pattern value: (identifier) @def)))
(variable_declarator name: (array_pattern (identifier) @def))
(formal_parameters (identifier) @def)
(formal_parameters (assignment_pattern left: (identifier) @def))
(formal_parameters (rest_pattern (identifier) @def))
(required_parameter pattern: (identifier) @def)
(optional_parameter pattern: (identifier) @def)
(required_parameter pattern: (rest_pattern (identifier) @def))
(arrow_function parameter: (identifier) @def)
(catch_clause parameter: (identifier) @def)
(for_in_statement left: (identifier) @def)
(assignment_expression left: (identifier) @def)
(interface_declaration name: (type_identifier) @def)
(type_alias_declaration name: (type_identifier) @def)
(enum_declaration name: (identifier) @def)
(type_parameter name: (type_identifier) @def)
(internal_module name: (identifier) @def)
(import_specifier name: (identifier) @def)
(import_specifier alias: (identifier) @def)
(import_clause (identifier) @def)
(namespace_import (identifier) @def)
(assignment_expression left: (member_expression object: (identifier) @global))
(labeled_statement label: (statement_identifier) @nonref)
"""


@dataclass(slots=True)
class Captures:
    """The nodes of interest of one tree, each list in source order."""

    comment: list[Node] = field(default_factory=list)
    decision: list[Node] = field(default_factory=list)
    error: list[Node] = field(default_factory=list)
    ident: list[Node] = field(default_factory=list)
    nonref: list[Node] = field(default_factory=list)
    imports: list[Node] = field(default_factory=list)
    call: list[Node] = field(default_factory=list)
    typename: list[Node] = field(default_factory=list)
    glob: list[Node] = field(default_factory=list)
    defs: list[Node] = field(default_factory=list)
    # Function and class definitions that bind a name captured under `defs`, and
    # every definition of the kinds that nest them (what one atom should hold one of).
    owners: list[Node] = field(default_factory=list)
    definitions: list[Node] = field(default_factory=list)
    # Bodies and clauses, where the decomposer cuts (`SPLIT_KINDS`).
    bodies: list[Node] = field(default_factory=list)


@cache
def _query(language: str) -> Query:
    grammar = get_language(language)
    text = _PYTHON if language == "python" else _SCRIPT
    # One pattern per kind: a kind the grammar lacks drops only its own pattern.
    text += "".join(f"\n({kind}) @body" for kind in sorted(SPLIT_KINDS))
    kept: list[str] = []
    for line in _split_patterns(text):
        try:
            Query(grammar, line)
        except QueryError:
            continue
        kept.append(line)
    return Query(grammar, "\n".join(kept))


def _split_patterns(text: str) -> list[str]:
    """Top-level patterns of a query text (a pattern may span lines inside brackets)."""
    patterns: list[str] = []
    current: list[str] = []
    depth = 0
    for line in text.strip().splitlines():
        current.append(line)
        depth += line.count("(") + line.count("[") - line.count(")") - line.count("]")
        if depth == 0:
            patterns.append("\n".join(current))
            current = []
    return patterns


_SPAN = attrgetter("start_byte", "end_byte")


def _sorted(nodes: list[Node]) -> list[Node]:
    """Nodes in source order (captures of one name may come back out of order); of two
    nodes that start together the inner one first (`f().g`: `f` is called before `g`),
    so the order never depends on how the query cursor happened to return them."""
    return sorted(nodes, key=_SPAN)


def capture(tree: Tree, language: str) -> Captures:
    """Every node of interest in `tree`, grouped by role.

    Only the lists whose order matters downstream are sorted (decisions, imports,
    calls, type names, errors); identifiers and bindings are binned by position and
    their order does not matter, and sorting them would cost as much as the rest.
    """
    found = QueryCursor(_query(language)).captures(tree.root_node)
    get = found.get
    return Captures(
        comment=get("comment", []),
        decision=_sorted(get("decision", [])),
        error=_sorted(get("error", [])),
        ident=get("ident", []),
        nonref=get("nonref", []),
        imports=_sorted(get("import", [])),
        call=_sorted(get("call", [])),
        typename=_sorted(get("typename", [])),
        glob=_sorted(get("global", [])),
        defs=get("def", []),
        owners=get("owner", []),
        definitions=get("definition", []),
        bodies=get("body", []),
    )
