"""Kandori-Mailath-Rob dynamics (Econometrica 1993) for a symmetric game, as an exact Markov chain.

N players play the symmetric game with payoff matrix A (A[a, c]: own action a against c).
The state is the action distribution (how many play each action). Each period one player,
drawn uniformly, revises: with probability eps it picks an action uniformly at random (a
mutation), otherwise a best response to the other N - 1 players' distribution (ties: the
smallest action, or uniformly). This is the one-revision-per-period form that QuantEcon's
``quantecon.game_theory.KMR`` simulates; tests hold the two to the same long-run
distribution.

P(eps) = (1 - eps) P0 + eps M, with P0 best responses and M mutations; a move that only
mutations make has resistance 1. In 2 x 2 coordination games the risk-dominant equilibrium
is the stochastically stable one for N large enough (KMR, Theorem 3), even where the other
is payoff dominant.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
from scipy import sparse

from agora.market.errors import InputError
from agora.market.learning import stochastic_stability as ss
from agora.market.learning.adaptive_play import best_reply_mask

TIE_BREAKING = ("smallest", "uniform")


def distributions(players: int, actions: int) -> np.ndarray:
    """Every way to split ``players`` among ``actions`` (rows), first action's count descending."""
    if actions == 1:
        return np.array([[players]])
    return np.array([[k, *rest] for k in range(players, -1, -1)
                     for rest in distributions(players - k, actions - 1)])


@dataclass
class KMRResult:
    """Recurrent classes (as distributions), their potentials, the stable ones, and pi(eps)."""

    classes: list[np.ndarray]
    resistances: np.ndarray
    potentials: np.ndarray
    stable: list[int]
    stationary: np.ndarray


class KMR:
    """The KMR chain of ``players`` players on the symmetric game ``payoff``."""

    def __init__(self, payoff, players: int, tie_breaking: str = "smallest"):
        A = np.asarray(payoff, float)
        if A.ndim != 2 or A.shape[0] != A.shape[1] or A.shape[0] < 2:
            raise InputError(f"a symmetric game needs a square payoff matrix with >= 2 actions, "
                             f"got shape {A.shape}")
        if not (isinstance(players, int) and players >= 2):
            raise InputError(f"players must be an integer >= 2, got {players!r}")
        if tie_breaking not in TIE_BREAKING:
            raise InputError(f"unknown tie_breaking {tie_breaking!r}; accepted: "
                             f"{', '.join(TIE_BREAKING)}")
        self.A, self.players, self.tie_breaking = A, players, tie_breaking
        self.states = distributions(players, A.shape[0])
        self.index = {tuple(d): i for i, d in enumerate(self.states)}

    def _reply(self, others: np.ndarray) -> np.ndarray:
        mask = best_reply_mask(self.A @ others, self.players * np.abs(self.A).max())
        if self.tie_breaking == "smallest":
            mask = np.arange(mask.size) == np.argmax(mask)
        return mask / mask.sum()

    @cached_property
    def _parts(self) -> tuple[sparse.csr_matrix, sparse.csr_matrix]:
        """P0 (every reviser best-responds) and M (every reviser mutates)."""
        n, k = len(self.states), self.A.shape[0]
        rows, cols, br, mut = [], [], [], []
        for i, d in enumerate(self.states):
            for a in np.flatnonzero(d):
                reply = self._reply(d - np.eye(k, dtype=int)[a])
                for b in range(k):
                    nxt = d.copy()
                    nxt[a] -= 1
                    nxt[b] += 1
                    rows.append(i)
                    cols.append(self.index[tuple(nxt)])
                    br.append(d[a] / self.players * reply[b])
                    mut.append(d[a] / self.players / k)
        shape = (n, n)
        return (sparse.csr_matrix((br, (rows, cols)), shape=shape),
                sparse.csr_matrix((mut, (rows, cols)), shape=shape))

    def chain(self, eps: float) -> sparse.csr_matrix:
        """The transition matrix P(eps) over action distributions."""
        if not 0.0 < eps <= 1.0:
            raise InputError(f"a mutation rate must lie in (0, 1], got {eps!r}")
        p0, m = self._parts
        return ((1 - eps) * p0 + eps * m).tocsr()

    def stationary(self, eps: float) -> np.ndarray:
        return ss.stationary(self.chain(eps))

    def stability(self, eps: float = 1e-3) -> KMRResult:
        """Recurrent classes of P0, stochastic potentials by minimum-resistance trees, and pi(eps)."""
        p0, m = self._parts
        classes = ss.recurrent_classes(p0)
        moves = sparse.coo_matrix(m)
        unperturbed = np.asarray(p0[moves.row, moves.col]).ravel() > 0
        resistance = sparse.csr_matrix(((~unperturbed).astype(float), (moves.row, moves.col)),
                                       shape=m.shape)
        r = ss.class_resistances(resistance, classes)
        pot, _ = ss.stochastic_potentials(r)
        return KMRResult([self.states[c] for c in classes], r, pot, ss.stable_set(pot),
                         self.stationary(eps))
