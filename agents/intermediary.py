"""The intermediary: sells the exclusive right to dictate bids forwarded to the seller."""

from __future__ import annotations

from collections.abc import Sequence

import mesa

from market.mechanisms.intermediary import AuctionResult, ShiftedMyerson
from market.mechanisms.right_auctions import PostedRightPrice, RightAuction, RightSale
from market.mechanisms.seller import DeterministicMechanism, Menu
from market.solvers.seller_first import intermediary_best_response
from protocols.messages import ALL, Bid, Commit, Forward, Offer


class Intermediary(mesa.Agent):
    """A revenue-maximizing intermediary holding ``buyers`` (Assumption 2.1).

    Seeing the seller's commitment, it best-responds with the shifted Myerson
    auction (Theorem 3.1; Lemma 3.10 for menus), computed from the buyers'
    distributions and cached per commitment.
    """

    def __init__(self, model: mesa.Model, buyers: Sequence[mesa.Agent], index: int = 0, strategy=None):
        super().__init__(model)
        self.buyers = list(buyers)
        self.index = index
        self.strategy = strategy
        self.auction: ShiftedMyerson | RightAuction | None = None
        self.revenue = 0.0  # this round
        self.cumulative_revenue = 0.0
        self._responses: dict = {}

    def best_response(self, mechanism: DeterministicMechanism | Menu) -> ShiftedMyerson:
        if mechanism not in self._responses:
            self._responses[mechanism] = intermediary_best_response(
                [b.distribution for b in self.buyers], mechanism)
        return self._responses[mechanism]

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
        bids = () if isinstance(mechanism, Menu) else mechanism.cheapest_winning_bids(len(self.buyers))
        return Forward(round_, self.unique_id, seller_id, on_behalf_of=buyer.unique_id, bids=bids,
                       option=option)

    def collect(self, amount: float) -> None:
        self.revenue += amount
        self.cumulative_revenue += amount
