"""``agora report`` on a sweep over every partition: more than 12 partitions are pooled by block sizes.

Expected values come from outside the report: the shapes are the integer partitions of n, each
holding n! / (prod size! prod multiplicity!) set partitions (counted here by formula), each point is
the mean of its shape's runs computed here from runs.parquet, and the exact dash is the intermediary-
proof price's revenue p E[min(Bin(n, 1 - p), k)] from scipy.stats.binom (surplus-maximizing
intermediaries: the same on every partition).
"""

from __future__ import annotations

import math
from collections import Counter

import matplotlib
import numpy as np
import pandas as pd
import pytest
from scipy import stats
from test_report_figures import legend_overlaps

from agora.experiments.report_figures import report_figures
from agora.experiments.runner import SerialExecutor, run_experiment
from agora.experiments.spec import parse_spec_table
from agora.experiments.summaries import summary_table
from agora.market.demand import parse_partition

matplotlib.use("Agg")


def run_all_partitions(folder, buyers: int) -> pd.DataFrame:
    spec = parse_spec_table({"steps": 60, "seeds": {"count": 2, "base": 5},
                             "market": {"protocol": "posted-menu", "distribution": "uniform:0,1", "buyers": buyers,
                                        "items": 2, "partition": "all", "evaluator": "mc"}}, "all")
    run_experiment(spec, folder, SerialExecutor(), "serial", 1)
    return pd.read_parquet(folder / "runs.parquet")


def shape(text: str) -> tuple[int, ...]:
    return tuple(sorted((len(b) for b in parse_partition(text)), reverse=True))


def set_partitions_of_shape(sizes: tuple[int, ...]) -> int:
    n = sum(sizes)
    return math.factorial(n) // (math.prod(math.factorial(s) for s in sizes)
                                 * math.prod(math.factorial(m) for m in Counter(sizes).values()))


@pytest.fixture(scope="module")
def four(tmp_path_factory):
    runs = run_all_partitions(tmp_path_factory.mktemp("all4"), 4)
    (fig,) = report_figures(runs, summary_table(runs, ["partition"]), ["partition"])
    fig.figure.canvas.draw()
    return runs, fig


def test_fifteen_partitions_are_drawn_as_five_shapes(four):
    runs, fig = four
    assert fig.stem == "revenue_by_block_sizes"
    ax = fig.figure.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["4", "3+1", "2+2", "2+1+1", "1+1+1+1"]
    assert ax.get_title() == "mean of every partition's runs (2 to 12), 95% band"
    assert legend_overlaps(fig.figure) == []


def test_each_point_is_the_mean_of_its_shapes_runs(four):
    runs, fig = four
    shapes = runs["partition"].map(shape)
    points = fig.figure.axes[0].lines[0].get_ydata()  # the errorbar's markers
    for sizes, y in zip([(4,), (3, 1), (2, 2), (2, 1, 1), (1, 1, 1, 1)], points):
        group = runs.loc[shapes == sizes, "seller_revenue"]
        assert len(group) == 2 * set_partitions_of_shape(sizes)
        assert y == pytest.approx(group.mean(), rel=1e-12)


def test_the_exact_dash_is_the_binomial_closed_form(four):
    _, fig = four
    p = 2 / 3  # E[max of 2 U[0, 1]]: the intermediary-proof price for n = 4, k = 2
    d = stats.binom(4, 1 - p)
    expected = p * sum(min(j, 2) * d.pmf(j) for j in range(5))
    dashes = [c for c in fig.figure.axes[0].collections if c.get_linestyle()[0][1] is not None]
    ys = np.concatenate([np.asarray(seg)[:, :, 1].ravel() for c in dashes for seg in [c.get_segments()]])
    assert len(ys) == 10 and np.allclose(ys, expected, rtol=1e-9)


def test_a_few_partitions_keep_a_point_each(tmp_path):
    runs = run_all_partitions(tmp_path, 3)
    (fig,) = report_figures(runs, summary_table(runs, ["partition"]), ["partition"])
    assert fig.stem == "revenue_by_partition" and len(fig.figure.axes[0].get_xticklabels()) == 5
