"""Buyers: unit-demand bidders with private values drawn each round."""

from __future__ import annotations

import math

import mesa

from agora.market.distributions import ValueDistribution
from agora.protocols.messages import Bid, Offer


class Buyer(mesa.Agent):
    """A bidder with value ``v ~ distribution``, redrawn every round.

    The intermediary's shifted Myerson auction is dominant-strategy truthful
    (Theorem 3.1), so the buyer's best response to an :class:`Offer` is to bid
    its value.
    """

    def __init__(self, model: mesa.Model, distribution: ValueDistribution, index: int):
        super().__init__(model)
        self.distribution = distribution
        self.index = index
        self.value = math.nan
        self.payoff = 0.0  # this round: value received minus payments
        self.cumulative_payoff = 0.0

    def draw_value(self) -> float:
        """This round's value: replayed from the model if it has a script, else sampled."""
        replay = self.model.replayed_value(self.index)
        return self.take_value(replay if replay is not None else float(self.distribution.rvs(1, self.model.rng)[0]))

    def take_value(self, value: float) -> float:
        """Start a round with ``value`` (drawn for every buyer at once by the model)."""
        self.value = value
        self.payoff = 0.0
        return value

    def bid(self, offer: Offer) -> Bid:
        """Truthful: the value, or the value of the right, v - p, when the seller's price p is known.

        Every auction offered here (shifted Myerson, posted price, second price,
        Myerson for the right) is dominant-strategy truthful.
        """
        amount = self.value if offer.seller_price is None else self.value - offer.seller_price
        return Bid(offer.round, self.unique_id, offer.sender, amount=amount)

    def settle(self, received: float, paid: float) -> None:
        self.payoff = received - paid
        self.cumulative_payoff += self.payoff
