"""k items with a seller's price and intermediaries' fees posted at once (intermediary-proof-mechanisms).

Each round the seller commits to a price p_s per item (Commit) and each intermediary, at the
same time, to a fee f_j: it offers its buyers an item at p_s + f_j (Offer). Buyers report
their values (Bid); intermediary j asks for one item for each of its buyers with
v >= p_s + f_j (Request). If more items are asked for than there are k, the k asks with the
smallest random priority are served (random rationing, Definition 7); the seller awards
them (Award). Each served buyer pays p_s + f_j; its intermediary pays p_s to the seller
(Payment) and keeps f_j. The market of :mod:`agora.market.learning.k_selection`, round by round.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from agora.market.errors import InputError
from agora.market.single_item.seller_mechanisms import PostedPrice
from agora.protocols.messages import ALL, Award, Bid, Commit, Offer, Payment, Request
from agora.protocols.posted_menu import KItemRound


@dataclass(frozen=True)
class FeeRound(KItemRound):
    """A k-item round with posted fees: each intermediary's fee and the items its buyers got."""

    fees: tuple[float, ...] = ()
    units: tuple[int, ...] = ()


class PostedFees:
    """The seller's per-item price and every intermediary's fee, posted at once; random rationing.

    ``priority`` (rounds x buyers), if given, scripts the rationing priorities (for common random
    numbers with the array dynamics); otherwise they are drawn from the model's generator.
    """

    name = "posted-fees"

    def __init__(self, k: int, priority: np.ndarray | None = None):
        if not isinstance(k, int) or k < 1:
            raise InputError(f"the seller needs k >= 1 items, got {k}")
        self.k = k
        self.priority = None if priority is None else np.asarray(priority, float)

    def check(self, model) -> None:
        if self.priority is not None and self.priority.shape[1:] != (len(model.buyers),):
            raise InputError(f"priorities need one column per buyer ({len(model.buyers)}), "
                             f"got shape {self.priority.shape}")

    def priorities(self, model) -> np.ndarray:
        if self.priority is None:
            return model.rng.random(len(model.buyers))
        if model.round >= len(self.priority):
            raise IndexError(f"priorities for {len(self.priority)} rounds; round {model.round} asked for")
        return self.priority[model.round]

    def play_round(self, model) -> FeeRound:
        r, seller = model.round, model.seller
        for b in model.buyers:
            b.draw_value()
        ps = float(seller.strategy.choose(seller))
        fees = [float(m.strategy.choose(m)) for m in model.intermediaries]
        seller.revenue = 0.0
        log = [Commit(r, seller.unique_id, ALL, mechanism=PostedPrice(ps))]
        asks = []  # (priority, buyer, intermediary)
        priority = self.priorities(model)
        for m, fee in zip(model.intermediaries, fees):
            m.revenue = 0.0
            log.append(Offer(r, m.unique_id, ALL, auction=PostedPrice(ps + fee), seller_price=ps))
            log += [Bid(r, b.unique_id, m.unique_id, amount=b.value) for b in m.buyers]
            mine = [b for b in m.buyers if b.value >= ps + fee]
            log.append(Request(r, m.unique_id, seller.unique_id, items=(0,) * len(mine)))
            asks += [(float(priority[b.index]), b, m) for b in mine]
        served = sorted(asks, key=lambda a: a[0])[:self.k]
        items = [-1] * len(model.buyers)
        units = [0] * len(model.intermediaries)
        for slot, (_, b, m) in enumerate(served):
            items[b.index] = slot
            units[m.index] += 1
        welfare = 0.0
        for m, fee in zip(model.intermediaries, fees):
            owed = ps * units[m.index]
            log.append(Award(r, seller.unique_id, m.unique_id, items=tuple(items[b.index] for b in m.buyers
                                                                           if items[b.index] >= 0), amount=owed))
            if units[m.index]:
                log.append(Payment(r, m.unique_id, seller.unique_id, amount=owed))
                seller.collect(owed)
                m.collect(fee * units[m.index])
            for b in m.buyers:
                got = items[b.index] >= 0
                b.settle(b.value if got else 0.0, ps + fee if got else 0.0)
                welfare += b.value if got else 0.0
        revenue = ps * sum(units)
        return FeeRound(r, tuple(b.value for b in model.buyers), tuple(items), ps, revenue, welfare, tuple(log),
                        intermediary_price=math.nan,
                        intermediary_revenue=float(sum(f * u for f, u in zip(fees, units))),
                        fees=tuple(fees), units=tuple(units))
