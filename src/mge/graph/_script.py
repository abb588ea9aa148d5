"""Scan one TypeScript, TSX or JavaScript file into scopes, bindings and uses.

The same shape as `_python`: one query per grammar (patterns a grammar does not
know, such as type annotations in JavaScript, are dropped when it is built), then
bindings into scopes and classified uses. ES imports and exports (named, default,
namespace, `export ... from`, `export *`) and CommonJS `require` of a relative
path are understood; `let`/`const` are treated as function-scoped, which can only
make a local name hide an outer one for the rest of its function.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache

from tree_sitter import Node, Query, QueryCursor, QueryError, Tree

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

__all__ = ["scan_script"]

_PATTERNS = """
[(function_declaration) (generator_function_declaration) (function_expression)
 (arrow_function) (method_definition) (generator_function)] @function
[(class_declaration) (abstract_class_declaration) (class)] @class
[(interface_declaration) (type_alias_declaration) (enum_declaration)] @typedef
(variable_declarator) @declarator
(identifier) @ident
(shorthand_property_identifier) @ident
(type_identifier) @typeident
(nested_type_identifier) @chain
(member_expression) @chain
(call_expression function: (_) @callee)
(new_expression constructor: (_) @callee)
(class_heritage) @type
(binary_expression operator: "instanceof" right: (_) @type)
(type_parameter name: (type_identifier) @generic)
(import_statement) @import
(export_statement) @export
(shorthand_property_identifier_pattern) @def
(object_pattern (pair_pattern value: (identifier) @def))
(array_pattern (identifier) @def)
(rest_pattern (identifier) @def)
(object_assignment_pattern left: (shorthand_property_identifier_pattern) @def)
(formal_parameters (identifier) @def)
(formal_parameters (assignment_pattern left: (identifier) @def))
(required_parameter pattern: (identifier) @def)
(optional_parameter pattern: (identifier) @def)
(arrow_function parameter: (identifier) @def)
(catch_clause parameter: (identifier) @def)
(for_in_statement left: (identifier) @def)
(jsx_opening_element name: (identifier) @nonref (#match? @nonref "^[a-z]"))
(jsx_closing_element name: (identifier) @nonref (#match? @nonref "^[a-z]"))
(jsx_self_closing_element name: (identifier) @nonref (#match? @nonref "^[a-z]"))
(jsx_closing_element name: (identifier) @nonref)
(labeled_statement label: (_) @nonref)
"""

# Captures whose order decides a result: bindings (the last one wins), imports
# and exports (the order names are noted in an atom's context).
_ORDERED = ("function", "class", "typedef", "declarator", "generic", "import", "export", "def")

_DOTTED = re.compile(rb"^(?:this|super|[A-Za-z_$][\w$]*)(?:\.[A-Za-z_$][\w$]*)*$")
_FUNCTION_VALUES = frozenset(
    {"arrow_function", "function_expression", "function", "generator_function"}
)


def _split(text: str) -> list[str]:
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


@cache
def _query(language: str) -> Query:
    grammar = get_language(language)
    kept: list[str] = []
    for pattern in _split(_PATTERNS):
        try:
            Query(grammar, pattern)
        except QueryError:
            continue
        kept.append(pattern)
    return Query(grammar, "\n".join(kept))


def _text(node: Node | None) -> str:
    if node is None or node.text is None:
        return ""
    return node.text.decode("utf-8", errors="replace")


def _string(node: Node | None) -> str:
    return _text(node).strip("'\"`")


class _Scanner:
    def __init__(
        self,
        atoms: list[Atom],
        source: bytes,
        key: str,
        language: str,
        resolve: Callable[[str], str | None],
        tree: Tree | None = None,
    ) -> None:
        self.root = Scope("module", 0, len(source) + 1)
        self.facts = ModuleFacts(
            key=key, file=atoms[0].file, language=language, atoms=atoms, scope=self.root
        )
        self.starts, self.ids = atom_locator(atoms)
        self.resolve = resolve
        self.language = language
        self.source = source
        self.skip: set[int] = set()
        self.tree = tree

    def atom(self, byte: int) -> str:
        return locate(self.starts, self.ids, byte)

    def ref(self, spec: str, name: str | None) -> ImportRef:
        key = self.resolve(spec)
        shown = spec if name in {None, "default"} else f"{spec}.{name}"
        return ImportRef(key if key is not None else "", name, shown)

    def import_binding(self, scope: Scope, node: Node, name: Node, ref: ImportRef) -> None:
        binding = Binding(_text(name), self.atom(node.start_byte), IMPORT, name.start_byte, ref=ref)
        scope.bind(binding)
        self.facts.imports.append(binding)
        self.skip.add(name.start_byte)

    def imports(self, node: Node, scope: Scope) -> None:
        spec = _string(node.child_by_field_name("source"))
        for clause in node.named_children:
            if clause.type == "import_require_clause":
                names = [c for c in clause.named_children if c.type == "identifier"]
                source = clause.child_by_field_name("source")
                if names and source is not None:
                    self.import_binding(scope, node, names[0], self.ref(_string(source), None))
                continue
            if clause.type != "import_clause":
                continue
            for part in clause.named_children:
                if part.type == "identifier":
                    self.import_binding(scope, node, part, self.ref(spec, "default"))
                elif part.type == "namespace_import":
                    for name in part.named_children:
                        if name.type == "identifier":
                            self.import_binding(scope, node, name, self.ref(spec, None))
                elif part.type == "named_imports":
                    for spec_node in part.named_children:
                        if spec_node.type != "import_specifier":
                            continue
                        original = spec_node.child_by_field_name("name")
                        alias = spec_node.child_by_field_name("alias") or original
                        if original is not None and alias is not None:
                            ref = self.ref(spec, _text(original))
                            self.import_binding(scope, node, alias, ref)
                            self.skip.add(original.start_byte)

    def exports(self, node: Node) -> None:
        facts = self.facts
        atom = self.atom(node.start_byte)
        source = node.child_by_field_name("source")
        clause = next((c for c in node.named_children if c.type == "export_clause"), None)
        namespace = next((c for c in node.named_children if c.type == "namespace_export"), None)
        if source is not None:
            spec = _string(source)
            if clause is None and namespace is None:
                facts.stars.append((self.ref(spec, None), atom))
                return
            if namespace is not None:
                names = [c for c in namespace.named_children if c.type in {"identifier", "string"}]
                if names:
                    binding = Binding(
                        _string(names[0]), atom, IMPORT, node.start_byte, self.ref(spec, None)
                    )
                    facts.exports[binding.name] = binding
                    facts.imports.append(binding)
                return
        if clause is not None:
            for spec_node in clause.named_children:
                if spec_node.type != "export_specifier":
                    continue
                original = spec_node.child_by_field_name("name")
                alias = spec_node.child_by_field_name("alias") or original
                if original is None or alias is None:
                    continue
                self.skip.add(original.start_byte)
                self.skip.add(alias.start_byte)
                if source is not None:
                    ref = self.ref(_string(source), _string(original))
                    binding = Binding(_string(alias), atom, IMPORT, node.start_byte, ref=ref)
                    facts.imports.append(binding)
                else:
                    binding = Binding(
                        _string(alias), atom, VARIABLE, node.start_byte, alias_of=_text(original)
                    )
                facts.exports[binding.name] = binding
            return
        value = node.child_by_field_name("value")
        declaration = node.child_by_field_name("declaration")
        if any(child.type == "default" for child in node.children):
            target = declaration or value
            if target is None:
                return
            name = target.child_by_field_name("name")
            if target.type == "identifier":
                facts.exports["default"] = Binding(
                    "default", atom, VARIABLE, node.start_byte, alias_of=_text(target)
                )
            elif name is not None and target.type != "identifier":
                facts.exports["default"] = Binding(
                    "default", atom, VARIABLE, node.start_byte, alias_of=_text(name)
                )
            else:
                facts.exports["default"] = Binding("default", atom, VARIABLE, node.start_byte)

    def require(self, declarator: Node, scope: Scope) -> bool:
        """`const x = require("./m")` / `const {a} = require("./m")`: an import."""
        value = declarator.child_by_field_name("value")
        if value is None or value.type != "call_expression":
            return False
        function = value.child_by_field_name("function")
        arguments = value.child_by_field_name("arguments")
        if function is None or _text(function) != "require" or arguments is None:
            return False
        strings = [c for c in arguments.named_children if c.type == "string"]
        if not strings:
            return False
        spec = _string(strings[0])
        name = declarator.child_by_field_name("name")
        if name is None:
            return False
        if name.type == "identifier":
            self.import_binding(scope, declarator, name, self.ref(spec, None))
            return True
        if name.type == "object_pattern":
            for part in name.named_children:
                if part.type == "shorthand_property_identifier_pattern":
                    self.import_binding(scope, declarator, part, self.ref(spec, _text(part)))
                elif part.type == "pair_pattern":
                    key = part.child_by_field_name("key")
                    alias = part.child_by_field_name("value")
                    if key is not None and alias is not None and alias.type == "identifier":
                        self.import_binding(scope, declarator, alias, self.ref(spec, _text(key)))
            return True
        return False

    def scan(self) -> ModuleFacts:
        facts = self.facts
        root = self.root
        tree = self.tree if self.tree is not None else parse(self.source, self.language)
        found = QueryCursor(_query(self.language)).captures(tree.root_node)
        text_order(found, _ORDERED)
        get = found.get

        scopes: list[Scope] = []
        functions: list[tuple[Scope, Node]] = []
        classes: list[tuple[Scope, Node]] = []
        for node in get("function", []):
            params = node.child_by_field_name("parameters") or node.child_by_field_name("parameter")
            begin = node.start_byte
            if node.type != "arrow_function" and params is not None:
                begin = params.start_byte
            scope = Scope("function", begin, node.end_byte)
            scopes.append(scope)
            functions.append((scope, node))
        for node in get("class", []):
            body = node.child_by_field_name("body")
            begin = body.start_byte if body is not None else node.end_byte
            scope = Scope("class", begin, node.end_byte)
            scopes.append(scope)
            classes.append((scope, node))
        ordered = nest_scopes(root, scopes)

        def enclosing(nodes: list[Node]) -> list[Scope]:
            return innermost(root, ordered, [node.start_byte for node in nodes])

        # Classes bind their name outside; their members inside.
        for (scope, node), outer in zip(classes, enclosing([n for _, n in classes]), strict=True):
            name_node = node.child_by_field_name("name")
            name = _text(name_node)
            atom = self.atom(node.start_byte)
            qualname = name or "<anonymous>"
            if outer.cls is not None:
                qualname = f"{outer.cls.qualname}.{qualname}"
            cls = ClassFacts(module=facts, qualname=qualname, atom=atom, members=scope.names)
            scope.cls = cls
            facts.classes.append(cls)
            if name_node is not None:
                self.skip.add(name_node.start_byte)
                if node.type != "class":
                    outer.bind(Binding(name, atom, CLASS, node.start_byte, cls=cls))
            heritage = next((c for c in node.named_children if c.type == "class_heritage"), None)
            if heritage is not None:
                for clause in heritage.named_children:
                    parts = [clause] if clause.type != "extends_clause" else clause.named_children
                    for base in parts:
                        text = base.text or b""
                        if base.type in {"identifier", "member_expression"} and _DOTTED.match(text):
                            path = tuple(text.decode().split("."))
                            cls.bases.append(Use(atom, path, TYPE, base.start_byte, outer))
            body = node.child_by_field_name("body")
            for member in body.named_children if body is not None else []:
                if member.type not in {"method_definition", "public_field_definition"}:
                    continue
                member_name = member.child_by_field_name("name")
                if member_name is None:
                    continue
                value = member.child_by_field_name("value")
                kind = FUNCTION
                if member.type == "public_field_definition" and (
                    value is None or value.type not in _FUNCTION_VALUES
                ):
                    kind = VARIABLE
                scope.bind(
                    Binding(
                        _text(member_name),
                        self.atom(member.start_byte),
                        kind,
                        member_name.start_byte,
                    )
                )

        function_scopes = enclosing([n for _, n in functions])
        for (scope, node), outer in zip(functions, function_scopes, strict=True):
            if outer.kind == "class" and outer.cls is not None:
                # A method, or an arrow function in a field: `this` is the instance.
                scope.owner = outer.cls
                scope.self_name = "this"
                scope.bind(Binding("this", self.atom(node.start_byte), VARIABLE, scope.start))
            if node.type in {"function_declaration", "generator_function_declaration"}:
                name_node = node.child_by_field_name("name")
                if name_node is not None:
                    self.skip.add(name_node.start_byte)
                    outer.bind(
                        Binding(
                            _text(name_node), self.atom(node.start_byte), FUNCTION, node.start_byte
                        )
                    )
            elif node.type == "function_expression":
                name_node = node.child_by_field_name("name")
                if name_node is not None:
                    self.skip.add(name_node.start_byte)
                    scope.bind(
                        Binding(_text(name_node), self.atom(node.start_byte), FUNCTION, scope.start)
                    )

        typedefs = get("typedef", [])
        for node, outer in zip(typedefs, enclosing(typedefs), strict=True):
            name_node = node.child_by_field_name("name")
            if name_node is None:
                continue
            self.skip.add(name_node.start_byte)
            outer.bind(
                Binding(_text(name_node), self.atom(node.start_byte), CLASS, node.start_byte)
            )

        import_nodes = get("import", [])
        for node, scope in zip(import_nodes, enclosing(import_nodes), strict=True):
            self.imports(node, scope)
        for node in get("export", []):
            self.exports(node)

        declarators = get("declarator", [])
        for node, scope in zip(declarators, enclosing(declarators), strict=True):
            if self.require(node, scope):
                continue
            name_node = node.child_by_field_name("name")
            if name_node is None or name_node.type != "identifier":
                continue
            value = node.child_by_field_name("value")
            kind = VARIABLE
            if value is not None and value.type in _FUNCTION_VALUES:
                kind = FUNCTION
            elif value is not None and value.type == "class":
                kind = CLASS
            self.skip.add(name_node.start_byte)
            scope.bind(
                Binding(_text(name_node), self.atom(node.start_byte), kind, name_node.start_byte)
            )

        def_nodes = [node for node in get("def", []) if node.start_byte not in self.skip]
        for node, scope in zip(def_nodes, enclosing(def_nodes), strict=True):
            self.skip.add(node.start_byte)
            scope.bind(Binding(_text(node), self.atom(node.start_byte), VARIABLE, node.start_byte))
        for node in get("nonref", []):
            self.skip.add(node.start_byte)

        # Type parameters are names local to the declaration that lists them (a
        # class's `T` is also its methods' `T`).
        generics: dict[str, list[tuple[int, int]]] = {}
        for node in get("generic", []):
            self.skip.add(node.start_byte)
            span = node  # name → type_parameter → type_parameters → the declaration
            for _ in range(3):
                span = span.parent if span.parent is not None else span
            generics.setdefault(_text(node), []).append((span.start_byte, span.end_byte))

        import_spans = merge_spans(
            [
                (node.start_byte, node.end_byte)
                for node in import_nodes + get("export", [])
                if node.child_by_field_name("declaration") is None
                and node.child_by_field_name("value") is None
            ]
        )
        callee_spans = {(node.start_byte, node.end_byte) for node in get("callee", [])}
        type_spans = merge_spans([(node.start_byte, node.end_byte) for node in get("type", [])])
        chains: dict[int, tuple[int, bytes]] = {}
        for node in get("chain", []):
            text = b"".join((node.text or b"").split())
            if not _DOTTED.match(text):
                continue
            known = chains.get(node.start_byte)
            if known is None or known[0] < node.end_byte:
                chains[node.start_byte] = (node.end_byte, text)
            if node.type == "nested_type_identifier":
                for child in node.named_children:
                    self.skip.add(child.start_byte)
        raw: list[tuple[int, int, tuple[str, ...], bool]] = []
        for start, (end, text) in chains.items():
            raw.append(
                (start, end, tuple(text.decode("utf-8", errors="replace").split(".")), False)
            )
        for node in get("ident", []):
            start = node.start_byte
            if start in self.skip or start in chains:
                continue
            raw.append((start, node.end_byte, (_text(node),), False))
        for node in get("typeident", []):
            start = node.start_byte
            if start in self.skip or start in chains:
                continue
            name = _text(node)
            if any(begin <= start < end for begin, end in generics.get(name, ())):
                continue
            raw.append((start, node.end_byte, (name,), True))
        raw = [item for item in raw if not inside(*import_spans, item[0])]
        use_scopes = innermost(root, ordered, [item[0] for item in raw])
        for (start, end, path, is_type), scope in zip(raw, use_scopes, strict=True):
            if (start, end) in callee_spans:
                role = CALL
            elif is_type or inside(*type_spans, start):
                role = TYPE
            else:
                role = READ
            facts.uses.append(Use(self.atom(start), path, role, start, scope))
        facts.uses.sort(key=lambda use: use.byte)
        return facts


def scan_script(
    atoms: list[Atom],
    source: bytes,
    key: str,
    language: str,
    resolve: Callable[[str], str | None],
    tree: Tree | None = None,
) -> ModuleFacts:
    """The scopes, bindings and uses of one TypeScript/TSX/JavaScript file.

    Args:
        atoms: the file's atoms (they partition `source`).
        source: the file's bytes.
        key: the file's module key.
        language: its grammar.
        resolve: maps an import specifier to the key of a project module, or None.
        tree: the syntax tree of `source` when atomization kept it; parsed here
            otherwise.
    """
    return _Scanner(atoms, source, key, language, resolve, tree).scan()
