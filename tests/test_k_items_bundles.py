"""Bundles priced on one sample and valued on another, against the Irwin-Hall law of a sum of uniforms."""

import math
from fractions import Fraction

import numpy as np
import pytest
from scipy.optimize import minimize_scalar

from agora.market.distributions import parse_spec
from agora.market.errors import InputError
from agora.market.k_items.mechanisms import best_bundle_price, bundle_revenue, bundle_values, price_bundle

N = 3  # k = n = 3 uniform values: the bundle is worth their sum, an Irwin-Hall variable


def irwin_hall_revenue(price: float, n: int = N) -> float:
    """p P[U_1 + ... + U_n >= p], P[S <= x] = (1/n!) sum_{j <= x} (-1)^j C(n, j) (x - j)^n, in exact arithmetic."""
    x = Fraction(price)
    cdf = sum((-1) ** j * math.comb(n, j) * (x - j) ** n for j in range(min(math.floor(x), n) + 1))
    return float(x * (1 - cdf / math.factorial(n))) if x < n else 0.0


def test_irwin_hall_helper_is_the_sum_of_uniforms():
    """One uniform: p (1 - p); the sum of n is symmetric about n/2, so P[S >= n/2] = 1/2."""
    assert irwin_hall_revenue(0.3, 1) == pytest.approx(0.3 * 0.7, abs=1e-15)
    assert irwin_hall_revenue(1.5) == pytest.approx(0.75, abs=1e-15)


def test_bundle_revenue_counts_the_samples_at_or_above_the_price():
    """Samples 1, 2, 3, 4 at price 2.5: half buy, revenue 1.25, s.e. 2.5 sqrt(1/4 / 3)."""
    revenue, se = bundle_revenue(np.array([1.0, 2.0, 3.0, 4.0]), 2.5)
    assert revenue == 1.25 and se == pytest.approx(2.5 * math.sqrt(0.25 / 3), abs=1e-15)
    assert bundle_revenue(np.array([1.0, 2.0]), 2.0)[0] == 1.0  # a value equal to the price buys


@pytest.mark.parametrize("samples, price", [(np.array([1.0]), 0.5), (np.ones((2, 2)), 0.5),
                                            (np.ones(3), -1.0), (np.ones(3), math.inf)])
def test_bundle_revenue_refuses_bad_input(samples, price):
    with pytest.raises(InputError, match="bundle"):
        bundle_revenue(samples, price)


def test_second_sample_estimate_is_within_4_se_of_the_exact_revenue():
    bundle = price_bundle("uniform:0,1", N, N, 20_000, seed=7)
    assert abs(bundle.revenue - irwin_hall_revenue(bundle.price)) <= 4 * bundle.stderr
    assert bundle.revenue <= max_revenue() + 4 * bundle.stderr


def max_revenue() -> float:
    """max_p p P[S >= p] for the Irwin-Hall sum (bounded search on its support)."""
    res = minimize_scalar(lambda p: -irwin_hall_revenue(p), bounds=(0.0, N), method="bounded",
                          options={"xatol": 1e-10})
    return -res.fun


def test_same_sample_value_is_optimistic_and_the_second_sample_unbiased():
    """Over 300 seeds of 400 samples: the in-sample best revenue averages above the true optimum
    (E[max_p R^(p)] >= max_p R(p)) by more than 4 s.e.; the second-sample revenue minus the exact
    revenue of the same price averages to 0 within 4 s.e."""
    dist, seeds, samples = parse_spec("uniform:0,1"), 300, 400
    optimum = max_revenue()
    in_sample = np.array([best_bundle_price(bundle_values(dist, N, N, samples, np.random.default_rng(s)))[1]
                          for s in range(seeds)]) - optimum
    bundles = [price_bundle(dist, N, N, samples, seed=s) for s in range(seeds)]
    error = np.array([b.revenue - irwin_hall_revenue(b.price) for b in bundles])
    assert in_sample.mean() > 4 * in_sample.std(ddof=1) / math.sqrt(seeds)
    assert abs(error.mean()) <= 4 * error.std(ddof=1) / math.sqrt(seeds)
