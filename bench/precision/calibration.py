"""Review calibration on the corpus: keep the runs, then study or measure them.

Confidence is scored after a run from what the run stored, so the runs can be kept
(their SQLite databases) and scored again with other weights without regenerating
anything. Three steps, one project at a time:

- `run`: regenerate projects with the real engine and the replay model exactly as
  the precision bench does (seed 0, no latency, `levels="all"`), and keep each
  run's database as `RUNS/<project>-<profile>-<rate>.db`. Nothing is scored or
  printed about the reference here.
- `features`: for the kept runs of ONE half, every completed atom's doubt signals
  (`AtomEvidence.signals()`) and whether it is wrong (`mge.review.calibration`),
  one JSON line each: the data the weights are chosen on (the development half).
- `measure`: score the kept runs with the current weights and print, per project
  and pooled, the wrong atoms, the share in the bottom 15% and 20% of confidence,
  AUROC (mean over runs and pooled over atoms) and top-of-queue precision.

    python -m bench.precision.calibration run --half development --profile uniform
    python -m bench.precision.calibration features --half development --out dev.jsonl
    python -m bench.precision.calibration measure --half held-out --profile uniform
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, cast

from sqlalchemy import select
from sqlalchemy.orm import Session

from bench.precision import KEPT_CONFIG, FaultProfile, kept_db, run_one
from bench.precision._projects import HALVES, half_of, members_of, projects
from mge.atomize import same_code
from mge.db import make_engine
from mge.db.models import AtomicUnit, AtomStatus, GenerationRun
from mge.review.calibration import auroc, measure
from mge.review.confidence import gather_evidence

RUNS = Path("/tmp/mge-calibration-runs")
FLOOR = 0.1  # the least weight a signal keeps
PENALTIES = (0.0, 3e-4)


def run(names: list[str], profile: str, rate: float, runs: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="mge-bench-calibration-") as scratch:
        root = Path(scratch)
        for name in names:
            if kept_db(runs, name, profile, rate).exists():
                print(f"  {name}: kept run exists, skipped", flush=True)
                continue
            found, left_out = projects(root / name, names=[name])
            if not found:
                print(f"  {name}: left out ({left_out[0].reason if left_out else '?'})")
                continue
            row = run_one(found[0], rate, KEPT_CONFIG, root, cast(FaultProfile, profile), runs)
            print(f"  {name} {profile} {rate:g}: {row.status}, {row.seconds:.0f} s", flush=True)


def _masterplan(session: Session) -> Any:
    record = session.scalars(select(GenerationRun)).one()
    return record.masterplan_id


def features(names: list[str], runs: Path, out: Path) -> int:
    count = 0
    with out.open("w", encoding="utf-8") as handle:
        for path in sorted(runs.glob("*.db")):
            project, profile, rate = _parse(path)
            if project not in names:
                continue
            engine = make_engine(f"sqlite:///{path}")
            try:
                with Session(engine) as session:
                    masterplan_id = _masterplan(session)
                    atoms = {
                        a.id: a
                        for a in session.scalars(
                            select(AtomicUnit).where(AtomicUnit.masterplan_id == masterplan_id)
                        )
                    }
                    for evidence in gather_evidence(session, masterplan_id=masterplan_id):
                        atom = atoms[evidence.atom_id]
                        if atom.status is not AtomStatus.COMPLETED or atom.reference_code is None:
                            continue
                        row = {
                            "project": project,
                            "profile": profile,
                            "rate": rate,
                            "atom": evidence.atom_key,
                            "wrong": not same_code(atom.code, atom.reference_code),
                            "signals": evidence.signals(),
                            "evidence": {
                                k: v
                                for k, v in asdict(evidence).items()
                                if k not in ("atom_id", "atom_key")
                            },
                        }
                        handle.write(json.dumps(row, sort_keys=True) + "\n")
                        count += 1
            finally:
                engine.dispose()
    return count


def _parse(path: Path) -> tuple[str, str, float]:
    stem, rate = path.stem.rsplit("-", 1)
    project, profile = stem.rsplit("-", 1)
    return project, profile, float(rate)


@dataclass
class Measured:
    project: str
    atoms: int
    wrong: int
    bottom_15: int
    bottom_20: int
    auroc: float | None
    top: int  # wrong among the `wrong` least confident
    scores: list[tuple[float, bool]]


def measure_runs(names: list[str], runs: Path, profile: str, rate: float) -> list[Measured]:
    measured: list[Measured] = []
    for name in names:
        path = kept_db(runs, name, profile, rate)
        if not path.exists():
            continue
        scratch = Path(tempfile.mkdtemp(prefix="mge-calibration-measure-"))
        copy = scratch / path.name  # scoring writes the scores; the kept run stays as run
        shutil.copyfile(path, copy)
        engine = make_engine(f"sqlite:///{copy}")
        try:
            with Session(engine) as session:
                masterplan_id = _masterplan(session)
                result = measure(session, masterplan_id=masterplan_id)
                atoms = [
                    a
                    for a in session.scalars(
                        select(AtomicUnit).where(AtomicUnit.masterplan_id == masterplan_id)
                    )
                    if a.status is AtomStatus.COMPLETED and a.reference_code is not None
                ]
                scores = [
                    (float(a.confidence_score or 0.0), not same_code(a.code, a.reference_code))
                    for a in atoms
                ]
        finally:
            engine.dispose()
            shutil.rmtree(scratch, ignore_errors=True)
        order = sorted(scores, key=lambda p: (p[0], p[1]))
        measured.append(
            Measured(
                project=name,
                atoms=result.atoms,
                wrong=result.wrong,
                bottom_15=round((result.recall_bottom_15 or 0.0) * result.wrong),
                bottom_20=round((result.recall_bottom_20 or 0.0) * result.wrong),
                auroc=result.auroc,
                top=sum(w for _, w in order[: result.wrong]),
                scores=scores,
            )
        )
    return measured


def report(measured: list[Measured], title: str) -> str:
    def share(found: int, base: int) -> str:
        return f"{found}/{base} ({100.0 * found / base:.0f}%)" if base else "n/a"

    lines = [
        f"{title}",
        "| project | atoms | wrong | in bottom 15% | in bottom 20% | AUROC | top precision |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for m in measured:
        lines.append(
            f"| {m.project} | {m.atoms} | {m.wrong} | {share(m.bottom_15, m.wrong)} "
            f"| {share(m.bottom_20, m.wrong)} "
            f"| {'n/a' if m.auroc is None else f'{m.auroc:.3f}'} | {share(m.top, m.wrong)} |"
        )
    wrong = sum(m.wrong for m in measured)
    scored = [m.auroc for m in measured if m.auroc is not None]
    pooled = [p for m in measured for p in m.scores]
    pooled_auroc = auroc([s for s, _ in pooled], [w for _, w in pooled])
    lines.append(
        f"| **pooled** ({len(measured)} runs) | {sum(m.atoms for m in measured)} | {wrong} "
        f"| {share(sum(m.bottom_15 for m in measured), wrong)} "
        f"| {share(sum(m.bottom_20 for m in measured), wrong)} "
        f"| mean {sum(scored) / len(scored) if scored else float('nan'):.3f}, "
        f"over atoms {pooled_auroc if pooled_auroc is not None else float('nan'):.3f} "
        f"| {share(sum(m.top for m in measured), wrong)} |"
    )
    return "\n".join(lines)


# --- choosing the weights on the development features ---------------------------


def _rows(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def fit(
    rows: list[dict[str, Any]],
    names: list[str],
    penalty: float,
    *,
    steps: int = 3000,
    floor: float = FLOOR,
) -> tuple[float, dict[str, float]]:
    """An L2-regularised logistic regression of "wrong" on the doubt signals, with
    every weight kept >= `floor` (each signal may only be a reason for doubt, so a
    score's components still explain it, and each still shows as a small one):
    projected gradient descent on the mean log loss.
    Identical signal vectors are pooled, so a run of thousands of atoms is cheap."""
    groups: dict[tuple[float, ...], list[int]] = {}
    for row in rows:
        key = tuple(float(row["signals"].get(n, 0.0)) for n in names)
        counts = groups.setdefault(key, [0, 0])
        counts[1 if row["wrong"] else 0] += 1
    total = float(len(rows))
    weights = [0.0] * len(names)
    bias = -3.0
    rate = 2.0
    for _ in range(steps):
        grad = [0.0] * len(names)
        grad_bias = 0.0
        for key, (right, wrong) in groups.items():
            z = bias + sum(w * x for w, x in zip(weights, key, strict=True))
            p = 1.0 / (1.0 + math.exp(-z)) if z > -30 else 0.0
            error = (p * (right + wrong) - wrong) / total
            grad_bias += error
            for i, x in enumerate(key):
                if x:
                    grad[i] += error * x
        bias -= rate * grad_bias
        weights = [
            max(floor, w - rate * (g + penalty * w)) for w, g in zip(weights, grad, strict=True)
        ]
    return bias, dict(zip(names, weights, strict=True))


def _ranking(rows: list[dict[str, Any]], weights: dict[str, float]) -> dict[str, float]:
    """Per run: the wrong atoms in the bottom 20% (ties against them) and AUROC."""
    runs: dict[tuple[str, str], list[tuple[float, bool]]] = {}
    for row in rows:
        doubt = sum(weights.get(n, 0.0) * v for n, v in row["signals"].items())
        runs.setdefault((row["project"], row["profile"]), []).append((-doubt, row["wrong"]))
    wrong = found = 0
    pooled: list[tuple[float, bool]] = []
    for scored in runs.values():
        order = [w for _, w in sorted(scored, key=lambda p: (p[0], p[1]))]
        wrong += sum(order)
        found += sum(order[: max(1, round(0.2 * len(order)))])
        pooled += scored
    value = auroc([s for s, _ in pooled], [w for _, w in pooled])
    return {"wrong": wrong, "bottom_20": found, "auroc": value or 0.0}


def choose(rows: list[dict[str, Any]], names: list[str]) -> None:
    """Pick the penalty by leaving one development project out at a time, then fit
    on all of the development rows and print the weights."""
    projects_seen = sorted({row["project"] for row in rows})
    for penalty in PENALTIES:
        predicted: list[dict[str, Any]] = []
        for project in projects_seen:
            train = [r for r in rows if r["project"] != project]
            test = [r for r in rows if r["project"] == project]
            _bias, weights = fit(train, names, penalty, steps=1500)
            predicted += [{**r, "weights": weights} for r in test]
        found = wrong = 0
        pooled: list[tuple[float, bool]] = []
        by_run: dict[tuple[str, str], list[tuple[float, bool]]] = {}
        for r in predicted:
            doubt = sum(r["weights"].get(n, 0.0) * v for n, v in r["signals"].items())
            by_run.setdefault((r["project"], r["profile"]), []).append((-doubt, r["wrong"]))
        for scored in by_run.values():
            order = [w for _, w in sorted(scored, key=lambda p: (p[0], p[1]))]
            wrong += sum(order)
            found += sum(order[: max(1, round(0.2 * len(order)))])
            pooled += scored
        value = auroc([s for s, _ in pooled], [w for _, w in pooled])
        print(
            f"penalty {penalty:g}: leave-one-project-out {found}/{wrong} in bottom 20%, "
            f"AUROC over atoms {value or 0.0:.3f}"
        )
    for penalty in PENALTIES:
        bias, weights = fit(rows, names, penalty)
        print(f"penalty {penalty:g}: bias {bias:.2f}, in-sample {_ranking(rows, weights)}")
        print("  " + ", ".join(f"{n} {w:.2f}" for n, w in weights.items() if w > 0.005))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.precision.calibration")
    parser.add_argument("step", choices=("run", "features", "fit", "measure"))
    parser.add_argument("--half", choices=HALVES, default=None)
    parser.add_argument("--projects", default=None, help="comma-separated project names")
    parser.add_argument("--profile", default="uniform")
    parser.add_argument("--rate", type=float, default=0.1)
    parser.add_argument("--runs", type=Path, default=RUNS, help="where the kept runs are")
    parser.add_argument("--out", type=Path, default=Path("calibration-features.jsonl"))
    args = parser.parse_args(argv)
    if args.projects:
        names = args.projects.split(",")
    elif args.half:
        names = members_of(args.half)
    else:
        parser.error("say which projects: --half or --projects")
    if args.step == "fit":
        rows = _rows(args.out)
        if any(half_of(row["project"]) != HALVES[0] for row in rows):
            parser.error("weights are chosen on the development half only")
        names = sorted({n for row in rows for n in row["signals"]} - {"failed"})
        choose(rows, names)
        return 0
    if args.step == "run":
        run(names, args.profile, args.rate, args.runs)
    elif args.step == "features":
        if args.half != HALVES[0] and not args.projects:
            parser.error("features are for choosing weights: the development half only")
        print(f"{features(names, args.runs, args.out)} atoms written to {args.out}")
    else:
        title = f"{args.half or 'projects'}, {args.profile}, rate {args.rate:g}, {KEPT_CONFIG}"
        print(report(measure_runs(names, args.runs, args.profile, args.rate), title))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(__import__("sys").argv[1:]))
