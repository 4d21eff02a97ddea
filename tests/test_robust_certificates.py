"""The thesis' dual certificates (Lemmas 1.7.3, 1.7.5, 1.7.7, 1.7.9) and α_ε (Theorem 1.7.1), checked
on continuum value profiles, against the LP (1.7) on a grid and by quadrature."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.integrate import fixed_quad, quad

from agora.market.errors import InputError
from agora.market.robust.certificates import (
    AlphaEps,
    alpha_eps_sequence,
    auction_dual,
    dual_slack,
    lottery_dual,
)
from agora.market.robust.lp import worst_case_revenue
from agora.market.robust.mechanisms import (
    HighestBidderLottery,
    MarkovSet,
    SecondPriceReserve,
    spa_region,
    spa_worst_case_revenue,
)


def _profiles(bidders: int, marks, rng) -> np.ndarray:
    """Uniform random profiles, and every combination of the marks (kinks of the revenue) and their
    neighbours 1e-12 away."""
    pts = sorted({min(max(m + d, 0.0), 1.0) for m in marks for d in (-1e-12, 0.0, 1e-12)} | {0.0, 1.0})
    grid = np.stack(np.meshgrid(*[pts] * bidders), -1).reshape(-1, bidders)
    return np.vstack([rng.random((100_000, bidders)), grid])


CASES = [(2, 0.625, 0.1), (2, 0.625, 0.3), (2, 0.625, 0.55), (3, 0.3, 0.0), (3, 0.3, 0.2), (3, 0.6, 0.2), (3, 0.6, 0.5),
         (2, 0.3, 0.2)]


@pytest.mark.parametrize("bidders,mu,reserve", CASES)
def test_auction_duals_are_feasible_on_the_continuum_and_equal_the_lp(bidders, mu, reserve):
    a = MarkovSet(bidders, mu)
    mech = SecondPriceReserve(reserve)
    dual = auction_dual(reserve, a)
    lemma = {"R1": "Lemma 1.7.3", "R2": "Lemma 1.7.5", "R3": "Lemma 1.7.7"}[spa_region(reserve, a)]
    assert dual.lemma == lemma
    values = _profiles(bidders, (reserve, mu), np.random.default_rng(3))
    assert dual_slack(mech.revenue, dual, values) >= -1e-12
    assert dual.objective(a) == pytest.approx(spa_worst_case_revenue(reserve, a), abs=1e-12)
    lp = worst_case_revenue(mech, a, 61 if bidders == 3 else 201)
    assert dual.objective(a) == pytest.approx(lp.value, abs=1e-6)  # the LP's optimum, an independent solve


def test_an_infeasible_dual_is_detected():
    """The R2 certificate used for a reserve in R3 violates (1.8) somewhere: the check can fail."""
    a = MarkovSet(2, 0.625)
    wrong = auction_dual(0.3, a)  # R2
    values = _profiles(2, (0.55, 0.625), np.random.default_rng(1))
    assert dual_slack(SecondPriceReserve(0.55).revenue, wrong, values) < -1e-3


@pytest.mark.parametrize("bidders,mu", [(2, 0.5), (2, 0.3), (3, 0.3), (4, 0.7)])
def test_lottery_dual_is_feasible_tight_at_mu_and_worth_r(bidders, mu):
    a = MarkovSet(bidders, mu)
    h = HighestBidderLottery.optimal(a)
    dual = lottery_dual(h)
    values = _profiles(bidders, (h.threshold, mu), np.random.default_rng(5))
    assert dual_slack(h.revenue, dual, values) >= -1e-12  # (1.11b), Lemma 1.7.9
    assert dual_slack(h.revenue, dual, np.full((1, bidders), mu)) == pytest.approx(0.0, abs=1e-12)
    assert dual.objective(a) == pytest.approx(h.threshold, rel=1e-12)  # Lemma 1.7.10


def test_alpha_eps_is_a_density_with_means_mu():
    """Lemma 1.7.12 by two-dimensional quadrature of α_ε over its support (I = 2)."""
    h = HighestBidderLottery.optimal(MarkovSet(2, 0.3))
    r = h.threshold
    for eps in (0.02,):
        alpha = AlphaEps(h, eps)
        assert alpha.delta > 1 and 0 < alpha.rho < 1

        def box(g, high: int):
            """∫ α g over the box where bidder ``high`` is in [r, 1] and the other in [r - ε, r]:
            adaptive quadrature in the high value (kink at 1 - ε), Gauss-Legendre in the other."""
            def inner(t):
                def column(u):
                    v = np.empty((len(u), 2))
                    v[:, high], v[:, 1 - high] = t, u
                    return alpha.density(v) * g(v)
                return fixed_quad(column, r - eps, r, n=8)[0]
            return quad(inner, r, 1.0, points=[1.0 - eps], epsabs=1e-13, epsrel=1e-11, limit=200)[0]
        mass = sum(box(lambda v: 1.0, i) for i in (0, 1))
        mean = sum(box(lambda v: v[:, 0], i) for i in (0, 1))
        assert mass == pytest.approx(1.0, abs=1e-8)
        assert mean == pytest.approx(0.3, abs=1e-8)
    rng = np.random.default_rng(0)
    outside = rng.random((20_000, 2))
    outside = outside[np.minimum(outside[:, 0], outside[:, 1]) < r - 0.02]
    assert np.all(AlphaEps(h, 0.02).density(outside) == 0.0)


@pytest.mark.parametrize("bidders,mu", [(2, 0.3), (3, 0.5)])
def test_alpha_eps_objective_decreases_to_r(bidders, mu):
    """Theorem 1.7.1: the dual objective of α_ε (>= r by weak duality) tends to r as ε -> 0."""
    a = MarkovSet(bidders, mu)
    h = HighestBidderLottery.optimal(a)
    seq = alpha_eps_sequence(a)
    for eps, obj in seq:
        assert obj == pytest.approx(AlphaEps(h, eps).closed_form_objective(), rel=1e-8)
        assert obj >= h.threshold - 1e-12
    gaps = [obj - h.threshold for _, obj in seq]
    assert all(x > y for x, y in zip(gaps, gaps[1:]))
    assert all(g <= 3.0 * eps for (eps, _), g in zip(seq, gaps))  # first order in ε
    (e1, o1), (e2, o2) = seq[-2:]
    linear = o2 - e2 * (o1 - o2) / (e1 - e2)  # the limit ε -> 0 of the last two, linearly
    assert linear == pytest.approx(h.threshold, abs=2e-5)


def test_certificate_inputs_are_checked():
    h = HighestBidderLottery.optimal(MarkovSet(2, 0.3))
    with pytest.raises(InputError, match="epsilon"):
        AlphaEps(h, 0.5)
    with pytest.raises(InputError, match="above the mean"):
        auction_dual(0.4, MarkovSet(2, 0.3))
    with pytest.raises(InputError, match="v̄ = 1"):
        auction_dual(0.4, MarkovSet(2, 1.0, 2.0))
