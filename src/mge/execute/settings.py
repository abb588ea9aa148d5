"""The settings of one generation run, validated before anything is written.

They are stored with the run (`generation_runs.settings`) so `mge resume` goes on
exactly as the run started; only the budget and the concurrency may be changed
on resume.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from mge.errors import ConfigError

Schedule = Literal["eager", "waves"]
DEFAULT_TEMPERATURES = (0.7, 0.5, 0.3)
#: From this many atoms to generate, validation workers pay for their start-up
#: (about a second of a core each) many times over.
AUTO_JUDGE_ATOMS = 1000


class RunSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    model: str = "replay"
    base_url: str | None = None
    fault_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    fault_kinds: list[str] | None = None
    fault_profile: Literal["uniform", "realistic"] = "uniform"
    # What waits when an atom fails: only what needs its behaviour (the later steps
    # of its body, the readers of what it assigns), or every dependent ("any": no
    # code is generated against a stub, at the cost of leaving callers undone).
    wait_on_failure: Literal["behaviour", "any"] = "behaviour"
    seed: int = 0
    latency_ms: float | None = Field(default=None, ge=0.0)
    concurrency: int = Field(default=100, ge=1, le=10_000)
    schedule: Schedule = "eager"
    max_attempts: int = Field(default=3, ge=1, le=10)
    temperatures: list[float] = Field(default_factory=lambda: list(DEFAULT_TEMPERATURES))
    budget_usd: float | None = None
    out_dir: str = "out"
    # Where the plan's test files, support files and assets are read from; by
    # default the plan's `reference:` directory, which holds the project's tests
    # beside its code. They are inputs of the run (acceptance tests written first,
    # files copied verbatim), never reference answers.
    tests_dir: str | None = None
    run_tests: bool = True
    levels: Literal["atomic", "all"] = "all"
    blame_rounds: int = Field(default=3, ge=0, le=10)
    # How many times blame may have an atom regenerated, however many attempts its
    # generation took. A blamed atom faces a new question (a test failure its
    # first answers never saw), so its budget should not depend on how many L1
    # retries its generation needed: an atom accepted on its last attempt (the most
    # suspicious kind) could otherwise never be regenerated. Each regeneration gets
    # `max_attempts` tries at L1, as a generation does: an answer L1 rejects says
    # nothing about the blame. Context repair at L1 and the second pass of a failed
    # atom count it in attempts beyond the generation's.
    blame_attempts: int = Field(default=2, ge=0, le=10)
    # Once the rest is generated, a failed atom gets `blame_attempts` more attempts
    # (`Scheduling._second_pass`): the code around it is there by then, and what it
    # blocked is generated if it passes. Off, a failed atom stays failed.
    second_pass: bool = True
    test_timeout_seconds: float = Field(default=300.0, gt=0)
    # Mutation testing after the acceptance run (`mge.validate.mutation`): a few
    # mutants per atom, run against the passing tests that executed them, within a
    # wall-clock budget; its outcome is a review signal, never a verdict.
    mutation: bool = True
    mutants_per_atom: int = Field(default=3, ge=1, le=10)
    mutation_budget_seconds: float = Field(default=60.0, gt=0)
    # Processes that take atomic validation off the engine's event loop
    # (`mge.execute._judge_pool`); None chooses: one fewer than the machine's cores
    # (at most 4) for runs of `AUTO_JUDGE_ATOMS` atoms or more, none below that.
    validation_workers: int | None = Field(default=None, ge=0, le=64)
    # Where validation, the sandboxed test runs and mutation testing are done
    # (`mge.execute.executor`): this machine, or a Ray cluster (`ray_address`: a
    # running cluster, "auto", or None for one started on this machine).
    executor: Literal["local", "ray"] = "local"
    ray_address: str | None = None

    @field_validator("budget_usd")
    @classmethod
    def _positive_budget(cls, value: float | None) -> float | None:
        return _budget_problem(value)

    @field_validator("temperatures")
    @classmethod
    def _sane_temperatures(cls, value: list[float]) -> list[float]:
        if not value or any(not 0.0 <= t <= 2.0 for t in value):
            raise ValueError("temperatures must be between 0 and 2, at least one")
        return value

    @model_validator(mode="after")
    def _enough_temperatures(self) -> RunSettings:
        return self

    def temperature_for(self, attempt: int) -> float:
        """Attempt N uses the N-th temperature; later attempts reuse the last one."""
        return self.temperatures[min(attempt, len(self.temperatures)) - 1]

    @property
    def out_path(self) -> Path:
        return Path(self.out_dir).resolve()


def _budget_problem(value: float | None) -> float | None:
    # `allow_inf_nan=False` already refuses nan and infinities in settings; said
    # again here because a nan cap compares false with every amount and vanishes.
    if value is not None and (not math.isfinite(value) or value <= 0):
        raise ValueError(f"the budget must be a finite amount more than $0, got {value}")
    return value


def check_budget(value: float | None) -> float | None:
    """A budget given on its own (`mge resume --budget-usd`), checked like the
    settings check it, before anything is opened: one line, never a traceback."""
    try:
        return _budget_problem(value)
    except ValueError as error:
        raise ConfigError(f"budget-usd: {error}") from None


def build_settings(**values: Any) -> RunSettings:
    """Settings from command-line values, with one-line errors for bad ones."""
    chosen = {key: value for key, value in values.items() if value is not None}
    return validated_settings(chosen)


def validated_settings(values: dict[str, Any]) -> RunSettings:
    """`RunSettings` from `values`, or the first problem as a one-line `ConfigError`."""
    try:
        return RunSettings(**values)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "settings"
        message = str(first["msg"]).removeprefix("Value error, ")
        raise ConfigError(f"{where.replace('_', '-')}: {message}") from None
