"""Checks shared by the dashboard's tests."""

import math
from collections.abc import Callable

import numpy as np
import pytest

from agora.experiments.dashboard.views import VIEWS, money_columns
from agora.market.robust.solver import NEEDS_MEAN, PRICING_RULES


def rule_and_knowledge(protocol: str, rule: str | None = None) -> dict:
    """Controls that let ``rule`` (default: best response, or the protocol's first rule if it has none)
    make a market of ``protocol``: a robust rule that needs a mean bound knows 0.5, a robust posted
    price sells to one buyer."""
    rules = VIEWS[protocol].rules
    rule = rule or ("best-response" if "best-response" in rules else rules[0])
    if protocol != "robust":
        return {"rule": rule}
    return {"rule": rule, **({"buyers": 1} if rule in PRICING_RULES else {"mean": 0.5} if rule in NEEDS_MEAN else {})}


def means_within_monte_carlo(m, rounds: int, z: float = 4.0) -> None:
    """Step the dashboard's market ``rounds`` times; every money column's mean is within z standard
    errors of the view's exact reference."""
    for _ in range(rounds):
        m.step()
    df = m.view.series(m.market)
    bands = m.view.reference(m.market).bands
    for col in money_columns(df):
        se = df[col].std(ddof=1) / math.sqrt(len(df))
        assert abs(df[col].mean() - bands[col][0]) <= z * se + 1e-12, (col, df[col].mean(), bands[col][0], se)


def pure_equilibria(A: np.ndarray, B: np.ndarray) -> list[tuple[int, int]]:
    """The grid game's pure Nash equilibria of positive total profit, by brute force over every cell."""
    rows, cols = A.shape
    return [(i, j) for i in range(rows) for j in range(cols)
            if A[i, j] >= A[:, j].max() - 1e-12 and B[i, j] >= B[i, :].max() - 1e-12 and A[i, j] + B[i, j] > 0]


def reference_is_the_best_nash_point(m, grid: np.ndarray, A: np.ndarray, B: np.ndarray,
                                     welfare: Callable[[float], float]) -> float:
    """The view's reference stands at a pure equilibrium of largest total profit of the brute-force game
    (A, B) on ``grid``, with its profits and ``welfare(p + q)``; the price plane marks every pure
    equilibrium. Returns that largest total profit."""
    eq = pure_equilibria(A, B)
    best = max(A[i, j] + B[i, j] for i, j in eq)
    tops = [(i, j) for i, j in eq if A[i, j] + B[i, j] >= best - 1e-12]
    bands = m.view.reference(m.market).bands
    i, j = (int(np.argmin(np.abs(grid - bands[c][0]))) for c in ("seller_price", "intermediary_price"))
    assert (i, j) in tops
    expected = {"seller_revenue": A[i, j], "intermediary_revenue": B[i, j], "welfare": welfare(grid[i] + grid[j])}
    for col, value in expected.items():
        assert bands[col][0] == pytest.approx(value, abs=1e-9), col
    step = grid[1] - grid[0]
    plane = m.view.price_plane(m.market)
    assert {(int(round(x / step)), int(round(y / step))) for x, y in plane.equilibria} == set(eq)
    return best
