"""Repeated play of a game on finite action sets by learning rules (:mod:`agora.market.learning.rules`).

The array version of the market's dynamics: every player acts, the round's sale (if
the game has one) is decided, every player observes. :mod:`agora.agents.learning` plays the
same learners inside the Mesa model; tests hold the two to the same price path.

A :class:`Game` has any number N of players, each with a payoff array with one axis per
player. Each learner sees its own payoffs as a matrix: its own actions against the
joint profiles of the others, flattened (in player order, the last one fastest), so
the two-player rules play N-player games unchanged; with two players this is the
bimatrix game (:class:`MatrixGame`).

Randomness: one :class:`numpy.random.SeedSequence` per run; its children (by a fixed
spawn key, so a sequence can be reused) seed the first (row) player, the second
(column) player and the market's draws, in that order; child 3 seeds the Mesa model
(:mod:`agora.agents.learning`) and children 4, 5, ... the third player on.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from agora.market.errors import InputError
from agora.market.learning.rules import Learner, Seat, scaled

ROW, COLUMN, MARKET = 0, 1, 2  # which child of a run's SeedSequence seeds what
FURTHER = 4  # the child of the third player; the fourth's is the next one, ...


def child(seq: np.random.SeedSequence, k: int) -> np.random.SeedSequence:
    """The k-th child of ``seq``, the same every time (``spawn`` would advance a counter)."""
    return np.random.SeedSequence(entropy=seq.entropy, spawn_key=(*seq.spawn_key, k),
                                  pool_size=seq.pool_size)


def children(seq: np.random.SeedSequence, n: int) -> list[np.random.SeedSequence]:
    return [child(seq, k) for k in range(n)]


def player_child(seq: np.random.SeedSequence, i: int) -> np.random.SeedSequence:
    """The child of ``seq`` that seeds player ``i`` (see the module's docstring)."""
    return child(seq, i if i < MARKET else FURTHER + i - MARKET)


@dataclass(frozen=True)
class Game:
    """An N-player game: ``payoffs[i]`` is player i's payoff at every profile (one axis per player),
    ``actions[i]`` the labels (prices) of player i's actions."""

    payoffs: tuple[np.ndarray, ...]
    actions: tuple[np.ndarray, ...]

    def __post_init__(self):
        shape = tuple(len(a) for a in self.actions)
        if len(self.payoffs) != len(self.actions) or len(shape) < 2 \
                or any(np.shape(p) != shape for p in self.payoffs):
            raise InputError(f"a game needs one payoff array per player, each of shape {shape} "
                             f"(actions per player), got {[np.shape(p) for p in self.payoffs]}")

    @property
    def players(self) -> int:
        return len(self.actions)

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(len(a) for a in self.actions)

    def own_matrix(self, i: int) -> np.ndarray:
        """Player i's payoffs: own actions x the others' joint profiles (flattened)."""
        return np.moveaxis(self.payoffs[i], i, 0).reshape(self.shape[i], -1)

    def strides(self, i: int) -> np.ndarray:
        """Weights that flatten a full profile to the index of the others' joint profile (own weight 0)."""
        dims = [d if k != i else 1 for k, d in enumerate(self.shape)]
        w = np.cumprod([1, *dims[::-1][:-1]])[::-1]
        w[i] = 0
        return w

    def other_prices(self, i: int) -> np.ndarray:
        """The others' prices: with two players the other's actions; otherwise one row per joint profile."""
        others = [a for k, a in enumerate(self.actions) if k != i]
        if len(others) == 1:
            return others[0]
        return np.stack(np.meshgrid(*others, indexing="ij"), axis=-1).reshape(-1, len(others))

    def seats(self, start: tuple[int, ...], seq: np.random.SeedSequence) -> list[Seat]:
        """Every player's seat: own payoffs scaled to 1, starts, and a generator from ``seq``."""
        start = tuple(int(a) for a in start)
        if len(start) != self.players or any(not 0 <= a < d for a, d in zip(start, self.shape)):
            raise InputError(f"a start is one action index per player, within {self.shape}, got {start}")
        return [Seat(scaled(self.own_matrix(i)), self.actions[i], self.other_prices(i), start[i],
                     int(self.strides(i) @ start), np.random.default_rng(player_child(seq, i)))
                for i in range(self.players)]


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

    @property
    def general(self) -> Game:
        return Game((self.A, self.B), (self.row_actions, self.col_actions))

    def seats(self, start: tuple[int, int], seq: np.random.SeedSequence) -> tuple[Seat, Seat]:
        """Both players' seats: own payoffs scaled to 1, starts, and generators from ``seq``."""
        row, col = self.general.seats(start, seq)
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


@dataclass
class Joint:
    """Every round's action profile (rounds x players, indices), its sales, and the learners at the end."""

    actions: np.ndarray
    sold: np.ndarray
    learners: list[Learner]


Sale = Callable[[int, int, int], bool]  # (round, row action, column action) -> sold?
ProfileSale = Callable[[int, tuple[int, ...]], bool]  # (round, action profile) -> sold?


def play_game(game: Game, rules, start: tuple[int, ...], rounds: int, seq: np.random.SeedSequence,
              sale: ProfileSale | None = None) -> Joint:
    """``rounds`` rounds of repeated play of an N-player game from the profile ``start``.

    Each round every learner acts, then observes its own action, the index of the
    others' joint profile and whether the round sold (``sale``; without it, unsold).
    """
    if rounds < 1:
        raise InputError(f"rounds must be >= 1, got {rounds}")
    if len(rules) != game.players:
        raise InputError(f"one rule per player: {game.players} players, got {len(rules)} rules")
    learners = [rule.start(seat) for rule, seat in zip(rules, game.seats(start, seq))]
    strides = [[int(w) for w in game.strides(i)] for i in range(game.players)]
    actions = np.empty((rounds, game.players), int)
    sold = np.zeros(rounds, bool)
    for t in range(rounds):
        a = tuple(learner.act() for learner in learners)
        s = bool(sale(t, a)) if sale is not None else False
        for i, learner in enumerate(learners):
            learner.observe(a[i], sum(w * x for w, x in zip(strides[i], a)), s)
        actions[t], sold[t] = a, s
    return Joint(actions, sold, learners)


def play(game: MatrixGame, row_rule, col_rule, start: tuple[int, int], rounds: int,
         seq: np.random.SeedSequence, sale: Sale | None = None) -> Play:
    """``rounds`` rounds of repeated play of a bimatrix game from the action profile ``start``.

    ``sale`` decides whether a round sells (what outcome-only learners observe);
    without it every round is observed as unsold.
    """
    joint = play_game(game.general, (row_rule, col_rule), start, rounds, seq,
                      None if sale is None else (lambda t, a: sale(t, a[0], a[1])))
    row, col = joint.learners
    return Play(joint.actions[:, 0].copy(), joint.actions[:, 1].copy(), joint.sold, row, col)


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
