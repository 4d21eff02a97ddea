"""Repeated play of a two-player matrix game by two learning rules (:mod:`market.learning`).

The array version of the market's dynamics: both players act, the round's sale (if
the game has one) is decided, both observe. :mod:`agents.learning` plays the same
learners inside the Mesa model; tests hold the two to the same price path.

Randomness: one :class:`numpy.random.SeedSequence` per run; its children (by a fixed
spawn key, so a sequence can be reused) seed the row player, the column player and
the market's value draws, in that order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from market.errors import InputError
from market.learning import Learner, Seat, scaled

ROW, COLUMN, MARKET = 0, 1, 2  # which child of a run's SeedSequence seeds what


def child(seq: np.random.SeedSequence, k: int) -> np.random.SeedSequence:
    """The k-th child of ``seq``, the same every time (``spawn`` would advance a counter)."""
    return np.random.SeedSequence(entropy=seq.entropy, spawn_key=(*seq.spawn_key, k),
                                  pool_size=seq.pool_size)


def children(seq: np.random.SeedSequence, n: int) -> list[np.random.SeedSequence]:
    return [child(seq, k) for k in range(n)]


@dataclass(frozen=True)
class MatrixGame:
    """A two-player game: row payoffs A, column payoffs B (rows x columns), and the actions' labels."""

    A: np.ndarray
    B: np.ndarray
    row_actions: np.ndarray
    col_actions: np.ndarray

    @classmethod
    def of(cls, A, B) -> MatrixGame:
        A, B = np.asarray(A, float), np.asarray(B, float)
        if A.shape != B.shape or A.ndim != 2:
            raise InputError(f"payoff matrices must have one shape (rows x columns), got {A.shape} and {B.shape}")
        return cls(A, B, np.arange(A.shape[0], dtype=float), np.arange(A.shape[1], dtype=float))

    def seats(self, start: tuple[int, int], seq: np.random.SeedSequence) -> tuple[Seat, Seat]:
        """Both players' seats: own payoffs scaled to 1, starts, and generators from ``seq``."""
        i, j = start
        row = Seat(scaled(self.A), self.row_actions, self.col_actions, i, j,
                   np.random.default_rng(child(seq, ROW)))
        col = Seat(scaled(self.B.T), self.col_actions, self.row_actions, j, i,
                   np.random.default_rng(child(seq, COLUMN)))
        return row, col


@dataclass
class Play:
    """The actions of every round (indices), whether each round sold, and the learners at the end."""

    rows: np.ndarray
    cols: np.ndarray
    sold: np.ndarray
    row_learner: Learner
    col_learner: Learner

    def frequencies(self, first: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """Empirical frequencies of each player's actions from round ``first`` on."""
        n, m = len(self.row_learner.seat.own_prices), len(self.col_learner.seat.own_prices)
        r, c = self.rows[first:], self.cols[first:]
        return np.bincount(r, minlength=n) / r.size, np.bincount(c, minlength=m) / c.size

    def joint(self, first: int = 0) -> np.ndarray:
        """Empirical frequency of each action profile (rows x columns)."""
        n, m = len(self.row_learner.seat.own_prices), len(self.col_learner.seat.own_prices)
        r, c = self.rows[first:], self.cols[first:]
        return np.bincount(r * m + c, minlength=n * m).reshape(n, m) / r.size


Sale = Callable[[int, int, int], bool]  # (round, row action, column action) -> sold?


def play(game: MatrixGame, row_rule, col_rule, start: tuple[int, int], rounds: int,
         seq: np.random.SeedSequence, sale: Sale | None = None) -> Play:
    """``rounds`` rounds of repeated play from the action profile ``start``.

    ``sale`` decides whether a round sells (what outcome-only learners observe);
    without it every round is observed as unsold.
    """
    if rounds < 1:
        raise InputError(f"rounds must be >= 1, got {rounds}")
    row_seat, col_seat = game.seats(start, seq)
    row, col = row_rule.start(row_seat), col_rule.start(col_seat)
    rows, cols = np.empty(rounds, int), np.empty(rounds, int)
    sold = np.zeros(rounds, bool)
    for t in range(rounds):
        i, j = row.act(), col.act()
        s = bool(sale(t, i, j)) if sale is not None else False
        row.observe(i, j, s)
        col.observe(j, i, s)
        rows[t], cols[t], sold[t] = i, j, s
    return Play(rows, cols, sold, row, col)


def external_regret(game: MatrixGame, p: Play, first: int = 0) -> tuple[float, float]:
    """Each player's average external regret over the rounds from ``first`` on (payoffs unscaled).

    max over fixed actions of the average payoff against the other's actual play,
    minus the average payoff actually received.
    """
    r, c = p.rows[first:], p.cols[first:]
    x, y = p.frequencies(first)
    row_regret = float(np.max(game.A @ y) - game.A[r, c].mean())
    col_regret = float(np.max(x @ game.B) - game.B[r, c].mean())
    return row_regret, col_regret


def cce_violation(game: MatrixGame, joint: np.ndarray) -> float:
    """How far a joint distribution is from a coarse correlated equilibrium.

    The largest gain any player gets by committing to one fixed action instead of
    following the joint distribution (0 exactly at a CCE).
    """
    row_gain = np.max(game.A @ joint.sum(axis=0)) - np.sum(joint * game.A)
    col_gain = np.max(joint.sum(axis=1) @ game.B) - np.sum(joint * game.B)
    return float(max(row_gain, col_gain))
