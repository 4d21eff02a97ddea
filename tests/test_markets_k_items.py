"""The posted-menu experiment kind (experiments/markets/k_items.py).

What must hold: the run row's exact values are the paper's, evaluated here by other code (uniform
values on [0, 1]: the intermediary-proof price p_R = E[v(1, m)] = m / (m + 1), m = ceil(n/k); the
units asked for are Binomial(n, q) with q = 1 - t(p), t(p) = p for surplus-maximizing and (1 + p) / 2
for monopolist intermediaries, whatever the partition; revenue p E[min(D, k)] by scipy.stats.binom;
with single-buyer intermediaries every served buyer is a random asker, welfare E[min(D, k)] (1 + t) / 2;
the best price by a scalar minimizer of that revenue); simulated means (Mesa agents and vectorized
rounds) lie within 4 standard errors of the exact ones; serial and 2-worker runs write the same
bytes; bad parameters are refused in one line with exit 2 before anything is written.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from kind_checks import assert_executors_and_resume_agree, assert_refused
from scipy import optimize, stats

from agora.experiments.markets import registry

SIGMAS = 4.0
N, K = 6, 2
QUANTITIES = ("seller_revenue", "items_sold", "welfare")


def run(steps: int, seed: int = 0, **market):
    kind = registry()["posted-menu"]
    params = kind.validate({"distribution": "uniform:0,1", "buyers": N, "items": K, **market})
    out = kind.run(params, steps, np.random.default_rng(seed))
    assert set(out.steps) == set(kind.quantities)
    assert all(len(col) == steps for col in out.steps.values())
    return out


def threshold(p: float, utility: str) -> float:
    return min(p if utility == "surplus" else (1 + p) / 2, 1.0)


def sold(p: float, utility: str) -> float:
    """E[min(D, k)], D ~ Binomial(n, 1 - t(p))."""
    d = np.arange(N + 1)
    return float(np.sum(np.minimum(d, K) * stats.binom.pmf(d, N, 1 - threshold(p, utility))))


@pytest.mark.parametrize("partition", ["monopsony", "even:2", "competition", "0,1|2,3,4|5"])
@pytest.mark.parametrize("utility", ["surplus", "monopolist"])
def test_exact_row_is_the_binomial_closed_form(partition, utility):
    row = run(2, partition=partition, utility=utility, evaluator="mc").run
    m = math.ceil(N / K)
    assert row["seller_price"] == pytest.approx(m / (m + 1), abs=1e-12)
    p = row["seller_price"]
    assert row["exact_items_sold"] == pytest.approx(sold(p, utility), abs=1e-12)
    assert row["exact_seller_revenue"] == pytest.approx(p * sold(p, utility), abs=1e-12)
    if partition == "competition":
        assert row["exact_welfare"] == pytest.approx(sold(p, utility) * (1 + threshold(p, utility)) / 2, abs=1e-9)


@pytest.mark.parametrize("partition", ["monopsony", "even:2", "even:3", "competition"])
@pytest.mark.parametrize("utility,tau", [("surplus", 1.0), ("monopolist", 1 / math.e)])
def test_intermediary_proof_revenue_meets_corollary_2(partition, utility, tau):
    """k = 2 divides n = 6: revenue >= tau c(lambda) (1 - 1/e) Wel (Corollary 2); uniform values are
    0-regular (c(0) = 1/e) and Wel = E[v(1, 6)] + E[v(2, 6)] = 6/7 + 5/7; tau = 1 for surplus-maximizing,
    c(lambda) for monopolist intermediaries."""
    row = run(2, partition=partition, utility=utility, evaluator="mc").run
    assert row["optimal_welfare"] == pytest.approx(11 / 7, abs=1e-12)
    assert row["guarantee"] == pytest.approx(tau * (1 - 1 / math.e) / math.e * 11 / 7, abs=1e-12)
    assert row["exact_seller_revenue"] >= row["guarantee"]
    assert "guarantee" not in run(2, partition=partition, utility=utility, evaluator="mc", menu=0.5).run


@pytest.mark.parametrize("utility", ["surplus", "monopolist"])
def test_best_menu_maximizes_the_closed_form_revenue(utility):
    row = run(2, menu="best", utility=utility, evaluator="mc").run
    best = optimize.minimize_scalar(lambda p: -p * sold(p, utility), bounds=(0, 1), method="bounded",
                                    options={"xatol": 1e-12})
    assert row["seller_price"] == pytest.approx(best.x, abs=1e-6)
    assert row["exact_seller_revenue"] == pytest.approx(-best.fun, abs=1e-12)


def test_a_given_price_is_posted():
    out = run(3, menu=0.4, evaluator="mc")
    assert out.steps["seller_price"].tolist() == [0.4] * 3
    assert out.run["exact_seller_revenue"] == pytest.approx(0.4 * sold(0.4, "surplus"), abs=1e-12)


@pytest.mark.parametrize("evaluator,steps", [("abm", 1500), ("mc", 200_000)])
@pytest.mark.parametrize("partition,utility", [("even:2", "surplus"), ("0,1|2,3,4|5", "monopolist")])
def test_exact_and_simulated_means_agree_within_4_standard_errors(evaluator, steps, partition, utility):
    out = run(steps, seed=11, partition=partition, utility=utility, evaluator=evaluator)
    row = out.run
    for q in QUANTITIES:
        se = np.std(out.steps[q], ddof=1) / np.sqrt(steps)
        assert row[f"{q}_stderr"] == pytest.approx(se, rel=1e-12)
        assert 0 < se and abs(row[q] - row[f"exact_{q}"]) <= SIGMAS * se, (q, row[q], row[f"exact_{q}"], se)


SPEC = """
name = "menu-executors"
steps = 40
[seeds]
count = 2
base = 3
[market]
protocol = "posted-menu"
distribution = "uniform:0,1"
buyers = 5
items = 2
[[sweep.points]]
"market.partition" = "even:2"
[[sweep.points]]
"market.partition" = "0|1,2|3,4"
"market.utility" = "monopolist"
"market.evaluator" = "mc"
"""


def test_serial_two_workers_and_a_resumed_run_write_identical_tables(tmp_path):
    """A run cut short (two finished runs lost, no tables assembled) finishes to the same bytes."""
    assert_executors_and_resume_agree(SPEC, tmp_path, 4, ("run-000000", "run-000003"))


BAD = [
    ("buyers = 0", "market.buyers = 0: less than 1"),
    ("items = 0", "market.items = 0: less than 1"),
    ('partition = "0,1|1"', 'market.partition = "0,1|1"'),
    ('partition = "even:0"', 'market.partition = "even:0": even:M needs a whole number M >= 1'),
    ('partition = "even:9"', 'market.partition = "even:9": 9 blocks of 6 buyers; at most 6'),
    ('partition = "0,1|2"', "misses buyer(s) [3, 4, 5]"),
    ('utility = "greedy"', 'market.utility = "greedy": not one of the choices; accepted: '
                           'the intermediaries\' utility model: "surplus", "monopolist"'),
    ("menu = -1", "market.menu = -1: not a finite number >= 0"),
    ('menu = "cheap"', 'market.menu = "cheap": not a number'),
    ('distribution = "uniform:2,1"', 'market.distribution = "uniform:2,1"'),
    ("intermediaries = 2", "market.intermediaries = 2: unknown key"),
]


@pytest.mark.parametrize("line,says", BAD, ids=[b[0].split(" =")[0] + str(i) for i, b in enumerate(BAD)])
def test_bad_parameters_are_one_line_exit_2_nothing_written(capsys, tmp_path, line, says):
    assert_refused(capsys, tmp_path, "posted-menu", {"distribution": 'distribution = "uniform:0,1"',
                                                         "buyers": "buyers = 6", "items": "items = 2"}, line, says)
