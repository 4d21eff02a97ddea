"""MarketModel: the Mesa world in which a market runs, one round per step."""

from __future__ import annotations

import math
from collections.abc import Sequence

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
from agora.market.demand import monopsony, nodes_of, partition_of
from agora.market.distributions import ValueDistribution, parse_spec
from agora.market.errors import InputError
from agora.market.k_items.utility import utility_model
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
    if isinstance(seller, (int, float)) and not isinstance(seller, bool):
        if not 0.0 <= seller < math.inf:
            raise InputError(f"a posted price must be >= 0, got {seller}")
        return FixedMechanism(PostedPrice(float(seller)))
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
    if isinstance(intermediary, (int, float)) and not isinstance(intermediary, bool):
        return FixedMechanism(PostedRightPrice(float(intermediary)))
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
        super().__init__(rng=rng)
        if isinstance(protocol, str) and protocol not in PROTOCOLS:
            raise InputError(f"unknown protocol {protocol!r}; accepted: {', '.join(PROTOCOLS)}, "
                             "or a protocol object (PostedMenu, KItemAuction)")
        self.distributions = tuple(parse_spec(b) for b in bidders)
        n = len(self.distributions)
        self.demand = demand if demand is not None else monopsony(n)
        if len(nodes_of(self.demand, "buyer")) != n:
            raise InputError(f"the demand structure has {len(nodes_of(self.demand, 'buyer'))} buyers "
                             f"but {n} bidder distributions were given")
        self.replay = None if replay is None else np.asarray(replay, float)
        self.round = 0
        self.protocol = PROTOCOLS[protocol]() if isinstance(protocol, str) else protocol
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

    def replayed_value(self, index: int) -> float | None:
        """The scripted value of buyer ``index`` this round, if the model replays values."""
        if self.replay is None:
            return None
        if self.round >= len(self.replay):
            raise IndexError(f"replay has {len(self.replay)} rounds; round {self.round} asked for")
        return float(self.replay[self.round, index])
