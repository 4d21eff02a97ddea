"""Stochastic stability of adaptive play on conventions: the reduction for games too large to
enumerate histories.

The reduction (Young, "An evolutionary model of bargaining", JET 1993, Section 4, and
"The evolution of conventions", Econometrica 1993, Theorem 3):

1. With memory m >= 2 max(s1, s2) the recurrent classes of unperturbed adaptive play are
   the *conventions*: a strict pure equilibrium (a, b) played m times in a row.
2. A convention is left by a *tip*: k consecutive mistakes of one player, all the same
   action c, enter the other's samples; once a sample holding the k mistakes and s - k
   copies of the convention's action has a new best reply a', the tipped player can play
   a' from then on at no further resistance. k is the least such count (ties are best
   replies, broken at random, so a weak tie suffices). One mistaken action suffices: for
   a fixed k the gain of a' over a is linear in the mix of mistakes, so it is largest
   when all k are the same action.
3. After a tip, play moves at zero resistance along best replies to pure profiles (each
   player in turn best-replies to the other's current action) to any strict equilibrium
   it can reach; r(J, K) is the least tip from J that reaches K, closed under paths.

The stochastically stable conventions are then those of least potential on the graph of
conventions (:func:`agora.market.learning.stochastic_stability.stochastic_potentials`);
tests hold the reduction to the exact chain over histories where that can be built.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse
from scipy.sparse import csgraph

from agora.market.errors import InputError
from agora.market.learning import stochastic_stability as ss
from agora.market.learning.adaptive_play import StabilityResult, best_reply_mask


def strict_equilibria(A: np.ndarray, B: np.ndarray) -> list[tuple[int, int]]:
    """Profiles (a, b) where each action is the unique best reply to the other."""
    br1 = best_reply_mask(A.T, np.abs(A).max())  # [b, a]
    br2 = best_reply_mask(B, np.abs(B).max())  # [a, b]
    return [(int(a), int(b)) for a, b in np.argwhere(br1.T & br2)
            if br1[b].sum() == 1 and br2[a].sum() == 1]


def tips(u: np.ndarray, own: int, opp: int, sample: int) -> dict[int, int]:
    """{a': least k}: the fewest mistakes of the opponent (one action, k of the ``sample``
    draws; the rest ``opp``) that make a' != ``own`` a best reply of the player with payoffs
    u[own action, opponent action]."""
    k = np.arange(1, sample + 1)
    mixes = (sample - k)[None, :, None] * u[:, opp][None, None, :] \
        + k[None, :, None] * u.T[:, None, :]  # (mistaken action c, k, own action)
    mask = best_reply_mask(mixes, sample * np.abs(u).max())
    mask[opp] = False  # a "mistake" that is the convention's action is none
    out: dict[int, int] = {}
    for c, j, a in np.argwhere(mask):
        if a != own and (a not in out or k[j] < out[a]):
            out[int(a)] = int(k[j])
    return out


def best_reply_graph(A: np.ndarray, B: np.ndarray) -> sparse.csr_matrix:
    """Profiles (a, b) -> (a', b) with a' a best reply to b, and -> (a, b') likewise."""
    n1, n2 = A.shape
    br1 = best_reply_mask(A.T, np.abs(A).max())  # [b, a']
    br2 = best_reply_mask(B, np.abs(B).max())  # [a, b']
    rows, cols = [], []
    for b, a2 in np.argwhere(br1):
        rows.append(np.arange(n1) * n2 + b)
        cols.append(np.full(n1, a2 * n2 + b))
    for a, b2 in np.argwhere(br2):
        rows.append(a * n2 + np.arange(n2))
        cols.append(np.full(n2, a * n2 + b2))
    r, c = np.concatenate(rows), np.concatenate(cols)
    return sparse.csr_matrix((np.ones(r.size), (r, c)), shape=(n1 * n2, n1 * n2))


def convention_resistances(A, B, samples: tuple[int, int]) -> tuple[list[tuple[int, int]], np.ndarray]:
    """The conventions (strict equilibria) and r(J, K) between them by the tip reduction."""
    A, B = np.asarray(A, float), np.asarray(B, float)
    if A.ndim != 2 or A.shape != B.shape:
        raise InputError(f"payoff matrices must share one 2-d shape, got {A.shape} and {B.shape}")
    s1, s2 = samples
    for s in (s1, s2):
        if not (isinstance(s, int) and s >= 1):
            raise InputError(f"a sample size must be an integer >= 1, got {s!r}")
    conv = strict_equilibria(A, B)
    if not conv:
        raise InputError("the game has no strict pure equilibrium, so no convention")
    n2 = A.shape[1]
    reverse = best_reply_graph(A, B).T.tocsr()
    reach = np.zeros((A.size, len(conv)), bool)  # reach[profile, K]: best replies lead to K
    for j, (a, b) in enumerate(conv):
        reach[csgraph.breadth_first_order(reverse, a * n2 + b, return_predecessors=False), j] = True
    r = np.full((len(conv), len(conv)), np.inf)
    for j, (a, b) in enumerate(conv):
        for a2, k in tips(A, a, b, s1).items():  # the column player errs, the row player tips
            hit = reach[a2 * n2 + b]
            r[j, hit] = np.minimum(r[j, hit], k)
        for b2, k in tips(B.T, b, a, s2).items():  # the row player errs, the column player tips
            hit = reach[a * n2 + b2]
            r[j, hit] = np.minimum(r[j, hit], k)
    np.fill_diagonal(r, 0.0)
    return conv, csgraph.floyd_warshall(r, directed=True)


def convention_stability(A, B, samples: tuple[int, int], every: bool = False) -> StabilityResult:
    """Stochastically stable conventions of adaptive play with samples (s1, s2), memory
    m >= 2 max(s1, s2), by the tip reduction and minimum-resistance trees.

    ``every``: compute every convention's potential, not only those that can be least
    (:func:`agora.market.learning.stochastic_stability.stable_classes`; the rest are NaN).
    """
    conv, r = convention_resistances(A, B, samples)
    if not np.all(np.isfinite(r)):
        raise InputError("some convention cannot be left by one player's mistakes; the tip "
                         "reduction does not apply to this game")
    if every:
        pot, trees = ss.stochastic_potentials(r)
        stable = ss.stable_set(pot)
    else:
        stable, pot, trees = ss.stable_classes(r)
    return StabilityResult([np.array(c) for c in conv], r, pot, stable, trees,
                           "conventions (strict equilibria); resistances by one-action tips of "
                           "sample size s (Young 1993), closed under paths; potentials by "
                           "minimum spanning arborescences")


def limit_on_conventions(r: np.ndarray, eps: tuple[float, ...] = (1e-2, 1e-3)) -> np.ndarray:
    """The exponents of the stationary masses of the chain on conventions that moves J -> K with
    probability eps^r(J, K) / k (GTH elimination), least exponent 0: by the Markov chain tree
    theorem they equal the potentials above the least one."""
    k = r.shape[0]
    masses = []
    for e in eps:
        p = np.where(np.eye(k, dtype=bool), 0.0, e ** r / k)
        np.fill_diagonal(p, 1.0 - p.sum(axis=1))
        masses.append(ss.gth_stationary(p))
    return ss.limit_exponents(np.array(masses), eps)
