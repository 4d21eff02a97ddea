"""Adaptive play with mistakes (Young 1993) on a finite two-player game, as an exact Markov chain.

The state is the history of the last ``memory`` plays (a_t, b_t). Each period the row
player draws ``s1`` of the column player's remembered actions without replacement (all
subsets equally likely) and best-responds to their empirical distribution (ties broken
uniformly); the column player does the same with ``s2`` of the row player's. With
probability eps_i player i instead errs: plays an action uniformly at random. The new play
replaces the oldest one. (Young, "The evolution of conventions", Econometrica 1993, and "An
evolutionary model of bargaining", JET 1993.)

:meth:`AdaptivePlay.chain` is the perturbed chain P(eps) as a scipy.sparse matrix over all
n1^m n2^m histories; a move's resistance is the number of players whose action is not a
possible best reply (0, 1 or 2). :meth:`AdaptivePlay.stability` finds the stochastically
stable recurrent classes from minimum-resistance trees; :meth:`AdaptivePlay.limit` from
the stationary distribution as eps -> 0. The two are independent computations.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from itertools import combinations

import numpy as np
from scipy import sparse

from agora.market.errors import InputError
from agora.market.learning import stochastic_stability as ss

TIE_RTOL = 1e-9  # expected payoffs this close (relative to the largest payoff) are tied best replies


def best_reply_mask(payoffs: np.ndarray, scale: float) -> np.ndarray:
    """Which actions (last axis) are best replies, ties within TIE_RTOL of ``scale`` included."""
    return payoffs >= payoffs.max(axis=-1, keepdims=True) - TIE_RTOL * max(scale, 1e-300)


def sample_best_replies(u: np.ndarray, memory: int, sample: int) -> np.ndarray:
    """beta[h, a]: chance that own action a is played as a best reply, for every opponent history h.

    ``u[a, c]`` is the player's payoff of own action a against opponent action c; histories
    are indexed in base n_c, oldest play most significant.
    """
    n_own, n_opp = u.shape
    seqs = np.array(np.unravel_index(np.arange(n_opp ** memory), (n_opp,) * memory)).T
    picks = np.array(list(combinations(range(memory), sample)))
    counts = np.eye(n_opp)[seqs[:, picks]].sum(axis=2)  # (histories, subsets, opponent actions)
    mask = best_reply_mask(counts @ u.T, sample * np.abs(u).max())
    return (mask / mask.sum(axis=-1, keepdims=True)).mean(axis=1)


@dataclass
class StabilityResult:
    """Recurrent classes, their resistances and potentials, and which are stochastically stable."""

    classes: list[np.ndarray]
    resistances: np.ndarray
    potentials: np.ndarray
    stable: list[int]
    trees: dict = field(default_factory=dict)
    method: str = ""


class AdaptivePlay:
    """Young's adaptive play on the bimatrix game (A, B): A[a, b] row's payoff, B[a, b] column's."""

    def __init__(self, A, B, memory: int, samples: tuple[int, int]):
        A, B = np.asarray(A, float), np.asarray(B, float)
        if A.ndim != 2 or A.shape != B.shape or min(A.shape) < 1:
            raise InputError(f"payoff matrices must be two arrays of one 2-d shape, got {A.shape} "
                             f"and {B.shape}")
        s1, s2 = samples
        if not (isinstance(memory, int) and memory >= 1):
            raise InputError(f"memory must be an integer >= 1, got {memory!r}")
        for s in (s1, s2):
            if not (isinstance(s, int) and 1 <= s <= memory):
                raise InputError(f"a sample size must be an integer in 1..memory={memory}, got {s!r}")
        self.A, self.B, self.memory, self.samples = A, B, memory, (s1, s2)
        self.n1, self.n2 = A.shape
        self.h1, self.h2 = self.n1 ** memory, self.n2 ** memory  # own-history counts

    @property
    def states(self) -> int:
        return self.h1 * self.h2

    def state(self, rows, cols) -> int:
        """Index of the history whose plays, oldest first, are ``rows`` and ``cols``."""
        if len(rows) != self.memory or len(cols) != self.memory:
            raise InputError(f"a history has memory={self.memory} plays per player")
        ia = int(np.ravel_multi_index(tuple(rows), (self.n1,) * self.memory))
        ib = int(np.ravel_multi_index(tuple(cols), (self.n2,) * self.memory))
        return ia * self.h2 + ib

    def convention(self, a: int, b: int) -> int:
        """The history in which (a, b) was played ``memory`` times."""
        return self.state([a] * self.memory, [b] * self.memory)

    @cached_property
    def _moves(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Every move: source, target, row's action, column's action (n1 n2 per state)."""
        ia, ib = np.divmod(np.arange(self.states, dtype=np.int64), self.h2)
        a, b = np.meshgrid(np.arange(self.n1), np.arange(self.n2), indexing="ij")
        a, b = a.ravel(), b.ravel()
        na = (ia[:, None] % (self.h1 // self.n1)) * self.n1 + a[None, :]
        nb = (ib[:, None] % (self.h2 // self.n2)) * self.n2 + b[None, :]
        src = np.repeat(np.arange(self.states, dtype=np.int64), a.size)
        return src, (na * self.h2 + nb).ravel(), np.tile(a, self.states), np.tile(b, self.states)

    @cached_property
    def best_replies(self) -> tuple[np.ndarray, np.ndarray]:
        """beta1[column history, a] and beta2[row history, b] (sampling without replacement)."""
        return (sample_best_replies(self.A, self.memory, self.samples[0]),
                sample_best_replies(self.B.T, self.memory, self.samples[1]))

    def _probabilities(self, eps1: float, eps2: float) -> np.ndarray:
        beta1, beta2 = self.best_replies
        src, _, a, b = self._moves
        ia, ib = np.divmod(src, self.h2)
        p1 = (1 - eps1) * beta1[ib, a] + eps1 / self.n1
        p2 = (1 - eps2) * beta2[ia, b] + eps2 / self.n2
        return p1 * p2

    def chain(self, eps: float | tuple[float, float]) -> sparse.csr_matrix:
        """P(eps) over histories; ``eps`` is one rate or one per player (in (0, 1])."""
        e1, e2 = (eps, eps) if np.isscalar(eps) else eps
        for e in (e1, e2):
            if not 0.0 < e <= 1.0:
                raise InputError(f"a mistake rate must lie in (0, 1], got {e!r}")
        src, dst, _, _ = self._moves
        return sparse.csr_matrix((self._probabilities(e1, e2), (src, dst)),
                                 shape=(self.states, self.states))

    @cached_property
    def resistance(self) -> sparse.csr_matrix:
        """Each move's resistance: how many of the two actions are not possible best replies."""
        beta1, beta2 = self.best_replies
        src, dst, a, b = self._moves
        ia, ib = np.divmod(src, self.h2)
        r = (beta1[ib, a] == 0).astype(float) + (beta2[ia, b] == 0)
        return sparse.csr_matrix((r, (src, dst)), shape=(self.states, self.states))

    @cached_property
    def classes(self) -> list[np.ndarray]:
        """Recurrent classes of the unperturbed process (states reachable at resistance 0)."""
        r = sparse.coo_matrix(self.resistance)
        zero = r.data == 0
        allowed = sparse.csr_matrix((np.ones(zero.sum()), (r.row[zero], r.col[zero])),
                                    shape=r.shape)
        return ss.recurrent_classes(allowed)

    def stability(self) -> StabilityResult:
        """Stochastically stable classes by minimum-resistance trees (Young 1993, Theorem 4)."""
        r = ss.class_resistances(self.resistance, self.classes)
        pot, trees = ss.stochastic_potentials(r)
        return StabilityResult(self.classes, r, pot, ss.stable_set(pot), trees,
                               "exact chain over histories; resistances by Dijkstra between "
                               "recurrent classes; potentials by minimum spanning arborescences")

    def limit(self, eps: tuple[float, ...] = (1e-3, 1e-4)) -> tuple[np.ndarray, np.ndarray]:
        """The stationary mass of each recurrent class at each eps, and the exponents
        d_J (mass_J ~ eps^d_J, least exponent 0): the stable classes have d_J = 0."""
        masses = np.array([[ss.stationary(self.chain(e))[c].sum() for c in self.classes]
                           for e in eps])
        return masses, ss.limit_exponents(masses, eps)


def conventions_of(play: AdaptivePlay, classes: list[np.ndarray]) -> list[tuple[int, int] | None]:
    """The (a, b) of each class that is a single convention (one history repeating (a, b))."""
    out = []
    for c in classes:
        if c.size != 1:
            out.append(None)
            continue
        ia, ib = divmod(int(c[0]), play.h2)
        rows = np.unravel_index(ia, (play.n1,) * play.memory)
        cols = np.unravel_index(ib, (play.n2,) * play.memory)
        out.append((int(rows[0]), int(cols[0])) if len(set(rows)) == 1 and len(set(cols)) == 1
                   else None)
    return out

