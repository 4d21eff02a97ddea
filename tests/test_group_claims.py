"""Corollary 1, Propositions 2 and 3, Lemmas 3 and 4 of selling-to-a-group against independent computations.

The optimal profit and the best unanimous price of two uniform members come from
agora.experiments.reproduce.group_claims (quadrature and closed forms, no group solver); that
evaluator is itself checked against Example 1's printed weight sqrt(3/7) and against plain Monte
Carlo. The DIC transfers of Lemmas 3-4 are checked against shortest paths (networkx Bellman-Ford)
on the difference constraints written out here.
"""

from __future__ import annotations

import dataclasses
import itertools
import math

import networkx as nx
import numpy as np
import pytest

from agora.experiments.reproduce import group_claims as gc
from agora.market.group.dsic_lp import dsic_lp, dsic_transfer_range
from agora.market.group.mechanisms import PostedPriceRule
from agora.market.group.solver import parse_members, solve_group


def test_the_independent_evaluator_gives_example_1():
    """Example 1: omega_1 = sqrt(3/7) and the profit (printed: approximately 0.39) in closed form; unanimous price
    (5 - sqrt 7)/3.

    phi_1 ~ U[-2, 2] and phi_2 ~ U[-3, 3], so X = w phi_1 and Y = (1 - w) phi_2 are centered uniforms of half-widths
    a = 2w >= b = 3(1 - w) (at w near sqrt(3/7)); E|X + Y| = a/2 + b^2/(6a) (the trapezoidal density of X + Y), and
    E[(X + Y)+] = E|X + Y| / 2 = w/2 + 3(1 - w)^2/(8w), least at w^2 = 3/7, where it is 3/4 (sqrt(7/3) - 1)."""
    w1, value = gc.pair_optimum(((0.0, 2.0), (0.0, 3.0)), 0.0)
    assert w1 == pytest.approx(math.sqrt(3 / 7), abs=1e-7)
    assert value == pytest.approx(0.75 * (math.sqrt(7 / 3) - 1), abs=1e-11)  # quad at rtol 1e-12, xatol 1e-11
    p, profit = gc.posted_optimum(((0.0, 2.0), (0.0, 3.0)), 0.0)
    exact = (5 - math.sqrt(7)) / 3
    assert p == pytest.approx(exact, abs=5e-8)  # Brent at a smooth maximum: x to about sqrt(eps) p
    assert profit == pytest.approx(exact * (1 - exact / 2) * (1 - exact / 3), abs=1e-13)


def test_the_independent_objective_matches_monte_carlo():
    """E[(w phi_1 + (1 - w) phi_2 - c)+] by quadrature against 10^6 draws, within 4 standard errors."""
    rng = np.random.default_rng(5)
    laws, w, cost = ((0.5, 1.5), (0.6, 3.0)), 0.7, 0.3
    phi = [2 * rng.uniform(lo, hi, 1_000_000) - hi for lo, hi in laws]
    draws = np.maximum(w * phi[0] + (1 - w) * phi[1] - cost, 0.0)
    se = draws.std(ddof=1) / math.sqrt(draws.size)
    assert abs(gc.pair_excess(w, laws, cost) - draws.mean()) <= 4 * se


@pytest.mark.parametrize("laws,cost", gc.COROLLARY_1)
def test_corollary_1_the_weakest_member_decides_the_trivial_rules(laws, cost):
    """Never iff hi_1 <= c, always iff phi_1(lo_1) >= c, for member 1 FOSD-lowest (F_1 >= F_2)."""
    assert gc.first_order_dominated(laws)
    expected = gc.corollary_1_verdict(laws, cost)
    found, value = gc.brute_force_verdict(laws, cost)
    sol = solve_group(gc.specs(laws), cost)
    assert found == expected and sol.trivial == expected
    assert sol.profit == pytest.approx(value, abs=1e-7)
    if expected is None:  # not trivial: the optimum is away from both trivial values
        assert value > 1e-4 and abs(value - (min(lo for lo, _ in laws) - cost)) > 1e-4


def test_corollary_1_member_2_alone_would_allow_always_trade():
    """U[1,2.2] (phi_1(1) = -0.2) and U[1.5,2.5] (phi_2(1.5) = 0.5 >= 0): the weak member forbids always-trade."""
    laws = ((1.0, 2.2), (1.5, 2.5))
    _, value = gc.pair_optimum(laws, 0.0)
    assert value > 1.0 + 1e-3  # above min lo - c = 1, what always-trade earns
    assert gc.pair_excess(0.0, laws, 0.0) == pytest.approx(1.5)  # member 2's dictatorship: E[phi_2] = lo_2


@pytest.mark.parametrize("lo2", gc.PROPOSITION_3_LOWS)
def test_proposition_3_posted_prices_are_optimal_only_for_dictatorships(lo2):
    """U[0,1], U[lo_2,2], c = 0: optimum = best posted price iff lo_2 >= 1/2 (Corollary 2's dictatorship)."""
    laws = ((0.0, 1.0), (lo2, 2.0))
    w1, optimum = gc.pair_optimum(laws, 0.0)
    _, posted = gc.posted_optimum(laws, 0.0)
    sol = solve_group(gc.specs(laws))
    assert sol.profit == pytest.approx(optimum, abs=1e-8)
    assert sol.posted_price_profit == pytest.approx(posted, abs=1e-10)
    if lo2 >= 0.5:
        assert optimum == pytest.approx(posted, abs=1e-9) == pytest.approx(0.25, abs=1e-9)
        assert w1 == pytest.approx(1.0, abs=1e-6)
    else:
        assert optimum - posted > gc.GAP_FLOOR and w1 < 1 - 1e-4


def test_proposition_3_the_interim_rule_of_a_shared_member_is_no_step():
    """Proof of Proposition 3: with 0 < omega_i < 1, X_i is continuous and not constant, so no price gives it.

    Example 1's X_1 on 2001 types rises from 0 to above 0.9 with no jump above 0.005, while a unanimous
    price's X_1 jumps by P[theta_2 >= p] at p."""
    from agora.market.group.solver import optimal_mechanism

    sol = solve_group(["uniform:0,2", "uniform:0,3"])
    x, _ = optimal_mechanism(sol).interim(0, np.linspace(0, 2, 2001))
    assert 0 < sol.weights[0] < 1
    assert x[0] < 1e-3 and x[-1] > 0.9 and np.max(np.diff(x)) < 5e-3
    rule = PostedPriceRule(parse_members(["uniform:0,2", "uniform:0,3"]), 0.0, sol.posted_price)
    step, _ = rule.interim(0, [sol.posted_price - 1e-9, sol.posted_price])
    assert np.diff(step)[0] == pytest.approx(1 - sol.posted_price / 3, abs=1e-12)


@pytest.mark.parametrize("laws,cost", gc.PROPOSITION_2)
def test_proposition_2_no_ir_posted_price_beats_the_unanimous_one(laws, cost):
    rules, fair, best, exact, solver = gc.proposition_2_rows(laws, cost)
    assert fair > len(laws) and rules > fair  # IR rules besides unanimity, and rules that are not IR
    assert best <= exact + 1e-12 and solver == pytest.approx(exact, abs=1e-9)
    assert best >= exact - 1e-3  # the price grid's step is 1/40 of the range: its best is near the optimum


def test_proposition_2_a_quota_below_unanimity_breaks_ir():
    """One yes vote at p = 1 in Example 1: member 1 with type 0 pays p whenever member 2 accepts."""
    rule = PostedPriceRule(parse_members(["uniform:0,2", "uniform:0,3"]), 0.0, 1.0, quota=1)
    assert not gc.individually_rational(rule)
    assert rule.interim_utility(0, [0.0])[0] == pytest.approx(-(1 - 1 / 3), abs=1e-12)  # -p P[theta_2 >= 1]
    assert gc.individually_rational(PostedPriceRule(rule.members, 0.0, 1.0))


def _shortest_paths(grids, x):
    """Distances on the graph of DIC's difference constraints m(theta) - m(dev) <= theta_i (x(theta) - x(dev))."""
    g = nx.DiGraph()
    shape = x.shape
    for theta in itertools.product(*(range(k) for k in shape)):
        for i, types in enumerate(grids):
            for rep in range(shape[i]):
                dev = theta[:i] + (rep,) + theta[i + 1:]
                if dev != theta:
                    g.add_edge(dev, theta, weight=float(types[theta[i]] * (x[theta] - x[dev])))
    return g


@pytest.mark.parametrize("label,price,coalitions", gc.LEMMA_4)
def test_lemmas_3_and_4_every_dic_transfer_is_a_price_minus_a_subsidy(label, price, coalitions):
    grids = gc.lemma_grid(5)
    x = gc.coalition_allocation(grids, price, coalitions)
    rng = dsic_transfer_range(grids, x)
    g = _shortest_paths(grids, x)
    low = tuple(0 for _ in grids)  # the lowest profile: no trade
    high = tuple(len(t) - 1 for t in grids)  # the highest: trade
    ahead = nx.single_source_bellman_ford_path_length(g, low)  # max m(theta) - m(low)
    back = nx.single_source_bellman_ford_path_length(g.reverse(), low)  # max m(low) - m(theta)
    for theta in itertools.product(*(range(len(t)) for t in grids)):
        if x[theta] == 0:
            assert ahead[theta] == pytest.approx(0.0, abs=1e-12) and back[theta] == pytest.approx(0.0, abs=1e-12)
    assert rng.spread <= 1e-9
    assert rng.price_high == pytest.approx(ahead[high], abs=1e-9)
    assert rng.price_low == pytest.approx(-back[high], abs=1e-9)
    pivotal = sorted({j for c in coalitions for j in c})
    assert (rng.price_low, rng.price_high) == pytest.approx(
        gc.grid_price_interval([grids[j] for j in pivotal], [price] * len(pivotal)), abs=1e-9)


def test_lemma_4_a_rule_with_two_thresholds_has_no_dic_transfer():
    grids = gc.lemma_grid(6)
    assert not dsic_lp(grids, gc.threshold_allocation(grids, (0.3, 0.7, 0.0))).feasible
    assert dsic_lp(grids, gc.threshold_allocation(grids, (0.45, 0.5, 0.55))).feasible  # one grid cell apart
    with pytest.raises(Exception, match="no DIC transfer"):
        dsic_transfer_range(grids, gc.threshold_allocation(grids, (0.3, 0.7, 0.0)))


def test_report_rows_hold():
    section = gc.audit_section()
    assert len(section.checks) == 8 + 3 + 2 + 7 + 6 and all(c.holds for c in section.checks)


def test_example_1_closed_form_interim_transfers():
    """At w1 = sqrt(3/7) (Example 1's printed weight): M_i(0) = 0 and E[M_1] = E[M_2] = the optimal
    profit (Lemma 2: every member's expected transfer is the revenue), by quadrature of the closed form."""
    from scipy import integrate

    w1 = math.sqrt(3 / 7)
    m1, m2, kinks = gc.example_1_interim(w1)
    assert m1(0.0) == 0.0 and m2(0.0) == 0.0 and kinks[1] == []
    means = [integrate.quad(lambda t: m(t) / hi, 0, hi, points=k or None, epsabs=1e-12)[0]
             for m, hi, k in ((m1, 2.0, kinks[0]), (m2, 3.0, kinks[1]))]
    profit = gc.pair_excess(w1, gc.EXAMPLE_1, 0.0)
    assert means == pytest.approx([profit, profit], abs=1e-9)


def test_lemma_1_rows_fail_under_a_1pc_error_of_the_transfer(monkeypatch):
    from agora.market.group.mechanisms import VotingMechanism

    original = VotingMechanism.transfer
    monkeypatch.setattr(VotingMechanism, "transfer", lambda self, theta: 1.01 * original(self, theta))
    rows = gc.lemma_1_checks()
    assert [c.holds for c in rows] == [False, True, False]  # the sign row is a bound a scaling keeps


def test_report_rows_fail_under_a_1pc_error_of_the_solver(monkeypatch):
    original = gc.solve_group

    def off(*args, **kwargs):
        sol = original(*args, **kwargs)
        return dataclasses.replace(sol, profit=1.01 * sol.profit)

    monkeypatch.setattr(gc, "solve_group", off)
    assert not any(c.holds for c in gc.proposition_3_checks())
    monkeypatch.setattr(gc, "best_posted_price", lambda m, c: (0.0, 1.01 * original(
        [d.spec for d in m], c).posted_price_profit))
    assert not any(c.holds for c in gc.proposition_2_checks())
