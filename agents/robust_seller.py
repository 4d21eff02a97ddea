"""A seller who does not know the value distribution: it knows a range, maybe a mean bound."""

from __future__ import annotations

import mesa
import numpy as np

from agora.market.robust.evaluation import is_pricing
from agora.market.robust.mechanisms import Realized
from agora.market.robust.solver import Knowledge, choose_mechanism
from agora.market.single_item.seller_mechanisms import PostedPrice
from agora.protocols.messages import ALL, Commit


class RobustSeller(mesa.Agent):
    """Picks a robust mechanism from what it knows (:func:`choose_mechanism`) and runs it.

    In an auction it commits to the mechanism and runs it on the bids, drawing
    the mechanism's own randomness (lottery, random reserve) from the model's
    generator. Facing one counterpart it draws this round's price from its
    pricing rule and posts it.
    """

    def __init__(self, model: mesa.Model, knowledge: Knowledge, rule: str | None = None, bidders: int = 1):
        super().__init__(model)
        self.knowledge = knowledge
        self.mechanism = choose_mechanism(knowledge, rule, bidders)
        self.price: float | None = None
        self.revenue = 0.0
        self.cumulative_revenue = 0.0

    @property
    def sells_by_price(self) -> bool:
        return is_pricing(self.mechanism)

    def commit(self, round_: int) -> Commit:
        """Announce the mechanism (auction) or this round's posted price (one counterpart).

        An item whose cost is at or above the value range is not offered
        (price +inf, Remark 2.3.1): the seller then announces its rule itself.
        """
        self.revenue = 0.0
        if self.sells_by_price:
            self.price = float(self.mechanism.draw(self.model.rng, 1)[0, 0])
            if np.isfinite(self.price):
                return Commit(round_, self.unique_id, ALL, mechanism=PostedPrice(self.price))
        return Commit(round_, self.unique_id, ALL, mechanism=self.mechanism)

    def run_auction(self, bids: list[float]) -> Realized:
        """Run the committed auction on the bids (in buyer order), with one draw of its randomness."""
        noise = self.mechanism.draw(self.model.rng, 1)
        return self.mechanism.outcome(np.array([bids], float), noise)

    def collect(self, amount: float) -> None:
        self.revenue += amount
        self.cumulative_revenue += amount
