"""Typed edges between atoms: names resolved by scope, then across imports.

Each file is scanned into scopes, bindings and uses (`_python`, `_script`); this
module links them. A use of a name is resolved by scope: the enclosing
functions, then the class when the code sits directly in the class body (a
method sees its class only through `self`/`cls`/`this`), then the module, then
what the module imports. Imports are followed through re-exports (a package
`__init__`, `export ... from`) to the atom that defines the name. A name that
leaves the project (standard library, third-party) makes no edge and is listed
in the atom's `context["external"]`; a name found nowhere is listed in
`context["unresolved"]`; builtins are neither.

Edge types:

- IMPORT: an import statement's atom → every atom that uses a name it binds, and
  the atom defining an imported project name (or the first atom of an imported
  project module) → the importing atom.
- FUNCTION_CALL: a called (or passed) function, method or class → the caller.
- TYPE: a class used in an annotation, as a base, in `isinstance`/`issubclass`,
  or as a TypeScript type → the user.
- DATA_FLOW: the atom assigning a module- or class-level variable → its readers.
- TEMPORAL: the pieces of one split body in order; a class's last header piece →
  every other atom of the class; a file's last module-header piece → every other
  atom of the file.

Duplicate definitions: the last binding in file order wins, as it does when
Python has finished importing the module. Code that itself runs at import time
(module or class level) sees the last binding above it instead, when there is one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from mge._collector import collector_paused
from mge.atomize import Atom, FileResult
from mge.atomize._context import PYTHON_BUILTINS, SCRIPT_BUILTINS
from mge.errors import GraphError
from mge.graph._analysis import analyze
from mge.graph._facts import (
    CALL,
    CLASS,
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
)
from mge.graph._modules import python_module, resolve_script, script_key
from mge.graph._python import scan_python
from mge.graph._script import scan_script
from mge.graph._types import Edge, EdgeType, GraphAnalysis

__all__ = ["build_edges", "build_graph"]

_MAX_DEPTH = 64


@dataclass(frozen=True, slots=True)
class _Target:
    """What a name resolves to: a project definition, a project module, or an
    outside name (`external` set)."""

    atom: str | None = None
    kind: str = ""
    cls: ClassFacts | None = None
    module: ModuleFacts | None = None
    external: str | None = None


def _edge_type(role: str, target: _Target) -> EdgeType:
    if target.module is not None:
        return EdgeType.IMPORT
    if role == CALL:
        return EdgeType.FUNCTION_CALL
    if role == TYPE:
        return EdgeType.TYPE
    if target.kind == CLASS:
        return EdgeType.TYPE
    if target.kind == VARIABLE:
        return EdgeType.DATA_FLOW
    return EdgeType.FUNCTION_CALL


class _Linker:
    def __init__(self, modules: dict[str, ModuleFacts]) -> None:
        self.modules = modules
        self.roots = {id(module.scope): module for module in modules.values()}
        self.refs: dict[tuple[str, str | None, str], _Target | None] = {}
        self.active: set[tuple[str, str | None, str]] = set()
        self.bases: dict[int, list[ClassFacts]] = {}
        self.edges: dict[tuple[str, str, EdgeType], list[str]] = {}
        self.import_time: dict[int, bool] = {}

    # -- targets -----------------------------------------------------------------

    def module_target(self, module: ModuleFacts) -> _Target:
        return _Target(atom=module.first_atom, module=module)

    def resolve_ref(self, ref: ImportRef, depth: int = 0) -> _Target | None:
        """What an import binds; None when a project module lacks the name."""
        key = (ref.module, ref.name, ref.spec)
        if key in self.refs:
            return self.refs[key]
        if key in self.active or depth > _MAX_DEPTH:
            return None
        self.active.add(key)
        try:
            target = self._resolve_ref(ref, depth)
        finally:
            self.active.discard(key)
        self.refs[key] = target
        return target

    def _resolve_ref(self, ref: ImportRef, depth: int) -> _Target | None:
        module = self.modules.get(ref.module)
        if ref.name is None:
            if module is None and self.inside_project(ref):
                return None
            if module is None:
                # `import os.path` binds `os`: uses are spelled from the bound module.
                return _Target(external=ref.module or ref.spec)
            return self.module_target(module)
        if module is not None:
            found = self.export(module, ref.name, depth + 1)
            if found is not None:
                return found
        submodule = self.modules.get(f"{ref.module}.{ref.name}")
        if submodule is not None:
            return self.module_target(submodule)
        if module is None and not self.inside_project(ref):
            return _Target(external=ref.spec)
        return None

    def inside_project(self, ref: ImportRef) -> bool:
        """A relative import, or one under a project package, names a project module,
        so when the module is missing the name dangles instead of leaving the project."""
        if ref.spec.startswith("."):
            return True
        head = ref.module.split(".", 1)[0]
        return bool(head) and head in self.modules and "/" not in head

    def export(self, module: ModuleFacts, name: str, depth: int) -> _Target | None:
        """`name` as another module sees it in `module` (its last binding wins)."""
        exported = module.exports.get(name)
        if exported is not None:
            return self.binding_target(exported, module, depth)
        bindings = module.scope.names.get(name)
        if bindings:
            return self.binding_target(bindings[-1], module, depth)
        outside: _Target | None = None
        for ref, _atom in module.stars:
            found = self.resolve_ref(ImportRef(ref.module, name, f"{ref.spec}.{name}"), depth + 1)
            if found is not None and found.external is None:
                return found
            if found is not None and outside is None and ref.module not in self.modules:
                # `from _struct import *`: a name not defined here may come from there.
                outside = found
        return outside

    def binding_target(self, binding: Binding, module: ModuleFacts, depth: int) -> _Target | None:
        if binding.ref is not None:
            return self.resolve_ref(binding.ref, depth + 1)
        if binding.alias_of is not None:
            local = module.scope.names.get(binding.alias_of)
            if not local:
                return None
            return self.binding_target(local[-1], module, depth + 1)
        return _Target(atom=binding.atom, kind=binding.kind, cls=binding.cls)

    def class_bases(self, cls: ClassFacts) -> list[ClassFacts]:
        known = self.bases.get(id(cls))
        if known is not None:
            return known
        self.bases[id(cls)] = []
        found: list[ClassFacts] = []
        for use in cls.bases:
            target = self.resolve_path(use)[0]
            if target is not None and target.cls is not None and target.cls is not cls:
                found.append(target.cls)
        self.bases[id(cls)] = found
        return found

    def class_member(self, cls: ClassFacts, name: str, depth: int = 0) -> _Target | None:
        """A class attribute or method, searching project base classes depth first."""
        if depth > _MAX_DEPTH:
            return None
        bindings = cls.members.get(name)
        if bindings:
            return self.binding_target(bindings[-1], cls.module, depth)
        for base in self.class_bases(cls):
            found = self.class_member(base, name, depth + 1)
            if found is not None:
                return found
        return None

    def member(self, target: _Target, name: str) -> _Target | None:
        if target.external is not None:
            return _Target(external=f"{target.external}.{name}")
        if target.module is not None:
            found = self.export(target.module, name, 0)
            if found is None and target.module.language == "python":
                sub = self.modules.get(f"{target.module.key}.{name}")
                return self.module_target(sub) if sub is not None else None
            return found
        if target.cls is not None:
            return self.class_member(target.cls, name)
        return None

    # -- scope lookup --------------------------------------------------------------

    def runs_at_import(self, scope: Scope) -> bool:
        """Whether code in `scope` runs when the module is imported (no enclosing
        function); cached per scope, as every use asks."""
        known = self.import_time.get(id(scope))
        if known is None:
            walker: Scope | None = scope
            known = True
            while walker is not None:
                if walker.kind == "function":
                    known = False
                    break
                walker = walker.parent
            self.import_time[id(scope)] = known
        return known

    def lookup(self, use: Use) -> tuple[Binding, Scope] | None:
        name = use.path[0]
        scope: Scope | None = use.scope
        import_time = self.runs_at_import(use.scope)
        first = True
        while scope is not None:
            if scope.kind == "class" and not first:
                scope = scope.parent
                continue
            if name in scope.declared_global:
                while scope.parent is not None:
                    scope = scope.parent
                first = False
                continue
            bindings = scope.names.get(name)
            if bindings:
                return _choose(bindings, use.byte, import_time), scope
            first = False
            scope = scope.parent
        return None

    def resolve_path(self, use: Use) -> tuple[_Target | None, Binding | None, bool, bool]:
        """(target, import binding used, whether the chain resolved to its end,
        whether the name is local and so makes no edge)."""
        found = self.lookup(use)
        if found is None:
            return self.unbound(use)
        binding, scope = found
        rest = use.path[1:]
        via: Binding | None = None
        target: _Target | None
        if scope.owner is not None and scope.self_name == use.path[0] and binding.kind == VARIABLE:
            # `self.x` / `cls.x` in a method: a member of the class or its bases.
            if not rest:
                return None, None, True, True
            member = self.class_member(scope.owner, rest[0])
            if member is None:
                return None, None, True, True
            return self._walk(member, rest[1:], None)
        if binding.kind == IMPORT:
            via = binding
            target = self.resolve_ref(binding.ref) if binding.ref is not None else None
            if target is None:
                return None, via, False, False
        elif scope.kind in {"function", "comprehension"}:
            return None, None, True, True
        else:
            target = _Target(atom=binding.atom, kind=binding.kind, cls=binding.cls)
        return self._walk(target, rest, via)

    def unbound(self, use: Use) -> tuple[_Target | None, Binding | None, bool, bool]:
        """A name no scope binds in the text: from a starred module, or a submodule
        of the package whose `__init__` uses it."""
        root = use.scope
        while root.parent is not None:
            root = root.parent
        module = self.roots.get(id(root))
        name = use.path[0]
        if module is None or (name in {"this", "super"} and module.language != "python"):
            # `this` outside a class method is whatever the caller binds: not a name.
            return None, None, module is not None, module is not None
        for ref, star_atom in module.stars:
            found = self.resolve_ref(ImportRef(ref.module, name, f"{ref.spec}.{name}"))
            if found is not None and found.external is None:
                via = Binding(name, star_atom, IMPORT, 0, ref=ref)
                return self._walk(found, use.path[1:], via)
        if module.is_package:
            # Importing `pkg.sub` binds `sub` in the package, so an `__init__` doing
            # `from .sub import *` can use `sub` without binding it in its text.
            submodule = self.modules.get(f"{module.key}.{name}")
            if submodule is not None:
                return self._walk(self.module_target(submodule), use.path[1:], None)
        return None, None, False, False

    def _walk(
        self, target: _Target, rest: tuple[str, ...], via: Binding | None
    ) -> tuple[_Target | None, Binding | None, bool, bool]:
        complete = True
        for name in rest:
            step = self.member(target, name)
            if step is None:
                complete = False
                break
            target = step
        return target, via, complete, False

    # -- edges ---------------------------------------------------------------------

    def add(self, source: str | None, target: str, kind: EdgeType, name: str) -> None:
        if source is None or source == target:
            return
        names = self.edges.setdefault((source, target, kind), [])
        if name not in names:
            names.append(name)

    def link_use(self, use: Use, atom: Atom, builtins: frozenset[str]) -> None:
        target, via, complete, local = self.resolve_path(use)
        dotted = ".".join(use.path)
        if local:
            return
        project = target is not None and target.external is None
        if via is not None and via.atom != use.atom and project:
            self.add(via.atom, use.atom, EdgeType.IMPORT, use.path[0])
        if target is None:
            if via is None and use.path[0] in builtins:
                return
            _note(atom, "unresolved", dotted if via is None else _ref_text(via, use.path))
            return
        if target.external is not None:
            _note(atom, "external", target.external)
            return
        role = use.role if complete else READ
        self.add(target.atom, use.atom, _edge_type(role, target), dotted)

    def link_import(self, binding: Binding, atoms: dict[str, Atom]) -> None:
        ref = binding.ref
        if ref is None:
            return
        target = self.resolve_ref(ref)
        if ref.name is None and ref.spec != ref.module:
            # `import a.b.c` loads `a.b.c`: depend on the deepest project module.
            parts = ref.spec.split(".")
            for size in range(len(parts), 0, -1):
                module = self.modules.get(".".join(parts[:size]))
                if module is not None:
                    target = self.module_target(module)
                    break
        if target is None:
            _note(atoms[binding.atom], "unresolved", _ref_text(binding, (binding.name,)))
            return
        if target.external is not None:
            _note(
                atoms[binding.atom], "external", ref.spec if ref.name is None else target.external
            )
            return
        self.add(target.atom, binding.atom, EdgeType.IMPORT, binding.name)


def _ref_text(binding: Binding, path: tuple[str, ...]) -> str:
    ref = binding.ref
    if ref is None:
        return ".".join(path)
    return ".".join([ref.spec, *path[1:]])


def _choose(bindings: list[Binding], byte: int, import_time: bool) -> Binding:
    """The binding a use sees: the last one, or the last above it at import time."""
    if import_time:
        above = [binding for binding in bindings if binding.byte < byte]
        if above:
            return above[-1]
    return bindings[-1]


def _note(atom: Atom, key: str, name: str) -> None:
    names = atom.context.setdefault(key, [])
    if name not in names:
        names.append(name)


def temporal_edges(atoms: list[Atom]) -> list[Edge]:
    """Order edges that follow the text of one file (see the module docstring)."""
    edges: list[Edge] = []
    header: Atom | None = None
    for index, atom in enumerate(atoms):
        if atom.kind == "module_header" and (
            index == 0 or atoms[index - 1].kind == "module_header"
        ):
            if header is not None:
                edges.append(Edge(header.id, atom.id, EdgeType.TEMPORAL))
            header = atom
            continue
        if header is not None:
            edges.append(Edge(header.id, atom.id, EdgeType.TEMPORAL))
        previous = atoms[index - 1] if index else None
        if (
            atom.kind == "block"
            and previous is not None
            and previous.qualname == atom.qualname
            and previous.id != (header.id if header is not None else None)
        ):
            edges.append(Edge(previous.id, atom.id, EdgeType.TEMPORAL))
    # Classes: header pieces chained, the last one before every member.
    index = 0
    while index < len(atoms):
        atom = atoms[index]
        if atom.kind != "class_header":
            index += 1
            continue
        qualname = atom.qualname
        end = index + 1
        while (
            end < len(atoms)
            and atoms[end].kind == "class_header"
            and atoms[end].qualname == qualname
        ):
            edges.append(Edge(atoms[end - 1].id, atoms[end].id, EdgeType.TEMPORAL))
            end += 1
        last = atoms[end - 1]
        member = end
        while member < len(atoms) and (
            (atoms[member].qualname == qualname and atoms[member].kind != "class_header")
            or atoms[member].qualname.startswith(qualname + ".")
        ):
            edges.append(Edge(last.id, atoms[member].id, EdgeType.TEMPORAL))
            member += 1
        index = end
    return edges


def _script_resolver(importer: str, keys: set[str]) -> Callable[[str], str | None]:
    def resolve(spec: str) -> str | None:
        return resolve_script(importer, spec, keys)

    return resolve


def _scan(
    files: Iterable[FileResult],
    root: Path | None,
    expected: Sequence[tuple[str, str]],
    seen: list[FileResult],
) -> list[ModuleFacts]:
    """The facts of every file, read in `files`' order as each arrives; `expected`
    holds every file's (path, language) beforehand (module names depend on which
    other files exist), and `seen` gets each file once it is scanned."""
    present = {script_key(path) for path, _ in expected}
    scripts = {script_key(path) for path, language in expected if language != "python"}
    modules: list[ModuleFacts] = []
    for result in files:
        seen.append(result)
        # Atomization's tree, when it kept one, saves parsing the file again. It is
        # released once read, so the trees of a large input are not all alive at
        # once longer than needed (each weighs many times its source).
        kept, result.tree = result.tree, None
        if not result.atoms:
            continue
        source = result.joined()
        tree = kept if len(source) == result.size_bytes else None
        if result.language == "python":
            key, package = python_module(result.path, present, root)
            modules.append(scan_python(result.atoms, source, key, package, tree))
        else:
            key = script_key(result.path)
            modules.append(
                scan_script(
                    result.atoms,
                    source,
                    key,
                    result.language,
                    _script_resolver(key, scripts),
                    tree,
                )
            )
    return modules


def build_edges(
    files: Iterable[FileResult],
    *,
    root: str | Path | None = None,
    expected: Sequence[tuple[str, str]] | None = None,
) -> list[Edge]:
    """Every typed edge between the atoms of `files` (prerequisite → dependent).

    One edge per (prerequisite, dependent, type), in a deterministic order, with
    the names that caused it in `metadata["names"]`; `analyze` merges the types of
    one pair. As a side effect every atom's context gains `external` (names used
    from outside the project) and `unresolved` (names found nowhere) when it has
    any, each in order of first use. Syntax trees that atomization kept
    (`keep_trees`) are read instead of parsing again, and released.

    Args:
        files: atomized files; Python modules are named from their paths.
        root: the directory module names are relative to (see `_modules`).
        expected: every file's (path, language), in order, when `files` is an
            iterator yielding them as they are atomized (by worker processes): each
            file is scanned as it arrives, while the workers atomize the next ones.
    """
    if expected is None:
        files = list(files)
        expected = [(result.path, result.language) for result in files]
    with collector_paused():
        return _build_edges(files, Path(root) if root is not None else None, expected)


def _build_edges(
    stream: Iterable[FileResult], base: Path | None, expected: Sequence[tuple[str, str]]
) -> list[Edge]:
    files: list[FileResult] = []
    scanned = _scan(stream, base, expected, files)
    if [(result.path, result.language) for result in files] != list(expected):
        raise GraphError("build_edges: the files that arrived are not the ones expected")
    by_key: dict[str, ModuleFacts] = {}
    for module in scanned:
        by_key[module.key] = module
    linker = _Linker(by_key)
    edges: list[Edge] = []
    for result in files:
        edges.extend(temporal_edges(result.atoms))
    for module in scanned:
        atoms = {atom.id: atom for atom in module.atoms}
        builtins = PYTHON_BUILTINS if module.language == "python" else SCRIPT_BUILTINS
        for binding in module.imports:
            linker.link_import(binding, atoms)
        for ref, atom_id in module.stars:
            target = linker.resolve_ref(ref)
            if target is not None and target.external is None:
                linker.add(target.atom, atom_id, EdgeType.IMPORT, "*")
            elif target is None:
                _note(atoms[atom_id], "unresolved", ref.spec)
        for use in module.uses:
            linker.link_use(use, atoms[use.atom], builtins)
    for (prerequisite, dependent, kind), names in linker.edges.items():
        edges.append(Edge(prerequisite, dependent, kind, metadata={"names": names}))
    _release(scanned)
    return edges


def _release(modules: list[ModuleFacts]) -> None:
    """Break the reference cycles of the scanned facts so that reference counting
    frees them now.

    Classes point at their module and at the scopes their bases are used in, and
    scopes bind names that point back at classes: left as they are, the facts of a
    whole project become cyclic garbage, and the collector pass that follows the
    build (the collector is paused during it) spends seconds finding them.
    """
    for module in modules:
        for cls in module.classes:
            cls.bases.clear()
            cls.members.clear()
        module.classes.clear()
        module.uses.clear()
        module.scope.names.clear()


def build_graph(
    files: Sequence[FileResult], *, root: str | Path | None = None
) -> tuple[list[Atom], GraphAnalysis]:
    """The atoms of `files` with `depends_on` filled, and the graph's analysis.

    `depends_on` lists the prerequisites an atom waits for after cycle breaking
    (the kept edges), each as `{"atom": id, "type": EDGE_NAME}` with the edge's
    leading type; edges broken to resolve a cycle are not listed there (they stay
    in `GraphAnalysis.cycles`).
    """
    atoms = [atom for result in files for atom in result.atoms]
    edges = build_edges(files, root=root)
    with collector_paused():
        analysis = analyze({atom.id: atom.loc for atom in atoms}, edges)
    waiting: dict[str, list[dict[str, str]]] = {atom.id: [] for atom in atoms}
    for edge in analysis.kept_edges:
        waiting[edge.target].append({"atom": edge.source, "type": edge.type.name})
    for atom in atoms:
        atom.depends_on = waiting[atom.id]
    return atoms, analysis
