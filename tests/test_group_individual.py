"""Section 6.4: agent-specific transfers. The optimal profit E[(sum_i phi_i - c)+] against exact
arithmetic, scipy's dblquad and plain Monte Carlo; the pooled optimum beside it; the reversal of
influence for proportional laws; the CLI's --transfers."""

from __future__ import annotations

import json
import math
from fractions import Fraction

import numpy as np
import pytest
from cli_run import run_cli
from scipy import integrate

from agora.experiments.reproduce.group_claims import pair_optimum
from agora.market.group.individual import solve_individual
from agora.market.group.solver import parse_members, solve_group

SIGMAS = 4.0
#: Example 1's optimal pooled profit by the group report's solver-free evaluator (quadrature and Brent)
EXAMPLE_1_POOLED = pair_optimum(((0.0, 2.0), (0.0, 3.0)), 0.0)[1]


def uniform_sum_positive_part(a: int, b: int) -> Fraction:
    """E[(A + B)+] for A ~ U[-a, a], B ~ U[-b, b], a <= b (phi of U[0, a] and U[0, b]), exactly.

    The density of A + B is 1/(2b) on |s| <= b - a and (a + b - |s|)/(4ab) out to a + b.
    """
    a, b = Fraction(a), Fraction(b)
    flat = (b - a) ** 2 / 2 / (2 * b)

    def ramp(s):  # antiderivative of s (a + b - s) / (4ab)
        return ((a + b) * s ** 2 / 2 - s ** 3 / 3) / (4 * a * b)

    return flat + ramp(a + b) - ramp(b - a)


def test_example_1_revenue_is_31_36_against_the_pooled_optimum():
    exact = uniform_sum_positive_part(2, 3)
    assert exact == Fraction(31, 36)
    sol = solve_individual(["uniform:0,2", "uniform:0,3"])
    assert sol.profit == pytest.approx(float(exact), abs=1e-9)
    assert sol.pooled_profit == pytest.approx(EXAMPLE_1_POOLED, abs=1e-9)
    assert sol.pooled_profit == pytest.approx(solve_group(["uniform:0,2", "uniform:0,3"]).profit, abs=1e-12)
    # each member pays E[phi_i 1{phi_1 + phi_2 >= 0}], trade iff t2 >= 5/2 - t1; they add up to the profit
    phi = [lambda t: 2 * t - 2, lambda t: 2 * t - 3]
    for i in range(2):
        pay, _ = integrate.dblquad(lambda t2, t1: phi[i]((t1, t2)[i]) / 6,
                                   0, 2, lambda t1: max(0.0, 2.5 - t1), 3, epsabs=1e-11)
        assert sol.payments[i] == pytest.approx(pay, abs=1e-8)
    assert sum(sol.payments) == pytest.approx(float(exact), abs=1e-9)


def test_a_uniform_and_an_exponential_member_against_dblquad():
    cost = 0.3
    sol = solve_individual(["uniform:0,1", "exponential:1"], cost)

    def excess(t2, t1):  # phi_1 = 2 t1 - 1, phi_2 = t2 - 1; densities 1 and exp(-t2)
        return max(2 * t1 - 1 + t2 - 1 - cost, 0.0) * math.exp(-t2)

    ref, err = integrate.dblquad(excess, 0, 1, lambda t1: max(0.0, 2.3 - 2 * t1), 60, epsabs=1e-11)
    assert sol.profit == pytest.approx(ref, abs=1e-8)
    assert sol.profit > sol.pooled_profit  # the pooled rule is one the seller could also run


def test_three_mixed_members_against_monte_carlo():
    specs, cost = ["beta:2,3,0,2", "uniform:0.2,1.5", "exponential:0.8"], 0.1
    sol = solve_individual(specs, cost)
    rng = np.random.default_rng(7)
    draws = 400_000
    members = parse_members(specs)
    phi = sum(d.virtual_value(d.rvs(draws, rng)) for d in members)
    samples = np.maximum(phi - cost, 0.0)
    se = samples.std(ddof=1) / math.sqrt(draws)
    assert abs(sol.profit - samples.mean()) <= SIGMAS * se
    assert abs(sol.trade_probability - np.mean(phi >= cost)) <= SIGMAS * 0.5 / math.sqrt(draws)


def test_influence_reverses_for_proportional_laws():
    """theta_i ~ U[0, hi_i]: individual influence hi_i / sum hi (rises); pooled omega_i hi_i falls (Theorem 2)."""
    highs = (1, 2, 4)
    sol = solve_individual([f"uniform:0,{h}" for h in highs], 0.2)
    assert np.allclose(sol.influence, np.array(highs) / sum(highs), atol=1e-12)
    pooled = np.array(sol.pooled_weights) * highs
    assert np.allclose(sol.pooled_influence, pooled / pooled.sum(), atol=1e-12)
    assert np.all(np.diff(sol.influence) > 0) and np.all(np.diff(sol.pooled_influence) < 0)
    assert sol.influence_reversed


def test_example_1_influence():
    sol = solve_individual(["uniform:0,2", "uniform:0,3"])
    w1 = math.sqrt(3 / 7)
    pooled = np.array([2 * w1, 3 * (1 - w1)])
    assert sol.influence == pytest.approx((0.4, 0.6), abs=1e-12)
    assert np.allclose(sol.pooled_influence, pooled / pooled.sum(), atol=1e-8)
    assert sol.influence_reversed


def test_no_reversal_for_identical_members():
    sol = solve_individual(["uniform:0,1"] * 3)
    assert not sol.influence_reversed and np.allclose(sol.influence, 1 / 3)


def test_cli_individual_transfers(capsys):
    code, out, err = run_cli(capsys, "solve", "group", "--member", "uniform:0,2", "--member", "uniform:0,3",
                             "--transfers", "individual", "--json")
    assert code == 0 and err == ""
    d = json.loads(out)
    assert d["transfers"] == "individual" and d["influence_reversed"] is True
    assert d["profit"] == pytest.approx(31 / 36, abs=1e-9)
    assert d["pooled_profit"] == pytest.approx(EXAMPLE_1_POOLED, abs=1e-9)
    code, out, _ = run_cli(capsys, "solve", "group", "--member", "uniform:0,2", "--member", "uniform:0,3",
                           "--transfers", "individual")
    assert code == 0 and "influence (pooled)" in out and "0.861111" in out


def test_cli_bad_transfers(capsys):
    code, out, err = run_cli(capsys, "solve", "group", "--member", "uniform:0,2", "--transfers", "each")
    assert code == 2 and out == "" and "--transfers" in err and "individual" in err and err.count("\n") == 1
