"""Learning rules as agents' strategies in the simultaneous market (monopolist-intermediary, Section 5).

:class:`Learning` lets a seller or an intermediary agent post prices from a grid by a
rule of :mod:`agora.market.learning.rules`. Before each round after the first it observes, from
the model's last :class:`~agora.protocols.base.RoundOutcome`, what the protocol made public:
both posted prices and whether the item sold. Seeded as in :mod:`agora.market.learning.dynamics`, the
agents post the same prices, round for round, as the array dynamics of
:func:`agora.market.learning.selection.play_market` on the same values.

:class:`KLearning` does the same for the seller and the two intermediaries of the k-item
market of :mod:`agora.market.learning.k_selection`, under the :class:`~agora.protocols.posted_fees.PostedFees`
protocol (:func:`agora.models.learning_models.k_learning_model`): each observes the posted price and both fees.
"""

from __future__ import annotations

import numpy as np

from agora.market.errors import InputError
from agora.market.learning.k_selection import KItemMarket
from agora.market.learning.selection import Market


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
