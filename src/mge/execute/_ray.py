"""The `ray` executor: a run's CPU-heavy work as tasks on a Ray cluster.

Every call into Ray is in this module and `_ray_model` (the model's actors), and
nothing else imports Ray, so the rest of MGE neither needs Ray installed nor sees
its partial typing: mypy treats `ray` as untyped (`follow_imports = "skip"`) and
the types stop at the functions below.

What runs where:

- **L1** (`_judge.judge`): attempts are gathered for a few milliseconds (or until
  `BATCH` of them wait) and sent as one task, so each task does at least ~10 ms of
  work; the files' layouts go to the object store once (`ray.put`), and each
  worker reads them once per run (`_read_layouts`). CPU: 1. One task per CPU of
  the cluster starts its workers when the executor starts, and another reads the
  layouts when they are loaded (`_warm`), so the first batches find workers ready.
  An attempt heading one of the longest chains still open (`_open_chains`) does
  not wait for company: it leaves at once in the express (`_send_express`).
- **L2 to L4** (imports, tests) and **mutation testing**: one task per check. The
  task gets the project's files as data (a node need not share the driver's disk),
  lays them out in a private directory and calls the same sandboxed functions the
  local executor calls (`run_pytest`, `script_tests` for TypeScript and
  JavaScript suites, `import_check`, `run_mutants`): generated code runs only
  inside bubblewrap, on the node. A vitest or jest suite also needs the project's
  `node_modules`: packed once per run into the object store, unpacked once per
  worker (`_modules_from`). A task declares CPU, memory and the custom `sandbox`
  resource, which only nodes with a working bubblewrap offer; the paths in what it
  returns are put back to the driver's project directory (and `node_modules`), so
  the failure texts (and the prompts made from them) are the local run's.

- **Model calls** (`serve_model`): the model is built from its description
  (`mge.llm.ModelDescription`) inside async actors (`ModelActor`: the calls of one
  loop turn arrive in one `submit`, their outcomes leave in `collect`s), placed on
  the driver's node when it can be (the replay model reads the plan's reference
  directory there; a call is I/O, not CPU to spread). The driver keeps a stand-in
  (`ActorModel`) with the same `Model` protocol: the budget's reservation (`worst_case_usd`, from
  the model built in the driver), cost and token accounting, attempts and their
  records stay the scheduler's; only `complete` is sent to an actor. With several
  actors (`MGE_RAY_MODEL_ACTORS`), a request goes to the actor its cacheable prefix
  picks, so a prefix's prompt cache lives in one place.

The scheduler stays the single decider and PostgreSQL the only system of record:
tasks return values and never touch the database. A task whose node or worker
dies is run again elsewhere by Ray (`max_retries`); its result is still used once,
by the one driver call waiting for it, so nothing is stored twice. A task that
keeps dying (`MAX_RETRIES` times) raises `InfrastructureFailure`: the run stops as
failed with that line, nothing is blamed on an atom, and `mge resume` goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import io
import os
import shutil
import signal
import tarfile
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import ray
import ray.exceptions
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

from mge.config import load_settings
from mge.errors import ConfigError, SandboxUnavailable
from mge.execute._judge import FileAtom, judge, prepare_to_judge
from mge.execute._ray_model import (
    MAX_RETRIES,
    ActorModel,
    CachingActorModel,
    actor_died,
    remote_model_actor,
    unwrapped,
)
from mge.execute.executor import ExecutorName, check_ray_address, import_check, script_tests
from mge.llm import CachingModel, Model, ModelDescription
from mge.plan import TestRunner
from mge.validate import AtomSpec, AtomVerdict
from mge.validate.mutation import Mutant, run_mutants
from mge.validate.sandbox import SandboxResult, ensure_available
from mge.validate.testing import TestFailure, TestOutcome, run_pytest
from mge.validate.typescript import ToolchainMissing
from mge.validate.vitest_testing import runner_missing

#: The custom resource of nodes where generated code can be sandboxed.
SANDBOX = "sandbox"
#: The custom resource of sandbox nodes that can also run a TypeScript or JavaScript
#: plan's suites: Node.js and MGE's TypeScript tools installed. A suite's task
#: declares both, so it never lands where it would fail for want of `node`, a
#: failure that would read as the code's.
NODE = "node"
#: Attempts judged by one task at most, and how long the first waits for others:
#: a verdict costs 1-3 ms of CPU, and a task should be worth at least ~10 ms; 20 ms
#: is little beside a model call's latency.
BATCH = 32
LINGER_SECONDS = 0.02
#: How long loading the layouts waits for the L1 workers to be ready at most.
WARM_SECONDS = 30.0
#: Memory a sandboxed check declares (the sandbox caps its address space at 2 GiB;
#: the example projects' test runs stay far below this).
SANDBOX_MEMORY_BYTES = 512 * 1024**2
#: Test hook, read on the worker: `judge`, `sandbox` or `all` makes those tasks'
#: worker process exit at once, as a crashed worker would (see tests/execute).
FAULT_ENV = "MGE_RAY_TASK_FAULT"
#: What is never shipped with a project.
_SKIPPED = frozenset({"__pycache__", ".pytest_cache", ".mypy_cache", ".git"})

T = TypeVar("T")


# -- on the worker -------------------------------------------------------------------


def _fault(kind: str) -> None:
    wanted = os.environ.get(FAULT_ENV, "")
    if wanted and wanted in (kind, "all"):
        os._exit(1)


# The run's layouts as this worker process last read them, by object id. A task's
# argument that is an object reference is fetched and unpickled for every task; the
# layouts of a 3,000-atom plan took longer to unpickle than a batch took to judge.
# Passed inside a list, the reference reaches the task as it is, and each worker
# reads the layouts once per run.
_read_layouts: dict[str, Mapping[str, tuple[FileAtom, ...]]] = {}


def _layouts_from(held: Sequence[Any]) -> Mapping[str, tuple[FileAtom, ...]]:
    key = held[0].hex()
    layouts = _read_layouts.get(key)
    if layouts is None:
        layouts = ray.get(held[0])
        prepare_to_judge(layouts)
        _read_layouts.clear()  # another run's: only one is kept
        _read_layouts[key] = layouts
    return layouts


def _warm(held: Sequence[Any]) -> None:
    """Start a worker for L1 before the first batch needs one: its process, its
    imports and, given the layouts' reference in `held`, the layouts and what
    judging their languages builds (a first batch met all of it: 1.2 s)."""
    if held:
        _layouts_from(held)


def _judge_batch(
    held: Sequence[Any],
    items: Sequence[tuple[str, AtomSpec, dict[str, str]]],
) -> tuple[list[tuple[AtomVerdict | None, str | None]], float]:
    """The verdicts, and the CPU seconds the task spent on them; `held` holds the
    reference to the run's layouts (see `_read_layouts`)."""
    _fault("judge")
    began = time.process_time()
    layouts = _layouts_from(held)
    answers: list[tuple[AtomVerdict | None, str | None]] = []
    for candidate, spec, view in items:
        try:
            answers.append((judge(candidate, spec, layouts[spec.file], view), None))
        except Exception as error:  # the engine judges it again itself and sees it
            answers.append((None, f"{type(error).__name__}: {error}"))
    return answers, time.process_time() - began


def _in_project(
    files: Mapping[str, bytes], shown_at: str, work: Callable[[Path], T], rewrite: bool
) -> T:
    """`work` on a private copy of the project, with the copy's path in its result
    replaced by `shown_at`, the driver's project directory."""
    _fault("sandbox")
    ensure_available()
    with tempfile.TemporaryDirectory(prefix="mge-ray-") as scratch:
        root = Path(scratch).resolve() / "project"
        for name, data in files.items():
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        root.mkdir(exist_ok=True)
        result = work(root)
        return _replaced(result, str(root), shown_at) if rewrite else result


def _replaced(value: Any, old: str, new: str) -> Any:
    """`value` with `old` replaced by `new` in every string it holds."""
    if isinstance(value, str):
        return value.replace(old, new)
    if isinstance(value, list):
        return [_replaced(item, old, new) for item in value]
    if isinstance(value, dict):
        return {_replaced(k, old, new): _replaced(v, old, new) for k, v in value.items()}
    if isinstance(value, TestOutcome | TestFailure | SandboxResult):
        changes = {
            field.name: _replaced(getattr(value, field.name), old, new)
            for field in dataclasses.fields(value)
            if isinstance(getattr(value, field.name), str | list | dict)
        }
        return dataclasses.replace(value, **changes)
    return value


def _tests_task(
    files: Mapping[str, bytes],
    shown_at: str,
    tests: list[str],
    timeout: float,
    coverage: bool,
    modules: list[str],
) -> TestOutcome:
    return _in_project(
        files,
        shown_at,
        lambda root: run_pytest(root, tests, timeout=timeout, coverage=coverage, modules=modules),
        rewrite=True,
    )


# The project's `node_modules` as this worker process last unpacked it, by object
# id: vitest and jest load the project's dependencies from it, thousands of files
# that would take longer to write out than a test run takes. Only one is kept.
_unpacked_modules: dict[str, Path] = {}


def _modules_from(held: Sequence[Any]) -> Path | None:
    if not held:
        return None
    key = held[0].hex()
    found = _unpacked_modules.get(key)
    if found is None or not found.is_dir():
        archive: bytes = ray.get(held[0])
        for earlier in _unpacked_modules.values():
            shutil.rmtree(earlier.parent, ignore_errors=True)
        _unpacked_modules.clear()
        folder = Path(tempfile.mkdtemp(prefix="mge-ray-modules-"))
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(folder, filter="data")
        found = (folder / "node_modules").resolve()
        _unpacked_modules[key] = found
    return found


def _script_tests_task(
    files: Mapping[str, bytes],
    shown_at: str,
    tests: list[str],
    runner: TestRunner,
    timeout: float,
    coverage: bool,
    held: Sequence[Any],
    modules_shown_at: str | None,
) -> TestOutcome:
    """`script_tests` on the node; `held` holds the reference to the packed
    `node_modules` (see `RayExecutor._packed_modules`), whose path on this node is
    put back to the driver's in what the run returns, as the project's is."""
    modules = _modules_from(held)

    def work(root: Path) -> TestOutcome:
        outcome = script_tests(
            root, tests, runner=runner, timeout=timeout, coverage=coverage, node_modules=modules
        )
        if modules is None or modules_shown_at is None:
            return outcome
        replaced: TestOutcome = _replaced(outcome, str(modules), modules_shown_at)
        return replaced

    return _in_project(files, shown_at, work, rewrite=True)


def _imports_task(
    files: Mapping[str, bytes], shown_at: str, modules: list[str], timeout: float
) -> SandboxResult:
    return _in_project(
        files, shown_at, lambda root: import_check(root, modules, timeout=timeout), rewrite=True
    )


def _mutants_task(
    files: Mapping[str, bytes], shown_at: str, mutants: list[Mutant], budget_seconds: float
) -> dict[int, bool]:
    return _in_project(
        files,
        shown_at,
        lambda root: run_mutants(root, mutants, budget_seconds=budget_seconds),
        rewrite=False,
    )


_SANDBOXED = {
    "num_cpus": 1,
    "memory": SANDBOX_MEMORY_BYTES,
    "resources": {SANDBOX: 1},
    "max_retries": MAX_RETRIES,
    "retry_exceptions": False,
}
_remote_judge = ray.remote(num_cpus=1, max_retries=MAX_RETRIES, retry_exceptions=False)(
    _judge_batch
)
_remote_warm = ray.remote(num_cpus=1, max_retries=0)(_warm)
_remote_tests = ray.remote(**_SANDBOXED)(_tests_task)
_remote_script_tests = ray.remote(**(_SANDBOXED | {"resources": {SANDBOX: 1, NODE: 1}}))(
    _script_tests_task
)
_remote_imports = ray.remote(**_SANDBOXED)(_imports_task)
_remote_mutants = ray.remote(**_SANDBOXED)(_mutants_task)


# -- on the driver -------------------------------------------------------------------


@contextlib.contextmanager
def _signals_kept() -> Iterator[None]:
    """`ray.init` makes SIGTERM exit the process at once; the engine's own handlers
    (SIGINT and SIGTERM stop the run between attempts, storing what was done) are put
    back after it."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    kept = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for number, handler in kept.items():
            if handler is not None:
                signal.signal(number, handler)


def project_files(root: Path) -> dict[str, bytes]:
    """Every file of the project at `root` (relative path -> bytes), as a task gets it."""
    files: dict[str, bytes] = {}
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if any(part in _SKIPPED for part in relative.parts) or not path.is_file():
            continue
        files[relative.as_posix()] = path.read_bytes()
    return files


#: An attempt waiting to be sent: candidate, spec, view, and where its verdict goes.
_Waiting = tuple[str, AtomSpec, dict[str, str], "asyncio.Future[AtomVerdict]"]


class RayExecutor:
    """See the module docstring."""

    name: ExecutorName = "ray"
    judges = True

    def __init__(self, *, started_here: bool) -> None:
        self.started_here = started_here
        self._layouts: Any = None
        self._waiting: list[_Waiting] = []
        self._timer: asyncio.TimerHandle | None = None
        self._urgent: list[_Waiting] = []
        self._express: asyncio.Task[None] | None = None
        self._batches: set[asyncio.Task[None]] = set()
        self.batches = 0
        self.judged = 0
        self.local = 0
        self.judge_cpu_seconds = 0.0
        self.sandbox_tasks = 0
        self.task_seconds = 0.0
        self.served: ActorModel | None = None
        self.model_actor_count = max(1, load_settings().ray_model_actors)
        self._warming: list[Any] = []
        self._packed: dict[str, Any] = {}
        self._packing = threading.Lock()

    @classmethod
    def start(cls, address: str | None, *, scripts: bool = False) -> RayExecutor:
        """Connect to the cluster at `address`, or start a small one on this machine
        (no dashboard, the object store capped by `MGE_RAY_OBJECT_STORE_MB`). Refuses
        a cluster where no node offers the `sandbox` resource, or, for a run with
        TypeScript or JavaScript suites (`scripts`), the `node` resource."""
        config = load_settings()
        with _signals_kept():
            executor = cls._connect(address, config.ray_num_cpus, config.ray_object_store_mb)
        offered = ray.cluster_resources()
        if float(offered.get(SANDBOX, 0)) < 1:
            ray.shutdown()
            raise SandboxUnavailable(
                "no node of the Ray cluster offers the `sandbox` resource (bubblewrap): "
                "start nodes with `ray start --resources '{\"sandbox\": N}'` where bwrap works"
            )
        if scripts and float(offered.get(NODE, 0)) < 1:
            ray.shutdown()
            raise ToolchainMissing(
                "no node of the Ray cluster offers the `node` resource that a TypeScript or "
                "JavaScript plan's tests need: start sandbox nodes where node is installed "
                'with `ray start --resources \'{"sandbox": N, "node": N}\'`'
            )
        return executor

    @classmethod
    def _connect(cls, address: str | None, num_cpus: int, store_mb: int) -> RayExecutor:
        # Ray itself would join $RAY_ADDRESS when given no address: say so explicitly.
        address = address or os.environ.get("RAY_ADDRESS") or None
        options: dict[str, Any] = {
            "log_to_driver": False,
            "include_dashboard": False,
            "ignore_reinit_error": True,
        }
        if address:
            check_ray_address(address)
            try:
                ray.init(address=address, **options)
            except ConnectionError as error:
                raise ConfigError(f"--ray-address {address}: {error}") from None
        else:
            sandboxed = ensure_available()
            cpus = num_cpus or os.cpu_count() or 1
            offered = {SANDBOX: cpus} if sandboxed else {}
            if sandboxed and shutil.which("node"):
                offered[NODE] = cpus
            ray.init(
                num_cpus=cpus,
                object_store_memory=store_mb * 1024**2,
                resources=offered,
                **options,
            )
        executor = cls(started_here=not address)
        executor._start_workers(None)
        return executor

    def _start_workers(self, layouts: Any) -> None:
        """A `_warm` task per CPU of the cluster (see the module docstring)."""
        cpus = max(1, int(ray.cluster_resources().get("CPU", 1)))
        held = [layouts] if layouts is not None else []
        self._warming = [_remote_warm.remote(held) for _ in range(cpus)]

    # -- model calls ----------------------------------------------------------------------

    def serve_model(
        self, model: Model, description: ModelDescription | None, *, concurrency: int
    ) -> Model:
        """A stand-in for `model` whose calls are made by `MGE_RAY_MODEL_ACTORS`
        async actors (default 1), each building the model from `description`.
        `model` itself (called in the driver, as under `local`) when it cannot be
        described: a model object handed to the run (tests, the API's callers)."""
        if description is None:
            return model
        cache = model.cache_state() if isinstance(model, CachingModel) else []
        options: dict[str, Any] = {
            # Calls wait on I/O: no CPU of their own. They run as tasks inside the
            # actor; its methods under way at once are one collect, the bundles
            # being submitted and any cancels, for which this leaves ample room.
            "num_cpus": 0,
            "max_concurrency": max(2 * concurrency, 16),
            # The driver's node: the replay model reads the plan's reference there.
            "scheduling_strategy": NodeAffinitySchedulingStrategy(
                ray.get_runtime_context().get_node_id(), soft=True
            ),
            # A lost actor is replaced by the driver (`ActorModel`), which sends its
            # calls in flight again: Ray's own restart would start it from the cache
            # it began with.
            "max_restarts": 0,
        }

        def spawn(entries: list[str]) -> Any:
            return remote_model_actor.options(**options).remote(description, entries)

        actors = [spawn(cache) for _ in range(self.model_actor_count)]
        try:
            ray.get([actor.ready.remote() for actor in actors])
        except ray.exceptions.RayActorError as error:
            cause: object = getattr(error, "cause", None) or error
            raise actor_died(cause if isinstance(cause, BaseException) else error) from None
        served = (
            CachingActorModel(model, actors, spawn, cache)
            if isinstance(model, CachingModel)
            else ActorModel(model, actors, spawn)
        )
        self.served = served
        return served

    # -- L1 ------------------------------------------------------------------------------

    async def load(self, layouts: Mapping[str, tuple[FileAtom, ...]]) -> None:
        self._layouts = ray.put(dict(layouts))
        self._start_workers(self._layouts)
        # Nothing is lost by waiting: the first batches would wait for these workers.
        # A warm-up that fails says nothing: a batch that fails the same way reports it.
        waiting = [asyncio.wrap_future(ref.future()) for ref in self._warming]
        done, late = await asyncio.wait(waiting, timeout=WARM_SECONDS)
        for future in done:
            future.exception()  # retrieved, so never reported as unhandled
        for future in late:
            future.cancel()

    async def judge(
        self, candidate: str, spec: AtomSpec, view: Mapping[str, str], *, urgent: bool = False
    ) -> AtomVerdict:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[AtomVerdict] = loop.create_future()
        item = (candidate, spec, dict(view), future)
        if urgent:
            self._urgent.append(item)
            if self._express is None:
                self._send_express()
            elif len(self._urgent) >= BATCH:
                self._dispatch(self._take(self._urgent))
        else:
            self._waiting.append(item)
            if len(self._waiting) >= BATCH:
                self._flush()
            elif self._timer is None:
                self._timer = loop.call_later(LINGER_SECONDS, self._flush)
        return await future

    def _take(self, queue: list[_Waiting]) -> list[_Waiting]:
        batch = queue[:]
        queue.clear()
        return batch

    def _flush(self) -> None:
        """Everything waiting goes, as one task (the linger is over, or a batch is full)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._dispatch(self._take(self._waiting) + self._take(self._urgent))

    def _send_express(self) -> None:
        """The urgent attempts go at once, on their own, in the express: a task of its
        own that does not linger. One express is out at a time; urgent attempts made
        meanwhile wait for it to come back (or for the linger, or a full batch), so
        when most attempts are urgent, as on a graph of many equal chains, the tasks
        still carry several attempts each."""
        batch = self._take(self._urgent)
        if batch:
            self._express = self._dispatch(batch)
            self._express.add_done_callback(self._express_back)

    def _express_back(self, task: asyncio.Task[None]) -> None:
        self._express = None
        self._send_express()

    def _dispatch(self, batch: list[_Waiting]) -> asyncio.Task[None]:
        task = asyncio.ensure_future(self._send(batch))
        self._batches.add(task)
        task.add_done_callback(self._batches.discard)
        return task

    async def _send(self, batch: list[_Waiting]) -> None:
        self.batches += 1
        ref = _remote_judge.remote([self._layouts], [item[:3] for item in batch])
        try:
            answers, seconds = await asyncio.wrap_future(ref.future())
            self.judge_cpu_seconds += seconds
        except ray.exceptions.RayError as error:
            failure = unwrapped(f"judging {len(batch)} attempts", error)
            for *_, future in batch:
                if not future.done():
                    future.set_exception(failure)
            return
        except asyncio.CancelledError:
            for *_, future in batch:
                future.cancel()
            raise
        for (candidate, spec, view, future), (verdict, _problem) in zip(
            batch, answers, strict=True
        ):
            if future.done():
                continue
            if verdict is None:
                # As a worker of the local pool does: an error is judged again here,
                # where it raises as it would have without the cluster.
                self.local += 1
                try:
                    future.set_result(judge(candidate, spec, self._layout_of(spec), view))
                except Exception as error:
                    future.set_exception(error)
                continue
            self.judged += 1
            future.set_result(verdict)

    def _layout_of(self, spec: AtomSpec) -> tuple[FileAtom, ...]:
        layouts: dict[str, tuple[FileAtom, ...]] = ray.get(self._layouts)
        return layouts[spec.file]

    # -- L2 to L4, mutation ---------------------------------------------------------------

    def _sandboxed(self, what: str, remote: Any, root: Path, *args: Any) -> Any:
        began = time.perf_counter()
        self.sandbox_tasks += 1
        ref = remote.remote(project_files(root), str(root.resolve()), *args)
        try:
            return ray.get(ref)
        except ray.exceptions.RayError as error:
            raise unwrapped(what, error) from None
        finally:
            self.task_seconds += time.perf_counter() - began

    def run_tests(
        self,
        root: Path,
        tests: list[str],
        *,
        timeout: float,
        coverage: bool = False,
        modules: Sequence[str] = (),
    ) -> TestOutcome:
        if not tests:
            return TestOutcome()
        outcome: TestOutcome = self._sandboxed(
            "running tests", _remote_tests, root, tests, timeout, coverage, list(modules)
        )
        return outcome

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
        if node_modules is not None and not node_modules.is_dir():
            raise runner_missing(node_modules, runner)  # as the runner says it locally
        held = [] if node_modules is None else [self._packed_modules(node_modules)]
        shown = None if node_modules is None else str(node_modules.resolve())
        outcome: TestOutcome = self._sandboxed(
            "running tests",
            _remote_script_tests,
            root,
            tests,
            runner,
            timeout,
            coverage,
            held,
            shown,
        )
        return outcome

    def _packed_modules(self, node_modules: Path) -> Any:
        """The project's `node_modules` in the object store, packed once per run as
        a tar archive: a node need not share the driver's disk, and the archive
        keeps what a copy of the files would lose (links between packages, the
        executable bits of the native tools some runners start)."""
        key = str(node_modules.resolve())
        with self._packing:
            packed = self._packed.get(key)
            if packed is None:
                buffer = io.BytesIO()
                with tarfile.open(fileobj=buffer, mode="w") as tar:
                    tar.add(node_modules, arcname="node_modules")
                packed = self._packed[key] = ray.put(buffer.getvalue())
        return packed

    def check_imports(self, root: Path, modules: Sequence[str], *, timeout: float) -> SandboxResult:
        result: SandboxResult = self._sandboxed(
            "importing modules", _remote_imports, root, list(modules), timeout
        )
        return result

    def run_mutants(
        self, root: Path, mutants: Sequence[Mutant], *, budget_seconds: float
    ) -> dict[int, bool]:
        if not mutants:
            return {}
        killed: dict[int, bool] = self._sandboxed(
            "running mutants", _remote_mutants, root, list(mutants), budget_seconds
        )
        return killed

    async def aclose(self) -> dict[str, Any]:
        self._flush()
        for task in list(self._batches):
            with contextlib.suppress(BaseException):
                await task
        figures = {
            "name": self.name,
            **(self.served.figures() if self.served else {"model_actors": 0}),
            "judge_batches": self.batches,
            "judged_remotely": self.judged,
            "judged_locally": self.local,
            # CPU per batch on the worker: what each L1 task is worth.
            "judge_task_cpu_ms": round(1000 * self.judge_cpu_seconds / max(self.batches, 1), 1),
            "sandbox_tasks": self.sandbox_tasks,
            "sandbox_task_seconds": round(self.task_seconds, 3),
        }
        for actor in self.served.actors if self.served else []:
            with contextlib.suppress(Exception):
                ray.kill(actor)
        ray.shutdown()
        return figures
