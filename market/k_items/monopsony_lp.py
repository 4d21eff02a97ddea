"""The revenue-optimal mechanism for the monopsony on a finite value grid, as a linear program.

When all n buyers sit behind one surplus-maximizing intermediary (Section 3's utilities,
``U(x, p; v) = sum of the x highest values - p``), the seller faces a single agent whose value for
x <= k items is ``V_x = v^(1,n) + ... + v^(x,n)``. Its type is therefore the sorted top-k profile
``(v^(1,n), ..., v^(k,n))``: two value profiles with the same top k have the same utility for every
lottery and payment, so an optimal mechanism may give them the same option (if not, give both the
dearer of their two options: they are indifferent between them, revenue does not fall).

Each type t gets a lottery ``q_t`` over the number of items (x = 0..k) and a payment ``p_t >= 0``;
the LP maximizes ``sum_t P(t) p_t`` subject to IR (``q_t . V_t - p_t >= 0``) and IC between every
ordered pair (``q_t . V_t - p_t >= q_s . V_t - p_s``), the (IC)/(IR) system of Section 2 for one
intermediary. The pairs are added as they are violated (a relaxation whose optimum is IC on every
pair is optimal for the full LP); the returned mechanism is checked on all pairs.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linprog
from scipy.sparse import coo_matrix, vstack
from scipy.stats import binom

from agora.market.distributions import ValueDistribution, parse_spec
from agora.market.errors import InputError

#: Largest IC gain tolerated when a solution is accepted (HiGHS's feasibility tolerance is 1e-7).
IC_TOLERANCE = 1e-7
POSITIONS = {"lower": 0.0, "mid": 0.5, "upper": 1.0}


@dataclass(frozen=True)
class GridLaw:
    """A finite law: increasing ``points`` with probabilities ``probs``."""

    points: np.ndarray
    probs: np.ndarray


def quantile_grid(dist: ValueDistribution | str, size: int, position: str = "mid") -> GridLaw:
    """``size`` equal-probability points ``F^-1((i + o) / size)``, i = 0..size-1.

    ``o = 1/2`` (mid) is the quantile midpoint rule; ``o = 0`` (lower) gives a law first-order
    dominated by F, ``o = 1`` (upper, bounded support only) one that dominates F.
    """
    dist = parse_spec(dist) if isinstance(dist, str) else dist
    if position not in POSITIONS:
        raise InputError(f"grid position '{position}' is not one of {', '.join(POSITIONS)}")
    if not isinstance(size, int) or size < 1:
        raise InputError(f"grid size {size!r} must be an integer >= 1")
    u = (np.arange(size) + POSITIONS[position]) / size
    points = np.asarray(dist.ppf(u), dtype=float)
    if not np.all(np.isfinite(points)):
        raise InputError(f"grid position '{position}' needs a bounded support; {dist} is not bounded")
    merged, inverse = np.unique(points, return_inverse=True)
    probs = np.bincount(inverse, minlength=len(merged)) / size
    return GridLaw(merged, probs)


@dataclass(frozen=True)
class MonopsonyTypes:
    """The intermediary's types: sorted top-k grid indices, their probabilities and ``V_x``."""

    n: int
    k: int
    law: GridLaw
    indices: np.ndarray  # T x k grid indices, non-increasing along a row
    probs: np.ndarray  # T
    values: np.ndarray  # T x (k + 1): V_0 = 0, V_x = sum of the x highest values

    @property
    def size(self) -> int:
        return len(self.probs)


def type_count(grid: int, n: int, k: int) -> int:
    """Number of sorted top-k profiles of n values on a grid of ``grid`` points: C(grid + k - 1, k)."""
    return math.comb(grid + min(k, n) - 1, min(k, n))


def top_k_probability(top: tuple[int, ...], law: GridLaw, n: int) -> float:
    """P(the k highest of n i.i.d. grid draws are the grid points ``top``, non-increasing).

    With j the lowest index in ``top`` (c copies) and ``c_i`` copies of each higher index, the other
    ``r = n - sum c_i`` draws all lie at or below point j (probability ``F_j^r``), at least c of them
    at j (a binomial tail with success ``p_j / F_j``); evaluated in logarithms, so large n is exact
    to rounding.
    """
    p = law.probs
    j = top[-1]
    higher = {i: top.count(i) for i in set(top) if i > j}
    r = n - sum(higher.values())
    at_most_j = float(p[:j + 1].sum())
    log = (math.lgamma(n + 1) - math.lgamma(r + 1) - sum(math.lgamma(c + 1) for c in higher.values())
           + sum(c * math.log(p[i]) for i, c in higher.items()) + r * math.log(at_most_j)
           + float(binom.logsf(top.count(j) - 1, r, min(1.0, p[j] / at_most_j))))
    return math.exp(log)


def monopsony_types(law: GridLaw, n: int, k: int) -> MonopsonyTypes:
    """Every top-k profile of n draws from ``law`` (k <= n items are worth selling, footnote 13)."""
    if not isinstance(n, int) or n < 1:
        raise InputError(f"buyers {n!r} must be an integer >= 1")
    if not isinstance(k, int) or not 1 <= k <= n:
        raise InputError(f"items {k!r} must be an integer in 1..{n} (the number of buyers)")
    tops = list(itertools.combinations_with_replacement(range(len(law.points) - 1, -1, -1), k))
    indices = np.array(tops, dtype=int).reshape(len(tops), k)
    probs = np.array([top_k_probability(t, law, n) for t in tops])
    values = np.hstack([np.zeros((len(tops), 1)), np.cumsum(law.points[indices], axis=1)])
    return MonopsonyTypes(n, k, law, indices, probs, values)


@dataclass(frozen=True)
class Mechanism:
    """A direct mechanism for the monopsony: per type a lottery over 0..k items and a payment."""

    types: MonopsonyTypes
    lotteries: np.ndarray  # T x (k + 1), rows on the simplex
    payments: np.ndarray  # T

    @property
    def revenue(self) -> float:
        return float(self.types.probs @ self.payments)

    def utilities(self) -> np.ndarray:
        """``U[t, s]``: type t's utility from reporting s."""
        return self.types.values @ self.lotteries.T - self.payments[None, :]


@dataclass(frozen=True)
class Violation:
    """The largest gain from misreporting (``report`` = -1: from opting out, IR)."""

    gain: float
    true_type: int
    report: int


def largest_violation(mech: Mechanism) -> Violation:
    """Largest IC gain ``U[t, s] - U[t, t]`` over all pairs and IR gain ``-U[t, t]`` over types."""
    u = mech.utilities()
    own = np.diag(u)
    gains = u - own[:, None]
    t, s = np.unravel_index(int(np.argmax(gains)), gains.shape)
    ir = int(np.argmin(own))
    if -own[ir] > gains[t, s]:
        return Violation(float(-own[ir]), ir, -1)
    return Violation(float(gains[t, s]), int(t), int(s))


@dataclass(frozen=True)
class OptimalMechanism:
    mechanism: Mechanism
    revenue: float
    pairs: int  # IC pairs in the final relaxation
    rounds: int
    violation: Violation


def _constraints(types: MonopsonyTypes, pairs: np.ndarray):
    """Rows ``A z <= 0`` for IR and the IC ``pairs`` (t, s); z = (q_t,1..k for all t, p_t for all t)."""
    T, k = types.size, types.k
    V = types.values[:, 1:]
    col_q = lambda t: (t[:, None] * k + np.arange(k)[None, :])  # noqa: E731
    pay = lambda t: T * k + t  # noqa: E731
    rows, cols, vals = [], [], []
    ids = np.arange(T)
    rows += [np.repeat(ids, k), ids]  # IR: -q_t . V_t + p_t <= 0
    cols += [col_q(ids).ravel(), pay(ids)]
    vals += [-V.ravel(), np.ones(T)]
    if len(pairs):
        t, s = pairs[:, 0], pairs[:, 1]
        r = T + np.arange(len(pairs))  # IC: -q_t . V_t + p_t + q_s . V_t - p_s <= 0
        rows += [np.repeat(r, k), r, np.repeat(r, k), r]
        cols += [col_q(t).ravel(), pay(t), col_q(s).ravel(), pay(s)]
        vals += [-V[t].ravel(), np.ones(len(pairs)), V[t].ravel(), -np.ones(len(pairs))]
    n_rows = T + len(pairs)
    simplex = coo_matrix((np.ones(T * k), (np.repeat(ids, k), col_q(ids).ravel())), shape=(T, T * k + T))
    a = coo_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                   shape=(n_rows, T * k + T))
    return a.tocsr(), simplex.tocsr()


def _solve(types: MonopsonyTypes, pairs: np.ndarray) -> Mechanism:
    T, k = types.size, types.k
    a, simplex = _constraints(types, pairs)
    cost = np.concatenate([np.zeros(T * k), -types.probs])
    res = linprog(cost, A_ub=vstack([a, simplex]).tocsr(), b_ub=np.concatenate([np.zeros(a.shape[0]), np.ones(T)]),
                  bounds=(0, None), method="highs")
    if res.status != 0:
        raise RuntimeError(f"HiGHS did not solve the monopsony LP: {res.message}")
    q = res.x[:T * k].reshape(T, k)
    lotteries = np.hstack([np.clip(1.0 - q.sum(axis=1, keepdims=True), 0.0, 1.0), q])
    return Mechanism(types, lotteries, res.x[T * k:])


def optimal_mechanism(types: MonopsonyTypes, per_round: int = 32, max_rounds: int = 200) -> OptimalMechanism:
    """Revenue-optimal mechanism by HiGHS, IC pairs added where violated.

    Starts from the IC pairs between neighbouring types in the sorted order; each round adds, per
    type, its ``per_round`` most profitable misreports above ``IC_TOLERANCE``.
    """
    T = types.size
    order = np.arange(T)
    pairs = np.vstack([np.column_stack([order[:-1], order[1:]]), np.column_stack([order[1:], order[:-1]])])
    for rounds in range(1, max_rounds + 1):
        mech = _solve(types, pairs)
        gains = mech.utilities() - np.diag(mech.utilities())[:, None]
        np.fill_diagonal(gains, 0.0)
        worst = np.argsort(-gains, axis=1)[:, :per_round]
        t = np.repeat(np.arange(T), worst.shape[1])
        s = worst.ravel()
        keep = gains[t, s] > IC_TOLERANCE
        if not keep.any():
            return OptimalMechanism(mech, mech.revenue, len(pairs), rounds, largest_violation(mech))
        pairs = np.unique(np.vstack([pairs, np.column_stack([t[keep], s[keep]])]), axis=0)
    raise RuntimeError(f"the monopsony LP still violated IC after {max_rounds} rounds of added pairs")


def bundle_mechanism(types: MonopsonyTypes, price: float) -> Mechanism:
    """All k items for ``price`` (Proposition 3's bundle): types with ``V_k >= price`` buy."""
    buy = types.values[:, -1] >= price
    lotteries = np.zeros((types.size, types.k + 1))
    lotteries[buy, -1], lotteries[~buy, 0] = 1.0, 1.0
    return Mechanism(types, lotteries, np.where(buy, price, 0.0))


def best_bundle(types: MonopsonyTypes) -> Mechanism:
    """The bundle at the best price on the grid (a price equal to some type's ``V_k``)."""
    return max((bundle_mechanism(types, p) for p in np.unique(types.values[:, -1])), key=lambda m: m.revenue)


def item_price_mechanism(types: MonopsonyTypes, price: float) -> Mechanism:
    """A uniform per-item price: the intermediary buys one item per buyer worth at least ``price``
    (its top-k profile decides how many, at most k), paying ``price`` for each."""
    v = types.law.points[types.indices]
    x = (v >= price).sum(axis=1)
    lotteries = np.zeros((types.size, types.k + 1))
    lotteries[np.arange(types.size), x] = 1.0
    return Mechanism(types, lotteries, price * x)


def best_item_price(types: MonopsonyTypes) -> Mechanism:
    """The uniform per-item price at the best grid point."""
    return max((item_price_mechanism(types, p) for p in types.law.points), key=lambda m: m.revenue)
