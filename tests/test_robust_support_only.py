"""Support-only knowledge (thesis Section 1.3) by LP over finite supports.

Theorem 1.3.1's value is checked against the Vickrey worst case computed by
brute force over the profiles; every LP mechanism is checked for ex-post IC/IR
by brute force over misreports (not by the LP's constraint matrix).
Propositions 1.3.2 and 1.3.3 are proved on the interval; on a finite support
the largest efficient revenue per scenario is the winner's critical value (the
least support point above v_(2), or v_(2) at a tied top), which the per-scenario
LP must reproduce, and mechanisms dominating Vickrey exist, their gains falling
as the support is refined. Corollary 1.3.1 takes on a finite support the form
of the critical-price mechanism: optimal, efficient, the most revenue among
efficient mechanisms in every scenario, dominated by no ex-post IC/IR mechanism,
and the only such mechanism up to its tie-breaking.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from agora.market.errors import InputError
from agora.market.robust.support_only import (
    critical_price_mechanism,
    dominance_lp,
    efficient_mechanism_spread,
    efficient_scenario_revenue,
    ex_post_violation,
    robust_design_lp,
    scenario_revenue_lp,
    second_price,
    support_problem,
)

SUPPORTS = [np.linspace(1.0, 2.0, 3), np.linspace(1.0, 2.0, 4), np.linspace(1.0, 2.0, 5),
            np.array([1.0, 1.1, 1.5, 2.0]), np.array([0.5, 0.6, 1.7, 2.0, 3.0]), np.array([0.0, 0.5, 1.0])]
IDS = ["uniform3", "uniform4", "uniform5", "uneven4", "uneven5", "from0"]
TOL = 1e-9


def _brute_vickrey_worst(support, bidders: int) -> float:
    """min over every profile of the second-highest value: Vickrey's worst-case revenue."""
    return min(sorted(p)[-2] for p in itertools.product(support, repeat=bidders))


def _revenue(mech) -> np.ndarray:
    return mech[2].sum(axis=0)


@pytest.mark.parametrize("support", SUPPORTS, ids=IDS)
def test_rmdp_value_is_vickrey_worst_case(support):
    """Theorem 1.3.1: the (RMDP) LP over all ex-post IC/IR mechanisms attains Vickrey's worst case."""
    lp = robust_design_lp(support)
    assert lp.value == pytest.approx(_brute_vickrey_worst(support, 2), abs=TOL)
    assert lp.value == pytest.approx(support.min(), abs=TOL)
    assert ex_post_violation(lp.profiles, lp.allocation, lp.payments) <= TOL
    assert lp.payments.sum(axis=0).min() == pytest.approx(lp.value, abs=TOL)


def test_rmdp_three_bidders():
    """Theorem 1.3.1 for I = 3 on an uneven support: brute force over its 27 profiles."""
    support = np.array([1.0, 1.3, 2.0])
    assert robust_design_lp(support, 3).value == pytest.approx(_brute_vickrey_worst(support, 3), abs=TOL)


@pytest.mark.parametrize("support", SUPPORTS[:5], ids=IDS[:5])
def test_reserve_above_lowest_value_loses_worst_case(support):
    """A reserve above v_1 leaves (v_1, v_1) unsold: worst case 0, strictly below (RMDP)'s v_1 > 0."""
    optimum = robust_design_lp(support).value
    for mech in (second_price(support), second_price(support, reserve=support[1])):
        assert ex_post_violation(*mech) <= TOL  # Corollary 1.2.1 and Definition 1.2.9: ex-post IC/IR
    assert _revenue(second_price(support)).min() == pytest.approx(optimum, abs=TOL)
    assert _revenue(second_price(support, reserve=support[1])).min() == 0.0
    assert optimum > 0.1


def test_brute_force_checker_catches_a_payment_above_value():
    """Charging the Vickrey winner 1e-3 more than v_(2) breaks IR at a tie or IC: the checker must see it."""
    values, q, m = second_price(SUPPORTS[0])
    assert ex_post_violation(values, q, m + 1e-3 * q) >= 1e-3 - TOL


@pytest.mark.parametrize("support", SUPPORTS, ids=IDS)
def test_efficient_scenario_maximum_is_critical_value(support):
    """Proposition 1.3.3 on a finite support: per scenario, the LP over efficient IC/IR mechanisms
    earns the least support point above v_(2) (v_(2) itself at a tied top), never below Vickrey's
    v_(2) and above it by at most the support's largest gap."""
    values = second_price(support)[0]
    mesh = np.diff(support).max()
    for v in values:
        best = scenario_revenue_lp(support, v)
        assert best == pytest.approx(efficient_scenario_revenue(support, v), abs=TOL)
        second = np.sort(v)[-2]
        assert second - TOL <= best <= second + mesh + TOL
        if v[0] == v[1]:
            assert best == pytest.approx(second, abs=TOL)


def test_efficient_scenario_maximum_three_bidders():
    """The same critical value for I = 3 (tie at the top, strict top with a tie below)."""
    support = np.array([1.0, 1.3, 2.0])
    for v, expected in (((2.0, 2.0, 1.0), 2.0), ((2.0, 1.3, 1.3), 2.0), ((1.3, 1.0, 1.0), 1.3),
                        ((1.0, 1.0, 1.0), 1.0)):
        assert scenario_revenue_lp(support, v) == pytest.approx(expected, abs=TOL)
        assert efficient_scenario_revenue(support, v) == expected


@pytest.mark.parametrize("support", SUPPORTS, ids=IDS)
def test_dominance_lp_is_positive_on_a_finite_support(support):
    """Definition 1.3.1 on a finite support: the critical-price mechanism (checked ex-post IC/IR by
    brute force) earns at least v_(2) everywhere and more somewhere, so Vickrey is not Pareto robustly
    optimal there; the dominance LP's total gain is at least that mechanism's, and its own mechanism is
    feasible, never below Vickrey and optimal in (RMDP)."""
    values, q, m = critical_price_mechanism(support)
    vickrey = np.sort(values, axis=1)[:, -2]
    assert ex_post_violation(values, q, m) <= TOL
    gain = m.sum(axis=0) - vickrey
    assert gain.min() >= -TOL and gain.sum() > 0.1
    dom = dominance_lp(support)
    lp = dom.mechanism
    assert dom.total_gain >= gain.sum() - TOL
    assert ex_post_violation(lp.profiles, lp.allocation, lp.payments) <= 1e-8
    assert dom.gains.min() >= -1e-8
    assert dom.total_gain == pytest.approx(dom.gains.sum(), abs=TOL)
    assert lp.payments.sum(axis=0).min() == pytest.approx(_brute_vickrey_worst(support, 2), abs=1e-8)


def test_dominating_gain_falls_on_nested_supports():
    """Proposition 1.3.2 in the limit: at (v_low, v̄) the most a mechanism dominating Vickrey earns above
    v_(2) = v_low falls strictly on nested uniform supports of [1, 2] (3, 5, 9 points), and is at least
    the critical-price gain h (the gap above v_low)."""
    gains = []
    for n in (3, 5, 9):
        support = np.linspace(1.0, 2.0, n)
        gains.append(scenario_revenue_lp(support, (1.0, 2.0), efficient=False) - 1.0)
        assert gains[-1] >= support[1] - 1.0 - TOL
    assert gains[0] > gains[1] > gains[2] > 0.0


@pytest.mark.parametrize("support, bidders", [([1.0], 2), ([1.0, 1.0, 2.0], 2), ([-1.0, 1.0], 2),
                                              ([0.0, np.inf], 2), ([1.0, 2.0], 1), ([1.0, 2.0], 2.5)])
def test_bad_support_or_bidders_refused(support, bidders):
    with pytest.raises(InputError) as err:
        support_problem(support, bidders)
    assert "support" in str(err.value)


def test_scenario_off_the_support_refused():
    with pytest.raises(InputError, match="one support value"):
        scenario_revenue_lp([1.0, 2.0], (1.0, 1.5))


def test_large_support_refused_before_work():
    with pytest.raises(InputError, match="largest grid that fits"):
        support_problem(np.linspace(1.0, 2.0, 80), 3)


def _offer_top_when_first_is_lowest(support):
    """Vickrey, except that at v_1 = v_low bidder 2 alone is offered the price v̄ (no sale below it).

    With v_low = 0 the same rule on the interval [0, v̄] is ex-post IC/IR: bidder 1 reporting 0
    gets nothing and pays nothing, and bidder 2 faces a posted price given v_1 = 0.
    """
    values, q, m = second_price(support)
    low = values[:, 0] == support.min()
    top = values[:, 1] == support.max()
    q[:, low], m[:, low] = 0.0, 0.0
    q[1, low & top], m[1, low & top] = 1.0, support.max()
    return values, q, m


@pytest.mark.parametrize("points", [3, 5, 9])
def test_lowest_value_zero_lets_a_mechanism_gain_vbar_over_vickrey(points):
    """With v_low = 0 a mechanism dominates Vickrey by v̄ at (0, v̄) however fine the support: the
    proof of Proposition 1.3.2 needs v_(2) > 0 (its delta (1.18) is 0 when v'_(2) = 0). The
    per-scenario LP finds the same v̄; with v_low = 1 > 0 the same rule loses to Vickrey at (1, 1)."""
    support = np.linspace(0.0, 1.0, points)
    values, q, m = _offer_top_when_first_is_lowest(support)
    assert ex_post_violation(values, q, m) <= TOL
    gain = m.sum(axis=0) - np.sort(values, axis=1)[:, -2]
    assert gain.min() >= -TOL and gain.max() == pytest.approx(1.0, abs=TOL)
    assert scenario_revenue_lp(support, (0.0, 1.0), efficient=False) == pytest.approx(1.0, abs=TOL)
    values, q, m = _offer_top_when_first_is_lowest(support + 1.0)
    assert (m.sum(axis=0) - np.sort(values, axis=1)[:, -2]).min() == pytest.approx(-1.0, abs=TOL)


POSITIVE = [(s, i) for s, i in zip(SUPPORTS, IDS) if s[0] > 0]


@pytest.mark.parametrize("support", [s for s, _ in POSITIVE], ids=[i for _, i in POSITIVE])
def test_corollary_1_3_1_on_a_finite_support(support):
    """The critical-price mechanism is optimal in (RMDP), efficient, Pareto robustly optimal (the dominance
    LP against its revenues gains nothing). With the ties broken
    the other way it is all that again with other revenues: on a finite support the corollary's mechanism
    is not unique, but every such revenue lies between v_(2) and the per-scenario efficient maximum."""
    values, q, m = critical_price_mechanism(support)
    second = np.sort(values, axis=1)[:, -2]
    most = np.array([scenario_revenue_lp(support, v) for v in values])  # Proposition 1.3.3's LP
    assert np.all(most - second <= np.diff(support).max() + TOL)
    swapped = {tuple(v[::-1]): r for v, r in zip(values, m.sum(axis=0))}  # ties to the highest index
    revenues = [m.sum(axis=0), np.array([swapped[tuple(v)] for v in values])]
    assert np.abs(revenues[0] - revenues[1]).max() > 0.05  # two revenue vectors
    top = values == values.max(axis=1, keepdims=True)
    assert np.all(q[~top.T] == 0.0) and np.all(q.sum(axis=0) == 1.0)  # efficient (Definition 1.2.5)
    for revenue in revenues:
        assert revenue.min() == pytest.approx(robust_design_lp(support).value, abs=TOL)  # optimal
        assert revenue.min() == pytest.approx(_brute_vickrey_worst(support, 2), abs=TOL)
        assert abs(dominance_lp(support, reference=revenue).total_gain) <= 1e-8  # Pareto robustly optimal
        assert np.all(second - TOL <= revenue) and np.all(revenue <= most + TOL)


@pytest.mark.parametrize("support", [np.linspace(1.0, 2.0, 3), np.array([1.0, 1.1, 1.5, 2.0])],
                         ids=["uniform3", "uneven4"])
def test_critical_prices_are_pinned_by_their_revenues_away_from_ties(support):
    """Range LPs (two per variable) over efficient ex-post IC/IR mechanisms with the critical prices'
    revenue in every scenario: one allocation and payment at every untied profile, a free split at ties."""
    values, _, m = critical_price_mechanism(support)
    q_spread, m_spread = efficient_mechanism_spread(support, m.sum(axis=0))
    ordered = np.sort(values, axis=1)
    tied = ordered[:, -1] == ordered[:, -2]
    assert np.abs(q_spread[:, ~tied]).max() <= 1e-8 and np.abs(m_spread[:, ~tied]).max() <= 1e-8
    assert q_spread[:, tied].max() == pytest.approx(1.0, abs=TOL)  # at a tie the good may go to either


def test_corollary_1_3_1_revenues_meet_vickrey_on_nested_supports():
    """Every efficient mechanism's revenue lies below the per-scenario maximum, whose excess over v_(2)
    is the spacing h = 1/(n - 1) on a uniform support of [1, 2]: the corollary's uniqueness in the limit."""
    for n in (3, 5, 9):
        support = np.linspace(1.0, 2.0, n)
        values = second_price(support)[0]
        excess = max(scenario_revenue_lp(support, v) - sorted(v)[-2] for v in values)
        assert excess == pytest.approx(1.0 / (n - 1), abs=TOL)


def test_corollary_1_3_1_three_bidders():
    support = np.linspace(1.0, 2.0, 3)
    values, q, m = critical_price_mechanism(support, 3)
    assert abs(dominance_lp(support, 3, reference=m.sum(axis=0)).total_gain) <= 1e-8
    assert m.sum(axis=0).min() == pytest.approx(robust_design_lp(support, 3).value, abs=TOL)


def test_corollary_1_3_1_needs_a_positive_lowest_value():
    """With v_low = 0 (Proposition 1.3.2's proof needs v_low > 0) even the critical prices are dominated."""
    for support in (np.array([0.0, 0.5, 1.0]), np.linspace(0.0, 1.0, 5)):
        values, _, m = critical_price_mechanism(support)
        dom = dominance_lp(support, reference=m.sum(axis=0))
        assert dom.total_gain > 0.5 and dom.gains.min() >= -1e-8
        assert ex_post_violation(dom.mechanism.profiles, dom.mechanism.allocation, dom.mechanism.payments) <= 1e-8


def test_reference_revenue_of_the_wrong_shape_refused():
    with pytest.raises(InputError, match="one finite value per profile"):
        dominance_lp([1.0, 2.0], reference=[1.0, 2.0])
    with pytest.raises(InputError, match="one finite value per profile"):
        efficient_mechanism_spread([1.0, 2.0], [1.0, 1.0, 1.0, np.nan])
