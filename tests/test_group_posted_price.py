"""The best unanimous posted price (selling-to-a-group, Proposition 2) against closed forms.

Proposition 2: the price maximizes (p - c) prod_j [1 - F_j(p)] over p >= c. Each expected
value below is derived by hand from that objective (stationary points of its logarithm,
clipped to the pieces where it is smooth) and evaluated here independently of the solver.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from agora.market.group.solver import best_posted_price, parse_members

TOL = 1e-7


def _solve(specs, cost):
    return best_posted_price(parse_members(specs), cost)


@pytest.mark.parametrize("n", [1, 2, 3, 5, 8])
@pytest.mark.parametrize("cost", [0.0, 0.3])
def test_iid_uniform_members(n, cost):
    # (p - c)(1 - p)^n: 1 - p = n (p - c), so p = (1 + n c) / (n + 1)
    price, profit = _solve(["uniform:0,1"] * n, cost)
    p = (1 + n * cost) / (n + 1)
    assert price == pytest.approx(p, abs=TOL)
    assert profit == pytest.approx((p - cost) * (1 - p) ** n, abs=TOL)


@pytest.mark.parametrize("h1,h2,cost", [(2, 3, 0.0), (2, 3, 0.5), (1, 4, 0.2), (5, 5.5, 1.0)])
def test_two_uniform_members(h1, h2, cost):
    # d/dp (p - c)(h1 - p)(h2 - p) = 3p^2 - 2(h1 + h2 + c) p + h1 h2 + c (h1 + h2) = 0, smaller root
    s = h1 + h2 + cost
    p = (s - math.sqrt(s * s - 3 * (h1 * h2 + cost * (h1 + h2)))) / 3
    price, profit = _solve([f"uniform:0,{h1}", f"uniform:0,{h2}"], cost)
    assert price == pytest.approx(p, abs=TOL)
    assert profit == pytest.approx((p - cost) * (1 - p / h1) * (1 - p / h2), abs=TOL)


@pytest.mark.parametrize("lo,hi,cost,p", [(1, 3, 0.0, 1.5), (2, 3, 0.0, 2.0), (1, 3, 0.4, 1.7)])
def test_one_uniform_member_with_a_positive_lowest_type(lo, hi, cost, p):
    # (p - c)(hi - p) / (hi - lo) peaks at (hi + c) / 2, clipped up to lo (below lo it rises as p - c)
    price, profit = _solve([f"uniform:{lo},{hi}"], cost)
    assert p == max(lo, (hi + cost) / 2)
    assert price == pytest.approx(p, abs=TOL)
    assert profit == pytest.approx((p - cost) * (hi - p) / (hi - lo), abs=TOL)


@pytest.mark.parametrize("alpha,scale,n,cost", [
    (0.5, 1, 1, 0.0), (0.9, 1, 1, 0.0), (0.5, 1, 3, 0.0), (0.9, 1, 1, 0.5), (0.9, 1, 1, 2.0),
    (0.5, 1, 1, 3.0), (0.5, 2, 4, 5.0), (0.9, 1, 6, 4.0),
])
def test_iid_pareto_members(alpha, scale, n, cost):
    # survival (s / p)^b with b = 1 / (1 - alpha): (p - c) p^(-n b) peaks at n b c / (n b - 1),
    # clipped up to s (below s the product of survivals is 1 and the profit rises)
    b = 1 / (1 - alpha)
    p = max(scale, n * b * cost / (n * b - 1))
    price, profit = _solve([f"pareto:{alpha},{scale}"] * n, cost)
    assert price == pytest.approx(p, rel=TOL)
    assert profit == pytest.approx((p - cost) * (scale / p) ** (n * b), rel=TOL)


@pytest.mark.parametrize("spec", ["pareto:0.5,1", "pareto:0.9,1"])
def test_heavy_tails_price_at_the_lowest_type(spec):
    # with c = 0 the profit is p for p < 1 and p^(1 - b) (b > 1) above: price 1, profit 1
    assert _solve([spec], 0.0) == pytest.approx((1.0, 1.0), abs=1e-12)


def _pareto_piecewise(laws, cost):
    """max over p of (p - c) prod_j min(1, (s_j / p)^b_j): on each piece between consecutive
    scales the product is C p^-B (B the sum of the active b_j), whose profit peaks at
    B c / (B - 1) clipped to the piece."""
    scales = sorted({s for _, s in laws}) + [math.inf]
    best = (0.0, -math.inf)
    for left, right in zip(scales, scales[1:]):
        big_b = sum(1 / (1 - a) for a, s in laws if s <= left)
        p = min(max(left, big_b * cost / (big_b - 1)), right)
        value = (p - cost) * math.prod(min(1.0, (s / p) ** (1 / (1 - a))) for a, s in laws)
        best = max(best, (p, value), key=lambda pv: pv[1])
    return best


@pytest.mark.parametrize("laws,cost", [
    ([(0.5, 1), (0.9, 2)], 3.0), ([(0.5, 1), (0.9, 2)], 0.5), ([(0.2, 1), (0.5, 3), (0.9, 4)], 2.5),
    ([(0.9, 1), (0.9, 10)], 0.0), ([(0.6, 1), (0.7, 1.5), (0.8, 2)], 1.2),
])
def test_pareto_members_with_different_scales(laws, cost):
    p, value = _pareto_piecewise(laws, cost)
    price, profit = _solve([f"pareto:{a},{s}" for a, s in laws], cost)
    assert price == pytest.approx(p, rel=TOL)
    assert profit == pytest.approx(value, rel=TOL)


MIXED = (["uniform:{0},{2}", "exponential:{1}", "beta:2,2,{0},{3}", "truncnorm:{1},{1},{0},{4}",
          "pareto:0.7,{1}"], [0.0, 1.0, 2.0, 3.0, 4.0])


@pytest.mark.parametrize("cost", [0.0, 0.1, 0.9])
def test_scale_law(cost):
    # all values and the cost times k: the objective is k times itself at p / k
    k = 1e6
    specs, ends = MIXED
    small = [s.format(*[f"{e:g}" for e in ends]) for s in specs]
    big = [s.format(*[f"{k * e:g}" for e in ends]) for s in specs]
    price, profit = _solve(small, cost)
    big_price, big_profit = _solve(big, k * cost)
    assert profit > 0
    assert big_price == pytest.approx(k * price, rel=TOL)
    assert big_profit == pytest.approx(k * profit, rel=TOL)


@pytest.mark.parametrize("specs,cost", [
    (["uniform:0,2", "exponential:1", "beta:2,2,0,3"], 0.1), (["pareto:0.5,1", "exponential:2"], 0.3),
    (["truncnorm:1,1,0,inf", "pareto:0.9,1"], 0.0),
])
def test_no_price_on_a_fine_log_grid_does_better(specs, cost):
    # brute force: 10^6 log-spaced prices from c to 10^8 (the tails carry no profit beyond)
    members = parse_members(specs)
    price, profit = best_posted_price(members, cost)
    grid = cost + np.logspace(-8, 8, 1_000_001)
    vals = (grid - cost) * np.prod([d.prob_at_least(grid) for d in members], axis=0)
    assert profit >= vals.max() - 1e-12
    assert profit == pytest.approx((price - cost) * math.prod(float(d.prob_at_least(price)) for d in members),
                                   rel=1e-14)
