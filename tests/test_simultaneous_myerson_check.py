"""Simultaneous play checked against shifted Myerson alone (monopolist-intermediary, Theorem 3.1).

Against a seller price p the intermediary's best auction for the right, over all auctions, is
Myerson's on the bids v_i - p, whose revenue is E[max(0, max_i phi_i(v_i) - p)] =
int_0^inf 1 - prod_i F_i(phi_i^-1(t + p)) dt. The solver checks every candidate against that
auction alone. Here the same candidates are checked against every class's best parameter
(what the check searched before), and each reported point against scipy: the integral above by
quad, with the laws written out by hand, and the seller's best reply by a grid and bounded Brent.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.integrate import quad
from scipy.optimize import minimize_scalar

from agora.market.single_item.intermediary_first import best_commitment_against
from agora.market.single_item.right_auctions import RIGHT_AUCTIONS
from agora.market.single_item.simultaneous import PricingGame
from agora.market.single_item.simultaneous_classes import ClassGame, solve_class_game

# (cdf, phi^-1) of each law, by hand: U[0,b] has phi(v) = 2v - b; exponential(1) has phi(v) = v - 1
LAWS = {
    "uniform:0,1": (lambda v: min(max(v, 0.0), 1.0), lambda t: min(max((t + 1.0) / 2, 0.0), 1.0)),
    "uniform:0,2": (lambda v: min(max(v / 2, 0.0), 1.0), lambda t: min(max((t + 2.0) / 2, 0.0), 2.0)),
    "exponential:1": (lambda v: 1.0 - math.exp(-max(v, 0.0)), lambda t: max(t + 1.0, 0.0)),
}
MARKETS = [("uniform:0,1", "uniform:0,2"), ("exponential:1", "uniform:0,2")]


def myerson_revenue(specs, p: float) -> float:
    """E[max(0, max_i phi_i(v_i) - p)] by scipy quad: the best any auction for the right earns against p."""
    def tail(t):
        return 1.0 - math.prod(LAWS[s][0](LAWS[s][1](t + p)) for s in specs)
    top = max(2.0, 40.0 - p)  # uniform phi <= 2; exponential's tail e^-(t + p + 1) is below 1e-17 past it
    kinks = [k for k in (1.0 - p, 2.0 - p) if 0.0 < k < top]  # where a uniform's phi reaches its top
    return quad(tail, 0.0, top, epsabs=1e-14, epsrel=1e-13, limit=200, points=kinks)[0]


def seller_best_reply(specs, anticipated: float) -> float:
    """argmax_q q P[some phi_i(v_i - q + s) >= s] against Myerson anticipating s: a 4001-point grid, then
    bounded Brent between the best point's neighbours (sold iff v_i >= phi_i^-1(s) - s + q)."""
    shift = [LAWS[s][1](anticipated) - anticipated for s in specs]

    def revenue(q):
        return q * (1.0 - math.prod(LAWS[s][0](a + q) for s, a in zip(specs, shift)))
    grid = np.linspace(0.0, 10.0, 4001)
    k = int(np.argmax([revenue(q) for q in grid]))
    lo, hi = grid[max(k - 1, 0)], grid[min(k + 1, grid.size - 1)]
    return minimize_scalar(lambda q: -revenue(q), bounds=(lo, hi), method="bounded",
                           options={"xatol": 1e-12}).x


@pytest.mark.parametrize("specs", MARKETS)
def test_reported_points_against_scipy(specs):
    """Each equilibrium: the seller's price is scipy's best reply to the auction, and the intermediary
    earns what scipy's Myerson integral gives; each rejected candidate's regret is that integral minus
    what it earns (quad to ~1e-13; the library's quadrature to 1e-12; a 1% error fails by far)."""
    solved = solve_class_game(PricingGame(list(specs)), points=101)
    assert len(solved.equilibria) == 1 and len(solved.rejected) == 2
    (e,) = solved.equilibria
    assert e.intermediary_class == "shifted_myerson" and e.parameter == e.seller_price
    assert e.seller_price == pytest.approx(seller_best_reply(specs, e.parameter), abs=1e-7)
    assert e.intermediary_revenue == pytest.approx(myerson_revenue(specs, e.seller_price), rel=1e-9)
    for r in solved.rejected:
        best = myerson_revenue(specs, r.seller_price)
        assert r.intermediary_regret == pytest.approx(best - r.intermediary_revenue, rel=1e-8)
        assert r.deviations["shifted_myerson"]["revenue"] == pytest.approx(best, rel=1e-9)


def _every_class(game: ClassGame, price: float) -> float:
    """The best revenue of every class's best parameter against ``price`` (the search the check skips)."""
    return max(best_commitment_against(game.bidders, RIGHT_AUCTIONS[c], price).outcome.intermediary_revenue
               for c in RIGHT_AUCTIONS)


@pytest.mark.parametrize("specs", [*MARKETS, ("uniform:0,1", "uniform:0,1")])
def test_no_class_beats_shifted_myerson_at_the_candidates(specs):
    """The regret from shifted Myerson alone equals the regret over every class's best parameter,
    at every candidate reported or rejected: the reported sets are those of the full search."""
    game = PricingGame(list(specs))
    solved = solve_class_game(game, points=101)
    cg = ClassGame(game)
    for e in solved.equilibria + solved.rejected:
        every = _every_class(cg, e.seller_price / cg.unit) * cg.unit
        assert set(e.deviations) == {"shifted_myerson"}
        assert e.deviations["shifted_myerson"]["revenue"] == pytest.approx(every, rel=1e-12)
        assert e.intermediary_regret == pytest.approx(max(0.0, every - e.intermediary_revenue),
                                                      abs=1e-12 * every)


def test_point_bidder_continuum_by_hand():
    """uniform:0,1 + point:1: the highest value is 1 for sure, so against q the seller earns p for
    p <= 1 - q and nothing above (best reply 1 - q), and against p_s no auction earns more than
    E[max v] - p_s = 1 - p_s, which a posted price 1 - p_s collects: every split of 1 is an equilibrium."""
    solved = solve_class_game(PricingGame(["uniform:0,1", "point:1"]), points=41)
    posted = [e for e in solved.equilibria if e.intermediary_class == "posted_price"]
    assert not solved.rejected and len(posted) == 41
    assert solved.posted.continuum["seller_price"] == [0.0, 1.0]
    for e in posted:
        assert e.seller_price + e.parameter == pytest.approx(1.0, abs=1e-12)
        assert e.seller_revenue == pytest.approx(e.seller_price, abs=1e-12)
        assert e.intermediary_revenue == pytest.approx(1.0 - e.seller_price, abs=1e-12)
        # below p_s = 1 shifted Myerson is not the best auction here (point:1's threshold falls below its
        # value), so the deviation is the best of all auctions, E[(Phi - p_s)+] = 1 - p_s (Phi = 1 surely)
        if e.seller_price < 1.0:
            assert e.deviations["any_auction"]["revenue"] == pytest.approx(1.0 - e.seller_price, abs=1e-12)
        assert max(d["revenue"] for d in e.deviations.values()) <= 1.0 - e.seller_price + 1e-12
    cg = ClassGame(PricingGame(["uniform:0,1", "point:1"]))
    for e in posted[::10]:  # every class's search at five splits: none beats 1 - p_s
        assert _every_class(cg, e.seller_price) <= 1.0 - e.seller_price + 1e-12
