"""Worst cases of a given mechanism over an ambiguity set discretized on a grid (HiGHS LPs).

Revenue (thesis Proposition 1.5.4): nature picks a distribution of value
profiles on a grid G^I, G ⊂ [0, v̄], with every bidder's mean >= μ, to
minimize the mechanism's expected revenue R(v) = Σ_i m_i(v):

    (1.7)  min Σ_v P(v) R(v)  s.t.  Σ_v P(v) = 1,  Σ_v P(v) v_i >= μ ∀i,  P >= 0
    (1.8)  max λ + μ Σ_i σ_i  s.t.  λ + Σ_i σ_i v_i <= R(v) ∀v ∈ G^I,  σ >= 0

Both are solved and must agree (strong duality on a finite grid). For a
symmetric mechanism (R invariant under permuting bidders) averaging a worst
case over permutations is again a worst case, so nature may be taken
symmetric: one variable per multiset of grid values (C(n+I-1, I) instead of
n^I), one mean constraint, and σ_i = σ in the dual. Where R jumps (a
reserve), the infimum is approached from below the jump, so the grid gets a
point just below each of the mechanism's ``breakpoints()``.

Regret (Chapters 2-3): nature maximizes a mechanism's expected regret over
distributions on the grid (optionally with mean bounds), an LP of the same
shape with the sense reversed.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from scipy import sparse
from scipy.optimize import linprog

from agora.market.errors import InputError
from agora.market.robust.mechanisms import MarkovSet

#: How far below a breakpoint the refining grid point sits (relative to v̄).
BELOW_JUMP = 1e-9
#: Probabilities below this are not reported as support.
SUPPORT_TOL = 1e-10


#: Largest worst-case LP (1.7) solved: nature's variables (grid profiles, one per orbit if symmetric).
MAX_VARIABLES = 250_000
#: Cost per variable of (1.7)+(1.8) with HiGHS, measured on I = 6 bidders, a 31-point grid
#: (1.95 million variables: 216 s and 2.8 GB on one core).
SECONDS_PER_VARIABLE = 1.1e-4
BYTES_PER_VARIABLE = 1.45e3


class GridError(InputError):
    """A grid or mechanism the worst-case LPs cannot use."""


def lp_variables(points: int, bidders: int, symmetric: bool) -> int:
    """Nature's variables in (1.7): C(n + I - 1, I) orbits (symmetric) or n^I profiles."""
    return math.comb(points + bidders - 1, bidders) if symmetric else points ** bidders


def largest_fitting(size: Callable[[int], int], limit: int) -> int:
    """The largest n >= 2 with size(n) <= limit (size increasing in n), 1 if none."""
    lo, hi = 1, 2
    while size(hi) <= limit:
        lo, hi = hi, 2 * hi
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if size(mid) <= limit else (lo, mid)
    return lo


def check_lp_size(variables: int, limit: int, what: str, fits: int, seconds: float, nbytes: float,
                  unit: str = "LP variables") -> None:
    """Refuse an LP above ``limit`` (variables, or another size ``unit``) in one line: its
    estimated time and memory and the largest grid that fits."""
    if variables > limit:
        size = f"{variables:,}" if variables < 1e15 else f"about 10^{math.log10(variables):.0f}"
        guess = (f"estimated {seconds * variables:,.0f} s and {nbytes * variables / 1e9:,.1f} GB"
                 if variables < 1e15 else "far beyond any machine")
        room = (f"the largest grid that fits has {fits} points" if fits >= 2
                else "not even a 2-point grid fits")
        raise GridError(f"{what} has {size} {unit} ({guess}); the limit is {limit:,}: {room}")


def largest_grid(size: Callable[[int], int], lower: Callable[[int], int], limit: int) -> int:
    """The largest n with size(n) <= limit, where size(n) >= lower(n) and ``lower`` increases:
    no n above :func:`largest_fitting` of ``lower`` fits, and from there n is lowered until one does.

    ``size`` need not be monotone (a grid of n points gains the mean and breakpoints it lacks).
    """
    n = largest_fitting(lower, limit)
    while n > 1 and size(n) > limit:
        n -= 1
    return n


@dataclass(frozen=True)
class WorstCase:
    """The worst case of a mechanism over a gridded ambiguity set, as solved by HiGHS.

    ``support``/``probabilities`` hold nature's distribution (for the symmetric
    reduction: one representative profile per orbit, weight of the whole orbit);
    ``sigma``/``lam`` the dual (1.8) solution.
    """

    value: float
    dual_value: float
    support: np.ndarray
    probabilities: np.ndarray
    sigma: np.ndarray
    lam: float
    grid: np.ndarray
    variables: int
    symmetric: bool
    seconds: float
    method: str = field(default="scipy.optimize.linprog HiGHS, primal (1.7) and dual (1.8)")

    @property
    def duality_gap(self) -> float:
        return abs(self.value - self.dual_value)

    def atoms(self) -> tuple[np.ndarray, np.ndarray]:
        """The distribution over full profiles (orbits spread evenly over distinct permutations)."""
        if not self.symmetric:
            return self.support, self.probabilities
        pts, probs = [], []
        for row, p in zip(self.support, self.probabilities):
            perms = np.unique(np.array(list(itertools.permutations(row.tolist()))), axis=0)
            pts.extend(perms)
            probs.extend([p / len(perms)] * len(perms))
        return np.array(pts), np.array(probs)


def revenue_function(mechanism) -> Callable[[np.ndarray], np.ndarray]:
    """R(v) per profile from a mechanism with ``revenue(values)`` or a plain callable."""
    f = getattr(mechanism, "revenue", mechanism)
    if not callable(f):
        raise GridError(f"cannot evaluate {mechanism!r}: give a mechanism with revenue(values) "
                        "or a function of an array of value profiles")
    return f


def value_grid(points: int | np.ndarray, upper: float, extra=(), breakpoints=()) -> np.ndarray:
    """n equally spaced values on [0, v̄] (or the given values), plus ``extra`` values and a
    point just below each breakpoint in (0, v̄]."""
    if isinstance(points, (int, np.integer)):
        if points < 2:
            raise GridError(f"a grid needs at least 2 points, got {points}")
        g = np.linspace(0.0, upper, int(points))
    else:
        g = np.asarray(points, float).ravel()
    if g.size == 0 or np.any(g < 0.0) or np.any(g > upper * (1 + 1e-12)):
        raise GridError(f"grid values must lie in [0, {upper}]")
    add = [x for x in extra if 0.0 <= x <= upper]
    for b in breakpoints:
        if 0.0 < b <= upper:
            add += [b, b - BELOW_JUMP * upper]
    return np.unique(np.concatenate([g, np.asarray(add, float)]))


def sorted_profiles(n: int, bidders: int) -> np.ndarray:
    """All index tuples i_1 >= i_2 >= ... >= i_I into a grid of n values (one per orbit)."""
    prof = np.arange(n)[:, None]
    for _ in range(bidders - 1):
        last = prof[:, -1]
        counts = last + 1
        rep = np.repeat(prof, counts, axis=0)
        nxt = np.concatenate([np.arange(c) for c in counts])
        prof = np.column_stack([rep, nxt])
    return prof


def all_profiles(n: int, bidders: int) -> np.ndarray:
    return np.stack(np.meshgrid(*[np.arange(n)] * bidders, indexing="ij"), -1).reshape(-1, bidders)


def worst_case_revenue(mechanism, ambiguity: MarkovSet, grid: int | np.ndarray = 201,
                       symmetric: bool | None = None, max_variables: int = MAX_VARIABLES) -> WorstCase:
    """Solve (1.7) and (1.8) for ``mechanism`` over the Markov set on a grid.

    ``symmetric`` defaults to the mechanism's ``symmetric`` attribute (False if
    absent); pass False to treat bidders separately (n^I variables). A grid
    whose LP would exceed ``max_variables`` is refused (:func:`check_lp_size`)
    before anything is allocated.
    """
    started = time.perf_counter()
    f = revenue_function(mechanism)
    sym = bool(getattr(mechanism, "symmetric", False)) if symmetric is None else symmetric
    n_b, mu = ambiguity.bidders, ambiguity.mean
    breakpoints = getattr(mechanism, "breakpoints", lambda: ())()
    g = value_grid(grid, ambiguity.upper, extra=(mu,), breakpoints=breakpoints)

    def size(points: int) -> int:
        """(1.7)'s variables for ``--grid points``, counting the mean and breakpoints it gains."""
        return lp_variables(len(value_grid(points, ambiguity.upper, extra=(mu,), breakpoints=breakpoints)),
                            n_b, sym)
    check_lp_size(lp_variables(len(g), n_b, sym), max_variables,
                  f"the worst-case LP (1.7) for {n_b} bidders on a {len(g)}-point grid",
                  largest_grid(size, lambda n: lp_variables(n, n_b, sym), max_variables),
                  SECONDS_PER_VARIABLE, BYTES_PER_VARIABLE)
    idx = sorted_profiles(len(g), n_b) if sym else all_profiles(len(g), n_b)
    values = g[idx]
    rev = np.asarray(f(values), float)
    if rev.shape != (len(values),) or not np.all(np.isfinite(rev)):
        raise GridError("the mechanism's revenue must be one finite number per value profile")
    means = values.mean(axis=1)[None, :] if sym else values.T
    primal = linprog(rev, A_ub=sparse.csr_matrix(-means), b_ub=-mu * np.ones(len(means)),
                     A_eq=sparse.csr_matrix(np.ones((1, len(values)))), b_eq=[1.0],
                     bounds=(0, None), method="highs")
    if primal.status != 0:
        raise GridError(f"HiGHS could not solve the worst-case LP (1.7): {primal.message}")
    # Dual (1.8): variables (λ, σ...) ; λ + σ·v <= R(v).
    k = means.shape[0]
    coef = values.sum(axis=1)[:, None] if sym else values
    a_ub = sparse.hstack([sparse.csr_matrix(np.ones((len(values), 1))), sparse.csr_matrix(coef)]).tocsr()
    c = -np.concatenate([[1.0], mu * (n_b if sym else 1.0) * np.ones(k)])
    dual = linprog(c, A_ub=a_ub, b_ub=rev, bounds=[(None, None)] + [(0, None)] * k, method="highs")
    if dual.status != 0:
        raise GridError(f"HiGHS could not solve the dual LP (1.8): {dual.message}")
    keep = primal.x > SUPPORT_TOL
    sigma = np.repeat(dual.x[1], n_b) if sym else dual.x[1:]
    return WorstCase(value=float(primal.fun), dual_value=float(-dual.fun), support=values[keep],
                     probabilities=primal.x[keep], sigma=sigma, lam=float(dual.x[0]), grid=g,
                     variables=len(values), symmetric=sym, seconds=time.perf_counter() - started)


@dataclass(frozen=True)
class WorstRegret:
    """Nature's regret-maximizing distribution on a grid for a given mechanism."""

    value: float
    support: np.ndarray
    probabilities: np.ndarray
    variables: int
    method: str = "scipy.optimize.linprog HiGHS, max of expected regret over the grid"


def worst_case_regret(regret: Callable[[np.ndarray], np.ndarray], profiles: np.ndarray,
                      mean_lower: float | None = None) -> WorstRegret:
    """max_P Σ P(v) regret(v) over distributions on ``profiles`` (rows), optionally with
    every column's mean >= ``mean_lower``."""
    profiles = np.atleast_2d(np.asarray(profiles, float))
    z = np.asarray(regret(profiles), float)
    kw = {}
    if mean_lower is not None:
        kw = {"A_ub": sparse.csr_matrix(-profiles.T), "b_ub": -mean_lower * np.ones(profiles.shape[1])}
    res = linprog(-z, A_eq=sparse.csr_matrix(np.ones((1, len(z)))), b_eq=[1.0], bounds=(0, None),
                  method="highs", **kw)
    if res.status != 0:
        raise GridError(f"HiGHS could not solve the worst-case regret LP: {res.message}")
    keep = res.x > SUPPORT_TOL
    return WorstRegret(float(-res.fun), profiles[keep], res.x[keep], len(z))


def discretized_prices(cdf: Callable[[np.ndarray], np.ndarray], grid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A price distribution moved onto a grid: cell (g_{k-1}, g_k] goes to g_k, and P[p <= g_0] to g_0."""
    grid = np.asarray(grid, float)
    mass = np.diff(np.concatenate([[0.0], np.asarray(cdf(grid), float).ravel()]))
    return grid, np.clip(mass, 0.0, None)


def price_rule_regret(prices: np.ndarray, probabilities: np.ndarray, cost: float = 0.0):
    """Expected regret (v - c)^+ - Σ_k P_k (p_k - c) 1{p_k <= v} of a discrete random price (one item)."""
    prices, probabilities = np.asarray(prices, float), np.asarray(probabilities, float)

    def regret(values):
        v = np.asarray(values, float)[:, 0]
        sold = (prices[None, :] <= v[:, None]) * probabilities[None, :] * (prices - cost)[None, :]
        return np.clip(v - cost, 0.0, None) - sold.sum(axis=1)
    return regret


def random_price_regret_on_grid(upper: float, cost: float, points: int) -> WorstRegret:
    """Worst-case regret of the Chapter 2 random price when prices and values live on an n-point grid."""
    from agora.market.robust.mechanisms import RandomPostedPrice
    if points < 2:
        raise GridError(f"a grid needs at least 2 points, got {points}")
    rule = RandomPostedPrice.of(upper, cost)
    grid = np.linspace(0.0, upper, points)
    prices, probs = discretized_prices(lambda p: rule.cdf(p[:, None])[:, 0], grid)
    return worst_case_regret(price_rule_regret(prices, probs, cost), grid[:, None])


def regret_profiles(upper: float, bidders: int, points: int) -> np.ndarray:
    """One sorted profile per orbit of an n-point grid on [0, v̄]^I (for symmetric mechanisms)."""
    grid = np.linspace(0.0, upper, points)
    return grid[sorted_profiles(points, bidders)]

