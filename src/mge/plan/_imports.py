"""What a Python module imports from its own project, read with the stdlib `ast`.

Only imports that name a module of the project count. Each is classed *eager*
(runs when the module is imported) or *deferred* (inside a function, or under
`if TYPE_CHECKING:`): working code can only have import cycles through deferred
imports or through `import pkg` forms, so the eager edges tell which side of a
cycle to build first.

`from pkg import Name`, where `pkg/__init__.py` only re-exports `Name` from
`pkg.sub`, counts as an import of `pkg.sub`, the module that really provides it;
otherwise almost every module of a package that imports from its own `__init__`
would sit in one import cycle with it.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field


@dataclass(slots=True)
class ImportRef:
    """One imported name: `module` is absolute; `name` is None for a module import."""

    module: str
    name: str | None
    eager: bool
    # For `import pkg` / `import a.b as x`: the attribute chains read through the bound
    # name (`pkg.sub.func` -> ("sub", "func")), each with whether it is read at import
    # time. `bare` says the name is also used on its own, so all of `pkg` is needed.
    uses: list[tuple[tuple[str, ...], bool]] = field(default_factory=list)
    bare: bool = False


@dataclass(slots=True)
class ModuleInfo:
    """What from-code needs to know about one source file."""

    name: str
    is_package: bool
    docstring: str | None = None
    defined: dict[str, str] = field(default_factory=dict)  # public name -> kind
    all_names: list[str] | None = None
    imports: list[ImportRef] = field(default_factory=list)
    bindings: dict[str, ImportRef] = field(default_factory=dict)  # module-level from-imports
    star_from: list[str] = field(default_factory=list)
    loc: int = 0
    parse_error: str | None = None

    @property
    def package(self) -> str:
        """The package a module belongs to; a package's `__init__` belongs to itself."""
        return self.name if self.is_package else self.name.rpartition(".")[0]


def _is_type_checking(test: ast.expr) -> bool:
    if isinstance(test, ast.Name):
        return test.id == "TYPE_CHECKING"
    return isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"


def _absolute(info: ModuleInfo, module: str | None, level: int) -> str | None:
    if level == 0:
        return module
    parts = info.package.split(".") if info.package else []
    if level - 1 > len(parts):
        return None  # beyond the top-level package: Python would refuse it too
    base = parts[: len(parts) - (level - 1)]
    if module:
        base.append(module)
    return ".".join(base) or None


class _Collector(ast.NodeVisitor):
    def __init__(self, info: ModuleInfo) -> None:
        self.info = info
        self.depth = 0  # > 0 inside a function or a TYPE_CHECKING block
        self.aliases: dict[str, list[ImportRef]] = {}

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            ref = ImportRef(alias.name, None, self.depth == 0)
            self.info.imports.append(ref)
            if alias.asname or "." not in alias.name:
                self.aliases.setdefault(alias.asname or alias.name, []).append(ref)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        chain = [node.attr]
        base: ast.expr = node.value
        while isinstance(base, ast.Attribute):
            chain.append(base.attr)
            base = base.value
        if isinstance(base, ast.Name) and base.id in self.aliases:
            for ref in self.aliases[base.id]:
                ref.uses.append((tuple(reversed(chain)), self.depth == 0))
        else:
            self.generic_visit(node)

    def visit_Name(self, node: ast.Name) -> None:
        if isinstance(node.ctx, ast.Load):
            for ref in self.aliases.get(node.id, []):
                ref.bare = True

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        base = _absolute(self.info, node.module, node.level)
        if base is None:
            return
        for alias in node.names:
            if alias.name == "*":
                ref = ImportRef(base, None, self.depth == 0)
                if self.depth == 0:
                    self.info.star_from.append(base)
            else:
                ref = ImportRef(base, alias.name, self.depth == 0)
                if self.depth == 0:
                    self.info.bindings[alias.asname or alias.name] = ref
            self.info.imports.append(ref)

    def _deferred(self, node: ast.AST) -> None:
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1

    visit_FunctionDef = _deferred
    visit_AsyncFunctionDef = _deferred
    visit_Lambda = _deferred

    def visit_If(self, node: ast.If) -> None:
        if not _is_type_checking(node.test):
            self.generic_visit(node)
            return
        self.depth += 1
        for child in node.body:
            self.visit(child)
        self.depth -= 1
        for child in node.orelse:
            self.visit(child)


def _literal_names(value: ast.expr) -> list[str] | None:
    if not isinstance(value, ast.List | ast.Tuple):
        return None
    names = [e.value for e in value.elts if isinstance(e, ast.Constant)]
    if len(names) != len(value.elts) or not all(isinstance(n, str) for n in names):
        return None
    return [str(n) for n in names]


def _top_level(info: ModuleInfo, tree: ast.Module) -> None:
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            info.defined[node.name] = "class"
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            info.defined[node.name] = "function"
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if isinstance(target, ast.Name):
                    if target.id == "__all__" and node.value is not None:
                        info.all_names = _literal_names(node.value)
                    info.defined.setdefault(target.id, "constant")


def count_loc(source: str) -> int:
    """Lines that are not blank and not only a comment (the atomizer's LOC)."""
    return sum(
        1 for line in source.splitlines() if line.strip() and not line.lstrip().startswith("#")
    )


def analyse(name: str, is_package: bool, source: bytes) -> ModuleInfo:
    """Read one module's docstring, top-level names and imports; never raises.

    A file that does not parse (another Python version, a template) is kept with no
    imports and its error noted, so that one odd file cannot stop a whole project.
    """
    info = ModuleInfo(name=name, is_package=is_package)
    text = source.decode("utf-8", errors="replace")
    info.loc = count_loc(text)
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError) as exc:
        line = getattr(exc, "lineno", None)
        info.parse_error = f"{type(exc).__name__}" + (f" at line {line}" if line else "")
        return info
    info.docstring = ast.get_docstring(tree)
    _top_level(info, tree)
    _Collector(info).visit(tree)
    return info


class Resolver:
    """Maps import statements to the project's modules, through package re-exports."""

    def __init__(self, modules: dict[str, ModuleInfo]) -> None:
        self.modules = modules

    def _internal_prefix(self, dotted: str) -> str | None:
        parts = dotted.split(".")
        for end in range(len(parts), 0, -1):
            candidate = ".".join(parts[:end])
            if candidate in self.modules:
                return candidate
        return None

    def provider(self, module: str, name: str, depth: int = 0) -> str:
        """The module that really defines `name` when it is imported from `module`.

        Re-exports are followed only through packages (`__init__.py`), the one place
        where they are the norm; a chain is cut after 20 steps to survive odd code.
        """
        info = self.modules[module]
        if depth > 20 or not info.is_package or name in info.defined:
            return module
        ref = info.bindings.get(name)
        if ref is not None:
            target = self.resolve(ref, depth + 1)
            if target is not None:
                return target
        for source in info.star_from:
            source_mod = self._internal_prefix(source)
            if source_mod is None or source_mod == module:
                continue
            exported = self.modules[source_mod]
            public = exported.all_names or [n for n in exported.defined if not n.startswith("_")]
            if name in public or name in exported.bindings:
                return self.provider(source_mod, name, depth + 1)
        return module

    def _follow(self, module: str, chain: tuple[str, ...]) -> str:
        for attr in chain:
            submodule = f"{module}.{attr}"
            if submodule not in self.modules:
                return self.provider(module, attr)
            module = submodule
        return module

    def targets(self, ref: ImportRef) -> list[tuple[str, bool]]:
        """The project modules one import depends on, each with whether it is eager.

        `import pkg as p` followed by `p.Graph` depends on the module that defines
        `Graph`, not on all of `pkg`, and only eagerly if `p.Graph` is read at import
        time (a base class, a module constant), not inside a function.
        """
        if ref.name is None and ref.uses and not ref.bare and ref.module in self.modules:
            return sorted(
                {
                    (self._follow(ref.module, chain), ref.eager and eager)
                    for chain, eager in ref.uses
                }
            )
        target = self.resolve(ref)
        return [] if target is None else [(target, ref.eager)]

    def resolve(self, ref: ImportRef, depth: int = 0) -> str | None:
        """The project module an import depends on, or None if it is from elsewhere."""
        if ref.name is not None:
            submodule = f"{ref.module}.{ref.name}"
            if submodule in self.modules:
                return submodule
            if ref.module in self.modules:
                return self.provider(ref.module, ref.name, depth + 1)
        return self._internal_prefix(ref.module)


__all__ = ["ImportRef", "ModuleInfo", "Resolver", "analyse", "count_loc"]
