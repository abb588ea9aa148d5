"""Stand-ins for what generation lost, built from the model's own skeleton: a
file whose skeleton was never accepted, a class header or module header that
failed. Each keeps the written project importable and names what it stands for,
so a test that reaches it fails with a `NotImplementedError` saying which part is
missing, never with a made-up value or behaviour.
"""

from __future__ import annotations

import ast
import copy
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from mge.atomize._languages import parse
from mge.validate import STUB_MARK

if TYPE_CHECKING:
    from tree_sitter import Node


def skeleton_stand_in(skeleton: str, names: Sequence[str], language: str = "python") -> str:
    """The top-level imports and assignments of a file's skeleton that bind any of
    `names`, as written there: the stand-in for a module header or statement that
    failed, so that the file's written definitions still find the names they
    annotate and call with. The skeleton is the model's own plan of the file."""
    wanted = set(names)
    if not wanted:
        return ""
    if language != "python":
        return _script_stand_in(skeleton, wanted, language)
    try:
        tree = ast.parse(skeleton)
    except SyntaxError:
        return ""
    lines = skeleton.splitlines(keepends=True)
    kept: list[str] = []
    for node in tree.body:
        bound: set[str] = set()
        if isinstance(node, ast.Import | ast.ImportFrom):
            bound = {(alias.asname or alias.name).partition(".")[0] for alias in node.names}
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            bound = {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
        if bound & wanted:
            kept.append("".join(lines[node.lineno - 1 : node.end_lineno]))
    return "".join(kept)


_SCRIPT_DECLARATIONS = frozenset(
    {"lexical_declaration", "variable_declaration", "type_alias_declaration"}
    | {"interface_declaration", "enum_declaration"}
)


def _script_stand_in(skeleton: str, wanted: set[str], language: str) -> str:
    """`skeleton_stand_in` for TypeScript and JavaScript: the skeleton's top-level
    imports and declarations (variables, types, interfaces, enums; functions and
    classes are atoms of their own) that bind any of `wanted`, as written there."""
    source = skeleton.encode("utf-8", errors="surrogateescape")
    kept: list[str] = []
    for node in parse(source, language).root_node.children:
        declaration = node
        if node.type == "export_statement":
            inner = node.child_by_field_name("declaration")
            if inner is None:
                continue
            declaration = inner
        kinds = (*_SCRIPT_DECLARATIONS, "import_statement")
        if declaration.type in kinds and _script_bound(source, declaration) & wanted:
            kept.append(source[node.start_byte : node.end_byte].decode("utf-8", "replace") + "\n")
    return "".join(kept)


def _script_bound(source: bytes, node: Node) -> set[str]:
    """The names a top-level import or declaration binds."""
    bound: set[str] = set()
    name = node.child_by_field_name("name")
    if name is not None and node.type != "import_statement":
        bound.add(source[name.start_byte : name.end_byte].decode("utf-8", "replace"))
    stack = list(node.children)
    while stack:
        child = stack.pop()
        if child.type == "variable_declarator":
            target = child.child_by_field_name("name")
            if target is not None and target.type == "identifier":
                bound.add(source[target.start_byte : target.end_byte].decode("utf-8", "replace"))
            continue
        if child.type == "import_specifier":
            alias = child.child_by_field_name("alias") or child.child_by_field_name("name")
            if alias is not None:
                bound.add(source[alias.start_byte : alias.end_byte].decode("utf-8", "replace"))
            continue
        if child.type in ("import_clause", "named_imports", "namespace_import"):
            stack.extend(child.children)
        elif child.type == "identifier" and node.type == "import_statement":
            bound.add(source[child.start_byte : child.end_byte].decode("utf-8", "replace"))
    return bound


def imported_from(module: str, sources: Mapping[str, str]) -> list[str]:
    """The names the files in `sources` (path -> text) import from `module` with
    `from ... import NAME`, relative imports resolved against each file's package."""
    found: dict[str, None] = {}
    for path, text in sources.items():
        try:
            tree = ast.parse(text)
        except SyntaxError:
            continue
        parts = path.removesuffix(".py").split("/")
        package = parts[:-1]
        for node in ast.walk(tree):
            if not isinstance(node, ast.ImportFrom):
                continue
            if node.level:
                base = package[: len(package) - (node.level - 1)] if node.level > 1 else package
                target = ".".join([*base, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            for alias in node.names:
                if target == module and alias.name != "*":
                    found.setdefault(alias.name, None)
    return list(found)


#: Module attributes test runners look up on every module they collect (pytest's
#: `pytest_plugins`, `pytestmark` and module fixtures, unittest's and doctest's
#: hooks): a stand-in answering them with a stub makes the runner call it or
#: reject it, and one module whose skeleton failed would stop the whole session
#: (`python_files = *.py` collects the package's own modules as tests).
TOOL_PROBES = frozenset(
    {
        "setup",
        "teardown",
        "setup_module",
        "teardown_module",
        "setUpModule",
        "tearDownModule",
        "load_tests",
    }
)


def missing_module(file: str, names: Sequence[str]) -> str:
    """The stand-in for a Python file whose skeleton was never accepted, so that the
    files importing it still import: every name asked of it (the `names` other files
    import by name, and any other public name, through the module's `__getattr__`)
    is a class whose instantiation, the call of a function it stands for included,
    raises `NotImplementedError` naming the file. Nothing is made up: no value, no
    behaviour, only the names. Private names and the names test runners probe
    (`TOOL_PROBES`, `pytest*`) are missing, as on any module, unless asked for."""
    message = f"{STUB_MARK}: the skeleton of {file}"
    lines = [
        f'"""{message} (it was rejected on every attempt): every name here is a stub."""',
        "",
        "",
        "def _missing(name: str) -> type:",
        "    def refuse(*args: object, **kwargs: object) -> object:",
        f"        raise NotImplementedError({message!r} + ': ' + name)",
        "",
        "    return type(name, (), {'__new__': refuse, '__doc__': " + repr(message) + "})",
        "",
        "",
        f"_NAMES = {sorted(set(names))!r}",
        "",
        "",
        f"_PROBED = {sorted(TOOL_PROBES)!r}",
        "",
        "",
        "def __getattr__(name: str) -> type:",
        "    if name not in _NAMES and (name.startswith('_') or name in _PROBED",
        "                               or name.startswith('pytest')):",
        "        raise AttributeError(name)",
        "    return _missing(name)",
        "",
    ]
    lines += [f"{name} = _missing({name!r})" for name in sorted(set(names)) if name.isidentifier()]
    return "\n".join(lines) + "\n"


def class_stand_in(skeleton: str, qualname: str, indent: str, body_indent: str) -> str | None:
    """The stand-in for a class header that failed: the skeleton's own `class` line
    (its bases and keywords, without decorators) over `pass`, so that the class its
    methods are written into still has its bases. None when the skeleton has no
    such class."""
    try:
        tree = ast.parse(skeleton)
    except SyntaxError:
        return None
    scope: list[ast.stmt] = list(tree.body)
    node: ast.ClassDef | None = None
    for part in qualname.split("."):
        node = next((n for n in scope if isinstance(n, ast.ClassDef) and n.name == part), None)
        if node is None:
            return None
        scope = list(node.body)
    if node is None:
        return None
    bare = copy.copy(node)
    bare.body = [ast.Pass()]
    bare.decorator_list = []
    line = ast.unparse(bare).splitlines()[0]
    return f"{indent}{line}\n{body_indent}pass\n"
