"""The part of a round shared by intermediary-first and simultaneous timing.

Both sides have committed: the seller to a posted price p, the intermediary to
an auction for the right to dictate bids. Buyers bid their value of the right,
v - p; the winner's cheapest winning bids are forwarded (Definition 2.2); the
seller sells at p; the winner pays the seller p and the intermediary its price.
"""

from __future__ import annotations

from agora.protocols.base import RoundOutcome, pay, settle
from agora.protocols.messages import Commit
from agora.protocols.seller_first import ProtocolError, require_monopsony


def play_right_sale(model, commits: list[Commit]) -> RoundOutcome:
    """Finish a round once the seller has a posted price and the intermediary an auction."""
    r = model.round
    seller, inter, buyers = model.seller, model.intermediaries[0], model.buyers
    values = tuple(b.value for b in buyers)
    price = seller.mechanism.minimum_payment
    offer = inter.offer_right(r, price)
    bids = [b.bid(offer) for b in buyers]
    log = [*commits, offer, *bids]
    sale = inter.sell_right(bids)
    payments = [0.0] * len(buyers)
    winner, seller_rev, inter_rev = None, 0.0, 0.0
    if sale.winner is not None:
        buyer = inter.buyers[sale.winner]
        forward = inter.forward_for(r, buyer, seller.mechanism, seller.unique_id)
        alloc, seller_rev = seller.sell(forward)
        if not alloc.delivered:
            raise ProtocolError(f"the seller refused the cheapest winning bids {forward.bids}")
        inter_rev = sale.payment
        log += [forward, alloc, *pay(r, buyer, seller, inter, seller_rev, inter_rev)]
        payments[buyer.index] = seller_rev + inter_rev
        winner = buyer.index
    settle(buyers, winner, payments)
    return RoundOutcome(
        round=r, values=values, seller_price=price, intermediary_price=inter.auction.parameter,
        winner=winner, delivered=winner is not None, seller_revenue=seller_rev,
        intermediary_revenue=inter_rev, buyer_payments=tuple(payments),
        welfare=values[winner] if winner is not None else 0.0, messages=tuple(log))


class IntermediaryFirst:
    """The intermediary commits first to an auction for the right; the seller best-responds (Section 4)."""

    name = "intermediary-first"

    def check(self, model) -> None:
        require_monopsony(model, self.name)

    def play_round(self, model) -> RoundOutcome:
        model.draw_values()
        first = model.intermediaries[0].commit(model.round)
        second = model.seller.respond(first)
        return play_right_sale(model, [first, second])


class Simultaneous:
    """Seller and intermediary commit to posted prices at the same time (Section 5)."""

    name = "simultaneous"

    def check(self, model) -> None:
        require_monopsony(model, self.name)

    def play_round(self, model) -> RoundOutcome:
        model.draw_values()
        commits = [model.seller.commit(model.round), model.intermediaries[0].commit(model.round)]
        return play_right_sale(model, commits)
