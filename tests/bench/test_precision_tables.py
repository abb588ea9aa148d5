"""The precision table is rendered from a results file that grows run by run.

A long measurement is taken in slices, across sessions and commits, so the file
holds every run ever appended: the table must show the newest run per setting,
and pool the projects of a setting without mixing settings.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from bench.corpus._npm import NPM_CORPUS
from bench.corpus._projects import CORPUS
from bench.precision import (
    Row,
    append_result,
    calibration_table,
    kept_db,
    load_results,
    own_suite,
    pooled_table,
)
from bench.precision._projects import members_of

REPO = Path(__file__).resolve().parents[2]


def _row(project: str, rate: float, *, passed: int, total: int, **extra: object) -> Row:
    values: dict[str, object] = {
        "project": project,
        "label": project,
        "profile": "uniform",
        "rate": rate,
        "config": "L1-L4 + blame",
        "status": "completed",
        "atoms": 10,
        "failed": 0,
        "blocked": 0,
        "suite_total": total,
        "suite_passed": passed,
        "engine_total": total,
        "engine_passed": passed,
        "reference_match": 100.0,
        "silent_faults": 0,
        "attempts": 12,
        "cost_usd": 0.5,
        "seconds": 1.0,
        "commit": "abc1234",
        "faults": {"injected": 4, "outcomes": {"L1": 3, "silent": 1}},
    }
    values.update(extra)
    return Row(**values)  # type: ignore[arg-type]


def test_the_newest_run_of_a_setting_wins(tmp_path: Path) -> None:
    results = tmp_path / "results.jsonl"
    append_result(results, _row("a", 0.1, passed=5, total=10))
    append_result(results, _row("b", 0.1, passed=10, total=10))
    append_result(results, _row("a", 0.1, passed=9, total=10, commit="def5678"))
    rows = load_results(results)
    assert [(r.project, r.suite_passed, r.commit) for r in rows] == [
        ("b", 10, "abc1234"),
        ("a", 9, "def5678"),
    ]


def test_pooled_rows_sum_projects_of_one_setting_only(tmp_path: Path) -> None:
    rows = [
        _row("a", 0.1, passed=99, total=100),
        _row("b", 0.1, passed=50, total=100),
        _row("a", 0.2, passed=1, total=100),
    ]
    lines = pooled_table(rows).splitlines()[2:]
    assert len(lines) == 2
    first = [cell.strip() for cell in lines[0].split("|")[1:-1]]
    # corpus, rate, profile, config, projects, tests, projects at target,
    # failed/blocked, match, silent, attempts/atom, cost, injected, L1, L2-L4, silent
    assert first[:7] == [
        "PyPI",
        "0.1",
        "uniform",
        "L1-L4 + blame",
        "2",
        "149/200 (74.5%)",
        "1/2",
    ]
    assert first[10:] == ["1.20", "1.00", "8", "75.0", "0.0", "25.0"]


def test_each_corpus_is_pooled_on_its_own() -> None:
    """A JavaScript package's figures are not folded into the Python projects'."""
    package = NPM_CORPUS[0].name
    rows = [
        _row("a", 0.1, passed=99, total=100),
        _row(package, 0.1, passed=1, total=10),
        _row("b", 0.1, passed=50, total=100),
    ]
    cells = [
        [c.strip() for c in line.split("|")[1:-1]] for line in pooled_table(rows).splitlines()[2:]
    ]
    assert [(c[0], c[4], c[5]) for c in cells] == [
        ("PyPI", "2", "149/200 (74.5%)"),
        ("npm", "1", "1/10 (10.0%)"),
    ]
    calibration = calibration_table([_row(package, 0.1, passed=1, total=1, wrong=2)])
    assert [line.split("|")[1].strip() for line in calibration.splitlines()[2:]] == ["npm"]


def test_a_suite_that_hung_counts_as_failed_not_missing() -> None:
    hung = _row("a", 0.1, passed=0, total=-1)
    assert hung.suite_percent == 0.0
    lines = pooled_table([hung, _row("b", 0.1, passed=10, total=10)]).splitlines()[2:]
    assert "| 1/2 |" in lines[0]


def test_calibration_pools_wrong_atoms_per_half_and_skips_fault_free_runs() -> None:
    development, held_out = members_of("development")[1], members_of("held-out")[0]
    rows = [
        _row(development, 0.0, passed=1, total=1, wrong=0),
        _row(development, 0.1, passed=1, total=1, wrong=4, wrong_in_bottom_20=3, auroc=0.9),
        _row(held_out, 0.1, passed=1, total=1, wrong=1, wrong_in_bottom_20=1, auroc=0.7),
        _row(held_out, 0.1, passed=1, total=1, wrong=3, wrong_in_bottom_20=1, auroc=0.5),
    ]
    lines = calibration_table(rows).splitlines()[2:]
    cells = [[c.strip() for c in line.split("|")[1:-1]] for line in lines]
    assert [(c[0], c[4], c[5], c[7], c[8]) for c in cells] == [
        ("development", "1/1", "4", "3/4 (75%)", "0.900"),
        ("held-out", "2/2", "4", "2/4 (50%)", "0.600"),
    ]


def test_the_halves_split_the_corpus_once_and_completely() -> None:
    development, held_out = members_of("development"), members_of("held-out")
    corpus = {sdist.name for sdist in CORPUS}
    assert not set(development) & set(held_out)
    assert set(development) | set(held_out) == corpus | {"inventory"}
    assert abs(len(set(development) & corpus) - len(held_out)) <= 1


def test_the_own_suite_of_a_node_project_runs_with_node(tmp_path: Path) -> None:
    """The bench counts a TypeScript or JavaScript project's suite with `node --test`
    in the sandbox, as the engine does; pytest would find no test in it."""
    example = REPO / "examples" / "ts-ledger"
    out = tmp_path / "out"
    shutil.copytree(example / "reference", out)
    assert own_suite(out, example / "plan.yaml") == (6, 6)
    money = out / "src" / "util" / "money.ts"
    money.write_text(money.read_text().replace("Number(match[2]) * 100", "Number(match[2]) * 10"))
    total, passed = own_suite(out, example / "plan.yaml")
    assert total == 6 and passed < 6


def test_a_kept_database_of_a_scoped_npm_package_is_one_file_in_the_folder(
    tmp_path: Path,
) -> None:
    path = kept_db(tmp_path, "@fastify/error", "realistic", 0.05)
    assert path.parent == tmp_path
    assert path.name == "@fastify+error-realistic-0.05.db"
    assert kept_db(tmp_path, "tinydb", "uniform", 0.1).name == "tinydb-uniform-0.1.db"
