"""Order statistics E[v(j, n)] and the law of the max (intermediary-proof price p_R = E[v(1, n/k)]).

References are closed forms or direct quadrature of the tail, P[max > x] = 1 - F(x)^n,
independent of the Beta-weighted quantile integral the code uses. Tolerance 1e-9.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate

from agora.market.distributions import parse_spec
from agora.market.errors import InputError
from agora.market.order_stats import expected_max, expected_order_statistic, max_law


@pytest.mark.parametrize("n", [1, 2, 3, 5, 8])
def test_uniform_order_statistics(n):
    """U[0,1]: E[v(j,n)] = (n - j + 1)/(n + 1)."""
    for j in range(1, n + 1):
        assert expected_order_statistic("uniform:0,1", j, n) == pytest.approx((n - j + 1) / (n + 1), abs=1e-9)


def test_uniform_order_statistics_scaled():
    """U[LO,HI]: E[v(j,n)] = LO + (HI - LO)(n - j + 1)/(n + 1)."""
    for n, j in [(4, 1), (4, 3), (6, 6)]:
        expected = 2.0 + 3.0 * (n - j + 1) / (n + 1)
        assert expected_order_statistic("uniform:2,5", j, n) == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize("m", [1.0, 2.5])
@pytest.mark.parametrize("n", [1, 2, 4, 7])
def test_exponential_order_statistics(m, n):
    """Exponential mean m (Renyi): E[v(j,n)] = m * sum_{k=j}^{n} 1/k."""
    for j in range(1, n + 1):
        expected = m * sum(1.0 / k for k in range(j, n + 1))
        assert expected_order_statistic(f"exponential:{m}", j, n) == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize("j,n", [(1, 1), (1, 5), (3, 5), (5, 5)])
def test_point_mass(j, n):
    """point:V: every order statistic is V."""
    assert expected_order_statistic("point:1.75", j, n) == 1.75


@pytest.mark.parametrize("alpha,n", [(0.3, 2), (0.5, 3), (0.7, 5), (0.2, 1)])
def test_uncapped_pareto_max_against_tail_quadrature(alpha, n):
    """pareto:alpha,1: E[max of n] = 1 + int_1^inf (1 - (1 - x^-b)^n) dx, b = 1/(1-alpha)."""
    b = 1.0 / (1.0 - alpha)
    tail, _ = integrate.quad(lambda x: -math.expm1(n * math.log1p(-x ** -b)), 1.0, math.inf,
                             epsabs=1e-13, epsrel=1e-12, limit=400)
    assert expected_max(f"pareto:{alpha},1", n) == pytest.approx(1.0 + tail, rel=1e-9)


def test_uncapped_pareto_single_draw_closed_form():
    """pareto:alpha,S, n = 1: E[V] = S b/(b - 1)."""
    b = 1 / 0.4
    assert expected_order_statistic("pareto:0.6,2", 1, 1) == pytest.approx(2 * b / (b - 1), rel=1e-9)


@pytest.mark.parametrize("alpha,cap,j,n", [(0.5, 4.0, 1, 3), (0.3, 50.0, 1, 4), (0.5, 4.0, 2, 3),
                                           (0.0, 10.0, 1, 2), (0.8, 20.0, 3, 6)])
def test_capped_pareto_order_statistic_against_quadrature(alpha, cap, j, n):
    """pareto:alpha,1,CAP: E[v(j,n)] = 1 + int_1^CAP P[v(j,n) > x] dx, with
    P[v(j,n) > x] = P[Binomial(n, 1 - F(x)) >= j] and F(x) = 1 - x^-b below CAP."""
    b = 1.0 / (1.0 - alpha)

    def tail(x):
        q = x ** -b  # P[V > x] for 1 <= x < CAP
        return sum(math.comb(n, k) * q ** k * (1 - q) ** (n - k) for k in range(j, n + 1))

    val, _ = integrate.quad(tail, 1.0, cap, epsabs=1e-13, epsrel=1e-12, limit=400)
    assert expected_order_statistic(f"pareto:{alpha},1,{cap}", j, n) == pytest.approx(1.0 + val, rel=1e-9)


def test_capped_pareto_max_monte_carlo():
    """pareto:0.5,1,4, max of 3: Monte Carlo with 300000 maxima agrees within 4 standard errors."""
    rng = np.random.default_rng(31)
    n_draws = 300_000
    d = parse_spec("pareto:0.5,1,4")
    x = d.rvs((n_draws, 3), rng).max(axis=1)
    se = x.std(ddof=1) / math.sqrt(n_draws)
    assert abs(x.mean() - expected_max(d, 3)) <= 4 * se


@pytest.mark.parametrize("j,n", [(0, 3), (4, 3), (1, 0), (-1, 2), (0, 0)])
def test_bad_indices_raise(j, n):
    """1 <= j <= n is required."""
    with pytest.raises(InputError, match=r"1 <= j <= n"):
        expected_order_statistic("uniform:0,1", j, n)


def test_bad_spec_raises_input_error():
    """An unreadable spec is an InputError (SpecError)."""
    with pytest.raises(InputError):
        expected_order_statistic("uniform:1,0", 1, 2)


@pytest.mark.parametrize("n", [1, 2, 5])
def test_max_law_cdf_closed_forms(n):
    """max_law(d, n) has CDF F^n: U[0,1] -> v^n, exponential m -> (1 - e^(-v/m))^n."""
    v = np.linspace(0.0, 1.0, 21)
    np.testing.assert_allclose(max_law("uniform:0,1", n).cdf(v), v ** n, atol=1e-12)
    w = np.linspace(0.0, 10.0, 21)
    np.testing.assert_allclose(max_law("exponential:2", n).cdf(w), (1 - np.exp(-w / 2)) ** n,
                               atol=1e-12)


def test_max_law_cdf_capped_pareto():
    """max_law of pareto:0.5,1,4: (1 - v^-2)^n below the cap, 1 at the cap."""
    law = max_law("pareto:0.5,1,4", 3)
    v = np.linspace(1.0, 3.99, 20)
    np.testing.assert_allclose(law.cdf(v), (1 - v ** -2.0) ** 3, atol=1e-12)
    assert float(law.cdf(4.0)) == 1.0


def test_max_law_mean_agrees_with_expected_max():
    """Two routes to E[max]: the mean of max_law (tail integral) and the Beta-weighted quantile integral."""
    for spec, n in [("uniform:0,1", 4), ("exponential:1", 3), ("pareto:0.5,1,4", 3),
                    ("beta:2,3,0,1", 2), ("truncnorm:1,0.5,0,2", 3)]:
        assert max_law(spec, n).mean == pytest.approx(expected_max(spec, n), rel=1e-9)


def test_max_law_of_point_mass():
    """The max of n copies of a constant is that constant."""
    law = max_law("point:3", 4)
    assert law.mean == 3.0 and float(law.cdf(2.99)) == 0.0 and float(law.cdf(3.0)) == 1.0
