"""How sellers and intermediaries choose what to commit to, round by round.

A strategy has ``choose(agent)`` and returns the agent's commitment for this
round: a seller mechanism (or a price) for the seller, an auction for the right
(or a price for it) for the intermediary. Learning rules plug in here too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from agora.market.single_item.intermediary_first import best_commitment
from agora.market.single_item.right_auctions import RIGHT_AUCTIONS, RightAuction
from agora.market.single_item.seller_first import best_seller_price
from agora.market.single_item.seller_mechanisms import DeterministicMechanism, Menu, PostedPrice
from agora.market.single_item.simultaneous import PricingGame
from agora.market.single_item.virtual_law import VirtualMaxLaw


class StackelbergPrice:
    """Seller-first: post the price that is best against a best-responding intermediary (Section 3).

    argmax_p p P[max_i phi_i(v_i) >= p], solved on the first round and kept.
    """

    def __init__(self):
        self._mechanism: PostedPrice | None = None

    def choose(self, seller) -> DeterministicMechanism:
        if self._mechanism is None:
            law = VirtualMaxLaw(tuple(seller.model.distributions))
            self._mechanism = PostedPrice(best_seller_price(law).price)
        return self._mechanism


@dataclass(frozen=True)
class FixedMechanism:
    """Always commit to the same mechanism: a seller mechanism or menu, or an auction for the right."""

    mechanism: DeterministicMechanism | Menu | RightAuction

    def choose(self, agent):
        return self.mechanism


class BestCommitment:
    """Intermediary-first: the best commitment within ``classes`` against a best-responding seller.

    Solved (bilevel) on the first round and kept; see :mod:`agora.market.single_item.intermediary_first`.
    """

    def __init__(self, classes: Sequence[str] = ("posted_price",)):
        self.classes = tuple(classes)
        self._auction: RightAuction | None = None

    def choose(self, intermediary) -> RightAuction:
        if self._auction is None:
            bidders = tuple(b.distribution for b in intermediary.buyers)
            optima = [best_commitment(bidders, RIGHT_AUCTIONS[c]) for c in self.classes]
            self._auction = max(optima, key=lambda o: o.outcome.intermediary_revenue).commitment
        return self._auction


@dataclass(frozen=True)
class FixedPrice:
    """Simultaneous play: always post ``price``."""

    price: float

    def choose(self, agent) -> float:
        return self.price


class BestResponseDynamics:
    """Simultaneous play: best-respond to the price the other side posted last round.

    In the first round there is no history and the other side's price is taken as
    ``start``. Exact best responses over all prices (:class:`PricingGame`).
    """

    def __init__(self, start: float = 0.0):
        self.start = float(start)
        self._game: PricingGame | None = None

    def choose(self, agent) -> float:
        if self._game is None:
            self._game = PricingGame(agent.model.distributions)
        other = agent.model.last_price_of_other(agent)
        return self._game.best_response(self.start if other is None else other).price
