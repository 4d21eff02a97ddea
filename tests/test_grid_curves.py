"""``agora plot`` for the learners of Section 5's game: the grid game at every seller price on the kind's
grid, the intermediary at its best grid price. Expected values are computed here: two U[0, 1] bidders
sell at prices (p, q) when the highest value is at least p + q, so the seller earns p (1 - min(p + q, 1)^2)
and the intermediary q (1 - min(p + q, 1)^2); one bidder of value 1 (point:1) sells whenever p + q <= 1."""

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
