"""Learning rules as agents' strategies in the simultaneous market (monopolist-intermediary, Section 5).

:class:`Learning` lets a seller or an intermediary agent post prices from a grid by a
rule of :mod:`market.learning`. Before each round after the first it observes, from
the model's last :class:`~protocols.base.RoundOutcome`, what the protocol made public:
both posted prices and whether the item sold. Seeded as in :mod:`market.dynamics`, the
agents post the same prices, round for round, as the array dynamics of
:func:`market.selection.play_market` on the same values.
"""

from __future__ import annotations

import numpy as np

from market.dynamics import MARKET, child
from market.errors import InputError
from market.selection import Market, market_values

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


def learning_model(market: Market, seller_rule, intermediary_rule, start: tuple[int, int], rounds: int,
                   seq: np.random.SeedSequence):
    """A simultaneous MarketModel whose two sides learn, replaying the run's values for ``rounds`` rounds."""
    from market.model import MarketModel

    game, _ = market.discretized()
    return MarketModel(game.specs, protocol="simultaneous",
                       seller=Learning(seller_rule, market, start, seq),
                       intermediary=Learning(intermediary_rule, market, start, seq),
                       replay=market_values(game, rounds, seq),
                       rng=np.random.default_rng(child(seq, MODEL)))
