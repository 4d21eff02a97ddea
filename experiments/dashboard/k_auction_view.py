"""The dashboard's view of the (k+1)-th-price auction with intermediaries (intermediary-proof-mechanisms,
Section 3, Propositions 1 and 2).

The ``buyers`` are split into ``intermediaries`` contiguous blocks whose sizes differ by at most
one, as for posted menus (:func:`~agora.experiments.dashboard.posted_menu_view.blocks`); the seller
sells ``items`` identical items by the (k+1)-th-price auction with a reserve, an intermediary
holding one buyer bids its score, one holding several best-responds in its number of bids
(:class:`~agora.market.k_items.auction.QuantityBestResponse`), and every winning bid pays the
uniform price max(reserve, (k+1)-th bid) (:class:`~agora.protocols.posted_menu.KItemAuction` in a
:class:`~agora.models.market_model.MarketModel`, as the runner's ``k-item-auction`` kind plays it).

The reserve by rule: ``myerson`` is phi^-1(0) (Proposition 1), ``fixed-price`` the seller's price.
Exact values, where the revenue has a closed form (:func:`agora.experiments.markets.k_items.auction_exact`):
under competition with surplus-maximizing intermediaries, sum_{j <= k} E[max(phi(v(j, n)), 0)] at
Myerson's reserve (Proposition 1) and the auction's payments at another; under monopsony
r E[min(D, k)] (Proposition 2).
"""

from __future__ import annotations

import math
from functools import lru_cache

import pandas as pd

from agora.experiments.dashboard.posted_menu_view import (
    block_utilities,
    blocks,
    check_identical_regular,
    item_network,
    item_series,
)
from agora.experiments.dashboard.views import COMMON_CONTROLS, MarketView, Network, Reference, register
from agora.experiments.markets.k_items import auction_exact
from agora.market.demand import from_partition
from agora.market.k_items.mechanisms import UniformPriceAuction
from agora.models.market_model import MarketModel
from agora.protocols.posted_menu import KItemAuction


class KAuctionMarket(MarketModel):
    """A MarketModel under KItemAuction that also keeps each intermediary's utility of every round, at the
    round's uniform price."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.utilities: list[tuple[float, ...]] = []

    def step(self) -> None:
        super().step()
        self.utilities.append(block_utilities(self, self.last.seller_price))


class KAuctionView(MarketView):
    protocol = "k-item-auction"
    title = "The (k+1)-th-price auction with intermediaries (intermediary-proof-mechanisms, Propositions 1-2)"
    rules = ("myerson", "fixed-price")
    controls = COMMON_CONTROLS + ("seller_price", "intermediaries", "items", "utility")
    no_price_game = ("No price game in this protocol: the seller runs one auction and each intermediary "
                     "best-responds in its bids.")

    def check(self, controls) -> None:
        check_identical_regular(self.protocol, controls)

    def auction(self, controls) -> UniformPriceAuction:
        """phi^-1(0) for ``myerson`` (Proposition 1), else the seller's price, as the runner's reserve."""
        c = controls
        if c.rule == "myerson":
            return UniformPriceAuction.myerson(c.bidders[0], c.items)
        return UniformPriceAuction(c.items, c.seller_price)

    def build(self, controls) -> KAuctionMarket:
        c = controls
        demand = from_partition(blocks(c.buyers, c.intermediaries), c.buyers)
        return KAuctionMarket(c.specs, protocol=KItemAuction(self.auction(c)), demand=demand, utility=c.utility,
                              rng=c.seed)

    def network(self, model: KAuctionMarket) -> Network:
        return item_network(model, model.protocol.auction.k)

    def series(self, model: KAuctionMarket) -> pd.DataFrame:
        return item_series(model)

    def reference(self, model: KAuctionMarket) -> Reference:
        auction = model.protocol.auction
        return _reference(model.distributions[0].spec, len(model.buyers), auction.k, auction.reserve,
                          model.intermediaries[0].utility.name, len(model.intermediaries))


@lru_cache(maxsize=32)
def _reference(spec: str, n: int, k: int, reserve: float, utility: str, m: int) -> Reference:
    """The runner's exact revenue (:func:`auction_exact`) of ``m`` intermediaries holding ``n`` buyers."""
    myerson = UniformPriceAuction.myerson(spec, k).reserve
    params = {"distribution": spec, "buyers": n, "items": k, "utility": utility,
              "reserve": "myerson" if reserve == myerson else reserve}
    revenue = auction_exact(params, [()] * m)
    if math.isnan(revenue):
        return Reference({}, "no exact revenue for this utility model and demand structure (it has a closed "
                             "form under competition with surplus-maximizing intermediaries and under "
                             "monopsony): the simulated means only")
    if m != n:
        which = "monopsony: r E[min(D, k)] (Proposition 2)"
    elif params["reserve"] == "myerson":
        which = "competition: the sum over j <= k of E[max(phi(v(j, n)), 0)] (Proposition 1)"
    else:
        which = "competition: the auction's payments, k E[v(k+1, n); v(k+1, n) >= r] + r E[D; D <= k]"
    name = "Myerson's reserve" if params["reserve"] == "myerson" else "reserve"
    return Reference({"seller_revenue": (revenue, revenue)}, f"{name} r = {reserve:.6g}, {which}")


register(KAuctionView())
