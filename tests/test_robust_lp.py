"""Worst-case LPs (1.7)/(1.8) on grids against the thesis' closed forms."""

import math

import numpy as np
import pytest

from agora.market.errors import InputError
from agora.market.robust.lp import (
    random_price_regret_on_grid,
    regret_profiles,
    sorted_profiles,
    value_grid,
    worst_case_regret,
    worst_case_revenue,
)
from agora.market.robust.mechanisms import (
    HighestBidderLottery,
    MarkovSet,
    RandomReserveAuction,
    SecondPriceReserve,
    best_reserve,
    spa_extremal_distribution,
    spa_worst_case_revenue,
)

CASES = [(0.5, 2, 201), (0.625, 2, 201), (0.5, 3, 61)]


@pytest.mark.parametrize("mu,bidders,grid", CASES)
def test_lp_reproduces_best_auction_and_lottery_worst_cases(mu, bidders, grid):
    a = MarkovSet(bidders, mu)
    spa = best_reserve(a)
    hbl = HighestBidderLottery.optimal(a)
    w_spa = worst_case_revenue(spa.mechanism(), a, grid)
    w_hbl = worst_case_revenue(hbl, a, grid)
    assert w_spa.value == pytest.approx(spa.revenue, abs=1e-4)
    assert w_hbl.value == pytest.approx(hbl.worst_case_revenue, abs=1e-4)
    for w in (w_spa, w_hbl):
        assert w.duality_gap < 1e-7
        assert w.probabilities.sum() == pytest.approx(1.0)
        assert w.support.mean(axis=1) @ w.probabilities >= mu - 1e-9


@pytest.mark.parametrize("reserve", [0.0, 0.1, 0.25, 0.3, 0.45, 0.55, 0.6, 0.7])
def test_lp_reproduces_each_region_of_propositions_1_5_5_to_1_5_7(reserve):
    a = MarkovSet(2, 5 / 8)
    w = worst_case_revenue(SecondPriceReserve(reserve), a, 81)
    assert w.value == pytest.approx(spa_worst_case_revenue(reserve, a), abs=1e-6)


def test_lp_dual_is_the_thesis_certificate_in_region_r1():
    """Lemma 1.7.3: σ = 1/(I-1), λ = 1 - I/(I-1) for r in R1; Q^(1) attains the LP value and
    nature's atoms touch the dual plane (complementary slackness, Figure 1.2a)."""
    a = MarkovSet(2, 5 / 8)
    mech = SecondPriceReserve(0.2)
    w = worst_case_revenue(mech, a, 81)
    assert w.sigma == pytest.approx([1.0, 1.0], abs=1e-7)
    assert w.lam == pytest.approx(-1.0, abs=1e-7)
    pts, probs = w.atoms()
    assert mech.revenue(pts) == pytest.approx(w.lam + pts @ w.sigma, abs=1e-7)
    assert spa_extremal_distribution(0.2, a).expect(mech.revenue) == pytest.approx(w.value, abs=1e-9)


def test_symmetric_reduction_agrees_with_the_full_lp():
    a = MarkovSet(2, 0.4)
    for mech in (SecondPriceReserve(0.3), HighestBidderLottery.optimal(a)):
        full = worst_case_revenue(mech, a, 41, symmetric=False)
        sym = worst_case_revenue(mech, a, 41)
        assert full.variables > sym.variables
        assert full.value == pytest.approx(sym.value, abs=1e-9)


def test_a_users_asymmetric_mechanism():
    """Sell to bidder 1 alone at price p: nature puts v1 just below p or at 1, so the
    worst case is p (μ - p)/(1 - p) (derived by hand, as in Proposition 1.5.6 with I = 1)."""
    a = MarkovSet(3, 0.6)
    p = 0.4

    def revenue(values):
        return np.where(values[:, 0] >= p, p, 0.0)
    grid = value_grid(21, 1.0, extra=(p - 1e-9,))
    w = worst_case_revenue(revenue, a, grid, symmetric=False)
    assert w.value == pytest.approx(p * (0.6 - p) / (1 - p), abs=1e-7)
    assert w.variables == len(w.grid) ** 3


def test_sorted_profiles_count_each_orbit_once():
    prof = sorted_profiles(7, 3)
    assert len(prof) == math.comb(7 + 2, 3)
    assert np.all(np.diff(prof, axis=1) <= 0)
    assert len(np.unique(prof, axis=0)) == len(prof)


def test_random_posted_price_regret_converges_to_one_over_e():
    """Prices and values on an n-point grid; the worst-case regret tends to (v̄ - c)/e."""
    target = 0.8 / math.e
    errors = [target - random_price_regret_on_grid(1.0, 0.2, n).value for n in (6, 41, 161, 641, 1281)]
    assert all(e >= -1e-12 for e in errors)
    assert all(b <= a + 1e-15 for a, b in zip(errors, errors[1:]))
    assert errors[0] > 1e-3 and errors[-1] < 1e-6


@pytest.mark.parametrize("bidders", [2, 3])
def test_random_reserve_auction_worst_regret_on_a_grid(bidders):
    auc = RandomReserveAuction(1.0)
    w = worst_case_regret(auc.regret, regret_profiles(1.0, bidders, 41))
    assert w.value == pytest.approx(1 / math.e, abs=1e-12)


def test_bad_grids_are_refused():
    a = MarkovSet(2, 0.5)
    with pytest.raises(InputError, match="at least 2"):
        worst_case_revenue(SecondPriceReserve(0.1), a, 1)
    with pytest.raises(InputError, match="lie in"):
        worst_case_revenue(SecondPriceReserve(0.1), a, np.array([0.0, 2.0]))
    with pytest.raises(InputError, match="revenue"):
        worst_case_revenue(42, a, 5)
    with pytest.raises(InputError, match="one finite number"):
        worst_case_revenue(lambda v: np.ones(3), a, 5)
