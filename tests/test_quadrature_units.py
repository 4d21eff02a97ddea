"""The exact evaluators integrate a market and the same market in other units alike.

Callers such as the experiment kinds (experiments/markets/single_item.py) evaluate a market as it is,
without solving it in units of its scale first, so the quadratures' absolute tolerance is set in the
market's value scale (units.value_scale). Expected values: the same evaluation at scale 1, times c
(every revenue and welfare is linear in the unit of value), to within both reported error bounds.
"""

from __future__ import annotations

import pytest

from agora.experiments.markets.single_item import exact_right_sale, exact_seller_first
from agora.market.distributions import parse_spec
from agora.market.single_item.intermediary_first import evaluate_right_auction
from agora.market.single_item.right_auctions import SecondPriceRight, ShiftedMyersonRight
from agora.market.single_item.seller_first import evaluate_posted_price
from agora.market.single_item.units import value_scale
from agora.market.single_item.virtual_law import VirtualMaxLaw

CASES = ((SecondPriceRight, 0.2, 0.3), (ShiftedMyersonRight, 0.4, 0.6))


def specs(c: float) -> tuple[str, ...]:
    return (f"uniform:0,{c:g}", f"exponential:{c:g}", f"pareto:0.4,{c:g}")


def market(c: float):
    return [parse_spec(s) for s in specs(c)]


def _outcomes(c: float) -> list[tuple[float, float]]:
    """(value / c, error bound / c) of every revenue and welfare evaluated on ``market(c)``."""
    bidders = market(c)
    out = []
    for cls, x, p in CASES:
        o = evaluate_right_auction(bidders, cls(x * c), p * c)
        out += [(o.intermediary_revenue / c, o.quadrature_error / c), (o.welfare / c, o.quadrature_error / c)]
    o = evaluate_posted_price(VirtualMaxLaw(tuple(bidders)), 0.5 * c)
    out += [(o.intermediary_revenue / c, o.quadrature_error / c), (o.welfare / c, o.quadrature_error / c)]
    return out


@pytest.mark.parametrize("c", [1e-9, 1e9])
def test_evaluators_are_the_same_in_any_unit(c):
    base, scaled = _outcomes(1.0), _outcomes(c)
    for (v1, e1), (vc, ec) in zip(base, scaled):
        assert ec <= 1e-9 * abs(vc)  # ATOL absolute: at 1e-9 the bound was 8e-6 of the value
        assert abs(vc - v1) <= e1 + ec + 1e-12 * abs(v1)  # at 1e-9 the values were 6e-6 apart


@pytest.mark.parametrize("c", [1e-9, 1e9])
def test_experiment_kinds_expectations_scale(c):
    """The experiment kinds' exact expectations (no rescaling by the caller) are c times those at 1."""
    auction, p = ShiftedMyersonRight(0.4), 0.6
    one, many = exact_right_sale(specs(1.0), auction, p), \
        exact_right_sale(specs(c), ShiftedMyersonRight(0.4 * c), p * c)
    first, first_c = exact_seller_first(specs(1.0), 0.5), exact_seller_first(specs(c), 0.5 * c)
    for a, b in ((one, many), (first, first_c)):
        assert b["sale"] == pytest.approx(a["sale"], rel=1e-12)
        for q in ("seller_revenue", "intermediary_revenue", "welfare"):
            assert b[q] / c == pytest.approx(a[q], rel=1e-9)


def test_value_scale_is_a_power_of_two_only_outside_order_one():
    assert value_scale(market(1.0)) == 1.0
    assert value_scale(market(1e-9)) == 2.0 ** -29  # the largest median, pareto:0.4,1e-9's 1.5e-9, near 2^-29
    assert value_scale(market(1e9)) == 2.0 ** 30  # 1.5e9, near 2^30
