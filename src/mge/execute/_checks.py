"""What a level's check is and how it is kept: its outcome, the project it ran
on, written from the atoms' code, and its row in `validation_results`.

`ProjectChecks` is the base of the hierarchy's classes: `Blame` reads the outcomes
and regenerates, `Hierarchy` runs the levels.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from mge.db.models import TestType, ValidationLevel
from mge.db.models import ValidationResult as ResultRow
from mge.execute._output import write_files
from mge.validate.blame import AtomSpan, SpanIndex
from mge.validate.testing import TestOutcome

if TYPE_CHECKING:
    from mge.execute._engine import Runner

LEVEL_NUMBER = {
    ValidationLevel.ATOMIC: 1,
    ValidationLevel.MODULE: 2,
    ValidationLevel.COMPONENT: 3,
    ValidationLevel.SYSTEM: 4,
}
_ADDRESS = re.compile(r"\b0x[0-9a-fA-F]{6,}\b")


def stable_text(failure: str) -> str:
    """A failure as the model is shown it, without what differs between two runs of
    the same code: object addresses (`<Catalog object at 0x7f83...>` in pytest's
    locals) say nothing about the fault, and left in, they make the prompt, and so
    the tokens and the cost, differ from one run (or one resume) to the next."""
    return _ADDRESS.sub("0x…", failure)


def import_failures(outcome: CheckOutcome) -> list[str]:
    """The failure texts of a check that failed before any code of the project was
    run by a test: a module that does not import, a test file that cannot be
    collected, a session stopped while collecting."""
    if outcome.passed:
        return []
    if outcome.check == "import":
        return list(outcome.failures)
    if outcome.tests is None:
        return []
    return [f"{f.test}\n{f.message}\n{f.text}" for f in outcome.tests.failures if f.collection]


def better(after: CheckOutcome, before: CheckOutcome) -> bool:
    """Whether `after` is the better outcome of one check: it passes, or more of its
    tests pass."""
    if after.passed:
        return True
    if after.tests is None or before.tests is None:
        return False
    return after.tests.passed > before.tests.passed


@dataclass
class CheckOutcome:
    """One level's check of one scope: passed or not, and the failure texts to blame."""

    passed: bool
    test_type: TestType
    check: str
    output: str
    failures: list[str]
    tests: TestOutcome | None = None


class ProjectChecks:
    """The project on disk and the record of each check run on it."""

    def __init__(self, runner: Runner) -> None:
        self.runner = runner
        self.out = runner.settings.out_path
        self.rounds = runner.settings.blame_rounds
        self.timeout = runner.settings.test_timeout_seconds
        # The fingerprint of the project as `write_project` last wrote it, and the
        # outcome of each check already run on a project with that fingerprint.
        self._written = ""
        self._outcomes: dict[tuple[str, str], CheckOutcome] = {}

    async def run_written(self, key: str, run_check: Callable[[], CheckOutcome]) -> CheckOutcome:
        """Run the check `key` on the project `write_project` has just written, or
        give the outcome it had on exactly that project before. Blame's rounds often
        leave the project byte for byte as it was (a regenerated atom given the same
        answer, a regeneration put back), and the project's tests are a function of
        its files; running them again costs seconds and tells nothing new."""
        cache_key = (key, self._written)
        known = self._outcomes.get(cache_key)
        if known is not None:
            return known
        outcome = await asyncio.to_thread(run_check)
        self._outcomes[cache_key] = outcome
        return outcome

    def write_project(self) -> SpanIndex:
        runner = self.runner
        files: dict[str, str] = {}
        spans: list[AtomSpan] = []
        for file in runner.files:
            assembled = runner.written(file)
            files[file] = assembled.text
            spans.extend(
                AtomSpan(atom_id=key, file=file, first_line=first, last_line=last)
                for key, (first, last) in assembled.spans.items()
            )
        for file, text in runner.missing_files().items():
            files.setdefault(file, text)
        self.out.mkdir(parents=True, exist_ok=True)
        write_files(self.out, files)
        digest = hashlib.sha256()
        for file in sorted(files):
            digest.update(f"{len(file)}:{file}:{len(files[file])}:".encode())
            digest.update(files[file].encode("utf-8", "surrogateescape"))
        self._written = digest.hexdigest()
        return SpanIndex(spans)

    def _record(
        self, level: ValidationLevel, scope: str, outcome: CheckOutcome, started: float
    ) -> None:
        runner = self.runner
        runner.session.add(
            ResultRow(
                masterplan_id=runner.masterplan.id,
                run_id=runner.run_id,
                level=level,
                test_type=outcome.test_type,
                check_name=outcome.check,
                scope=scope,
                passed=outcome.passed,
                output=outcome.output[:4000] or None,
                error_message=None if outcome.passed else "\n\n".join(outcome.failures)[:4000],
                details={
                    "level_number": LEVEL_NUMBER[level],
                    **(outcome.tests.to_dict() if outcome.tests else {}),
                },
                duration_seconds=time.perf_counter() - started,
            )
        )
        runner.session.commit()
        runner.progress.event(
            "validation", level=level.value, scope=scope, check=outcome.check, passed=outcome.passed
        )

    def _sources(self, index: SpanIndex, *, python_only: bool = False) -> dict[str, str]:
        """The written source of every planned file (`python_only`: of the Python
        ones, for what only Python has, such as mutants)."""
        return {
            file: (self.out / file).read_text(encoding="utf-8", errors="surrogateescape")
            for file in index.files()
            if (file.endswith(".py") or not python_only) and (self.out / file).is_file()
        }
