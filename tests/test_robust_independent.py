"""Bulow-Klemperer under ambiguity (thesis Theorem 1.4.3), with independent evaluators.

Revenues by the revenue-equivalence integral of agora.market.robust.independent are
compared with closed forms (uniform and exponential laws), with the quantile
integral of the order statistics (agora.market.order_stats) and with the
virtual-value integral of the intermediary-proof package (both to 1e-9).
"""

from __future__ import annotations

import math

import pytest

from agora.market.errors import InputError
from agora.market.k_items.solver import myerson_auction_revenue
from agora.market.order_stats import expected_order_statistic
from agora.market.robust.independent import bulow_klemperer, optimal_revenue, reserve_auction_revenue

LAWS = ("uniform:0,1", "exponential:1", "beta:2,2,0,1", "truncnorm:0.5,0.2,0,1", "uniform:0.5,2")


@pytest.mark.parametrize("bidders,value", [(1, 1 / 4), (2, 5 / 12), (3, 17 / 32)])
def test_uniform_optimum_closed_form(bidders, value):
    """U[0,1]: reserve 1/2; n ∫_{1/2}^1 (2v - 1) v^{n-1} dv = 1/4, 5/12, 17/32 for n = 1, 2, 3."""
    assert optimal_revenue("uniform:0,1", bidders) == pytest.approx(value, abs=1e-12)


def test_exponential_closed_forms():
    assert optimal_revenue("exponential:1", 1) == pytest.approx(1 / math.e, abs=1e-10)  # price 1
    assert reserve_auction_revenue("exponential:1", 3) == pytest.approx(1 / 3 + 1 / 2, abs=1e-10)  # Rényi spacings


@pytest.mark.parametrize("spec", [*LAWS[:2], *(pytest.param(s, marks=pytest.mark.slow) for s in LAWS[2:])])
def test_revenues_agree_with_two_other_evaluators(spec):
    for bidders in (1, 4):
        assert reserve_auction_revenue(spec, bidders + 1) == pytest.approx(
            expected_order_statistic(spec, 2, bidders + 1), abs=1e-9)
    assert optimal_revenue(spec, 3) == pytest.approx(myerson_auction_revenue(spec, 3, 1), abs=1e-9)


@pytest.mark.parametrize("bidders", [1, 2, 5])
def test_vickrey_with_one_more_bidder_beats_the_optimum_in_the_worst_case(bidders):
    bk = bulow_klemperer(LAWS, bidders)
    assert bk.holds
    for spec in LAWS:  # per law (Bulow and Klemperer 1996), hence for the worst case
        assert bk.vickrey_more[spec] >= bk.optimal[spec] - 1e-9
    # and the optimum does beat Vickrey with the same number of bidders
    assert all(optimal_revenue(s, bidders) > reserve_auction_revenue(s, bidders) for s in LAWS)


def test_irregular_or_atomic_laws_are_refused():
    with pytest.raises(InputError):
        optimal_revenue("pareto:0.5,1,10", 2)
    with pytest.raises(InputError, match="at least one law"):
        bulow_klemperer((), 2)
    with pytest.raises(InputError, match="bidders >= 1"):
        reserve_auction_revenue("uniform:0,1", 0)
