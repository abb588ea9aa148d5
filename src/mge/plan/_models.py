"""The masterplan as plain pydantic models: the contract of section 5 of the architecture.

Paths in a plan are POSIX paths relative to the *project root*, the directory the
generated code base lives in. `reference`, when set, names a directory that mirrors
that project root and holds known-good code (and its tests): the reference for
`files: [inventory/models.py]` is `<reference>/inventory/models.py`. `reference`
itself is resolved against the directory of the plan file, so a plan and its
reference can be moved together.

Tests come at three levels, matching the validators that run them:

- `Task.tests`: the test files that exercise the task's files (L2, module level). A
  test file that imports several tasks is listed under each of them; it can run once
  all of them are done.
- `Milestone.tests`: optional component tests (L3), run when the milestone is done.
- `Plan.acceptance`: optional acceptance tests for the whole system (L4); the run's
  precision is the share of these that pass.

Two more lists name files that are copied into the project, never generated:

- `Plan.support`: what the tests need besides the test files themselves: helper
  modules they import, `conftest.py` files, data they read, the pytest
  configuration. They are inputs of the run, read from where the tests are.
- `Plan.assets`: files of the delivered project that are not planned source:
  `py.typed`, `.pyi` stubs, data a package reads at run time. Each may carry the
  sha256 of its content, so a run copies exactly the file the plan was made with.

`Plan.test_runner` says which runner a TypeScript or JavaScript project's tests
are written for: `node` (`node --test`, the default), `vitest` or `jest` (the
project's own, installed in the reference's `node_modules`).

The models check shapes only; cross-field rules (ids, dependencies, paths, file
ownership) live in `check_plan` so that every problem is reported at once with the
path of the field that holds it.
"""

from __future__ import annotations

from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, model_validator

Language = Literal["python", "typescript", "tsx", "javascript"]
#: What runs a TypeScript or JavaScript project's own tests (a Python project's
#: are always pytest's): node's built-in runner, or the project's vitest or jest.
TestRunner = Literal["node", "vitest", "jest"]
Complexity = Literal["low", "medium", "high", "critical"]

LANGUAGES: tuple[str, ...] = get_args(Language)
COMPLEXITIES: tuple[str, ...] = get_args(Complexity)

TASK_ID_PATTERN = r"^[A-Za-z_][A-Za-z0-9_.\-]*$"
SHA256_PATTERN = r"^[0-9a-f]{64}$"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Atomization(_Model):
    """Atom size limits for this plan (architecture section 3)."""

    target_loc: int = Field(default=10, ge=1, le=1000)
    max_loc: int = Field(default=15, ge=1, le=1000)
    max_complexity: float = Field(default=3.0, ge=1.0, le=100.0)

    @model_validator(mode="after")
    def _target_within_max(self) -> Atomization:
        if self.target_loc > self.max_loc:
            raise ValueError(f"target_loc {self.target_loc} is above max_loc {self.max_loc}")
        return self


class Asset(_Model):
    """A project file copied verbatim into the output: not code the model writes.

    A bare string is read as `{path: ...}`, for hand-written plans.
    """

    path: str
    sha256: str | None = Field(
        default=None,
        pattern=SHA256_PATTERN,
        description="lowercase hex sha256 of the content; a run refuses another file",
    )

    @model_validator(mode="before")
    @classmethod
    def _bare_path(cls, value: Any) -> Any:
        return {"path": value} if isinstance(value, str) else value


class Task(_Model):
    """One unit of work: the files it produces and the tests that prove it."""

    id: str = Field(min_length=1, max_length=200, pattern=TASK_ID_PATTERN)
    name: str = Field(min_length=1, max_length=300)
    description: str = ""
    files: list[str] = Field(min_length=1)
    depends_on: list[str] = Field(default_factory=list)
    complexity: Complexity = "medium"
    tests: list[str] = Field(default_factory=list)
    # The public names the task's files define (`class Item`, `def add(a, b)`,
    # `LIMIT`): what a generated plan promises, and what its stub skeleton holds
    # when acceptance tests are checked for vacuity before any code exists.
    interface: list[str] = Field(default_factory=list)


class Milestone(_Model):
    """A group of tasks that makes one component; `tests` are its component tests."""

    name: str = Field(min_length=1, max_length=300)
    description: str = ""
    tasks: list[Task] = Field(min_length=1)
    tests: list[str] = Field(default_factory=list)


class Phase(_Model):
    """A stage of the plan; phases run in order, so later phases may use earlier ones."""

    name: str = Field(min_length=1, max_length=300)
    description: str = ""
    milestones: list[Milestone] = Field(min_length=1)


class Plan(_Model):
    """A masterplan: phases → milestones → tasks."""

    version: Literal[1] = 1
    name: str = Field(min_length=1, max_length=200)
    description: str = ""
    language: Language = "python"
    test_runner: TestRunner = "node"
    atomization: Atomization = Field(default_factory=Atomization)
    reference: str | None = None
    acceptance: list[str] = Field(default_factory=list)
    support: list[str] = Field(default_factory=list)
    assets: list[Asset] = Field(default_factory=list)
    phases: list[Phase] = Field(min_length=1)

    def tasks(self) -> list[Task]:
        """Every task in plan order (phase, then milestone, then position)."""
        return [t for p in self.phases for m in p.milestones for t in m.tasks]

    def task_paths(self) -> dict[str, str]:
        """Map each task id to the path of its entry, e.g. `phases[0].milestones[1].tasks[2]`.

        When an id is duplicated the first occurrence wins, as it does in `check_plan`.
        """
        paths: dict[str, str] = {}
        for pi, phase in enumerate(self.phases):
            for mi, milestone in enumerate(phase.milestones):
                for ti, task in enumerate(milestone.tasks):
                    paths.setdefault(task.id, f"phases[{pi}].milestones[{mi}].tasks[{ti}]")
        return paths


__all__ = [
    "COMPLEXITIES",
    "LANGUAGES",
    "SHA256_PATTERN",
    "Asset",
    "Atomization",
    "Complexity",
    "Language",
    "Milestone",
    "Phase",
    "Plan",
    "Task",
    "TestRunner",
]
