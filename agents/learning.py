"""Learning rules as agents' strategies in the simultaneous market (monopolist-intermediary, Section 5).

:class:`Learning` lets a seller or an intermediary agent post prices from a grid by a
rule of :mod:`agora.market.learning.rules`. Before each round after the first it observes, from
the model's last :class:`~agora.protocols.base.RoundOutcome`, what the protocol made public:
both posted prices and whether the item sold. Seeded as in :mod:`agora.market.learning.dynamics`, the
agents post the same prices, round for round, as the array dynamics of
:func:`agora.market.learning.selection.play_market` on the same values.

:class:`KLearning` does the same for the seller and the two intermediaries of the k-item
market of :mod:`agora.market.learning.k_selection`, under the :class:`~agora.protocols.posted_fees.PostedFees`
protocol (:func:`k_learning_model`): each observes the posted price and both fees.
"""

from __future__ import annotations

import numpy as np

from agora.market.errors import InputError
from agora.market.learning.dynamics import MARKET, child
from agora.market.learning.k_selection import KItemMarket, market_draws
from agora.market.learning.selection import Market, market_values

MODEL = MARKET + 1  # the child of a run's SeedSequence that seeds the Mesa model itself (tie-breaks)


class Learning:
    """Post prices from ``market``'s grid by ``rule``, from the start pair ``start`` (grid indices).

    Both sides of one run take the same ``seq``; each uses its own child of it.
    """

    def __init__(self, rule, market: Market, start: tuple[int, int], seq: np.random.SeedSequence):
        self.rule, self.market, self.start, self.seq = rule, market, tuple(start), seq
        self.learner = None
        self._index: dict[float, int] = {}

    def _begin(self, agent, seller: bool) -> None:
        specs = tuple(b.spec for b in agent.model.distributions)
        game, mg = self.market.discretized()
        if specs != game.specs:
            raise InputError(f"this learning strategy was built for bidders {game.specs}, "
                             f"but the model has {specs}")
        self.learner = self.rule.start(mg.seats(self.start, self.seq)[0 if seller else 1])
        self._index = {float(p): k for k, p in enumerate(mg.row_actions)}

    def choose(self, agent) -> float:
        seller = agent is agent.model.seller
        if self.learner is None:
            self._begin(agent, seller)
        else:
            last = agent.model.last
            own, other = ((last.seller_price, last.intermediary_price) if seller
                          else (last.intermediary_price, last.seller_price))
            self.learner.observe(self._index[own], self._index[other], bool(last.sale))
        return float(self.learner.seat.own_prices[self.learner.act()])


def learning_model(market: Market, seller_rule, intermediary_rule, start: tuple[int, int], rounds: int | None,
                   seq: np.random.SeedSequence):
    """A simultaneous MarketModel whose two sides learn, replaying the run's values for ``rounds`` rounds
    (``rounds=None``: the model draws the values itself, for as many rounds as it is stepped)."""
    from agora.models.market_model import MarketModel

    game, _ = market.discretized()
    return MarketModel(game.specs, protocol="simultaneous",
                       seller=Learning(seller_rule, market, start, seq),
                       intermediary=Learning(intermediary_rule, market, start, seq),
                       replay=None if rounds is None else market_values(game, rounds, seq),
                       rng=np.random.default_rng(child(seq, MODEL)))


class KLearning:
    """Post the price (``player`` 0, the seller) or fee (1, 2: the intermediaries) of a k-item market's
    grid by ``rule``, from the start profile ``start``; every player of one run takes the same ``seq``."""

    def __init__(self, rule, market: KItemMarket, start: tuple[int, int, int], player: int,
                 seq: np.random.SeedSequence):
        self.rule, self.market, self.start, self.player, self.seq = rule, market, tuple(start), player, seq
        self.learner = None
        game = market.game()
        self._index = [{float(p): k for k, p in enumerate(a)} for a in game.actions]
        self._strides = [int(w) for w in game.strides(player)]

    def choose(self, agent) -> float:
        if self.learner is None:
            self.learner = self.rule.start(self.market.game().seats(self.start, self.seq)[self.player])
        else:
            last = agent.model.last
            profile = [self._index[i][p] for i, p in enumerate((last.seller_price, *last.fees))]
            other = sum(w * a for w, a in zip(self._strides, profile))
            self.learner.observe(profile[self.player], other, bool(last.delivered))
        return float(self.learner.seat.own_prices[self.learner.act()])


def k_learning_model(market: KItemMarket, rules, start: tuple[int, int, int], rounds: int | None,
                     seq: np.random.SeedSequence):
    """A MarketModel of the k-item market under PostedFees whose seller and intermediaries learn by
    ``rules`` (seller, first, second), replaying the run's values and rationing priorities for
    ``rounds`` rounds (``rounds=None``: the model draws both itself, for as many rounds as it is stepped)."""
    import mesa

    from agora.market.demand import from_partition
    from agora.models.market_model import MarketModel
    from agora.protocols.messages import LOG_COLUMNS
    from agora.protocols.posted_fees import PostedFees

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
