"""Planning fidelity: `mge plan new` on replay against the reference's own plan.

For each fault rate and seed, a draft is made from a request with the replay model
answering from a reference project (by default the bundled inventory example).
Measured against the plan `from-code` makes of the reference:

- fidelity: tasks, files (owned by the right task), dependencies and test files
  recovered, in %;
- planning faults: how many were injected, how many validation sent back (caught)
  and how many reached the draft (silent), by kind;
- with `--run N`: the first N seeds' drafts are run (`mge run --yes`) and the run's
  precision against the tests written first is reported.

    .venv/bin/python -m bench.planning [--rates 0,0.1,0.3,0.5] [--seeds 5] [--run 2]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import subprocess
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from mge.llm import make_model
from mge.llm._planning_replay import PlanningAnswers, planning_fault
from mge.plan import Plan, dump_plan
from mge.plan._drafting import parse_test_files
from mge.planner import Draft, draft_plan

REFERENCE = Path(__file__).resolve().parents[2] / "examples" / "inventory" / "reference"
REQUEST = "A small stock-keeping library: catalog, ledger, pricing, orders, returns, reports."


def _percent(found: int, total: int) -> float:
    return 100.0 * found / total if total else 100.0


def fidelity(reference: Plan, tests: dict[str, str], draft: Draft) -> dict[str, float]:
    """Shares of the reference's tasks, file owners, dependencies and tests in the draft."""
    plan = draft.plan
    ref_tasks = {t.id: t for t in reference.tasks()}
    got = {t.id: t for t in plan.tasks()} if plan is not None else {}
    ref_files = {(f, t.id) for t in ref_tasks.values() for f in t.files}
    got_files = {(f, t.id) for t in got.values() for f in t.files}
    ref_deps = {(t.id, d) for t in ref_tasks.values() for d in t.depends_on}
    got_deps = {(t.id, d) for t in got.values() for d in t.depends_on}
    same_tests = sum(1 for path, text in tests.items() if draft.tests.get(path) == text)
    return {
        "tasks": _percent(len(ref_tasks.keys() & got.keys()), len(ref_tasks)),
        "files": _percent(len(ref_files & got_files), len(ref_files)),
        "dependencies": _percent(len(ref_deps & got_deps), len(ref_deps)),
        "tests": _percent(same_tests, len(tests)),
    }


@dataclass
class Faults:
    caught: Counter[str] = field(default_factory=Counter)
    silent: Counter[str] = field(default_factory=Counter)


def faults(draft: Draft, *, seed: int, rate: float) -> Faults:
    """Faults injected per call: refused (a later attempt followed) or accepted."""
    out = Faults()
    for stage in draft.stages:
        for attempt in range(1, stage.attempts + 1):
            kind, _ = planning_fault(stage.stage, seed=seed, attempt=attempt, rate=rate)
            if kind is None:
                continue
            accepted = stage.ok and attempt == stage.attempts
            (out.silent if accepted else out.caught)[kind] += 1
    return out


def _run(draft: Draft, reference: Path, work: Path) -> float | None:
    """Run the drafted plan with replay; the precision against the drafted tests."""
    assert draft.plan is not None
    plan_file = work / "plan.yaml"
    plan_file.write_text(
        dump_plan(draft.plan.model_copy(update={"reference": str(reference)})), encoding="utf-8"
    )
    tests = work / "tests"
    for path, text in draft.tests.items():
        (tests / path).parent.mkdir(parents=True, exist_ok=True)
        (tests / path).write_text(text, encoding="utf-8")
    result = subprocess.run(
        [
            sys.executable, "-m", "mge", "run", str(plan_file), "--yes", "--tests", str(tests),
            "--db", f"sqlite:///{work / 'mge.db'}", "--out", str(work / "out"),
            "--no-mutation", "--json", "--quiet",
        ],
        capture_output=True, text=True, timeout=1200,
    )  # fmt: skip
    try:
        value = json.loads(result.stdout)["precision_percent"]
    except (json.JSONDecodeError, KeyError):
        return None
    return float(value) if value is not None else None


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="bench.planning")
    parser.add_argument("--reference", type=Path, default=REFERENCE)
    parser.add_argument("--rates", default="0,0.1,0.3,0.5")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--run", type=int, default=0, help="Run the first N seeds' drafts.")
    args, _ = parser.parse_known_args(argv)
    answers = PlanningAnswers(args.reference)
    reference_plan = answers.plan
    reference_tests = parse_test_files(answers.tests(None, random.Random(0)), reference_plan)
    print(
        "| fault rate | drafts complete | tasks % | files % | dependencies % | tests % |"
        " faults caught | faults silent | precision % (runs) |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for rate in [float(r) for r in args.rates.split(",")]:
        rows, caught, silent, precisions = [], Counter[str](), Counter[str](), []
        for seed in range(args.seeds):
            model = make_model("replay", reference_dir=args.reference, fault_rate=rate, seed=seed)
            draft = asyncio.run(draft_plan(REQUEST, model, max_attempts=3))
            rows.append((draft, fidelity(reference_plan, reference_tests, draft)))
            found = faults(draft, seed=seed, rate=rate)
            caught.update(found.caught)
            silent.update(found.silent)
            if seed < args.run and draft.complete:
                with tempfile.TemporaryDirectory(prefix="mge-bench-plan-") as work:
                    precision = _run(draft, args.reference.resolve(), Path(work))
                if precision is not None:
                    precisions.append(precision)
        mean = {
            key: sum(f[key] for _, f in rows) / len(rows)
            for key in ("tasks", "files", "dependencies", "tests")
        }
        complete = sum(1 for d, _ in rows if d.complete)

        def listing(counter: Counter[str]) -> str:
            return ", ".join(f"{k} {n}" for k, n in sorted(counter.items())) or "-"

        runs = f"{sum(precisions) / len(precisions):.1f} ({len(precisions)})" if precisions else "-"
        print(
            f"| {rate:g} | {complete}/{len(rows)} | {mean['tasks']:.1f} | {mean['files']:.1f} |"
            f" {mean['dependencies']:.1f} | {mean['tests']:.1f} | {listing(caught)} |"
            f" {listing(silent)} | {runs} |",
            flush=True,
        )
    return 0
