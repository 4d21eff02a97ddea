"""``agora plot`` for the learners of Section 5's game and of the k-item posted fees: the grid game at every
seller price on the kind's grid, the others at their best grid prices. Expected values are computed here:
two U[0, 1] bidders sell at prices (p, q) when the highest value is at least p + q, so the seller earns
p (1 - min(p + q, 1)^2) and the intermediary q (1 - min(p + q, 1)^2);
one bidder of value 1 (point:1) sells whenever p + q <= 1."""

from __future__ import annotations

import numpy as np
import pytest

from agora.experiments.kind_curves import learning, q_learning
from agora.experiments.markets import kind_of


def brute_force(grid: np.ndarray, sale) -> tuple[np.ndarray, np.ndarray]:
    seller, intermediary = [], []
    for p in grid:
        profits = [q * sale(p + q) for q in grid]
        j = int(np.argmax(np.array(profits) >= max(profits) - 1e-12))  # the lowest best price
        seller.append(p * sale(p + grid[j]))
        intermediary.append(profits[j])
    return np.array(seller), np.array(intermediary)


def test_q_learning_curve_is_the_grid_game():
    params = kind_of("q-learning").validate({"bidders": ["uniform:0,1", "uniform:0,1"], "points": 11})
    curve = q_learning(params, 50)
    grid = np.linspace(0.0, 1.0, 11)
    seller, intermediary = brute_force(grid, lambda t: 1.0 - min(t, 1.0) ** 2)
    np.testing.assert_allclose(curve.x, grid, atol=1e-12)
    np.testing.assert_allclose(curve.series["seller"], seller, atol=1e-9)
    np.testing.assert_allclose(curve.series["intermediary"], intermediary, atol=1e-9)


@pytest.mark.parametrize("points", [5, 21])
def test_learning_curve_on_a_linear_grid(points):
    params = kind_of("learning").validate({"bidders": ["point:1"], "points": points,
                                           "seller": {"rule": "best-response"}})
    curve = learning(params, 50)
    grid = np.linspace(0.0, 1.0, points)
    seller, intermediary = brute_force(grid, lambda t: 1.0 if t <= 1.0 + 1e-12 else 0.0)
    np.testing.assert_allclose(curve.x, grid, atol=1e-12)
    np.testing.assert_allclose(curve.series["seller"], seller, atol=1e-9)
    np.testing.assert_allclose(curve.series["intermediary"], intermediary, atol=1e-9)


def test_q_learning_fees_curve_is_the_fee_game():
    """Two U[0, 1] buyers, one item: an item sells when some buyer values it at least p + f,
    P = 1 - min(p + f, 1)^2, so the seller earns p P and the intermediary f P."""
    from agora.experiments.kind_curves import q_learning_fees

    params = kind_of("q-learning-fees").validate({"distribution": "uniform:0,1", "buyers": 2, "items": 1,
                                                  "points": 11})
    curve = q_learning_fees(params, 50)
    grid = np.linspace(0.0, 1.0, 11)
    seller, intermediary = brute_force(grid, lambda t: 1.0 - min(t, 1.0) ** 2)
    np.testing.assert_allclose(curve.x, grid, atol=1e-12)
    np.testing.assert_allclose(curve.series["seller"], seller, atol=1e-9)
    np.testing.assert_allclose(curve.series["intermediary"], intermediary, atol=1e-9)


def k_payoffs(p: float, f1: float, f2: float) -> tuple[float, float, float]:
    """One U[0, 1] buyer per intermediary, one item, random rationing: buyer j asks with chance
    a_j = 1 - min(p + f_j, 1) and gets the item unless both ask and the other is served (1/2)."""
    a1, a2 = (1.0 - min(p + f, 1.0) for f in (f1, f2))
    return p * (1.0 - (1.0 - a1) * (1.0 - a2)), f1 * a1 * (1.0 - a2 / 2), f2 * a2 * (1.0 - a1 / 2)


def k_brute_force(grid: np.ndarray, prices: np.ndarray):
    """Every grid profile written out: the seller's and each fee setter's payoffs, the pure equilibria of
    the fee subgame at each seller price (lowest total fee, then lowest f_1) and of the whole game."""
    u = np.array([[[k_payoffs(p, f1, f2) for f2 in grid] for f1 in grid] for p in prices])

    def best(player, s, i, j):
        line = {0: u[:, i, j, 0], 1: u[s, :, j, 1], 2: u[s, i, :, 2]}[player]
        own = {0: s, 1: i, 2: j}[player]
        return line[own] >= line.max() - 1e-12

    curve, whole = [], []
    for s in range(len(prices)):
        eqs = [(i, j) for i in range(len(grid)) for j in range(len(grid)) if best(1, s, i, j) and best(2, s, i, j)]
        i, j = min(eqs, key=lambda c: (c[0] + c[1], c[0]))
        curve.append(u[s, i, j])
        whole += [(prices[s], u[s, i, j, 0]) for i, j in eqs if best(0, s, i, j)]
    return np.array(curve), whole


def test_learning_k_items_curve_against_every_profile():
    from agora.experiments.kind_curves import learning_k_items

    params = kind_of("learning-k-items").validate({"distribution": "uniform:0,1", "blocks": [1, 1], "items": 1,
                                                   "points": 6, "seller": {"rule": "best-response"}})
    curve = learning_k_items(params, 50)
    grid = np.linspace(0.0, 1.0, 6)
    expected, whole = k_brute_force(grid, grid)
    np.testing.assert_allclose(curve.x, grid, atol=1e-12)
    for k, name in enumerate(("seller", "first intermediary", "second intermediary")):
        np.testing.assert_allclose(curve.series[name], expected[:, k], atol=1e-9)
    (mx, my), = curve.marks.values()
    assert len(whole) > 0
    np.testing.assert_allclose(sorted(zip(mx, my)), sorted(whole), atol=1e-9)


def test_learning_k_items_curve_with_a_fixed_seller_price():
    """The seller at 0.3: the first fee on the grid, the second at its lowest best grid reply."""
    from agora.experiments.kind_curves import learning_k_items

    params = kind_of("learning-k-items").validate({"distribution": "uniform:0,1", "blocks": [1, 1], "items": 1,
                                                   "points": 11, "seller_price": 0.3,
                                                   "seller": {"rule": "best-response"}})
    curve = learning_k_items(params, 50)
    grid = np.linspace(0.0, 1.0, 11)
    expected = []
    for f1 in grid:
        second = [k_payoffs(0.3, f1, f2)[2] for f2 in grid]
        j = int(np.argmax(np.array(second) >= max(second) - 1e-12))
        expected.append(k_payoffs(0.3, f1, grid[j]))
    np.testing.assert_allclose(curve.x, grid, atol=1e-12)
    np.testing.assert_allclose(curve.series["seller"], np.array(expected)[:, 0], atol=1e-9)
    np.testing.assert_allclose(curve.series["first intermediary"], np.array(expected)[:, 1], atol=1e-9)
    np.testing.assert_allclose(curve.series["second intermediary"], np.array(expected)[:, 2], atol=1e-9)
