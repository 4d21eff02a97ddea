"""Intermediaries whose demand depends on how buyers are grouped, and Theorem 1 over every
demand structure for them (intermediary-proof-mechanisms, Condition 3 and Theorem 1).

At the uniform price p an intermediary holding b buyers sees D ~ Binomial(b, q) of them with
values >= p, q = P[v >= p], and asks for g(D) items:

* :class:`ProportionalDemand` -- exactly ceil(tau D) of them (buyer-disconnectable with tau);
* :class:`CapacityLimited` -- at most ``cap`` items, min(D, cap) (tau_l = min(1, cap / b)).

Both buy only for buyers worth at least p, so they never pay more than their buyers' values
(Conditions 1-2). Since ceil and min do not add over blocks, the revenue
p E[min(sum_l g(D_l), k)] depends on the partition, not only on n; it is exact here (the
pmf of each g(D_l) pushed forward from the binomial, convolved over blocks). Buyers are
i.i.d., so the revenue depends only on the block sizes: each integer partition of n is
solved once and stands for every set partition with those sizes.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from agora.market.distributions import ValueDistribution, parse_spec
from agora.market.errors import InputError
from agora.market.k_items.mechanisms import check_market, ipm_price, optimal_welfare, theorem1_factor
from agora.market.k_items.solver import convolve_all, demand_pmf, expected_min
from agora.market.k_items.utility import lambda_of


@dataclass(frozen=True)
class ProportionalDemand:
    """Asks for ceil(tau D) items when D of its buyers are worth the price."""

    tau: float

    def __post_init__(self):
        if not 0.0 < self.tau <= 1.0:
            raise InputError(f"tau must be in (0, 1], got {self.tau}")

    def asks(self, d: np.ndarray, b: int) -> np.ndarray:
        return np.ceil(self.tau * d - 1e-12).astype(int)

    def tau_of(self, b: int) -> float:
        return self.tau

    def describe(self) -> str:
        return f"buys for ceil({self.tau:g} D) of its D buyers above the price"


@dataclass(frozen=True)
class CapacityLimited:
    """Asks for min(D, cap) items: it can serve at most ``cap`` buyers."""

    cap: int

    def __post_init__(self):
        if self.cap < 1:
            raise InputError(f"a capacity must be >= 1, got {self.cap}")

    def asks(self, d: np.ndarray, b: int) -> np.ndarray:
        return np.minimum(d, self.cap)

    def tau_of(self, b: int) -> float:
        """min over D of min(D, cap) / D = min(1, cap / b)."""
        return min(1.0, self.cap / b)

    def describe(self) -> str:
        return f"serves at most {self.cap} buyers"


def integer_partitions(n: int, largest: int | None = None) -> Iterator[tuple[int, ...]]:
    """Block-size multisets of n, largest block first."""
    largest = n if largest is None else largest
    if n == 0:
        yield ()
        return
    for first in range(min(n, largest), 0, -1):
        for rest in integer_partitions(n - first, first):
            yield (first, *rest)


def block_count(sizes: tuple[int, ...]) -> int:
    """How many set partitions of n = sum(sizes) buyers have these block sizes."""
    n = sum(sizes)
    out = math.factorial(n)
    for b in sizes:
        out //= math.factorial(b)
    for b in set(sizes):
        out //= math.factorial(sizes.count(b))
    return out


def asked_pmf(model, b: int, q: float) -> np.ndarray:
    """P[g(D) = a] for D ~ Binomial(b, q)."""
    pmf = demand_pmf(b, q)
    asked = model.asks(np.arange(b + 1), b)
    return np.bincount(asked, weights=pmf, minlength=b + 1)


def posted_revenue(dist: ValueDistribution | str, sizes, k: int, price: float, model) -> float:
    """p E[min(sum_l g(D_l), k)], exact (module doc)."""
    dist = parse_spec(dist)
    q = float(dist.prob_at_least(price))
    return price * expected_min(convolve_all(asked_pmf(model, b, q) for b in sizes), k)


@dataclass(frozen=True)
class PartitionSweep:
    """Theorem 1 over every demand structure of n buyers for one partition-dependent model."""

    model: str
    n: int
    k: int
    distribution: str
    structures: int
    min_ratio: float
    max_ratio: float
    argmin_sizes: tuple[int, ...]
    tau_at_argmin: float
    guarantee_at_argmin: float
    min_margin: float  # min over structures of ratio - (its own tau) c(lambda)/2^[k∤n] (1 - 1/e)


def sweep_partition_model(dist: ValueDistribution | str, n: int, k: int, model) -> PartitionSweep:
    """Revenue / Wel(F) of the posted price p_R on every demand structure (Theorem 1), each
    against the guarantee with its own tau = min_l tau_l."""
    dist = parse_spec(dist)
    check_market(n, k)
    lam = lambda_of(dist)
    price, wel = ipm_price(dist, n, k), optimal_welfare(dist, n, k)
    rows = []
    for sizes in integer_partitions(n):
        ratio = posted_revenue(dist, sizes, k, price, model) / wel
        tau = min(model.tau_of(b) for b in sizes)
        rows.append((ratio, sizes, tau, theorem1_factor(lam, n, k, tau)))
    worst = min(rows)
    return PartitionSweep(model.describe(), n, k, dist.spec, sum(block_count(r[1]) for r in rows),
                          worst[0], max(r[0] for r in rows), worst[1], worst[2], worst[3],
                          min(r[0] - r[3] for r in rows))
