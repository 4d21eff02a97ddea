"""The (k+1)-th-price auction's revenue at any reserve (``agora plot --protocol k-item-auction``).

Under competition the revenue is computed from the auction's payments
(``competition_auction_revenue``); it is checked against Myerson's virtual-value form at
r = phi^-1(0) (Proposition 1, another formula), against a Monte Carlo of truthful bids written
here in numpy, and against the expectation of the k-th and (k+1)-th order statistics by hand for
U[0, 1]. Under monopsony the curve is r E[min(D, k)] at every reserve (Proposition 2's argument);
the runner's vectorized rounds, in which the intermediary best-responds in its bids, must agree
within 4 standard errors.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from agora.experiments.kind_curves import k_item_auction
from agora.experiments.markets import kind_of
from agora.market.distributions import parse_spec
from agora.market.k_items.solver import competition_auction_revenue, myerson_auction_revenue


@pytest.mark.parametrize("spec", ["uniform:0,1", "exponential:2", "beta:2,3,0,1", "uniform:1,3"])
@pytest.mark.parametrize("n, k", [(6, 2), (3, 3), (5, 1), (2, 4)])
def test_at_myersons_reserve_the_payments_equal_the_virtual_surplus(spec, n, k):
    r = parse_spec(spec).monopoly_price
    assert competition_auction_revenue(spec, n, k, r) == pytest.approx(myerson_auction_revenue(spec, n, k),
                                                                       rel=1e-9)


def test_uniform_without_reserve_is_k_times_the_next_order_statistic():
    """r = 0: every unit sells at v(k+1, n), E = (n - k) / (n + 1) for U[0, 1]; k >= n: nothing is paid."""
    for n, k in ((6, 2), (5, 1), (4, 3)):
        assert competition_auction_revenue("uniform:0,1", n, k, 0.0) == pytest.approx(k * (n - k) / (n + 1),
                                                                                      rel=1e-12)
    assert competition_auction_revenue("uniform:0,1", 3, 3, 0.0) == 0.0


@pytest.mark.parametrize("spec, reserve", [("uniform:0,1", 0.3), ("uniform:0,1", 0.8), ("exponential:1", 0.7)])
def test_a_monte_carlo_of_truthful_bids_agrees(spec, reserve):
    n, k, rounds = 5, 2, 400_000
    values = -np.sort(-parse_spec(spec).rvs((rounds, n), np.random.default_rng(7)), axis=1)
    winners = (values[:, :k] >= reserve).sum(axis=1)
    price = np.maximum(reserve, values[:, k])
    revenue = winners * price
    se = revenue.std(ddof=1) / math.sqrt(rounds)
    assert abs(revenue.mean() - competition_auction_revenue(spec, n, k, reserve)) < 4 * se


@pytest.mark.parametrize("partition", ["competition", "monopsony"])
def test_the_curve_is_the_runners_revenue_at_each_reserve(partition):
    """The curve at a few reserves against the k-item-auction kind's vectorized rounds at that reserve."""
    params = {"distribution": "uniform:0,1", "buyers": 4, "items": 2, "partition": partition, "utility": "surplus"}
    curve = k_item_auction(params, 6)
    kind = kind_of("k-item-auction")
    for r, value in list(zip(curve.x, curve.series["seller"]))[1:-1]:
        market = kind.validate({**params, "reserve": float(r), "evaluator": "mc"})
        row = kind.run(market, 20_000, np.random.default_rng(int(r * 100))).run
        assert abs(row["seller_revenue"] - value) < 4 * row["seller_revenue_stderr"], (r, value, row)
