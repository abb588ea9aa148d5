"""Planning a run's atoms from the model's skeleton answers (see
`mge.atomize._plan`): the skeleton stage, the graph, and their storage. The
answers are the atom plan for every model; nothing else decides the atoms."""

from __future__ import annotations

import ast
import asyncio
import functools
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from mge.atomize import Atom, FileResult
from mge.atomize._plan import PlannedFile, plan_file
from mge.errors import ValidationFailed
from mge.execute._assembly import indentation
from mge.execute._graph_state import GraphState
from mge.execute._prompts import render
from mge.graph import GraphAnalysis, build_graph
from mge.llm import ModelRequest, Purpose, extract_code
from mge.store import save_graph

#: A masterplan's atoms and graph as planned, before they are stored.
PlannedGraph = tuple[list[Atom], GraphAnalysis]


class Planning(GraphState):
    """The planning part of a `Runner` (see the module docstring)."""

    def _language(self) -> str:
        return self.plan.language

    def _prefix(self, file: str, skeleton: str) -> str:
        """The shared prefix of a file's atom prompts, rendered once per file: the
        same string object every time, so its hash (prompt-cache bookkeeping, token
        counts) is computed once too."""
        key = (file, skeleton)
        if key not in self._prefixes:
            self._prefixes[key] = self._render_prefix(file, skeleton)
        return self._prefixes[key]

    def _render_prefix(self, file: str, skeleton: str) -> str:
        task = self.tasks[self.task_of_file[file]]
        return render(
            "prefix",
            plan_name=self.plan.name,
            plan_description=self.plan.description or "",
            task_id=task.id,
            task_name=task.name,
            task_description=task.description or "",
            task_files=", ".join(task.files),
            file=file,
            language=self._language(),
            skeleton=skeleton.rstrip(),
        )

    @functools.cached_property
    def _system(self) -> str:
        return render("system", language=self._language())

    async def _skeleton_of(self, file: str) -> str:
        task = self.tasks[self.task_of_file[file]]
        prompt = render(
            "skeleton",
            file=file,
            task_files=", ".join(task.files),
            task_tests=", ".join(task.tests) or "none",
            target_loc=self.config.target_loc,
            max_loc=self.config.max_loc,
        )
        problem = ""
        # A rejected skeleton loses its whole file (every atom a stand-in), so it
        # gets at once what a failed atom gets in all: its attempts and, when the
        # second pass is on, that pass's `blame_attempts` more.
        extra = self.settings.blame_attempts if self.settings.second_pass else 0
        for attempt in range(1, self.settings.max_attempts + extra + 1):
            self._check_can_call()
            request = ModelRequest.single(
                prompt + (f"\n\nThe previous answer was rejected: {problem}" if problem else ""),
                system=self._system,
                purpose=Purpose("skeleton", file, attempt, self._language()),
                temperature=self.settings.temperature_for(attempt),
            )
            response = await self._call(request)
            self._commit_totals(response)
            self.session.commit()
            text = extract_code(response.text, self._language())
            if text and not text.endswith("\n"):
                text += "\n"
            planned = self._plan_of(file, text)
            problem = "; ".join(planned.problems[:8])
            if not problem:
                return text
        raise ValidationFailed(f"the skeleton of {file} was rejected: {problem}")

    def _plan_of(self, file: str, skeleton: str) -> PlannedFile:
        """The file's atom plan from its skeleton answer, with every problem the
        answer has: the atoms, their kinds, spans and declared names come from here
        and nowhere else, whatever the model."""
        planned = self._planned.get(file)
        if planned is None or self._skeletons.get(file) != skeleton:
            planned = plan_file(skeleton, file, config=self.config, language=self._language())
            planned.problems[:0] = _skeleton_problems(
                skeleton, file, self._language(), self.task_of_file
            )
            self._planned[file] = planned
            self._skeletons[file] = skeleton
        return planned

    async def _skeleton_stage(self) -> dict[str, str]:
        skeletons: dict[str, str] = dict((self.run_row.report or {}).get("skeletons", {}))
        missing = [file for file in self.task_of_file if file not in skeletons]
        if missing:
            self.progress.event("stage", name="skeletons", files=len(missing))
        limit = asyncio.Semaphore(self.settings.concurrency)

        failures: dict[str, str] = {}

        async def one(file: str) -> None:
            async with limit:
                try:
                    skeletons[file] = await self._skeleton_of(file)
                except ValidationFailed as error:
                    # The file's task fails with its evidence; the other files go on.
                    failures[file] = str(error)
                    self.progress.event("skeleton_failed", file=file, error=str(error))
                    return
                self._set_report(skeletons=dict(skeletons))
                self.session.commit()

        await self._gather([one(file) for file in missing])
        if failures:
            self._set_report(skeleton_failures=failures)
            self.session.commit()
        return skeletons

    async def _gather(self, coroutines: Iterable[Any]) -> None:
        tasks = [asyncio.ensure_future(c) for c in coroutines]
        if not tasks:
            return
        try:
            await asyncio.gather(*tasks)
        except BaseException:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise

    def _blueprint(self, skeletons: dict[str, str]) -> list[FileResult]:
        """The planned atoms of every file whose skeleton was accepted."""
        return [
            self._plan_of(file, skeletons[file]).result
            for file in self.task_of_file
            if file in skeletons
        ]

    def _plan_graph(self, skeletons: dict[str, str]) -> PlannedGraph | None:
        """The atoms and graph of a masterplan that has none stored yet."""
        if self.masterplan.graph_id is not None:
            return None
        self.progress.event("stage", name="atoms")
        results = self._blueprint(skeletons)
        # A plan's paths are relative to the project root, which is where imports
        # start from: `pkg/m.py` is module `pkg.m` whether or not the plan lists
        # `pkg/__init__.py` (a namespace package, or one left for later). Without
        # the root, imports of such modules would resolve to nothing and their
        # atoms would be scheduled before what they call.
        return build_graph(results, root=".")

    def _save_graph(self, graph: PlannedGraph) -> None:
        atoms, analysis = graph
        task_rows = {row.task_key: row for row in self.masterplan.tasks}
        tasks = {atom.id: task_rows[self.task_of_file[atom.file]] for atom in atoms}
        save_graph(
            self.session, masterplan=self.masterplan, atoms=atoms, analysis=analysis, tasks=tasks
        )
        self.session.flush()
        blueprint = {atom.id: atom for atom in atoms}
        for row in self.masterplan.atoms:
            planned = blueprint[row.atom_key]
            indent, body_indent = indentation(planned.text, planned.kind)
            intent = planned.context.get("intent")
            returns = planned.context.get("returns")
            binds = planned.context.get("binds")
            row.extra = {
                **row.extra,
                "indent": indent,
                "body_indent": body_indent,
                **({"intent": intent} if intent else {}),
                **({"returns": returns} if returns else {}),
                **({"binds": list(binds)} if binds else {}),
            }
            # Nothing is measured before there is code: sizes come with acceptance.
            row.loc = 0
            row.complexity = 0.0
            row.atomicity_score = 1.0
            row.atomicity_violations = []
            row.is_atomic = True
            row.reference_code = None
            row.code = None
            row.max_attempts = self.settings.max_attempts
        self._set_report(
            graph={
                "waves": len(analysis.waves),
                "max_parallelism": analysis.max_parallelism,
                "critical_path": len(analysis.critical_path),
                "critical_path_loc": analysis.critical_path_loc,
                "edges": len(analysis.edges),
                "has_cycles": analysis.has_cycles,
            }
        )
        self.session.commit()
        for atom in atoms:
            self.progress.event(
                "atom_generated",
                atom=atom.id,
                loc=atom.loc,
                complexity=atom.complexity,
                atomicity_score=atom.atomicity_score,
                context_completeness=atom.context_completeness,
            )
        self.progress.event(
            "graph",
            atoms=len(analysis.nodes),
            waves=len(analysis.waves),
            max_parallelism=analysis.max_parallelism,
            critical_path=len(analysis.critical_path),
            cycles=len(analysis.cycles),
            edges=analysis.edges_by_type(),
        )


def _skeleton_problems(text: str, file: str, language: str, plan_files: Iterable[str]) -> list[str]:
    """What makes a skeleton answer unusable beyond its own plan's grammar: imports
    of project modules that the plan does not have (it plans other files)."""
    if not text.strip() or language != "python":
        # An empty answer is an empty file (a package's `__init__.py`, a module of
        # only comments): a valid module with no atoms, not a failed answer.
        return []
    try:
        tree = ast.parse(text, file)
    except SyntaxError:
        return []  # the plan parser reports it, with its line
    files = set(plan_files)
    modules = {str(Path(f).with_suffix("")).replace("/", ".") for f in files if f.endswith(".py")}
    modules |= {m.removesuffix(".__init__") for m in modules}
    packages = {m.split(".")[0] for m in modules if "." in m}
    here = str(Path(file).with_suffix("")).replace("/", ".").split(".")[:-1]
    problems: list[str] = []
    for node in ast.walk(tree):
        names: list[str] = []
        if not isinstance(node, (ast.Import, ast.ImportFrom)):
            continue
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            base = here[: len(here) - node.level + 1] if node.level else []
            names = [".".join([*base, *([node.module] if node.module else [])])]
        for name in names:
            if name.split(".")[0] not in packages or name in modules:
                continue
            if any(m.startswith(name + ".") for m in modules):
                continue  # a package the plan has files under
            problems.append(
                f"line {node.lineno}: imports {name}, which is not among the plan's files"
            )
    submodules: set[str] = set()
    if Path(file).name == "__init__.py":
        # A package's `__all__` may name its submodules: `from pkg import *` imports
        # them, and importing one anywhere binds it in the package's namespace.
        package = ".".join(here)
        submodules = {
            m[len(package) + 1 :].split(".")[0] for m in modules if m.startswith(package + ".")
        }
    return problems + _unbound_exports(tree, submodules)


def _unbound_exports(tree: ast.Module, submodules: set[str]) -> list[str]:
    """Names a literal top-level `__all__` lists that the skeleton never binds at
    the top level: an answer cut short after its first definitions (the rest of
    the file, which importers and tests use, would be missing from the plan)."""
    exported: list[str] = []
    bound: set[str] = set(submodules)
    star = False
    for node in tree.body:
        for child in ast.walk(node) if isinstance(node, ast.If | ast.Try) else [node]:
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                bound.add(child.name)
            elif isinstance(child, ast.Import | ast.ImportFrom):
                star = star or any(alias.name == "*" for alias in child.names)
                bound.update(
                    (alias.asname or alias.name).partition(".")[0] for alias in child.names
                )
            elif isinstance(child, ast.Assign | ast.AnnAssign | ast.AugAssign):
                targets = child.targets if isinstance(child, ast.Assign) else [child.target]
                for target in targets:
                    names = [n.id for n in ast.walk(target) if isinstance(n, ast.Name)]
                    bound.update(names)
                    if names == ["__all__"] and isinstance(child.value, ast.List | ast.Tuple):
                        exported += [
                            e.value
                            for e in child.value.elts
                            if isinstance(e, ast.Constant) and isinstance(e.value, str)
                        ]
    if star or "__getattr__" in bound:
        return []  # names may come from a star import or the module's `__getattr__`
    missing = [name for name in dict.fromkeys(exported) if name not in bound]
    if not missing:
        return []
    return [
        f"`__all__` lists {', '.join(missing[:8])}, which the skeleton never defines: "
        "it stops before the end of the file"
    ]
