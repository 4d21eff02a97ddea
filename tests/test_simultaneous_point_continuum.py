"""uniform:0,1 + point:1 in simultaneous play: the auction classes' equilibria, derived by hand.

The point bidder's value 1 is the highest value for sure. Against a seller price p:

* A second-price auction for the right with reserve r <= 1 - p goes to the point bidder, who pays
  max(r, U - p): E = r (r + p) + ((1 - p)^2 - r^2) / 2, increasing in r (slope r + p); above
  1 - p nobody can pay. So the best reserve is 1 - p, earning 1 - p, all the surplus: no auction
  earns more. The seller facing reserve r sells for sure at p' <= 1 - r and never above, so its
  best reply is 1 - r = p. Every p in [0, 1] is an equilibrium, with reserve 1 - p.
* Shifted Myerson anticipating a ranks the point bidder by its score 1 + a - p (its virtual value
  extended below its support with slope 1), which reaches the reserve a whenever p <= 1: the seller's
  best reply to every anticipated price is 1, so p = 1 is its only equilibrium price. At p = a it
  charges max(0, 2U - 1 - p): E = (1 - p)^2 / 4, below the posted price's 1 - p.
"""

from __future__ import annotations

import numpy as np
import pytest

from agora.market.distributions import parse_spec
from agora.market.single_item.intermediary_first import evaluate_right_auction, seller_best_response
from agora.market.single_item.montecarlo import simulate_intermediary_first
from agora.market.single_item.right_auctions import SecondPriceRight, ShiftedMyersonRight
from agora.market.single_item.simultaneous import PricingGame
from agora.market.single_item.simultaneous_classes import ANY_AUCTION, ClassGame, solve_class_game

SPECS = ["uniform:0,1", "point:1"]
BIDDERS = (parse_spec("uniform:0,1"), parse_spec("point:1"))


def spa_revenue(r: float, p: float) -> float:
    """By hand: E[max(r, U - p)] while the point bidder can pay r, else 0."""
    return r * (r + p) + ((1 - p) ** 2 - r ** 2) / 2 if r <= 1 - p else 0.0


@pytest.mark.parametrize("r,p", [(0.5, 0.0), (0.25, 0.5), (0.7, 0.3), (0.1, 0.9)])
def test_second_price_revenue_with_a_point_bidder_by_hand(r, p):
    out = evaluate_right_auction(BIDDERS, SecondPriceRight(r), p)
    assert out.intermediary_revenue == pytest.approx(spa_revenue(r, p), abs=1e-12)  # was 1 - p
    assert out.seller_revenue == pytest.approx(p, abs=1e-12)


@pytest.mark.parametrize("p", [0.0, 0.25, 0.5])
def test_shifted_myerson_at_the_sellers_price_by_hand(p):
    out = evaluate_right_auction(BIDDERS, ShiftedMyersonRight(p), p)
    assert out.intermediary_revenue == pytest.approx((1 - p) ** 2 / 4, abs=1e-12)


def test_point_bidder_payments_agree_with_monte_carlo():
    for auction, p in ((SecondPriceRight(0.5), 0.0), (ShiftedMyersonRight(0.5), 0.5)):
        exact = evaluate_right_auction(BIDDERS, auction, p).intermediary_revenue
        mc = simulate_intermediary_first(BIDDERS, auction, p, 100_000, np.random.default_rng(5))
        assert mc.within("intermediary_revenue", exact)


def test_brute_force_best_reserve_and_seller_reply():
    """On fine grids, with the closed forms above: the best reserve is 1 - p, the best reply to r is 1 - r."""
    r = np.linspace(0.0, 1.0, 100_001)
    for p in (0.0, 0.2, 0.6, 1.0):
        revenue = np.array([spa_revenue(x, p) for x in r])
        assert r[np.argmax(revenue)] == pytest.approx(1 - p, abs=1e-5)
        prices = np.linspace(0.0, 1.0, 100_001)
        assert prices[np.argmax(prices * (prices <= 1 - (1 - p) + 1e-12))] == pytest.approx(p, abs=1e-5)
        # the price search keeps the lowest price within REGRET_RTOL (1e-9) of the best revenue
        assert seller_best_response(BIDDERS, SecondPriceRight(1 - p)).price == pytest.approx(p, abs=2e-9)


def test_second_price_class_reports_the_segment_zero_to_one():
    solved = solve_class_game(PricingGame(SPECS), ["second_price_auction"], class_points=11)
    [segment] = solved.segments
    assert segment["seller_price"] == pytest.approx([0.0, 1.0], abs=1e-12)
    assert segment["parameter"] == pytest.approx([1.0, 0.0], abs=1e-7)  # reserve 1 - p at both ends
    assert segment["ends_verified"] and segment["grid_points"] == 11
    assert len(solved.equilibria) == 11 and not solved.rejected
    for e in solved.equilibria:
        assert e.parameter == pytest.approx(1 - e.seller_price, abs=1e-7)
        assert e.intermediary_revenue == pytest.approx(1 - e.seller_price, abs=1e-9)


def test_shifted_myerson_class_has_only_the_price_one():
    for a in (0.0, 0.3, 0.8, 1.0):
        assert seller_best_response(BIDDERS, ShiftedMyersonRight(a)).price == pytest.approx(1.0, abs=2e-9)
    solved = solve_class_game(PricingGame(SPECS), ["shifted_myerson"], class_points=11)
    assert [e.seller_price for e in solved.equilibria] == pytest.approx([1.0])
    assert not solved.segments


def test_shifted_myerson_stands_for_every_auction_only_where_thresholds_stay_in_the_supports():
    cg = ClassGame(PricingGame(SPECS))
    assert not cg.myerson_is_best(0.5)  # phi(lo) of point:1 is 1
    assert cg.auction_bound(0.5) == pytest.approx(0.5, abs=1e-12)  # E[(Phi - p)+], Phi = 1 surely
    assert set(cg.deviations(0.5, 0.5)) == {ANY_AUCTION}  # a posted 1/2 reaches the bound
    assert ClassGame(PricingGame(["uniform:0,1"])).myerson_is_best(0.0)  # phi(0) = -1


def test_segment_end_bisects_to_the_verifier_edge(monkeypatch):
    cg = ClassGame(PricingGame(SPECS), ["second_price_auction"])

    class Verdict:
        def __init__(self, ok):
            self.verified = ok

    monkeypatch.setattr(cg, "verified_at", lambda name, p: Verdict(p <= 0.37))
    assert cg._segment_end("second_price_auction", 0.35, 0.4) == pytest.approx(0.37, abs=1e-12)


@pytest.mark.slow
def test_cli_prints_the_second_price_continuum(capsys):
    from agora.experiments.cli import main

    assert main(["solve", "simultaneous", "--bidder", "uniform:0,1", "--bidder", "point:1",
                 "--class", "second_price_auction", "--grid", "21"]) == 0
    out = capsys.readouterr().out
    assert "continuum: second_price_auction: every seller price in [0, 1]" in out
