"""OPT in the seller-first evaluation (market/single_item/seller_first.py, ``_optimal_revenue``) as the head
integral_0^p P[Phi >= t] dt plus the tail past the price that the intermediary's revenue took, against the
whole integral_0^inf P[Phi >= t] dt taken in one (VirtualMaxLaw.tail_integral(0), the earlier route) and
against closed forms: E[Phi+] = 5/12 for two U[0,1] (E[max(2v - 1, 0)] of the top of two, by hand:
integral_{1/2}^1 (2v - 1) 2v dv), 2 e^-1 for one Exp(2), 1 for pareto:0.01,1 (the intermediary's Myerson
revenue is E[alpha V] = SCALE, E[V] = SCALE / alpha for survival (SCALE / v)^(1 / (1 - alpha)))."""

import math

import pytest

from agora.market.single_item.seller_first import _optimal_revenue, evaluate_posted_price
from agora.market.single_item.virtual_law import VirtualMaxLaw

MARKETS = [["uniform:0,1", "uniform:0,1"], ["exponential:2"], ["pareto:0.01,1"],
           ["exponential:1", "pareto:0.5,1,20", "uniform:0,1"], ["pareto:0.02,1,1e100"], ["beta:2,3,0,1", "point:0.5"]]
CLOSED = {0: 5 / 12, 1: 2 * math.exp(-1), 2: 1.0}


@pytest.mark.parametrize("k", range(len(MARKETS)))
@pytest.mark.parametrize("price", [0.0, 1e-300, 0.3, 1.7, 1e3])
def test_head_plus_tail_is_the_whole_integral(k, price):
    law = VirtualMaxLaw.of(MARKETS[k])
    whole = VirtualMaxLaw.of(MARKETS[k]).tail_integral(0.0, checked=True)
    split = _optimal_revenue(law, price)
    assert split.value == pytest.approx(whole.value, rel=1e-12)
    assert split.error <= 1e-9 * whole.value
    if k in CLOSED:
        assert split.value == pytest.approx(CLOSED[k], rel=1e-10)


def test_the_reported_opt_is_the_split_one():
    sol = evaluate_posted_price(VirtualMaxLaw.of(MARKETS[0]), 0.4)
    assert sol.no_intermediary_optimal_revenue == pytest.approx(5 / 12, rel=1e-12)
