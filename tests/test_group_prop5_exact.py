"""Exact optimal profit of identical U[0,1] members at c = 0 (Proposition 5's counterexample)."""

import math
from fractions import Fraction

import numpy as np
import pytest
from scipy import integrate, optimize

from agora.market.errors import InputError
from agora.market.group.irwin_hall import (
    CLT_CONSTANT,
    RATIO_CONSTANT,
    edgeworth_factor,
    fit_limit,
    fit_rate,
    optimal_profit,
    positive_part_mean,
    posted_profit,
    rate_bias,
    ratio_factor,
)

SD = 1 / math.sqrt(3)  # sd of U[-1, 1]
FIT_SIZES = range(10, 51)


def test_one_and_two_members_by_hand():
    # n = 1: S ~ U[-1, 1], E[S+] = int_0^1 s / 2 ds = 1/4.
    assert positive_part_mean(1) == Fraction(1, 4)
    # n = 2: S triangular on [-2, 2] with density (2 - |s|)/4, E[S+] = int_0^2 s (2 - s)/4 ds = 1/3.
    assert positive_part_mean(2) == Fraction(1, 3)


def _characteristic_function_mean(n: int, periods: int = 2000) -> tuple[float, float]:
    """E[S+] = E|S|/2 = (1/pi) int_0^inf (1 - (sin t / t)^n) / t^2 dt (S symmetric), and its error.

    quad over [0, T], T = periods * pi, piece by piece; beyond T the integrand is 1/t^2 (giving 1/T)
    minus a part bounded by t^-(n+2), whose integral is at most T^-(n+1) / (n + 1).
    """
    f = lambda t: (1 - np.sinc(t / np.pi) ** n) / t ** 2  # noqa: E731
    total, err = 0.0, 0.0
    for k in range(periods):
        v, e = integrate.quad(f, k * np.pi, (k + 1) * np.pi, epsabs=1e-14, epsrel=1e-12)
        total, err = total + v, err + e
    tail = periods * np.pi
    return (total + 1 / tail) / np.pi, (err + tail ** -(n + 1) / (n + 1)) / np.pi


@pytest.mark.parametrize("n", range(1, 7))
def test_small_n_against_the_characteristic_function(n):
    # independent: the Fourier formula for E|S| with quad, no Irwin-Hall sum involved
    value, err = _characteristic_function_mean(n)
    assert abs(float(positive_part_mean(n)) - value) <= 4 * err + 1e-10


def test_monte_carlo_at_eight_members():
    # plain Monte Carlo of E[(sum of 8 U[-1,1])+], 4 standard errors over 20 batches
    rng = np.random.default_rng(8)
    means = [np.maximum(rng.uniform(-1, 1, (50_000, 8)).sum(axis=1), 0).mean() for _ in range(20)]
    se = np.std(means, ddof=1) / math.sqrt(len(means))
    assert abs(float(positive_part_mean(8)) - np.mean(means)) <= 4 * se


@pytest.mark.parametrize("n", [50, 100, 200, 400])
def test_large_n_against_the_central_limit_theorem(n):
    # CLT: E[S+] ~ sd sqrt(n / (2 pi)); the Edgeworth term is 1/(20 n), the rest O(1/n^2)
    rel = float(positive_part_mean(n)) / (SD * math.sqrt(n / (2 * math.pi)))
    assert abs(rel - 1) <= 1 / (10 * n)
    assert abs(rel - edgeworth_factor(n)) <= 1 / n ** 2


@pytest.mark.parametrize("n", [1, 2, 5, 20])
def test_posted_profit_is_the_best_unanimous_price(n):
    # bounded scalar maximization of p (1 - p)^n on [0, 1]
    res = optimize.minimize_scalar(lambda p: -p * (1 - p) ** n, bounds=(0, 1), method="bounded",
                                   options={"xatol": 1e-10})
    assert abs(float(posted_profit(n)) + res.fun) <= 1e-12


def test_rate_is_minus_one_half_within_its_standard_error():
    # slope of log profit on log N: -1/2 (CLT) plus the Edgeworth 1/(20N) term's slope
    values = [float(optimal_profit(n)) for n in FIT_SIZES]
    fit = fit_rate(FIT_SIZES, values)
    assert abs(fit.slope - (-0.5 + rate_bias(FIT_SIZES))) <= fit.stderr


def test_fitted_limit_is_the_clt_constant_and_a_one_percent_error_is_caught():
    # exp(a) in log(profit sqrt N) = a + b/N against sd / sqrt(2 pi) = 1 / sqrt(6 pi)
    values = np.array([float(optimal_profit(n)) for n in FIT_SIZES])
    fit = fit_limit(FIT_SIZES, values)
    assert CLT_CONSTANT == pytest.approx(SD / math.sqrt(2 * math.pi), rel=1e-15)
    assert abs(fit.limit - CLT_CONSTANT) <= fit.tolerance
    assert fit.tolerance < 1e-3 * CLT_CONSTANT
    assert abs(fit_limit(FIT_SIZES, 1.01 * values).limit - CLT_CONSTANT) > fit.tolerance


def test_ratio_over_sqrt_n_at_fifty():
    # optimal / posted over sqrt(N) -> e sd / sqrt(2 pi); first-order factor 1 + 11/(20 N), rest O(1/N^2)
    n = 50
    ratio = float(optimal_profit(n) / posted_profit(n)) / math.sqrt(n)
    assert RATIO_CONSTANT == pytest.approx(math.e * SD / math.sqrt(2 * math.pi), rel=1e-15)
    assert abs(ratio / RATIO_CONSTANT - ratio_factor(n)) <= 1 / n ** 2


@pytest.mark.parametrize("bad", [0, -3, 2.5, True, "4"])
def test_bad_sizes_are_refused(bad):
    with pytest.raises(InputError, match="integer >= 1"):
        positive_part_mean(bad)
