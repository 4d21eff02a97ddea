"""Seller-first timing (monopolist-intermediary, Section 3).

One round: buyers learn their values; the seller commits to a mechanism
(Commit); the intermediary best-responds with the shifted Myerson auction and
offers it to its buyers (Offer); buyers bid (Bid); the winner's cheapest
winning bids are forwarded to the seller (Forward); the seller allocates
(Allocation); the winner pays the seller and the intermediary on delivery
(Payment).
"""

from __future__ import annotations

import math

from agora.market.demand import partition_of
from agora.market.errors import InputError
from agora.protocols.base import RoundOutcome, pay, settle


class ProtocolError(InputError):
    """A market that the protocol cannot run."""


def require_monopsony(model, protocol: str) -> None:
    """The single-item protocols need one intermediary holding every buyer."""
    blocks = partition_of(model.demand)
    if len(blocks) != 1:
        raise ProtocolError(f"the {protocol} protocol needs one intermediary holding every buyer "
                            f"(monopsony), got partition {blocks}")


class SellerFirst:
    """The seller moves first; one intermediary holds every buyer."""

    name = "seller-first"

    def check(self, model) -> None:
        require_monopsony(model, self.name)

    def play_round(self, model) -> RoundOutcome:
        r = model.round
        seller, inter, buyers = model.seller, model.intermediaries[0], model.buyers
        values = model.draw_values()
        commit = seller.commit(r)
        offer = inter.respond(commit)
        bids = [b.bid(offer) for b in buyers]
        log = [commit, offer, *bids]
        result = inter.run_auction(bids)
        menu = inter.auction.menu  # the seller's commitment as the menu it induces (Theorem 2.3)
        price = menu.options[0].price if menu.is_posted_price else math.nan
        payments = [0.0] * len(buyers)
        winner, delivered, seller_rev, inter_rev = None, False, 0.0, 0.0
        if result.winner is not None:
            winner = result.winner
            buyer = inter.buyers[winner]
            forward = inter.forward(r, result, seller.mechanism, seller.unique_id)
            alloc, seller_rev = seller.sell(forward)
            log += [forward, alloc]
            delivered = alloc.delivered
            if delivered:
                inter_rev = result.fee_on_delivery
                log += pay(r, buyer, seller, inter, seller_rev, inter_rev)
                payments[buyer.index] = seller_rev + inter_rev
            winner = buyer.index
        settle(buyers, winner if delivered else None, payments)
        return RoundOutcome(
            round=r, values=values, seller_price=price, intermediary_price=math.nan,
            winner=winner, delivered=delivered,
            seller_revenue=seller_rev, intermediary_revenue=inter_rev,
            buyer_payments=tuple(payments),
            welfare=values[winner] if delivered else 0.0, messages=tuple(log))
