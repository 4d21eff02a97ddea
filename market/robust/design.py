"""Mechanism-design LPs of the thesis on value grids (HiGHS through scipy.optimize.linprog).

Each LP optimizes over *mechanisms* (allocation and payment rules on a grid of
value profiles), not over nature's distributions for one fixed mechanism as
:mod:`agora.market.robust.lp` does:

* :func:`revenue_design_lp` - (1.11): max λ + μ Σσ_i over allocations q and
  (λ, σ) with Σ_i m_i(v) >= λ + σ·v at every grid profile, over all
  mechanisms, restricted to highest-bidder lotteries (1.11c) or to efficient
  mechanisms (Theorem 1.5.1);
* :func:`pricing_design_lp` - (2.6): Chapter 2's minimax regret for one buyer
  and J items on the grid V_n of Lemma 2.3.2, with IR and every pairwise IC
  constraint;
* :func:`auction_design_lp` - (3.1): Chapter 3's minimax regret for I bidders
  and J items, dominant-strategy IC, ex-post IR and the inventory constraint
  (:mod:`agora.market.robust.separation` checks Theorem 3.3.1's separation on it).

Discrete types bound the continuum: the Chapter 2/3 LPs keep the mechanism
free but let nature use grid values only, so z_n* <= z* (Lemma 2.3.2) and z_n*
rises on nested grids; in (1.11) every continuum mechanism restricted to the
grid stays feasible (its payment q v - ∫_0^v q is at most the grid's
q(g_k) g_k - Σ_{l<k} q(g_l)(g_{l+1} - g_l) since q increases), so the LP
value is an upper bound on the continuum optimum, falling on nested grids.
:func:`extrapolate` estimates the limit of such a sequence.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
from scipy import sparse
from scipy.optimize import linprog

from agora.market.robust.lp import GridError, check_lp_size, largest_fitting
from agora.market.robust.mechanisms import MarkovSet, _items

#: Largest design LP (1.11) solved (variables): about a minute with HiGHS on one core.
MAX_DESIGN_VARIABLES = 20_000
#: Cost of (1.11) over all mechanisms per variable, measured with HiGHS' interior point on
#: I = 2 bidders and a 65-point grid (16,903 variables: 41 s, about 60 MB above the interpreter).
DESIGN_SECONDS_PER_VARIABLE = 2.5e-3
DESIGN_BYTES_PER_VARIABLE = 4e3
#: Largest (2.6)/(3.1) solved, in constraints (their IC rows dominate), and their cost per row,
#: measured on (3.1) with I = 3 bidders and a 9-point grid (19,683 IC rows: 4.2 s).
MAX_DESIGN_CONSTRAINTS = 300_000
DESIGN_SECONDS_PER_CONSTRAINT = 2.5e-4
DESIGN_BYTES_PER_CONSTRAINT = 1e3


@dataclass(frozen=True)
class DesignLP:
    """An optimal mechanism of a design LP on a grid.

    ``allocation`` and ``payments`` have shape (bidders or items, profiles) in
    the order of ``profiles`` (rows of grid values); for (2.6), one buyer, the
    payments have one row.
    """

    value: float
    grid: np.ndarray
    profiles: np.ndarray
    allocation: np.ndarray
    payments: np.ndarray
    variables: int
    status: str
    seconds: float
    method: str = field(default="scipy.optimize.linprog HiGHS")

    @property
    def points(self) -> int:
        return len(self.grid)



def _grid_points(points) -> int:
    """A design grid's number of points: a whole number >= 2."""
    if isinstance(points, bool) or int(points) != points or points < 2:
        raise GridError(f"a design grid needs a whole number of points >= 2, got {points}")
    return int(points)

def _solve(c, a_ub, b_ub, a_eq, b_eq, bounds, what: str, method: str = "highs"):
    res = linprog(c, A_ub=a_ub, b_ub=b_ub, A_eq=a_eq, b_eq=b_eq, bounds=bounds, method=method)
    if res.status != 0:
        raise GridError(f"HiGHS could not solve {what}: {res.message}")
    return res


def _profiles(points: int, dims: int) -> np.ndarray:
    """All index tuples into a grid of ``points`` values, row-major (the last column fastest)."""
    return np.stack(np.meshgrid(*[np.arange(points)] * dims, indexing="ij"), -1).reshape(-1, dims)


def revenue_design_variables(points: int, bidders: int) -> int:
    """Variables of (1.11) on an n-point grid: q and the rents U per bidder and profile, λ, σ."""
    return 2 * bidders * points ** bidders + 1 + bidders


def _design_guard(variables: int, size, what: str, limit: int) -> None:
    check_lp_size(variables, limit, what, largest_fitting(size, limit),
                  DESIGN_SECONDS_PER_VARIABLE, DESIGN_BYTES_PER_VARIABLE)


def _constraint_guard(rows: int, size, what: str, limit: int) -> None:
    check_lp_size(rows, limit, what, largest_fitting(size, limit), DESIGN_SECONDS_PER_CONSTRAINT,
                  DESIGN_BYTES_PER_CONSTRAINT, unit="LP constraints")


def require_revenue_design_size(points: int, bidders: int, max_variables: int = MAX_DESIGN_VARIABLES) -> None:
    """Refuse (1.11) on ``points`` values for ``bidders`` above ``max_variables``, naming the largest grid."""
    _design_guard(revenue_design_variables(points, bidders), lambda n: revenue_design_variables(n, bidders),
                  f"the design LP (1.11) for {bidders} bidders on a {points}-point grid", max_variables)


def require_pricing_design_size(points: int, items: int, max_constraints: int = MAX_DESIGN_CONSTRAINTS) -> None:
    """Refuse (2.6) on ``points`` values per item above ``max_constraints``, naming the largest grid."""
    _constraint_guard(pricing_design_constraints(points, items), lambda n: pricing_design_constraints(n, items),
                      f"the design LP (2.6) for {items} item{'s' * (items != 1)} on a {points}-point grid",
                      max_constraints)


def revenue_design_lp(ambiguity: MarkovSet, points: int, lottery: bool = False,
                      max_variables: int = MAX_DESIGN_VARIABLES, efficient: bool = False) -> DesignLP:
    """(1.11) on the grid of ``points`` equally spaced values in [0, v̄], all n^I profiles.

    Variables: q_i(v) >= 0 with Σ_i q_i(v) <= 1, increasing in v_i (ex-post
    monotone, Q^{m-p}); the rent U_i(v) = Σ_{l<k} q_i(g_l, v_-i)(g_{l+1} - g_l)
    (v_i = g_k), kept by the recursion U_i(g_{k+1}) = U_i(g_k) + Δ_k q_i(g_k);
    λ free, σ >= 0. Revenue Σ_i (q_i v_i - U_i) >= λ + σ·v at every profile
    (1.11b); ``lottery=True`` adds (1.11c): q_i = 0 unless i is the highest
    bidder (lowest index among ties); ``efficient=True`` restricts to Q^eff
    (Definition 1.2.5): the good always sold, only to highest bidders, ties
    split freely (Theorem 1.5.1: then the Vickrey mechanism is optimal). The
    value is max λ + μ Σσ_i.
    """
    if lottery and efficient:
        raise GridError("the design LP (1.11) takes lottery=True or efficient=True, not both")
    n_b, mu = ambiguity.bidders, ambiguity.mean
    points = _grid_points(points)
    require_revenue_design_size(points, n_b, max_variables)
    started = time.perf_counter()
    g = np.linspace(0.0, ambiguity.upper, points)
    idx = _profiles(points, n_b)
    n_p = len(idx)
    values = g[idx]
    rows = np.arange(n_p)
    q_col = lambda i: i * n_p + rows  # noqa: E731 - column maps of the variable vector
    u_col = lambda i: (n_b + i) * n_p + rows  # noqa: E731
    lam, sig0 = 2 * n_b * n_p, 2 * n_b * n_p + 1
    n_var = sig0 + n_b
    stride = points ** (n_b - 1 - np.arange(n_b))  # flat index step of bidder i's own value
    ub_parts, eq_parts = [], []
    # (1.11b): λ + σ·v - Σ_i (v_i q_i - U_i) <= 0
    r_idx = np.concatenate([rows] * (2 * n_b + 1 + n_b))
    c_idx = np.concatenate([q_col(i) for i in range(n_b)] + [u_col(i) for i in range(n_b)]
                           + [np.full(n_p, lam)] + [np.full(n_p, sig0 + i) for i in range(n_b)])
    vals = np.concatenate([-values[:, i] for i in range(n_b)] + [np.ones(n_p)] * n_b
                          + [np.ones(n_p)] + [values[:, i] for i in range(n_b)])
    ub_parts.append(sparse.csr_matrix((vals, (r_idx, c_idx)), shape=(n_p, n_var)))
    # inventory Σ_i q_i <= 1
    ub_parts.append(sparse.csr_matrix((np.ones(n_b * n_p), (np.tile(rows, n_b),
                                       np.concatenate([q_col(i) for i in range(n_b)]))), shape=(n_p, n_var)))
    gap = np.diff(g)
    for i in range(n_b):
        up = np.flatnonzero(idx[:, i] < points - 1)  # profiles whose own value has a next grid point
        nxt = up + stride[i]
        k = len(up)
        # monotone: q_i(g_k) - q_i(g_{k+1}) <= 0
        ub_parts.append(sparse.csr_matrix((np.concatenate([np.ones(k), -np.ones(k)]),
                                           (np.tile(np.arange(k), 2), np.concatenate([q_col(i)[up], q_col(i)[nxt]]))),
                                          shape=(k, n_var)))
        # rents: U_i(next) - U_i(this) - Δ q_i(this) = 0, and U_i = 0 at the lowest own value
        low = np.flatnonzero(idx[:, i] == 0)
        eq_parts.append(sparse.csr_matrix(
            (np.concatenate([np.ones(k), -np.ones(k), -gap[idx[up, i]], np.ones(len(low))]),
             (np.concatenate([np.arange(k)] * 3 + [k + np.arange(len(low))]),
              np.concatenate([u_col(i)[nxt], u_col(i)[up], q_col(i)[up], u_col(i)[low]]))),
            shape=(k + len(low), n_var)))
    a_ub = sparse.vstack(ub_parts).tocsr()
    b_ub = np.concatenate([np.zeros(n_p), np.ones(n_p), np.zeros(a_ub.shape[0] - 2 * n_p)])
    if efficient:  # Σ_i q_i = 1 at every profile
        eq_parts.append(ub_parts[1])
    a_eq = sparse.vstack(eq_parts).tocsr()
    b_eq = np.zeros(a_eq.shape[0])
    if efficient:
        b_eq[-n_p:] = 1.0
    winner = np.argmax(values, axis=1)
    low_bidder = values < values.max(axis=1, keepdims=True)
    bounds = np.array([(0.0, None)] * n_var, dtype=object)
    for i in range(n_b):
        if lottery or efficient:
            off = winner != i if lottery else low_bidder[:, i]
            bounds[q_col(i)[off]] = [(0.0, 0.0)] * int(np.sum(off))
        bounds[u_col(i)] = [(None, None)] * n_p
    bounds[lam] = (None, None)
    c = np.zeros(n_var)
    c[lam], c[sig0:] = -1.0, -mu
    what = "the design LP (1.11)" + (" over highest-bidder lotteries" if lottery else
                                     " over efficient mechanisms" if efficient else "")
    # over all mechanisms the LP is degenerate: interior point (with crossover) is several times faster
    method = "highs" if lottery or efficient else "highs-ipm"
    res = _solve(c, a_ub, b_ub, a_eq, b_eq, [tuple(b) for b in bounds], what, method)
    q = res.x[:n_b * n_p].reshape(n_b, n_p)
    rent = res.x[n_b * n_p:2 * n_b * n_p].reshape(n_b, n_p)
    return DesignLP(value=float(-res.fun), grid=g, profiles=values, allocation=q, payments=q * values.T - rent,
                    variables=n_var, status=res.message, seconds=time.perf_counter() - started,
                    method=f"scipy.optimize.linprog {method}")


def pricing_design_constraints(points: int, items: int) -> int:
    """Constraints of (2.6): epigraph and IR per profile, IC per ordered pair of profiles."""
    n_p = points ** items
    return n_p * (n_p + 1)


def pricing_design_lp(upper, cost=None, points: int = 33,
                      max_constraints: int = MAX_DESIGN_CONSTRAINTS) -> DesignLP:
    """(2.6): z_n* = min r over mechanisms on V_n, n = ``points`` - 1 (Lemma 2.3.2's grid).

    V_n = ×_j {c_j + k (v̄_j - c_j)/n : k = 0..n}; r >= Σ_j (v_j - c_j)^+ - m(v) + q(v)·c,
    IR q(v)·v - m(v) >= 0, IC q(v)·v - m(v) >= q(w)·v - m(w) for all v != w, 0 <= q <= 1.
    Since V_n lies in V, z_n* <= z* = (1/e) Σ (v̄_j - c_j)^+ (Theorem 2.3.1, Remark 2.3.1).

    An item with c_j >= v̄_j (Remark 2.3.1) takes the grid {k v̄_j/n} of
    [0, v̄_j], where its benchmark term (v_j - c_j)^+ is 0; its allocation stays
    a free variable, so the LP itself decides whether selling it helps
    (Remark 2.3.1: it does not, the value is the market's without that item).
    """
    vbar, c = _items(upper, cost, costs_above=True)
    n_j = len(vbar)
    points = _grid_points(points)
    require_pricing_design_size(points, n_j, max_constraints)
    started = time.perf_counter()
    steps = np.linspace(0.0, 1.0, points)
    low = np.where(c < vbar, c, 0.0)  # each item's grid starts at its cost, or at 0 off sale
    axes = low + steps[:, None] * (vbar - low)  # (points, J)
    values = axes[_profiles(points, n_j), np.arange(n_j)]
    n_p = len(values)
    rows = np.arange(n_p)
    m_col, r_col = n_j * n_p, (n_j + 1) * n_p
    n_var = r_col + 1
    q_cols = np.arange(n_j)[:, None] * n_p + rows[None, :]  # (J, P)
    # epigraph: -r - m(v) + q(v)·c <= -Σ (v - c)^+
    epi = sparse.csr_matrix((np.concatenate([-np.ones(n_p), -np.ones(n_p), np.repeat(c, n_p)]),
                             (np.concatenate([rows, rows, np.tile(rows, n_j)]),
                              np.concatenate([np.full(n_p, r_col), m_col + rows, q_cols.ravel()]))),
                            shape=(n_p, n_var))
    # IR: m(v) - q(v)·v <= 0
    ir = sparse.csr_matrix((np.concatenate([np.ones(n_p), -values.T.ravel()]),
                            (np.concatenate([rows, np.tile(rows, n_j)]),
                             np.concatenate([m_col + rows, q_cols.ravel()]))),
                           shape=(n_p, n_var))
    # IC for type v against report w: q(w)·v - m(w) - q(v)·v + m(v) <= 0
    v_i, w_i = np.nonzero(~np.eye(n_p, dtype=bool))
    k = len(v_i)
    ic_rows = np.arange(k)
    ic = sparse.csr_matrix(
        (np.concatenate([values[v_i].T.ravel(), -np.ones(k), -values[v_i].T.ravel(), np.ones(k)]),
         (np.concatenate([np.tile(ic_rows, n_j), ic_rows, np.tile(ic_rows, n_j), ic_rows]),
          np.concatenate([q_cols[:, w_i].ravel(), m_col + w_i, q_cols[:, v_i].ravel(), m_col + v_i]))),
        shape=(k, n_var))
    a_ub = sparse.vstack([epi, ir, ic]).tocsr()
    b_ub = np.concatenate([-np.clip(values - c, 0.0, None).sum(axis=1), np.zeros(n_p + k)])
    bounds = [(0.0, 1.0)] * (n_j * n_p) + [(None, None)] * n_p + [(None, None)]
    cost_vec = np.zeros(n_var)
    cost_vec[r_col] = 1.0
    res = _solve(cost_vec, a_ub, b_ub, None, None, bounds, "the design LP (2.6)")
    return DesignLP(value=float(res.fun), grid=axes[:, 0], profiles=values,
                    allocation=res.x[:n_j * n_p].reshape(n_j, n_p), payments=res.x[m_col:r_col][None, :],
                    variables=n_var, status=res.message, seconds=time.perf_counter() - started)


def price_cdf_distance(design: DesignLP, rule) -> float:
    """sup over the grid of |q_n(v) - F*(v)| between LP (2.6)'s allocation and (2.3)'s price CDF.

    A posted price drawn from F sells item j to a buyer of value v_j with
    probability F_j(v_j), so (2.3)'s allocation q*_j(v) = 1 + ln((v_j - c_j)/(v̄_j - c_j))
    on [c_j + (v̄_j - c_j)/e, v̄_j] is the CDF of ``rule`` (a
    :class:`~agora.market.robust.mechanisms.RandomPostedPrice`); the LP's
    allocation on the grid is the CDF, at the grid values, of the posted-price
    distribution the grid mechanism randomizes over (Theorem 2.3.1).
    """
    return float(np.abs(design.allocation.T - rule.cdf(design.profiles)).max())


def auction_design_constraints(points: int, bidders: int, items: int = 1) -> int:
    """Constraints of (3.1): per profile the epigraph, J inventory rows, and per bidder IR
    and one IC row for each of his n^J - 1 other reports."""
    types = points ** items
    return types ** bidders * (1 + items + bidders * types)


def _auction_bidders(bidders) -> int:
    if isinstance(bidders, bool) or int(bidders) != bidders or bidders < 1:
        raise GridError(f"the auction design LP needs a whole number of bidders >= 1, got {bidders}")
    return int(bidders)


def auction_design_lp(bidders: int, upper=1.0, points: int = 17,
                      max_constraints: int = MAX_DESIGN_CONSTRAINTS) -> DesignLP:
    """(3.1): min r over mechanisms for I bidders and J items on the grid {k v̄_j/(n-1)} per item.

    ``upper`` is v̄ (one item) or the sequence (v̄_1, ..., v̄_J). A bidder's
    type is his row v^i of item values, one of n^J; a profile is one type per
    bidder. r >= Σ_j max_i v_j^i - Σ_i m^i(v); IR Σ_j q_j^i v_j^i - m^i >= 0;
    dominant-strategy IC against every other grid report w^i (all n^J - 1 of
    them, not only neighbours, since types are multidimensional); inventory
    Σ_i q_j^i <= 1 per item, q >= 0. Nature is confined to the grid, so the
    value is at most z* = Σ_j v̄_j/e (Theorem 3.3.1), for every I
    (Corollary 3.3.1). Nothing forces separation (Definition 3.3.1): bundled
    allocations and payments are admitted.

    For one item (scalar ``upper``) ``allocation`` and ``payments`` have shape
    (I, profiles) and ``profiles`` (profiles, I); for J items ``allocation`` is
    (I, J, profiles) and ``profiles`` (profiles, I, J).
    """
    n_b, points = _auction_bidders(bidders), _grid_points(points)
    vbar = np.atleast_1d(np.asarray(upper, float))
    if vbar.ndim != 1 or not np.all((vbar > 0.0) & np.isfinite(vbar)):
        raise GridError(f"the upper bounds of values must be finite and > 0, got {vbar.tolist()}")
    n_j = len(vbar)
    _constraint_guard(auction_design_constraints(points, n_b, n_j),
                      lambda n: auction_design_constraints(n, n_b, n_j),
                      f"the design LP (3.1) for {n_b} bidders and {n_j} item{'s' * (n_j != 1)} "
                      f"on a {points}-point grid", max_constraints)
    started = time.perf_counter()
    types = np.linspace(0.0, 1.0, points)[_profiles(points, n_j)] * vbar  # (T, J) item values of a type
    n_t = len(types)
    idx = _profiles(n_t, n_b)  # each bidder's type index
    values = types[idx]  # (P, I, J)
    n_p = len(values)
    rows = np.arange(n_p)
    q_cols = (np.arange(n_b * n_j)[:, None] * n_p + rows[None, :]).reshape(n_b, n_j, n_p)
    m_cols = (n_b * n_j + np.arange(n_b))[:, None] * n_p + rows[None, :]
    r_col = (n_b * n_j + n_b) * n_p
    n_var = r_col + 1
    stride = n_t ** (n_b - 1 - np.arange(n_b))
    val_q = values.transpose(1, 2, 0)  # (I, J, P), aligned with q_cols
    parts = [  # epigraph -r - Σ m^i(v) <= -Σ_j max_i v_j^i ; inventory Σ_i q_j^i <= 1 ; IR m^i - q^i·v^i <= 0
        sparse.csr_matrix((-np.ones(n_p * (n_b + 1)), (np.tile(rows, n_b + 1),
                           np.concatenate([np.full(n_p, r_col), m_cols.ravel()]))), shape=(n_p, n_var)),
        sparse.csr_matrix((np.ones(n_p * n_b * n_j), (np.tile(np.arange(n_j * n_p), n_b), q_cols.ravel())),
                          shape=(n_j * n_p, n_var)),
        sparse.csr_matrix((np.concatenate([np.ones(n_p * n_b), -val_q.ravel()]),
                           (np.concatenate([np.arange(n_b * n_p), np.repeat(np.arange(n_b), n_j * n_p) * n_p
                                            + np.tile(rows, n_b * n_j)]),
                            np.concatenate([m_cols.ravel(), q_cols.ravel()]))), shape=(n_b * n_p, n_var))]
    parts += [_ic_rows(idx[:, i], stride[i], n_t, values[:, i], q_cols[i], m_cols[i], n_var)
              for i in range(n_b)]
    a_ub = sparse.vstack(parts).tocsr()
    b_ub = np.concatenate([-values.max(axis=1).sum(axis=1), np.ones(n_j * n_p), np.zeros(a_ub.shape[0]
                                                                                         - (1 + n_j) * n_p)])
    bounds = [(0.0, None)] * (n_b * n_j * n_p) + [(None, None)] * (n_b * n_p + 1)
    cost_vec = np.zeros(n_var)
    cost_vec[r_col] = 1.0
    # several items: the IC rows grow as n^(2J); interior point is several times faster there
    method = "highs" if n_j == 1 else "highs-ipm"
    res = _solve(cost_vec, a_ub, b_ub, None, None, bounds, "the design LP (3.1)", method)
    q = res.x[:n_b * n_j * n_p].reshape(n_b, n_j, n_p)
    one = np.ndim(upper) == 0
    axes = np.linspace(0.0, 1.0, points)[:, None] * vbar  # (n, J) each item's grid
    return DesignLP(value=float(res.fun), grid=axes[:, 0] if one else axes,
                    profiles=values[:, :, 0] if one else values, allocation=q[:, 0] if one else q,
                    payments=res.x[n_b * n_j * n_p:r_col].reshape(n_b, n_p), variables=n_var,
                    status=res.message, seconds=time.perf_counter() - started,
                    method=f"scipy.optimize.linprog {method}")


def _ic_rows(own, stride: int, n_t: int, vals, q_cols, m_cols, n_var: int):
    """A bidder's (IC) rows q^i(w, v^-i)·v^i - m^i(w, v^-i) - q^i(v)·v^i + m^i(v) <= 0 for all w != v^i.

    ``own`` is the bidder's type index per profile, ``vals`` (P, J) his values, ``q_cols`` (J, P)
    and ``m_cols`` (P,) his variables' columns.
    """
    v_i, k_w = np.nonzero(own[:, None] != np.arange(n_t)[None, :])  # profile v, reported type w
    w_i = v_i + (k_w - own[v_i]) * stride
    k = len(v_i)
    r = np.arange(k)
    vv = vals[v_i].T  # (J, k)
    n_j = len(q_cols)
    return sparse.csr_matrix(
        (np.concatenate([vv.ravel(), -np.ones(k), -vv.ravel(), np.ones(k)]),
         (np.concatenate([np.tile(r, n_j), r, np.tile(r, n_j), r]),
          np.concatenate([q_cols[:, w_i].ravel(), m_cols[w_i], q_cols[:, v_i].ravel(), m_cols[v_i]]))),
        shape=(k, n_var))


@dataclass(frozen=True)
class Extrapolation:
    """The limit of values V(h) on nested grids (h shrinking by ``ratio``), as V(h) = V0 + C h^p.

    With a known ``rate`` p (first order, p = 1, for the grids' O(h) payment
    and type discretization) V0 is Richardson's extrapolation of the last two
    values; with ``rate=None`` p is fitted to the last three. ``error`` is the
    change of V0 from the previous values (one grid fewer).
    """

    limit: float
    rate: float
    error: float
    values: tuple[float, ...]
    method: str


def _richardson(v: list[float], ratio: float, rate: float | None) -> tuple[float, float]:
    """(V0, p) from the last two values (p given) or the last three (p fitted)."""
    if rate is not None:
        return v[-1] + (v[-1] - v[-2]) / (ratio ** rate - 1.0), rate
    d1, d2 = v[-3] - v[-2], v[-2] - v[-1]
    if d1 == 0.0 or d2 == 0.0 or d1 * d2 < 0.0:
        raise GridError("the values on the nested grids are not strictly monotone; cannot fit a rate")
    p = math.log(d1 / d2) / math.log(ratio)
    return v[-1] - d2 / (ratio ** p - 1.0), p


def extrapolate(values, ratio: float = 2.0, rate: float | None = None) -> Extrapolation:
    """Extrapolate values on grids whose step shrinks by ``ratio`` each time.

    Needs one value more than the fit uses (3 with a known rate, 4 fitted), for the error.
    """
    v = [float(x) for x in values]
    need = 3 if rate is not None else 4
    if len(v) < need:
        raise GridError(f"extrapolation needs values on at least {need} nested grids, got {len(v)}")
    limit, p = _richardson(v, ratio, rate)
    error = abs(limit - _richardson(v[:-1], ratio, rate)[0])
    how = (f"Richardson extrapolation, known rate h^{rate:g}" if rate is not None
           else "Richardson extrapolation, rate fitted to the last three grids")
    return Extrapolation(limit, p, error, tuple(v), how)


def nested_points(coarsest: int, grids: int) -> list[int]:
    """Grid sizes n, 2n - 1, 4n - 3, ...: each grid contains the previous one, the step halves."""
    return [(coarsest - 1) * 2 ** k + 1 for k in range(grids)]
