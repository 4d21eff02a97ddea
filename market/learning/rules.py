"""Learning rules for repeated play of a game over finite action sets.

A rule is a frozen dataclass (picklable; it names itself and its parameters). Its
``start(seat)`` returns a :class:`Learner` for one player, given a :class:`Seat`: the
player's own payoff matrix (own actions x the other's actions, scaled so the largest
absolute payoff is 1, so learning rates and temperatures are in units of the best
payoff), both action sets as prices, where each side starts, and the player's own
random generator. A round is ``act()`` by both players, then ``observe(own, other,
sold)`` by both. With more than two players "the other" is the others' joint profile
(:class:`agora.market.learning.dynamics.Game`), and fictitious play keeps beliefs over joint profiles.
Rules that know the game (the distributions) use the payoff matrix;
:class:`DemandLearning` uses only its prices and what it observed.

* :class:`BestResponse` (with inertia): best-respond to the other's last action;
  keep the current action if it is already a best response.
* :class:`FictitiousPlay`: best-respond to the empirical frequency of the other's
  actions (Brown 1951; Robinson 1951: converges in zero-sum games); with
  ``temperature > 0`` the smoothed, logit version (Fudenberg-Kreps 1993), whose
  beliefs converge to the logit quantal-response equilibrium at lambda = 1 /
  temperature in zero-sum games (Hofbauer-Sandholm 2002).
* :class:`Hedge`: multiplicative weights on cumulative payoffs (Freund-Schapire 1997);
  average regret O(sqrt(log K / T)); in zero-sum games the time averages converge.
* :class:`RegretMatching`: play in proportion to positive cumulative regret
  (Hart-Mas-Colell 2000); the empirical joint play approaches the coarse correlated
  equilibria.
* :class:`DemandLearning`: does not know the distributions: it estimates the sale
  probability as a decreasing function of the total price from past rounds'
  accept/reject outcomes (isotonic regression) and best-responds to that estimate,
  exploring with probability ``explore``.
* :class:`WithInertia`: any rule that revises its action only with probability
  1 - ``inertia`` each round (Hart-Mas-Colell 2000's regret matching has such inertia).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np
from scipy.optimize import isotonic_regression
from scipy.special import softmax

from agora.market.errors import InputError

TIE_RTOL = 1e-9  # payoffs within this fraction of the best count as best (the verifier's REGRET_RTOL)


@dataclass(frozen=True)
class Seat:
    """What one player starts with: own payoffs (scaled), prices, starting actions and a generator."""

    payoff: np.ndarray  # own actions x other's actions (the others' joint profiles), max |payoff| = 1
    own_prices: np.ndarray
    other_prices: np.ndarray  # the other's prices; with more players, one row of prices per joint profile
    start: int
    other_start: int
    rng: np.random.Generator


def scaled(payoff: np.ndarray) -> np.ndarray:
    """Payoffs divided by their largest absolute value (learning does not depend on units)."""
    top = float(np.max(np.abs(payoff)))
    return payoff / top if top > 0 else payoff.astype(float)


def sample(rng: np.random.Generator, p: np.ndarray) -> int:
    """One draw from the distribution ``p`` (inverse CDF; one uniform per draw)."""
    c = np.cumsum(p)
    return int(min(np.searchsorted(c, rng.random() * c[-1], side="right"), len(p) - 1))


def best_replies(values: np.ndarray) -> np.ndarray:
    """Indices whose payoff is best up to TIE_RTOL (relative to the best payoff)."""
    top = float(np.max(values))
    return np.flatnonzero(values >= top - TIE_RTOL * abs(top))


def best_reply(values: np.ndarray, current: int) -> int:
    """Keep ``current`` if it is a best reply; otherwise the lowest-index best reply."""
    best = best_replies(values)
    return current if current in best else int(best[0])


class Learner(ABC):
    """One player's learning state."""

    def __init__(self, seat: Seat):
        self.seat = seat
        self.action = seat.start

    @abstractmethod
    def act(self) -> int:
        """The action this round."""

    @abstractmethod
    def observe(self, own: int, other: int, sold: bool) -> None:
        """After a round: both actions played and whether the item was sold."""

    @abstractmethod
    def mixed(self) -> np.ndarray:
        """The mixed strategy the rule plays next round (for reports)."""


def _check(name: str, value: float, lo: float, hi: float, closed_hi: bool = True) -> None:
    ok = lo <= value <= hi if closed_hi else lo <= value < hi
    if not ok:
        bracket = "]" if closed_hi else ")"
        raise InputError(f"{name} must be in [{lo:g}, {hi:g}{bracket}, got {value}")


# ----------------------------------------------------------------- best response
@dataclass(frozen=True)
class BestResponse:
    """Best-response dynamics: each round, with probability ``inertia`` keep the last action."""

    inertia: float = 0.0

    def __post_init__(self):
        _check("inertia", self.inertia, 0.0, 1.0, closed_hi=False)

    @property
    def label(self) -> str:
        return f"best response (inertia {self.inertia:g})"

    def start(self, seat: Seat) -> Learner:
        return _BestResponse(seat, self.inertia)


class _BestResponse(Learner):
    def __init__(self, seat: Seat, inertia: float):
        super().__init__(seat)
        self.inertia = inertia
        self.other: int | None = None

    def act(self) -> int:
        if self.other is not None:
            stay = self.inertia > 0 and self.seat.rng.random() < self.inertia
            if not stay:
                self.action = best_reply(self.seat.payoff[:, self.other], self.action)
        return self.action

    def observe(self, own: int, other: int, sold: bool) -> None:
        self.other = other

    def mixed(self) -> np.ndarray:
        return np.eye(len(self.seat.own_prices))[self.action]


# ------------------------------------------------------------- fictitious play
@dataclass(frozen=True)
class FictitiousPlay:
    """Best-respond to the other's empirical frequencies; ``temperature > 0``: logit response.

    Beliefs start as ``prior`` observations of the other's starting action.
    """

    temperature: float = 0.0
    prior: float = 1.0

    def __post_init__(self):
        _check("temperature", self.temperature, 0.0, np.inf, closed_hi=False)
        if not self.prior > 0:
            raise InputError(f"prior must be > 0, got {self.prior}")

    @property
    def label(self) -> str:
        return "fictitious play" if self.temperature == 0 else \
            f"smoothed fictitious play (temperature {self.temperature:g})"

    def start(self, seat: Seat) -> Learner:
        return _FictitiousPlay(seat, self.temperature, self.prior)


class _FictitiousPlay(Learner):
    def __init__(self, seat: Seat, temperature: float, prior: float):
        super().__init__(seat)
        self.temperature = temperature
        self.counts = np.zeros(len(seat.other_prices))
        self.counts[seat.other_start] = prior
        self.first = True

    def belief(self) -> np.ndarray:
        return self.counts / self.counts.sum()

    def act(self) -> int:
        if self.first:
            self.first = False
        elif self.temperature == 0:
            self.action = best_reply(self.seat.payoff @ self.belief(), self.action)
        else:
            self.action = sample(self.seat.rng, self.mixed())
        return self.action

    def observe(self, own: int, other: int, sold: bool) -> None:
        self.counts[other] += 1.0

    def mixed(self) -> np.ndarray:
        expected = self.seat.payoff @ self.belief()
        if self.temperature == 0:
            return np.eye(len(expected))[best_reply(expected, self.action)]
        return softmax(expected / self.temperature)


# ------------------------------------------------------------------ no regret
@dataclass(frozen=True)
class Hedge:
    """Multiplicative weights on cumulative (expected) payoffs with learning rate ``eta``.

    The first round plays the start with probability ``anchor``; the rest is uniform.
    """

    eta: float = 0.1
    anchor: float = 0.9

    def __post_init__(self):
        if not self.eta > 0:
            raise InputError(f"eta (learning rate) must be > 0, got {self.eta}")
        _check("anchor", self.anchor, 0.0, 1.0, closed_hi=False)

    @property
    def label(self) -> str:
        return f"Hedge (eta {self.eta:g})"

    def start(self, seat: Seat) -> Learner:
        return _Hedge(seat, self.eta, self.anchor)


class _Hedge(Learner):
    def __init__(self, seat: Seat, eta: float, anchor: float):
        super().__init__(seat)
        k = len(seat.own_prices)
        w = np.full(k, (1.0 - anchor) / k)
        w[seat.start] += anchor
        self.eta = eta
        self.score = np.log(w) / eta  # cumulative payoff of each action, with the anchor as a head start

    def act(self) -> int:
        self.action = sample(self.seat.rng, self.mixed())
        return self.action

    def observe(self, own: int, other: int, sold: bool) -> None:
        self.score += self.seat.payoff[:, other]

    def mixed(self) -> np.ndarray:
        return softmax(self.eta * self.score)


@dataclass(frozen=True)
class RegretMatching:
    """Play each action with probability proportional to its positive cumulative regret.

    Regret starts at ``prior`` (in units of the best payoff) for the starting action.
    """

    prior: float = 1.0

    def __post_init__(self):
        if not self.prior > 0:
            raise InputError(f"prior must be > 0, got {self.prior}")

    @property
    def label(self) -> str:
        return "regret matching"

    def start(self, seat: Seat) -> Learner:
        return _RegretMatching(seat, self.prior)


class _RegretMatching(Learner):
    def __init__(self, seat: Seat, prior: float):
        super().__init__(seat)
        self.regret = np.zeros(len(seat.own_prices))
        self.regret[seat.start] = prior

    def act(self) -> int:
        self.action = sample(self.seat.rng, self.mixed())
        return self.action

    def observe(self, own: int, other: int, sold: bool) -> None:
        column = self.seat.payoff[:, other]
        self.regret += column - column[own]

    def mixed(self) -> np.ndarray:
        pos = np.maximum(self.regret, 0.0)
        total = pos.sum()
        return pos / total if total > 0 else np.full(len(pos), 1.0 / len(pos))


# ------------------------------------------------------ learning from outcomes
@dataclass(frozen=True)
class DemandLearning:
    """Learn the sale probability from accept/reject data; best-respond to the estimate.

    The agent knows only its own prices. After each round it records the total price
    posted (own + other's) and whether the item sold; the sale probability is
    estimated as a decreasing function of the total by weighted isotonic regression,
    read at the highest observed total at or below the one asked (1 below every
    observation: optimism about untried low totals). Each round it keeps its price with
    probability ``inertia``; otherwise, with probability ``explore / sqrt(t)`` in its t-th
    round (exploration that fades, so play can settle) it posts a uniformly random
    price, else the best price against the estimate and the other's last price.
    """

    explore: float = 0.05
    inertia: float = 0.0

    def __post_init__(self):
        _check("explore", self.explore, 0.0, 1.0)
        _check("inertia", self.inertia, 0.0, 1.0, closed_hi=False)

    @property
    def label(self) -> str:
        return f"demand learning (explore {self.explore:g}, inertia {self.inertia:g})"

    def start(self, seat: Seat) -> Learner:
        if seat.other_prices.ndim != 1:
            raise InputError("demand learning estimates P[sale] against the total of two prices; it plays "
                             f"two-player markets, not one with {seat.other_prices.shape[1] + 1} players")
        return _DemandLearning(seat, self.explore, self.inertia)


class _DemandLearning(Learner):
    def __init__(self, seat: Seat, explore: float, inertia: float):
        super().__init__(seat)
        self.explore, self.inertia = explore, inertia
        totals = np.add.outer(seat.own_prices, seat.other_prices)
        self.totals = np.unique(totals)
        self.bin = np.searchsorted(self.totals, totals)  # own x other -> index of the total
        self.offers = np.zeros(self.totals.size)
        self.sales = np.zeros(self.totals.size)
        self.other: int | None = None
        self.first = True
        self.rounds = 0

    def estimate(self) -> np.ndarray:
        """Estimated P[sale] at every possible total price (non-increasing in the total)."""
        seen = np.flatnonzero(self.offers)
        if seen.size == 0:
            return np.ones(self.totals.size)
        fit = isotonic_regression(self.sales[seen] / self.offers[seen], weights=self.offers[seen],
                                  increasing=False).x
        at = np.searchsorted(self.totals[seen], self.totals, side="right") - 1
        return np.where(at >= 0, fit[np.maximum(at, 0)], 1.0)

    def greedy(self) -> int:
        s = self.estimate()[self.bin[:, self.other]]
        return best_reply(self.seat.own_prices * s, self.action)

    def act(self) -> int:
        if self.first:
            self.first = False
            return self.action
        rng = self.seat.rng
        if self.inertia > 0 and rng.random() < self.inertia:
            return self.action
        explore = self.explore > 0 and rng.random() < self.explore / np.sqrt(self.rounds)
        self.action = int(rng.integers(len(self.seat.own_prices))) if explore else self.greedy()
        return self.action

    def observe(self, own: int, other: int, sold: bool) -> None:
        b = self.bin[own, other]
        self.offers[b] += 1.0
        self.sales[b] += float(sold)
        self.other = other
        self.rounds += 1

    def mixed(self) -> np.ndarray:
        k = len(self.seat.own_prices)
        e = self.explore / np.sqrt(max(self.rounds, 1))
        p = np.full(k, (1.0 - self.inertia) * e / k)
        p[self.greedy() if self.other is not None else self.action] += (1.0 - self.inertia) * (1.0 - e)
        p[self.action] += self.inertia
        return p


# ------------------------------------------------------------------- inertia
@dataclass(frozen=True)
class WithInertia:
    """``rule``, revising only with probability 1 - ``inertia`` each round after the first.

    The inner learner observes every round; when it does not revise, the last action is kept.
    """

    rule: object
    inertia: float = 0.0

    def __post_init__(self):
        _check("inertia", self.inertia, 0.0, 1.0, closed_hi=False)

    @property
    def label(self) -> str:
        return f"{self.rule.label} (inertia {self.inertia:g})"

    def start(self, seat: Seat) -> Learner:
        return _WithInertia(seat, self.rule.start(seat), self.inertia)


class _WithInertia(Learner):
    def __init__(self, seat: Seat, inner: Learner, inertia: float):
        super().__init__(seat)
        self.inner, self.inertia = inner, inertia
        self.first = True

    def act(self) -> int:
        if self.first or not (self.inertia > 0 and self.seat.rng.random() < self.inertia):
            self.action = self.inner.act()
        self.first = False
        return self.action

    def observe(self, own: int, other: int, sold: bool) -> None:
        self.inner.observe(own, other, sold)

    def mixed(self) -> np.ndarray:
        keep = np.eye(len(self.seat.own_prices))[self.action]
        return self.inertia * keep + (1.0 - self.inertia) * self.inner.mixed()


RULES = {"best-response": BestResponse, "fictitious-play": FictitiousPlay, "hedge": Hedge,
         "regret-matching": RegretMatching, "demand-learning": DemandLearning}
