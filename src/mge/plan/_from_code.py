"""A plan made from an existing Python project, whose code becomes the reference.

The rules, in the order they are applied:

- **Project root.** If SRC is a package (it has `__init__.py`), a namespace package
  (a folder without one whose modules import it by name) or a single `.py` file,
  the root is its parent, so the package keeps its name in the plan's paths
  (`h11/_util.py`); otherwise SRC itself is the root. In a src layout (SRC under a
  folder `src`, `--tests` beside that folder) the root is the folder above `src`.
  `files` and `tests` are relative to the root and `reference` points at the root,
  relative to the plan file's directory, so the original file for `files: [x]` is
  `<plan dir>/<reference>/x`.
- **Module names** follow `__init__.py` files up, then folders without one up to
  the root when the top one is a namespace package; a `src` folder is never part of
  a name (`src/pkg/a.py` is `pkg.a`).
- **Modules and tests.** Every `.py` file under SRC is a module, except test code:
  files named `test_*.py` / `*_test.py`, `conftest.py`, anything in a directory
  called `tests` or `test` (inside the package too: `pkg/tests/`), and the
  `--tests` directory or file. Hidden directories, `__pycache__`, virtual
  environments and build output are skipped. Empty files are modules like any
  other (an empty `__init__.py` is a task with nothing to generate).
- **Tasks.** One task per module, its id the dotted module name (a path-based id
  when two files would share a name), its name the first line of the module
  docstring, its complexity from its size: up to 40 lines of code `low`, 150
  `medium`, 400 `high`, beyond that `critical`.
- **Dependencies.** `depends_on` lists the project modules a module imports:
  `import a.b`, `from a import b` (module `a.b` or a name in `a`), relative imports,
  imports inside functions or under `TYPE_CHECKING`, and names a package's
  `__init__` re-exports, which count as imports of the module that defines them.
- **Import cycles.** Real projects have them (through imports inside functions),
  and a plan must not. The modules of one cycle (a strongly connected component)
  share one phase; inside it they are ordered so that module-level imports point
  backwards, and each import that would point forwards is left out of
  `depends_on` and named in the task's description instead.
- **Phases** are import layers: a module with no project imports is in phase 1,
  any other is one phase after the latest phase it imports from.
- **Milestones** group a phase's tasks by package.
- **Tests.** Each test file is listed under every task it imports. A milestone's
  `tests` are the test files that import one of its tasks and nothing that is built
  after it; `acceptance` lists every test file.
- **Copied files.** What the project needs that is not generated code is named so
  that a run copies it: `support` lists the rest of the test code (helper
  modules, `conftest.py`, `__init__.py` and data files under the test
  directories) and the pytest configuration files at the root (`pytest.ini`,
  `.pytest.ini`, `pyproject.toml`, `tox.ini`, `setup.cfg`, `conftest.py`);
  `assets` lists every other file inside the project's packages (`py.typed`,
  data files) and the `.pyi` stub beside a planned module, with its sha256.
  Compiled files (`.pyc`) and the folders skipped above are left out.
  `--support PATH` adds what these rules cannot know: a file at the root the
  suite reads, the package's installed metadata (`pkg.egg-info/`).
"""

from __future__ import annotations

import functools
import heapq
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from mge.errors import PlanError
from mge.plan._check import file_sha256, strongly_connected
from mge.plan._from_code_js import from_js_code, is_js_project
from mge.plan._imports import ModuleInfo, Resolver, analyse
from mge.plan._models import (
    TASK_ID_PATTERN,
    Asset,
    Atomization,
    Milestone,
    Phase,
    Plan,
    Task,
)
from mge.plan._task_size import complexity_of

_SKIP_DIRS = {
    "__pycache__",
    "node_modules",
    "site-packages",
    "build",
    "dist",
    "venv",
    "env",
}
_TEST_DIRS = {"tests", "test"}
_COMPILED = (".pyc", ".pyo")
_JUNK_FILES = {".DS_Store", "Thumbs.db"}
# At the project root, what configures (or takes part in) a pytest run.
_ROOT_SUPPORT = (
    "pytest.ini",
    ".pytest.ini",
    "pyproject.toml",
    "tox.ini",
    "setup.cfg",
    "conftest.py",
)
_MAX_DEFINES = 12
_UNSAFE_ID_CHARS = re.compile(r"[^A-Za-z0-9_.\-]")


@dataclass(slots=True)
class _Source:
    path: str  # relative to the project root, POSIX
    info: ModuleInfo
    task_id: str = ""


def _skip_dir(name: str) -> bool:
    return name.startswith(".") or name in _SKIP_DIRS or name.endswith(".egg-info")


def _python_files(top: Path) -> list[Path]:
    if top.is_file():
        return [top] if top.suffix == ".py" else []
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(top):
        dirnames[:] = sorted(d for d in dirnames if not _skip_dir(d))
        found.extend(Path(dirpath) / f for f in sorted(filenames) if f.endswith(".py"))
    return found


def _is_test_file(path: Path) -> bool:
    return path.name.startswith("test_") or path.name.endswith("_test.py")


def _module_name(file: Path, root: Path, is_namespace: Callable[[Path], bool]) -> tuple[str, bool]:
    """The dotted name Python would import the file by: up through `__init__.py`
    files, then up through folders without one as far as the project root when the
    top one is a namespace package (see `_namespace_package`); a `src` folder is
    never part of a name (its packages are imported without it)."""
    is_package = file.name == "__init__.py"
    parts = [] if is_package else [file.stem]
    folder = file.parent
    while (folder / "__init__.py").is_file() and folder.parent != folder:
        parts.insert(0, folder.name)
        folder = folder.parent
    namespace: list[str] = []
    while folder != root and root in folder.parents and folder.name.isidentifier():
        if folder.name == "src":
            namespace = []
            break
        namespace.insert(0, folder.name)
        folder = folder.parent
    if folder != root or (namespace and not is_namespace(root / namespace[0])):
        namespace = []  # a plain folder of scripts, not a package that is imported
    return ".".join(namespace + parts) or file.stem, is_package


def _namespace_package(folder: Path) -> bool:
    """A folder without `__init__.py` whose own modules import it by its name (`from
    ns.sub import x` inside `ns/`): a namespace package, not a project folder."""
    if not folder.is_dir() or not folder.name.isidentifier():
        return False
    own = re.compile(rf"^\s*(?:from|import)\s+{folder.name}[.\s]".encode(), re.MULTILINE)
    return any(own.search(file.read_bytes()) for file in _python_files(folder))


def _relative(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix()


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def _collect(src: Path, root: Path, tests_dir: Path | None) -> tuple[list[_Source], list[_Source]]:
    """The project's modules and its test files.

    A test file also gets the imports of the `conftest.py` files above it: pytest
    loads them first, so a test needs what their fixtures import.
    """
    modules: list[_Source] = []
    tests: list[_Source] = []
    conftests: list[_Source] = []
    files = _python_files(src)
    is_namespace = functools.cache(_namespace_package)  # one scan per folder and plan
    if tests_dir is not None:
        files += [f for f in _python_files(tests_dir) if not _inside(f, src)]
    for file in files:
        rel = _relative(file, root)
        is_test_code = _test_code(file, rel, tests_dir)
        name, is_package = _module_name(file, root, is_namespace)
        info = analyse(name, is_package, file.read_bytes())
        if not is_test_code:
            modules.append(_Source(rel, info))
        elif _is_test_file(file):
            tests.append(_Source(rel, info))
        elif file.name == "conftest.py":
            conftests.append(_Source(rel, info))
    for test in tests:
        for conftest in conftests:
            folder = conftest.path.rpartition("/")[0]
            if not folder or test.path.startswith(folder + "/"):
                test.info.imports.extend(conftest.info.imports)
    return modules, tests


def _test_code(file: Path, rel: str, tests_dir: Path | None) -> bool:
    """Part of the test suite rather than of the project: under the `--tests`
    directory or a directory called `tests`/`test`, or a test or conftest file."""
    return (
        (tests_dir is not None and _inside(file, tests_dir))
        or _is_test_file(file)
        or file.name == "conftest.py"
        or any(part in _TEST_DIRS for part in Path(rel).parts[:-1])
    )


def _all_files(top: Path) -> list[Path]:
    """Every file under `top` (or `top` itself), but compiled code and what
    `_skip_dir` skips."""
    if top.is_file():
        return [top]
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(top):
        dirnames[:] = sorted(d for d in dirnames if not _skip_dir(d))
        found.extend(
            Path(dirpath) / f
            for f in sorted(filenames)
            if not f.endswith(_COMPILED) and f not in _JUNK_FILES
        )
    return found


def _package_top(source: _Source) -> str | None:
    """The folder of the top-level package a module belongs to (`src/pkg` for
    `src/pkg/sub/m.py`, module `pkg.sub.m`), or None for a module outside any."""
    folders = source.path.split("/")[:-1]
    depth = source.info.name.count(".") + (1 if source.info.is_package else 0)
    if depth == 0 or depth > len(folders):
        return None
    return "/".join(folders[: len(folders) - depth + 1])


def _copied(
    src: Path,
    root: Path,
    tests_dir: Path | None,
    modules: list[_Source],
    test_files: list[_Source],
) -> tuple[list[str], list[Asset]]:
    """The files copied into the project rather than generated: (support, assets).

    Support is what the suite needs besides its test files: every other file of
    the test code (helper modules, `conftest.py`, `__init__.py`, data) and the
    pytest configuration files at the project root. Assets are the other files
    inside the project's packages (`py.typed`, data) and the `.pyi` stub of a
    planned module, each with its sha256.
    """
    taken = {s.path for s in modules} | {s.path for s in test_files}
    packages = {top for top in map(_package_top, modules) if top is not None}
    stubs = {s.path.removesuffix(".py") + ".pyi" for s in modules}
    files = _all_files(src)
    if tests_dir is not None:
        files += [f for f in _all_files(tests_dir) if not _inside(f, src)]
    support: set[str] = set()
    assets: dict[str, Asset] = {}
    for file in files:
        rel = _relative(file, root)
        if rel in taken:
            continue
        if _test_code(file, rel, tests_dir):
            support.add(rel)
        elif rel in stubs or any(rel.startswith(top + "/") for top in packages):
            assets[rel] = Asset(path=rel, sha256=file_sha256(file))
    support.update(name for name in _ROOT_SUPPORT if (root / name).is_file() and name not in taken)
    return sorted(support), [assets[path] for path in sorted(assets)]


def _extra_support(paths: Iterable[str | Path], root: Path, taken: set[str]) -> set[str]:
    """The files of the `support` paths given by hand (a directory: all its files,
    hidden, build and metadata folders included, since it was named on purpose),
    but planned modules and test files."""
    found: set[str] = set()
    for given in paths:
        path = Path(given).resolve()
        if not path.exists():
            raise PlanError(f"support path not found: {given}")
        if not _inside(path, root) or path == root:
            raise PlanError(f"support path {given} is not inside the project root {root}")
        files = [path] if path.is_file() else [f for f in path.rglob("*") if f.is_file()]
        found.update(
            rel
            for rel in (_relative(f, root) for f in files)
            if rel not in taken
            and not rel.endswith(_COMPILED)
            and "__pycache__" not in Path(rel).parts
        )
    return found


def _safe_id(text: str) -> str:
    """Make a task id out of a module name that Python would accept but the plan not.

    File names such as `2to3.py` or `café.py` are legal modules yet not plan ids.
    """
    cleaned = _UNSAFE_ID_CHARS.sub("_", text)
    return cleaned if re.match(TASK_ID_PATTERN, cleaned) else f"_{cleaned}"


def _assign_ids(modules: list[_Source]) -> None:
    counts: dict[str, int] = {}
    for source in modules:
        counts[source.info.name] = counts.get(source.info.name, 0) + 1
    taken: set[str] = set()
    for source in modules:
        if counts[source.info.name] == 1:
            wanted = _safe_id(source.info.name)
        else:
            stem = source.path.removesuffix(".py").removesuffix("/__init__")
            wanted = _safe_id(stem.replace("/", "."))
        task_id, suffix = wanted, 1
        while task_id in taken:
            suffix += 1
            task_id = f"{wanted}_{suffix}"
        taken.add(task_id)
        source.task_id = task_id


def _intra_order(members: list[str], eager: dict[str, set[str]]) -> list[str]:
    """Order one cycle's modules so that module-level imports point backwards.

    Kahn's algorithm over the eager edges, smallest name first; if the eager edges
    themselves form a cycle, the module with the fewest unplaced eager imports goes
    next, so the order is always total and deterministic.
    """
    member_set = set(members)
    waiting = {m: {d for d in eager[m] if d in member_set and d != m} for m in members}
    placed: list[str] = []
    ready = [m for m in members if not waiting[m]]
    heapq.heapify(ready)
    remaining = set(members)
    while remaining:
        stuck = not ready  # the eager imports left form a cycle of their own
        node = min(remaining, key=lambda m: (len(waiting[m]), m)) if stuck else heapq.heappop(ready)
        if node not in remaining:
            continue
        remaining.discard(node)
        placed.append(node)
        for other in remaining:
            if node in waiting[other]:
                waiting[other].discard(node)
                if not waiting[other]:
                    heapq.heappush(ready, other)
    return placed


def _first_line(text: str | None) -> str | None:
    if not text:
        return None
    line = text.strip().splitlines()[0].strip().rstrip(".")
    return line[:200] or None


def _first_paragraph(text: str | None) -> str:
    if not text:
        return ""
    return " ".join(text.strip().split("\n\n")[0].split())


def _defines(info: ModuleInfo) -> str:
    shown = [
        f"{name}()" if kind == "function" else name
        for name, kind in info.defined.items()
        if not name.startswith("_")
    ]
    if not shown:
        return ""
    more = f" and {len(shown) - _MAX_DEFINES} more" if len(shown) > _MAX_DEFINES else ""
    return "Defines " + ", ".join(shown[:_MAX_DEFINES]) + more + "."


def _default_name(src: Path, modules: list[_Source]) -> str:
    """The one top-level package (regular or namespace) of the project if there is
    one, else SRC's name."""
    tops = {s.info.name.partition(".")[0] for s in modules}
    packages = {s.info.name for s in modules if s.info.is_package}
    inside = all("." in s.info.name for s in modules)  # a namespace package has no module
    if len(tops) == 1 and (tops <= packages or inside):
        return tops.pop()
    return src.stem if src.is_file() else src.name


def _describe(info: ModuleInfo, cycle: list[str], left_out: list[str]) -> str:
    summary = _first_paragraph(info.docstring)
    if summary.rstrip(".") == _name(info):
        summary = ""  # the task's name says it already
    parts = [summary, _defines(info)]
    if info.parse_error:
        parts.append(f"The original does not parse ({info.parse_error}); no imports were read.")
    if cycle:
        more = f" and {len(cycle) - _MAX_DEFINES} more" if len(cycle) > _MAX_DEFINES else ""
        parts.append("In an import cycle with " + ", ".join(cycle[:_MAX_DEFINES]) + more + ".")
    if left_out:
        parts.append(
            "Also imports " + ", ".join(left_out) + ", built after it in the cycle (not in"
            " depends_on)."
        )
    return "\n".join(p for p in parts if p)


def _name(info: ModuleInfo) -> str:
    kind = "Package" if info.is_package else "Module"
    return _first_line(info.docstring) or f"{kind} {info.name}"


def _dependencies(
    sources: Iterable[_Source], resolver: Resolver
) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    all_deps: dict[str, set[str]] = {}
    eager: dict[str, set[str]] = {}
    for source in sources:
        name = source.info.name
        all_deps[name], eager[name] = set(), set()
        for ref in source.info.imports:
            for target, is_eager in resolver.targets(ref):
                if target == name:
                    continue
                all_deps[name].add(target)
                if is_eager:
                    eager[name].add(target)
    return all_deps, eager


def _layers(names: list[str], deps: dict[str, set[str]]) -> tuple[dict[str, int], list[list[str]]]:
    graph = {n: sorted(deps[n]) for n in names}
    components = strongly_connected(graph)  # dependencies come out first
    layer: dict[str, int] = {}
    for component in components:
        members = set(component)
        outside = [layer[d] for m in component for d in deps[m] if d not in members]
        level = max(outside, default=-1) + 1
        for m in component:
            layer[m] = level
    return layer, [sorted(c) for c in components if len(c) > 1]


@dataclass(slots=True)
class _Project:
    """The analysed project: what phases, milestones and tasks are built from."""

    modules: list[_Source]
    by_name: dict[str, _Source]  # the first module of each dotted name
    deps: dict[str, set[str]]
    layer: dict[str, int]
    cycle_of: dict[str, list[str]]
    position: dict[str, int]  # order inside an import cycle
    test_targets: dict[str, set[str]]  # test path -> task ids it imports

    def primary(self, source: _Source) -> bool:
        """False for a second module with an already-seen dotted name (scripts in two
        folders): it gets a task in the first layer, and no import resolves to it."""
        return self.by_name[source.info.name] is source

    def level_of(self, source: _Source) -> int:
        return self.layer[source.info.name] if self.primary(source) else 0

    def built_before(self, dep: str, module: str) -> bool:
        if dep not in self.cycle_of.get(module, ()):
            return True
        return self.position[dep] < self.position[module]

    def tests_of(self, task_id: str) -> list[str]:
        return sorted(path for path, ids in self.test_targets.items() if task_id in ids)


def _analyse_project(modules: list[_Source], test_files: list[_Source]) -> _Project:
    _assign_ids(modules)
    by_name: dict[str, _Source] = {}
    for source in modules:
        by_name.setdefault(source.info.name, source)
    resolver = Resolver({n: s.info for n, s in by_name.items()})
    deps, eager = _dependencies(by_name.values(), resolver)
    layer, cycles = _layers(sorted(by_name), deps)
    position = {
        member: index for cycle in cycles for index, member in enumerate(_intra_order(cycle, eager))
    }
    test_targets = {
        test.path: {
            by_name[target].task_id
            for ref in test.info.imports
            for target, _ in resolver.targets(ref)
        }
        for test in test_files
    }
    return _Project(
        modules=modules,
        by_name=by_name,
        deps=deps,
        layer=layer,
        cycle_of={m: cycle for cycle in cycles for m in cycle},
        position=position,
        test_targets=test_targets,
    )


def _task(project: _Project, source: _Source) -> Task:
    module = source.info.name
    primary = project.primary(source)
    deps = sorted(project.deps[module]) if primary else []
    kept = [d for d in deps if project.built_before(d, module)]
    left_out = [d for d in deps if not project.built_before(d, module)]
    cycle = [m for m in project.cycle_of.get(module, []) if m != module] if primary else []
    return Task(
        id=source.task_id,
        name=_name(source.info),
        description=_describe(
            source.info,
            [project.by_name[m].task_id for m in cycle],
            [project.by_name[d].task_id for d in left_out],
        ),
        files=[source.path],
        depends_on=[project.by_name[d].task_id for d in kept],
        complexity=complexity_of(source.info.loc),
        tests=project.tests_of(source.task_id),
    )


def _phase(project: _Project, level: int, done: set[str]) -> Phase:
    """One import layer; `done` holds the ids of the tasks of earlier layers."""
    in_phase = sorted(
        (s for s in project.modules if project.level_of(s) == level),
        key=lambda s: (
            s.info.package,
            project.position.get(s.info.name, 0) if project.primary(s) else 0,
            s.path,
        ),
    )
    milestones: list[Milestone] = []
    for package in sorted({s.info.package for s in in_phase}):
        tasks = [_task(project, s) for s in in_phase if s.info.package == package]
        own = {t.id for t in tasks}
        package_doc = (
            project.by_name[package].info.docstring if package in project.by_name else None
        )
        milestones.append(
            Milestone(
                name=package or "top-level modules",
                description=_first_paragraph(package_doc),
                tasks=tasks,
                # Component tests: those that can run once this milestone is done.
                tests=sorted(
                    path
                    for path, targets in project.test_targets.items()
                    if targets & own and targets <= done | own
                ),
            )
        )
    return Phase(
        name=f"Layer {level + 1}",
        description=(
            "Modules that import nothing else from the project."
            if level == 0
            else "Modules whose project imports are all in earlier layers"
            " (or in an import cycle inside this one)."
        ),
        milestones=milestones,
    )


def from_code(
    src: str | Path,
    tests: str | Path | None = None,
    name: str | None = None,
    *,
    plan_dir: str | Path | None = None,
    support: Iterable[str | Path] = (),
) -> Plan:
    """Make a plan from a Python project; the project becomes the plan's reference.

    A folder of TypeScript or JavaScript without Python (or one such file) is planned
    by `mge.plan._from_code_js` instead: its root is the folder with package.json.

    Args:
        src: a package directory, a project directory or a single `.py` file.
        tests: a directory or file of tests inside the project root, in addition to
            the test files found under `src`.
        name: the plan's name; defaults to the package or directory name.
        plan_dir: where the plan file will be written, so that `reference` can be
            relative to it; without it `reference` is an absolute path.
        support: more files or directories inside the project root that the tests
            need and the rules below do not find (a data file at the root the
            suite reads, the package's installed metadata); added to `support`.

    Returns:
        A plan that passes `check_plan`.

    Raises:
        PlanError: `src`, `tests` or a `support` path do not exist, one of them is
            outside the project root, or there is no Python module to plan.
    """
    if name is not None and not name.strip():
        raise PlanError("the plan name must not be empty")
    src_path = Path(src).resolve()
    if not src_path.exists():
        raise PlanError(f"source not found: {src}")
    if is_js_project(src_path):
        return from_js_code(src_path, tests, name, plan_dir=plan_dir, support=list(support))
    is_package = (
        (src_path / "__init__.py").is_file() or src_path.is_file() or _namespace_package(src_path)
    )
    root = src_path.parent if is_package else src_path
    tests_path: Path | None = None
    if tests is not None:
        tests_path = Path(tests).resolve()
        if not tests_path.exists():
            raise PlanError(f"tests not found: {tests}")
        if (
            root.name == "src"
            and not _inside(tests_path, root)
            and _inside(tests_path, root.parent)
        ):
            root = root.parent  # src layout: the project is the folder above `src`
        if not _inside(tests_path, root):
            raise PlanError(f"tests {tests} are outside the project root {root}")

    modules, test_files = _collect(src_path, root, tests_path)
    if not modules:
        raise PlanError(f"no Python modules found in {src}")
    project = _analyse_project(modules, test_files)
    found, assets = _copied(src_path, root, tests_path, modules, test_files)
    extra = _extra_support(support, root, {s.path for s in [*modules, *test_files]})
    support_files = sorted(set(found) | extra)
    assets = [asset for asset in assets if asset.path not in extra]
    levels = sorted({project.level_of(s) for s in modules})
    phases: list[Phase] = []
    done: set[str] = set()
    for level in levels:
        phase = _phase(project, level, done)
        done |= {t.id for m in phase.milestones for t in m.tasks}
        phases.append(phase)

    if plan_dir is None:
        reference = root.as_posix()
    else:
        reference = Path(os.path.relpath(root, Path(plan_dir).resolve())).as_posix()
    return Plan(
        name=name or _default_name(src_path, modules),
        language="python",
        atomization=Atomization(),
        reference=reference,
        acceptance=sorted(project.test_targets),
        support=support_files,
        assets=assets,
        phases=phases,
    )


__all__ = ["from_code"]
