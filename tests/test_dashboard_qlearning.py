"""The dashboard's view of Q-learning prices (the runner's ``q-learning`` kind, one session).

Expected values are computed here without the solver: two U[0, 1] bidders on the 11-price grid
linspace(0, 1, 11), where a sale at prices (p, q) happens when the highest value is at least p + q,
so the seller earns p (1 - min(p + q, 1)^2), the intermediary q (1 - min(p + q, 1)^2) and welfare is
E[max v; max v >= t] = 2 (1 - t^3) / 3 at t = p + q; the grid game's pure equilibria by brute force.
The prices posted are the compiled sessions' (q_learning) period for period.
"""

from __future__ import annotations

import numpy as np
import pytest

from agora.experiments.dashboard.model import MarketDashboard
from agora.market.learning.qlearning import q_learning, session_seeds
from agora.market.single_item.simultaneous import PricingGame, grid_game
from tests.dashboard_checks import reference_is_the_best_nash_point

GRID = np.linspace(0.0, 1.0, 11)


def brute_force_game():
    p, q = np.meshgrid(GRID, GRID, indexing="ij")
    sale = 1.0 - np.minimum(p + q, 1.0) ** 2
    return p * sale, q * sale


def qlearning(**kw) -> MarketDashboard:
    m = MarketDashboard(protocol="q-learning", bidders="uniform:0,1", buyers=2, rule="q-learning", points=11, **kw)
    assert m.error is None, m.error
    return m


def test_reference_is_the_grid_games_nash_point_of_largest_total_profit():
    A, B = brute_force_game()
    best = reference_is_the_best_nash_point(qlearning(), GRID, A, B, lambda t: 2 * (1 - t ** 3) / 3)
    assert best == pytest.approx(0.357, abs=1e-12)


@pytest.mark.parametrize("kw", [dict(rate=0.3, beta=1e-3, delta=0.9, memory=1, seed=3),
                                dict(rate=0.5, beta=2e-3, delta=0.8, memory=2, seed=8)])
def test_the_agents_post_the_compiled_sessions_prices(kw):
    m = qlearning(**kw)
    _, A, B = grid_game(PricingGame(("uniform:0,1", "uniform:0,1")), 11)
    periods = 400
    res = q_learning(A, B, [session_seeds(kw["seed"], 1)[0]], alpha=kw["rate"], beta=kw["beta"],
                     delta=kw["delta"], memory=kw["memory"], periods=periods, window=periods, record=True)
    for _ in range(periods):
        m.step()
    posted = m.view.series(m.market)[["seller_price", "intermediary_price"]].to_numpy()
    path = np.rint(posted * 10).astype(int)
    assert np.array_equal(path[:, 0], res.row_path[0]) and np.array_equal(path[:, 1], res.col_path[0])


@pytest.mark.parametrize("kw, says", [
    (dict(memory=3, points=15), "memory = 3 with 15 prices needs Q-tables of 1.71e+08 entries per side"),
    (dict(delta=1.0), "delta must be a number in [0, 1)"),
    (dict(beta="0"), "beta must be a number > 0"),
])
def test_controls_that_make_no_market_say_why(kw, says):
    m = MarketDashboard(protocol="q-learning", bidders="uniform:0,1", rule="q-learning", **kw)
    assert m.market is None and says in m.error, m.error
