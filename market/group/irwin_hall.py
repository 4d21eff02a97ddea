"""Exact optimal profit of N identical U[0,1] members at c = 0 (selling-to-a-group, Proposition 5).

With identical members the uniform weights are optimal (proof of Proposition 5), so the
optimal profit is E[(phi_1 + ... + phi_N)+] / N (Theorem 1). For theta ~ U[0,1] the virtual
value is phi = 2 theta - 1 ~ U[-1, 1], hence S_N = phi_1 + ... + phi_N = 2 X - N with X the
Irwin-Hall sum of N uniforms, whose CDF is

    P[X <= s] = (1/N!) sum_{k=0}^{N} (-1)^k C(N, k) (s - k)_+^N.

Then E[(S_N)+] = 2 E[(X - N/2)+] = 2 int_{N/2}^{N} P[X > s] ds, and integrating each term,

    int_{N/2}^{N} P[X <= s] ds = (1/(N+1)!) sum_k (-1)^k C(N, k) [(N - k)^(N+1) - (N/2 - k)_+^(N+1)],

so E[(S_N)+] = N - 2 int_{N/2}^{N} P[X <= s] ds, a rational number computed here exactly.
The best unanimous posted price 1/(N+1) earns N^N / (N+1)^(N+1), also rational.

Against part 2 of the proposition (a positive limit), the central limit theorem gives
E[(S_N)+] ~ sd(phi) sqrt(N / (2 pi)), sd(phi) = 1/sqrt(3), so the optimal profit falls like
0.2303 / sqrt(N) and the ratio to the posted-price profit (about 1/(e N)) grows like
0.6261 sqrt(N); the 1/N corrections come from the Edgeworth expansion. The fits below
estimate these constants from the exact values.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache

import numpy as np
from scipy import stats

from agora.market.errors import InputError


def _check_size(n) -> int:
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1:
        raise InputError(f"the number of members must be an integer >= 1, got {n!r}")
    return int(n)


def positive_part_mean(n: int) -> Fraction:
    """E[(S_n)+] exactly, S_n the sum of n independent U[-1, 1] (the module's formula).

    The seller's optimal profit with n identical U[0,1] members and c = 0 is this over n
    (proof of Proposition 5 with Theorem 1).
    """
    return _positive_part_mean(_check_size(n))


@lru_cache(maxsize=None)
def _positive_part_mean(n: int) -> Fraction:
    half = Fraction(n, 2)
    terms = sum((-1) ** k * math.comb(n, k) * (Fraction(n - k) ** (n + 1) - max(half - k, Fraction(0)) ** (n + 1))
                for k in range(n + 1))
    return n - 2 * terms / math.factorial(n + 1)


def optimal_profit(n: int) -> Fraction:
    """The optimal profit E[(S_n)+] / n of n identical U[0,1] members at c = 0 (Proposition 5)."""
    return positive_part_mean(n) / n


def posted_profit(n: int) -> Fraction:
    """The best unanimous posted-price profit max_p p (1 - p)^n = n^n / (n + 1)^(n + 1), at p = 1/(n + 1)."""
    n = _check_size(n)
    return Fraction(n ** n, (n + 1) ** (n + 1))


#: sd(phi) / sqrt(2 pi) with sd(phi) = 1 / sqrt(3): the optimal profit is about this / sqrt(N).
CLT_CONSTANT = 1 / math.sqrt(6 * math.pi)
#: e sd(phi) / sqrt(2 pi): optimal / posted-price profit is about this times sqrt(N).
RATIO_CONSTANT = math.e / math.sqrt(6 * math.pi)


def edgeworth_factor(n: int) -> float:
    """E[(S_n)+] / (sd sqrt(n / (2 pi))) to first order in 1/n: 1 + 1/(20 n).

    The Edgeworth density phi(x) (1 + kappa_4 He_4(x) / (24 n)) gives E|Z_n| =
    sqrt(2/pi) (1 - kappa_4 / (24 n)), as the integral of |x| He_4(x) phi(x) is -sqrt(2/pi);
    U[-1, 1] has excess kurtosis kappa_4 = -6/5.
    """
    return 1 + 1 / (20 * _check_size(n))


def ratio_factor(n: int) -> float:
    """(optimal / posted) / (RATIO_CONSTANT sqrt(n)) to first order in 1/n: 1 + 11/(20 n).

    The posted profit n^n / (n+1)^(n+1) is (1/(e n)) (1 - 1/(2 n) + O(1/n^2)); the optimal
    profit carries :func:`edgeworth_factor`.
    """
    return 1 + 11 / (20 * _check_size(n))


@dataclass(frozen=True)
class LimitFit:
    """log(value N^power) = a + b / N fitted by least squares: exp(a) estimates the limit.

    ``stderr`` is exp(a) times linregress' intercept_stderr; ``truncation`` is how far exp(a)
    moves when a c / N^2 term is added to the fit (the curvature the straight fit leaves out,
    which for exact values dominates the residual-based standard error).
    """

    limit: float
    stderr: float
    truncation: float
    slope: float

    @property
    def tolerance(self) -> float:
        """stderr + 2 truncation: the bound on |limit - true limit| the fit supports."""
        return self.stderr + 2 * self.truncation


def fit_limit(sizes, values, power: float = 0.5) -> LimitFit:
    """Fit log(value N^power) = a + b/N over ``sizes`` (scipy.stats.linregress)."""
    n = np.asarray(sizes, float)
    y = np.log(np.asarray(values, float) * n ** power)
    fit = stats.linregress(1 / n, y)
    curved = np.polyfit(1 / n, y, 2)[-1]
    limit = math.exp(fit.intercept)
    return LimitFit(limit, limit * fit.intercept_stderr, abs(limit - math.exp(curved)), float(fit.slope))


def fit_rate(sizes, values):
    """Least-squares slope of log(value) on log N (scipy.stats.linregress result)."""
    return stats.linregress(np.log(np.asarray(sizes, float)), np.log(np.asarray(values, float)))


def rate_bias(sizes) -> float:
    """The log-log slope that :func:`edgeworth_factor` adds to -1/2 over ``sizes``."""
    n = np.asarray(sizes, float)
    return float(stats.linregress(np.log(n), np.log1p(1 / (20 * n))).slope)
