"""``polish_maximum`` (market/single_item/polish.py): Newton steps on the five-point stencil sharpen a
smooth maximum, and its stencil never leaves the parameter's domain (a commitment's parameter is >= 0).
"""

import numpy as np
import pytest

from agora.market.distributions import parse_spec
from agora.market.single_item.intermediary_first import best_commitment
from agora.market.single_item.polish import polish_maximum
from agora.market.single_item.right_auctions import PostedRightPrice
from agora.market.single_item.seller_first import best_anonymous_price, solve_seller_first


def test_a_smooth_maximum_is_found_to_1e_12():
    """value(x) = x (1 - x): maximum at 1/2 (by hand); started 1e-4 off it."""
    x = polish_maximum(lambda y: y * (1.0 - y), 0.5001)
    assert x == pytest.approx(0.5, rel=1e-12)


@pytest.mark.parametrize("x", np.geomspace(1e-4, 1.0, 61))
def test_the_stencil_never_evaluates_a_negative_parameter(x):
    """With a unit of 1 the step is 1e-3: starts within 12 steps of 0 must be left alone, not probed below 0
    (10 steps were once enough to pass the check while the stencil reached x - 12 h < 0)."""
    def value(y):
        if y < 0.0:
            raise AssertionError(f"evaluated at {y}")
        return y * np.exp(-y / 0.011)

    polish_maximum(value, float(x), scale=1.0)


def test_a_heavy_tailed_bidder_posted_right_price_solves():
    """F_eps,H with a large H (Table 1's rows): the intermediary's best posted price for the right is
    found, and it is a price (>= 0)."""
    for eps in (0.01, 0.1, 0.3):
        best = best_commitment([parse_spec(f"pareto:{eps:g},1,1e12")], PostedRightPrice)
        assert best.commitment.parameter >= 0.0 and best.outcome.intermediary_revenue > 0.0


@pytest.mark.parametrize("c", [1e-9, 1e-3, 1.0, 1e9])
def test_the_anonymous_price_is_sharpened_in_any_unit(c):
    """One exponential bidder of mean c: p e^(-p/c) peaks at p = c, revenue c/e (by hand). The polish's
    step follows the price, so a market in units of 1e-9 is sharpened as well as one in units of 1
    (its former twin used an absolute step of at least 1e-6 and left the 1e-9 market 1e-6 off)."""
    best = best_anonymous_price([parse_spec(f"exponential:{c!r}")])
    assert best.price == pytest.approx(c, rel=1e-9)
    assert best.revenue == pytest.approx(c / np.e, rel=1e-12)


@pytest.mark.parametrize("c", [1e-9, 1.0, 1e9])
def test_the_seller_first_price_is_sharpened_in_any_unit(c):
    """One U[0, c] bidder: phi(v) = 2v - c, so S(p) = p P[2v - c >= p] = p (c - p) / (2c), peaking at
    p = c/2 with S = c/8 (by hand)."""
    sol = solve_seller_first([f"uniform:0,{c!r}"])
    assert sol.seller_price == pytest.approx(c / 2, rel=1e-12)
    assert sol.seller_revenue == pytest.approx(c / 8, rel=1e-14)


def test_newton_on_the_stencil_settles_in_two_steps():
    """value(x) = x e^(-x): maximum at 1 (by hand), started 1e-5 off it as a bounded Brent leaves a flat
    maximum. Two Newton steps on the stencil's slope and curvature reach it to 1e-12, in 11 values
    (the root of the stencil's slope by brentq took about 50)."""
    calls = []

    def value(y):
        calls.append(y)
        return y * np.exp(-y)

    x = polish_maximum(value, 1.0 + 1e-5)
    assert x == pytest.approx(1.0, rel=1e-12)
    assert len(calls) <= 11


@pytest.mark.parametrize("start", [0.5 + 3e-4, 0.5 - 2e-3, 0.5 + 4e-3])
def test_a_kink_is_never_polished_into_a_lower_value(start):
    """value(x) = -|x - 1/2| has no derivative at its maximum: whatever the steps do, the point returned
    is the start or one whose value is at least the start's (to 1e-12 of it)."""
    def value(y):
        return -abs(y - 0.5)

    x = polish_maximum(value, start)
    assert value(x) >= value(start) - 1e-12 * abs(value(start))
