"""MarketModel: the Mesa world in which a market runs, one round per step."""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

import networkx as nx
import numpy as np

from agora.agents import (
    BestCommitment,
    BestResponseDynamics,
    Buyer,
    FixedMechanism,
    Intermediary,
    Seller,
    StackelbergPrice,
)
from agora.market.demand import from_partition, monopsony, nodes_of, parse_partition, partition_of
from agora.market.distributions import ValueDistribution, parse_spec
from agora.market.errors import InputError
from agora.market.k_items.utility import utility_model
from agora.market.single_item.inplace_laws import profile_draw
from agora.market.single_item.right_auctions import PostedRightPrice, RightAuction
from agora.market.single_item.seller_mechanisms import DeterministicMechanism, Menu, PostedPrice
from agora.models.round_collector import RoundCollector
from agora.models.round_model import RoundModel
from agora.protocols.right_sale import IntermediaryFirst, Simultaneous
from agora.protocols.seller_first import SellerFirst

PROTOCOLS = {"seller-first": SellerFirst, "intermediary-first": IntermediaryFirst,
             "simultaneous": Simultaneous}

ACCEPTED_SELLERS = ("None (the protocol's default), 'stackelberg', a price, a mechanism, a Menu, "
                    "or a strategy with choose(agent)")
ACCEPTED_INTERMEDIARIES = ("None (the protocol's default), a price, an auction for the right, "
                           "or a strategy with choose(agent)")


def _price(x) -> float | None:
    """A real number given as a price (numpy scalars included, booleans not), or None if ``x`` is not one."""
    if isinstance(x, (bool, np.bool_)) or not isinstance(x, numbers.Real):
        return None
    price = float(x)
    if not 0.0 <= price < math.inf:
        raise InputError(f"a posted price must be a finite number >= 0, got {x}")
    return price


def seller_strategy(seller, protocol: str):
    """Turn what a user gives for the seller into a strategy.

    None -> Stackelberg price (seller-first) or best-response dynamics
    (simultaneous); a number -> that posted price; a mechanism or menu -> always
    it; anything with ``choose(agent)`` -> itself. Intermediary-first sellers
    always best-respond to the commitment they see.
    """
    if seller is None:
        return BestResponseDynamics() if protocol == "simultaneous" else StackelbergPrice()
    if isinstance(seller, str) and seller == "stackelberg":
        return StackelbergPrice()
    if (price := _price(seller)) is not None:
        return FixedMechanism(PostedPrice(price))
    if isinstance(seller, (DeterministicMechanism, Menu)):
        return FixedMechanism(seller)
    if hasattr(seller, "choose"):
        return seller
    raise InputError(f"cannot use {seller!r} as a seller: give {ACCEPTED_SELLERS}")


def intermediary_strategy(intermediary, protocol: str):
    """Turn what a user gives for the intermediary into a strategy (used when it commits).

    None -> the best posted price for the right (intermediary-first) or best-response
    dynamics (simultaneous); a number -> that price for the right; an auction for the
    right -> always it; anything with ``choose(agent)`` -> itself. Seller-first
    intermediaries always best-respond with the shifted Myerson auction.
    """
    if intermediary is None:
        return BestResponseDynamics() if protocol == "simultaneous" else BestCommitment()
    if (price := _price(intermediary)) is not None:
        return FixedMechanism(PostedRightPrice(price))
    if isinstance(intermediary, RightAuction):
        return FixedMechanism(intermediary)
    if hasattr(intermediary, "choose"):
        return intermediary
    raise InputError(f"cannot use {intermediary!r} as an intermediary: give {ACCEPTED_INTERMEDIARIES}")


def intermediary_utilities(utility, m: int, distributions) -> list:
    """One utility model per intermediary: None, one model (or name) for all, or a list of m."""
    if utility is None:
        return [None] * m
    if isinstance(utility, (list, tuple)):
        if len(utility) != m:
            raise InputError(f"{len(utility)} utility models given for {m} intermediaries")
        return [utility_model(u, distributions[0]) for u in utility]
    return [utility_model(utility, distributions[0])] * m


def bidder_laws(bidders) -> tuple[ValueDistribution, ...]:
    """The buyers' value laws from a list of specs or distributions (one per buyer)."""
    if isinstance(bidders, (str, ValueDistribution)):
        raise InputError(f"bidders must be a list with one spec per buyer, got the single value {bidders!r}; "
                         f"write [{bidders!r}]")
    try:
        items = list(bidders)
    except TypeError:
        raise InputError(f"bidders must be a list with one spec per buyer (like ['uniform:0,1', "
                         f"'uniform:0,2']), got {bidders!r}") from None
    if not items:
        raise InputError("bidders is empty; accepted: a list with one spec per buyer (n >= 1)")
    return tuple(parse_spec(b) for b in items)


def demand_graph(demand, n: int):
    """The demand graph: default one intermediary for all, a graph, or a partition like ``"0,1|2"``."""
    if demand is None:
        return monopsony(n)
    if isinstance(demand, str):
        return from_partition(parse_partition(demand, n), n)
    if not isinstance(demand, nx.DiGraph):
        raise InputError(f"cannot use {demand!r} as a demand structure; accepted: None, a partition like "
                         "'0,1|2' or a graph from agora.market.demand")
    buyers = len(nodes_of(demand, "buyer"))
    if buyers != n:
        raise InputError(f"the demand structure has {buyers} buyers but {n} bidder distributions were given")
    return demand


def replay_values(replay, n: int) -> np.ndarray | None:
    """Scripted values: a (rounds x buyers) array of finite numbers >= 0, or None."""
    if replay is None:
        return None
    try:
        values = np.asarray(replay, float)
    except (TypeError, ValueError):
        raise InputError(f"replay must be an array of values (rounds x {n} buyers), got {replay!r:.60}") from None
    if values.ndim != 2 or values.shape[0] < 1 or values.shape[1] != n:
        raise InputError(f"replay must have shape (rounds >= 1, {n} buyers), got shape {values.shape}")
    if not np.isfinite(values).all() or (values < 0).any():
        bad = values[~(np.isfinite(values) & (values >= 0))][0]
        raise InputError(f"replay values must be finite numbers >= 0, got {bad}")
    return values


def check_rng(rng):
    """A seed Mesa accepts: None, a whole number >= 0, a SeedSequence, a BitGenerator or a Generator."""
    if rng is None or isinstance(rng, (np.random.Generator, np.random.BitGenerator, np.random.SeedSequence)):
        return rng
    if isinstance(rng, numbers.Integral) and not isinstance(rng, (bool, np.bool_)) and rng >= 0:
        return int(rng)
    raise InputError(f"cannot use {rng!r} as rng; accepted: None, a whole number >= 0, "
                     "a numpy SeedSequence, BitGenerator or Generator")


def check_protocol(protocol):
    """A protocol name of :data:`PROTOCOLS`, or an object with ``check(model)`` and ``play_round(model)``."""
    if isinstance(protocol, str):
        if protocol not in PROTOCOLS:
            raise InputError(f"unknown protocol {protocol!r}; accepted: {', '.join(PROTOCOLS)}, "
                             "or a protocol object (PostedMenu, KItemAuction)")
        return PROTOCOLS[protocol]()
    if not (callable(getattr(protocol, "check", None)) and callable(getattr(protocol, "play_round", None))):
        raise InputError(f"cannot use {protocol!r} as a protocol; accepted: {', '.join(PROTOCOLS)}, "
                         "or a protocol object (PostedMenu, KItemAuction)")
    return protocol


class MarketModel(RoundModel):
    """A market of buyers, intermediaries and one seller under a timing protocol.

    Args:
        bidders: value distributions (spec strings or objects), one per buyer.
        protocol: ``"seller-first"``, ``"intermediary-first"`` or ``"simultaneous"``.
        seller: the seller's strategy (see :func:`seller_strategy`).
        intermediary: the intermediary's strategy when it commits (see :func:`intermediary_strategy`).
        demand: a demand graph (:mod:`agora.market.demand`); default one intermediary for all.
        replay: optional array (rounds x buyers) of values to use instead of draws,
            for common-random-number comparisons.
        utility: what intermediaries want when buying k items (``"surplus"``, ``"monopolist"``,
            a :class:`~agora.market.k_items.utility.UtilityModel`, or a list, one per intermediary);
            used by the k-item protocols, which are given as objects
            (:class:`~agora.protocols.posted_menu.PostedMenu`, :class:`~agora.protocols.posted_menu.KItemAuction`).
        rng: seed or numpy Generator (Mesa's ``rng``).

    A subclass may set :attr:`buyer_class` to its own subclass of
    :class:`~agora.agents.buyer.Buyer`; the model then creates (and collects) those buyers.
    """

    buyer_class: type[Buyer] = Buyer

    def __init__(self, bidders: Sequence[str | ValueDistribution] = ("uniform:0,1", "uniform:0,1"),
                 protocol: str = "seller-first", seller=None, intermediary=None, demand=None,
                 replay: np.ndarray | None = None, rng=None, utility=None):
        protocol_object = check_protocol(protocol)
        super().__init__(rng=check_rng(rng))
        self.distributions = bidder_laws(bidders)
        if isinstance(protocol, str):  # the single-item protocols run the (shifted) Myerson auction
            for i, d in enumerate(self.distributions):
                d.require_regular(f"bidder {i}")
        n = len(self.distributions)
        self.demand = demand_graph(demand, n)
        self.replay = replay_values(replay, n)
        self.round = 0
        self.protocol = protocol_object
        self.buyers = list(self.buyer_class.create_agents(self, n, distribution=list(self.distributions),
                                               index=list(range(n))))
        blocks = partition_of(self.demand)
        utilities = intermediary_utilities(utility, len(blocks), self.distributions)
        self.intermediaries = [Intermediary(self, [self.buyers[i] for i in block], index=j,
                                            strategy=intermediary_strategy(intermediary, protocol),
                                            utility=utilities[j])
                               for j, block in enumerate(blocks)]
        self.seller = Seller(self, seller_strategy(seller, protocol if isinstance(protocol, str) else ""))
        self.protocol.check(self)
        self._draw = profile_draw(self.distributions)
        self.last = None
        self.datacollector = RoundCollector(
            {name: name for name in ("seller_price", "intermediary_price", "seller_revenue",
                                     "intermediary_revenue", "total_revenue", "welfare", "sale", "winner")},
            agenttype_reporters={self.buyer_class: {"value": "value", "payoff": "payoff"}},
        )

    def last_price_of_other(self, agent) -> float | None:
        """The price the other side posted last round (simultaneous play); None before any round."""
        if self.last is None:
            return None
        return self.last.intermediary_price if agent is self.seller else self.last.seller_price

    def draw_values(self) -> tuple[float, ...]:
        """Every buyer's value this round (set as its ``value``), replayed or drawn.

        Drawn run by run of neighbouring buyers with the same law, one call per run
        (:func:`~agora.market.single_item.inplace_laws.profile_draw`): the numbers, in the same
        order, of one draw per buyer. Buyers of a class with its own ``draw_value`` draw one by one.
        """
        if self.replay is not None or self.buyer_class.draw_value is not Buyer.draw_value:
            return tuple(b.draw_value() for b in self.buyers)
        return tuple(b.take_value(v) for b, v in zip(self.buyers, self._draw(self.rng)))

    def replayed_value(self, index: int) -> float | None:
        """The scripted value of buyer ``index`` this round, if the model replays values."""
        if self.replay is None:
            return None
        if self.round >= len(self.replay):
            raise IndexError(f"replay has {len(self.replay)} rounds; round {self.round} asked for")
        return float(self.replay[self.round, index])
