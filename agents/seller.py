"""The seller: commits to a mechanism or best-responds to the intermediary's, then sells."""

from __future__ import annotations

import mesa

from agora.market.single_item.intermediary_first import seller_best_response
from agora.market.single_item.right_auctions import RightAuction
from agora.market.single_item.seller_mechanisms import DeterministicMechanism, Menu, PostedPrice
from agora.protocols.messages import ALL, Allocation, Commit, Forward


class Seller(mesa.Agent):
    """The seller: commits to a mechanism, then sells to the forwarded bids."""

    def __init__(self, model: mesa.Model, strategy):
        super().__init__(model)
        self.strategy = strategy
        self.mechanism: DeterministicMechanism | Menu | None = None
        self._responses: dict = {}
        self.revenue = 0.0
        self.cumulative_revenue = 0.0

    def commit(self, round_: int) -> Commit:
        """Commit first (seller-first) or at the same time (simultaneous); a number is a posted price."""
        choice = self.strategy.choose(self)
        self.mechanism = PostedPrice(float(choice)) if isinstance(choice, (int, float)) else choice
        self.revenue = 0.0
        return Commit(round_, self.unique_id, ALL, mechanism=self.mechanism)

    def respond(self, commit: Commit) -> Commit:
        """Intermediary-first: post the price best against its auction for the right (Theorem 4.1)."""
        auction: RightAuction = commit.mechanism
        if auction not in self._responses:
            bidders = [b.distribution for b in self.model.buyers]
            self._responses[auction] = PostedPrice(seller_best_response(bidders, auction).price)
        self.mechanism = self._responses[auction]
        self.revenue = 0.0
        return Commit(commit.round, self.unique_id, ALL, mechanism=self.mechanism)

    def sell(self, forward: Forward) -> tuple[Allocation, float]:
        """Run the committed mechanism on the forwarded message: (allocation, price on delivery)."""
        if isinstance(self.mechanism, Menu):
            option = self.mechanism.options[forward.option]
            delivered = bool(self.model.rng.random() < option.probability)
            probability, price = option.probability, option.price
        else:
            slot, price = self.mechanism.outcome(forward.bids)
            delivered, probability = slot is not None, 1.0
        alloc = Allocation(forward.round, self.unique_id, forward.on_behalf_of,
                           delivered=delivered, probability=probability)
        return alloc, price if delivered else 0.0

    def collect(self, amount: float) -> None:
        self.revenue += amount
        self.cumulative_revenue += amount
