"""The dashboard's view of Q-learning in posted fees (the runner's ``q-learning-fees`` kind, one session).

Expected values are computed here without the solver: 4 unit-demand buyers with U[0, 1] values and 2
items on the grid linspace(0, 1, 11); at a price p per item and a fee f the D buyers with v >= p + f
want an item, D ~ Binomial(4, 1 - p - f), min(D, 2) are served, the seller earns p E[min(D, 2)], the
intermediary f E[min(D, 2)], and welfare is E[min(D, 2)] (1 + p + f) / 2 (the served values are
uniform on [p + f, 1]); the grid game's pure equilibria by brute force. The prices posted are the
compiled session's (q_learning) period for period.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import binom

from agora.experiments.dashboard.model import MarketDashboard
from agora.experiments.dashboard.qlearning_fees_view import HORIZON
from agora.market.learning.fee_game import fee_game
from agora.market.learning.qlearning import q_learning, session_seeds
from tests.dashboard_checks import reference_is_the_best_nash_point

GRID = np.linspace(0.0, 1.0, 11)


def sold(t: np.ndarray) -> np.ndarray:
    d = np.arange(5)
    return (binom.pmf(d, 4, np.clip(1.0 - t, 0.0, 1.0)[..., None]) * np.minimum(d, 2)).sum(axis=-1)


def brute_force_game():
    p, f = np.meshgrid(GRID, GRID, indexing="ij")
    s = sold(p + f)
    return p * s, f * s


def fees(**kw) -> MarketDashboard:
    m = MarketDashboard(protocol="q-learning-fees", bidders="uniform:0,1", buyers=4, items=2, rule="q-learning",
                        points=11, **kw)
    assert m.error is None, m.error
    return m


def test_reference_is_the_grid_games_nash_point_of_largest_total_profit():
    A, B = brute_force_game()
    reference_is_the_best_nash_point(fees(), GRID, A, B, lambda t: float(sold(np.array(t))) * (1 + t) / 2)


def test_the_agents_post_the_compiled_sessions_prices_and_their_profits():
    kw = dict(rate=0.3, beta=1e-3, delta=0.9, memory=1, seed=4)
    m = fees(**kw)
    A, B = brute_force_game()
    grid, A_kind, B_kind = fee_game("uniform:0,1", 4, 2, 11)
    assert np.allclose(A_kind, A, atol=1e-12, rtol=0) and np.allclose(B_kind, B, atol=1e-12, rtol=0)
    res = q_learning(A_kind, B_kind, [session_seeds(4, 1)[0]], alpha=0.3, beta=1e-3, delta=0.9, memory=1,
                     periods=HORIZON, window=10_000, record=True)
    periods = 300
    for _ in range(periods):
        m.step()
    df = m.view.series(m.market)
    rows, cols = np.rint(df["seller_price"] * 10).astype(int), np.rint(df["intermediary_price"] * 10).astype(int)
    assert np.array_equal(rows, res.row_path[0, :periods]) and np.array_equal(cols, res.col_path[0, :periods])
    t = GRID[rows] + GRID[cols]
    assert np.allclose(df["seller_revenue"], A[rows, cols], atol=1e-12, rtol=0)
    assert np.allclose(df["intermediary_revenue"], B[rows, cols], atol=1e-12, rtol=0)
    assert np.allclose(df["welfare"], sold(t) * (1 + t) / 2, atol=1e-9, rtol=0)


@pytest.mark.parametrize("kw, says", [
    (dict(memory=3, points=15), "memory = 3 with 15 prices needs Q-tables of 1.71e+08 entries per side"),
    (dict(bidders="uniform:0,1; uniform:0,2"), "one law for every buyer"),
    (dict(bidders="exponential:1"), "must be finite"),
])
def test_controls_that_make_no_market_say_why(kw, says):
    m = MarketDashboard(**{"protocol": "q-learning-fees", "bidders": "uniform:0,1", "rule": "q-learning", **kw})
    assert m.market is None and says in m.error, m.error
