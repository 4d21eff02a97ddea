"""Auctions an intermediary commits to before the seller moves (monopolist-intermediary, Section 4).

The intermediary sells the exclusive right to dictate the bids forwarded to the
seller (Assumption 2.1). Moving first, it cannot see the seller's price p; each
buyer values the right at v_i - p and bids b_i for it. Three classes:

* :class:`PostedRightPrice` q: the right goes to the highest bid at or above q, for q;
* :class:`SecondPriceRight` r: the highest bid at or above r wins and pays
  max(r, second-highest bid);
* :class:`ShiftedMyersonRight` s: Myerson's auction for the right as if the seller
  were to post s, i.e. the seller-first best response of Theorem 3.1 committed in
  advance: rank by phi_i(b_i + s), sell if that reaches s, charge the threshold bid.

Each ranks bids by a score and sells when the top score reaches a reserve, so the
winner's value threshold is always a_i + p for a constant a_i: the right is sold
with probability 1 - prod_i (1 - P[v_i >= a_i + p]), which is what the seller
best-responds to (Theorem 4.1).
"""

from __future__ import annotations

import math
from abc import ABC
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from agora.market.distributions import ValueDistribution
from agora.market.single_item.law_stacks import SurvivalTable, prob_any
from agora.market.single_item.scores import Score, ShiftedVirtualScore, ValueScore
from agora.market.single_item.seller_mechanisms import MechanismError

KEPT_LAWS = 16  # bidder tuples whose distinct laws are kept
_DISTINCT: dict[int, tuple] = {}


def distinct_laws(bidders: Sequence[ValueDistribution]) -> list[tuple[ValueDistribution, int]]:
    """Each distinct law among ``bidders`` (by spec, first seen) with how many bidders draw from it.

    What the seller faces depends on the bidders only through these counts, so
    formulas over bidders are evaluated once per law: a market of 200 buyers
    drawing from two laws costs two evaluations, not 200.
    A tuple's answer is kept for the last few tuples seen (solvers ask for the same bidders
    thousands of times while they search a price).
    """
    kept = _DISTINCT.get(id(bidders))
    if kept is not None and kept[0] is bidders:
        return list(kept[1])
    counts = Counter(b.spec for b in bidders)
    first = {}
    for b in bidders:
        first.setdefault(b.spec, b)
    laws = [(first[spec], count) for spec, count in counts.items()]
    if isinstance(bidders, tuple):
        if len(_DISTINCT) >= KEPT_LAWS:
            _DISTINCT.pop(next(iter(_DISTINCT)))
        _DISTINCT[id(bidders)] = (bidders, laws)  # the tuple is held, so its id stays its own
    return list(laws)


@dataclass(frozen=True)
class RightSale:
    """Outcome of one auction for the right: winner (None: unsold) and its payment to the intermediary."""

    winner: int | None
    payment: float


class RightAuction(ABC):
    """An auction for the right to dictate forwarded bids, defined on the bids b_i = v_i - p."""

    name: str
    parameter: float
    threshold_payment: bool  # False: the winner pays the posted price

    def __post_init__(self):
        if not 0.0 <= self.parameter < math.inf:
            raise MechanismError(f"{self.name} needs a parameter >= 0, got {self.parameter}")

    @property
    def reserve(self) -> float:
        """The score the top bid must reach for a sale: the class's parameter."""
        return self.parameter

    def scores(self, bidders: Sequence[ValueDistribution], price: float) -> list[Score]:
        """Each bidder's score as a function of its value when the seller posts ``price``: its bid v - p."""
        return [ValueScore(b, -price) for b in bidders]

    def describe(self) -> dict:
        return {"class": self.name, self.parameter_name: self.parameter}

    parameter_name = "parameter"

    def eligibility(self, bidders: Sequence[ValueDistribution]) -> np.ndarray:
        """a_i: bidder i can win iff v_i >= a_i + p, whatever the seller's price p."""
        return np.array([float(s.threshold(self.reserve)) for s in self.scores(bidders, 0.0)])

    def sale_probability(self, bidders: Sequence[ValueDistribution], prices) -> np.ndarray:
        """P[the right is sold] when the seller posts each price (Theorem 4.1's P_M(p))."""
        return self.sale_curve(bidders)(prices)

    def sale_curve(self, bidders: Sequence[ValueDistribution]) -> Callable[[np.ndarray], np.ndarray]:
        """p -> P_M(p), the laws and eligibilities a_i found once (the seller's scan calls it often).

        1 - prod_i (1 - P[v_i >= a_i + p]), a product over distinct laws with multiplicities
        (:func:`distinct_laws`), in logs: accurate when every term is tiny.
        """
        laws = distinct_laws(bidders)
        table = SurvivalTable([b for b, _ in laws], -self.eligibility([b for b, _ in laws]))
        counts = np.array([c for _, c in laws], float)

        def curve(prices) -> np.ndarray:
            return prob_any(counts, table.prob_at_least(prices))

        return curve

    def run(self, bids: Sequence[float], priority: Sequence[float],
            bidders: Sequence[ValueDistribution]) -> RightSale:
        """One auction on the bids for the right; ties in score go to the highest priority."""
        scores = self.scores(bidders, 0.0)  # with p = 0 a score's argument is the bid itself
        ranked = [float(s.score(b)) for s, b in zip(scores, bids)]
        winner = max(range(len(bids)), key=lambda i: (ranked[i], priority[i]))
        if ranked[winner] < self.reserve:
            return RightSale(None, 0.0)
        if not self.threshold_payment:
            return RightSale(winner, self.parameter)
        rival = max((r for i, r in enumerate(ranked) if i != winner), default=-math.inf)
        return RightSale(winner, float(scores[winner].threshold(max(self.reserve, rival))))


@dataclass(frozen=True)
class PostedRightPrice(RightAuction):
    """The right at price q to the highest bid at or above q."""

    parameter: float
    name = "posted_price"
    parameter_name = "price"
    threshold_payment = False


@dataclass(frozen=True)
class SecondPriceRight(RightAuction):
    """Second-price auction for the right with reserve r."""

    parameter: float
    name = "second_price_auction"
    parameter_name = "reserve"
    threshold_payment = True


@dataclass(frozen=True)
class ShiftedMyersonRight(RightAuction):
    """Myerson's auction for the right, shifted by an anticipated seller price s (Theorem 3.1)."""

    parameter: float
    name = "shifted_myerson"
    parameter_name = "anticipated_price"
    threshold_payment = True

    def scores(self, bidders, price):
        return [ShiftedVirtualScore(b, self.parameter - price) for b in bidders]


RIGHT_AUCTIONS = {cls.name: cls for cls in (PostedRightPrice, SecondPriceRight, ShiftedMyersonRight)}
