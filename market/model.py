"""MarketModel: the Mesa world in which a market runs, one round per step."""

from __future__ import annotations

from collections.abc import Sequence

import mesa
import numpy as np

from agents import Buyer, FixedMechanism, Intermediary, Seller, StackelbergPrice
from market.demand import monopsony, nodes_of, partition_of
from market.distributions import ValueDistribution, parse_spec
from market.errors import InputError
from market.mechanisms.seller import DeterministicMechanism, Menu, PostedPrice
from protocols.messages import LOG_COLUMNS
from protocols.seller_first import SellerFirst

PROTOCOLS = {"seller-first": SellerFirst}


def seller_strategy(seller):
    """Turn what a user gives for the seller into a strategy object.

    None -> the Stackelberg price; a number -> that posted price; a mechanism or
    menu -> always commit to it; anything with ``choose(seller)`` -> itself.
    """
    if seller is None or seller == "stackelberg":
        return StackelbergPrice()
    if isinstance(seller, (int, float)):
        return FixedMechanism(PostedPrice(float(seller)))
    if isinstance(seller, (DeterministicMechanism, Menu)):
        return FixedMechanism(seller)
    if hasattr(seller, "choose"):
        return seller
    raise InputError(f"cannot use {seller!r} as a seller: give None, 'stackelberg', a price, "
                     "a mechanism, a Menu, or a strategy with choose(seller)")


class MarketModel(mesa.Model):
    """A market of buyers, intermediaries and one seller under a timing protocol.

    Args:
        bidders: value distributions (spec strings or objects), one per buyer.
        protocol: ``"seller-first"``.
        seller: the seller's strategy (see :func:`seller_strategy`); default Stackelberg.
        demand: a demand graph (:mod:`market.demand`); default one intermediary for all.
        replay: optional array (rounds x buyers) of values to use instead of draws,
            for common-random-number comparisons.
        rng: seed or numpy Generator (Mesa's ``rng``).
    """

    def __init__(self, bidders: Sequence[str | ValueDistribution] = ("uniform:0,1", "uniform:0,1"),
                 protocol: str = "seller-first", seller=None, demand=None,
                 replay: np.ndarray | None = None, rng=None):
        super().__init__(rng=rng)
        if protocol not in PROTOCOLS:
            raise InputError(f"unknown protocol {protocol!r}; accepted: {', '.join(PROTOCOLS)}")
        self.distributions = tuple(parse_spec(b) for b in bidders)
        n = len(self.distributions)
        self.demand = demand if demand is not None else monopsony(n)
        if len(nodes_of(self.demand, "buyer")) != n:
            raise InputError(f"the demand structure has {len(nodes_of(self.demand, 'buyer'))} buyers "
                             f"but {n} bidder distributions were given")
        self.replay = None if replay is None else np.asarray(replay, float)
        self.round = 0
        self.protocol = PROTOCOLS[protocol]()
        self.buyers = list(Buyer.create_agents(self, n, distribution=list(self.distributions),
                                               index=list(range(n))))
        self.intermediaries = [Intermediary(self, [self.buyers[i] for i in block], index=j)
                               for j, block in enumerate(partition_of(self.demand))]
        self.seller = Seller(self, seller_strategy(seller))
        self.protocol.check(self)
        self.last = None
        self.datacollector = mesa.DataCollector(
            model_reporters={
                "seller_price": lambda m: m.last.seller_price,
                "seller_revenue": lambda m: m.last.seller_revenue,
                "intermediary_revenue": lambda m: m.last.intermediary_revenue,
                "total_revenue": lambda m: m.last.total_revenue,
                "welfare": lambda m: m.last.welfare,
                "sale": lambda m: m.last.sale,
                "winner": lambda m: m.last.winner,
            },
            agenttype_reporters={Buyer: {"value": "value", "payoff": "payoff"}},
            tables={"messages": list(LOG_COLUMNS)},
        )

    def replayed_value(self, index: int) -> float | None:
        """The scripted value of buyer ``index`` this round, if the model replays values."""
        if self.replay is None:
            return None
        if self.round >= len(self.replay):
            raise IndexError(f"replay has {len(self.replay)} rounds; round {self.round} asked for")
        return float(self.replay[self.round, index])

    def step(self) -> None:
        self.last = self.protocol.play_round(self)
        self.round += 1
        self.datacollector.collect(self)
        for message in self.last.messages:
            self.datacollector.add_table_row("messages", message.log_row())

    def message_log(self):
        """Every message of every round so far, as a DataFrame (columns ``LOG_COLUMNS``)."""
        return self.datacollector.get_table_dataframe("messages")
