"""The scheduler bench's before/after mode: the commits it checks out, the figures a
run reports back, and the table that sets the sides beside each other.

No engine runs here (that takes a database and minutes); the figures are made up
so that each case checks what a wrong median, order or parse would get wrong.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import asdict
from pathlib import Path

import pytest
from bench.scheduler import main
from bench.scheduler._alternate import (
    CheckoutFailed,
    Figures,
    Row,
    alternate_table,
    checkouts,
    figures_from,
)

REPO = Path(__file__).resolve().parents[2]


def _figures(eager: float, bound: float = 2.0, shape: str = "wide") -> Figures:
    return Figures(
        shape=shape,
        executor="local",
        status="completed",
        eager_seconds=eager,
        bound_seconds=bound,
        cpu_seconds=2 * bound,
        stolen_seconds=0.0,
        flush_seconds=0.05,
    )


def test_a_run_s_figures_are_read_back_from_among_its_other_output() -> None:
    figures = _figures(2.2)
    output = "\n".join(
        [
            "local: completed, 3000/3000 atoms",
            "bench.scheduler figures: " + json.dumps(asdict(figures)),
            "a warning printed on the way out",
        ]
    )
    assert figures_from(output) == figures
    assert figures_from(output).ratio == pytest.approx(1.1)  # type: ignore[union-attr]
    assert figures_from("Traceback (most recent call last):\n  ...") is None


def test_the_table_gives_each_side_its_runs_in_round_order_and_their_median() -> None:
    rows = [
        Row(2, "after", _figures(2.0)),
        Row(1, "before", _figures(2.4)),
        Row(1, "after", _figures(2.1)),
        Row(2, "before", _figures(2.3)),
        Row(3, "after", _figures(2.6)),
        Row(3, "before", _figures(2.2)),
        Row(1, "after", _figures(9.0, shape="chain")),
    ]
    lines = alternate_table(rows, ["before", "after"]).splitlines()
    wide_before = next(line for line in lines if "| wide |" in line and "before" in line)
    wide_after = next(line for line in lines if "| wide |" in line and "after" in line)
    # Round order, whatever order the rows came in; the median, not the mean.
    assert "| 2.40 / 2.30 / 2.20 | 2.30 |" in wide_before
    assert "| 2.10 / 2.00 / 2.60 | 2.10 |" in wide_after
    assert "| 1.05 / 1.00 / 1.30 | 1.05x | 2 of 3 |" in wide_after
    # Each graph apart: chain has one side's run only.
    chain = [line for line in lines if "| chain |" in line]
    assert len(chain) == 1 and "| 9.00 |" in chain[0]


def test_each_commit_is_checked_out_apart_and_removed_again() -> None:
    with checkouts(["HEAD", "HEAD"]) as paths:
        assert len(paths) == 2 and paths[0] != paths[1]
        for path in paths:
            assert (path / "src" / "mge" / "__init__.py").is_file()
            assert (path / ".git").is_file()  # a worktree, not a copy
    assert not any(path.exists() for path in paths)
    listed = subprocess.run(
        ["git", "-C", str(REPO), "worktree", "list"], capture_output=True, text=True, check=True
    ).stdout
    assert not any(str(path) in listed for path in paths)


def test_a_commit_that_does_not_exist_is_refused_in_one_line() -> None:
    sides = ["HEAD", "no-such-commit"]
    with pytest.raises(CheckoutFailed, match="no-such-commit"), checkouts(sides):
        pass
    # The commit checked out before it is removed again.
    listed = subprocess.run(
        ["git", "-C", str(REPO), "worktree", "list"], capture_output=True, text=True, check=True
    ).stdout
    assert "mge-bench-checkouts-" not in listed


def test_the_mode_refuses_bad_input_with_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--alternate", "HEAD", "--executors", "local"]) == 2
    assert main(["--alternate", "HEAD,no-such-commit", "--executors", "local"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2
    assert "two commits or more" in err[0]
    assert "cannot check out 'no-such-commit'" in err[1]
