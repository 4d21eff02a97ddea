"""The dashboard's view of posted prices for k items (intermediary-proof-mechanisms, Definition 7).

The ``buyers`` are split into ``intermediaries`` contiguous blocks whose sizes differ by
at most one (buyers 0..n1-1 to the first intermediary, and so on: :func:`blocks`); the
seller posts one price per item for ``items`` identical items, every intermediary asks
for the items its utility model wants (``utility``: surplus-maximizing or monopolist) and
excess demand is rationed at random (:class:`~agora.protocols.posted_menu.PostedMenu` in a
:class:`~agora.models.market_model.MarketModel`).

The seller's price by learning rule: ``intermediary-proof`` is p_R = E[v(1, ceil(n/k))]
(Definition 7), which needs no knowledge of the demand structure; ``best-response`` moves
from the seller's start price towards the best price b (maximizing p E[min(D(p), k)] on this
demand structure) by partial adjustment, p_t = p_{t-1} + rate (b - p_{t-1}) with p_{-1} the
start price (rate 1: b from the first round; :class:`~agora.agents.adjustment.PartialAdjustment`),
and its exact values are those at b; ``fixed-price`` is the seller's start price.
Exact values: :func:`agora.market.k_items.solver.evaluate_posted` (revenue
p E[min(D, k)], welfare) and :func:`agora.market.k_items.solver.block_shares` (each intermediary's
expected utility: the scores of its served buyers minus what it pays).
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import pandas as pd

from agora.agents.adjustment import PartialAdjustment, posted_price_of
from agora.agents.strategies import FixedPrice
from agora.experiments.dashboard.views import (
    COMMON_CONTROLS,
    MarketView,
    Network,
    Reference,
    add_messages,
    agent_nodes,
    layered_demand,
    register,
)
from agora.market.demand import buyer_node, from_partition
from agora.market.distributions import parse_spec
from agora.market.errors import InputError
from agora.market.k_items.mechanisms import ItemMenu, ipm_price
from agora.market.k_items.solver import best_posted_price, block_shares, evaluate_posted, threshold_of
from agora.market.k_items.utility import utility_model
from agora.models.market_model import MarketModel
from agora.protocols.posted_menu import PostedMenu

PER_PARTY = 4  # up to this many intermediaries get a series each; more are summed


def blocks(n: int, m: int) -> list[list[int]]:
    """Buyers 0..n-1 in m contiguous blocks whose sizes differ by at most one (larger blocks first)."""
    return [part.tolist() for part in np.array_split(np.arange(n), m)]


def utility_columns(m: int) -> list[str]:
    return [f"intermediary_{j}_utility" for j in range(m)] if m <= PER_PARTY else ["intermediaries_utility"]


def item_network(model: MarketModel, k: int) -> Network:
    """Buyers -> intermediaries -> seller of a k-item round: values, the buyers served, the messages."""
    net = Network(layered_demand(model))
    if model.last is None:
        return net
    net.values = {buyer_node(i): v for i, v in enumerate(model.last.values)}
    net.winners = {buyer_node(i) for i, j in enumerate(model.last.items) if j >= 0}
    net.caption = f"{len(net.winners)} of {k} items sold"
    add_messages(net, model.last.messages, agent_nodes(model))
    return net


class PostedMenuMarket(MarketModel):
    """A MarketModel under PostedMenu that also keeps each intermediary's utility of every round.

    U_l(x_l, P_l; v_l) under its utility model: the scores of the x_l buyers it served
    (values, or virtual values for a monopolist) minus the P_l it paid.
    """

    def __init__(self, *args, adjust: PartialAdjustment | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.utilities: list[tuple[float, ...]] = []
        self.adjust = adjust  # the seller's price path, if it adjusts towards a target
        self.reference_price = self.protocol.menu.prices[0]  # the price the exact values are for
        if adjust is not None:
            self.reference_price = posted_price_of(adjust.target.choose(self.seller))
            self._post_next()

    def _post_next(self) -> None:
        """Post the seller's next price on the adjustment path (the menu of the coming round)."""
        self.protocol.menu = ItemMenu.posted(self.adjust.choose(self.seller), self.protocol.menu.k)

    def step(self) -> None:
        super().step()
        self.utilities.append(block_utilities(self, self.protocol.menu.prices[0]))
        if self.adjust is not None:
            self._post_next()


def block_utilities(model: MarketModel, price: float) -> tuple[float, ...]:
    """Each intermediary's utility this round, U_l(x_l, x_l p; v_l) under its utility model, for x_l items
    won at ``price`` each."""
    row = []
    for inter in model.intermediaries:
        values = np.array([[b.value for b in inter.buyers]])
        won = sum(1 for b in inter.buyers if model.last.items[b.index] >= 0)
        row.append(float(inter.utility.utility(values, won, won * price)[0]))
    return tuple(row)


def item_series(model) -> pd.DataFrame:
    """One row per round of a k-item market that keeps ``utilities``: the seller's revenue, each
    intermediary's utility (summed beyond :data:`PER_PARTY`), welfare and the price per item."""
    m = len(model.intermediaries)
    cols = ["seller_revenue", *utility_columns(m), "welfare", "seller_price"]
    df = model.datacollector.get_model_vars_dataframe()
    if df.empty:
        return pd.DataFrame(columns=cols, dtype=float)
    u = np.array(model.utilities, float)
    out = pd.DataFrame({"seller_revenue": df["seller_revenue"].to_numpy(float)})
    if m <= PER_PARTY:
        for j in range(m):
            out[f"intermediary_{j}_utility"] = u[:, j]
    else:
        out["intermediaries_utility"] = u.sum(axis=1)
    out["welfare"] = df["welfare"].to_numpy(float)
    out["seller_price"] = df["seller_price"].to_numpy(float)
    out.index = pd.RangeIndex(1, len(out) + 1, name="round")
    return out


def check_identical_regular(protocol: str, controls) -> None:
    """One regular distribution for every buyer, and a utility model defined for it."""
    if len(set(controls.bidders)) != 1:
        raise InputError(f"{protocol} needs identically distributed buyers (one distribution), "
                         f"got {len(set(controls.bidders))}: {'; '.join(controls.bidders)}")
    dist = parse_spec(controls.bidders[0])
    dist.require_regular("buyer")
    utility_model(controls.utility, dist)


class PostedMenuView(MarketView):
    protocol = "posted-menu"
    title = "Posted prices for k items (intermediary-proof-mechanisms, Definition 7)"
    rules = ("intermediary-proof", "best-response", "fixed-price")
    controls = COMMON_CONTROLS + ("rate", "seller_price", "intermediaries", "items", "utility")
    no_price_game = "No price game in this protocol: the seller posts one price per item to every intermediary."

    def check(self, controls) -> None:
        check_identical_regular(self.protocol, controls)

    def price(self, controls) -> tuple[float, str]:
        """The seller's price per item and how it was set (module doc)."""
        c = controls
        sizes = tuple(len(b) for b in blocks(c.buyers, c.intermediaries))
        if c.rule == "intermediary-proof":
            return ipm_price(c.bidders[0], c.buyers, c.items), "intermediary-proof price E[v(1, ceil(n/k))]"
        if c.rule == "best-response":
            best = _best_price(c.bidders[0], sizes, c.items, c.utility)
            return best.price, f"the seller's best price on this demand structure ({best.method})"
        return c.seller_price, "fixed price"

    def build(self, controls) -> PostedMenuMarket:
        c = controls
        price, _ = self.price(c)
        demand = from_partition(blocks(c.buyers, c.intermediaries), c.buyers)
        adjust = PartialAdjustment(FixedPrice(price), c.rate, c.seller_price) if c.rule == "best-response" else None
        return PostedMenuMarket(c.specs, protocol=PostedMenu(ItemMenu.posted(price, c.items)), demand=demand,
                           utility=c.utility, rng=c.seed, adjust=adjust)

    def network(self, model: PostedMenuMarket) -> Network:
        return item_network(model, model.protocol.menu.k)

    def series(self, model: PostedMenuMarket) -> pd.DataFrame:
        return item_series(model)

    def reference(self, model: PostedMenuMarket) -> Reference:
        sizes = tuple(len(inter.buyers) for inter in model.intermediaries)
        utility = model.intermediaries[0].utility
        return _reference(model.distributions[0].spec, sizes, model.protocol.menu.k, model.reference_price,
                          utility.name)


@lru_cache(maxsize=32)
def _best_price(spec: str, sizes: tuple[int, ...], k: int, utility: str):
    return best_posted_price(spec, sizes, k, utility)


@lru_cache(maxsize=32)
def _reference(spec: str, sizes: tuple[int, ...], k: int, price: float, utility: str) -> Reference:
    """Revenue p E[min(D, k)], welfare, and each intermediary's E[U_l] (block sizes in model order)."""
    dist = parse_spec(spec)
    model = utility_model(utility, dist)
    out = evaluate_posted(dist, sizes, k, price, model)
    t = threshold_of(model, dist, price)
    score = "virtual" if model.name == "monopolist" else "value"
    shares = block_shares(dist, sizes, k, t, score) if math.isfinite(t) else {b: (0.0, 0.0) for b in sizes}
    utilities = [shares[b][0] - price * shares[b][1] for b in sizes]
    values = {"seller_revenue": out.revenue, "welfare": out.realized_welfare, "seller_price": price}
    for col, u in zip(utility_columns(len(sizes)), utilities if len(sizes) <= PER_PARTY else [sum(utilities)]):
        values[col] = u
    method = (f"{out.method}; each intermediary: E[scores of its served buyers] - p E[items it gets] "
              f"({model.describe()}, blocks of {', '.join(map(str, sizes))} buyers)")
    return Reference({k_: (float(v), float(v)) for k_, v in values.items()}, method)


register(PostedMenuView())
