"""Where a run's CPU-heavy work is done: the executor.

The scheduler (`_schedule`) is the single decider of a run: it chooses what runs,
reads every verdict and writes every row. An executor only computes what it is
handed and returns the result; it never reads or writes the database. Three kinds
of work go through it:

- atomic (L1) verdicts, from plain data (`_judge.judge`);
- the sandboxed checks of L2 to L4 (imports in a fresh interpreter, the tests);
- mutation testing after the acceptance run.

It also says where the run's model calls are made (`serve_model`): `local` makes
them on the engine's event loop, `ray` in async actors on the cluster. Only the
call moves: the budget, the cost and token accounting, the attempts and their
records stay with the scheduler, which awaits each call as it always has.

`local` (the default) does all of it on this machine, as MGE always has: L1 in
the engine's process or its validation workers (`_judge_pool`), the sandboxed
runs as subprocesses. `ray` (`mge.execute._ray`) sends the same functions to a
Ray cluster as tasks; the generated code still runs only inside the sandbox, on
whichever node the task lands. Both give the same verdicts for the same inputs,
so a run's output does not depend on its executor.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, Protocol

from sqlalchemy.engine import make_url

from mge.errors import ConfigError
from mge.execute._judge import FileAtom
from mge.execute._output import module_name
from mge.execute.settings import RunSettings
from mge.llm import Model, ModelDescription
from mge.plan import TestRunner
from mge.validate import AtomSpec, AtomVerdict, Limits, run_python
from mge.validate.jest_testing import run_jest_tests
from mge.validate.mutation import Mutant, run_mutants
from mge.validate.node_testing import run_node_tests
from mge.validate.sandbox import SandboxResult
from mge.validate.testing import TestOutcome, run_pytest
from mge.validate.vitest_testing import run_vitest_tests

ExecutorName = Literal["local", "ray"]


class Executor(Protocol):
    """What the engine asks of an executor (see the module docstring)."""

    name: ExecutorName
    #: Whether `judge` gives verdicts; when False the engine judges in its own process
    #: (or its validation workers).
    judges: bool

    def serve_model(
        self, model: Model, description: ModelDescription | None, *, concurrency: int
    ) -> Model:
        """The model the run calls from now on: `model` itself, or a stand-in with
        the same `Model` protocol whose `complete` is made elsewhere, by a model built
        from `description` (None: `model` cannot be described, and is called here).
        `concurrency` is how many calls the run keeps in flight."""

    async def load(self, layouts: Mapping[str, tuple[FileAtom, ...]]) -> None:
        """The files' layouts, once, before any verdict is asked for; returns once
        the executor is ready to judge them (or has waited long enough)."""

    async def judge(
        self, candidate: str, spec: AtomSpec, view: Mapping[str, str], *, urgent: bool = False
    ) -> AtomVerdict:
        """The atomic verdict `_judge.judge` gives for these inputs. `urgent`: the
        atom heads one of the longest chains still open, so the run's end waits for
        this verdict; an executor that gathers work into batches sends it at once."""

    def run_tests(
        self,
        root: Path,
        tests: list[str],
        *,
        timeout: float,
        coverage: bool = False,
        modules: Sequence[str] = (),
    ) -> TestOutcome:
        """`run_pytest` on the project at `root` (blocking: called from a thread)."""

    def run_script_tests(
        self,
        root: Path,
        tests: list[str],
        *,
        runner: TestRunner,
        timeout: float,
        coverage: bool = False,
        node_modules: Path | None = None,
    ) -> TestOutcome:
        """`script_tests`: a TypeScript or JavaScript suite on the project at `root`
        (blocking), with `node_modules` the project's dependencies for vitest or jest."""

    def check_imports(self, root: Path, modules: Sequence[str], *, timeout: float) -> SandboxResult:
        """`import_check` on the project at `root` (blocking)."""

    def run_mutants(
        self, root: Path, mutants: Sequence[Mutant], *, budget_seconds: float
    ) -> dict[int, bool]:
        """`mutation.run_mutants` on the project at `root` (blocking)."""

    async def aclose(self) -> dict[str, Any]:
        """Release what the executor holds; returns its figures for the run report."""


def import_check(root: Path, modules: Sequence[str], *, timeout: float) -> SandboxResult:
    """Import `modules` of the project at `root` in a fresh sandboxed interpreter."""
    script = "import importlib\n" + "".join(
        f"importlib.import_module({module!r})\n" for module in modules
    )
    return run_python(
        ["-c", script],
        cwd=root,
        pythonpath=[root],
        limits=Limits(timeout_seconds=min(timeout, 60), cpu_seconds=60),
    )


def run_project_tests(
    language: str,
    executor: Executor,
    root: Path,
    tests: list[str],
    *,
    timeout: float,
    coverage: bool = False,
    modules: Sequence[str] = (),
    runner: TestRunner = "node",
    node_modules: Path | None = None,
) -> TestOutcome:
    """The project's own tests, by its plan's language and runner, through the
    run's executor (here or on a Ray worker): pytest, or a TypeScript or JavaScript
    suite with `node --test` (its per-test coverage from V8, mapped back through
    source maps) or with the project's vitest or jest from `node_modules` (no
    coverage: blame reads the stacks). One place decides, so the acceptance run
    after the last wave and the level runs of the hierarchy cannot pick different
    runners."""
    if language != "python":
        return executor.run_script_tests(
            root,
            tests,
            runner=runner,
            timeout=timeout,
            coverage=coverage,
            node_modules=_runner_modules(runner, node_modules),
        )
    return executor.run_tests(root, tests, timeout=timeout, coverage=coverage, modules=modules)


def script_tests(
    root: Path,
    tests: list[str],
    *,
    runner: TestRunner,
    timeout: float,
    coverage: bool,
    node_modules: Path | None,
) -> TestOutcome:
    """A TypeScript or JavaScript suite in the sandbox on this machine, as either
    executor runs it where it runs it (see `run_project_tests`)."""
    limits = Limits(timeout_seconds=timeout, cpu_seconds=120)
    modules = _runner_modules(runner, node_modules)
    if modules is not None:
        run = run_vitest_tests if runner == "vitest" else run_jest_tests
        return run(root, tests, limits=limits, modules_dir=modules)
    return run_node_tests(root, tests, limits=limits, coverage=coverage)


def _runner_modules(runner: TestRunner, node_modules: Path | None) -> Path | None:
    """The `node_modules` a runner loads the project's own runner from: vitest's and
    jest's (refused with one line without one), none for `node --test`."""
    if runner not in ("vitest", "jest"):
        return None
    if node_modules is None:
        raise ConfigError(f"a {runner} plan needs a reference: its node_modules has {runner}")
    return node_modules


def module_names(files: Sequence[str]) -> list[str]:
    return [m for m in (module_name(f) for f in files) if m]


class LocalExecutor:
    """Everything on this machine: today's behaviour (see the module docstring)."""

    name: ExecutorName = "local"
    judges = False

    def serve_model(
        self, model: Model, description: ModelDescription | None, *, concurrency: int
    ) -> Model:
        return model

    async def load(self, layouts: Mapping[str, tuple[FileAtom, ...]]) -> None:
        return None

    async def judge(
        self, candidate: str, spec: AtomSpec, view: Mapping[str, str], *, urgent: bool = False
    ) -> AtomVerdict:
        raise NotImplementedError("the local executor judges in the engine's process")

    def run_tests(
        self,
        root: Path,
        tests: list[str],
        *,
        timeout: float,
        coverage: bool = False,
        modules: Sequence[str] = (),
    ) -> TestOutcome:
        return run_pytest(root, tests, timeout=timeout, coverage=coverage, modules=list(modules))

    def run_script_tests(
        self,
        root: Path,
        tests: list[str],
        *,
        runner: TestRunner,
        timeout: float,
        coverage: bool = False,
        node_modules: Path | None = None,
    ) -> TestOutcome:
        return script_tests(
            root,
            tests,
            runner=runner,
            timeout=timeout,
            coverage=coverage,
            node_modules=node_modules,
        )

    def check_imports(self, root: Path, modules: Sequence[str], *, timeout: float) -> SandboxResult:
        return import_check(root, modules, timeout=timeout)

    def run_mutants(
        self, root: Path, mutants: Sequence[Mutant], *, budget_seconds: float
    ) -> dict[int, bool]:
        return run_mutants(root, mutants, budget_seconds=budget_seconds)

    async def aclose(self) -> dict[str, Any]:
        return {"name": self.name}


def check_executor_database(executor: str, url: str) -> None:
    """A run on Ray keeps PostgreSQL as its only system of record: refused on any
    other database, before anything is stored (one line, `ConfigError`)."""
    if executor != "ray":
        return
    try:
        backend = make_url(url).get_backend_name()
    except Exception:  # an unparsable URL is the database layer's to report
        return
    if backend != "postgresql":
        raise ConfigError(
            f"--executor ray needs PostgreSQL as the system of record, not {backend}; "
            "use --db postgresql://... or --executor local"
        )


def start_executor(settings: RunSettings, dialect: str, *, scripts: bool = False) -> Executor:
    """The executor a run's settings name, started (for `ray`: connected). `scripts`:
    the run has TypeScript or JavaScript suites to run, which a cluster must have
    nodes for."""
    if settings.executor == "local":
        return LocalExecutor()
    if dialect != "postgresql":
        raise ConfigError(f"--executor ray needs PostgreSQL as the system of record, not {dialect}")
    try:
        from mge.execute._ray import RayExecutor
    except ImportError:
        raise ConfigError(RAY_MISSING) from None
    return RayExecutor.start(settings.ray_address, scripts=scripts)


RAY_MISSING = "--executor ray needs Ray: pip install 'mge[ray]'"


def check_ray_installed() -> None:
    """Ray importable here, or one line (`ConfigError`) before anything starts."""
    import importlib.util

    if importlib.util.find_spec("ray") is None:
        raise ConfigError(RAY_MISSING)


def check_ray_address(address: str) -> None:
    """A cluster address that answers, or one line (`ConfigError`): Ray itself
    waits a long time for a head that is not there."""
    import os
    import socket

    given = address
    if address == "auto":
        # As Ray resolves it: $RAY_ADDRESS, else the cluster `ray start` left here.
        started = Path("/tmp/ray/ray_current_cluster")
        address = os.environ.get("RAY_ADDRESS", "") or (
            started.read_text(encoding="utf-8").strip() if started.is_file() else ""
        )
        if not address:
            raise ConfigError(
                "--ray-address auto: no Ray cluster was started on this machine "
                "(`ray start --head`); give HOST:PORT, or no address for a local one"
            )
    if address.startswith("ray://"):
        return
    host, _, port = address.rpartition(":")
    try:
        with socket.create_connection((host or "127.0.0.1", int(port)), timeout=3):
            return
    except (OSError, ValueError) as error:
        raise ConfigError(f"--ray-address {given}: no Ray cluster answers ({error})") from None
