"""The intermediary: sells the exclusive right to dictate bids forwarded to the seller."""

from __future__ import annotations

from collections.abc import Sequence

import mesa
import numpy as np

from agora.market.k_items.auction import QuantityBestResponse
from agora.market.k_items.montecarlo import best_items
from agora.market.k_items.utility import model_demand
from agora.market.single_item.intermediary_mechanisms import AuctionResult, ShiftedMyerson
from agora.market.single_item.right_auctions import PostedRightPrice, RightAuction, RightSale
from agora.market.single_item.seller_first import intermediary_best_response
from agora.market.single_item.seller_mechanisms import DeterministicMechanism, Menu
from agora.protocols.messages import ALL, Bid, Commit, Forward, Offer


class Intermediary(mesa.Agent):
    """A revenue-maximizing intermediary holding ``buyers`` (Assumption 2.1).

    Seeing the seller's commitment, it best-responds with the shifted Myerson
    auction (Theorem 3.1; Lemma 3.10 for menus), computed from the buyers'
    distributions and cached per commitment.
    """

    def __init__(self, model: mesa.Model, buyers: Sequence[mesa.Agent], index: int = 0, strategy=None,
                 utility=None):
        super().__init__(model)
        self.utility = utility  # what it wants when buying k items for its buyers (agora.market.k_items.utility)
        self._bidding = None
        self.buyers = list(buyers)
        self.index = index
        self.strategy = strategy
        self.auction: ShiftedMyerson | RightAuction | None = None
        self.revenue = 0.0  # this round
        self.cumulative_revenue = 0.0
        self._responses: dict = {}
        self._bids: dict = {}

    def best_response(self, mechanism: DeterministicMechanism | Menu) -> ShiftedMyerson:
        response = self._responses.get(mechanism)
        if response is None:
            response = self._responses[mechanism] = intermediary_best_response(
                [b.distribution for b in self.buyers], mechanism)
        return response

    def respond(self, commit: Commit) -> Offer:
        self.auction = self.best_response(commit.mechanism)
        self.revenue = 0.0
        return Offer(commit.round, self.unique_id, ALL, auction=self.auction)

    def commit(self, round_: int) -> Commit:
        """Commit to an auction for the right before (or while) the seller moves; a number is a posted price."""
        choice = self.strategy.choose(self)
        self.auction = PostedRightPrice(float(choice)) if isinstance(choice, (int, float)) else choice
        self.revenue = 0.0
        return Commit(round_, self.unique_id, ALL, mechanism=self.auction)

    def offer_right(self, round_: int, seller_price: float) -> Offer:
        """Offer the committed auction to the buyers, who value the right at v - seller_price."""
        return Offer(round_, self.unique_id, ALL, auction=self.auction, seller_price=seller_price)

    def sell_right(self, bids: Sequence[Bid]) -> RightSale:
        """Run the committed auction for the right on the buyers' bids (ties at random)."""
        amounts = self._amounts(bids)
        return self.auction.run(amounts, self.model.rng.random(len(amounts)),
                                [b.distribution for b in self.buyers])

    def _amounts(self, bids: Sequence[Bid]) -> list[float]:
        by_sender = {b.sender: b.amount for b in bids}
        return [by_sender[b.unique_id] for b in self.buyers]

    def run_auction(self, bids: Sequence[Bid]) -> AuctionResult:
        """Run the auction on the buyers' bids; ties in virtual value broken at random."""
        amounts = self._amounts(bids)
        priority = self.model.rng.random(len(amounts))
        return self.auction.run(amounts, priority)

    def forward(self, round_: int, result: AuctionResult, mechanism, seller_id: int) -> Forward:
        """Forward the winner's dictated bids: the cheapest winning vector (Definition 2.2)."""
        return self.forward_for(round_, self.buyers[result.winner], mechanism, seller_id, result.option)

    def forward_for(self, round_: int, buyer, mechanism, seller_id: int, option: int = 0) -> Forward:
        bids = () if isinstance(mechanism, Menu) else self._cheapest_bids(mechanism)
        return Forward(round_, self.unique_id, seller_id, on_behalf_of=buyer.unique_id, bids=bids,
                       option=option)

    def _cheapest_bids(self, mechanism: DeterministicMechanism) -> tuple[float, ...]:
        """The mechanism's cheapest winning bid vector over its buyers' slots, kept per mechanism."""
        bids = self._bids.get(mechanism)
        if bids is None:
            bids = self._bids[mechanism] = mechanism.cheapest_winning_bids(len(self.buyers))
        return bids

    def collect(self, amount: float) -> None:
        self.revenue += amount
        self.cumulative_revenue += amount

    # -- k items (intermediary-proof-mechanisms) ------------------------------
    def values(self) -> np.ndarray:
        """Its buyers' values this round, as one row."""
        return np.array([[b.value for b in self.buyers]])

    def wanted_items(self, menu, available: Sequence[int] | None) -> tuple[int, ...]:
        """Items (menu indices) it asks for among ``available``; one entry per buyer it buys for.

        Identical items: as many as its utility model demands at the price (Condition 3);
        with ``available`` None (random rationing) it asks for every unit it wants, each
        entry naming item 0 (the items are identical).
        Heterogeneous items: the assignment of Lemma 5 over the available ones.
        Entries are in the order of its buyers' ranks (best buyer first).
        """
        dist = self.buyers[0].distribution
        values = self.values()
        if menu.uniform:
            cap = None if available is None else len(available)
            d = int(model_demand(self.utility, values, menu.unit_price, dist, cap)[0])
            return (0,) * d if available is None else tuple(available[:d])
        mask = np.zeros((1, menu.k), bool)
        mask[0, list(available)] = True
        chosen = best_items(self.utility.scores(values, dist), menu.weights, menu.prices, mask)[0]
        ranked = np.argsort(-values[0], kind="stable")
        return tuple(int(chosen[i]) for i in ranked if chosen[i] >= 0)

    def auction_bids(self, auction, n: int) -> tuple[float, ...]:
        """Its bids, one per buyer (-inf = no bid), best-responding to truthful rivals (k_auction)."""
        if self._bidding is None or self._bidding.auction != auction:
            self._bidding = QuantityBestResponse(self.buyers[0].distribution, self.utility, len(self.buyers),
                                                 n, auction)
        return tuple(float(b) for b in self._bidding.bids(self.values())[0])

    def assign(self, items: Sequence[int], weights: Sequence[float]) -> dict[int, int]:
        """Give won items to its buyers: higher weights to higher values (buyer index -> item)."""
        ranked = sorted(self.buyers, key=lambda b: -b.value)
        ordered = sorted(items, key=lambda j: -weights[j])
        return {b.index: j for b, j in zip(ranked, ordered)}
