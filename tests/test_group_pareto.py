"""Pareto-optimal mechanisms (selling-to-a-group, Theorem 3): scrambled Sobol, 4 x 2^14 points."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from agora.market.distributions import parse_spec
from agora.market.errors import InputError
from agora.market.group.pareto import ParetoSolver, tail_integral
from agora.market.group.solver import solve_group

EXAMPLE_1 = ["uniform:0,2", "uniform:0,3"]


@pytest.fixture(scope="module")
def solver():
    return ParetoSolver(EXAMPLE_1)


def test_gamma_zero_is_the_seller_optimum(solver):
    point = solver.point(0.0, [0.5, 0.5])
    sol = solve_group(EXAMPLE_1)
    assert point.seller == pytest.approx(sol.profit, abs=1e-6)
    assert np.allclose(point.weights, sol.weights, atol=1e-5)


def test_gamma_one_trades_iff_lambda_weighted_values_exceed_cost(solver):
    point = solver.point(1.0, [0.5, 0.5])  # c = 0: always trade at the lowest type, price 0
    assert point.trade_probability == pytest.approx(1.0) and point.seller == pytest.approx(0.0, abs=1e-8)
    assert point.members == pytest.approx((1.0, 1.5), abs=1e-6)  # E[theta_i]


def test_each_point_maximizes_its_own_pareto_weights(solver):
    """Supporting hyperplane (Theorem 3): (gamma lambda, 1) . v is largest at its own point."""
    params = [(g, (t, 1 - t)) for g, t in itertools.product((0.0, 0.3, 0.6, 0.9), (0.0, 0.5, 1.0))]
    points = [solver.point(g, lam) for g, lam in params]
    for (g, lam), own in zip(params, points):
        weights = np.array([g * lam[0], g * lam[1], 1.0])

        def score(p):
            return weights @ np.array([*p.members, p.seller])

        assert all(score(own) >= score(other) - 1e-6 for other in points)
        assert own.condition_gap <= 1e-6  # Lemma 5


def test_tail_integral_closed_forms_match_the_table():
    d = parse_spec("beta:2,2,0,3")
    t = np.linspace(0, 3, 7)
    by_quad = [np.trapezoid(d.sf(np.linspace(a, 3, 20001)), np.linspace(a, 3, 20001)) for a in t]
    assert np.allclose(tail_integral(d, t), by_quad, atol=1e-6)
    u = parse_spec("uniform:1,3")
    assert tail_integral(u, np.array([1.0]))[0] == pytest.approx(1.0)


def test_bad_pareto_weights(solver):
    with pytest.raises(InputError, match="gamma"):
        solver.point(1.5, [0.5, 0.5])
    with pytest.raises(InputError, match="lambda"):
        solver.point(0.5, [0.5, 0.6])
