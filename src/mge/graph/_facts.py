"""What a scanner learns from one file, before any name is linked across files.

A scanner (`_python`, `_script`) turns one file into a `ModuleFacts`: its scopes
with the names each binds, its classes, and every use of a name with the role it
plays (a call, a type, a read). The linker (`_resolve`) then resolves every use by
scope and across imports. Keeping the two apart lets Python and TypeScript share
one resolution algorithm.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass, field

from tree_sitter import Node

from mge.atomize import Atom

__all__ = [
    "Binding",
    "ClassFacts",
    "ImportRef",
    "ModuleFacts",
    "Scope",
    "Use",
    "atom_locator",
    "innermost",
    "inside",
    "locate",
    "merge_spans",
    "nest_scopes",
    "text_order",
]

# Roles of a use.
CALL = "call"
TYPE = "type"
READ = "read"

# Kinds of a binding.
FUNCTION = "function"
CLASS = "class"
VARIABLE = "variable"
IMPORT = "import"


@dataclass(frozen=True, slots=True)
class ImportRef:
    """What an import binds: a module (`name` None) or a name inside one.

    `module` is the absolute dotted name (Python) or the resolved file key
    (TypeScript/JavaScript); `spec` is the text the source wrote, for reports of
    names from outside the project.
    """

    module: str
    name: str | None
    spec: str


@dataclass(slots=True)
class Binding:
    """One place where a scope binds a name."""

    name: str
    atom: str
    kind: str
    byte: int
    ref: ImportRef | None = None
    cls: ClassFacts | None = None
    # TypeScript `export { a as b }` / `export default a`: the local name exported.
    alias_of: str | None = None


@dataclass(slots=True)
class Scope:
    """A module, class, function, lambda or comprehension scope."""

    kind: str
    start: int
    end: int
    parent: Scope | None = None
    names: dict[str, list[Binding]] = field(default_factory=dict)
    declared_global: set[str] = field(default_factory=set)
    cls: ClassFacts | None = None
    # For a method: its class and the name of its first parameter (`self`, `cls`).
    owner: ClassFacts | None = None
    self_name: str | None = None

    def bind(self, binding: Binding) -> None:
        self.names.setdefault(binding.name, []).append(binding)


@dataclass(slots=True)
class ClassFacts:
    """A class: where its header is, what it binds, and its bases (resolved lazily)."""

    module: ModuleFacts
    qualname: str
    atom: str
    members: dict[str, list[Binding]] = field(default_factory=dict)
    bases: list[Use] = field(default_factory=list)


@dataclass(slots=True)
class Use:
    """A name read in one atom: `path` is the dotted chain (`("self", "check")`)."""

    atom: str
    path: tuple[str, ...]
    role: str
    byte: int
    scope: Scope


@dataclass(slots=True)
class ModuleFacts:
    """Everything one file contributes to the graph."""

    key: str
    file: str
    language: str
    atoms: list[Atom]
    scope: Scope
    uses: list[Use] = field(default_factory=list)
    # Every import binding anywhere in the file (module, class or function level).
    imports: list[Binding] = field(default_factory=list)
    # `from m import *` / `export * from "m"`, in file order: (ref, atom id).
    stars: list[tuple[ImportRef, str]] = field(default_factory=list)
    # TypeScript/JavaScript export names that differ from the local ones.
    exports: dict[str, Binding] = field(default_factory=dict)
    classes: list[ClassFacts] = field(default_factory=list)

    @property
    def is_package(self) -> bool:
        """A Python package's `__init__`: its submodules are names inside it."""
        return self.language == "python" and self.file.rsplit("/", 1)[-1].startswith("__init__.")

    @property
    def first_atom(self) -> str | None:
        return self.atoms[0].id if self.atoms else None


def _start(node: Node) -> int:
    return node.start_byte


def text_order(found: dict[str, list[Node]], names: Iterable[str]) -> None:
    """Sort the named capture lists of a query into text order, in place.

    A query cursor hands back the nodes of one capture name in an order that
    varies from run to run (the set is stable, the order is not), and the order of
    bindings decides which one wins. Lists whose order nothing depends on are
    left alone: sorting the identifiers would cost a tenth of the scan.
    """
    for name in names:
        nodes = found.get(name)
        if nodes:
            nodes.sort(key=_start)


def merge_spans(pairs: list[tuple[int, int]]) -> tuple[list[int], list[int]]:
    """The union of spans as disjoint sorted intervals (starts, ends), for `inside`."""
    starts: list[int] = []
    ends: list[int] = []
    for start, end in sorted(pairs):
        if ends and start < ends[-1]:
            ends[-1] = max(ends[-1], end)
        else:
            starts.append(start)
            ends.append(end)
    return starts, ends


def inside(starts: list[int], ends: list[int], byte: int) -> bool:
    slot = bisect_right(starts, byte) - 1
    return slot >= 0 and byte < ends[slot]


def atom_locator(atoms: list[Atom]) -> tuple[list[int], list[str]]:
    """Start bytes and ids of a file's atoms, for `locate`."""
    return [atom.start_byte for atom in atoms], [atom.id for atom in atoms]


def locate(starts: list[int], ids: list[str], byte: int) -> str:
    """The id of the atom holding `byte` (atoms partition the file)."""
    slot = bisect_right(starts, byte) - 1
    return ids[slot if slot > 0 else 0]


def nest_scopes(root: Scope, scopes: list[Scope]) -> list[Scope]:
    """Set each scope's parent from span containment; returns them sorted by start."""
    ordered = sorted(scopes, key=lambda scope: (scope.start, -scope.end))
    stack = [root]
    for scope in ordered:
        while len(stack) > 1 and stack[-1].end <= scope.start:
            stack.pop()
        scope.parent = stack[-1]
        stack.append(scope)
    return ordered


def innermost(root: Scope, ordered: list[Scope], positions: list[int]) -> list[Scope]:
    """The innermost scope holding each position, by one sweep in position order."""
    result: list[Scope] = [root] * len(positions)
    order = sorted(range(len(positions)), key=positions.__getitem__)
    stack = [root]
    index = 0
    for slot in order:
        position = positions[slot]
        while index < len(ordered) and ordered[index].start <= position:
            scope = ordered[index]
            index += 1
            while len(stack) > 1 and stack[-1].end <= scope.start:
                stack.pop()
            stack.append(scope)
        while len(stack) > 1 and stack[-1].end <= position:
            stack.pop()
        result[slot] = stack[-1]
    return result
