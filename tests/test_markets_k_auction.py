"""The k-item-auction experiment kind (experiments/markets/k_items.py).

What must hold (uniform values on [0, 1], n = 6 buyers, k = 2 items, Myerson's reserve 1/2): the
run row's exact revenue is the paper's, evaluated here by other code: under competition
sum_{j <= k} E[max(phi(v(j, n)), 0)] = sum_j int_{1/2}^1 (2u - 1) Beta(n - j + 1, j)(u) du by quad
(Proposition 1); under monopsony r E[min(Bin(n, 1/2), k)] by scipy.stats.binom (Proposition 2);
simulated means (Mesa agents and vectorized rounds) lie within 4 standard errors of them; with an
intermediary holding three buyers the two evaluators agree and the revenue falls below Myerson's;
serial and 2-worker runs write the same bytes; bad parameters are refused in one line with exit 2.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from kind_checks import assert_executors_and_resume_agree, assert_refused
from scipy import integrate, stats

from agora.experiments.markets import registry

SIGMAS = 4.0
N, K = 6, 2
QUANTITIES = ("seller_revenue", "items_sold")


def run(steps: int, seed: int = 0, **market):
    kind = registry()["k-item-auction"]
    params = kind.validate({"distribution": "uniform:0,1", "buyers": N, "items": K, **market})
    out = kind.run(params, steps, np.random.default_rng(seed))
    assert set(out.steps) == set(kind.quantities)
    assert all(len(col) == steps for col in out.steps.values())
    return out


def competition_revenue() -> float:
    return sum(integrate.quad(lambda u, j=j: (2 * u - 1) * stats.beta(N - j + 1, j).pdf(u), 0.5, 1)[0]
               for j in range(1, K + 1))


def monopsony_revenue() -> float:
    d = np.arange(N + 1)
    return 0.5 * float(np.sum(np.minimum(d, K) * stats.binom.pmf(d, N, 0.5)))


@pytest.mark.parametrize("partition,want", [("competition", competition_revenue), ("monopsony", monopsony_revenue),
                                            ("0,1,2|3|4|5", lambda: math.nan)])
def test_exact_row_is_propositions_1_and_2(partition, want):
    row = run(2, partition=partition, evaluator="mc").run
    assert row["reserve"] == 0.5
    assert row["revenue_under_competition"] == pytest.approx(competition_revenue(), abs=1e-9)
    if math.isnan(want()):
        assert math.isnan(row["exact_seller_revenue"])
    else:
        assert row["exact_seller_revenue"] == pytest.approx(want(), abs=1e-9)


def given_reserve_revenue(partition: str, r: float) -> float:
    """At reserve r: under competition k E[v(k+1); v(k+1) >= r] + r E[D; D <= k] with v(k+1) ~ Beta(n - k, k + 1)
    by quad, D ~ Bin(n, 1 - r); under monopsony r E[min(D, k)]."""
    d = np.arange(N + 1)
    pmf = stats.binom.pmf(d, N, 1 - r)
    if partition == "monopsony":
        return r * float(np.sum(np.minimum(d, K) * pmf))
    above = integrate.quad(lambda u: u * stats.beta(N - K, K + 1).pdf(u), r, 1)[0]
    return K * above + r * float(np.sum(np.where(d <= K, d, 0) * pmf))


@pytest.mark.parametrize("partition", ["competition", "monopsony"])
@pytest.mark.parametrize("reserve", [0.3, 0.7])
def test_a_given_reserve_has_its_exact_value(partition, reserve):
    row = run(4000, partition=partition, reserve=reserve, evaluator="mc").run
    want = given_reserve_revenue(partition, reserve)
    assert row["reserve"] == reserve and row["exact_seller_revenue"] == pytest.approx(want, abs=1e-9)
    assert abs(row["seller_revenue"] - want) <= SIGMAS * row["seller_revenue_stderr"]


def test_a_given_reserve_elsewhere_has_no_exact_value():
    for market in (dict(partition="0,1,2|3|4|5"), dict(partition="competition", utility="monopolist")):
        assert math.isnan(run(2, reserve=0.3, evaluator="mc", **market).run["exact_seller_revenue"])


@pytest.mark.parametrize("evaluator,steps", [("abm", 1000), ("mc", 50_000)])
@pytest.mark.parametrize("partition", ["competition", "monopsony"])
def test_exact_and_simulated_revenue_agree_within_4_standard_errors(evaluator, steps, partition):
    out = run(steps, seed=5, partition=partition, evaluator=evaluator)
    row = out.run
    for q in QUANTITIES:
        se = np.std(out.steps[q], ddof=1) / np.sqrt(steps)
        assert row[q] == pytest.approx(np.mean(out.steps[q]), rel=1e-12)
        assert row[f"{q}_stderr"] == pytest.approx(se, rel=1e-12)
    se = row["seller_revenue_stderr"]
    assert 0 < se and abs(row["seller_revenue"] - row["exact_seller_revenue"]) <= SIGMAS * se
    # units sold: min(Bin(n, 1/2), k) either way (every buyer above the reserve is served, up to k)
    d = np.arange(N + 1)
    sold = float(np.sum(np.minimum(d, K) * stats.binom.pmf(d, N, 0.5)))
    assert abs(row["items_sold"] - sold) <= SIGMAS * row["items_sold_stderr"]


def test_a_shading_intermediary_agents_and_vectorized_rounds_agree():
    """Partition 3|1|1|1: the two evaluators agree within 4 combined standard errors and both earn
    less than Myerson's revenue under competition (the intermediary reduces its demand)."""
    abm = run(1000, seed=6, partition="0,1,2|3|4|5").run
    mc = run(20_000, seed=7, partition="0,1,2|3|4|5", evaluator="mc").run
    se = math.hypot(abm["seller_revenue_stderr"], mc["seller_revenue_stderr"])
    assert abs(abm["seller_revenue"] - mc["seller_revenue"]) <= SIGMAS * se
    assert mc["seller_revenue"] < competition_revenue() - SIGMAS * mc["seller_revenue_stderr"]


SPEC = """
name = "k-auction-executors"
steps = 30
[seeds]
count = 2
base = 3
[market]
protocol = "k-item-auction"
distribution = "uniform:0,1"
buyers = 4
items = 2
[sweep.grid]
"market.partition" = ["competition", "monopsony"]
"market.evaluator" = ["abm", "mc"]
"""


def test_serial_two_workers_and_a_resumed_run_write_identical_tables(tmp_path):
    """A run cut short (two finished runs lost, no tables assembled) finishes to the same bytes."""
    assert_executors_and_resume_agree(SPEC, tmp_path, 8, ("run-000000", "run-000005"))


BAD = [
    ('reserve = "vickrey"', 'market.reserve = "vickrey": not a number; accepted: "myerson"'),
    ("reserve = -1", "market.reserve = -1: not a finite number >= 0"),
    ('partition = "even:9"', "9 blocks of 6 buyers"),
    ('distribution = "uniform:2,1"', 'market.distribution = "uniform:2,1"'),
    ("items = 0", "market.items = 0: less than 1"),
    ('menu = "best"', "market.menu = \"best\": unknown key"),
]


@pytest.mark.parametrize("line,says", BAD, ids=[b[0].split(" =")[0] + str(i) for i, b in enumerate(BAD)])
def test_bad_parameters_are_one_line_exit_2_nothing_written(capsys, tmp_path, line, says):
    assert_refused(capsys, tmp_path, "k-item-auction", {"distribution": 'distribution = "uniform:0,1"',
                                                         "buyers": "buyers = 6", "items": "items = 2"}, line, says)
