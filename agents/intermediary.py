"""The intermediary: sells the exclusive right to dictate bids forwarded to the seller."""

from __future__ import annotations

from collections.abc import Sequence

import mesa

from market.mechanisms.intermediary import AuctionResult, ShiftedMyerson
from market.mechanisms.seller import DeterministicMechanism, Menu
from market.solvers.seller_first import intermediary_best_response
from protocols.messages import ALL, Bid, Commit, Forward, Offer


class Intermediary(mesa.Agent):
    """A revenue-maximizing intermediary holding ``buyers`` (Assumption 2.1).

    Seeing the seller's commitment, it best-responds with the shifted Myerson
    auction (Theorem 3.1; Lemma 3.10 for menus), computed from the buyers'
    distributions and cached per commitment.
    """

    def __init__(self, model: mesa.Model, buyers: Sequence[mesa.Agent], index: int = 0):
        super().__init__(model)
        self.buyers = list(buyers)
        self.index = index
        self.auction: ShiftedMyerson | None = None
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

    def run_auction(self, bids: Sequence[Bid]) -> AuctionResult:
        """Run the auction on the buyers' bids; ties in virtual value broken at random."""
        by_sender = {b.sender: b.amount for b in bids}
        amounts = [by_sender[b.unique_id] for b in self.buyers]
        priority = self.model.rng.random(len(amounts))
        return self.auction.run(amounts, priority)

    def forward(self, round_: int, result: AuctionResult, mechanism, seller_id: int) -> Forward:
        """Forward the winner's dictated bids: the cheapest winning vector (Definition 2.2)."""
        bids = () if isinstance(mechanism, Menu) else mechanism.cheapest_winning_bids(len(self.buyers))
        winner = self.buyers[result.winner].unique_id
        return Forward(round_, self.unique_id, seller_id, on_behalf_of=winner, bids=bids,
                       option=result.option)

    def collect(self, amount: float) -> None:
        self.revenue += amount
        self.cumulative_revenue += amount
