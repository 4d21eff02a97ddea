"""RobustMarketModel: a Mesa world where the seller does not know the distribution and nature picks values.

Like :mod:`agora.models.market_model` (the other Mesa world of the package), one round per
step, with a DataCollector of per-round revenue, welfare, regret and sale and
a message log.
"""

from __future__ import annotations

import mesa
import numpy as np

from agora.agents.buyer import Buyer
from agora.agents.nature import Nature
from agora.agents.robust_seller import RobustSeller
from agora.market.errors import InputError
from agora.market.robust.adversaries import (
    EqualRevenueLimit,
    OneRandomHigh,
    extremal,
    point_mass,
)
from agora.market.robust.mechanisms import (
    DeterministicPrices,
    HighestBidderLottery,
    MarkovSet,
    RandomPostedPrice,
    RandomReserveAuction,
    SecondPriceReserve,
)
from agora.market.robust.solver import Knowledge
from agora.models.round_model import RoundModel
from agora.protocols.messages import LOG_COLUMNS
from agora.protocols.robust import RobustAuction, RobustSellerFirst

PROTOCOLS = {"auction": RobustAuction, "seller-first": RobustSellerFirst}


def worst_nature(mechanism, knowledge: Knowledge, bidders: int):
    """The thesis' adversary for the mechanism a seller picked.

    Second-price auction with reserve r: against a mean bound, Q1/Q2/Q3
    (Propositions 1.5.5-1.5.7, worst revenue); with only the range, the profile
    maximizing its regret max_i v_i - revenue: one bidder at v̄ and the rest at 0
    (regret v̄ - r; Vickrey's worst case v̄) or, for r > v̄/2, one bidder just
    below r (regret r);
    highest-bidder lottery: the point mass at μe (where its dual (1.8) is tight);
    random-reserve auction: one random bidder high, the rest zero (3.6);
    random posted price: the equal-revenue limit (2.10); a deterministic price
    p: the value just below p (Theorem 2.4.1).
    """
    if isinstance(mechanism, SecondPriceReserve):
        if knowledge.mean is None:
            return point_mass(_spa_regret_profile(mechanism.reserve, knowledge.upper, bidders))
        return extremal(mechanism.reserve, MarkovSet(bidders, knowledge.mean, knowledge.upper))
    if isinstance(mechanism, HighestBidderLottery):
        return point_mass(np.full(bidders, knowledge.mean))
    if isinstance(mechanism, RandomReserveAuction):
        return OneRandomHigh(knowledge.upper, bidders)
    if isinstance(mechanism, RandomPostedPrice):
        return EqualRevenueLimit.of(mechanism.upper, mechanism.cost)
    if isinstance(mechanism, DeterministicPrices):
        return point_mass([max(p - 1e-9 * knowledge.upper, 0.0) for p in mechanism.prices])
    raise InputError(f"no adversary known for {mechanism!r}; pass nature= explicitly")


def _spa_regret_profile(reserve: float, upper: float, bidders: int) -> np.ndarray:
    """argmax of max_i v_i - revenue over [0, v̄]^I for a second-price auction with reserve r."""
    profile = np.zeros(bidders)
    profile[0] = reserve - 1e-9 * upper if upper / 2 < reserve <= upper else upper
    return profile


class RobustMarketModel(RoundModel):
    """A robust seller, its bidders (or one intermediary) and nature, under a protocol.

    Args:
        protocol: ``"auction"`` (I bidders) or ``"seller-first"`` (one counterpart).
        bidders: I (the seller-first protocol has exactly one counterpart).
        knowledge: what the seller knows (:class:`Knowledge`); default values in
            [0, 1] with means >= 0.5.
        rule: the seller's mechanism (see :data:`agora.market.robust.solver.AUCTION_RULES`,
            :data:`PRICING_RULES`); None picks the default for its knowledge.
        nature: a value generator of :mod:`agora.market.robust.adversaries`; None is the
            thesis' adversary for the seller's mechanism (:func:`worst_nature`).
        rng: seed or numpy Generator (Mesa's ``rng``).
    """

    def __init__(self, protocol: str = "auction", bidders: int = 2, knowledge: Knowledge | None = None,
                 rule: str | None = None, nature=None, rng=None):
        super().__init__(rng=rng)
        if protocol not in PROTOCOLS:
            raise InputError(f"unknown protocol {protocol!r}; accepted: {', '.join(PROTOCOLS)}")
        if protocol == "seller-first" and bidders != 1:
            raise InputError(f"the seller-first protocol has one counterpart; got bidders={bidders}")
        knowledge = Knowledge(1.0, 0.5) if knowledge is None else knowledge
        self.protocol = PROTOCOLS[protocol]()
        self.seller = RobustSeller(self, knowledge, rule, bidders)
        generator = worst_nature(self.seller.mechanism, knowledge, bidders) if nature is None else nature
        if generator.columns != bidders:
            raise InputError(f"nature draws {generator.columns} values per round but there are "
                             f"{bidders} bidders")
        self.nature = Nature(self, generator)
        self.buyers = list(Buyer.create_agents(self, bidders, distribution=[None] * bidders,
                                               index=list(range(bidders))))
        self.round = 0
        self.last = None
        self.datacollector = mesa.DataCollector(
            model_reporters={name: (lambda m, name=name: getattr(m.last, name))
                             for name in ("revenue", "welfare", "regret", "sale", "price")}
            | {"winner": lambda m: m.last.winner},
            tables={"messages": list(LOG_COLUMNS)},
        )

    def replayed_value(self, index: int) -> float:
        """Buyers take this round's values from nature's profile."""
        return float(self.nature.profile[index])

