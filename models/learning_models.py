"""Mesa worlds in which the seller and the intermediaries learn (equilibrium selection).

:func:`learning_model` builds the simultaneous single-item market of the
monopolist-intermediary paper (Section 5) with :class:`~agora.agents.learning.Learning`
agents on both sides; :func:`k_learning_model` builds the k-item market of
:mod:`agora.market.learning.k_selection` under the
:class:`~agora.protocols.posted_fees.PostedFees` protocol with
:class:`~agora.agents.learning.KLearning` agents. Seeded from one run's
``SeedSequence`` as the array dynamics are, they post the same prices round for round.
:func:`q_learning_model` builds the simultaneous market with
:class:`~agora.agents.learning.QLearning` agents on both sides, one
:class:`~agora.agents.learning.QSession` of the vectorized sessions of
:func:`agora.market.learning.qlearning.q_learning`; :func:`q_learning_fees_model` the k-item posted-fees
market of one intermediary with the same agents on a :class:`~agora.agents.learning.FeeQSession`.
"""

from __future__ import annotations

import mesa
import numpy as np

from agora.agents.learning import FeeQSession, KLearning, Learning, QLearning, QSession
from agora.market.demand import from_partition
from agora.market.learning.dynamics import MARKET, child
from agora.market.learning.k_selection import KItemMarket, market_draws
from agora.market.learning.selection import Market, market_values
from agora.models.market_model import MarketModel
from agora.models.round_collector import RoundCollector
from agora.protocols.messages import LOG_COLUMNS
from agora.protocols.posted_fees import PostedFees

MODEL = MARKET + 1  # the child of a run's SeedSequence that seeds the Mesa model itself (tie-breaks)


def learning_model(market: Market, seller_rule, intermediary_rule, start: tuple[int, int], rounds: int | None,
                   seq: np.random.SeedSequence):
    """A simultaneous MarketModel whose two sides learn, replaying the run's values for ``rounds`` rounds
    (``rounds=None``: the model draws the values itself, for as many rounds as it is stepped)."""
    game, _ = market.discretized()
    return MarketModel(game.specs, protocol="simultaneous",
                       seller=Learning(seller_rule, market, start, seq),
                       intermediary=Learning(intermediary_rule, market, start, seq),
                       replay=None if rounds is None else market_values(game, rounds, seq),
                       rng=np.random.default_rng(child(seq, MODEL)))


def k_learning_model(market: KItemMarket, rules, start: tuple[int, int, int], rounds: int | None,
                     seq: np.random.SeedSequence):
    """A MarketModel of the k-item market under PostedFees whose seller and intermediaries learn by
    ``rules`` (seller, first, second), replaying the run's values and rationing priorities for
    ``rounds`` rounds (``rounds=None``: the model draws both itself, for as many rounds as it is stepped)."""
    values, priority = market_draws(market, rounds, seq) if rounds is not None else (None, None)
    b1 = market.blocks[0]
    blocks = [list(range(b1)), list(range(b1, market.buyers))]
    model = MarketModel([market.distribution] * market.buyers, protocol=PostedFees(market.items, priority),
                        seller=KLearning(rules[0], market, start, 0, seq),
                        demand=from_partition(blocks, market.buyers), replay=values,
                        rng=np.random.default_rng(child(seq, MODEL)))
    for j, m in enumerate(model.intermediaries):
        m.strategy = KLearning(rules[j + 1], market, start, j + 1, seq)
    model.datacollector = mesa.DataCollector(
        model_reporters={"seller_price": lambda m: m.last.seller_price,
                         "first_fee": lambda m: m.last.fees[0], "second_fee": lambda m: m.last.fees[1],
                         "first_items": lambda m: m.last.units[0], "second_items": lambda m: m.last.units[1],
                         "seller_revenue": lambda m: m.last.seller_revenue,
                         "intermediary_revenue": lambda m: m.last.intermediary_revenue,
                         "welfare": lambda m: m.last.welfare},
        tables={"messages": list(LOG_COLUMNS)})
    return model


def q_learning_model(session: QSession, rng=None) -> MarketModel:
    """A simultaneous MarketModel of ``session``'s bidders whose seller and intermediary learn by the
    session's Q-learning; the buyers' values (whether each round sells) are drawn from ``rng``."""
    return MarketModel(session.game.specs, protocol="simultaneous", seller=QLearning(session, "seller"),
                       intermediary=QLearning(session, "intermediary"), rng=rng)


FEE_ROUNDS = {name: name for name in ("seller_price", "fees", "units", "seller_revenue", "intermediary_revenue",
                                      "welfare", "sale")}  # per round; fees and units: one entry per intermediary


def q_learning_fees_model(session: FeeQSession, rng=None) -> MarketModel:
    """A MarketModel of ``session``'s posted-fees market (its buyers, all one intermediary's, and items, under
    PostedFees) whose seller posts its price per item and whose intermediary posts its fee by the session's
    Q-learning; the buyers' values and the rationing priorities are drawn from ``rng``."""
    model = MarketModel([session.distribution] * session.buyers, protocol=PostedFees(session.items),
                        seller=QLearning(session, "seller"), intermediary=QLearning(session, "intermediary"),
                        rng=rng)
    model.datacollector = RoundCollector(FEE_ROUNDS, {model.buyer_class: {"value": "value", "payoff": "payoff"}})
    return model
