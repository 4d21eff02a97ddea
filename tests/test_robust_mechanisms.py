"""Robust mechanisms of the distributionally-robust-mechanism-design thesis, against its numbers."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.integrate import quad

from agora.market.errors import InputError
from agora.market.robust.mechanisms import (
    DeterministicPrices,
    HighestBidderLottery,
    MarkovSet,
    RandomPostedPrice,
    RandomReserveAuction,
    SecondPriceReserve,
    best_reserve,
    extra_bidders_needed,
    hbl_sigma,
    mean_region,
    spa_extremal_distribution,
    spa_region,
    spa_worst_case_revenue,
)

# ------------------------------------------------------------- Chapter 1


def test_thesis_check_values_mu_half_two_bidders():
    h = HighestBidderLottery.optimal(MarkovSet(2, 0.5))
    assert h.sigma == pytest.approx(0.465941, abs=5e-7)
    assert h.worst_case_revenue == pytest.approx(0.317844, abs=5e-7)
    assert h.winner_probability([[0.9, 0.2]])[0] == pytest.approx(0.950908, abs=5e-7)
    assert h.winner_payment([[0.9, 0.2]])[0] == pytest.approx(0.364439, abs=5e-7)
    b = best_reserve(MarkovSet(2, 0.5))
    assert b.reserve == pytest.approx(1 - math.sqrt(0.5), abs=1e-15)
    assert b.revenue == pytest.approx(0.171573, abs=5e-7)


@pytest.mark.parametrize("bidders", [2, 3, 5, 10, 40, 200])
@pytest.mark.parametrize("mu", [0.05, 0.5, 0.9])
def test_sigma_solves_equation_1_30_by_both_methods(bidders, mu):
    s_w, how = hbl_sigma(bidders, mu, "lambertw")
    s_b, _ = hbl_sigma(bidders, mu, "bracket")
    assert how == "lambertw W_-1"
    assert s_w == pytest.approx(s_b, rel=1e-10)
    assert 0 < s_w < 1 / (bidders - 1)
    assert (1 + s_w) / (bidders * s_w) * math.exp(bidders - 1 - 1 / s_w) == pytest.approx(mu, rel=1e-9)


def test_large_bidder_counts_fall_back_to_bracketing_and_approach_vickrey():
    sigma, how = hbl_sigma(2000, 0.5)
    assert how.startswith("bracketing")
    assert 2000 * sigma == pytest.approx(1.0, abs=1e-3)  # Proposition 1.5.9: I sigma* -> 1
    r = HighestBidderLottery.optimal(MarkovSet(2000, 0.5)).threshold
    assert (2000 * 0.5 - 1) / 1999 <= r <= 0.5  # (1.45)
    with pytest.raises(InputError, match="bracket"):
        hbl_sigma(2000, 0.5, "lambertw")


def _myerson_payment(mech, v, i):
    """q_i(v) v_i - ∫_0^{v_i} q_i(x, v_-i) dx, by adaptive quadrature (equation 1.13)."""
    def q(x):
        w = np.array(v, float)
        w[i] = x
        return mech.allocation(w[None, :])[0, i]
    kinks = sorted({float(v[j]) for j in range(len(v)) if j != i} | {mech.threshold * mech.ambiguity.upper})
    pts = [k for k in kinks if 0 < k < v[i]]
    integral = quad(q, 0.0, v[i], points=pts or None, limit=200, epsabs=1e-12)[0] if v[i] > 0 else 0.0
    return q(v[i]) * v[i] - integral


@pytest.mark.parametrize("bidders,mu,upper", [(2, 0.5, 1.0), (3, 0.3, 1.0), (4, 0.7, 2.0)])
def test_lottery_payments_are_the_envelope_integral_of_its_allocation(bidders, mu, upper):
    h = HighestBidderLottery.optimal(MarkovSet(bidders, mu * upper, upper))
    rng = np.random.default_rng(7)
    profiles = upper * rng.random((25, bidders))
    profiles[0, :2] = [0.9 * upper, 0.2 * upper]
    m = h.payments(profiles)
    for v, row in zip(profiles, m):
        for i in range(bidders):
            assert row[i] == pytest.approx(_myerson_payment(h, v, i), abs=1e-8)


@settings(max_examples=60, deadline=None)
@given(st.integers(2, 6), st.floats(0.02, 0.98),
       st.lists(st.floats(0.0, 1.0), min_size=6, max_size=6))
def test_lottery_is_feasible_monotone_and_individually_rational(bidders, mu, raw):
    h = HighestBidderLottery.optimal(MarkovSet(bidders, mu))
    v = np.array(raw[:bidders])[None, :]
    q, m = h.allocation(v)[0], h.payments(v)[0]
    assert np.all(q >= -1e-12) and q.sum() <= 1 + 1e-12
    assert np.all(m <= q * v[0] + 1e-12) and np.all(m >= -1e-12)
    i = int(np.argmax(v[0]))
    up = v.copy()
    up[0, i] = min(1.0, v[0, i] + 0.1)
    assert h.allocation(up)[0, i] >= q[i] - 1e-12


def test_pay_on_win_variant_has_the_upfront_expected_payment():
    """Monte Carlo, 200,000 lottery draws per profile; 4 standard errors."""
    h = HighestBidderLottery.optimal(MarkovSet(3, 0.4))
    rng = np.random.default_rng(3)
    for v in ([[0.9, 0.2, 0.1]], [[0.5, 0.45, 0.3]], [[0.1, 0.05, 0.0]]):
        q, price = h.winner_probability(v)[0], h.pay_on_win_price(v)[0]
        paid = price * (rng.random(200_000) <= q)
        assert price <= v[0][0] + 1e-12
        assert abs(paid.mean() - h.winner_payment(v)[0]) <= 4 * paid.std() / math.sqrt(len(paid)) + 1e-12


def test_best_reserve_by_mean_region():
    assert mean_region(MarkovSet(2, 0.5)) == "M1"
    m2 = MarkovSet(2, 0.625)
    assert mean_region(m2) == "M2"
    assert best_reserve(m2).revenue == pytest.approx(2 * (1 - math.sqrt(0.375)) ** 2, rel=1e-14)
    m3 = MarkovSet(2, 0.9)
    assert mean_region(m3) == "M3"
    assert best_reserve(m3).reserve == 0.0 and best_reserve(m3).revenue == pytest.approx(0.8)
    scaled = best_reserve(MarkovSet(3, 5.0, 10.0))
    assert scaled.reserve == pytest.approx(10 * best_reserve(MarkovSet(3, 0.5)).reserve)
    assert scaled.revenue == pytest.approx(10 * best_reserve(MarkovSet(3, 0.5)).revenue)


@pytest.mark.parametrize("bidders,mu", [(2, 0.3), (2, 0.625), (3, 0.5), (4, 0.9), (6, 0.1)])
def test_best_reserve_maximizes_the_regionwise_worst_case(bidders, mu):
    a = MarkovSet(bidders, mu)
    best = best_reserve(a)
    rs = np.linspace(0, 1, 20001)
    z = np.array([spa_worst_case_revenue(r, a) for r in rs])
    assert best.revenue >= z.max() - 1e-12
    assert best.revenue == pytest.approx(z.max(), abs=1e-6)
    assert spa_worst_case_revenue(best.reserve, a) == pytest.approx(best.revenue, rel=1e-12)


@pytest.mark.parametrize("reserve,region", [(0.1, "R1"), (0.3, "R2"), (0.55, "R3"), (0.7, "above_mean")])
def test_extremal_distributions_are_in_the_set_and_attain_the_formula(reserve, region):
    a = MarkovSet(2, 5 / 8)  # Figure 1.2
    assert spa_region(reserve, a) == region
    q = spa_extremal_distribution(reserve, a)
    assert q.probabilities.min() >= 0 and q.probabilities.sum() == pytest.approx(1.0)
    assert q.points.min() >= 0 and q.points.max() <= 1
    assert np.all(q.mean() >= 5 / 8 - 1e-12)
    assert q.expect(SecondPriceReserve(reserve).revenue) == pytest.approx(
        spa_worst_case_revenue(reserve, a), abs=1e-8)


def test_second_price_auction_outcomes():
    spa = SecondPriceReserve(0.3)
    v = np.array([[0.9, 0.2], [0.25, 0.1], [0.5, 0.7], [0.4, 0.4]])
    assert spa.revenue(v).tolist() == [0.3, 0.0, 0.5, 0.4]
    assert spa.allocation(v).tolist() == [[1, 0], [0, 0], [0, 1], [1, 0]]
    assert np.allclose(spa.payments(v).sum(axis=1), spa.revenue(v))


def test_lottery_beats_auction_and_stays_within_half_of_the_bound():
    for bidders in (2, 3, 5, 10, 30):
        for mu in (0.05, 0.3, 0.5, 0.8):
            a = MarkovSet(bidders, mu)
            h = HighestBidderLottery.optimal(a)
            assert best_reserve(a).revenue <= h.worst_case_revenue + 1e-12
            assert h.worst_case_revenue <= h.upper_bound <= mu
            assert h.worst_case_revenue / h.upper_bound >= 0.5  # Theorem 1.5.4


def test_auction_share_of_lottery_vanishes_with_the_mean():
    """Theorem 1.5.5: for fixed I the best auction's share of the lottery's revenue -> 0 as μ -> 0."""
    shares = [best_reserve(MarkovSet(2, mu)).revenue / HighestBidderLottery.optimal(MarkovSet(2, mu)).threshold
              for mu in (1e-1, 1e-2, 1e-3, 1e-4, 1e-6)]
    assert all(b < a for a, b in zip(shares, shares[1:]))
    assert shares[-1] < 1e-4


def test_extra_bidders_the_auction_needs():
    """Δ(I) (Figure 1.5, μ = 0.5): least Δ with best SPA(I + Δ) >= HBL(I); it exceeds 1 and grows."""
    deltas = [extra_bidders_needed(i, 0.5) for i in range(2, 12)]
    for i, d in zip(range(2, 12), deltas):
        hbl = HighestBidderLottery.optimal(MarkovSet(i, 0.5)).threshold
        assert best_reserve(MarkovSet(i + d, 0.5)).revenue >= hbl
        assert d == 0 or best_reserve(MarkovSet(i + d - 1, 0.5)).revenue < hbl
    assert min(deltas) >= 2 and deltas[-1] > deltas[0]


@pytest.mark.parametrize("args,match", [((1, 0.5), "bidders >= 2"), ((2, 0.0), "mean bound"),
                                        ((2, 1.0), "mean bound"), ((2, 0.5, -1.0), "upper bound"),
                                        ((2.5, 0.5), "whole number")])
def test_bad_markov_sets_are_refused(args, match):
    with pytest.raises(InputError, match=match):
        MarkovSet(*args)


# ---------------------------------------------------------- Chapters 2, 3


def test_random_posted_price_law_and_regret():
    rule = RandomPostedPrice.of([1.0, 3.0], [0.2, 0.0])
    lo = rule.lowest_price
    assert lo == pytest.approx([0.2 + 0.8 / math.e, 3 / math.e])
    assert rule.cdf([lo - 1e-9])[0] == pytest.approx([0, 0]) and rule.cdf([[1.0, 3.0]])[0] == pytest.approx([1, 1])
    assert rule.worst_case_regret == pytest.approx((0.8 + 3.0) / math.e)
    grid = np.column_stack([np.linspace(0, 1, 401), np.linspace(0, 3, 401)])
    z = rule.regret(grid)
    assert z.max() == pytest.approx(rule.worst_case_regret, abs=1e-12)
    assert np.all(z <= rule.worst_case_regret + 1e-12)


def test_random_posted_price_sampling_matches_expected_profit():
    """Monte Carlo, 400,000 sampled prices; 4 standard errors."""
    rule = RandomPostedPrice.of([1.0], [0.2])
    p = rule.sample(np.random.default_rng(11), 400_000)[:, 0]
    assert p.min() >= rule.lowest_price[0] and p.max() <= 1.0
    for v in (0.3, 0.6, 0.95):
        profit = (p - 0.2) * (p <= v)
        exact = rule.expected_profit([[v]])[0]
        assert abs(profit.mean() - exact) <= 4 * profit.std() / math.sqrt(len(p)) + 1e-12


def test_best_deterministic_price_regret_and_the_e_over_2_ratio():
    det = DeterministicPrices.best([1.0, 2.0], [0.2, 0.5])
    assert det.prices == pytest.approx((0.6, 1.25))
    assert det.worst_case_regret_of([1.0, 2.0]) == pytest.approx(0.5 * (0.8 + 1.5))
    grid = np.column_stack([np.linspace(0, 1, 2001), np.linspace(0, 2, 2001)])
    below = grid - 1e-12
    assert max(det.regret(grid).max(), det.regret(np.clip(below, 0, None)).max()) == pytest.approx(
        det.worst_case_regret_of([1.0, 2.0]), abs=1e-9)
    rand = RandomPostedPrice.of([1.0, 2.0], [0.2, 0.5])
    assert det.worst_case_regret_of([1.0, 2.0]) / rand.worst_case_regret == pytest.approx(math.e / 2)


@pytest.mark.parametrize("bidders", [2, 3, 5])
def test_random_reserve_auction_regret_is_upper_over_e(bidders):
    auc = RandomReserveAuction(2.0)
    rng = np.random.default_rng(5)
    v = 2.0 * rng.random((20_000, bidders))
    assert auc.regret(v).max() <= 2.0 / math.e + 1e-12
    one_high = np.zeros((1, bidders))
    one_high[0, 0] = 2.0
    assert auc.regret(one_high)[0] == pytest.approx(2.0 / math.e)


def test_random_reserve_auction_is_the_average_of_reserve_auctions():
    """Proposition 3.3.1; Monte Carlo, 300,000 reserves; 4 standard errors."""
    auc = RandomReserveAuction(1.0)
    reserves = auc.sample_reserve(np.random.default_rng(9), 300_000)
    for v in ([0.9, 0.5], [0.9, 0.2], [0.3, 0.1]):
        paid = np.where(reserves <= v[0], np.maximum(v[1], reserves), 0.0)
        assert abs(paid.mean() - auc.revenue([v])[0]) <= 4 * paid.std() / math.sqrt(len(paid)) + 1e-12
        won = (reserves <= v[0]).mean()
        assert abs(won - auc.winner_probability([v])[0]) <= 4 * math.sqrt(0.25 / len(reserves))


@pytest.mark.parametrize("upper,cost", [([1.0], [-0.1]), ([0.0], None), ([1.0], [math.inf])])
def test_bad_items_are_refused(upper, cost):
    with pytest.raises(InputError):
        RandomPostedPrice.of(upper, cost)


def test_posted_prices_still_refuse_costs_at_the_upper_bound():
    with pytest.raises(InputError):
        DeterministicPrices.best([1.0], [1.0])


def test_costs_at_or_above_upper_bound_get_the_trivial_mechanism():
    """Remark 2.3.1: regret (1/e) Σ (v̄_j - c_j)^+, items with c_j >= v̄_j never sold."""
    upper, cost = [1.0, 2.0, 1.5], [0.2, 2.0, 3.0]
    rule = RandomPostedPrice.of(upper, cost)
    axes = [np.linspace(0.0, u, 41) for u in upper]
    grid = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, 3)
    brute = rule.regret(grid).max()
    assert brute == pytest.approx(0.8 / math.e, rel=1e-9)
    assert rule.worst_case_regret == pytest.approx(0.8 / math.e, rel=1e-12)
    prices = rule.sample(np.random.default_rng(3), 20_000)
    sold = rule.sold(np.tile(upper, (len(prices), 1)), prices)
    assert not sold[:, 1:].any() and sold[:, 0].all()
    profit = np.where(sold[:, 0], prices[:, 0] - 0.2, 0.0)
    assert abs(profit.mean() - rule.expected_profit([upper])[0]) <= 4 * profit.std() / math.sqrt(len(profit))
