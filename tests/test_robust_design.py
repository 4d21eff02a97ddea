"""Mechanism-design LPs (1.11), (2.6), (3.1) on nested grids, against the thesis' optimal values.

Every grid LP bounds its continuum optimum from one side (module docstring of
agora.market.robust.design), so the values are monotone on nested grids; their
Richardson extrapolation is compared with the closed forms of Theorems 1.5.3,
2.3.1 and 3.3.1. The LPs' own mechanisms are checked against a second LP
(nature's worst case (1.7)) and by brute force over misreports.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from cli_run import run_cli
from scipy.optimize import brentq

from agora.market.errors import InputError
from agora.market.robust.design import (
    auction_design_lp,
    extrapolate,
    nested_points,
    price_cdf_distance,
    pricing_design_lp,
    revenue_design_lp,
)
from agora.market.robust.lp import (
    GridError,
    discretized_prices,
    price_rule_regret,
    worst_case_regret,
    worst_case_revenue,
)
from agora.market.robust.mechanisms import (
    HighestBidderLottery,
    MarkovSet,
    RandomPostedPrice,
    SecondPriceReserve,
    spa_worst_case_revenue,
)

AMBIGUITY = MarkovSet(2, 0.3)


def _lottery_ratio(bidders: int, mu: float) -> float:
    """Theorem 1.5.3's r = e^(I - 1 - 1/sigma*), sigma* the root of (1.30) in (0, 1/(I - 1)) by brentq
    (the library takes it from the Lambert W function instead)."""
    def equation(s):
        return math.log((1 + s) / (bidders * s)) + bidders - 1 - 1 / s - math.log(mu)
    sigma = brentq(equation, 1e-3, (1 - 1e-12) / (bidders - 1), xtol=1e-15, rtol=1e-15)
    return math.exp(bidders - 1 - 1 / sigma)


R = _lottery_ratio(2, 0.3)


@pytest.fixture(scope="module")
def lottery_values():
    return [revenue_design_lp(AMBIGUITY, n, lottery=True).value for n in nested_points(5, 5)]


def test_closed_form_r_for_the_test_case():
    assert R == pytest.approx(0.155359, abs=5e-7)  # the value the LPs below approach
    assert HighestBidderLottery.optimal(AMBIGUITY).threshold == pytest.approx(R, rel=1e-12)


def test_lottery_lp_decreases_toward_r_and_extrapolates_to_it(lottery_values):
    v = lottery_values  # grids of 5, 9, 17, 33, 65 points
    assert all(a > b for a, b in zip(v, v[1:]))
    assert all(x >= R for x in v)  # the optimal lottery restricted to the grid is feasible
    fitted, first = extrapolate(v), extrapolate(v, rate=1.0)
    assert abs(fitted.limit - R) < 1e-3 and abs(first.limit - R) < 1e-3
    assert 0.8 < fitted.rate < 1.1  # first order in the grid step


def test_unrestricted_lp_lies_between_r_and_r_2_minus_r(lottery_values):
    values = [revenue_design_lp(AMBIGUITY, n).value for n in nested_points(5, 3)]
    assert all(a > b for a, b in zip(values, values[1:]))
    # all mechanisms include the lotteries: at least the lottery LP on the same grid
    assert all(x >= lot - 1e-9 for x, lot in zip(values, lottery_values))
    assert R <= values[-1] <= R * (2 - R)  # Lemma 1.7.15 (the LP value bounds the optimum from above)
    assert R / values[-1] >= 0.5  # Theorem 1.5.4, certified by the LP's upper bound


@pytest.mark.parametrize("lottery", [True, False])
def test_lp_mechanism_is_ic_ir_and_its_worst_case_is_the_lp_value(lottery):
    d = revenue_design_lp(AMBIGUITY, 9, lottery=lottery)
    n, g = len(d.grid), d.grid
    q = d.allocation.reshape(2, n, n)   # q[i, k1, k2] at profile (g[k1], g[k2])
    m = d.payments.reshape(2, n, n)
    assert np.all(q.sum(axis=0) <= 1 + 1e-9) and np.all(q >= -1e-9)
    own = [g[:, None], g[None, :]]
    for i in range(2):
        util = q[i] * own[i] - m[i]
        assert util.min() >= -1e-9  # IR
        # IC: bidder i of value g[k] reporting g[w]: q(w) g[k] - m(w), over all k, w and the other's value
        qi, mi = np.moveaxis(q[i], i, 0), np.moveaxis(m[i], i, 0)  # [own report, other value]
        dev = qi[None, :, :] * g[:, None, None] - mi[None, :, :]  # [true k, report w, other]
        truth = np.moveaxis(util, i, 0)
        assert np.all(dev <= truth[:, None, :] + 1e-8)
    if lottery:
        assert np.all(q[1][np.tril_indices(n)] <= 1e-9)  # bidder 2 wins only when strictly highest
    revenue = d.payments.sum(axis=0)
    grid_revenue = dict(zip(map(tuple, d.profiles), revenue))
    # (1.7) adds the mean 0.3 to the grid: profiles off the design grid get a revenue nature never picks
    w = worst_case_revenue(lambda v: np.array([grid_revenue.get(tuple(x), 1e3) for x in v]), AMBIGUITY,
                           d.grid, symmetric=False)
    assert w.value == pytest.approx(d.value, abs=1e-7)  # strong duality of (1.11) with (1.7)


def test_chapter_2_lp_rises_toward_z_star():
    z_star = 0.8 / math.e  # Theorem 2.3.1, vbar = 1, c = 0.2
    values = [pricing_design_lp([1.0], [0.2], n).value for n in nested_points(5, 6)]
    assert all(a < b for a, b in zip(values, values[1:]))
    assert all(x <= z_star for x in values)  # Lemma 2.3.2
    ext = extrapolate(values, rate=1.0)
    assert abs(ext.limit - z_star) < 1e-4 and abs(ext.limit - z_star) <= ext.error


def test_chapter_2_random_price_on_the_grid_is_no_better_than_the_lp():
    """The discretized random price of Theorem 2.3.1 is one feasible grid mechanism: regret >= z_n*."""
    rule = RandomPostedPrice.of([1.0], [0.2])
    for n in (9, 33):
        d = pricing_design_lp([1.0], [0.2], n)
        prices, probs = discretized_prices(lambda p: rule.cdf(p[:, None])[:, 0], d.grid)
        fixed = worst_case_regret(price_rule_regret(prices, probs, 0.2), d.grid[:, None])
        assert d.value <= fixed.value + 1e-9
        assert fixed.value == pytest.approx(0.8 / math.e, abs=0.8 / (n - 1))  # the price's own rounding


class _ScaledCdf:
    """Mechanism (2.3) with its price CDF off by a factor (a 1% error of the closed form)."""

    def __init__(self, rule, factor):
        self.rule, self.factor = rule, factor

    def cdf(self, price):
        return np.clip(self.factor * self.rule.cdf(price), 0.0, 1.0)


def test_chapter_2_lp_mechanism_is_the_random_posted_price_of_2_3():
    rule = RandomPostedPrice.of([1.0], [0.2])
    designs = [pricing_design_lp([1.0], [0.2], n) for n in (33, 65, 129)]
    dist = [price_cdf_distance(d, rule) for d in designs]
    steps = designs[-1].points - 1
    assert dist[-1] <= 1.0 / steps  # within one grid step of (2.3)'s CDF
    assert all(1.8 <= a / b <= 2.2 for a, b in zip(dist, dist[1:]))  # first order in the step
    wrong = [_ScaledCdf(rule, 0.99), _ScaledCdf(rule, 1.01), RandomPostedPrice.of([1.008], [0.2])]
    assert all(price_cdf_distance(designs[-1], w) > 1.0 / steps for w in wrong)


def test_chapter_2_two_items_separate_on_the_grid():
    """Theorem 2.3.1 for J = 2: the LP over all joint mechanisms (bundles included) equals the item sums."""
    for n in (5, 9):
        joint = pricing_design_lp([1.0, 2.0], [0.2, 0.5], n).value
        alone = pricing_design_lp([1.0], [0.2], n).value + pricing_design_lp([2.0], [0.5], n).value
        assert joint == pytest.approx(alone, abs=1e-8)


@pytest.mark.parametrize("upper,cost", [([1.0, 1.0], [0.2, 1.5]), ([1.0, 2.0], [0.2, 2.0])])
def test_chapter_2_item_at_or_above_its_upper_bound_adds_nothing(upper, cost):
    """Remark 2.3.1: with c_2 >= v̄_2 the LP over all mechanisms (item 2's allocation free) is the one-item LP."""
    values = []
    for n in nested_points(5, 3):
        d = pricing_design_lp(upper, cost, n)
        alone = pricing_design_lp([1.0], [0.2], n)  # a smaller LP: the market without item 2
        assert d.value == pytest.approx(alone.value, abs=1e-9)
        assert d.profiles.shape == (n * n, 2) and d.profiles[:, 1].max() == upper[1]
        values.append(d.value)
    z_star = 0.8 / math.e  # (1/e) Σ (v̄_j - c_j)^+, Remark 2.3.1
    assert all(a < b <= z_star for a, b in zip(values, values[1:]))  # Lemma 2.3.2, nested grids
    ext = extrapolate(values, rate=1.0)
    assert abs(ext.limit - z_star) <= ext.error


def test_chapter_2_three_items_one_off_sale_is_the_two_item_market():
    three = pricing_design_lp([1.0, 2.0, 1.5], [0.2, 0.5, 3.0], 5).value
    two = pricing_design_lp([1.0, 2.0], [0.2, 0.5], 5).value
    alone = pricing_design_lp([1.0], [0.2], 5).value + pricing_design_lp([2.0], [0.5], 5).value
    assert three == pytest.approx(two, abs=1e-9) and three == pytest.approx(alone, abs=1e-9)
    assert three <= 2.3 / math.e  # z_n* <= z* = (1/e)(0.8 + 1.5) (Lemma 2.3.2)


def test_chapter_3_value_is_independent_of_the_bidders_and_rises_to_vbar_over_e():
    for n in (5, 9):
        one = pricing_design_lp([2.0], [0.0], n).value  # one bidder: (2.6) with no cost, another LP
        for bidders in (1, 2, 3):
            assert auction_design_lp(bidders, 2.0, n).value == pytest.approx(one, abs=1e-8)  # Cor. 3.3.1
    values = [auction_design_lp(2, 2.0, n).value for n in nested_points(5, 3)]
    assert all(a < b <= 2 / math.e for a, b in zip(values, values[1:]))


def test_extrapolation_recovers_known_limits():
    h = 0.5 ** np.arange(5)
    assert extrapolate(0.3 + 0.7 * h, rate=1.0).limit == pytest.approx(0.3, abs=1e-14)
    fit = extrapolate(0.3 - 0.2 * h ** 1.5)
    assert fit.limit == pytest.approx(0.3, abs=1e-13) and fit.rate == pytest.approx(1.5, abs=1e-10)
    with pytest.raises(GridError, match="at least 4"):
        extrapolate([1.0, 0.5, 0.25])
    with pytest.raises(GridError, match="monotone"):
        extrapolate([1.0, 0.5, 0.7, 0.6])


@pytest.mark.parametrize("call,match", [
    (lambda: revenue_design_lp(AMBIGUITY, 1), "points >= 2, got 1"),
    (lambda: revenue_design_lp(AMBIGUITY, 200), "largest grid that fits has 70 points"),
    (lambda: pricing_design_lp([1.0], [-0.1], 9), "costs must satisfy finite c >= 0"),
    (lambda: pricing_design_lp([1.0, 1.0], [0.2, math.inf], 9), "costs must satisfy finite c >= 0"),
    (lambda: auction_design_lp(3, 1.0, 40), "largest grid that fits"),
])
def test_bad_design_inputs_are_refused(call, match):
    with pytest.raises(InputError, match=match):
        call()


def test_cli_design_grid(capsys):
    code, out, err = run_cli(capsys, "solve", "robust", "--bidders", "2", "--mean", "0.3", "--design-grid", "9",
                             "--json")
    assert code == 0 and err == ""
    d = json.loads(out)["design_lp"]
    assert d["grid"] == 9 and "Optimal" in d["status"]
    assert R <= d["lottery_value"] <= d["value"] <= R * (2 - R)
    assert d["lottery_share"] == pytest.approx(json.loads(out)["hbl_revenue"] / d["value"], rel=1e-12)
    vickrey = spa_worst_case_revenue(0.0, AMBIGUITY)  # Theorem 1.5.1: the efficient optimum
    assert vickrey - 1e-9 <= d["efficient_value"] <= d["value"] and "Optimal" in d["efficient_status"]
    assert d["efficient_value"] == pytest.approx(revenue_design_lp(AMBIGUITY, 9, efficient=True).value, abs=1e-12)
    code, out, err = run_cli(capsys, "solve", "robust", "--bidders", "3", "--mean", "0.3", "--design-grid", "40")
    assert code == 2 and out == "" and err.count("\n") == 1 and "largest grid that fits" in err


def test_regret_lp_of_a_fixed_mechanism_is_not_below_the_design_lp():
    """Chapter 2's old 'LP' (one fixed mechanism's worst regret) is an upper bound on (2.6)."""
    grid = np.linspace(0.2, 1.0, 9)
    w = worst_case_regret(lambda v: np.clip(v[:, 0] - 0.2, 0, None) - np.where(v[:, 0] >= 0.6, 0.4, 0.0),
                          grid[:, None])
    assert w.value >= pricing_design_lp([1.0], [0.2], 9).value


@pytest.mark.parametrize("bidders,mu,coarsest,grids", [(2, 0.625, 5, 4), (3, 0.5, 3, 3)])
def test_theorem_1_5_1_efficient_lp_falls_to_vickrey(bidders, mu, coarsest, grids):
    """(1.11) over efficient mechanisms bounds their optimum from above and falls, first order in the
    step, to the Vickrey mechanism's worst case (Theorem 1.5.1), here from the worst-case LP (1.7)."""
    a = MarkovSet(bidders, mu)
    vickrey = worst_case_revenue(SecondPriceReserve(0.0), a, 201 if bidders == 2 else 61).value
    assert vickrey == pytest.approx(spa_worst_case_revenue(0.0, a), abs=1e-9)  # Propositions 1.5.5-1.5.7
    designs = [revenue_design_lp(a, n, efficient=True) for n in nested_points(coarsest, grids)]
    values = [d.value for d in designs]
    assert all(x > y >= vickrey - 1e-9 for x, y in zip(values, values[1:]))
    assert extrapolate(values, rate=1.0).limit == pytest.approx(vickrey, abs=1e-6)
    d = designs[-1]
    top = d.profiles == d.profiles.max(axis=1, keepdims=True)
    assert np.all(d.allocation[~top.T] <= 1e-12) and np.allclose(d.allocation.sum(axis=0), 1.0)
    # efficiency costs revenue: the (inefficient) optimal lottery earns more than any efficient mechanism
    assert HighestBidderLottery.optimal(a).threshold > values[-1] + 0.05


def test_design_lp_is_lottery_or_efficient_not_both():
    with pytest.raises(GridError, match="not both"):
        revenue_design_lp(AMBIGUITY, 5, lottery=True, efficient=True)
