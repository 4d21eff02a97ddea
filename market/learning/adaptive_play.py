"""Adaptive play with mistakes (Young 1993) on a finite n-player game, as an exact Markov chain.

The state is the history of the last ``memory`` plays (profiles). Each period player i draws
``s_i`` of the remembered plays without replacement (all subsets equally likely) and
best-responds to the empirical distribution of the other players' joint actions in them
(ties broken uniformly); with probability eps_i it instead errs: plays an action uniformly
at random. The new play replaces the oldest one. (Young, "The evolution of conventions",
Econometrica 1993, Section 3; "An evolutionary model of bargaining", JET 1993, for two.)

:meth:`GameAdaptivePlay.chain` is the perturbed chain P(eps) as a scipy.sparse CSR matrix over
all prod_i n_i^m histories; a move's resistance is the number of players whose action is not a
possible best reply (0 to n). :meth:`GameAdaptivePlay.stability` finds the stochastically stable
recurrent classes from minimum-resistance trees; :meth:`GameAdaptivePlay.limit` from the
stationary distribution as eps -> 0. The two are independent computations.
:class:`AdaptivePlay` is the two-player case on a bimatrix game (A, B).
"""

from __future__ import annotations

from collections.abc import Sequence
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

    ``u[a, c]`` is the player's payoff of own action a against opponent profile c (the other
    players' joint action, flattened); histories are indexed in base n_c, oldest play most
    significant.
    """
    n_own, n_opp = u.shape
    seqs = np.array(np.unravel_index(np.arange(n_opp ** memory), (n_opp,) * memory)).T
    picks = np.array(list(combinations(range(memory), sample)))
    counts = np.eye(n_opp)[seqs[:, picks]].sum(axis=2)  # (histories, subsets, opponent profiles)
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


def check_mistakes(eps, players: int) -> tuple[float, ...]:
    """One mistake rate or one per player, each in (0, 1]."""
    rates = (float(eps),) * players if np.isscalar(eps) else tuple(float(e) for e in eps)
    if len(rates) != players:
        raise InputError(f"give one mistake rate or {players} (one per player), got {len(rates)}")
    for e in rates:
        if not 0.0 < e <= 1.0:
            raise InputError(f"a mistake rate must lie in (0, 1], got {e!r}")
    return rates


class GameAdaptivePlay:
    """Young's adaptive play on the n-player game ``payoffs``: payoffs[i][a_1, ..., a_n] is player i's.

    A history's index lists each player's own history (its m actions in base n_i, oldest most
    significant), the first player's most significant: with two players, ia * n_2^m + ib.
    """

    def __init__(self, payoffs: Sequence, memory: int, samples: Sequence[int]):
        u = [np.asarray(p, float) for p in payoffs]
        if len(u) < 2 or any(p.shape != u[0].shape for p in u) or u[0].ndim != len(u) or min(u[0].shape) < 1:
            raise InputError(f"payoffs must be n >= 2 arrays of one n-d shape, got shapes {[p.shape for p in u]}")
        if not (isinstance(memory, int) and memory >= 1):
            raise InputError(f"memory must be an integer >= 1, got {memory!r}")
        if len(samples) != len(u):
            raise InputError(f"give one sample size per player ({len(u)}), got {len(samples)}")
        for s in samples:
            if not (isinstance(s, int) and 1 <= s <= memory):
                raise InputError(f"a sample size must be an integer in 1..memory={memory}, got {s!r}")
        self.payoffs, self.memory, self.samples = tuple(u), memory, tuple(samples)
        self.shape = u[0].shape
        self.own = tuple(n ** memory for n in self.shape)  # own-history counts
        self.strides = tuple(int(np.prod(self.own[i + 1:], dtype=np.int64)) for i in range(len(u)))

    @property
    def players(self) -> int:
        return len(self.shape)

    @property
    def profiles(self) -> int:
        return int(np.prod(self.shape))

    @property
    def states(self) -> int:
        return int(np.prod(self.own, dtype=np.int64))

    def history(self, plays: Sequence[Sequence[int]]) -> int:
        """Index of the history whose plays, oldest first, are ``plays[i]`` for player i."""
        if len(plays) != self.players or any(len(p) != self.memory for p in plays):
            raise InputError(f"a history has memory={self.memory} plays for each of {self.players} players")
        return sum(int(np.ravel_multi_index(tuple(p), (n,) * self.memory)) * st
                   for p, n, st in zip(plays, self.shape, self.strides))

    def profile_convention(self, profile: Sequence[int]) -> int:
        """The history in which ``profile`` was played ``memory`` times."""
        return self.history([[a] * self.memory for a in profile])

    @cached_property
    def _own_histories(self) -> list[np.ndarray]:
        """Each player's own-history index at every state."""
        states = np.arange(self.states, dtype=np.int64)
        return [(states // st) % h for st, h in zip(self.strides, self.own)]

    @cached_property
    def _plays(self) -> list[np.ndarray]:
        """Each player's remembered actions at every state, oldest first (memory x states)."""
        return [np.array(np.unravel_index(h, (n,) * self.memory)) for h, n in zip(self._own_histories, self.shape)]

    def _opponent_histories(self, i: int) -> np.ndarray:
        """Player i's opponents' history at every state: their joint profiles (flattened in the
        players' order), oldest most significant."""
        digits = self._plays
        others = [j for j in range(self.players) if j != i]
        opp_shape = tuple(self.shape[j] for j in others)
        size = int(np.prod(opp_shape))
        out = np.zeros(self.states, np.int64)
        for t in range(self.memory):
            out = out * size + np.ravel_multi_index(tuple(digits[j][t] for j in others), opp_shape)
        return out

    @cached_property
    def _moves(self) -> tuple[np.ndarray, tuple[np.ndarray, ...]]:
        """Every move's target (one row per state, one column per profile, profiles in C order: sorted
        targets) and each player's action in the profile."""
        acts = np.unravel_index(np.arange(self.profiles), self.shape)
        dst = np.zeros((self.states, self.profiles), np.int64)
        for h, n, big, st, a in zip(self._own_histories, self.shape, self.own, self.strides, acts):
            dst += ((h % (big // n)) * n * st)[:, None] + a[None, :] * st
        return dst, tuple(np.asarray(a) for a in acts)

    @cached_property
    def best_replies(self) -> tuple[np.ndarray, ...]:
        """Per player, beta_i[opponent history, a] (sampling without replacement)."""
        out = []
        for i, u in enumerate(self.payoffs):
            flat = np.moveaxis(u, i, 0).reshape(self.shape[i], -1)
            out.append(sample_best_replies(flat, self.memory, self.samples[i]))
        return tuple(out)

    @cached_property
    def _replies(self) -> tuple[np.ndarray, ...]:
        """Per player, the chance of each profile's own action as a best reply, state by state."""
        acts = self._moves[1]
        return tuple(beta[self._opponent_histories(i)[:, None], acts[i][None, :]]
                     for i, beta in enumerate(self.best_replies))

    def _csr(self, data: np.ndarray) -> sparse.csr_matrix:
        """A matrix over histories with ``data[state, profile]`` on the move to that profile's target."""
        indptr = np.arange(self.states + 1, dtype=np.int64) * self.profiles
        return sparse.csr_matrix((data.ravel(), self._moves[0].ravel(), indptr), shape=(self.states, self.states))

    def chain(self, eps) -> sparse.csr_matrix:
        """P(eps) over histories; ``eps`` is one rate or one per player (in (0, 1])."""
        rates = check_mistakes(eps, self.players)
        p = None
        for e, n, beta in zip(rates, self.shape, self._replies):
            q = (1 - e) * beta + e / n
            p = q if p is None else p * q
        return self._csr(p)

    @cached_property
    def resistance(self) -> sparse.csr_matrix:
        """Each move's resistance: how many of the players' actions are not possible best replies."""
        r = None
        for beta in self._replies:
            z = (beta == 0).astype(float)
            r = z if r is None else r + z
        return self._csr(r)

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


class AdaptivePlay(GameAdaptivePlay):
    """Young's adaptive play on the bimatrix game (A, B): A[a, b] row's payoff, B[a, b] column's."""

    def __init__(self, A, B, memory: int, samples: tuple[int, int]):
        A, B = np.asarray(A, float), np.asarray(B, float)
        if A.ndim != 2 or A.shape != B.shape or min(A.shape) < 1:
            raise InputError(f"payoff matrices must be two arrays of one 2-d shape, got {A.shape} "
                             f"and {B.shape}")
        super().__init__((A, B), memory, samples)
        self.A, self.B = A, B
        self.n1, self.n2 = A.shape
        self.h1, self.h2 = self.own  # own-history counts

    def state(self, rows, cols) -> int:
        """Index of the history whose plays, oldest first, are ``rows`` and ``cols``."""
        return self.history([rows, cols])

    def convention(self, a: int, b: int) -> int:
        """The history in which (a, b) was played ``memory`` times."""
        return self.profile_convention((a, b))


def conventions_of(play: GameAdaptivePlay, classes: list[np.ndarray]) -> list[tuple[int, ...] | None]:
    """The profile of each class that is a single convention (one history repeating one profile)."""
    out = []
    for c in classes:
        if c.size != 1:
            out.append(None)
            continue
        plays = [np.unravel_index(int(h[c[0]]), (n,) * play.memory)
                 for h, n in zip(play._own_histories, play.shape)]
        out.append(tuple(int(p[0]) for p in plays) if all(len(set(p)) == 1 for p in plays) else None)
    return out
