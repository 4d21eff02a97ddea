"""Seller mechanisms for k items sold to intermediaries (intermediary-proof-mechanisms).

* :class:`ItemMenu` -- posted prices, one per item: the intermediary-proof price
  p_R = E[v(1, ceil(n/k))] on every item (Definition 7) or the heterogeneous menu
  r_j = r_{j+1} + u_j (eta_j - eta_{j+1}), u_j = E[v(1, ceil(n/j))] (Definition 9);
* :class:`UniformPriceAuction` -- the (k+1)-th-price auction with reserve phi^-1(0),
  revenue-optimal under competition (Proposition 1);
* bundles: samples of the top-k sum, the best price on them, phi_G^-1(0) (Proposition 3), and
  that price's revenue valued on a second, independent sample (:func:`price_bundle`).

The bounds of Theorems 1 and 2 and Wel(F) = sum_j eta_j E[v(j, n)] live here too.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from agora.market.distributions import ValueDistribution, parse_spec
from agora.market.errors import InputError
from agora.market.k_items.utility import c_lambda, lambda_of
from agora.market.order_stats import expected_max, expected_order_statistic

ONE_MINUS_INV_E = 1.0 - math.exp(-1.0)


def check_market(n: int, k: int) -> None:
    if n < 1:
        raise InputError(f"the market needs n >= 1 buyers, got n = {n}")
    if k < 1:
        raise InputError(f"the seller needs k >= 1 items, got k = {k}")


def check_weights(weights: Sequence[float] | None, k: int) -> tuple[float, ...]:
    """eta_1 >= ... >= eta_k >= 0 (Section 5); None means identical items (all 1)."""
    if weights is None:
        return (1.0,) * k
    w = tuple(float(x) for x in weights)
    if len(w) != k:
        raise InputError(f"--weights needs one weight per item: {k} items, got {len(w)} weights {w}")
    if any(not 0.0 <= x < math.inf for x in w) or any(a < b for a, b in zip(w, w[1:])):
        raise InputError(f"weights must be finite, >= 0 and non-increasing (eta_1 >= ... >= eta_k), got {w}")
    return w


def ipm_price(dist: ValueDistribution | str, n: int, k: int) -> float:
    """p_R = E[v(1, ceil(n/k))], the intermediary-proof price (Definition 7)."""
    check_market(n, k)
    return expected_max(dist, math.ceil(n / k))


def optimal_welfare(dist: ValueDistribution | str, n: int, k: int,
                    weights: Sequence[float] | None = None) -> float:
    """Wel(F) = sum_{j <= min(k, n)} eta_j E[v(j, n)] (Definition 4; Section 5 with weights)."""
    check_market(n, k)
    w = check_weights(weights, k)
    return sum(w[j - 1] * expected_order_statistic(dist, j, n) for j in range(1, min(k, n) + 1))


def theorem1_factor(lam: float, n: int, k: int, tau: float = 1.0) -> float:
    """tau c(lambda)/2 (1 - 1/e) (Theorem 1), without the 1/2 when k divides n (Corollary 2)."""
    half = 1.0 if n % k == 0 else 0.5
    return tau * c_lambda(lam) * half * ONE_MINUS_INV_E


def theorem2_factor(lam: float) -> float:
    """(1 - e^(-c(lambda)/2)) (1 - 1/e), the heterogeneous-items bound of Theorem 2."""
    return (1.0 - math.exp(-c_lambda(lam) / 2.0)) * ONE_MINUS_INV_E


def heterogeneous_prices(dist: ValueDistribution | str, n: int, weights: Sequence[float]) -> tuple[float, ...]:
    """r_j = r_{j+1} + u_j (eta_j - eta_{j+1}), r_{k+1} = 0, u_j = E[v(1, ceil(n/j))] (Definition 9)."""
    w = check_weights(weights, len(weights))
    check_market(n, len(w))
    eta = (*w, 0.0)
    r = [0.0] * (len(w) + 1)
    for j in range(len(w), 0, -1):
        r[j - 1] = r[j] + expected_max(dist, math.ceil(n / j)) * (eta[j - 1] - eta[j])
    return tuple(r[:-1])


@dataclass(frozen=True)
class ItemMenu:
    """Item j for ``prices[j]``, worth ``weights[j]`` v to a buyer of value v.

    ``order`` says how excess demand is settled: ``"random"`` -- all intermediaries ask
    at once and the items go to the asked-for units uniformly at random (Definition 7);
    ``"sequential"`` -- intermediaries arrive one by one in a random order and buy what
    they like from what is left (Definition 9); a tuple of intermediary indices fixes
    the order.
    """

    prices: tuple[float, ...]
    weights: tuple[float, ...]
    order: str | tuple[int, ...] = "random"
    label: str = "posted menu"

    def __post_init__(self):
        if len(self.prices) != len(self.weights) or not self.prices:
            raise InputError(f"a menu needs one price per item, got {len(self.prices)} prices "
                             f"for {len(self.weights)} items")
        if any(not 0.0 <= p < math.inf for p in self.prices):
            raise InputError(f"posted prices must be >= 0, got {self.prices}")
        check_weights(self.weights, len(self.weights))
        if isinstance(self.order, str) and self.order not in ("random", "sequential"):
            raise InputError(f"unknown order {self.order!r}; accepted: random, sequential, "
                             "or a tuple of intermediary indices")

    @property
    def k(self) -> int:
        return len(self.prices)

    @property
    def uniform(self) -> bool:
        """Identical items at one price: the demand of each intermediary is a count."""
        return len(set(self.prices)) == 1 and len(set(self.weights)) == 1

    @property
    def unit_price(self) -> float:
        """A uniform menu's price per unit of weight, prices[0] / weights[0] (inf for worthless items):
        an item worth eta v at price p is bought where a unit item would be at p / eta."""
        return self.prices[0] / self.weights[0] if self.weights[0] > 0 else math.inf

    @classmethod
    def intermediary_proof(cls, dist, n: int, k: int) -> ItemMenu:
        p = ipm_price(dist, n, k)
        return cls((p,) * k, (1.0,) * k, "random", f"intermediary-proof price {p:.6g}")

    @classmethod
    def heterogeneous(cls, dist, n: int, weights: Sequence[float], order="sequential") -> ItemMenu:
        return cls(heterogeneous_prices(dist, n, weights), check_weights(weights, len(weights)), order,
                   "intermediary-proof menu for heterogeneous items")

    @classmethod
    def posted(cls, price: float, k: int) -> ItemMenu:
        return cls((float(price),) * k, (1.0,) * k, "random", f"posted price {price:.6g}")

    def describe(self) -> str:
        return f"{self.label}: prices {[round(p, 6) for p in self.prices]}, weights {list(self.weights)}"


@dataclass(frozen=True)
class UniformPriceAuction:
    """The (k+1)-th-price auction with a reserve: the k highest bids >= reserve win, each pays
    max(reserve, the (k+1)-th highest bid). With reserve phi^-1(0) it is Myerson's optimum
    under competition (Proposition 1)."""

    k: int
    reserve: float

    def __post_init__(self):
        if self.k < 1 or not 0.0 <= self.reserve < math.inf:
            raise InputError(f"an auction needs k >= 1 items and a reserve >= 0, got k = {self.k}, "
                             f"reserve = {self.reserve}")

    @classmethod
    def myerson(cls, dist, k: int) -> UniformPriceAuction:
        dist = parse_spec(dist)
        dist.require_regular("buyer")
        return cls(k, dist.monopoly_price)

    def run(self, bids: np.ndarray, priority: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Winners (bool, same shape) and the uniform price per row for rows of bids (rounds x bids).

        Ties at the k-th bid go to the higher ``priority``.
        """
        bids = np.atleast_2d(bids)
        rows, m = bids.shape
        order = np.lexsort((-priority, -bids), axis=1)
        ranked = np.take_along_axis(bids, order, axis=1)
        rank = np.empty_like(order)
        np.put_along_axis(rank, order, np.arange(m)[None, :].repeat(rows, 0), axis=1)
        win = (rank < self.k) & (bids >= self.reserve)
        losing = ranked[:, self.k] if m > self.k else np.zeros(rows)
        price = np.where(win.any(axis=1), np.maximum(self.reserve, losing), 0.0)
        return win, price

    def describe(self) -> str:
        return f"({self.k}+1)-th-price auction, reserve {self.reserve:.6g}"


def guarantee(dist: ValueDistribution | str, n: int, k: int, tau: float,
              weights: Sequence[float] | None = None) -> dict:
    """The paper's revenue bound for this instance: Theorem 1/Corollary 2, or Theorem 2 with weights."""
    lam = lambda_of(dist)
    wel = optimal_welfare(dist, n, k, weights)
    if weights is not None and len(set(weights)) > 1:
        factor, result = theorem2_factor(lam), "Theorem 2"
    else:
        factor = theorem1_factor(lam, n, k, tau)
        result = "Corollary 2" if n % k == 0 else "Theorem 1"
    return {"guarantee": factor * wel, "factor": factor, "result": result, "lambda": lam,
            "c_lambda": c_lambda(lam), "tau": tau, "welfare": wel}


def bundle_values(dist: ValueDistribution, n: int, k: int, rounds: int, rng) -> np.ndarray:
    """Samples of the sum of the k highest of n values (the law G of Proposition 3)."""
    values = dist.rvs((rounds, n), rng)
    return -np.sort(-values, axis=1)[:, :k].sum(axis=1)


def best_bundle_price(samples: np.ndarray) -> tuple[float, float]:
    """argmax_p p P[S >= p] over the sampled bundle values S: phi_G^-1(0), and its revenue."""
    s = np.sort(samples)[::-1]
    revenue = s * np.arange(1, s.size + 1) / s.size
    i = int(np.argmax(revenue))
    return float(s[i]), float(revenue[i])


def bundle_revenue(samples: np.ndarray, price: float) -> tuple[float, float]:
    """p P[S >= p] estimated on samples of the bundle value S, and its standard error
    p sqrt(q (1 - q) / (N - 1)), q the share of samples at or above p."""
    s = np.asarray(samples, float)
    if s.ndim != 1 or s.size < 2:
        raise InputError(f"bundle revenue needs a flat sample of >= 2 bundle values, got shape {s.shape}")
    if not 0.0 <= price < math.inf:
        raise InputError(f"a bundle price must be >= 0 and finite, got {price}")
    q = float(np.mean(s >= price))
    return price * q, price * math.sqrt(q * (1.0 - q) / (s.size - 1))


@dataclass(frozen=True)
class PricedBundle:
    """All k items as one bundle: the price chosen on one sample, its revenue on another."""

    price: float
    revenue: float
    stderr: float
    samples: int
    seed: int

    @property
    def method(self) -> str:
        return (f"price = best on {self.samples} samples of the top-k sum, revenue on {self.samples} "
                f"independent ones (seed {self.seed}): unbiased for that price, <= the best bundle's revenue")


def price_bundle(dist: ValueDistribution | str, n: int, k: int, samples: int, seed: int) -> PricedBundle:
    """The bundle price phi_G^-1(0) of Proposition 3 found on one sample of G, valued on a second.

    Valuing the price on the sample that chose it overstates its revenue (the in-sample maximum of
    p P[S >= p] is biased up); the second sample, independent of the price, gives an unbiased
    estimate of the revenue of that price, which is at most the optimal bundle revenue.
    """
    dist = parse_spec(dist)
    check_market(n, k)
    choose, value = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(2))
    price, _ = best_bundle_price(bundle_values(dist, n, k, samples, choose))
    revenue, se = bundle_revenue(bundle_values(dist, n, k, samples, value), price)
    return PricedBundle(price, revenue, se, samples, seed)
