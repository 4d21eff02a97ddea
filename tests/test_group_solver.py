"""Optimal voting weights and posted prices for a group (selling-to-a-group, Sections 3-5).

Quadrature (up to three members) is held to 1e-8 against independent
derivations (scipy's dblquad, closed forms); quasi-Monte Carlo instances are
checked against plain Monte Carlo within four standard errors (sample sizes
stated in each test).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate

from agora.experiments.reproduce.group_claims import pair_optimum
from agora.market.errors import InputError
from agora.market.group.expectations import GroupIntegrator
from agora.market.group.solver import (
    best_posted_price,
    evaluate_weights,
    parse_members,
    solve_group,
    trivial_case,
)

EXAMPLE_1 = ["uniform:0,2", "uniform:0,3"]
QUAD = 1e-8
EXAMPLE_1_PROFIT = pair_optimum(((0.0, 2.0), (0.0, 3.0)), 0.0)[1]
SIGMAS = 4.0


def test_example_1_weights_profit_and_threshold():
    sol = solve_group(EXAMPLE_1)
    w1 = math.sqrt(3 / 7)
    assert abs(sol.weights[0] - w1) <= 1e-4 and abs(sol.weights[0] - w1) <= QUAD
    assert abs(sol.profit - EXAMPLE_1_PROFIT) <= QUAD  # the solver-free evaluator of the group report
    # independent: E[(w1 phi1 + w2 phi2)+] by scipy dblquad over the types
    exact, _ = integrate.dblquad(lambda t2, t1: max(w1 * (2 * t1 - 2) + (1 - w1) * (2 * t2 - 3), 0.0) / 6,
                                 0, 2, 0, 3, epsabs=1e-11)
    assert abs(sol.profit - exact) <= QUAD
    assert sol.trivial is None and sol.optimality_gap <= 1e-12
    # trade iff w1 theta1 + w2 theta2 >= 1 + w2 / 2: on that line w . phi = 0
    w = np.array(sol.weights)
    t1 = np.linspace(0.6, 1.9, 5)
    t2 = (1 + w[1] / 2 - w[0] * t1) / w[1]
    assert np.allclose(w[0] * (2 * t1 - 2) + w[1] * (2 * t2 - 3), 0.0, atol=1e-12)


def test_example_1_posted_price():
    sol = solve_group(EXAMPLE_1)
    p = (5 - math.sqrt(7)) / 3
    assert abs(sol.posted_price - p) <= 1e-9
    assert abs(sol.posted_price_profit - p * (1 - p / 2) * (1 - p / 3)) <= 1e-12
    assert sol.profit > sol.posted_price_profit  # Proposition 3: posted prices are suboptimal


def _brute_moments(specs, cost, weights, draws, seed=1):
    """Plain Monte Carlo of g_i = E[phi_i 1{w . phi >= c}]: means and standard errors."""
    members = parse_members(specs)
    rng = np.random.default_rng(seed)
    phi = np.column_stack([d.virtual_value(d.rvs(draws, rng)) for d in members])
    trade = (phi @ np.asarray(weights) >= cost)
    terms = phi * trade[:, None]
    return terms.mean(axis=0), terms.std(axis=0, ddof=1) / math.sqrt(draws)


ASYMMETRIC = [
    (["uniform:0,1", "uniform:0.2,2.5"], 0.1),
    (["uniform:0,2", "exponential:1"], 0.0),
    (["uniform:0,2", "uniform:0.1,3", "uniform:0,1.2"], 0.2),
    (["uniform:0,2", "exponential:0.7", "uniform:0.3,1.8"], 0.05),
    (["uniform:0,2", "uniform:0,3", "uniform:0.2,1.5", "exponential:0.8", "uniform:0.1,4"], 0.1),
]
SLOW_LAWS = [(["uniform:0,2", "exponential:0.7", "beta:2,3,0,2"], 0.05),
             (["uniform:0,2", "uniform:0.5,3", "truncnorm:1,1,0,3"], 0.3)]


@pytest.mark.parametrize("specs,cost", ASYMMETRIC + [pytest.param(*p, marks=pytest.mark.slow) for p in SLOW_LAWS],
                         ids=lambda v: str(v))
def test_theorem_1_condition_holds_at_the_returned_weights(specs, cost):
    sol = solve_group(specs, cost)
    g = np.array(sol.virtual_moments)
    w = np.array(sol.weights)
    on = w > 1e-9
    assert sol.trivial is None
    assert g[on].max() - g.min() <= 1e-9  # equal on the support, no lower elsewhere
    assert abs(sol.dual_bound - (g.min() - cost * sol.trade_probability)) <= 1e-9
    # the integrator agrees with plain Monte Carlo (2e6 draws) within 4 standard errors
    mean, se = _brute_moments(specs, cost, w, 2_000_000)
    assert np.all(np.abs(mean - g) <= SIGMAS * se + 1e-6), (mean, g, se)


@pytest.mark.parametrize("specs,cost", ASYMMETRIC[2:4], ids=lambda v: str(v))
def test_returned_weights_minimize_the_convex_objective(specs, cost):
    sol = solve_group(specs, cost)
    integ = GroupIntegrator(parse_members(specs), cost)
    best = evaluate_weights(integ, sol.weights).excess
    rng = np.random.default_rng(0)
    for _ in range(20):
        other = rng.dirichlet(np.ones(len(specs)))
        mix = 0.97 * np.array(sol.weights) + 0.03 * other
        assert evaluate_weights(integ, mix).excess >= best - 1e-12
        assert evaluate_weights(integ, other).excess >= best - 1e-12


def test_qmc_and_quadrature_agree_for_three_members():
    specs, cost = ASYMMETRIC[2]
    quad = solve_group(specs, cost)
    qmc = solve_group(specs, cost, force_qmc=True)
    assert np.allclose(quad.weights, qmc.weights, atol=1e-4)
    assert abs(quad.profit - qmc.profit) <= SIGMAS * qmc.profit_stderr + 1e-7


def test_proposition_1_never_trade():
    kind, who = trivial_case(parse_members(["uniform:0,1", "uniform:0,3"]), 1.0)
    assert (kind, who) == ("never", 0)
    sol = solve_group(["uniform:0,1", "uniform:0,3"], 1.0)
    assert sol.trivial == "never" and sol.profit == 0.0 and sol.trade_probability == 0.0
    assert sol.posted_price_profit == 0.0
    assert solve_group(["uniform:0,1", "uniform:0,3"], 0.999).trivial is None


def test_proposition_1_always_trade():
    # phi_1(1) = 2 - 2 = 0 >= c = 0 for the member with the lowest low type
    sol = solve_group(["uniform:1,2", "uniform:1.5,3"], 0.0)
    assert sol.trivial == "always" and sol.weights == (1.0, 0.0)
    assert sol.profit == 1.0 and sol.trade_probability == 1.0
    # the member with the lowest low type has phi(lo) < c: not trivial
    assert solve_group(["uniform:1,2.5", "uniform:1.5,3"], 0.0).trivial is None


def test_corollary_2_dictatorship():
    # E[phi_2] = lo_2 = 0.6 >= E[phi_1 | phi_1 >= 0] = 0.5: member 1 dictates
    sol = solve_group(["uniform:0,1", "uniform:0.6,2"])
    assert sol.weights[0] == pytest.approx(1.0, abs=1e-9)
    assert sol.profit == pytest.approx(0.25, abs=1e-9)  # the monopoly profit against member 1 alone
    sol = solve_group(["uniform:0,1", "uniform:0.4,2"])  # lo_2 = 0.4 < 0.5: not a dictatorship
    assert 1e-3 < sol.weights[1] < 1 - 1e-3


def test_corollary_3_every_zero_low_type_gets_weight():
    sol = solve_group(["uniform:0,1", "uniform:0,5", "exponential:2"], 0.1)
    assert min(sol.weights) > 1e-3


@pytest.mark.parametrize("highs", [(1, 2), (1, 2, 4), (1.5, 2, 3, 6)])
def test_theorem_2_example_2_proportional_laws(highs):
    sol = solve_group([f"uniform:0,{h}" for h in highs])
    scaled = np.array(sol.weights) * np.array(highs)  # omega_i theta_high_i decreasing in theta_high_i
    assert np.all(np.diff(scaled) <= 1e-9)
    for i in range(len(highs) - 1):
        assert sol.weights[i] >= highs[i + 1] / highs[i] * sol.weights[i + 1] - 1e-9


def test_theorem_2_example_3_uniform_laws():
    # 2(lo_j - lo_i) > hi_j - hi_i > 0 for i = 1, j = 2: omega_1 > omega_2
    sol = solve_group(["uniform:0,2", "uniform:0.6,2.8"])
    assert sol.weights[0] > sol.weights[1]


def test_one_member_is_myerson():
    sol = solve_group(["uniform:0,1"], 0.2)
    assert sol.weights == (1.0,)
    assert sol.profit == pytest.approx(0.4 * 0.4, abs=1e-12)  # (p - c)(1 - p) at p = 0.6
    assert sol.posted_price == pytest.approx(0.6, abs=1e-9)
    assert sol.posted_price_profit == pytest.approx(sol.profit, abs=1e-12)


def test_posted_price_matches_a_fine_grid():
    members = parse_members(["uniform:0,2", "exponential:1", "beta:2,2,0,3"])
    price, profit = best_posted_price(members, 0.1)
    grid = np.linspace(0.1, 2, 200_001)
    vals = (grid - 0.1) * np.prod([d.prob_at_least(grid) for d in members], axis=0)
    assert profit >= vals.max() - 1e-12 and abs(price - grid[np.argmax(vals)]) <= 1e-4


@pytest.mark.parametrize("bad,cost,needle", [
    (["point:1"], 0.0, "atom"),
    (["pareto:0.5,1,10"], 0.0, "atom"),
    (["pareto:0,1,10"], 0.0, "atom"),
    (["uniform:0,1"], -1.0, "cost"),
    ([], 0.0, "at least one member"),
    (["normal:0,1"], 0.0, "unknown distribution"),
])
def test_bad_input_is_one_clear_error(bad, cost, needle):
    with pytest.raises(InputError, match=needle):
        solve_group(bad, cost)
