"""The (k+1)-th-price auction with several intermediaries holding several buyers (Section 3):
exact payoffs against brute force through UniformPriceAuction.run (quadrature over a single
buyer's score), exact revenue and welfare against Monte Carlo on fresh draws, cells against
sampling, and the n = 6, k = 3 structures' regret and Lemma 1."""

from __future__ import annotations

import math

import numpy as np
import pytest

from agora.market.distributions import parse_spec
from agora.market.k_items.bid_laws import candidates, unit_terms
from agora.market.k_items.cells import Cells
from agora.market.k_items.equilibrium import equilibrium
from agora.market.k_items.k_auction import solve_k_auction
from agora.market.k_items.mechanisms import UniformPriceAuction, optimal_welfare
from agora.market.k_items.utility import utility_model

U = "uniform:0,1"
DIST = parse_spec(U)


def test_cells_against_sampling():
    """Cell masses and conditional means of the sorted quantiles of 3 buyers on 4 bins against
    200,000 draws: frequencies within 5 binomial standard errors, means within 5 standard errors."""
    cells = Cells(np.linspace(0, 1, 5), 3)
    assert cells.mass.sum() == pytest.approx(1.0, abs=1e-12)
    u = np.random.default_rng(0).random((200_000, 3))
    where = cells.locate(u)
    freq = np.bincount(where, minlength=len(cells.mass)) / len(u)
    assert np.all(np.abs(freq - cells.mass) <= 5 * np.sqrt(cells.mass * (1 - cells.mass) / len(u)))
    means = cells.means(lambda q: q ** 2)  # a nonlinear score: the Gauss-Jacobi rule integrates it exactly
    s = (-np.sort(-u, axis=1)) ** 2
    for c in np.argsort(-cells.mass)[:6]:
        rows = s[where == c]
        assert np.all(np.abs(rows.mean(axis=0) - means[c]) <= 5 * rows.std(axis=0, ddof=1) / math.sqrt(len(rows)))


def _brute_utility(own, opp_atoms, k, r, m, kinks):
    """E[sum_{j <= w} m_j - w price] by UniformPriceAuction.run over the rival's atoms (bids, mass),
    both priority orders (1/2 each) and the single buyer's uniform score, integrated by 3-point
    Gauss-Legendre between the ``kinks`` (the integrand is piecewise linear between the bid levels)."""
    auction = UniformPriceAuction(k, r)
    own = np.asarray(own, float)
    x, w = np.polynomial.legendre.leggauss(3)
    cuts = np.unique(np.concatenate([[0.0, 1.0], kinks]))
    lo, hi = cuts[:-1, None], cuts[1:, None]
    s = (0.5 * (hi - lo) * x + 0.5 * (hi + lo)).ravel()
    weight = (0.5 * (hi - lo) * w).ravel()
    total = 0.0
    for opp, mass in opp_atoms:
        for own_first in (True, False):
            bids = np.concatenate([np.tile(own, (len(s), 1)), np.tile(opp, (len(s), 1)),
                                   np.where(s >= r, s, -np.inf)[:, None]], axis=1)
            pri = np.concatenate([np.full(len(own), 1.0 if own_first else 0.0),
                                  np.full(len(opp), 0.0 if own_first else 1.0), [0.5]])
            win, price = auction.run(bids, np.tile(pri, (len(s), 1)))
            won = win[:, :len(own)].sum(axis=1)
            util = np.concatenate([[0.0], np.cumsum(m)])[won] - won * price
            total += 0.5 * mass * float(weight @ util)
    return total


def test_exact_payoffs_and_regret_against_brute_force():
    """Buyers {0,1}, {2,3} and a single buyer, k = 2, r = 1/2, 5 levels, 2 quantile bins: every bid
    vector's utility at each cell's mean scores equals the brute force through the auction itself
    (1e-9); the equilibrium choice is the brute-force best over vectors whose
    top bid is the cell's, and the exact fine-grid regret matches brute force on the 9-level grid."""
    k, r = 2, 0.5
    eq = equilibrium(k, r, 1.0, [[0, 1], [2, 3]], 5, DIST, utility_model("surplus", DIST), levels=5, bins=2)
    assert eq.converged
    me, rival = eq.players
    assert me.cells.bins.tolist() == [[1, 1], [1, 0], [0, 0]]
    masses = [0.25, 0.5, 0.25]  # both quantiles above 1/2, one each side, both below
    assert np.allclose(me.cells.mass, masses)
    assert np.allclose(me.means, [[5 / 6, 2 / 3], [0.75, 0.25], [1 / 3, 1 / 6]])
    cands = candidates(eq.levels, 2)
    opp = [(cands[c][np.isfinite(cands[c])], mass) for c, mass in zip(rival.history[-1], masses)]
    win, pay = unit_terms(cands, eq.facing(0), k, r)
    for cell in range(3):
        m = me.means[cell]
        brute = np.array([_brute_utility(c[np.isfinite(c)], opp, k, r, m, eq.fine) for c in cands])
        assert np.allclose(m @ win.T - pay, brute, atol=1e-9)
        top = eq.top_bids(me)[cell]
        allowed = ~np.isfinite(cands[:, 0]) | (cands[:, 0] == top)
        assert brute[me.history[-1][cell]] >= brute[allowed].max() - 1e-9
        fine = candidates(eq.fine, 2)
        best_fine = max(_brute_utility(c[np.isfinite(c)], opp, k, r, m, eq.fine) for c in fine)
        assert eq.regret(0)[cell] == pytest.approx(best_fine - brute[me.history[-1][cell]], abs=1e-9)


@pytest.mark.parametrize("utility", ["surplus", "monopolist"])
def test_exact_seller_terms_against_fresh_monte_carlo(utility):
    """Buyers {0,1}, {2,3} and a single buyer, k = 2: the exact revenue and welfare of the equilibrium
    strategies against 100,000 fresh rounds played through UniformPriceAuction.run (bids drawn from
    the strategies, one priority per intermediary), within 4 standard errors; and two bid vectors'
    exact utilities for intermediary 0 at fixed scores against the same rounds."""
    k, r, rounds = 2, 0.5, 100_000
    model = utility_model(utility, DIST)
    eq = equilibrium(k, r, 1.0, [[0, 1], [2, 3]], 5, DIST, model, levels=11, bins=10)
    rng = np.random.default_rng(11)
    q = rng.random((rounds, 5))
    values = DIST.ppf(q)
    scores = model.scores(values, DIST)
    b1 = eq.bids(1, q[:, 2:4], rng)
    single = np.where(scores[:, 4] >= r, scores[:, 4], -np.inf)[:, None]
    pri = np.repeat(rng.random((rounds, 3)), [2, 2, 1], axis=1)
    auction = UniformPriceAuction(k, r)
    b0 = eq.bids(0, q[:, :2], rng)
    win, price = auction.run(np.concatenate([b0, b1, single], axis=1), pri)
    revenue = price * win.sum(axis=1)
    welfare = sum(np.where(np.arange(2)[None, :] < win[:, c].sum(axis=1)[:, None],
                           -np.sort(-values[:, c], axis=1), 0.0).sum(axis=1) for c in ([0, 1], [2, 3]))
    welfare = welfare + np.where(win[:, 4], values[:, 4], 0.0)
    exact_rev, exact_wel = eq.seller()
    for exact, sample in ((exact_rev, revenue), (exact_wel, welfare)):
        assert abs(sample.mean() - exact) <= 4 * sample.std(ddof=1) / math.sqrt(rounds)
    s = np.array([0.9, 0.7])
    law = eq.facing(0)
    for own in ([0.9, 0.5], [0.85, 0.6]):
        c = np.array([own])
        win_e, pay_e = unit_terms(c, law, k, r)
        w, p = auction.run(np.concatenate([np.tile(c, (rounds, 1)), b1, single], axis=1), pri)
        n_won = w[:, :2].sum(axis=1)
        util = np.concatenate([[0.0], np.cumsum(s)])[n_won] - n_won * p
        assert abs(util.mean() - float(s @ win_e[0] - pay_e[0])) <= 4 * util.std(ddof=1) / math.sqrt(rounds)


@pytest.mark.slow
@pytest.mark.parametrize("partition", [[[0, 1, 2], [3, 4, 5]], [[0, 1, 2, 3], [4, 5]]])
def test_n6_k3_regret_bound_and_lemma_1(partition):
    """n = 6, k = 3, uniform values, surplus intermediaries, structures (3,3) and (4,2): the exact
    largest regret (every cell, on the 41-level grid) is below 1e-2, the revenue (exact) is below
    Wel(F) = sum_{j <= 3} E[v(j, 6)] = 15/7 (Lemma 1; quadrature), and the Monte Carlo revenue on 4,000
    rounds agrees with the exact one within 4 standard errors."""
    sol = solve_k_auction(6, 3, U, partition, "surplus", rounds=4000, seed=1, regret_profiles=0)
    assert sol.max_regret <= 1e-2
    assert sol.exact_revenue < optimal_welfare(U, 6, 3) == pytest.approx(15 / 7)
    assert sol.exact_revenue < sol.exact_welfare
    assert abs(sol.revenue - sol.exact_revenue) <= 4 * sol.revenue_stderr
    assert abs(sol.welfare - sol.exact_welfare) <= 4 * sol.welfare_stderr
