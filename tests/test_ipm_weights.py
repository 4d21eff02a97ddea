"""Heterogeneous items (Section 5): Lemma 1 on every weight vector, equal weights as identical
items, and the sequential Monte Carlo against a brute-force buyer of item subsets.

The brute force enumerates every subset of the available items for the arriving
intermediary (Section 5's surplus: the j-th best item to the j-th best buyer) one round
at a time in plain Python, independently of the dynamic programme in ``best_items``.
"""

from __future__ import annotations

import itertools
from math import comb

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agora.market.distributions import parse_spec
from agora.market.errors import InputError
from agora.market.k_items.mechanisms import ItemMenu, ipm_price, optimal_welfare
from agora.market.k_items.montecarlo import menu_rounds, sequential
from agora.market.k_items.solver import solve_ipm
from agora.market.k_items.utility import utility_model

U = "uniform:0,1"
LAWS = [U, "exponential:1", "pareto:0.5,1,20", "beta:2,3,0,1"]


@pytest.mark.parametrize("eta", [0.5, 1.0, 2.5])
@pytest.mark.parametrize("model,partition", [("surplus", None), ("surplus", [[0, 1], [2, 3, 4], [5]]),
                                             ("monopolist", [[0, 1, 2], [3], [4, 5]])])
def test_equal_weights_are_identical_items(eta, model, partition):
    """eta_1 = ... = eta_k = eta: Definition 9 posts eta p_R on every item, a buyer's score scales by
    eta, so revenue, Wel(F) and the guarantee are eta times the identical-items ones and the ratio
    is the same (1e-12; the exact evaluator on both sides, the weighted one through price / eta)."""
    same = solve_ipm(6, 3, U, None, model, partition)
    weighted = solve_ipm(6, 3, U, [eta] * 3, model, partition)
    assert weighted.price == pytest.approx(eta * ipm_price(U, 6, 3), rel=1e-12)
    assert weighted.ratio == pytest.approx(same.ratio, rel=1e-12)
    for key in ("revenue", "welfare", "guarantee", "realized_welfare"):
        assert getattr(weighted, key) == pytest.approx(eta * getattr(same, key), rel=1e-12)
    assert weighted.items_sold == pytest.approx(same.items_sold, rel=1e-12)
    assert weighted.revenue <= weighted.welfare  # Lemma 1


def test_half_weights_ratio_below_one():
    """The instance that used to report revenue above welfare (ratio 1.17): uniform, n = 6, k = 3,
    eta = 0.5 each. Revenue = 0.5 p_R E[min(Bin(6, 1 - p_R), 3)] with p_R = E[max of 2] = 2/3."""
    sol = solve_ipm(6, 3, U, [0.5, 0.5, 0.5])
    q = 1 / 3
    sold = sum(min(d, 3) * comb(6, d) * q ** d * (1 - q) ** (6 - d) for d in range(7))
    assert sol.revenue == pytest.approx(0.5 * 2 / 3 * sold, rel=1e-12)
    assert sol.welfare == pytest.approx(0.5 * (6 / 7 + 5 / 7 + 4 / 7), rel=1e-12)
    assert sol.ratio < 1.0


def test_all_zero_weights_rejected():
    with pytest.raises(InputError, match="must not all be 0"):
        solve_ipm(4, 2, U, [0.0, 0.0])


def _partition(n: int, labels: list[int]) -> list[list[int]]:
    blocks: dict[int, list[int]] = {}
    for i in range(n):
        blocks.setdefault(labels[i], []).append(i)
    return list(blocks.values())


@st.composite
def markets(draw):
    k = draw(st.integers(1, 4))
    n = draw(st.integers(1, 7))
    raw = draw(st.lists(st.floats(0.0, 3.0, allow_nan=False), min_size=k, max_size=k))
    weights = sorted(raw, reverse=True)
    if not any(weights):
        weights[0] = 1.0
    labels = draw(st.lists(st.integers(0, n - 1), min_size=n, max_size=n))
    return n, k, tuple(weights), _partition(n, labels), draw(st.sampled_from(LAWS)), \
        draw(st.sampled_from(["surplus", "monopolist"])), draw(st.integers(0, 2 ** 32 - 1))


@settings(max_examples=20, deadline=None)
@given(markets())
def test_lemma1_revenue_at_most_welfare(market):
    """Lemma 1 round by round for Definition 9's menu: what an intermediary pays is at most the
    weighted value its buyers get (it only buys at a surplus >= 0, monopolists paying at most the
    virtual value <= value), which is at most the first-best sum_j eta_j v(j, n) of that round;
    so the mean revenue is at most the mean first-best welfare on the same draws (400 rounds)."""
    n, k, weights, partition, law, model, seed = market
    dist = parse_spec(law)
    menu = ItemMenu.heterogeneous(dist, n, weights)
    if menu.uniform and seed % 2:  # equal weights: random rationing as well as sequential sales
        menu = ItemMenu(menu.prices, menu.weights, "random")
    rng = np.random.default_rng(seed)
    values = dist.rvs((400, n), rng)
    out = menu_rounds(values, partition, menu, utility_model(model, dist), dist, rng)
    top = -np.sort(-values, axis=1)[:, :k]
    first_best = top @ np.asarray(weights[:top.shape[1]])
    assert np.all(out.revenue <= out.welfare + 1e-9 * (1.0 + out.welfare))
    assert np.all(out.welfare <= first_best + 1e-9 * (1.0 + first_best))
    assert optimal_welfare(dist, n, k, weights) > 0.0


def _brute_force_round(scores, values, blocks, weights, prices, arrival):
    """One round of Definition 9 in plain Python: each arriving intermediary takes the subset of
    the available items with the largest sum_t eta_(t) s_(t) - sum r_j (ties: the larger subset)."""
    available = set(range(len(prices)))
    revenue = welfare = 0.0
    for owner in arrival:
        cols = sorted(blocks[owner], key=lambda i: -scores[i])
        best, best_set = 0.0, ()
        for size in range(1, min(len(cols), len(available)) + 1):
            for items in itertools.combinations(sorted(available), size):
                gain = sum(weights[j] * scores[i] - prices[j] for j, i in zip(items, cols))
                if gain > best + 1e-12 or (abs(gain - best) <= 1e-12 and size > len(best_set)):
                    best, best_set = gain, items
        for j, i in zip(best_set, cols):
            revenue += prices[j]
            welfare += weights[j] * values[i]
            available.discard(j)
    return revenue, welfare


@pytest.mark.parametrize("model", ["surplus", "monopolist"])
@pytest.mark.parametrize("weights", [(1.0, 0.6, 0.2), (2.0, 2.0, 0.5, 0.0), (1.0, 0.3)])
def test_sequential_matches_brute_force(model, weights):
    """Revenue and welfare of every one of 300 rounds equal the brute force's (1e-12), for a
    partition with blocks of 1, 2 and 3 buyers and a random arrival order per round."""
    dist = parse_spec(U)
    blocks = [[0, 4], [1], [2, 3, 6], [5], [7, 8]]
    n = 9
    menu = ItemMenu.heterogeneous(dist, n, weights)
    rng = np.random.default_rng(7)
    values = dist.rvs((300, n), rng)
    arrival = np.argsort(rng.random((300, len(blocks))), axis=1)
    um = utility_model(model, dist)
    out = sequential(values, blocks, menu, um, dist, arrival)
    scores = um.scores(values, dist)
    for row in range(300):
        rev, wel = _brute_force_round(scores[row], values[row], blocks, menu.weights, menu.prices, arrival[row])
        assert out.revenue[row] == pytest.approx(rev, abs=1e-12)
        assert out.welfare[row] == pytest.approx(wel, abs=1e-12)
