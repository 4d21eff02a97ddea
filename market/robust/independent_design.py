"""Independent values on a finite support: (MDP) with (IC-D) and (IR-D) for a finite set of laws.

With independent values every constraint of (MDP) is linear in the mechanism
for a fixed law P: bidder i of value v_i, reporting w_i, expects
Σ_{v_-i} P_-i(v_-i) u_i(w_i; v_i, v_-i), since conditioning on ṽ_i = v_i leaves
the others' law P_-i unchanged (Definition 1.2.8). For a finite ambiguity set
{P_1, ..., P_K} of independent laws on a finite support V, (IC-D) and (IR-D)
(Definitions 1.2.3-1.2.4) are one row per law, bidder, value and report, and
max_{(q,m)} min_k E_{P_k}[Σ_i m_i] is an LP (HiGHS through scipy.optimize.linprog):

* :func:`independent_design_lp` - over all mechanisms, or over efficient ones
  (Definition 1.2.5) for Theorem 1.4.1 (the Vickrey mechanism is the best
  efficient mechanism in (IMDP));
* :func:`vickrey_revenues` - E_P[v_(2)] per law from the order statistics'
  distribution, computed without the LP;
* :func:`efficiency_gap_bound` - what a finite support lets an efficient
  mechanism gain over Vickrey under one law (derivation below).

Finite support against the interval. Theorem 1.4.1's proof uses the envelope
formula u_i(v_i) = u_i(v_low) + ∫ q_i, which fixes an efficient mechanism's
revenue up to the utilities at v_low. On a grid g_0 < ... < g_{m-1} the
downward (IC-D) rows only give U_i(g_a) >= Σ_{l<a} Q_i(g_l) Δ_l (Δ_l =
g_{l+1} - g_l, Q_i the interim allocation), and an efficient allocation only
gives Q_i(g_l) >= P(M_i < g_l), M_i = max_{j≠i} ṽ_j: a winner tied with a rival
may be denied the good at the tie. Since E[v_(1) - v_(2)] = Σ_i Σ_a P(ṽ_i = g_a)
Σ_{l<a} P(M_i <= g_l) Δ_l, an efficient mechanism earns at most
E_P[v_(2)] + B_P under P, where

    B_P = Σ_i Σ_l P(ṽ_i > g_l) P(M_i = g_l) Δ_l <= max_l Δ_l,

so the LP's value (the worst case over the laws) lies in [min_k E_k[v_(2)], min_k (E_k[v_(2)] + B_k)],
and both ends meet as the support is refined, as Theorem 1.4.1 says.
"""

from __future__ import annotations

import time

import numpy as np
from scipy import sparse

from agora.market.distributions import parse_spec
from agora.market.robust.design import DesignLP, _profiles, _solve
from agora.market.robust.lp import check_lp_size, largest_fitting
from agora.market.robust.mechanisms import RobustInputError
from agora.market.robust.support_only import SupportProblem, _bidders, support_points

#: Largest LP solved, in nonzeros of its (IC-D)/(IR-D) rows (each row sums over the rivals' profiles),
#: and its cost per nonzero, measured on I = 2 bidders, two laws and 33 points (575k nonzeros: 3 to 20 s
#: on a loaded machine, 40 MB traced by tracemalloc).
MAX_INTERIM_NONZEROS = 1_000_000
INTERIM_SECONDS_PER_NONZERO = 3e-5
INTERIM_BYTES_PER_NONZERO = 200.0


def discretized_law(spec, support) -> np.ndarray:
    """A law's mass on the support: each point takes the cell between the midpoints around it.

    The outer cells reach the law's range, so the masses sum to one.
    """
    v = support_points(support)
    dist = parse_spec(spec)
    cuts = np.concatenate([[-np.inf], (v[1:] + v[:-1]) / 2.0, [np.inf]])
    cdf = np.concatenate([[0.0], np.asarray(dist.cdf(cuts[1:-1]), dtype=float), [1.0]])
    return np.diff(cdf)


def _laws(laws, bidders: int, points: int) -> np.ndarray:
    """The ambiguity set as marginals of shape (K, bidders, points): one row per law and bidder.

    A law given as one vector is shared by every bidder (symmetric); each
    marginal must be a probability vector on the support.
    """
    arr = np.asarray(laws, dtype=float)
    if arr.ndim == 2:
        arr = np.repeat(arr[:, None, :], bidders, axis=1)
    if arr.ndim != 3 or arr.shape[0] < 1 or arr.shape[1:] != (bidders, points):
        raise RobustInputError(f"the laws must be K >= 1 vectors of {points} masses (one per support point), "
                               f"or K arrays of {bidders} such marginals, got shape {np.shape(laws)}")
    if np.any(~np.isfinite(arr)) or np.any(arr < 0.0) or np.any(np.abs(arr.sum(axis=2) - 1.0) > 1e-9):
        raise RobustInputError("every marginal must be finite masses >= 0 summing to 1")
    return arr


def interim_nonzeros(points: int, bidders: int, laws: int) -> int:
    """Nonzeros of the (IC-D)/(IR-D) rows: four per law, bidder, profile and report."""
    return 4 * laws * bidders * points ** bidders * points


def interim_problem(support, laws, bidders: int = 2,
                    max_nonzeros: int = MAX_INTERIM_NONZEROS) -> tuple[SupportProblem, np.ndarray]:
    """(IC-D), (IR-D) and Σ_i q_i <= 1 for every law, in :class:`SupportProblem`'s variables.

    Row (k, i, a, b) for b != a is (IC-D) under P_k: Σ_{v_-i} P_k,-i(v_-i)
    [q_i(g_b, v_-i) g_a - m_i(g_b, v_-i) - q_i(g_a, v_-i) g_a + m_i(g_a, v_-i)] <= 0;
    for b = a it is (IR-D): Σ_{v_-i} P_k,-i(v_-i) [m_i(g_a, v_-i) - q_i(g_a, v_-i) g_a] <= 0.
    Also returns the expected revenue E_{P_k}[Σ_i m_i] as rows of shape (K, variables).
    """
    v, n_b = support_points(support), _bidders(bidders)
    n = len(v)
    p = _laws(laws, n_b, n)
    n_k = len(p)
    check_lp_size(interim_nonzeros(n, n_b, n_k), max_nonzeros,
                  f"the independent-values LP for {n_b} bidders and {n_k} laws on {n} support points",
                  largest_fitting(lambda m: interim_nonzeros(m, n_b, n_k), max_nonzeros),
                  INTERIM_SECONDS_PER_NONZERO, INTERIM_BYTES_PER_NONZERO, unit="nonzeros")
    idx = _profiles(n, n_b)
    values = v[idx]
    n_p = len(values)
    n_var = 2 * n_b * n_p
    prof = np.arange(n_p)
    stride = n ** (n_b - 1 - np.arange(n_b))
    mass = p[:, np.arange(n_b), idx]  # (K, P, I): each bidder's mass of his value in the profile
    parts = [sparse.csr_matrix((np.ones(n_b * n_p), (np.tile(prof, n_b), np.arange(n_b * n_p))),
                               shape=(n_p, n_var))]
    for k in range(n_k):
        for i in range(n_b):
            others = np.prod(np.delete(mass[k], i, axis=1), axis=1)  # P_k,-i(v_-i) of each profile
            parts.append(_interim_rows(i, idx, values, others, stride, n, n_var))
    a_ub = sparse.vstack(parts).tocsr()
    b_ub = np.concatenate([np.ones(n_p), np.zeros(a_ub.shape[0] - n_p)])
    joint = np.prod(mass, axis=2)  # (K, P)
    revenue = np.tile(joint, (1, n_b))
    revenue = np.hstack([np.zeros_like(revenue), revenue])  # E_k[Σ_i m_i]: zero on q, P_k(v) on each m_i
    return SupportProblem(v, values, a_ub, b_ub), revenue


def _interim_rows(i: int, idx, values, others, stride, n: int, n_var: int) -> sparse.csr_matrix:
    """Bidder i's (IC-D)/(IR-D) rows (a, b) for one law: the profiles summed with their weights."""
    n_p = len(idx)
    own = idx[:, i]
    prof, rep = np.repeat(np.arange(n_p), n), np.tile(np.arange(n), n_p)  # true profile, report index
    dev = prof + (rep - own[prof]) * stride[i]
    w, g = others[prof], values[prof, i]
    row = own[prof] * n + rep
    q_true, m_true = i * n_p + prof, (values.shape[1] + i) * n_p + prof
    q_dev, m_dev = i * n_p + dev, (values.shape[1] + i) * n_p + dev
    ir = rep == own[prof]
    data = np.concatenate([np.where(ir, 0.0, g * w), np.where(ir, 0.0, -w), -g * w, w])
    cols = np.concatenate([q_dev, m_dev, q_true, m_true])
    return sparse.csr_matrix((data, (np.tile(row, 4), cols)), shape=(n * n, n_var))


def independent_design_lp(support, laws, bidders: int = 2, efficient: bool = True) -> DesignLP:
    """max t subject to t <= E_{P_k}[Σ_i m_i] for every law, (IC-D), (IR-D), Σ_i q_i <= 1.

    ``efficient=True`` restricts to Q^eff (Definition 1.2.5): the good always
    sold, only to highest bidders. Theorem 1.4.1: on the interval the value is
    the Vickrey mechanism's worst case min_k E_k[v_(2)]; on a finite support it
    lies between that and min_k (E_k[v_(2)] + B_k) (module docstring).
    """
    started = time.perf_counter()
    pb, revenue = interim_problem(support, laws, bidders)
    epigraph = sparse.hstack([-sparse.csr_matrix(revenue), np.ones((len(revenue), 1))])
    a_ub = sparse.vstack([sparse.hstack([pb.a_ub, np.zeros((pb.a_ub.shape[0], 1))]), epigraph]).tocsr()
    b_ub = np.concatenate([pb.b_ub, np.zeros(len(revenue))])
    n = pb.bidders * pb.profiles
    if efficient:
        bounds = pb.efficient_bounds() + [(None, None)]
        a_eq, b_eq = sparse.hstack([pb.sale_rows(), np.zeros((pb.profiles, 1))]).tocsr(), np.ones(pb.profiles)
    else:
        bounds, a_eq, b_eq = [(0.0, None)] * n + [(None, None)] * (n + 1), None, None
    c = np.zeros(pb.variables + 1)
    c[-1] = -1.0
    what = "the independent-values LP" + (" over efficient mechanisms" if efficient else "")
    # over all mechanisms interior point (with crossover) is twice as fast as the simplex (33 points, two laws)
    method = "highs" if efficient else "highs-ipm"
    res = _solve(c, a_ub, b_ub, a_eq, b_eq, bounds, what, method)
    q, m = pb.mechanism(res.x)
    return DesignLP(value=float(-res.fun), grid=pb.support, profiles=pb.values, allocation=q, payments=m,
                    variables=pb.variables + 1, status=res.message, seconds=time.perf_counter() - started,
                    method=f"scipy.optimize.linprog {method}")


def _cdfs(support, laws, bidders: int) -> np.ndarray:
    """F_{k,i}(g_l) = P_k(ṽ_i <= g_l), shape (K, bidders, points)."""
    v = support_points(support)
    return np.cumsum(_laws(laws, _bidders(bidders), len(v)), axis=2)


def vickrey_revenues(support, laws, bidders: int = 2) -> np.ndarray:
    """E_{P_k}[v_(2)] per law: P(v_(2) <= x) = Π_j F_j(x) + Σ_i (1 - F_i(x)) Π_{j≠i} F_j(x)."""
    v = support_points(support)
    f = _cdfs(v, laws, bidders)
    below = np.prod(f, axis=1)  # (K, points)
    one_above = sum((1.0 - f[:, i]) * np.prod(np.delete(f, i, axis=1), axis=1) for i in range(f.shape[1]))
    second = np.clip(below + one_above, 0.0, 1.0)
    return np.diff(np.concatenate([np.zeros((len(f), 1)), second], axis=1), axis=1) @ v


def efficiency_gap_bound(support, laws, bidders: int = 2) -> np.ndarray:
    """B_k = Σ_i Σ_l P_k(ṽ_i > g_l) P_k(M_i = g_l) Δ_l per law, M_i = max_{j≠i} ṽ_j (module docstring)."""
    v = support_points(support)
    f = _cdfs(v, laws, bidders)
    gaps = np.append(np.diff(v), 0.0)
    total = np.zeros(len(f))
    for i in range(f.shape[1]):
        rivals = np.prod(np.delete(f, i, axis=1), axis=1)  # P(M_i <= g_l)
        at = np.diff(np.concatenate([np.zeros((len(f), 1)), rivals], axis=1), axis=1)
        total += ((1.0 - f[:, i]) * at) @ gaps
    return total
