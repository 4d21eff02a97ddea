"""Rounds of selling when the seller does not know the distribution and nature picks values.

Auction (thesis Chapters 1 and 3): nature draws the bidders' values; the
seller commits to its mechanism (Commit); each bidder bids its value (Bid:
every mechanism here is dominant-strategy truthful); the seller runs the
mechanism, drawing its lottery or random reserve, allocates (Allocation) and
collects (Payment; the lottery's upfront fee is due even without delivery).

Seller-first with one counterpart (Chapter 2): nature draws the value v of an
intermediary who controls the access to the buyer (what it can resell the
item for); the seller draws and posts this round's price p (Commit); the
intermediary states its value (Bid) and takes the item iff p <= v, which is
its best response to a posted price; it then pays p (Payment).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from agora.protocols.messages import Allocation, Message, Offer, Payment


@dataclass(frozen=True)
class RobustRound:
    """One round: nature's profile, the recipient (or None), payments, revenue, welfare and regret."""

    round: int
    values: tuple[float, ...]
    winner: int | None
    buyer_payments: tuple[float, ...]
    revenue: float
    welfare: float
    regret: float
    price: float
    messages: tuple[Message, ...]

    @property
    def sale(self) -> bool:
        return self.winner is not None


class RobustAuction:
    """I bidders; the seller runs its robust auction on their truthful bids."""

    name = "auction"

    def play_round(self, model) -> RobustRound:
        r, seller = model.round, model.seller
        values = tuple(float(x) for x in model.nature.draw())
        for b in model.buyers:
            b.draw_value()
        commit = seller.commit(r)
        offer = Offer(r, seller.unique_id, -1, auction=seller.mechanism)
        bids = [b.bid(offer) for b in model.buyers]
        out = seller.run_auction([bid.amount for bid in bids])
        paid = out.payments[0]
        winner = int(out.winner[0]) if out.winner[0] >= 0 else None
        log: list[Message] = [commit, *bids]
        if winner is not None:
            log.append(Allocation(r, seller.unique_id, model.buyers[winner].unique_id, delivered=True,
                                  probability=1.0))
        for b in model.buyers:
            if paid[b.index] > 0:
                seller.collect(float(paid[b.index]))
                log.append(Payment(r, b.unique_id, seller.unique_id, amount=float(paid[b.index])))
            b.settle(b.value if b.index == winner else 0.0, float(paid[b.index]))
        revenue = float(paid.sum())
        welfare = values[winner] if winner is not None else 0.0
        return RobustRound(r, values, winner, tuple(float(x) for x in paid), revenue, welfare,
                           max(values) - revenue, np.nan, tuple(log))


class RobustSellerFirst:
    """One counterpart (an intermediary of value v); the seller posts a price drawn from its rule."""

    name = "seller-first"

    def play_round(self, model) -> RobustRound:
        r, seller = model.round, model.seller
        (counterpart,) = model.buyers
        values = tuple(float(x) for x in model.nature.draw())
        counterpart.draw_value()
        commit = seller.commit(r)
        bid = counterpart.bid(Offer(r, seller.unique_id, counterpart.unique_id))
        sold = seller.price <= bid.amount
        cost = seller.knowledge.cost
        log: list[Message] = [commit, bid]
        revenue = seller.price if sold else 0.0
        if sold:
            log += [Allocation(r, seller.unique_id, counterpart.unique_id, delivered=True, probability=1.0),
                    Payment(r, counterpart.unique_id, seller.unique_id, amount=revenue)]
            seller.collect(revenue)
        counterpart.settle(counterpart.value if sold else 0.0, revenue)
        regret = max(values[0] - cost, 0.0) - (revenue - cost * sold)
        return RobustRound(r, values, 0 if sold else None, (revenue,), revenue,
                           values[0] if sold else 0.0, regret, seller.price, tuple(log))
