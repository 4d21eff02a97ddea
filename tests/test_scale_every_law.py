"""Every law family in any unit of value (monopolist-intermediary, issue 15 item 4).

A market with every value times c is the same market in another currency, so every price and
revenue is c times the original's. Two levels are checked, each against the law at c = 1 (the
scaled laws are parsed from new specs, so nothing is shared but the family):

* the laws themselves, with no change of units: phi at the top of a capped support, phi^-1 and
  phi' of each family at c = 1e-9 and 1e9 (these used tolerances absolute in the value);
* seller-first and intermediary-first revenues and prices on markets of every family.
"""

import math

import numpy as np
import pytest

from agora.market.distributions import parse_spec
from agora.market.single_item.intermediary_first import solve_intermediary_first
from agora.market.single_item.seller_first import solve_seller_first

SCALES = (1e-9, 1.0, 1e9)
#: which numbers of each family's spec are values (the rest are shapes)
VALUE_PARAMETERS = {"uniform": (0, 1), "exponential": (0,), "pareto": (1, 2), "point": (0,),
                    "beta": (2, 3), "truncnorm": (0, 1, 2, 3)}


def scaled(spec: str, c: float) -> str:
    family, body = spec.split(":")
    xs = [float(x) for x in body.split(",")]
    return family + ":" + ",".join(repr(x * c if i in VALUE_PARAMETERS[family] else x) for i, x in enumerate(xs))


def relative(a: float, b: float) -> float:
    return abs(a - b) / abs(b) if b else abs(a)


# ---- the laws, in their own units ----------------------------------------------------------------

def test_phi_at_the_top_of_a_capped_pareto_is_relative_to_the_support():
    """pareto:0.3,7e-10,2e-8: phi(v) = 0.3 v, so sup of phi below the cap is 0.3 * 2e-8 (closed form).
    The point read just below the cap sat 1e-12 below it in absolute terms: 5e-5 of the cap."""
    for c in SCALES:
        b = parse_spec(scaled("pareto:0.3,0.7,20", c))
        assert relative(b.phi_top, 0.3 * 20 * c) <= 2e-12, c
        assert b.lo < b._hi_minus < b.hi


LAWS = ["beta:2,3,0,1", "beta:0.7,1.5,0.2,1.3", "truncnorm:0.5,0.3,0,inf", "truncnorm:1,0.4,0.2,2",
        "uniform:0.5,1.5", "pareto:0.4,1,50"]


@pytest.mark.parametrize("spec", LAWS)
def test_virtual_thresholds_and_slopes_scale_with_the_unit(spec):
    """phi^-1(c t) = c phi^-1(t) (root finding, 1e-12 relative) and phi'(c v) = phi'(v) (central
    differences, truncation ~1e-10 of the slope) at quantiles across the support, c = 1e-9 and 1e9."""
    base = parse_spec(spec)
    v = base.ppf(np.linspace(0.02, 0.98, 9))
    t = base.virtual_value(v)
    t = t[(t > base.phi_lo) & (t < base.phi_top)]
    ref_theta, ref_slope = base.virtual_threshold(t), base.virtual_slope(v)
    for c in (1e-9, 1e9):
        b = parse_spec(scaled(spec, c))
        np.testing.assert_allclose(b.virtual_threshold(c * t), c * ref_theta, rtol=1e-12, err_msg=str(c))
        np.testing.assert_allclose(b.virtual_slope(c * v), ref_slope, rtol=1e-8, err_msg=str(c))
        if math.isfinite(base.hi):
            assert relative(b.phi_top, c * base.phi_top) <= 1e-12, c


# ---- the solvers -----------------------------------------------------------------------------------

SELLER_FIRST_MARKETS = [
    ["beta:2,3,0,1"], ["truncnorm:0.5,0.3,0,inf", "truncnorm:0.5,0.3,0,inf"], ["pareto:0.4,1"],
    ["pareto:0.3,0.7,20", "uniform:0,1"], ["beta:1.5,2,0.2,1.3", "truncnorm:1,0.4,0.2,2", "point:0.9"],
    ["exponential:1", "pareto:0.5,1,100", "beta:2,2,0,3"],
]


def _money(sol) -> dict:
    return {"seller_price": sol.seller_price, "seller_revenue": sol.seller_revenue,
            "intermediary_revenue": sol.intermediary_revenue,
            "no_intermediary_optimal_revenue": sol.no_intermediary_optimal_revenue}


@pytest.mark.slow
@pytest.mark.parametrize("bidders", SELLER_FIRST_MARKETS, ids="+".join)
def test_seller_first_scales_on_every_family(bidders):
    """Seller-first (Theorem 3.1's shifted Myerson against the best posted price): revenues and the
    price at c = 1e-9 and 1e9, divided by c, against c = 1, to 1e-9; the sale probability unchanged."""
    base = solve_seller_first(bidders)
    for c in (1e-9, 1e9):
        sol = solve_seller_first([scaled(b, c) for b in bidders])
        for key, ref in _money(base).items():
            assert relative(_money(sol)[key] / c, ref) <= 1e-9, (c, key)
        assert relative(sol.sale_probability, base.sale_probability) <= 1e-9, c


INTERMEDIARY_FIRST_MARKETS = [["beta:2,3,0,1"], ["truncnorm:0.5,0.3,0,inf"], ["pareto:0.3,0.7,20", "exponential:1"],
                              ["beta:2,3,0,1", "point:0.5"], ["truncnorm:1,0.4,0.2,2", "exponential:1"]]


@pytest.mark.slow
@pytest.mark.parametrize("bidders", INTERMEDIARY_FIRST_MARKETS, ids="+".join)
def test_intermediary_first_scales_on_every_family(bidders):
    """Intermediary-first (Section 4's classes): revenues and the seller's price at c = 1e-9 and 1e9,
    divided by c, against c = 1, to 1e-9; the same class chosen."""
    base = solve_intermediary_first(bidders)
    for c in (1e-9, 1e9):
        sol = solve_intermediary_first([scaled(b, c) for b in bidders])
        assert sol.intermediary_commitment["class"] == base.intermediary_commitment["class"], c
        for key, ref in _money(base).items():
            assert relative(_money(sol)[key] / c, ref) <= 1e-9, (c, key)


@pytest.mark.parametrize("c", SCALES)
def test_intermediary_first_on_a_capped_pareto_by_hand(c):
    """pareto:0.3,0.7c,20c, b = 1/0.7, a posted price q for the right: the seller's revenue is p for
    p + q <= 0.7c, then p (0.7c / (p + q))^b, whose slope at the kink is 1 - b p / 0.7c <= 0 iff
    p >= 0.49c; the cap's atom pays at most 20c (0.7 / 20)^b < 0.17c. So q <= 0.21c gets p = 0.7c - q
    and a sure sale, and a larger q a price near the cap: the intermediary posts 0.21c, the seller
    0.49c, OPT = E[0.3 V; V < cap] + cap P[V = cap] = 0.7c. At q = 0.21c the seller's two answers
    differ by ~(q - 0.21c)^2, below rounding for q - 0.21c < ~1e-8 c: revenues to 1e-7."""
    sol = solve_intermediary_first([scaled("pareto:0.3,0.7,20", c)])
    assert relative(sol.intermediary_revenue, 0.21 * c) <= 1e-7
    assert relative(sol.seller_revenue, 0.49 * c) <= 1e-7
    assert relative(sol.seller_price, 0.49 * c) <= 1e-7
    assert relative(sol.no_intermediary_optimal_revenue, 0.7 * c) <= 1e-9
