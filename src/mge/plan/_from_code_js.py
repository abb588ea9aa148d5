"""A plan made from an existing TypeScript or JavaScript project.

The rules, in the order they are applied:

- **Project root** is the folder with `package.json`: SRC itself or the nearest
  folder above it. A project without one is refused. `files`, `tests` and
  `support` are relative to the root; `reference` points at it.
- **Configuration.** `package.json` gives the default plan name and the test
  runner: `vitest` or `jest` when a dependency or the `test` script names it,
  else `node` (`node --test`); a project using another runner (mocha, ava,
  jasmine, uvu), or both, is refused in one line. A vitest, vite or jest
  configuration at the root is copied as support, never generated;
  `tsconfig.json` (JSON with comments and trailing commas, as `tsc` reads it)
  gives `baseUrl` and `paths`, the aliases imports may use.
- **Modules and tests.** Every `.ts`, `.tsx`, `.mts`, `.cts`, `.js`, `.jsx`,
  `.mjs`, `.cjs` file under SRC is a module, except declaration files (`.d.ts`,
  copied as assets) and test code: `*.test.*` / `*.spec.*` files, anything in a
  folder `__tests__`, `test` or `tests`, and the `--tests` directory or file.
  Hidden folders, `node_modules` and build output (`dist`, `build`, `coverage`)
  are skipped.
- **Module resolution**, as `tsc` resolves for a bundler or node16: a relative
  specifier names a file with one of the extensions above, a `.js`/`.jsx`/`.mjs`/
  `.cjs` specifier also the `.ts`/`.tsx`/`.mts`/`.cts` file of the same stem, a
  folder its `index` file; a specifier matching a `paths` pattern is resolved the
  same way from each of its targets (relative to `baseUrl`, else to the
  tsconfig's folder). Bare package names are outside the project and ignored.
  Imports are read from the syntax tree: `import`/`export ... from`, side-effect
  imports, `import()`, `require()` and `import x = require()`.
- **Tasks, phases, milestones** as for Python: one task per module (its id the
  path without extension, dotted), phases are import layers, the modules of one
  import cycle share a phase and are ordered by name, an import that would point
  forwards is named in the description instead of `depends_on`; milestones group
  a phase's tasks by folder.
- **Tests.** Each test file is listed under every task it imports; a milestone's
  tests are those that import one of its tasks and nothing built after it;
  `acceptance` lists every test file.
- **Copied files.** `support`: the other files of the test code and the root's
  `package.json`, `package-lock.json`, `tsconfig*.json`; `assets`: declaration
  files and JSON data next to the modules, with their sha256.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from mge.atomize import measure_source
from mge.atomize._languages import parse, supported_language
from mge.errors import PlanError
from mge.plan._check import file_sha256, strongly_connected
from mge.plan._models import (
    TASK_ID_PATTERN,
    Asset,
    Atomization,
    Milestone,
    Phase,
    Plan,
    Task,
    TestRunner,
)
from mge.plan._task_size import complexity_of

SOURCE_SUFFIXES = (".ts", ".tsx", ".mts", ".cts", ".js", ".jsx", ".mjs", ".cjs")
_TS_FOR_JS = {".js": (".ts", ".tsx"), ".jsx": (".tsx",), ".mjs": (".mts",), ".cjs": (".cts",)}
_SKIP_DIRS = {"node_modules", "dist", "build", "coverage", "out"}
_TEST_DIRS = {"__tests__", "test", "tests"}
_TEST_NAME = re.compile(r"\.(test|spec)\.[cm]?[jt]sx?$")
_ROOT_SUPPORT = re.compile(r"^(package\.json|package-lock\.json|tsconfig[\w.-]*\.json)$")
_UNSAFE_ID_CHARS = re.compile(r"[^A-Za-z0-9_.\-]")


def project_root(src: Path) -> Path | None:
    """The folder with `package.json`: `src` itself or the nearest one above it."""
    folder = src if src.is_dir() else src.parent
    for candidate in (folder, *folder.parents):
        if (candidate / "package.json").is_file():
            return candidate
    return None


def is_js_project(src: Path) -> bool:
    """True when `src` holds TypeScript or JavaScript and no Python: the plan is made
    by the rules of this module."""
    if src.is_file():
        return src.suffix in SOURCE_SUFFIXES
    if not src.is_dir():
        return False
    found_js = False
    for _dirpath, dirnames, filenames in os.walk(src):
        dirnames[:] = [d for d in dirnames if not _skip_dir(d)]
        if any(f.endswith(".py") for f in filenames):
            return False
        found_js = found_js or any(f.endswith(SOURCE_SUFFIXES) for f in filenames)
    return found_js


_OTHER_RUNNERS = ("mocha", "ava", "jasmine", "uvu")
_OWN_RUNNERS: tuple[TestRunner, ...] = ("vitest", "jest")
#: A runner's configuration at the root: the project's, copied, never generated
#: (it runs in the runner's own process, where the verdict is made).
_RUNNER_CONFIG = re.compile(
    r"^(vitest|vite|jest)\.(config|workspace)(\.[\w-]+)?\.([cm]?[jt]s|json)$"
)


def _test_runner(manifest: dict[str, Any], package: Path) -> TestRunner:
    """The runner the project's `package.json` uses, from its dependencies or its
    `test` script: vitest or jest, else node's; any other, or both, is refused in
    one line."""
    names: set[str] = set()
    for key in ("dependencies", "devDependencies"):
        section = manifest.get(key)
        if isinstance(section, dict):
            names.update(section)
    scripts = manifest.get("scripts")
    script = str(scripts.get("test", "")) if isinstance(scripts, dict) else ""
    words = set(re.findall(r"[\w@/-]+", script))
    other = next((r for r in _OTHER_RUNNERS if r in names or r in words), None)
    supported = "MGE runs node:test, vitest and jest suites"
    if other is not None:
        raise PlanError(f"{package} names the test runner {other}; {supported}")
    named = [r for r in _OWN_RUNNERS if r in names or r in words]
    if len(named) > 1:
        raise PlanError(
            f"{package} names the test runners {' and '.join(named)}; MGE runs one per project"
        )
    return named[0] if named else "node"


def _skip_dir(name: str) -> bool:
    return name.startswith(".") or name in _SKIP_DIRS


def _strip_jsonc(text: str) -> str:
    """JSON with comments and trailing commas (tsconfig's dialect) made plain JSON;
    strings are kept as they are."""
    out: list[str] = []
    pattern = re.compile(r'"(?:\\.|[^"\\])*"|//[^\n]*|/\*.*?\*/', re.DOTALL)
    last = 0
    for match in pattern.finditer(text):
        out.append(text[last : match.start()])
        token = match.group(0)
        out.append(token if token.startswith('"') else " ")
        last = match.end()
    out.append(text[last:])
    return re.sub(r",(\s*[}\]])", r"\1", "".join(out))


def _read_json(path: Path, *, jsonc: bool = False) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
        data = json.loads(_strip_jsonc(text) if jsonc else text)
    except (OSError, ValueError) as exc:
        raise PlanError(f"cannot read {path}: {exc}") from None
    if not isinstance(data, dict):
        raise PlanError(f"{path}: expected a JSON object")
    return data


@dataclass(frozen=True)
class _Aliases:
    """tsconfig `paths`: (prefix, suffix) of each pattern -> target patterns,
    absolute."""

    patterns: tuple[tuple[str, str, tuple[str, ...]], ...] = ()

    @classmethod
    def read(cls, root: Path) -> _Aliases:
        config = root / "tsconfig.json"
        if not config.is_file():
            return cls()
        options = _read_json(config, jsonc=True).get("compilerOptions") or {}
        base = root / str(options.get("baseUrl", "."))
        found: list[tuple[str, str, tuple[str, ...]]] = []
        for pattern, targets in (options.get("paths") or {}).items():
            prefix, star, suffix = str(pattern).partition("*")
            absolute = tuple(str(base / str(t)) for t in targets if isinstance(t, str))
            found.append(
                (prefix, suffix if star else "", absolute) if star else (prefix, "", absolute)
            )
        # The longest prefix wins, as in tsc.
        return cls(tuple(sorted(found, key=lambda p: -len(p[0]))))

    def candidates(self, specifier: str) -> list[Path]:
        for prefix, suffix, targets in self.patterns:
            wildcard = "*" in "".join(targets)
            if wildcard and specifier.startswith(prefix) and specifier.endswith(suffix):
                middle = specifier[len(prefix) : len(specifier) - len(suffix) or None]
                return [Path(t.replace("*", middle)) for t in targets]
            if not wildcard and specifier == prefix:
                return [Path(t) for t in targets]
        return []


def _resolve_file(base: Path, known: set[Path]) -> Path | None:
    """The project file `base` names, trying what tsc tries."""
    tries = [base]
    suffix = base.suffix
    if suffix in _TS_FOR_JS:
        tries += [base.with_suffix(s) for s in _TS_FOR_JS[suffix]]
    tries += [Path(str(base) + s) for s in SOURCE_SUFFIXES]
    tries += [base / f"index{s}" for s in SOURCE_SUFFIXES]
    for path in tries:
        if path in known:
            return path
    return None


_IMPORT_PARENTS = {"import_statement", "export_statement", "import_require_clause"}


def _specifiers(source: bytes, language: str) -> list[str]:
    """Every module specifier the file names, from its syntax tree."""
    tree = parse(source, language)
    found: list[str] = []
    stack = [tree.root_node]
    while stack:
        node = stack.pop()
        if node.type == "string" and node.parent is not None:
            parent = node.parent
            text = source[node.start_byte + 1 : node.end_byte - 1].decode("utf-8", "replace")
            if parent.type in _IMPORT_PARENTS:
                found.append(text)
            elif parent.type == "arguments" and parent.parent is not None:
                call = parent.parent
                callee = call.child_by_field_name("function")
                if (
                    call.type == "call_expression"
                    and callee is not None
                    and callee.type in ("import", "identifier")
                    and source[callee.start_byte : callee.end_byte] in (b"import", b"require")
                ):
                    found.append(text)
        stack.extend(node.children)
    return found


@dataclass
class _Module:
    path: Path
    rel: str
    language: str
    source: bytes
    imports: set[str] = field(default_factory=set)  # rel paths of project modules
    task_id: str = ""


def _language_of(path: Path) -> str:
    return supported_language(path) or "javascript"


def _is_test(rel: str, tests_dir: str | None) -> bool:
    parts = PurePosixPath(rel).parts
    return (
        bool(_TEST_NAME.search(rel))
        or any(part in _TEST_DIRS for part in parts[:-1])
        or (tests_dir is not None and (rel == tests_dir or rel.startswith(tests_dir + "/")))
    )


def _walk(top: Path) -> list[Path]:
    if top.is_file():
        return [top]
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(top):
        dirnames[:] = sorted(d for d in dirnames if not _skip_dir(d))
        found.extend(Path(dirpath) / f for f in sorted(filenames))
    return found


def _summary(source: bytes) -> str | None:
    """The first line of the file's leading comment (`/** ... */` or `//`)."""
    text = source.decode("utf-8", "replace").lstrip()
    if text.startswith("#!"):
        text = text.partition("\n")[2].lstrip()
    if text.startswith("/*"):
        body = text[2 : text.find("*/")] if "*/" in text else ""
        lines = [ln.strip().lstrip("*").strip() for ln in body.splitlines()]
    elif text.startswith("//"):
        lines = [text.partition("\n")[0].lstrip("/").strip()]
    else:
        return None
    first = next((ln for ln in lines if ln), "")
    return first.rstrip(".")[:200] or None


def _task_id(rel: str, taken: set[str]) -> str:
    stem = rel
    for suffix in SOURCE_SUFFIXES:
        if stem.endswith(suffix):
            stem = stem[: -len(suffix)]
            break
    wanted = _UNSAFE_ID_CHARS.sub("_", stem.replace("/", "."))
    if not re.match(TASK_ID_PATTERN, wanted):
        wanted = f"_{wanted}"
    task_id, n = wanted, 1
    while task_id in taken:
        n += 1
        task_id = f"{wanted}_{n}"
    taken.add(task_id)
    return task_id


def from_js_code(
    src: str | Path,
    tests: str | Path | None = None,
    name: str | None = None,
    *,
    plan_dir: str | Path | None = None,
    support: tuple[str | Path, ...] | list[str | Path] = (),
) -> Plan:
    """Make a plan from a TypeScript or JavaScript project (see the module doc).

    Raises:
        PlanError: no `package.json` at or above `src`, `tests` outside the root,
            no module to plan, or an unreadable `package.json` / `tsconfig.json`.
    """
    src_path = Path(src).resolve()
    if not src_path.exists():
        raise PlanError(f"source not found: {src}")
    root = project_root(src_path)
    if root is None:
        raise PlanError(
            f"{src}: no package.json in it or above it; a TypeScript/JavaScript project's"
            " root is the folder with package.json"
        )
    manifest = _read_json(root / "package.json")
    runner = _test_runner(manifest, root / "package.json")
    aliases = _Aliases.read(root)
    tests_rel: str | None = None
    files = _walk(src_path)
    if tests is not None:
        tests_path = Path(tests).resolve()
        if not tests_path.exists():
            raise PlanError(f"tests not found: {tests}")
        if not (tests_path == root or root in tests_path.parents):
            raise PlanError(f"tests {tests} are outside the project root {root}")
        tests_rel = tests_path.relative_to(root).as_posix()
        files += [f for f in _walk(tests_path) if f not in set(files)]

    modules: list[_Module] = []
    test_files: list[_Module] = []
    other: list[Path] = []
    for file in files:
        rel = file.relative_to(root).as_posix()
        is_source = file.suffix in SOURCE_SUFFIXES and not re.search(r"\.d\.[cm]?ts$", file.name)
        if not is_source or _RUNNER_CONFIG.match(rel):
            other.append(file)
            continue
        item = _Module(file, rel, _language_of(file), file.read_bytes())
        (test_files if _is_test(rel, tests_rel) else modules).append(item)
    if not modules:
        raise PlanError(f"no TypeScript or JavaScript modules found in {src}")

    known = {m.path for m in modules} | {t.path for t in test_files}
    by_path = {m.path: m for m in [*modules, *test_files]}
    for item in [*modules, *test_files]:
        for spec in _specifiers(item.source, item.language):
            relative = spec.startswith(".")
            bases = [item.path.parent / spec] if relative else aliases.candidates(spec)
            for base in bases:
                target = _resolve_file(Path(os.path.normpath(base)), known)
                if target is not None and target != item.path:
                    item.imports.add(by_path[target].rel)
                    break

    taken: set[str] = set()
    for module in modules:
        module.task_id = _task_id(module.rel, taken)
    by_rel = {m.rel: m for m in modules}
    deps = {m.rel: {d for d in m.imports if d in by_rel} for m in modules}
    components = strongly_connected({r: sorted(d) for r, d in deps.items()})
    layer: dict[str, int] = {}
    position: dict[str, int] = {}
    cycle_of: dict[str, list[str]] = {}
    for component in components:
        members = set(component)
        outside = [layer[d] for m in component for d in deps[m] if d not in members]
        for index, member in enumerate(sorted(component)):
            layer[member] = max(outside, default=-1) + 1
            position[member] = index
            if len(component) > 1:
                cycle_of[member] = sorted(component)
    test_targets = {
        t.rel: {by_rel[d].task_id for d in t.imports if d in by_rel} for t in test_files
    }

    def task(module: _Module) -> Task:
        mine = deps[module.rel]
        cycle = cycle_of.get(module.rel, [])
        kept = sorted(d for d in mine if d not in cycle or position[d] < position[module.rel])
        left = sorted(mine - set(kept))
        loc, _ = measure_source(module.source, module.language)
        parts = []
        if len(cycle) > 1:
            others = [by_rel[m].task_id for m in cycle if m != module.rel]
            parts.append("In an import cycle with " + ", ".join(others) + ".")
        if left:
            parts.append(
                "Also imports "
                + ", ".join(by_rel[d].task_id for d in left)
                + ", built after it in the cycle (not in depends_on)."
            )
        return Task(
            id=module.task_id,
            name=_summary(module.source) or f"Module {module.rel}",
            description="\n".join(parts),
            files=[module.rel],
            depends_on=[by_rel[d].task_id for d in kept],
            complexity=complexity_of(loc),
            tests=sorted(p for p, ids in test_targets.items() if module.task_id in ids),
        )

    phases: list[Phase] = []
    done: set[str] = set()
    for level in sorted(set(layer.values())):
        in_phase = sorted(
            (m for m in modules if layer[m.rel] == level),
            key=lambda m: (PurePosixPath(m.rel).parent.as_posix(), position[m.rel], m.rel),
        )
        milestones: list[Milestone] = []
        for folder in sorted({PurePosixPath(m.rel).parent.as_posix() for m in in_phase}):
            tasks = [task(m) for m in in_phase if PurePosixPath(m.rel).parent.as_posix() == folder]
            own = {t.id for t in tasks}
            milestones.append(
                Milestone(
                    name=folder if folder != "." else "top-level modules",
                    tasks=tasks,
                    tests=sorted(
                        p for p, ids in test_targets.items() if ids & own and ids <= done | own
                    ),
                )
            )
        done |= {t.id for m in milestones for t in m.tasks}
        phases.append(
            Phase(
                name=f"Layer {level + 1}",
                description=(
                    "Modules that import nothing else from the project."
                    if level == 0
                    else "Modules whose project imports are all in earlier layers"
                    " (or in an import cycle inside this one)."
                ),
                milestones=milestones,
            )
        )

    support_files: set[str] = set()
    assets: list[Asset] = []
    for file in other:
        rel = file.relative_to(root).as_posix()
        if _is_test(rel, tests_rel) or _RUNNER_CONFIG.match(rel):
            support_files.add(rel)
        elif file.name.endswith((".d.ts", ".json")) and not _ROOT_SUPPORT.match(rel):
            assets.append(Asset(path=rel, sha256=file_sha256(file)))
    support_files |= {f.name for f in root.iterdir() if f.is_file() and _ROOT_SUPPORT.match(f.name)}
    for given in support:
        path = Path(given).resolve()
        if not path.exists() or root not in path.parents:
            raise PlanError(f"support path {given} is not inside the project root {root}")
        support_files |= {
            p.relative_to(root).as_posix() for p in ([path] if path.is_file() else _walk(path))
        }
    support_files -= {m.rel for m in modules}

    if plan_dir is None:
        reference = root.as_posix()
    else:
        reference = Path(os.path.relpath(root, Path(plan_dir).resolve())).as_posix()
    typescript = any(m.language in ("typescript", "tsx") for m in modules)
    default_name = str(manifest.get("name") or root.name).lstrip("@").replace("/", "-")
    return Plan(
        name=name or default_name,
        language="typescript" if typescript else "javascript",
        test_runner=runner,
        atomization=Atomization(),
        reference=reference,
        acceptance=sorted(test_targets),
        support=sorted(support_files),
        assets=sorted(assets, key=lambda a: a.path),
        phases=phases,
    )


__all__ = ["from_js_code", "is_js_project", "project_root"]
