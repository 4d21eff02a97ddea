"""The truncated normal's density, survival and phi from scipy.special (market/frozen_laws.py), and an
uncapped truncated normal in intermediary-first (it took minutes when phi went through scipy.stats'
generic truncnorm and phi^-1's bracket was searched by expansion from the bottom of the support).

Independent checks: scipy.stats.truncnorm's own logsf and logpdf (a second evaluator of the same law),
and for one bidder a brute force of the intermediary's best posted price for the right written from
scipy.stats alone: with one bidder every class sells the right at a posted price (a second-price
auction's reserve and Myerson's threshold are posted prices), so the optimum is
max_q q S(p*(q) + q) with p*(q) = argmax_p p S(p + q), S the survival (p*(q) the root of the seller's
first-order condition).
"""

import math

import numpy as np
import pytest
from scipy import optimize, stats

from agora.market.distributions import parse_spec

LAWS = [(0.5, 0.3, 0.0, math.inf), (1.0, 0.4, 0.2, 2.0), (0.0, 1.0, 0.0, math.inf), (5.0, 1.0, 0.0, math.inf),
        (0.0, 1.0, 3.0, math.inf), (2.0, 0.5, 0.0, 2.5)]


def _spec(mean, sd, lo, hi):
    return f"truncnorm:{mean:g},{sd:g},{lo:g},{hi:g}"


@pytest.mark.parametrize("law", LAWS)
def test_density_survival_and_phi_match_scipy_stats(law):
    """logpdf and logsf to 1e-12 (absolute, they are logs), phi to 1e-12 of the law's scale, on the support."""
    mean, sd, lo, hi = law
    d = parse_spec(_spec(*law))
    rv = stats.truncnorm((lo - mean) / sd, (hi - mean) / sd, loc=mean, scale=sd)
    v = np.linspace(lo, min(hi, lo + 8 * sd + abs(mean - lo)), 2001)[:-1]
    np.testing.assert_allclose(d.rv.logpdf(v), rv.logpdf(v), rtol=0, atol=1e-12)
    np.testing.assert_allclose(d.rv.logsf(v), rv.logsf(v), rtol=0, atol=1e-12)
    np.testing.assert_allclose(d.sf(v), rv.sf(v), rtol=1e-12, atol=1e-300)
    phi = v - np.exp(rv.logsf(v) - rv.logpdf(v))
    np.testing.assert_allclose(d.virtual_value(v), phi, rtol=0, atol=1e-12 * max(sd, 1.0) * (1 + np.max(np.abs(phi))))


@pytest.mark.parametrize("law", LAWS)
def test_phi_inverse_inverts_phi(law):
    """phi^-1(phi(v)) = v across the support, the unbounded laws through the closed bracket."""
    d = parse_spec(_spec(*law))
    v = np.linspace(d.lo, min(d.hi, d.lo + 6.0), 41)[1:-1]
    np.testing.assert_allclose(d.virtual_threshold(d.virtual_value(v)), v, rtol=1e-10, atol=1e-12)


def test_quantities_outside_the_support():
    d = parse_spec("truncnorm:0.5,0.3,0.2,1")
    assert d.sf(np.array([0.0, 0.2, 1.0, 2.0])).tolist() == pytest.approx([1.0, 1.0, 0.0, 0.0])
    assert np.all(np.isneginf(d.rv.logpdf(np.array([0.1, 1.1]))))


def _brute_force_posted_right(mean, sd, lo):
    """The intermediary's best posted price for the right against the seller's best answer, from scipy.stats."""
    rv = stats.truncnorm((lo - mean) / sd, np.inf, loc=mean, scale=sd)

    def seller(q):
        """The root of the seller's first-order condition S(p + q) - p f(p + q) = 0 by brentq, bracketed
        around the best of a grid (maximizing the flat revenue itself would pin p to ~1e-8 only)."""
        grid = np.linspace(0.0, 4.0, 4001)
        p0 = grid[np.argmax(grid * rv.sf(grid + q))]
        return optimize.brentq(lambda p: rv.sf(p + q) - p * rv.pdf(p + q), max(p0 - 2e-3, 0.0), p0 + 2e-3,
                               xtol=1e-15, rtol=1e-15)

    def revenue(q):
        return q * rv.sf(seller(q) + q)

    grid = np.linspace(0.0, 2.0, 401)
    q0 = grid[np.argmax([revenue(q) for q in grid])]
    res = optimize.minimize_scalar(lambda q: -revenue(q), bounds=(max(q0 - 0.01, 0.0), q0 + 0.01), method="bounded",
                                   options={"xatol": 1e-12})
    return -res.fun, seller(res.x)


@pytest.mark.slow
def test_uncapped_truncated_normal_intermediary_first_against_a_brute_force():
    """truncnorm:0.5,0.3,0,inf (one bidder) solves in seconds; the intermediary's revenue equals the brute
    force's to 1e-9 and the seller's price to 1e-6 (the revenue is flat in it at the optimum)."""
    from agora.market.single_item.intermediary_first import solve_intermediary_first

    sol = solve_intermediary_first(["truncnorm:0.5,0.3,0,inf"])
    revenue, price = _brute_force_posted_right(0.5, 0.3, 0.0)
    assert sol.intermediary_revenue == pytest.approx(revenue, rel=1e-9)
    assert sol.seller_price == pytest.approx(price, rel=1e-6)
