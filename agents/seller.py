"""The seller and the strategies it uses to choose a mechanism."""

from __future__ import annotations

from dataclasses import dataclass

import mesa

from market.mechanisms.seller import DeterministicMechanism, Menu, PostedPrice
from market.solvers.seller_first import best_seller_price
from market.virtual_law import VirtualMaxLaw
from protocols.messages import ALL, Allocation, Commit, Forward


class StackelbergPrice:
    """Post the price that is best against a best-responding intermediary (Section 3).

    argmax_p p P[max_i phi_i(v_i) >= p], solved in :mod:`market.solvers.seller_first`
    on the first round and kept (the distributions do not change).
    """

    def __init__(self):
        self._mechanism: PostedPrice | None = None

    def choose(self, seller: Seller) -> DeterministicMechanism:
        if self._mechanism is None:
            law = VirtualMaxLaw(tuple(seller.model.distributions))
            self._mechanism = PostedPrice(best_seller_price(law).price)
        return self._mechanism

    def describe(self) -> str:
        return "stackelberg"


@dataclass(frozen=True)
class FixedMechanism:
    """Always commit to the same mechanism (deterministic, or a randomized menu)."""

    mechanism: DeterministicMechanism | Menu

    def choose(self, seller: Seller) -> DeterministicMechanism | Menu:
        return self.mechanism

    def describe(self) -> str:
        return str(self.mechanism.describe())


class Seller(mesa.Agent):
    """The seller: commits to a mechanism, then sells to the forwarded bids."""

    def __init__(self, model: mesa.Model, strategy):
        super().__init__(model)
        self.strategy = strategy
        self.mechanism: DeterministicMechanism | Menu | None = None
        self.revenue = 0.0
        self.cumulative_revenue = 0.0

    def commit(self, round_: int) -> Commit:
        self.mechanism = self.strategy.choose(self)
        self.revenue = 0.0
        return Commit(round_, self.unique_id, ALL, mechanism=self.mechanism)

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
