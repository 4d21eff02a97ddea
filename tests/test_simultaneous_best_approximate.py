"""No pure equilibrium under shifted Myerson alone, and the best approximate one (monopolist-intermediary,
Sections 4-5). Market uniform:0,5 + uniform:0.5,1, the intermediary restricted to Myerson's auction for an
anticipated price s.

Written out by hand from the class's definition (rank by the extended virtual value phi^(v - q + s), sell
when it reaches s; for U[lo, hi], phi = 2v - hi on the support, slope 1 outside), the seller at q sells iff
some v_i reaches t_i(s) - s + q, t_i the inverse of phi^_i. Against a price p the intermediary's best
anticipated price is p (Theorem 3.1) and it is the only one: below 1 both bidders can win, and from 1 on
only U[0, 5], whose reserve moves with s. So the pure equilibria are the fixed points of the seller's best
reply q*(s), and a brute-force numpy search finds none: q*(s) - s changes sign once, where q*(s) jumps from
about 1.39 down to 0.562 (the seller's two revenue peaks tie at s*), and the seller's regret at s* is
about 1e-5. The solver must say so and report s* with that regret as the best approximate equilibrium.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy.optimize import brentq, minimize_scalar

from agora.experiments.cli import main
from agora.market.single_item.simultaneous import PricingGame
from agora.market.single_item.simultaneous_classes import solve_class_game

LAWS = ((0.0, 5.0), (0.5, 1.0))  # (lo, hi) of each uniform bidder
Q = np.linspace(0.0, 5.0, 40001)


def threshold(lo: float, hi: float, s):
    """t(s) - s for U[lo, hi]: the inverse of the extended virtual value at s, minus s."""
    s = np.asarray(s, float)
    return np.where(s > hi, s, np.where(s < 2 * lo - hi, s - lo + hi, (s + hi) / 2)) - s


def seller_revenue(q, s):
    """q P[some v_i >= t_i(s) - s + q] against Myerson anticipating s."""
    q = np.asarray(q, float)
    below = np.ones(np.broadcast(q, s).shape)
    for lo, hi in LAWS:
        below = below * np.clip((threshold(lo, hi, s) + q - lo) / (hi - lo), 0.0, 1.0)
    return q * (1.0 - below)


def grid_reply(s: float) -> tuple[float, float]:
    """The seller's best reply to Myerson anticipating s on a 40001-point grid of prices."""
    revenue = seller_revenue(Q, s)
    k = int(np.argmax(revenue))
    return float(Q[k]), float(revenue[k])


def peak(s: float, lo: float, hi: float) -> float:
    """The seller's best revenue for q in [lo, hi] (bounded Brent)."""
    return -minimize_scalar(lambda q: -float(seller_revenue(q, s)), bounds=(lo, hi), method="bounded",
                            options={"xatol": 1e-13}).fun


def test_no_pure_equilibrium_and_the_best_approximate_one(capsys):
    s = np.linspace(0.0, 5.0, 401)
    replies = np.array([grid_reply(x) for x in s])
    gap = replies[:, 0] - s
    regret = 1.0 - seller_revenue(s, s) / replies[:, 1]
    (k,) = np.flatnonzero(np.sign(gap[:-1]) != np.sign(gap[1:]))  # one sign change, at a jump
    assert replies[k, 0] - replies[k + 1, 0] > 0.5
    # the jump: the peak near 0.56 and the peak near 1.39 tie at s*
    s_star = brentq(lambda x: peak(x, 1.0, 2.0) - peak(x, 0.3, 0.9), s[k], s[k + 1], xtol=1e-14)
    least = 1.0 - float(seller_revenue(s_star, s_star)) / peak(s_star, 1.0, 2.0)
    assert 1e-6 < least <= regret.min()

    solved = solve_class_game(PricingGame(["uniform:0,5", "uniform:0.5,1"]), ("shifted_myerson",), points=101)
    assert not solved.pure_equilibrium_exists and not solved.equilibria and solved.rejected
    e = solved.best_approximate
    assert e is not None and e.intermediary_class == "shifted_myerson"
    assert e.largest_regret == min(r.largest_regret for r in solved.rejected)
    assert e.seller_price == pytest.approx(s_star, abs=1e-9) and e.parameter == e.seller_price
    # the peaks are found to ~1e-13 relative on both sides, so the 1e-5 regret agrees to ~1e-8
    assert e.largest_regret == pytest.approx(least, rel=1e-6)
    assert e.seller_regret == pytest.approx(least * (e.seller_revenue + e.seller_regret), rel=1e-6)
    assert e.intermediary_regret <= 1e-9 * e.intermediary_revenue
    assert main(["solve", "simultaneous", "--bidder", "uniform:0,5", "--bidder", "uniform:0.5,1", "--class",
                 "shifted_myerson", "--grid", "101", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["pure_equilibrium_exists"] is False and out["equilibria"] == []
    assert out["best_approximate"]["seller_price"] == pytest.approx(s_star, abs=1e-9)
    assert out["best_approximate"]["largest_regret"] == pytest.approx(least, rel=1e-6)
