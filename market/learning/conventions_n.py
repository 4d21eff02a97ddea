"""Stochastic stability of adaptive play on the conventions of an n-player game (Young 1993).

The reduction of :mod:`agora.market.learning.conventions` for any number of players, with memory
m >= 2 max_i s_i:

1. The recurrent classes of unperturbed play are taken to be the *conventions*: strict Nash
   profiles x played m times. Young (1993, Theorem 3) proves it for weakly acyclic games once
   s <= m / (L + 2), L the longest best-reply path to a strict equilibrium; m = 2s can fall short:
   the 5-price k-item market with blocks 3|1 at m = 2 and 3, s = 1, keeps a best-reply cycle (a
   class of 4, then 8 histories) beside its one convention, which only the exact chain shows.
2. A convention is left by k periods of the same mistaken profile z (the players where z differs
   from x err; each period costs their number c(z), so k periods cost c(z) k: the standard count
   of Young's Theorem 4). Afterwards every player i samples j <= min(k, s_i) of those periods and
   s_i - j convention periods, and may play any best reply a to that mix; J_i(z, a) is the least
   such j (0 for x_i). All players respond at once, so one set of mistakes can tip several
   players (in a three-player stag hunt two players must turn together). A response profile y
   costs c(z) max_i J_i(z, y_i). One repeated mistaken profile suffices: each player's gain of a
   over x_i is linear in the share of mistakes in its sample.
3. From y play moves at zero resistance along unilateral best replies to pure profiles to any
   strict equilibrium it can reach; r(x, K) is the least cost of a y leading to K, closed
   under paths (Floyd-Warshall).

The stochastically stable conventions are those of least potential on this graph (networkx
arborescences, :func:`agora.market.learning.stochastic_stability.stable_classes`); tests hold the
reduction to the exact chain over histories (:class:`agora.market.learning.adaptive_play.GameAdaptivePlay`).
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import product

import numpy as np
from scipy import sparse
from scipy.sparse import csgraph

from agora.market.errors import InputError
from agora.market.learning import stochastic_stability as ss
from agora.market.learning.adaptive_play import StabilityResult, best_reply_mask


def _scale(u: np.ndarray) -> float:
    return float(np.abs(u).max())


def best_replies(u: np.ndarray, i: int) -> np.ndarray:
    """Player i's best replies to pure profiles: mask[profile] on axis i (ties within TIE_RTOL)."""
    return np.moveaxis(best_reply_mask(np.moveaxis(u, i, -1), _scale(u)), -1, i)


def strict_profiles(payoffs: Sequence[np.ndarray]) -> list[tuple[int, ...]]:
    """Profiles where every player's action is its unique best reply to the others'."""
    ok = np.ones(payoffs[0].shape, bool)
    for i, u in enumerate(payoffs):
        best = best_replies(u, i)
        ok &= best & (best.sum(axis=i, keepdims=True) == 1)
    return [tuple(int(a) for a in p) for p in np.argwhere(ok)]


def reply_graph(payoffs: Sequence[np.ndarray]) -> sparse.csr_matrix:
    """Profiles y -> (a', y_-i) for every player i and best reply a' of i to y_-i."""
    shape = payoffs[0].shape
    flat = np.arange(int(np.prod(shape))).reshape(shape)
    rows, cols = [], []
    for i, u in enumerate(payoffs):
        best = best_replies(u, i)  # best[y with a' on axis i]
        for index in np.argwhere(best):
            target = tuple(index)
            line = flat[target[:i] + (slice(None),) + target[i + 1:]]
            rows.append(line)
            cols.append(np.full(line.size, flat[target]))
    r, c = np.concatenate(rows), np.concatenate(cols)
    return sparse.csr_matrix((np.ones(r.size), (r, c)), shape=(flat.size, flat.size))


def reaches(payoffs: Sequence[np.ndarray], conventions: list[tuple[int, ...]]) -> np.ndarray:
    """reach[profile, K]: unilateral best replies lead from the profile to convention K."""
    shape = payoffs[0].shape
    reverse = reply_graph(payoffs).T.tocsr()
    out = np.zeros((int(np.prod(shape)), len(conventions)), bool)
    for k, x in enumerate(conventions):
        start = int(np.ravel_multi_index(x, shape))
        out[csgraph.breadth_first_order(reverse, start, return_predecessors=False), k] = True
    return out


def tip_samples(u: np.ndarray, i: int, x: tuple[int, ...], sample: int) -> np.ndarray:
    """J[profile, a]: the fewest of ``sample`` draws at the profile's others' actions (the rest at
    x's) that make a a best reply of player i (inf: none; 0 for x_i), on every profile z (z_i unused)."""
    base = u[x[:i] + (slice(None),) + x[i + 1:]]  # i's payoffs against x_-i
    against = np.moveaxis(u, i, -1)  # [z with axis i moved last, a]
    j = np.arange(1, sample + 1).reshape((-1,) + (1,) * against.ndim)
    mask = best_reply_mask((sample - j) * base + j * against, sample * _scale(u))
    least = np.where(mask.any(axis=0), np.argmax(mask, axis=0) + 1.0, np.inf)
    least[..., x[i]] = 0.0
    full = np.broadcast_to(np.expand_dims(least, i), u.shape + (u.shape[i],))
    return full.reshape(-1, u.shape[i])  # profiles z in C order


def resistances(payoffs: Sequence[np.ndarray], samples: Sequence[int]) -> tuple[list[tuple[int, ...]], np.ndarray]:
    """The conventions (strict Nash profiles) and r(x, K) between them by the reduction above."""
    payoffs = [np.asarray(u, float) for u in payoffs]
    shape = payoffs[0].shape
    if len(payoffs) < 2 or any(u.shape != shape for u in payoffs) or len(shape) != len(payoffs):
        raise InputError(f"payoffs must be n >= 2 arrays of one n-d shape, got {[u.shape for u in payoffs]}")
    if len(samples) != len(payoffs) or any(not (isinstance(s, int) and s >= 1) for s in samples):
        raise InputError(f"give one sample size, a whole number >= 1, per player; got {tuple(samples)}")
    conv = strict_profiles(payoffs)
    if not conv:
        raise InputError("the game has no strict pure equilibrium, so no convention")
    if len(conv) == 1:
        return conv, np.zeros((1, 1))
    reach = reaches(payoffs, conv)
    r = np.full((len(conv), len(conv)), np.inf)
    profiles = np.array(np.unravel_index(np.arange(reach.shape[0]), shape)).T
    others = ~np.eye(len(conv), dtype=bool)
    for k, x in enumerate(conv):
        tips = [tip_samples(u, i, x, s) for i, (u, s) in enumerate(zip(payoffs, samples))]
        errs = (profiles != np.array(x)).sum(axis=1)
        least = np.min([np.where(t > 0, t, np.inf).min(axis=1) for t in tips], axis=0)
        floor = np.full(errs.size, np.inf)  # no tip from z costs less
        floor[errs > 0] = errs[errs > 0] * least[errs > 0]
        for z in np.argsort(floor, kind="stable"):
            if floor[z] >= r[k, others[k]].max():  # sorted: no later z lowers a resistance
                break
            r[k] = np.minimum(r[k], _leave(tips, z, errs[z], reach, shape))
    np.fill_diagonal(r, 0.0)
    return conv, csgraph.floyd_warshall(r, directed=True)


def _leave(tips: list[np.ndarray], z: int, errors: int, reach: np.ndarray, shape) -> np.ndarray:
    """The least cost of each convention after repeated mistakes at profile z: over the levels k
    (samples holding mistakes), the response profiles available at k and where they lead."""
    need = [t[z] for t in tips]  # per player, J of each own action
    levels = np.unique(np.concatenate([n[np.isfinite(n) & (n > 0)] for n in need]))
    out = np.full(reach.shape[1], np.inf)
    for k in levels:
        choices = [np.flatnonzero(n <= k) for n in need]
        ys = np.ravel_multi_index(np.array(list(product(*choices))).T, shape)
        hit = reach[ys].any(axis=0)
        out[hit] = np.minimum(out[hit], errors * k)
    return out


def profile_stability(payoffs: Sequence[np.ndarray], samples: Sequence[int]) -> StabilityResult:
    """Stochastically stable conventions of n-player adaptive play with samples s_i, memory
    m >= 2 max s_i, by the reduction above and minimum-resistance trees (every potential computed)."""
    conv, r = resistances(payoffs, samples)
    if not np.all(np.isfinite(r)):
        raise InputError("some convention cannot be left by repeated mistakes; the reduction does not "
                         "apply to this game")
    pot, trees = ss.stochastic_potentials(r)
    return StabilityResult([np.array(c) for c in conv], r, pot, ss.stable_set(pot), trees,
                           "conventions (strict Nash profiles); resistances by repeated mistaken profiles "
                           "(c(z) errors per period) tipping every player whose sample of s_i holds enough "
                           "of them, then unilateral best replies, closed under paths; potentials by "
                           "minimum spanning arborescences")
