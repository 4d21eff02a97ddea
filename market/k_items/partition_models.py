"""Intermediaries whose demand depends on how buyers are grouped, and Theorem 1 / Corollary 2
over every demand structure for them (intermediary-proof-mechanisms, Condition 3, Theorem 1,
Corollary 2, Equation 1).

At the uniform price p an intermediary holding b buyers sees D ~ Binomial(b, q) of them with
values >= p, q = P[v >= p], and asks for g(D) items:

* :class:`ProportionalDemand` -- exactly ceil(tau D) of them;
* :class:`CapacityLimited` -- at most ``cap`` items, min(D, cap).

Both buy only for buyers worth at least p, so they never pay more than their buyers' values
(Conditions 1-2). Condition 3 holds for a block of b buyers with
tau_l = min over 1 <= d <= b of g(d) / d (:func:`block_tau`): ceil(tau d) / d >= tau, with equality
once tau d is an integer for some d <= b, and min(1, cap / b) for a capacity. Since ceil and min do
not add over blocks, the revenue p E[min(sum_l g(D_l), k)] depends on the partition, not only on n;
it is exact here (the pmf of each g(D_l) pushed forward from the binomial, convolved over blocks).
Buyers are i.i.d., so the revenue depends only on the block sizes: each integer partition of n is
solved once and stands for every set partition with those sizes.

Fee contracts (Equation 1, U_l = alpha_l(v_l, x, P) V(x, P; v_l), alpha_l in (0, 1]) need no model
here when the share does not vary with the deal (x, P) -- a bargaining power, or an auditing fee
levied as a share of the surplus, constant or depending on the buyers' values v_l: at the price p,
V(x, x p; v_l) rises strictly in x up to D_l = #{i in pi(l): v_i >= p} and falls strictly after
(each further item costs p and serves a buyer worth less, or none), and multiplying by
alpha_l(v_l) > 0 keeps the argmax, so the intermediary asks for exactly D_l (the paper's tau_l = 1).
The items asked for in all, sum_l D_l = #{i: v_i >= p} ~ Binomial(n, q), and so the revenue
p E[min(Binomial(n, q), k)], are the same on every partition. A share that falls with the order is
another matter: :class:`GrowingFee` (alpha = 1/(1 + x)) stops short of D_l on some value profiles
(tau_l < 1), and its revenue depends on the partition.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np
from scipy import integrate, special

from agora.market.distributions import Exponential, Uniform, ValueDistribution, parse_spec
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

    def asked_matrix(self, b: int, dist: ValueDistribution, price: float) -> np.ndarray:
        return deterministic_matrix(self.asks(np.arange(b + 1), b))

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

    def asked_matrix(self, b: int, dist: ValueDistribution, price: float) -> np.ndarray:
        return deterministic_matrix(self.asks(np.arange(b + 1), b))

    def describe(self) -> str:
        return f"serves at most {self.cap} buyers"


def deterministic_matrix(asked: np.ndarray) -> np.ndarray:
    """M[d, a] = 1{g(d) = a} for a demand rule g of the count d = 0..b alone."""
    out = np.zeros((asked.size, asked.size))
    out[np.arange(asked.size), asked] = 1.0
    return out


def _irwin_hall_cdf(y: float, x: int) -> float:
    """P[U_1 + ... + U_x <= y] for i.i.d. U[0, 1] (closed form)."""
    if y >= x:
        return 1.0
    j = np.arange(math.floor(y) + 1)
    return float(np.sum((-1.0) ** j * special.comb(x, j) * (y - j) ** x) / math.factorial(x))


@dataclass(frozen=True)
class GrowingFee:
    """Equation 1 with a share that falls with the order: U = V / (1 + x), an auditing fee that
    takes a larger part of the surplus the more items are bought.

    With excesses w_(1) >= ... >= w_(D) of its D buyers over the price, U(x) = W_x / (1 + x)
    (W_x = w_(1) + ... + w_(x)) rises from x to x + 1 iff h(x) = (x + 1) w_(x+1) - W_x >= 0, and
    h(x + 1) - h(x) = (x + 2)(w_(x+2) - w_(x+1)) <= 0, so g(D) >= x + 1 iff h(x) >= 0. Given
    w_(x+1) = t the x larger excesses are i.i.d. over t, and the event is that their excesses over t
    sum to at most t. Exact (one quadrature over the Beta(D - x, x + 1) law of the (x+1)-th largest
    quantile) for laws whose excess over the price is scale-free: uniform (Irwin-Hall sum) and
    exponential (Gamma(x) sum, memoryless).
    """

    def asked_matrix(self, b: int, dist: ValueDistribution, price: float) -> np.ndarray:
        cond = self._conditional(dist, price)
        out = np.zeros((b + 1, b + 1))
        out[0, 0] = 1.0
        for d in range(1, b + 1):
            at_least = [1.0] + [_order_integral(cond, d, x) for x in range(1, d)] + [0.0]
            out[d, 1:d + 1] = -np.diff(at_least)
        return out

    @staticmethod
    def _conditional(dist: ValueDistribution, price: float):
        """P[x excesses over the (x+1)-th largest sum to at most it], given its quantile u."""
        if isinstance(dist, Uniform) and price >= dist.lo:
            return lambda u, x: _irwin_hall_cdf(u / (1.0 - u), x) if u < 1.0 else 1.0
        if isinstance(dist, Exponential) and price >= 0.0:
            return lambda u, x: float(special.gammainc(x, -math.log1p(-u))) if u < 1.0 else 1.0
        raise InputError(f"the growing fee is solved exactly on uniform laws (price >= their low end) and "
                         f"exponential ones; got {dist.spec} at price {price:g}")

    def describe(self) -> str:
        return "fee contract alpha = 1/(1 + x) (Equation 1)"


def _order_integral(cond, d: int, x: int) -> float:
    """E[cond(u, x)] for u ~ Beta(d - x, x + 1), the quantile of the (x+1)-th largest of d."""
    a, b = d - x, x + 1
    val, _ = integrate.quad(lambda u: u ** (a - 1) * (1.0 - u) ** (b - 1) * cond(u, x), 0.0, 1.0,
                            epsabs=1e-13, epsrel=1e-11, limit=200)
    return val / special.beta(a, b)


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


def asked_pmf(model, b: int, dist: ValueDistribution, price: float) -> np.ndarray:
    """P[g = a] for a block of b buyers, D ~ Binomial(b, P[v >= price]) of them above the price."""
    return demand_pmf(b, float(dist.prob_at_least(price))) @ _matrix(model, b, dist.spec, price)


@functools.lru_cache(maxsize=1024)
def _matrix(model, b: int, spec: str, price: float) -> np.ndarray:
    """P[g = a | D = d] of one model, block size, law and price, solved once."""
    return model.asked_matrix(b, parse_spec(spec), price)


def posted_revenue(dist: ValueDistribution | str, sizes, k: int, price: float, model) -> float:
    """p E[min(sum_l g(D_l), k)], exact (module doc)."""
    dist = parse_spec(dist)
    return price * expected_min(convolve_all(asked_pmf(model, b, dist, price) for b in sizes), k)


def block_tau(model, b: int, dist: ValueDistribution | str, price: float) -> float:
    """Condition 3's tau_l at the price for a block of b buyers: min over 1 <= d <= b of
    E[g | D = d] / d."""
    means = _matrix(model, b, parse_spec(dist).spec, price) @ np.arange(b + 1)
    return float(np.min(means[1:] / np.arange(1, b + 1)))


@dataclass(frozen=True)
class Structure:
    """One block-size multiset: its ratio revenue / Wel(F), tau = min_l tau_l and guarantee."""

    sizes: tuple[int, ...]
    ratio: float
    tau: float
    guarantee: float  # tau c(lambda)/2^[k∤n] (1 - 1/e) (Theorem 1; Corollary 2 when k | n)

    @property
    def slack(self) -> float:
        return self.ratio - self.guarantee


@dataclass(frozen=True)
class PartitionSweep:
    """Theorem 1 / Corollary 2 over every demand structure of n buyers for one model."""

    model: str
    n: int
    k: int
    distribution: str
    lam: float
    rows: tuple[Structure, ...]

    @property
    def result(self) -> str:
        return "Corollary 2" if self.n % self.k == 0 else "Theorem 1"

    @property
    def structures(self) -> int:
        """How many set partitions the rows stand for (Bell(n))."""
        return sum(block_count(r.sizes) for r in self.rows)

    @property
    def min_ratio(self) -> float:
        return min(r.ratio for r in self.rows)

    @property
    def max_ratio(self) -> float:
        return max(r.ratio for r in self.rows)

    @property
    def worst(self) -> Structure:
        """The structure of least revenue."""
        return min(self.rows, key=lambda r: r.ratio)

    @property
    def tightest(self) -> Structure:
        """The structure closest to its own guarantee (least ratio - guarantee)."""
        return min(self.rows, key=lambda r: r.slack)


@functools.lru_cache(maxsize=512)
def _benchmarks(spec: str, n: int, k: int) -> tuple[float, float, float]:
    """lambda, p_R = E[v(1, ceil(n/k))] (Definition 7) and Wel(F) (Definition 4) of one market."""
    return lambda_of(spec), ipm_price(spec, n, k), optimal_welfare(spec, n, k)


def sweep_partition_model(dist: ValueDistribution | str, n: int, k: int, model) -> PartitionSweep:
    """Revenue / Wel(F) of the posted price p_R on every demand structure (Theorem 1), each
    against the guarantee with its own tau = min_l tau_l."""
    spec = parse_spec(dist).spec
    check_market(n, k)
    lam, price, wel = _benchmarks(spec, n, k)
    rows = []
    for sizes in integer_partitions(n):
        tau = min(block_tau(model, b, spec, price) for b in sizes)
        rows.append(Structure(sizes, posted_revenue(spec, sizes, k, price, model) / wel, tau,
                              theorem1_factor(lam, n, k, tau)))
    return PartitionSweep(model.describe(), n, k, spec, lam, tuple(rows))


def sweep_space(laws: Iterable[str], max_n: int, models) -> list[PartitionSweep]:
    """Every sweep over the laws, 1 <= k <= n <= max_n and the models: the space searched for the
    tightest instance (least ratio - guarantee)."""
    return [sweep_partition_model(law, n, k, model) for law in laws for n in range(1, max_n + 1)
            for k in range(1, n + 1) for model in models]
