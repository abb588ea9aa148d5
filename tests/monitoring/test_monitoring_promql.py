"""The metric-name extractor the dashboard and alert tests rely on."""

from __future__ import annotations

import pytest

from mge.monitoring._promql import metric_names


@pytest.mark.parametrize(
    ("expr", "names"),
    [
        ("up", {"up"}),
        ('mge_runs_active{masterplan=~"$masterplan"} > 0', {"mge_runs_active"}),
        (
            "sum by (le) (rate(mge_atom_loc_bucket[$__rate_interval]))",
            {"mge_atom_loc_bucket"},
        ),
        (
            "histogram_quantile(0.9, sum(rate(x_bucket[5m])) by (le, masterplan)) > 15",
            {"x_bucket"},
        ),
        (
            "(time() - a_seconds) > 7200 and on (masterplan) (b > 0)",
            {"a_seconds", "b"},
        ),
        (
            'a / on (masterplan) group_left (model) b{kind="input"} offset 1h30m',
            {"a", "b"},
        ),
        ("max_over_time(c[15m:1m]) < 1e3 unless ignoring (x) d", {"c", "d"}),
        ('label_replace(e, "dst", "$1", "src", "(.*)")', {"e"}),
        ("sum without (instance) (f_total) == bool 0", {"f_total"}),
        ('{__name__="g"}', set()),
        ("1 + 2 * 3", set()),
    ],
)
def test_metric_names(expr: str, names: set[str]) -> None:
    assert metric_names(expr) == names
