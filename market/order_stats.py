"""Order statistics of i.i.d. values: E[v(j, n)] and the law of the max.

E[v(j, n)] is the mean of the j-th highest of n draws. With U the CDF-quantile
of that order statistic, U ~ Beta(n - j + 1, j), so
E[v(j, n)] = integral over (0, 1) of F^-1(u) * Beta(n - j + 1, j).pdf(u) du,
which handles atoms (flat stretches of F^-1) without special cases.
The intermediary-proof price is p_R = E[v(1, ceil(n / k))].
"""

from __future__ import annotations

from scipy import integrate, stats

from agora.market.distributions import ValueDistribution, parse_spec
from agora.market.errors import InputError


def expected_order_statistic(dist: ValueDistribution | str, j: int, n: int) -> float:
    """E[v(j, n)], the expected j-th highest of n independent draws from ``dist``."""
    if not 1 <= j <= n:
        raise InputError(f"order statistic needs 1 <= j <= n, got j = {j}, n = {n}")
    dist = parse_spec(dist)
    if dist.lo == dist.hi:
        return dist.lo
    weight = stats.beta(n - j + 1, j)
    val, _ = integrate.quad(lambda u: float(dist.ppf(u)) * weight.pdf(u), 0.0, 1.0,
                            limit=400, epsabs=1e-13, epsrel=1e-11)
    return val


def expected_max(dist: ValueDistribution | str, n: int) -> float:
    """E[v(1, n)], the mean of the highest of n draws."""
    return expected_order_statistic(dist, 1, n)


def max_law(dist: ValueDistribution | str, n: int) -> ValueDistribution:
    """The distribution of the highest of n draws (CDF F^n)."""
    return parse_spec(dist).max_of(n)
