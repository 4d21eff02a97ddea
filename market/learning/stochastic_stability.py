"""Stochastically stable states of a regular perturbed Markov chain, two independent ways.

A perturbed chain P(eps) moves from state x to y with probability of order eps^r(x, y):
r is the *resistance* of the transition (the number of mistakes it needs; 0 when the
unperturbed chain P(0) allows it). Young (1993, "The evolution of conventions",
Theorem 4) shows the stationary distribution pi(eps) converges as eps -> 0 and puts all
its mass on the recurrent classes of P(0) with the least *stochastic potential*: the
least total resistance of a tree over the classes directed into the class, with r(J, K)
the least resistance of any path from J to K.

* :func:`stochastic_potentials` finds the potentials with networkx's minimum spanning
  arborescence (Edmonds' algorithm) on the resistance graph between classes;
* :func:`limit_exponents` reads them off the stationary distribution itself: the mass
  of class J behaves as c eps^(gamma(J) - min gamma), so the slope of log mass against
  log eps between two small eps is the potential above the minimum.

Tests hold the two to the same answer; :func:`gth_stationary` (Grassmann, Taksar and
Heyman's subtraction-free elimination) keeps tiny probabilities accurate on small chains;
:func:`krylov_stationary` (restarted GMRES) solves chains of hundreds of thousands of histories.
"""

from __future__ import annotations

from collections.abc import Sequence

import networkx as nx
import numpy as np
from scipy import sparse
from scipy.sparse import csgraph
from scipy.sparse.linalg import LinearOperator, gmres, spsolve
from threadpoolctl import threadpool_limits

from agora.market.errors import InputError


def recurrent_classes(allowed: sparse.spmatrix) -> list[np.ndarray]:
    """The closed communicating classes of the directed graph ``allowed`` (the moves of P(0)).

    A strongly connected component is a recurrent class iff no move leaves it.
    """
    g = sparse.csr_matrix(allowed, copy=True)
    g.eliminate_zeros()  # a stored zero is no move
    n, labels = csgraph.connected_components(g, directed=True, connection="strong")
    rows, cols = g.nonzero()
    open_ = np.zeros(n, bool)
    open_[labels[rows[labels[rows] != labels[cols]]]] = True
    return [np.flatnonzero(labels == c) for c in range(n) if not open_[c]]


def class_resistances(resistance: sparse.spmatrix, classes: Sequence[np.ndarray]) -> np.ndarray:
    """r(J, K): the least total resistance of a path from any state of J to any state of K.

    ``resistance`` holds every possible move with its resistance (0 included: explicit
    zeros are kept by adding one per move at a scale below that of one mistake), and
    the paths are found by Dijkstra from all states of J at once.
    """
    g = sparse.coo_matrix(resistance)
    unit = float(g.shape[0] + 1)  # more moves than any shortest path has
    weights = sparse.csr_matrix((g.data * unit + 1.0, (g.row, g.col)), shape=g.shape)
    k = len(classes)
    out = np.zeros((k, k))
    for j, source in enumerate(classes):
        dist = csgraph.dijkstra(weights, directed=True, indices=source, min_only=True)
        for i, target in enumerate(classes):
            if i != j:
                out[j, i] = np.floor(dist[target].min() / unit)
    return out


def essential_edges(r: np.ndarray) -> np.ndarray:
    """Which moves J -> K a least tree needs: those cheaper than every detour J -> L -> K.

    A tree edge with r(J, K) >= r(J, L) + r(L, K) can be replaced by the detour (and any
    cycle so made cut) without raising the tree's weight, so dropping such edges keeps
    every potential; with resistances >= 1 each dropped edge is a chain of kept ones.
    """
    k = r.shape[0]
    detour = np.full((k, k), np.inf)
    for mid in range(k):
        via = r[:, mid, None] + r[None, mid, :]
        via[mid, :] = np.inf
        via[:, mid] = np.inf
        detour = np.minimum(detour, via)
    keep = r < detour
    np.fill_diagonal(keep, False)
    return keep


def _arborescence(r: np.ndarray, keep: np.ndarray, root: int | None) -> tuple[float, list]:
    """A least tree directed into ``root`` (into any class if None): Edmonds' algorithm finds
    arborescences directed *away* from a root, so it runs on the reversed graph, with every
    edge into the root removed (the root is then forced)."""
    k = r.shape[0]
    if k == 1:
        return 0.0, []
    g = nx.DiGraph()
    g.add_nodes_from(range(k))
    g.add_weighted_edges_from((int(to), int(frm), r[frm, to]) for frm, to in np.argwhere(keep)
                              if frm != root)
    edges = sorted((frm, to) for to, frm in nx.minimum_spanning_arborescence(g).edges)
    return float(sum(r[e] for e in edges)), edges


def stochastic_potentials(r: np.ndarray, roots=None) -> tuple[np.ndarray, dict[int, list]]:
    """The stochastic potential of each class in ``roots`` (all if None): the least resistance
    of a tree directed into it (Young 1993), and one least tree per class as (from, to)
    edges; classes not asked for get NaN."""
    r = np.asarray(r, float)
    k = r.shape[0]
    if r.shape != (k, k) or k == 0:
        raise InputError(f"resistances must be a non-empty square matrix, got shape {r.shape}")
    keep = essential_edges(r)
    potentials, trees = np.full(k, np.nan), {}
    for root in range(k) if roots is None else roots:
        potentials[root], trees[root] = _arborescence(r, keep, int(root))
    return potentials, trees


def stable_classes(r: np.ndarray) -> tuple[list[int], np.ndarray, dict[int, list]]:
    """The classes of least stochastic potential, with their potentials and trees.

    One unforced arborescence gives the least potential g*. A tree into J has one edge out
    of every other class L, each costing at least rmin(L), L's cheapest exit; so its weight
    is at least b(J) = sum_L rmin(L) - rmin(J) plus the excess r(L, K) - rmin(L) of each edge.
    Only classes with b(J) <= g* can be stable, and a tree into J of weight g* uses no edge
    with excess above g* - b(J): the forced arborescence runs on those edges alone (none
    spanning: J's potential exceeds g*). The other potentials are NaN.
    """
    r = np.asarray(r, float)
    k = r.shape[0]
    if k == 1:
        return [0], np.zeros(1), {0: []}
    keep = essential_edges(r)
    least, _ = _arborescence(r, keep, None)
    exits = np.where(np.eye(k, dtype=bool), np.inf, r).min(axis=1)
    bound = exits.sum() - exits
    excess = r - exits[:, None]
    potentials, trees = np.full(k, np.nan), {}
    for root in np.flatnonzero(bound <= least + 0.5):
        try:
            weight, edges = _arborescence(r, keep & (excess <= least - bound[root] + 0.5), int(root))
        except nx.NetworkXException:
            continue
        potentials[root], trees[int(root)] = weight, edges
    stable = stable_set(potentials)
    return stable, potentials, {j: trees[j] for j in stable}


def stable_set(potentials: np.ndarray) -> list[int]:
    """The classes of least stochastic potential (NaN: not computed, not stable)."""
    return [int(j) for j in np.flatnonzero(potentials == np.nanmin(potentials))]


def gth_stationary(p: np.ndarray) -> np.ndarray:
    """Stationary distribution of an irreducible stochastic matrix by GTH elimination.

    Grassmann, Taksar and Heyman (1985): state elimination using only sums of positive
    numbers, so probabilities of order eps^10 come out to full relative precision.
    Dense, O(n^3): for chains of up to a few hundred states.
    """
    a = np.array(p, float)
    n = a.shape[0]
    for k in range(n - 1, 0, -1):
        scale = a[k, :k].sum()
        a[:k, k] /= scale
        a[:k, :k] += np.outer(a[:k, k], a[k, :k])
    x = np.zeros(n)
    x[0] = 1.0
    for k in range(1, n):
        x[k] = x[:k] @ a[:k, k]
    return x / x.sum()


#: Largest chain solved by sparse LU (its fill-in is nearly full: about 3 s at 6561 histories); above, GMRES.
LU_STATES = 7000
#: GMRES stops when ||b - A x|| <= KRYLOV_RTOL ||b|| for the system below (||b|| = n^-1/2).
KRYLOV_RTOL = 1e-12
KRYLOV_RESTART, KRYLOV_RESTARTS = 50, 100  # 50 Krylov vectors: 8 n bytes each


def stationary(p: sparse.spmatrix) -> np.ndarray:
    """Stationary distribution of an irreducible sparse chain: GTH for chains of at most 1000 states,
    sparse LU of pi (P - I) = 0, sum pi = 1 up to LU_STATES, else :func:`krylov_stationary`."""
    p = sparse.csr_matrix(p)
    n = p.shape[0]
    if n <= 1000:
        return gth_stationary(p.toarray())
    if n > LU_STATES:
        return krylov_stationary(p)
    a = (p.T - sparse.identity(n, format="csr")).tolil()
    a[0, :] = 1.0
    b = np.zeros(n)
    b[0] = 1.0
    x = spsolve(a.tocsc(), b)
    x = np.maximum(x, 0.0)
    return x / x.sum()


def krylov_stationary(p: sparse.spmatrix, rtol: float = KRYLOV_RTOL) -> np.ndarray:
    """Stationary distribution of an irreducible chain by restarted GMRES (scipy.sparse.linalg): pi solves
    (I - P^T + w 1^T) x = w, w = 1/n, nonsingular (1^T (I - P^T) = 0 forces 1^T x = 1, then
    (I - P^T) x = 0). Only products with P^T are formed, so memory stays that of P.

    GMRES's work is level-1 BLAS on vectors of a few MB, which threads only slow down (on two shared
    cores, ten times, side by side), so BLAS runs on one thread here (threadpoolctl).

    Accuracy: the residual is below ``rtol`` relative to ||w||; with P's rows summing to 1 the error
    of each mass is of order rtol n^-1/2 times the condition of the system (about the chain's mixing
    time), so masses far below 1e-10 are not resolved (GTH is exact for those on small chains).
    """
    pt = sparse.csr_matrix(p).T.tocsr()
    n = pt.shape[0]
    w = np.full(n, 1.0 / n)
    op = LinearOperator((n, n), matvec=lambda x: x - pt @ x + w * x.sum(), dtype=float)
    with threadpool_limits(limits=1, user_api="blas"):
        x, info = gmres(op, w, rtol=rtol, atol=0.0, restart=KRYLOV_RESTART, maxiter=KRYLOV_RESTARTS)
    if info != 0:
        raise ArithmeticError(f"GMRES did not reach a relative residual of {rtol:g} within "
                              f"{KRYLOV_RESTARTS} restarts of {KRYLOV_RESTART} on {n} states")
    x = np.maximum(x, 0.0)
    return x / x.sum()


def limit_exponents(masses: np.ndarray, eps: Sequence[float]) -> np.ndarray:
    """The exponent d_J in mass_J(eps) ~ c eps^d_J from the two smallest eps (rows of ``masses``
    follow ``eps``), shifted so the least exponent is 0."""
    order = np.argsort(eps)
    e1, e2 = float(eps[order[0]]), float(eps[order[1]])
    m1, m2 = np.asarray(masses)[order[0]], np.asarray(masses)[order[1]]
    slope = (np.log(m2) - np.log(m1)) / (np.log(e2) - np.log(e1))
    return slope - slope.min()


def asymptotic_sd(p: np.ndarray, pi: np.ndarray, f: np.ndarray) -> float:
    """sqrt(lim T var(the time average of f over T periods)) for the chain p with stationary pi, from the
    fundamental matrix Z = (I - P + 1 pi)^-1 (Kemeny and Snell): sigma^2 = 2 pi (g Z g) - pi g^2, g = f - pi f.
    Dense: for chains of up to a few thousand states."""
    n = p.shape[0]
    g = f - pi @ f
    zg = np.linalg.solve(np.eye(n) - p + np.outer(np.ones(n), pi), g)
    return float(np.sqrt(max(2 * pi @ (g * zg) - pi @ (g * g), 0.0)))
