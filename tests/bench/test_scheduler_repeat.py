"""The scheduler benchmark's repeated runs: which run of a configuration its
tables show and its verdict judges, and what a bad count gets."""

from __future__ import annotations

import dataclasses

import pytest
from bench.scheduler import ShapeResult, _section, engine_table, main
from bench.scheduler._drive import EngineRun
from bench.scheduler._peer import Work
from tests.bench.conftest import engine_run

# One atom of 1 s: the bound of every run below is its CPU term, 12 s over 2 cores.
WORK = Work(order=["a"], prerequisites={"a": []}, seconds={"a": 1.0})


def _run(generate_seconds: float) -> EngineRun:
    return engine_run(
        executor="local", generate_seconds=generate_seconds, machine_busy_seconds=12.0
    )


def _result(*seconds: float) -> ShapeResult:
    result = ShapeResult("wide", WORK)
    result.samples["local"] = [_run(s) for s in seconds]
    return result


def test_the_median_run_by_its_ratio_to_its_own_bound_stands_for_the_configuration() -> None:
    result = _result(6.3, 7.2, 6.6)
    assert result.ratio(result.samples["local"][0]) == pytest.approx(1.05)
    assert result.runs["local"].generate_seconds == 6.6
    assert result.ratios_text("local") == "1.05 / 1.20 / 1.10"
    # The ratio decides, not the makespan: a run that spent more CPU has a larger
    # bound, and its longer makespan can be the smaller ratio.
    slow_but_busy = dataclasses.replace(_run(7.5), driver_cpu_seconds=8.0)  # 14 s: 1.07x
    result.samples["local"] = [_run(6.3), _run(7.2), slow_but_busy]
    assert result.runs["local"] is slow_but_busy
    # Of an even number, the upper middle one: the verdict never rounds in its favour.
    assert _result(6.3, 6.6, 7.2, 6.0).runs["local"].generate_seconds == 6.6
    assert _result(6.0).runs["local"].generate_seconds == 6.0
    assert _result().runs == {}


def test_the_table_shows_every_run_and_the_verdict_counts_configurations() -> None:
    met, missed = _result(6.3, 7.2, 6.6), _result(6.9, 6.0, 7.2)
    missed.samples["ray"] = missed.samples.pop("local")
    rows = engine_table([met, missed]).splitlines()[2:]
    assert "| 6.60 s | 1.10x | 1.05 / 1.20 / 1.10 | yes |" in rows[0]
    assert "| 6.90 s | 1.15x | 1.15 / 1.00 / 1.20 | no |" in rows[1]
    section = _section("cmd", [met, missed], 1.0, "a machine", "0.1")
    assert (
        "met by 1 of 2 configurations (each its median of 3 runs); missed by wide ray (1.15x"
        in section
    )
    single = _section("cmd", [_result(6.3)], 1.0, "a machine", "0.1")
    assert "met by 1 of 1 runs." in single


@pytest.mark.parametrize("flag", ["--repeat", "--rounds"])
def test_a_count_below_one_is_refused_in_one_line(
    flag: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([flag, "0"]) == 2
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and flag in out
