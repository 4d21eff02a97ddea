"""The dashboard's view of adaptive play with mistakes (the runner's ``adaptive-play`` kind, pricing game).

Expected values are computed here without the view: the constant-value game (one bidder of value 1)
written out on its grid, a sale at prices (p, q) when p + q <= 1, the seller earning p and the
intermediary q; the exact chain's stationary law by one dense solve of pi (I - P + 1 1') = 1' on the
kind's chain over histories (:class:`~agora.market.learning.adaptive_play.AdaptivePlay`), its limit as
eps -> 0 for the stochastically stable convention (the view finds it by minimum-resistance trees), and
the shares of periods by a plain loop over the path. Young (1993, "An evolutionary model of
bargaining"): with equal samples the equal split is stochastically stable; with samples s_S, s_I the
split moves towards the asymmetric Nash bargaining solution s_S / (s_S + s_I).
"""

from __future__ import annotations

import numpy as np
import pytest

from agora.experiments.dashboard.adaptive_view import HORIZON
from agora.experiments.dashboard.model import MarketDashboard
from agora.market.learning.adaptive_paths import AdaptivePath, simulate
from agora.market.learning.adaptive_play import AdaptivePlay

SMALL = dict(points=3, memory=2, sample_row=1, sample_column=1, eps_row=0.1, eps_column=0.2, seed=3)


def constant_value_game(points: int):
    grid = np.linspace(0.0, 1.0, points)
    p, q = np.meshgrid(grid, grid, indexing="ij")
    sale = p + q <= 1.0 + 1e-9
    return grid, p * sale, q * sale


def dense_stationary(P) -> np.ndarray:
    n = P.shape[0]
    return np.linalg.solve((np.eye(n) - P + np.ones((n, n))).T, np.ones(n))


def adaptive(**kw) -> MarketDashboard:
    m = MarketDashboard(protocol="adaptive-play", bidders="point:1", buyers=1, rule="adaptive-play", **kw)
    assert m.error is None, m.error
    return m


def test_exact_masses_and_the_stable_convention_of_a_small_chain():
    grid, A, B = constant_value_game(3)
    play = AdaptivePlay(A, B, SMALL["memory"], (1, 1))
    pi = dense_stationary(play.chain((SMALL["eps_row"], SMALL["eps_column"])).toarray())
    pairs = [(a, b) for a in range(3) for b in range(3)]
    masses = {c: pi[play.convention(*c)] for c in pairs}
    limit = dense_stationary(play.chain((1e-5, 1e-5)).toarray())  # eps -> 0
    (stable,) = [c for c in pairs if limit[play.convention(*c)] > 0.9]
    m = adaptive(**SMALL)
    ref = m.view.reference(m.market)
    assert ref.bands["seller_price"] == (grid[stable[0]],) * 2
    assert ref.bands["intermediary_price"] == (grid[stable[1]],) * 2
    assert ref.bands["seller_revenue"][0] == pytest.approx(A[stable], abs=1e-12)
    assert ref.bands["at_stable"][0] == pytest.approx(masses[stable], rel=1e-9)
    conventions = [tuple(c) for c in np.rint(m.view.price_plane(m.market).equilibria * 2).astype(int)]
    assert ref.bands["at_convention"][0] == pytest.approx(sum(masses[c] for c in conventions), rel=1e-9)
    assert set(conventions) == {(a, b) for a, b in pairs if A[a, b] + B[a, b] == 1.0 and 0 < a < 2}  # strict splits


def test_the_series_are_the_kinds_path_and_its_shares_counted_by_hand():
    grid, A, B = constant_value_game(3)
    m = adaptive(**SMALL)
    periods = 600
    for _ in range(periods):
        m.step()
    whole = simulate(A, B, 2, (1, 1), (0.1, 0.2), HORIZON, np.random.default_rng(3))  # drawn at the first step
    path = AdaptivePath(whole.rows[:periods], whole.cols[:periods], whole.run[:periods], 2)
    df = m.view.series(m.market)
    rows, cols = np.rint(df["seller_price"] * 2).astype(int), np.rint(df["intermediary_price"] * 2).astype(int)
    assert np.array_equal(rows, path.rows) and np.array_equal(cols, path.cols)
    history = [(0, 0), (0, 0)] + list(zip(path.rows, path.cols))
    at = np.array([history[t + 1] == history[t + 2] for t in range(periods)])
    stable = {(1, 1)}  # the equal split (test above)
    assert np.array_equal(df["at_convention"].to_numpy(), at)
    assert np.array_equal(df["at_stable"].to_numpy(), at & np.array([h in stable for h in history[2:]]))
    assert np.array_equal(df["seller_revenue"].to_numpy(), A[path.rows, path.cols])
    assert np.array_equal(df["intermediary_revenue"].to_numpy(), B[path.rows, path.cols])
    sold = grid[path.rows] + grid[path.cols] <= 1.0 + 1e-9
    assert np.array_equal(df["welfare"].to_numpy(), sold * 1.0)  # a value of 1 sold, or nothing
    share = at[(path.rows == 1) & (path.cols == 1)].sum() / periods
    assert f"(0.5, 0.5) {share:.3g} [exact " in m.view.network(m.market).caption


@pytest.mark.parametrize("sample_row", [30, 60])
def test_the_stable_split_is_young_s_nash_bargaining_split(sample_row):
    """11 prices, the intermediary's sample 30, memory 120 (the tip reduction needs memory >= 2 samples)."""
    m = adaptive(points=11, memory=120, sample_row=sample_row, sample_column=30, eps_row=0.02, eps_column=0.02)
    bands = m.view.reference(m.market).bands
    seller, intermediary = bands["seller_price"], bands["intermediary_price"]
    assert seller[0] == seller[1] and intermediary[0] == intermediary[1]  # one stable split
    assert seller[0] + intermediary[0] == pytest.approx(1.0, abs=1e-12)
    share = sample_row / (sample_row + 30)  # the asymmetric Nash bargaining split
    grid = np.linspace(0.0, 1.0, 11)
    assert seller[0] == pytest.approx(grid[np.argmin(np.abs(grid - share))], abs=1e-12)


@pytest.mark.parametrize("kw, says", [
    (dict(memory=2, sample_row=3), "sample_row = 3: more than memory = 2"),
    (dict(eps_column=0.0), "eps_column must be a number in (0, 1]"),
    (dict(points=11, memory=10, sample_row=6), "memory = 10: below 2 x the larger sample (12)"),
])
def test_controls_that_make_no_market_say_why(kw, says):
    m = MarketDashboard(protocol="adaptive-play", bidders="point:1", rule="adaptive-play", **kw)
    assert m.market is None and says in m.error, m.error
