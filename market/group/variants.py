"""Alternative bargaining arrangements for a group (selling-to-a-group, Section 6.2 and 6.3).

* Fixed consulted set (Section 6.2): only n chosen members hold a veto; the
  seller runs the optimal mechanism of Theorem 1 for the best such set and
  ignores everyone else.
* n-approval posted price (Section 6.2): trade at price p iff at least n
  members vote yes (each votes yes iff its type is >= p).
* Fixed shares (Section 6.3): member i pays share sigma_i of every transfer and
  values the good at v_i; with theta_i = v_i / sigma_i the model is the main one,
  so the solver runs on the scaled laws.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from scipy import optimize

from agora.market.distributions import RegularityReport, ValueDistribution, _as_array, parse_spec
from agora.market.errors import InputError
from agora.market.group.mechanisms import at_least_probability
from agora.market.group.solver import GroupSolution, check_cost, parse_members, solve_group

MAX_SUBSETS = 252  # C(10, 5): enumerating more consulted sets is refused


class ScaledDistribution(ValueDistribution):
    """theta = factor * V for a law V: phi_theta(t) = factor * phi_V(t / factor)."""

    def __init__(self, base: ValueDistribution, factor: float):
        if not 0 < factor < math.inf:
            raise InputError(f"a scale factor must be > 0, got {factor}")
        self.base, self.factor = base, float(factor)
        self.spec = f"{factor:g}*{base.spec}"
        self.lo, self.hi, self.atom = base.lo * factor, base.hi * factor, base.atom

    def prob_at_least(self, v):
        return self.base.prob_at_least(_as_array(v) / self.factor)

    def cdf(self, v):
        return self.base.cdf(_as_array(v) / self.factor)

    def pdf(self, v):
        return self.base.pdf(_as_array(v) / self.factor) / self.factor

    def ppf(self, u):
        return self.factor * self.base.ppf(u)

    def rvs(self, size, rng):
        return self.factor * self.base.rvs(size, rng)

    def _phi_cont(self, v):
        return self.factor * self.base._phi_cont(_as_array(v) / self.factor)

    def virtual_threshold(self, t):
        return self.factor * self.base.virtual_threshold(_as_array(t) / self.factor)

    @cached_property
    def regularity(self) -> RegularityReport:
        return self.base.regularity  # phi_theta'(t) = phi_V'(t / factor)


def check_shares(shares: Sequence[float], n: int) -> np.ndarray:
    s = np.asarray(shares, float)
    if s.shape != (n,) or np.any(~(s > 0)) or not math.isclose(s.sum(), 1.0, abs_tol=1e-9):
        raise InputError(f"cost shares must be {n} numbers > 0 summing to 1, got {list(shares)}")
    return s


def types_from_shares(values: Sequence[str | ValueDistribution], shares: Sequence[float]):
    """Section 6.3: the laws of theta_i = v_i / sigma_i."""
    laws = [parse_spec(v) for v in values]
    s = check_shares(shares, len(laws))
    return tuple(ScaledDistribution(d, 1.0 / si) for d, si in zip(laws, s))


def solve_fixed_shares(values, shares, cost: float = 0.0, **options) -> GroupSolution:
    """The optimal mechanism when member i pays the fixed share sigma_i of the transfer (Section 6.3)."""
    return solve_group(types_from_shares(values, shares), cost, **options)


@dataclass(frozen=True)
class ConsultedSet:
    consulted: tuple[int, ...]
    solution: GroupSolution


def best_consulted_set(members, n: int, cost: float = 0.0, **options) -> ConsultedSet:
    """Section 6.2: the n members whose veto the seller keeps, and Theorem 1's mechanism for them."""
    dists = parse_members(members)
    if not 1 <= n <= len(dists):
        raise InputError(f"the number of approvals n must be between 1 and {len(dists)}, got {n}")
    if math.comb(len(dists), n) > MAX_SUBSETS:
        raise InputError(f"choosing {n} of {len(dists)} members means {math.comb(len(dists), n)} sets; "
                         f"at most {MAX_SUBSETS} are enumerated")
    best = None
    for subset in itertools.combinations(range(len(dists)), n):
        sol = solve_group([dists[i] for i in subset], cost, **options)
        if best is None or sol.profit > best.solution.profit + 1e-12:
            best = ConsultedSet(subset, sol)
    return best


def quota_price_profit(members: Sequence[ValueDistribution], cost: float, price, n: int) -> np.ndarray:
    """(p - c) P[at least n members have type >= p] (Poisson binomial)."""
    price = np.atleast_1d(np.asarray(price, float))
    probs = np.stack([d.prob_at_least(price) for d in members], axis=-1)
    return (price - cost) * at_least_probability(probs, n)


def best_quota_price(members, n: int, cost: float = 0.0, points: int = 4001) -> tuple[float, float]:
    """Section 6.2: the price p maximizing (p - c) P[#{i: theta_i >= p} >= n]; (price, profit)."""
    dists = parse_members(members)
    cost = check_cost(cost)
    if not 1 <= n <= len(dists):
        raise InputError(f"the number of approvals n must be between 1 and {len(dists)}, got {n}")
    top = sorted((d.hi if math.isfinite(d.hi) else float(d.ppf(1 - 1e-12))) for d in dists)[-n]
    if top <= cost:
        return cost, 0.0
    grid = np.linspace(cost, top, points)
    vals = quota_price_profit(dists, cost, grid, n)
    i = int(np.argmax(vals))
    lo, hi = grid[max(i - 1, 0)], grid[min(i + 1, points - 1)]
    res = optimize.minimize_scalar(lambda p: -float(quota_price_profit(dists, cost, p, n)[0]),
                                   bounds=(lo, hi), method="bounded", options={"xatol": 1e-12})
    if -res.fun >= vals[i]:
        return float(res.x), float(-res.fun)
    return float(grid[i]), float(vals[i])
