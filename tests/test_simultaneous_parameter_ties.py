"""Simultaneous play under shifted Myerson alone: an equilibrium the fixed-point search misses.

Market uniform:0,1 + exponential:2, the intermediary restricted to shifted Myerson (Section 4's
third class). Written out by hand from the class's definition (rank by the extended virtual value
phi^(v - q + s), sell when it reaches s; phi^ continues with slope 1 outside the support), against
Myerson anticipating s the seller at q sells iff the uniform value reaches t_u(s) - s + q or the
exponential value reaches 2 + q, t_u the inverse of the extended phi_u(v) = 2v - 1.

* With the anticipated price equal to the seller's (the best parameter the fixed-point search
  picks), a brute-force numpy search finds no fixed point: the seller's best reply jumps from the
  exponential's 2 down to about 0.57 at s* ~ 0.688, where the seller's regret is 4.4%.
* At p = 2 the uniform bidder cannot win under any anticipated price, so every one earns the
  intermediary 2 e^-2 (Myerson's bound E[(phi(v) - 2)^+]), and against anticipated price 0 the
  uniform bidder needs v >= 1/2 + q: the seller's best reply is 2. (2, Myerson anticipating 0) is an
  equilibrium, found by the scan of parameters.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.integrate import quad
from scipy.optimize import brentq, minimize_scalar

from agora.market.single_item.simultaneous import PricingGame
from agora.market.single_item.simultaneous_classes import ClassGame, solve_class_game

MARKET = ["uniform:0,1", "exponential:2"]


def uniform_threshold(s):
    """t_u(s) - s: inverse of the extended phi_u (2v - 1 on [0, 1], slope 1 outside), minus s."""
    s = np.asarray(s, float)
    return np.where(s > 1.0, s, np.where(s < -1.0, s + 1.0, (s + 1.0) / 2)) - s


def seller_revenue(q, s):
    """q P[sold] against Myerson anticipating s: 1 - P[v_u < t_u(s) - s + q] P[v_e < 2 + q]."""
    q = np.asarray(q, float)
    below_u = np.clip(uniform_threshold(s) + q, 0.0, 1.0)
    below_e = 1.0 - np.exp(-(2.0 + q) / 2.0)
    return q * (1.0 - below_u * below_e)


def local_best(s, lo, hi):
    """The seller's best revenue for q in [lo, hi] against Myerson anticipating s (bounded Brent)."""
    r = minimize_scalar(lambda q: -seller_revenue(q, s), bounds=(lo, hi), method="bounded",
                        options={"xatol": 1e-13})
    return r.x, -r.fun


def test_brute_force_finds_no_fixed_point_when_the_anticipated_price_is_the_sellers():
    """A 1001 x 20001 numpy grid of (s, q): the seller's regret at q = s never falls below 4%; the two
    peaks of its revenue (near 0.57 and at 2) tie at s* (Brent on the two peaks, each by bounded Brent),
    where the regret is the smallest, 0.044; the search on seller prices ends there with that regret."""
    s = np.linspace(0.0, 10.0, 1001)
    q = np.linspace(0.0, 10.0, 20001)
    revenue = seller_revenue(q[None, :], s[:, None])
    best = revenue.max(axis=1)
    regret = (best - seller_revenue(s, s)) / best
    assert regret.min() > 0.04
    s_star = brentq(lambda x: local_best(x, 1.5, 3.0)[1] - local_best(x, 0.3, 1.0)[1], 0.6, 0.8, xtol=1e-14)
    gap = 1.0 - float(seller_revenue(s_star, s_star)) / local_best(s_star, 1.5, 3.0)[1]
    assert 0.04 < gap <= regret.min()
    # the fixed-point search on seller prices alone ends at that point, its regret the same
    cg = ClassGame(PricingGame(MARKET), ("shifted_myerson",))
    tried = cg.auction_candidates("shifted_myerson", 41)
    assert not any(e.verified for e in tried)
    nearest = min(tried, key=lambda e: e.largest_regret)
    assert nearest.seller_price == pytest.approx(s_star, abs=1e-9)
    assert nearest.largest_regret == pytest.approx(gap, rel=1e-7)


def test_the_scan_of_parameters_finds_the_equilibrium_at_two():
    """(2, Myerson anticipating 0): the seller's best reply by grid and bounded Brent is 2, its revenue
    2 e^-2; the intermediary earns Myerson's bound E[max(0, phi(v) - 2)] (scipy quad), the most any
    auction earns against 2, and so does every anticipated price there."""
    solved = solve_class_game(PricingGame(MARKET), ("shifted_myerson",))
    assert solved.pure_equilibrium_exists and solved.best_approximate is None
    (e,) = solved.equilibria
    assert e.found == "seller's best response to a scanned parameter" and e.parameter == 0.0
    grid = np.linspace(0.0, 10.0, 100001)
    k = int(np.argmax(seller_revenue(grid, 0.0)))
    reply, best = local_best(0.0, grid[k - 1], grid[k + 1])
    assert e.seller_price == pytest.approx(reply, abs=1e-7) and reply == pytest.approx(2.0, abs=1e-7)
    assert e.seller_revenue == pytest.approx(best, rel=1e-12) and best == pytest.approx(2 * math.exp(-2), rel=1e-12)
    # E[max(0, max_i phi_i(v_i) - 2)] = int_0^inf P[max_i phi_i(v_i) > t + 2] dt: phi_u = 2v - 1 <= 1 never
    # reaches it, phi_e = v - 2 does iff v > t + 4, with chance e^-(t + 4)/2
    myerson = quad(lambda t: math.exp(-(t + 4.0) / 2.0), 0.0, math.inf, epsabs=0.0, epsrel=1e-13)[0]
    assert e.intermediary_revenue == pytest.approx(myerson, rel=1e-10)
    assert e.deviations["shifted_myerson"]["revenue"] == pytest.approx(myerson, rel=1e-10)
    assert e.largest_regret <= 1e-9
