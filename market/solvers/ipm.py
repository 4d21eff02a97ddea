"""Exact evaluation of k-item mechanisms on any demand structure (intermediary-proof-mechanisms).

Posted prices with random rationing (Definition 7). A linear intermediary model
(surplus-maximizing, monopolist, constant bargaining share) holding b buyers asks for
D ~ Binomial(b, q) items, q = P[v >= t], where t is the value at which a buyer's score
reaches the price (t = p for surplus, phi^-1(p) for a monopolist). Blocks are independent,
so the total demand is the convolution of the blocks' binomials and

    revenue = p * E[min(D_1 + ... + D_m, k)].

When demand exceeds supply the k items go to k of the D asked-for units uniformly at
random: block l gets X_l ~ Hypergeometric(D, D_l, k) units and gives them to its X_l
highest buyers, so the welfare realized is

    sum_l sum_{d, e} P[D_l = d] P[D_{-l} = e] E[T(X_l, d)],  T(x, d) = E[top x of d draws | v >= t],

which does depend on the partition (the revenue does not).
The auction's exact revenues cover competition (Myerson, Proposition 1) and monopsony.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from functools import lru_cache

import numpy as np
from scipy import integrate, stats

from market.demand import Partition, validate_partition
from market.distributions import ValueDistribution, parse_spec
from market.errors import InputError
from market.intermediary_utility import UtilityModel, utility_model
from market.mechanisms.ipm import (
    ItemMenu,
    check_market,
    guarantee,
    ipm_price,
    optimal_welfare,
)

QUAD = dict(limit=400, epsabs=1e-13, epsrel=1e-11)


class NoExactFormError(InputError):
    """The exact evaluator has no closed form for this model or mechanism."""


def block_sizes(partition: Partition) -> tuple[int, ...]:
    """The multiset of block sizes, largest first: all a symmetric market's revenue depends on."""
    return tuple(sorted((len(b) for b in partition), reverse=True))


def threshold_of(model: UtilityModel, dist: ValueDistribution, price: float) -> float:
    """The value from which a linear model buys for a buyer at ``price``."""
    if not getattr(model, "linear", False):
        raise NoExactFormError(f"the exact evaluator needs a linear intermediary model (surplus, monopolist, "
                               f"constant bargaining share); {model.describe()} is evaluated by Monte Carlo")
    return model.score_threshold(dist, price)


def demand_pmf(b: int, q) -> np.ndarray:
    """P[D = d], d = 0..b, for a block of b buyers each asking with probability q
    (an array of q gives one pmf per entry, along a new last axis)."""
    return stats.binom.pmf(np.arange(b + 1), b, np.asarray(q, float)[..., None])


def convolve_all(pmfs: Iterable[np.ndarray]) -> np.ndarray:
    out = np.array([1.0])
    for p in pmfs:
        out = np.convolve(out, p)
    return out


def expected_min(pmf: np.ndarray, k: int) -> float:
    """E[min(D, k)] for D with the given pmf."""
    return float(np.dot(pmf, np.minimum(np.arange(pmf.size), k)))


@lru_cache(maxsize=4096)
def _top_sum_truncated(spec: str, t: float, x: int, d: int) -> float:
    """E[sum of the x highest of d draws from F conditioned on v >= t]."""
    dist = parse_spec(spec)
    q = float(dist.prob_at_least(t))
    lo_u = 1.0 - q

    def quantile(u):
        return float(dist.ppf(min(lo_u + u * q, 1.0)))

    total = 0.0
    for j in range(1, x + 1):
        w = stats.beta(d - j + 1, j)
        val, _ = integrate.quad(lambda u: quantile(u) * w.pdf(u), 0.0, 1.0, **QUAD)
        total += val
    return total


def realized_welfare(dist: ValueDistribution, sizes: Sequence[int], k: int, t: float) -> float:
    """Expected value of the buyers who end up with an item under random rationing (module doc)."""
    n = sum(sizes)
    q = float(dist.prob_at_least(t))
    if q == 0.0:
        return 0.0
    total = 0.0
    for b, count in Counter(sizes).items():
        own, rest = demand_pmf(b, q), demand_pmf(n - b, q)
        part = 0.0
        for d in range(1, b + 1):
            for e in range(n - b + 1):
                weight = own[d] * rest[e]
                if weight < 1e-300:
                    continue
                draws = min(k, d + e)
                ways = math.comb(d + e, draws)
                part += weight * sum(math.comb(d, x) * math.comb(e, draws - x) / ways  # hypergeometric
                                     * _top_sum_truncated(dist.spec, t, x, d)
                                     for x in range(1, min(d, draws) + 1))
        total += count * part
    return total


@dataclass(frozen=True)
class PostedOutcome:
    """Expected outcome of a uniform posted price on one demand structure."""

    price: float
    revenue: float
    items_sold: float
    realized_welfare: float | None
    sizes: tuple[int, ...]
    method: str


def evaluate_posted(dist: ValueDistribution | str, partition: Partition | Sequence[int], k: int,
                    price: float, model: UtilityModel | str = "surplus",
                    welfare: bool = True) -> PostedOutcome:
    """Exact revenue (and realized welfare) of ``price`` per item with random rationing.

    ``partition`` is a partition of buyers or just the block sizes.
    """
    dist = parse_spec(dist)
    model = utility_model(model, dist)
    sizes = _sizes(partition)
    check_market(sum(sizes), k)
    if not 0.0 <= price < math.inf:
        raise InputError(f"a posted price must be >= 0, got {price}")
    t = threshold_of(model, dist, price)
    q = float(dist.prob_at_least(t)) if math.isfinite(t) else 0.0
    pmf = convolve_all(demand_pmf(b, q) for b in sizes)
    sold = expected_min(pmf, k)
    wel = float(realized_welfare(dist, sizes, k, t)) if welfare and math.isfinite(t) else (0.0 if welfare else None)
    return PostedOutcome(float(price), float(price) * sold, sold, wel, sizes,
                         "exact: convolution of per-block binomial demands; quadrature for welfare (1e-11)")


def _sizes(partition) -> tuple[int, ...]:
    items = list(partition)
    if items and all(isinstance(b, (int, np.integer)) for b in items):
        if any(b < 1 for b in items):
            raise InputError(f"block sizes must be >= 1, got {items}")
        return tuple(sorted((int(b) for b in items), reverse=True))
    return block_sizes(validate_partition(items))


def myerson_auction_revenue(dist: ValueDistribution | str, n: int, k: int) -> float:
    """sum_{j <= k} E[max(phi(v(j, n)), 0)]: the (k+1)-th-price auction with reserve phi^-1(0)
    under competition, the optimal revenue there (Proposition 1)."""
    dist = parse_spec(dist)
    dist.require_regular("buyer")
    check_market(n, k)
    top = 1.0 - dist.atom  # quantiles above this are the atom at hi, where phi = hi
    total = 0.0
    for j in range(1, min(k, n) + 1):
        w = stats.beta(n - j + 1, j)
        val = 0.0
        if top > 0.0:
            val, _ = integrate.quad(lambda u: max(float(dist.virtual_value(dist.ppf(u))), 0.0) * w.pdf(u),
                                    0.0, top, **QUAD)
        total += val + max(dist.hi, 0.0) * float(w.sf(top)) if dist.atom > 0 else val
    return total


def monopsony_auction_revenue(dist: ValueDistribution | str, n: int, k: int,
                              model: UtilityModel | str = "surplus") -> float:
    """The (k+1)-th-price auction with reserve r = phi^-1(0) facing one intermediary holding all n:
    it places one bid at r for each buyer it serves at r (up to k) and nothing else, so the
    uniform price is r and the revenue is r E[min(D, k)] (Proposition 2's mechanism)."""
    dist = parse_spec(dist)
    return evaluate_posted(dist, (n,), k, dist.monopoly_price, model, welfare=False).revenue


@dataclass(frozen=True)
class IPMSolution:
    """``agora solve ipm``: the intermediary-proof mechanism on one instance."""

    buyers: int
    items: int
    distribution: str
    intermediary: str
    partition: list[list[int]]
    price: float | None
    prices: list[float] | None
    revenue: float
    revenue_stderr: float
    welfare: float
    ratio: float
    guarantee: float
    guarantee_result: str
    guarantee_factor: float
    tau: float
    lam: float
    c_lambda: float
    realized_welfare: float | None
    items_sold: float | None
    beats_guarantee: bool
    method: str

    def to_dict(self) -> dict:
        return asdict(self)


def solve_ipm(n: int, k: int, dist: ValueDistribution | str, weights: Sequence[float] | None = None,
              intermediary: UtilityModel | str = "surplus", partition: Partition | None = None,
              rounds: int = 200_000, seed: int = 0) -> IPMSolution:
    """The intermediary-proof mechanism on one instance: price(s), revenue, Wel(F), the bound.

    Identical items: exact (:func:`evaluate_posted`). Heterogeneous weights: the menu of
    Definition 9 bought by surplus-maximizing intermediaries in a random order, by
    vectorized Monte Carlo with ``rounds`` rounds (its standard error is reported).
    """
    from market.ipm_montecarlo import simulate_menu

    dist = parse_spec(dist)
    dist.require_regular("buyer")
    check_market(n, k)
    model = utility_model(intermediary, dist)
    partition = validate_partition(partition if partition is not None else [[i] for i in range(n)], n)
    heterogeneous = weights is not None and len(set(float(w) for w in weights)) > 1
    tau = model.tau_bound(dist)
    if tau is None:
        raise InputError(f"no known tau for {model.describe()}; measure it with measure_tau")
    bound = guarantee(dist, n, k, tau, weights if heterogeneous else None)
    if heterogeneous:
        if model.name != "surplus":
            raise InputError("the heterogeneous menu (Theorem 2) assumes surplus-maximizing intermediaries; "
                             f"got --intermediary {model.name}")
        menu = ItemMenu.heterogeneous(dist, n, weights)
        est = simulate_menu(dist, partition, menu, model, rounds, np.random.default_rng(seed))
        revenue, se = est.mean["revenue"], est.stderr["revenue"]
        price, prices, sold, wel_real = None, list(menu.prices), est.mean["items_sold"], est.mean["welfare"]
        method = f"vectorized Monte Carlo, {rounds} rounds, seed {seed}; intermediaries in a random order"
    else:
        price = ipm_price(dist, n, k)
        out = evaluate_posted(dist, partition, k, price, model)
        revenue, se, prices, sold, wel_real = out.revenue, 0.0, None, out.items_sold, out.realized_welfare
        method = out.method
    wel = optimal_welfare(dist, n, k, weights)
    return IPMSolution(
        buyers=n, items=k, distribution=dist.spec, intermediary=model.describe(),
        partition=[list(b) for b in partition], price=price, prices=prices, revenue=revenue,
        revenue_stderr=se, welfare=wel, ratio=revenue / wel if wel > 0 else math.nan,
        guarantee=bound["guarantee"], guarantee_result=bound["result"], guarantee_factor=bound["factor"],
        tau=tau, lam=bound["lambda"], c_lambda=bound["c_lambda"], realized_welfare=wel_real,
        items_sold=sold, beats_guarantee=revenue + 4 * se >= bound["guarantee"], method=method)
