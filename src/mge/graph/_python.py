"""Scan one Python file into scopes, bindings and uses for the linker.

One tree-sitter query gathers, in a single pass in C, the nodes that matter: scope
nodes (functions, lambdas, classes, comprehensions), bindings, identifiers and
dotted chains, calls and type positions. Import statements are read with the
standard `ast` module, which gives their structure (`from ..x import y as z`)
exactly. Nothing is resolved here: names are only bound to scopes and uses are
only classified (call, type, read); `_resolve` links them.
"""

from __future__ import annotations

import ast
import re
from functools import cache

from tree_sitter import Node, Query, QueryCursor, Tree

from mge.atomize import Atom
from mge.atomize._languages import get_language, parse
from mge.graph._facts import (
    CALL,
    CLASS,
    FUNCTION,
    IMPORT,
    READ,
    TYPE,
    VARIABLE,
    Binding,
    ClassFacts,
    ImportRef,
    ModuleFacts,
    Scope,
    Use,
    atom_locator,
    innermost,
    inside,
    locate,
    merge_spans,
    nest_scopes,
    text_order,
)

__all__ = ["scan_python"]

_QUERY = """
(function_definition) @function
(class_definition) @class
(lambda) @lambda
[(list_comprehension) (set_comprehension) (dictionary_comprehension)
 (generator_expression)] @comprehension
(identifier) @ident
(attribute) @chain
(call function: (_) @callee)
(type) @type
(type (string) @strtype)
(class_definition superclasses: (argument_list) @type)
(call function: (identifier) @_check arguments: (argument_list . (_) . (_) @type)
 (#any-of? @_check "isinstance" "issubclass"))
(attribute attribute: (identifier) @nonref)
(keyword_argument name: (identifier) @nonref)
(import_statement) @import
(import_from_statement) @import
(future_import_statement) @future
(global_statement (identifier) @global)
(nonlocal_statement (identifier) @nonlocal)
(parameters (identifier) @def)
(lambda_parameters (identifier) @def)
(typed_parameter (identifier) @def)
(default_parameter name: (identifier) @def)
(typed_default_parameter name: (identifier) @def)
(list_splat_pattern (identifier) @def)
(dictionary_splat_pattern (identifier) @def)
(assignment left: (identifier) @def)
(pattern_list (identifier) @def)
(tuple_pattern (identifier) @def)
(list_pattern (identifier) @def)
(augmented_assignment left: (identifier) @def)
(for_statement left: (identifier) @def)
(for_in_clause left: (identifier) @def)
(as_pattern_target (identifier) @def)
(named_expression name: (identifier) @def)
(type_alias_statement left: (type (identifier) @def))
"""

# Captures whose order decides a result: bindings (the last one wins) and imports
# (the order names are noted in an atom's context).
_ORDERED = ("function", "class", "import", "future", "global", "def", "strtype")

_DOTTED = re.compile(rb"^[A-Za-z_][\w]*(?:\.[A-Za-z_][\w]*)*$")
_STRING_NAME = re.compile(r"^\s*([A-Za-z_][\w]*(?:\.[A-Za-z_][\w]*)*)\s*$")


@cache
def _query() -> Query:
    return Query(get_language("python"), _QUERY)


def _first_parameter(function: Node) -> str | None:
    """The first parameter's name: what `self` or `cls` is called in a method."""
    parent = function.parent
    if parent is not None and parent.type == "decorated_definition":
        for decorator in parent.named_children:
            text = decorator.text or b""
            if decorator.type == "decorator" and text.strip().endswith(b"staticmethod"):
                return None
    params = function.child_by_field_name("parameters")
    if params is None:
        return None
    for param in params.named_children:
        if param.type == "identifier":
            return _text(param)
        if param.type in {"typed_parameter", "default_parameter", "typed_default_parameter"}:
            name = param.child_by_field_name("name")
            if name is None and param.named_children:
                name = param.named_children[0]
            return _text(name) if name is not None and name.type == "identifier" else None
        return None
    return None


def _text(node: Node | None) -> str:
    if node is None or node.text is None:
        return ""
    return node.text.decode("utf-8", errors="replace")


def _import_refs(node: Node, package: str) -> list[tuple[str, ImportRef]] | None:
    """(bound name, what it refers to) for one import statement; None for `*`.

    `package` is the package a relative import starts from. Statements that do not
    parse alone (a broken file) bind nothing.
    """
    try:
        tree = ast.parse(node.text or b"")
    except (SyntaxError, ValueError):
        return []
    if not tree.body:
        return []
    statement = tree.body[0]
    bound: list[tuple[str, ImportRef]] = []
    if isinstance(statement, ast.Import):
        for alias in statement.names:
            if alias.asname:
                bound.append((alias.asname, ImportRef(alias.name, None, alias.name)))
            else:
                # `import a.b.c` binds `a` and loads `a.b.c`: the spec keeps the latter.
                head = alias.name.split(".")[0]
                bound.append((head, ImportRef(head, None, alias.name)))
        return bound
    if isinstance(statement, ast.ImportFrom):
        written = "." * statement.level + (statement.module or "")
        module = _absolute(statement.module or "", statement.level, package)
        if any(alias.name == "*" for alias in statement.names):
            return None if module is not None else []
        for alias in statement.names:
            spec = f"{written}.{alias.name}" if not written.endswith(".") else written + alias.name
            ref = ImportRef(module if module is not None else written, alias.name, spec)
            bound.append((alias.asname or alias.name, ref))
    return bound


def _absolute(module: str, level: int, package: str) -> str | None:
    """The absolute module of a (possibly relative) `from` import, or None when a
    relative import climbs above the top package."""
    if level == 0:
        return module
    parts = package.split(".") if package else []
    climb = level - 1
    if climb > len(parts):
        return None
    base = parts[: len(parts) - climb] if climb else parts
    return ".".join([*base, module] if module else base) or None


def scan_python(
    atoms: list[Atom], source: bytes, key: str, package: str, tree: Tree | None = None
) -> ModuleFacts:
    """The scopes, bindings and uses of one Python file.

    Args:
        atoms: the file's atoms (they partition `source`).
        source: the file's bytes.
        key: the file's absolute module name.
        package: the package its relative imports start from.
        tree: the syntax tree of `source` when atomization kept it; parsed here
            otherwise.
    """
    root = Scope("module", 0, len(source) + 1)
    facts = ModuleFacts(key=key, file=atoms[0].file, language="python", atoms=atoms, scope=root)
    starts, ids = atom_locator(atoms)
    if tree is None:
        tree = parse(source, "python")
    found = QueryCursor(_query()).captures(tree.root_node)
    text_order(found, _ORDERED)
    get = found.get

    # Scopes: a function's scope starts at its parameters (its name and decorators
    # belong to the enclosing scope); a class's at its body.
    scopes: list[Scope] = []
    scope_nodes: list[tuple[Scope, Node]] = []
    skip: set[int] = set()
    for node in get("function", []):
        params = node.child_by_field_name("parameters")
        name_node = node.child_by_field_name("name")
        if name_node is not None:
            skip.add(name_node.start_byte)
        begin = params.start_byte if params is not None else node.start_byte
        scope = Scope("function", begin, node.end_byte)
        scopes.append(scope)
        scope_nodes.append((scope, node))
    for node in get("class", []):
        body = node.child_by_field_name("body")
        name_node = node.child_by_field_name("name")
        if name_node is not None:
            skip.add(name_node.start_byte)
        begin = body.start_byte if body is not None else node.end_byte
        scope = Scope("class", begin, node.end_byte)
        scopes.append(scope)
        scope_nodes.append((scope, node))
    for node in get("lambda", []):
        scopes.append(Scope("function", node.start_byte, node.end_byte))
    for node in get("comprehension", []):
        scopes.append(Scope("comprehension", node.start_byte, node.end_byte))
    ordered = nest_scopes(root, scopes)

    # Definitions of functions and classes bind their name in the enclosing scope.
    definition_positions = [node.start_byte for _, node in scope_nodes]
    enclosing = innermost(root, ordered, definition_positions)
    # Classes first (in text order, so an outer class is known before its nested
    # ones), then functions, which need their class to know whether they are methods.
    pairs = sorted(
        zip(scope_nodes, enclosing, strict=True),
        key=lambda pair: (pair[0][0].kind != "class", pair[0][1].start_byte),
    )
    for (scope, node), outer in pairs:
        name = _text(node.child_by_field_name("name"))
        atom = locate(starts, ids, node.start_byte)
        if scope.kind == "class":
            qualname = name if outer.cls is None else f"{outer.cls.qualname}.{name}"
            cls = ClassFacts(module=facts, qualname=qualname, atom=atom, members=scope.names)
            scope.cls = cls
            facts.classes.append(cls)
            if name:
                outer.bind(Binding(name, atom, CLASS, node.start_byte, cls=cls))
            bases = node.child_by_field_name("superclasses")
            if bases is not None:
                for base in bases.named_children:
                    text = base.text or b""
                    if base.type in {"identifier", "attribute"} and _DOTTED.match(text):
                        path = tuple(text.decode().split("."))
                        cls.bases.append(Use(atom, path, TYPE, base.start_byte, outer))
        else:
            if outer.kind == "class" and outer.cls is not None:
                scope.owner = outer.cls
                scope.self_name = _first_parameter(node)
            if name:
                outer.bind(Binding(name, atom, FUNCTION, node.start_byte))

    # Imports: bound in the scope that holds the statement.
    import_nodes = get("import", [])
    import_starts, import_ends = merge_spans(
        [(n.start_byte, n.end_byte) for n in import_nodes + get("future", [])]
    )
    import_scopes = innermost(root, ordered, [node.start_byte for node in import_nodes])
    for node, scope in zip(import_nodes, import_scopes, strict=True):
        atom = locate(starts, ids, node.start_byte)
        refs = _import_refs(node, package)
        if refs is None:
            star = _star_module(node, package)
            if star is not None:
                facts.stars.append((ImportRef(star, None, star), atom))
            continue
        for name, ref in refs:
            binding = Binding(name, atom, IMPORT, node.start_byte, ref=ref)
            scope.bind(binding)
            facts.imports.append(binding)

    # `global` names are bound at module level, never in the function.
    global_nodes = get("global", [])
    for node, scope in zip(
        global_nodes, innermost(root, ordered, [n.start_byte for n in global_nodes]), strict=True
    ):
        scope.declared_global.add(_text(node))
        skip.add(node.start_byte)
    for node in get("nonlocal", []):
        skip.add(node.start_byte)

    def_nodes = get("def", [])
    for node, scope in zip(
        def_nodes, innermost(root, ordered, [n.start_byte for n in def_nodes]), strict=True
    ):
        skip.add(node.start_byte)
        name = _text(node)
        if name in scope.declared_global:
            continue
        scope.bind(Binding(name, locate(starts, ids, node.start_byte), VARIABLE, node.start_byte))
    for node in get("nonref", []):
        skip.add(node.start_byte)

    # Uses: the longest dotted chain at each position, else a lone identifier.
    callee_spans = {(node.start_byte, node.end_byte) for node in get("callee", [])}
    type_starts, type_ends = merge_spans([(n.start_byte, n.end_byte) for n in get("type", [])])
    chains: dict[int, tuple[int, bytes]] = {}
    for node in get("chain", []):
        text = node.text or b""
        if not _DOTTED.match(text):
            continue
        known = chains.get(node.start_byte)
        if known is None or known[0] < node.end_byte:
            chains[node.start_byte] = (node.end_byte, text)
    raw: list[tuple[int, int, tuple[str, ...]]] = []
    for start, (end, text) in chains.items():
        if inside(import_starts, import_ends, start):
            continue
        raw.append((start, end, tuple(text.decode("utf-8", errors="replace").split("."))))
    # Identifiers are half of all captures: read their text from `source` (the
    # bytes the tree was parsed from) and look for an enclosing import only
    # between the first import and the end of the last one.
    low = import_starts[0] if import_starts else 0
    high = import_ends[-1] if import_ends else 0
    for node in get("ident", []):
        start = node.start_byte
        if start in skip or start in chains:
            continue
        if low <= start < high and inside(import_starts, import_ends, start):
            continue
        end = node.end_byte
        raw.append((start, end, (source[start:end].decode("utf-8", errors="replace"),)))
    for node in get("strtype", []):
        match = _STRING_NAME.match(_text(node).strip("'\"") if node.text else "")
        if match is not None:
            raw.append((node.start_byte + 1, -1, tuple(match.group(1).split("."))))
    use_scopes = innermost(root, ordered, [start for start, _, _ in raw])
    for (start, end, path), scope in zip(raw, use_scopes, strict=True):
        if (start, end) in callee_spans:
            role = CALL
        elif end < 0 or inside(type_starts, type_ends, start):
            role = TYPE
        else:
            role = READ
        facts.uses.append(Use(locate(starts, ids, start), path, role, start, scope))
    facts.uses.sort(key=lambda use: use.byte)
    return facts


def _star_module(node: Node, package: str) -> str | None:
    try:
        tree = ast.parse(node.text or b"")
    except (SyntaxError, ValueError):
        return None
    statement = tree.body[0] if tree.body else None
    if not isinstance(statement, ast.ImportFrom):
        return None
    return _absolute(statement.module or "", statement.level, package)
