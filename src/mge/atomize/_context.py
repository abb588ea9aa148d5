"""The context injector: what each atom needs to be read, generated or checked alone.

For every atom it records, from the syntax tree:

- `imports`: the file's import statements that bind a name the atom reads;
- `types`: names used in type positions (annotations, `isinstance`/`issubclass`
  targets, TypeScript type references);
- `preconditions` / `postconditions`: from the definition's docstring sections
  (`Args:`/`Parameters:`, `Returns:`/`Yields:`, `Raises:`, and reST `:param:`,
  `:returns:`, `:raises:`), JSDoc `@param`, `@returns`, `@throws`, leading
  `assert` statements, and parameter / return type annotations;
- `callees`: the called names (`f`, `self.m`, `os.path.join`), in order;
- `signature`: the enclosing definition's header (for a block, its function's);
- `references`: names the atom reads but does not bind itself, sorted; this is
  what the graph layer resolves by scope (same definition → same class → same
  module → imports) into edges;
- `defines`: names the atom binds (definitions, parameters, assignments, loop and
  `as` targets, imports).

`context_completeness` = resolved / referenced over `references`, where a name
resolves when the file imports it, the file binds it anywhere (a project
definition), or it is a builtin of the language; an atom that references nothing
is complete (1.0). The share is rounded to 4 places.
"""

from __future__ import annotations

import builtins
import re
from bisect import bisect_left
from dataclasses import dataclass, field
from typing import Any

from tree_sitter import Node

from mge.atomize._bins import Bins
from mge.atomize._decompose import Piece
from mge.atomize._queries import Captures

__all__ = ["AtomFacts", "inject_context"]

PYTHON_BUILTINS = frozenset(dir(builtins)) | {
    "__file__",
    "__builtins__",
    "__path__",
    "__spec__",
    "__loader__",
    "__package__",
    "__annotations__",
    "__class__",
    "__dict__",
    "__all__",
    "__version__",
    "__debug__",
    "__name__",
    "__doc__",
    "__qualname__",
    "__module__",
}

SCRIPT_BUILTINS = frozenset(
    """
    Object Array String Number Boolean Symbol BigInt Math JSON Date RegExp Error TypeError
    RangeError SyntaxError ReferenceError EvalError URIError AggregateError Promise Map Set
    WeakMap WeakSet WeakRef FinalizationRegistry Proxy Reflect Intl ArrayBuffer
    SharedArrayBuffer DataView Atomics Int8Array Uint8Array Uint8ClampedArray Int16Array
    Uint16Array Int32Array Uint32Array Float32Array Float64Array BigInt64Array BigUint64Array
    Function Iterator console globalThis window document self navigator location localStorage
    sessionStorage performance crypto process require module exports __dirname __filename
    Buffer URL URLSearchParams TextEncoder TextDecoder fetch structuredClone queueMicrotask
    setTimeout clearTimeout setInterval clearInterval setImmediate clearImmediate undefined NaN
    Infinity arguments eval isNaN isFinite parseInt parseFloat encodeURIComponent
    decodeURIComponent encodeURI decodeURI escape unescape AbortController AbortSignal Event
    EventTarget Blob File FormData Headers Request Response ReadableStream WritableStream
    TransformStream MessageChannel Worker HTMLElement Element Node alert global JSX React
    Record Partial
    Required Readonly Pick Omit Exclude Extract NonNullable ReturnType Parameters
    ConstructorParameters InstanceType ThisType Awaited Uppercase Lowercase Capitalize
    Uncapitalize ReadonlyArray ArrayLike PromiseLike Iterable IterableIterator AsyncIterable
    AsyncIterableIterator IteratorResult Generator AsyncGenerator PropertyKey
    PropertyDescriptor TemplateStringsArray NodeJS NodeRequire
    """.split()  # noqa: SIM905 - a word list reads better as text
)

_SECTION = re.compile(
    r"^\s*(Args|Arguments|Parameters|Params|Keyword Args|Keyword Arguments|Other Parameters"
    r"|Returns|Return|Yields|Yield|Raises|Raise|Throws)\s*:\s*$"
)
_NUMPY_RULE = re.compile(r"^\s*-{3,}\s*$")
_REST = re.compile(
    r"^\s*:(param|parameter|arg|argument|type|returns?|rtype|raises?)\b([^:]*):(.*)$"
)
_JSDOC = re.compile(r"@(param|arg|argument|returns?|throws|exception)\b\s*(\{[^}]*\})?\s*(.*)")
_PRE_SECTIONS = {
    "args",
    "arguments",
    "parameters",
    "params",
    "keyword args",
    "keyword arguments",
    "other parameters",
}
_MAX_CALLEE = 80
_DOTTED = re.compile(r"^[A-Za-z_$][\w$]*(\.[A-Za-z_$#][\w$]*)*$")
_PY_DEFINITIONS = frozenset({"function_definition", "class_definition"})
_JS_DEFINITIONS = frozenset(
    {
        "function_declaration",
        "generator_function_declaration",
        "class_declaration",
        "abstract_class_declaration",
        "method_definition",
    }
)


@dataclass(slots=True)
class AtomFacts:
    """The context of one atom plus the facts the atomicity criteria read."""

    context: dict[str, Any]
    completeness: float
    references: set[str] = field(default_factory=set)
    defines: set[str] = field(default_factory=set)
    callees: list[str] = field(default_factory=list)
    global_writes: list[str] = field(default_factory=list)
    has_error: bool = False
    definitions: int = 0
    documented_io: bool = True


def _text(node: Node | None) -> str:
    if node is None or node.text is None:
        return ""
    return node.text.decode("utf-8", errors="replace")


def _squash(text: str, limit: int | None = 200) -> str:
    text = " ".join(text.split())
    return text if limit is None or len(text) <= limit else text[: limit - 1] + "…"


def _import_bindings(node: Node, language: str) -> list[str]:
    """Names an import statement binds in the importing module."""
    names: list[str] = []
    if language == "python":
        if node.type == "future_import_statement":
            return names
        for child in node.children_by_field_name("name"):
            if child.type == "aliased_import":
                names.append(_text(child.child_by_field_name("alias")))
            elif node.type == "import_statement":
                names.append(_text(child).split(".")[0])
            else:
                names.append(_text(child).split(".")[-1])
        return [name for name in names if name]
    if node.type in {"lexical_declaration", "variable_declaration"}:
        for declarator in node.named_children:
            target = declarator.child_by_field_name("name")
            if target is None:
                continue
            if target.type == "identifier":
                names.append(_text(target))
            else:
                names.extend(
                    _text(part)
                    for part in target.named_children
                    if part.type in {"shorthand_property_identifier_pattern", "identifier"}
                )
        return [name for name in names if name]
    stack = [node]
    while stack:
        current = stack.pop()
        if current.type == "import_specifier":
            alias = current.child_by_field_name("alias")
            names.append(_text(alias or current.child_by_field_name("name")))
            continue
        if current.type in {"import_clause", "namespace_import"}:
            names.extend(_text(c) for c in current.named_children if c.type == "identifier")
        if current.type == "import_require_clause":
            names.extend(_text(c) for c in current.named_children if c.type == "identifier")
        stack.extend(current.named_children)
    return [name for name in names if name]


def _docstring(definition: Node, language: str, source: bytes) -> str:
    """The documentation of a definition: its Python docstring or its JSDoc comment."""
    if language == "python":
        # `named_child(0)`, not `named_children[0]`: a long body's statements would all
        # become Python objects to read the first one.
        body = definition.child_by_field_name("body")
        if body is None or not body.named_child_count:
            return ""
        first = body.named_child(0)
        if (
            first is not None
            and first.type == "expression_statement"
            and first.named_child_count == 1
        ):
            literal = first.named_child(0)
            if literal is not None and literal.type == "string":
                raw = _text(literal)
                return raw.strip("rRbBuUfF").strip("'\"")
        return ""
    anchor = definition
    while anchor.parent is not None and anchor.parent.type in {
        "export_statement",
        "lexical_declaration",
        "variable_declaration",
    }:
        anchor = anchor.parent
    previous = anchor.prev_sibling
    if previous is not None and previous.type == "comment":
        text = _text(previous)
        if text.startswith("/**"):
            return text
    return ""


def _doc_conditions(doc: str) -> tuple[list[str], list[str]]:
    pre: list[str] = []
    post: list[str] = []
    if not doc:
        return pre, post
    lines = doc.splitlines()
    section: str | None = None
    section_indent = 0
    entry_indent: int | None = None
    for number, line in enumerate(lines):
        jsdoc = _JSDOC.search(line)
        if jsdoc:
            tag, kind, rest = jsdoc.group(1), jsdoc.group(2) or "", jsdoc.group(3)
            item = _squash(f"{kind} {rest}".strip())
            if tag in {"param", "arg", "argument"}:
                pre.append(item)
            elif tag.startswith("return"):
                post.append(f"returns {item}".strip())
            else:
                post.append(f"throws {item}".strip())
            continue
        rest_match = _REST.match(line)
        if rest_match:
            tag, what, desc = rest_match.groups()
            item = _squash(f"{what.strip()}: {desc.strip()}".strip(": "))
            if tag in {"param", "parameter", "arg", "argument", "type"}:
                pre.append(item)
            elif tag.startswith("raise"):
                post.append(f"raises {item}")
            else:
                post.append(f"returns {item}")
            continue
        header = _SECTION.match(line)
        if header and not (number + 1 < len(lines) and _NUMPY_RULE.match(lines[number + 1])):
            section = header.group(1).lower()
            section_indent = len(line) - len(line.lstrip())
            entry_indent = None
            continue
        if section is None:
            continue
        stripped = line.strip()
        indent = len(line) - len(line.lstrip())
        if not stripped:
            continue
        if indent <= section_indent:
            section = None
            continue
        if entry_indent is None:
            entry_indent = indent
        target = pre if section in _PRE_SECTIONS else post
        if indent == entry_indent:
            if section.startswith("return") or section.startswith("yield"):
                target.append(_squash(f"{section.rstrip('s')}s {stripped}"))
            elif section.startswith("raise") or section == "throws":
                target.append(_squash(f"raises {stripped}"))
            else:
                target.append(_squash(stripped))
        elif target:
            target[-1] = _squash(f"{target[-1]} {stripped}")
    return pre, post


def _enclosing_definitions(nodes: list[Node]) -> dict[tuple[int, int], int] | None:
    """For each definition's span, where the innermost definition around it starts (-1
    for none), from the spans alone: definitions nest or lie apart, so one sweep in
    source order with a stack of the open ones finds them. None when two definitions
    share a span, which spans cannot order (the tree then decides, see `_enclosing_start`).
    """
    spans = sorted((node.start_byte, -node.end_byte) for node in nodes)
    found: dict[tuple[int, int], int] = {}
    open_spans: list[tuple[int, int]] = []
    for start, negated_end in spans:
        end = -negated_end
        if (start, end) in found:
            return None
        while open_spans and open_spans[-1][1] < end:
            open_spans.pop()
        found[(start, end)] = open_spans[-1][0] if open_spans else -1
        open_spans.append((start, end))
    return found


def _enclosing_start(definition: Node, floor: int, kinds: frozenset[str]) -> int:
    """Where the innermost definition of `kinds` around `definition` starts, looking
    no further out than `floor` (-1 when there is none that far)."""
    ancestor = definition.parent
    while ancestor is not None and ancestor.start_byte >= floor:
        if ancestor.type in kinds:
            return ancestor.start_byte
        ancestor = ancestor.parent
    return -1


class _Comments:
    """The file's comment spans in source order, to find those inside a span by bisection
    (walking the tree under each definition for them cost as much as all the rest)."""

    def __init__(self, nodes: list[Node]) -> None:
        self.spans = sorted((node.start_byte, node.end_byte) for node in nodes)
        self.starts = [start for start, _ in self.spans]

    def within(self, start: int, end: int) -> list[tuple[int, int]]:
        """The comments that lie wholly within [start, end)."""
        found: list[tuple[int, int]] = []
        for index in range(bisect_left(self.starts, start), len(self.spans)):
            first, last = self.spans[index]
            if first >= end:
                break
            if last <= end:
                found.append((first, last))
        return found


def _signature(definition: Node, source: bytes, comments: _Comments) -> str:
    body = definition.child_by_field_name("body")
    if definition.type == "variable_declarator":
        value = definition.child_by_field_name("value")
        body = value.child_by_field_name("body") if value is not None else None
        start = definition.parent.start_byte if definition.parent is not None else 0
    else:
        start = definition.start_byte
        parent = definition.parent
        if parent is not None and parent.type in {"decorated_definition", "export_statement"}:
            start = parent.start_byte
    end = body.start_byte if body is not None else definition.end_byte
    # Comments between the parameters (and before the first statement of the body)
    # are left out: squashed onto one line, a comment would swallow what follows it.
    header = bytearray(source[start:end])
    for first, last in comments.within(start, end):
        header[first - start : last - start] = b" " * (last - first)
    text = header.decode("utf-8", errors="replace").rstrip()
    if text.endswith(":") and definition.type in {"function_definition", "class_definition"}:
        text = text[:-1].rstrip()
    if text.endswith("=>"):
        text = text[:-2].rstrip()
    # Never clipped: the signature is code (a stand-in's `def` line, the contract
    # the atom is held to), and a long return annotation is still all of it.
    return _squash(text, None)


def _parameter_conditions(definition: Node, language: str) -> tuple[list[str], list[str], bool]:
    """Type-hint conditions and whether every parameter and the return are typed."""
    pre: list[str] = []
    post: list[str] = []
    params: Node | None
    if definition.type == "variable_declarator":
        declared = definition.child_by_field_name("type")
        value = definition.child_by_field_name("value")
        if declared is not None:
            # `const f: Handler = (x) => ...`: the declared type types the whole function.
            pre.append(_squash(f"type: {_text(declared).lstrip(':').strip()}"))
            return pre, post, True
        if value is None:
            return pre, post, False
        definition = value
    params = definition.child_by_field_name("parameters")
    typed = True
    if params is not None:
        for param in params.named_children:
            kind = param.type
            if kind in {"comment", "keyword_separator", "positional_separator"}:
                continue
            if kind == "identifier":
                # A bare name (most parameters): a leaf, with no type and no parts.
                annotation = None
                name = _text(param)
            else:
                annotation = param.child_by_field_name("type")
                name_node = (
                    param.child_by_field_name("name")
                    or param.child_by_field_name("pattern")
                    or (param.named_children[0] if param.named_children else param)
                )
                name = _text(name_node)
            if name in {"self", "cls"}:
                continue
            if annotation is not None:
                pre.append(_squash(f"{name}: {_text(annotation).lstrip(':').strip()}"))
            else:
                typed = False
    returns = definition.child_by_field_name("return_type")
    if returns is not None:
        post.append(_squash(f"returns {_text(returns).lstrip(':').strip()}"))
    elif language != "javascript" and _needs_return(definition, language):
        typed = False
    return pre, post, typed


def _needs_return(definition: Node, language: str) -> bool:
    """Constructors and setters return nothing a caller uses, so they need no return type."""
    if _text(definition.child_by_field_name("name")) in {"__init__", "constructor"}:
        return False
    if language == "python" and not definition.has_error:
        # Python has no setters: a sound tree holds no `set` child (spares listing them).
        return True
    return not any(child.type == "set" for child in definition.children)


def _leading_asserts(definition: Node) -> list[str]:
    body = definition.child_by_field_name("body")
    found: list[str] = []
    if body is None:
        return found
    # One statement at a time: the first that is no docstring, comment or assert ends it,
    # so a long body's other statements never become Python objects.
    for position in range(body.named_child_count):
        statement = body.named_child(position)
        if statement is None:
            break
        kind = statement.type
        if kind == "expression_statement" and not found and statement.named_child_count:
            first = statement.named_child(0)
            if first is not None and first.type == "string":
                continue
        if kind == "comment":
            continue
        if kind != "assert_statement":
            break
        found.append(_squash(_text(statement)))
    return found


def inject_context(
    source: bytes, language: str, pieces: list[Piece], captures: Captures
) -> list[AtomFacts]:
    """The context of every piece, in the pieces' order."""
    count = len(pieces)
    bins = Bins(source, [piece.start for piece in pieces])
    python = language == "python"

    comments = _Comments(captures.comment)
    import_table: dict[str, str] = {}
    import_bindings: list[tuple[int, list[str]]] = []
    for node in captures.imports:
        statement = _squash(_text(node), 300)
        imported = _import_bindings(node, language)
        import_bindings.append((bins.of(node.start_byte), imported))
        for name in imported:
            import_table.setdefault(name, statement)

    idents = bins.names(captures.ident, skip=captures.nonref)
    defines = bins.names(captures.defs)
    file_defined: set[str] = set(import_table).union(*defines)
    for slot, imported in import_bindings:
        defines[slot].update(imported)

    types: list[list[str]] = [[] for _ in range(count)]
    for node in captures.typename:
        types[bins.of(node.start_byte)].append("".join(_text(node).split()))

    callees: list[list[str]] = [[] for _ in range(count)]
    # Calls repeat (`len`, `self.append`): each distinct text is cleaned up once.
    callee_names: dict[bytes, str] = {}
    # The query captures only plain and dotted names as callees.
    for node in captures.call:
        start, end = node.start_byte, node.end_byte
        if end - start > _MAX_CALLEE:
            continue
        raw = source[start:end]
        name = callee_names.get(raw, "")
        if not name:
            name = "".join(raw.decode("utf-8", errors="replace").split())
            if not _DOTTED.match(name):
                # `items.filter(...).join` or `f()[0].g`: only the method name is stable.
                name = name.rsplit(".", 1)[-1]
            callee_names[raw] = name
        slot = bins.of(start)
        callees[slot].append(name)
        if python and name in {"isinstance", "issubclass"}:
            call = node.parent
            arguments = call.child_by_field_name("arguments") if call is not None else None
            if arguments is not None and arguments.named_child_count >= 2:
                target = arguments.named_children[1]
                for part in re.findall(r"[A-Za-z_][\w.]*", _text(target)):
                    types[slot].append(part)

    global_writes: list[list[str]] = [[] for _ in range(count)]
    for node in captures.glob:
        text = _text(node)
        if not python and text not in {"window", "globalThis", "global", "self", "document"}:
            continue
        global_writes[bins.of(node.start_byte)].append(_squash(text, 80))

    errors = [False] * count
    for node in captures.error:
        # An ERROR node can span several atoms: every atom it touches holds broken code.
        first = bins.of(node.start_byte)
        last = bins.of(max(node.start_byte, node.end_byte - 1))
        for slot in range(first, last + 1):
            errors[slot] = True

    definitions = [0] * count
    enclosing = _enclosing_definitions(captures.definitions)
    definition_types = _PY_DEFINITIONS if python else _JS_DEFINITIONS
    for owner in captures.owners:
        start = owner.start_byte
        slot = bins.of(start)
        outer = enclosing.get((start, owner.end_byte)) if enclosing is not None else None
        if outer is None:
            outer = _enclosing_start(owner, pieces[slot].start, definition_types)
        # A definition nested in another one that starts inside the same atom is part
        # of that one's single responsibility.
        if outer < pieces[slot].start:
            definitions[slot] += 1

    builtin_names = PYTHON_BUILTINS if python else SCRIPT_BUILTINS
    known = file_defined.union(builtin_names)
    # The blocks of a split definition share its signature: worked out once per definition.
    signatures: dict[int, str] = {}
    facts: list[AtomFacts] = []
    for slot, piece in enumerate(pieces):
        bound = defines[slot]
        names = idents[slot]
        referenced = names - bound
        completeness = round(len(referenced & known) / len(referenced), 4) if referenced else 1.0
        used_imports = list(
            dict.fromkeys(map(import_table.__getitem__, sorted(names & import_table.keys())))
        )
        pre: list[str] = []
        post: list[str] = []
        signature = ""
        documented_io = True
        definition = piece.definition
        if definition is not None:
            known_signature = signatures.get(id(definition))
            if known_signature is None:
                known_signature = _signature(definition, source, comments)
                signatures[id(definition)] = known_signature
            signature = known_signature
            if piece.kind in {"function", "method"}:
                doc = _docstring(definition, language, source)
                doc_pre, doc_post = _doc_conditions(doc)
                hint_pre, hint_post, typed = _parameter_conditions(definition, language)
                pre = _leading_asserts(definition) + hint_pre + doc_pre if python else []
                if not python:
                    pre = hint_pre + doc_pre
                post = hint_post + doc_post
                documented_io = typed or bool(doc_pre or doc_post)
        seen_callees = list(dict.fromkeys(callees[slot]))
        seen_types = list(dict.fromkeys(types[slot]))
        context: dict[str, Any] = {
            "imports": used_imports,
            "types": seen_types,
            "preconditions": pre,
            "postconditions": post,
            "callees": seen_callees,
            "signature": signature,
            "references": sorted(referenced),
            "defines": sorted(bound),
        }
        facts.append(
            AtomFacts(
                context=context,
                completeness=completeness,
                references=referenced,
                defines=bound,
                callees=seen_callees,
                global_writes=global_writes[slot],
                has_error=errors[slot],
                definitions=definitions[slot],
                documented_io=documented_io,
            )
        )
    return facts
