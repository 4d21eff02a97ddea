"""Support-only knowledge (thesis Section 1.3): the Vickrey mechanism against every ex-post IC/IR mechanism.

When only the support V^I is known, P = P_0(V^I) and (MDP) reduces to the
robust problem (RMDP) (Proposition 1.3.1): maximize min_{v in V^I} Σ_i m_i(v)
subject to ex-post IC and IR. On a finite support V = {v_1 < ... < v_m} every
constraint is linear in the allocation q(v) and the payments m(v), so (RMDP)
and the statements around it are LPs (HiGHS through scipy.optimize.linprog):

* :func:`robust_design_lp` - (RMDP); Theorem 1.3.1: its value is the Vickrey
  mechanism's worst case, min_v v_(2) = v_1;
* :func:`dominance_lp` - Definition 1.3.1: the largest total gain Σ_v (Σ_i
  m_i(v) - v_(2)) over mechanisms earning at least the Vickrey revenue v_(2)
  in every scenario (so also its worst case: they are optimal in (RMDP));
* :func:`scenario_revenue_lp` - the largest revenue in one scenario over
  efficient mechanisms (Proposition 1.3.3), or over those dominating Vickrey;
* :func:`efficient_mechanism_spread` - how much efficient mechanisms with one
  revenue per scenario can differ (the uniqueness in Corollary 1.3.1).

Finite supports against the interval. Propositions 1.3.2 and 1.3.3 are proved
for V = [v_low, v̄]: both proofs lower the winner's value to just above the
second-highest value. A finite support has no value there, so a winner whose
tie is broken against him can be charged the next support point above v_(2):
among efficient mechanisms the largest revenue in scenario v is v_(2) if the
highest value is shared and the least support point above v_(2) otherwise
(:func:`efficient_scenario_revenue`), and :func:`critical_price_mechanism`
(the winner pays the least support value at which he still wins) dominates
Vickrey by that gap, at most the support's largest spacing. It is the
finite support's form of Corollary 1.3.1: optimal, efficient and dominated
by no ex-post IC/IR mechanism, and pinned down by its revenues away from tied
tops. It is not unique: each tie-breaking rule has its critical prices (a
bidder who loses a tie at v_(2) pays the next support point when he wins just
above it), with other revenues; all of them lie between v_(2) and the
per-scenario maximum, at most a spacing apart, so on the interval only the
Vickrey revenues remain. Mechanisms that also randomize the allocation gain
more over Vickrey in some scenarios (and earn less than the critical prices in
others); the largest such gain, :func:`scenario_revenue_lp` with
``efficient=False``, falls as the support is refined, towards the
propositions' statement on the interval.
Proposition 1.3.2 also needs v_low > 0: with v_low = 0, selling to bidder 2 at
v̄ when v_1 = 0 (and Vickrey otherwise) is ex-post IC/IR on [0, v̄] too and
beats Vickrey by v̄ at (0, v̄), on every support (the proof's δ of (1.18) is 0
when the second-highest value is 0).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from scipy import sparse

from agora.market.robust.design import (
    DESIGN_BYTES_PER_CONSTRAINT,
    DESIGN_SECONDS_PER_CONSTRAINT,
    MAX_DESIGN_CONSTRAINTS,
    DesignLP,
    _profiles,
    _solve,
)
from agora.market.robust.lp import check_lp_size, largest_fitting
from agora.market.robust.mechanisms import RobustInputError

#: Largest support LP solved, in constraints (the IC rows dominate).
MAX_SUPPORT_CONSTRAINTS = MAX_DESIGN_CONSTRAINTS


def support_points(support) -> np.ndarray:
    """The support {v_1 < ... < v_m} as a sorted array: >= 2 distinct finite values >= 0."""
    v = np.asarray(support, dtype=float).ravel()
    if v.size < 2 or not np.all(np.isfinite(v)) or np.any(v < 0.0) or np.unique(v).size != v.size:
        raise RobustInputError(f"a value support needs >= 2 distinct finite values >= 0, got {list(support)}")
    return np.sort(v)


def _bidders(bidders) -> int:
    if isinstance(bidders, bool) or int(bidders) != bidders or bidders < 2:
        raise RobustInputError(f"the support-only problem needs a whole number of bidders >= 2, got {bidders}")
    return int(bidders)


def support_constraints(points: int, bidders: int) -> int:
    """Rows of the ex-post LP: inventory, IR per bidder and IC against the m - 1 other reports."""
    return points ** bidders * (1 + bidders * points)


@dataclass(frozen=True)
class SupportProblem:
    """The profiles V^I of a finite support and linear constraints ``a_ub x <= b_ub`` on mechanisms.

    :func:`support_problem` fills them with ex-post IC/IR and the inventory;
    :mod:`agora.market.robust.independent_design` with (IC-D)/(IR-D) per law.

    x = (q_1, ..., q_I, m_1, ..., m_I), each a block over the profiles (rows
    of ``values``, row-major in the support indices).
    """

    support: np.ndarray
    values: np.ndarray
    a_ub: sparse.csr_matrix
    b_ub: np.ndarray

    @property
    def bidders(self) -> int:
        return self.values.shape[1]

    @property
    def profiles(self) -> int:
        return self.values.shape[0]

    @property
    def variables(self) -> int:
        return 2 * self.bidders * self.profiles

    def revenue_rows(self) -> sparse.csr_matrix:
        """Σ_i m_i(v), one row per profile, over the variables x."""
        n_p, n_b = self.profiles, self.bidders
        cols = n_b * n_p + np.arange(n_b)[:, None] * n_p + np.arange(n_p)[None, :]
        return sparse.csr_matrix((np.ones(n_b * n_p), (np.tile(np.arange(n_p), n_b), cols.ravel())),
                                 shape=(n_p, self.variables))

    def vickrey_revenue(self) -> np.ndarray:
        """The Vickrey mechanism's revenue per profile: the second-highest value (Definition 1.2.10)."""
        return np.sort(self.values, axis=1)[:, -2]

    def efficient_bounds(self) -> list[tuple]:
        """Bounds of x that leave the good only to highest bidders (Q^eff, Definition 1.2.5)."""
        low = self.values < self.values.max(axis=1, keepdims=True)
        q = [(0.0, 0.0) if off else (0.0, None) for off in low.T.ravel()]
        return q + [(None, None)] * (self.bidders * self.profiles)

    def sale_rows(self) -> sparse.csr_matrix:
        """Σ_i q_i(v), one row per profile (efficiency sells with probability one)."""
        n_p, n_b = self.profiles, self.bidders
        cols = np.arange(n_b)[:, None] * n_p + np.arange(n_p)[None, :]
        return sparse.csr_matrix((np.ones(n_b * n_p), (np.tile(np.arange(n_p), n_b), cols.ravel())),
                                 shape=(n_p, self.variables))

    def mechanism(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Allocation and payments of shape (bidders, profiles) from the variables x."""
        n = self.bidders * self.profiles
        return x[:n].reshape(self.bidders, -1), x[n:2 * n].reshape(self.bidders, -1)


def support_problem(support, bidders: int = 2,
                    max_constraints: int = MAX_SUPPORT_CONSTRAINTS) -> SupportProblem:
    """Ex-post IC, IR and Σ_i q_i <= 1 on the support's I-fold profiles (the constraints of (RMDP)).

    IR: m_i(v) - q_i(v) v_i <= 0; IC: q_i(w, v_-i) v_i - m_i(w, v_-i) - q_i(v) v_i + m_i(v) <= 0
    for every other support value w; q >= 0 is left to the bounds.
    """
    v, n_b = support_points(support), _bidders(bidders)
    n = len(v)
    rows = support_constraints(n, n_b)
    if rows > max_constraints:
        check_lp_size(rows, max_constraints, f"the support LP for {n_b} bidders on {n} support points",
                      largest_fitting(lambda k: support_constraints(k, n_b), max_constraints),
                      DESIGN_SECONDS_PER_CONSTRAINT, DESIGN_BYTES_PER_CONSTRAINT, unit="LP constraints")
    idx = _profiles(n, n_b)
    values = v[idx]
    n_p = len(values)
    n_var = 2 * n_b * n_p
    prof = np.arange(n_p)
    q_cols = np.arange(n_b)[:, None] * n_p + prof[None, :]
    m_cols = n_b * n_p + q_cols
    stride = n ** (n_b - 1 - np.arange(n_b))
    parts = [sparse.csr_matrix((np.ones(n_b * n_p), (np.tile(prof, n_b), q_cols.ravel())), shape=(n_p, n_var)),
             sparse.csr_matrix((np.concatenate([np.ones(n_b * n_p), -values.T.ravel()]),
                                (np.tile(np.arange(n_b * n_p), 2), np.concatenate([m_cols.ravel(), q_cols.ravel()]))),
                               shape=(n_b * n_p, n_var))]
    for i in range(n_b):
        own = idx[:, i]
        p_i, k_w = np.nonzero(own[:, None] != np.arange(n)[None, :])  # true profile, reported index
        w_i = p_i + (k_w - own[p_i]) * stride[i]
        k = len(p_i)
        vv = values[p_i, i]
        parts.append(sparse.csr_matrix(
            (np.concatenate([vv, -np.ones(k), -vv, np.ones(k)]),
             (np.tile(np.arange(k), 4), np.concatenate([q_cols[i, w_i], m_cols[i, w_i], q_cols[i, p_i],
                                                        m_cols[i, p_i]]))),
            shape=(k, n_var)))
    a_ub = sparse.vstack(parts).tocsr()
    b_ub = np.concatenate([np.ones(n_p), np.zeros(a_ub.shape[0] - n_p)])
    return SupportProblem(v, values, a_ub, b_ub)


def _free_bounds(problem: SupportProblem) -> list[tuple]:
    n = problem.bidders * problem.profiles
    return [(0.0, None)] * n + [(None, None)] * n


def robust_design_lp(support, bidders: int = 2) -> DesignLP:
    """(RMDP) on a finite support: max t subject to t <= Σ_i m_i(v) at every profile, ex-post IC/IR.

    Theorem 1.3.1 (Bandi and Bertsimas 2014): the Vickrey mechanism is optimal,
    so the value is min_v v_(2) = v_1.
    """
    started = time.perf_counter()
    pb = support_problem(support, bidders)
    epigraph = sparse.hstack([-pb.revenue_rows(), np.ones((pb.profiles, 1))])
    a_ub = sparse.vstack([sparse.hstack([pb.a_ub, np.zeros((pb.a_ub.shape[0], 1))]), epigraph]).tocsr()
    b_ub = np.concatenate([pb.b_ub, np.zeros(pb.profiles)])
    c = np.zeros(pb.variables + 1)
    c[-1] = -1.0
    res = _solve(c, a_ub, b_ub, None, None, _free_bounds(pb) + [(None, None)], "the support-only LP (RMDP)")
    q, m = pb.mechanism(res.x)
    return DesignLP(value=float(-res.fun), grid=pb.support, profiles=pb.values, allocation=q, payments=m,
                    variables=pb.variables + 1, status=res.message, seconds=time.perf_counter() - started)


@dataclass(frozen=True)
class Dominance:
    """The most a mechanism gains over Vickrey while losing in no scenario (Definition 1.3.1)."""

    total_gain: float
    gains: np.ndarray
    mechanism: DesignLP


def dominance_lp(support, bidders: int = 2, reference=None) -> Dominance:
    """max Σ_v (Σ_i m_i(v) - R(v)) subject to Σ_i m_i(v) >= R(v) for every v and ex-post IC/IR.

    R is ``reference`` (revenue per profile, in the order of the profiles), by
    default the Vickrey revenue v_(2). The value is 0 exactly when the mechanism
    earning R is Pareto robustly optimal (Definition 1.3.1). Against Vickrey the
    feasible mechanisms also reach its worst case, so they are optimal in (RMDP);
    on the interval Proposition 1.3.2 makes the value 0, on a finite support it
    is positive (see the module docstring).
    """
    started = time.perf_counter()
    pb = support_problem(support, bidders)
    rev = pb.revenue_rows()
    floor = pb.vickrey_revenue() if reference is None else _per_profile(pb, reference)
    a_ub = sparse.vstack([pb.a_ub, -rev]).tocsr()
    res = _solve(-np.asarray(rev.sum(axis=0)).ravel(), a_ub, np.concatenate([pb.b_ub, -floor]), None, None,
                 _free_bounds(pb), "the dominance LP of Definition 1.3.1")
    q, m = pb.mechanism(res.x)
    gains = rev @ res.x - floor
    lp = DesignLP(value=float(gains.sum()), grid=pb.support, profiles=pb.values, allocation=q, payments=m,
                  variables=pb.variables, status=res.message, seconds=time.perf_counter() - started)
    return Dominance(float(gains.sum()), gains, lp)


def _per_profile(pb: SupportProblem, revenue) -> np.ndarray:
    """A revenue per profile of ``pb`` (finite, in the profiles' order)."""
    r = np.asarray(revenue, dtype=float)
    if r.shape != (pb.profiles,) or not np.all(np.isfinite(r)):
        raise RobustInputError(f"the reference revenue needs one finite value per profile ({pb.profiles}), "
                               f"got shape {r.shape}")
    return r


def efficient_mechanism_spread(support, revenue, bidders: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """How far efficient ex-post IC/IR mechanisms earning ``revenue`` in every scenario can differ.

    For every allocation q_i(v) and payment m_i(v): its largest minus its
    smallest value over those mechanisms (two LPs each), shape (bidders,
    profiles). Zero everywhere means one mechanism; Corollary 1.3.1 on the
    interval: the Vickrey mechanism, unique up to the tie-breaking rule.
    """
    pb = support_problem(support, bidders)
    a_eq = sparse.vstack([pb.sale_rows(), pb.revenue_rows()]).tocsr()
    b_eq = np.concatenate([np.ones(pb.profiles), _per_profile(pb, revenue)])
    bounds = pb.efficient_bounds()
    spread = np.empty(pb.variables)
    for j in range(pb.variables):
        c = np.zeros(pb.variables)
        c[j] = 1.0
        low = _solve(c, pb.a_ub, pb.b_ub, a_eq, b_eq, bounds, "the efficient-mechanism range LP").fun
        high = -_solve(-c, pb.a_ub, pb.b_ub, a_eq, b_eq, bounds, "the efficient-mechanism range LP").fun
        spread[j] = high - low
    return pb.mechanism(spread)


def _profile_index(pb: SupportProblem, profile) -> int:
    p = np.asarray(profile, dtype=float).ravel()
    hit = np.flatnonzero(np.all(pb.values == p[None, :], axis=1)) if p.size == pb.bidders else []
    if len(hit) != 1:
        raise RobustInputError(f"the scenario {list(profile)} must list one support value "
                               f"{list(pb.support)} per bidder")
    return int(hit[0])


def scenario_revenue_lp(support, profile, efficient: bool = True) -> float:
    """max Σ_i m_i(v) at the scenario v = ``profile`` over ex-post IC/IR mechanisms.

    ``efficient=True``: over efficient mechanisms (Proposition 1.3.3: on the
    interval the value is the Vickrey revenue v_(2)); ``efficient=False``: over
    mechanisms earning at least v_(2) in every scenario (Proposition 1.3.2: on
    the interval the value is v_(2) as well).
    """
    pb = support_problem(support, len(np.ravel(profile)))
    k = _profile_index(pb, profile)
    rev = pb.revenue_rows()
    if efficient:
        a_ub, b_ub, a_eq, b_eq, bounds = pb.a_ub, pb.b_ub, pb.sale_rows(), np.ones(pb.profiles), pb.efficient_bounds()
    else:
        a_ub = sparse.vstack([pb.a_ub, -rev]).tocsr()
        b_ub, a_eq, b_eq, bounds = np.concatenate([pb.b_ub, -pb.vickrey_revenue()]), None, None, _free_bounds(pb)
    res = _solve(-rev[k].toarray().ravel(), a_ub, b_ub, a_eq, b_eq, bounds,
                 f"the revenue LP at the scenario {list(profile)}")
    return float(-res.fun)


def efficient_scenario_revenue(support, profile) -> float:
    """The largest revenue of an efficient ex-post IC/IR mechanism at v on a finite support.

    v_(2) if the highest value is shared (IR: Σ m <= Σ q v = v_(1)); otherwise
    the least support point above v_(2), the winner's critical value when ties
    at v_(2) go to another bidder (IC against that report, IR there).
    """
    v = support_points(support)
    top, second = np.sort(np.asarray(profile, dtype=float))[[-1, -2]]
    return float(second if top == second else v[np.searchsorted(v, second, side="right")])


def second_price(support, bidders: int = 2, reserve: float = 0.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Profiles, allocation and payments of the second price auction with reserve r (Definition 1.2.9).

    The lowest-index highest bidder wins if his value is >= r and pays
    max(max_{j≠i} v_j, r); r = 0 is the Vickrey mechanism (Definition 1.2.10).
    """
    v, n_b = support_points(support), _bidders(bidders)
    values = v[_profiles(len(v), n_b)]
    return values, *_winner_pays(values, values.max(axis=1) >= reserve, _others_max(values, reserve))


def critical_price_mechanism(support, bidders: int = 2) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Profiles, allocation and payments of the efficient mechanism charging critical values.

    The lowest-index highest bidder wins and pays the least support value at
    which he would still win: max_{j≠i} v_j if every rival with that value has
    a higher index, else the next support point above it.
    """
    v, n_b = support_points(support), _bidders(bidders)
    values = v[_profiles(len(v), n_b)]
    rivals = _others_max(values, 0.0)
    ahead = np.array([[np.any(values[p, :i] == rivals[p, i]) for i in range(n_b)] for p in range(len(values))])
    nxt = v[np.minimum(np.searchsorted(v, rivals, side="right"), len(v) - 1)]
    return values, *_winner_pays(values, np.ones(len(values), bool), np.where(ahead, nxt, rivals))


def _others_max(values: np.ndarray, floor: float) -> np.ndarray:
    """max(max_{j≠i} v_j, floor) for every profile and bidder i."""
    return np.stack([np.maximum(np.delete(values, i, axis=1).max(axis=1), floor)
                     for i in range(values.shape[1])], axis=1)


def _winner_pays(values: np.ndarray, sells: np.ndarray, price: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The lowest-index highest bidder gets the good where ``sells`` and pays his ``price``."""
    winner = np.argmax(values, axis=1)
    q = np.zeros(values.shape[::-1])
    q[winner, np.arange(len(values))] = sells
    return q, q * price.T


def ex_post_violation(values: np.ndarray, allocation: np.ndarray, payments: np.ndarray) -> float:
    """The largest violation of ex-post IR, IC (every unilateral report) and 0 <= Σ_i q_i <= 1.

    Brute force over the profiles, independent of the LP's constraint matrix.
    """
    where = {tuple(row): k for k, row in enumerate(values)}
    support = np.unique(values)
    worst = max(float(-allocation.min()), float(allocation.sum(axis=0).max() - 1.0))
    for k, row in enumerate(values):
        for i, vi in enumerate(row):
            truth = allocation[i, k] * vi - payments[i, k]
            worst = max(worst, -truth)
            for w in support:
                lie = where[tuple(np.where(np.arange(len(row)) == i, w, row))]
                worst = max(worst, allocation[i, lie] * vi - payments[i, lie] - truth)
    return worst
