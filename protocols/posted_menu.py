"""k items sold to intermediaries on any demand structure (intermediary-proof-mechanisms).

:class:`PostedMenu` -- the seller posts a price per item (Commit); each intermediary
offers the menu to its buyers (Offer), who report their values (Bid); intermediaries ask
for items (Request). With random rationing every request arrives at once and, if more
units are asked for than there are items, the seller serves a uniformly random set of k
of the asked-for units (Definition 7); with a sequential order intermediaries arrive one
at a time and buy from what is left (Definition 9). The seller answers with an Award, the
intermediary gives its items to its best buyers and pays (Payment).

:class:`KItemAuction` -- the (k+1)-th-price auction: intermediaries send bids (Request),
the seller serves the k highest bids at or above the reserve at one price, the highest
losing bid or the reserve (Proposition 1).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from agora.market.errors import InputError
from agora.market.k_items.mechanisms import ItemMenu, UniformPriceAuction
from agora.protocols.messages import ALL, Award, Bid, Commit, Message, Offer, Payment, Request


@dataclass(frozen=True)
class KItemRound:
    """One round with k items: who got which item (-1 none), revenue, realized welfare, the log.

    ``intermediary_revenue`` is 0: an intermediary's cut from its buyers is its own
    business (its utility model); buyers are charged the seller's price of their item.
    """

    round: int
    values: tuple[float, ...]
    items: tuple[int, ...]
    seller_price: float  # the uniform price or reserve; nan for a heterogeneous menu
    seller_revenue: float
    welfare: float
    messages: tuple[Message, ...]
    intermediary_price: float = math.nan
    intermediary_revenue: float = 0.0
    winner: int | None = None

    @property
    def sale(self) -> int:
        return sum(1 for j in self.items if j >= 0)

    @property
    def delivered(self) -> bool:
        return self.sale > 0

    @property
    def total_revenue(self) -> float:
        return self.seller_revenue


def _require_utilities(model, protocol: str) -> None:
    missing = [m.index for m in model.intermediaries if m.utility is None]
    if missing:
        raise InputError(f"the {protocol} protocol needs a utility model for every intermediary "
                         f"(MarketModel(utility=...)); intermediaries {missing} have none")
    specs = {b.distribution.spec for b in model.buyers}
    if len(specs) != 1:
        raise InputError(f"the {protocol} protocol needs identically distributed buyers, got {sorted(specs)}")


def _settle(model, r: int, awards: dict, prices, weights, log: list) -> tuple[list[int], float, float]:
    """Assign awarded items to buyers, collect payments; returns (item per buyer, revenue, welfare)."""
    items = [-1] * len(model.buyers)
    revenue = welfare = 0.0
    for inter in model.intermediaries:
        won = awards.get(inter.index, ())
        owed = float(sum(prices[j] for j in won))
        log.append(Award(r, model.seller.unique_id, inter.unique_id, items=tuple(won), amount=owed))
        for i, j in inter.assign(won, weights).items():
            items[i] = j
        if won:
            log.append(Payment(r, inter.unique_id, model.seller.unique_id, amount=owed))
            model.seller.collect(owed)
            revenue += owed
    for b in model.buyers:
        j = items[b.index]
        got = weights[j] * b.value if j >= 0 else 0.0
        b.settle(got, prices[j] if j >= 0 else 0.0)
        welfare += got
    return items, revenue, welfare


def _open_round(model, mechanism) -> list[Message]:
    r = model.round
    for b in model.buyers:
        b.draw_value()
    model.seller.mechanism, model.seller.revenue = mechanism, 0.0
    log: list[Message] = [Commit(r, model.seller.unique_id, ALL, mechanism=mechanism)]
    for inter in model.intermediaries:
        offer = Offer(r, inter.unique_id, ALL, auction=mechanism)
        log += [offer, *(Bid(r, b.unique_id, inter.unique_id, amount=b.value) for b in inter.buyers)]
    return log


class PostedMenu:
    """Posted prices for k items with random rationing or a sequential order (module doc)."""

    name = "posted-menu"

    def __init__(self, menu: ItemMenu):
        if not isinstance(menu, ItemMenu):
            raise InputError(f"PostedMenu needs an ItemMenu, got {menu!r}")
        self.menu = menu

    def check(self, model) -> None:
        _require_utilities(model, self.name)

    def arrival(self, model) -> list:
        m = len(model.intermediaries)
        if isinstance(self.menu.order, tuple):
            if sorted(self.menu.order) != list(range(m)):
                raise InputError(f"an arrival order must list intermediaries 0..{m - 1} once each, "
                                 f"got {self.menu.order}")
            return [model.intermediaries[i] for i in self.menu.order]
        return [model.intermediaries[i] for i in model.rng.permutation(m)]

    def play_round(self, model) -> KItemRound:
        r, menu = model.round, self.menu
        log = _open_round(model, menu)
        awards: dict[int, tuple[int, ...]] = {}
        if menu.order == "random" and menu.uniform:
            units = []  # one entry per asked-for unit: (intermediary index, item)
            for inter in model.intermediaries:
                asked = inter.wanted_items(menu, None)
                log.append(Request(r, inter.unique_id, model.seller.unique_id, items=asked))
                units += [(inter.index, j) for j in asked]
            served = units if len(units) <= menu.k else \
                [units[i] for i in model.rng.choice(len(units), menu.k, replace=False)]
            for slot, (owner, _) in enumerate(served):  # identical items: hand out items 0..k-1
                awards[owner] = awards.get(owner, ()) + (slot,)
        else:
            available = list(range(menu.k))
            for inter in self.arrival(model):
                asked = inter.wanted_items(menu, available)
                log.append(Request(r, inter.unique_id, model.seller.unique_id, items=asked))
                awards[inter.index] = asked
                available = [j for j in available if j not in asked]
        items, revenue, welfare = _settle(model, r, awards, menu.prices, menu.weights, log)
        price = menu.prices[0] if menu.uniform else math.nan
        return KItemRound(r, tuple(b.value for b in model.buyers), tuple(items), price, revenue, welfare,
                          tuple(log))


class KItemAuction:
    """The (k+1)-th-price auction with a reserve; intermediaries bid by their best responses."""

    name = "k-auction"

    def __init__(self, auction: UniformPriceAuction):
        if not isinstance(auction, UniformPriceAuction):
            raise InputError(f"KItemAuction needs a UniformPriceAuction, got {auction!r}")
        self.auction = auction

    def check(self, model) -> None:
        _require_utilities(model, self.name)

    def play_round(self, model) -> KItemRound:
        r, auction = model.round, self.auction
        log = _open_round(model, auction)
        n = len(model.buyers)
        entries = []  # (bid, random priority, intermediary index)
        for inter in model.intermediaries:
            bids = inter.auction_bids(auction, n)
            log.append(Request(r, inter.unique_id, model.seller.unique_id, amounts=bids))
            entries += [(b, float(model.rng.random()), inter.index) for b in bids if b > -math.inf]
        entries.sort(key=lambda e: (-e[0], -e[1]))
        winners = [e for e in entries[:auction.k] if e[0] >= auction.reserve]
        losing = entries[auction.k][0] if len(entries) > auction.k else -math.inf
        price = max(auction.reserve, losing) if winners else 0.0
        awards: dict[int, tuple[int, ...]] = {}
        for slot, (_, _, owner) in enumerate(winners):
            awards[owner] = awards.get(owner, ()) + (slot,)
        prices = (price,) * auction.k
        items, revenue, welfare = _settle(model, r, awards, prices, (1.0,) * auction.k, log)
        return KItemRound(r, tuple(b.value for b in model.buyers), tuple(items), price, revenue, welfare,
                          tuple(log))
