"""The dashboard's view of Q-learning pricing agents (Calvano et al. 2020) in the simultaneous game of
monopolist-intermediary, Section 5: the runner's ``q-learning`` kind played as one session, round by round.

The seller and the intermediary each run tabular Q-learning on the ``points``-price grid game of the
buyers' laws (``bidders``), learning rate ``rate`` (the kind's alpha), exploration with probability
exp(-``beta`` t), discount ``delta``, the state the last ``memory`` pairs of prices
(:class:`~agora.agents.learning.QSession` with its :class:`~agora.agents.learning.QLearning` strategies
in a simultaneous :class:`~agora.models.market_model.MarketModel`: the compiled sessions of
:func:`agora.market.learning.qlearning.q_learning` period for period). The session learns until
neither greedy strategy changed for the kind's default window (100,000 periods), then plays greedily.
The session's seed is the first of :func:`~agora.market.learning.qlearning.session_seeds` of ``seed``.

Exact values: the Nash point of the kind's row (the grid game's trading pure equilibrium of largest
total profit, :func:`~agora.market.learning.qlearning.pricing_references`): its prices, each side's
expected profit there and the welfare of that sale; the price plane is the grid game's: each side's
best response on the grid and every trading pure equilibrium.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from agora.agents.learning import QSession
from agora.experiments.dashboard.views import (
    PricePlane,
    Reference,
    TimingView,
    register,
)
from agora.experiments.markets.qlearning import MARKETS, window_of
from agora.market.errors import InputError
from agora.market.learning.qlearning import check_parameters, pricing_references, session_seeds
from agora.market.single_item.intermediary_first import evaluate_right_auction
from agora.market.single_item.right_auctions import PostedRightPrice
from agora.market.single_item.simultaneous import PricingGame
from agora.models.learning_models import q_learning_model

DEFAULTS = {p.name: p.default for p in MARKETS["q-learning"].params}
WINDOW = window_of(DEFAULTS)  # the kind's default convergence window
MAX_CELLS = 2_000_000  # Q-table entries per side (states x prices): 16 MB of float64


class QLearningView(TimingView):
    """Simultaneous prices posted by two Q-learners (the runner's ``q-learning`` kind)."""

    def __init__(self):
        super().__init__("q-learning", "Q-learning prices (Calvano et al. 2020; monopolist-intermediary, Section 5)",
                         ("rate", "points", "beta", "delta", "memory"), ("q-learning",))

    def points(self, controls) -> int:
        return controls.points or DEFAULTS["points"]

    def check(self, controls) -> None:
        super().check(controls)
        c, points = controls, self.points(controls)
        check_parameters(c.rate, c.beta, c.delta, c.memory, DEFAULTS["periods"], WINDOW)
        cells = (points * points) ** controls.memory * points
        if cells > MAX_CELLS:
            raise InputError(f"memory = {c.memory} with {points} prices needs Q-tables of {cells:.3g} "
                             f"entries per side; accepted: at most {MAX_CELLS:.3g} (fewer points or less memory)")
        _nash(c.specs, points)  # a grid game without a trading pure equilibrium has no Nash point

    def build(self, controls):
        c = controls
        session = QSession(c.specs, self.points(c), session_seeds(c.seed, 1)[0], alpha=c.rate, beta=c.beta,
                           delta=c.delta, memory=c.memory, periods=DEFAULTS["periods"], window=WINDOW)
        return q_learning_model(session, rng=np.random.default_rng(c.seed))

    def reference(self, model) -> Reference:
        session = model.seller.strategy.session
        return _nash(session.game.specs, len(session.grid))

    def price_plane(self, model) -> PricePlane:
        session = model.seller.strategy.session
        return _plane(session.game.specs, len(session.grid))


@lru_cache(maxsize=16)
def _nash(specs: tuple[str, ...], points: int) -> Reference:
    grid, A, B, eqs, (i, j, exact), nash, _ = pricing_references(specs, points)
    ps, pi = float(grid[i]), float(grid[j])
    welfare = evaluate_right_auction(PricingGame(specs).bidders, PostedRightPrice(pi), ps).welfare
    values = {"seller_price": ps, "intermediary_price": pi, "seller_revenue": float(A[i, j]),
              "intermediary_revenue": float(B[i, j]), "welfare": welfare}
    return Reference({k: (v, v) for k, v in values.items()},
                     f"the grid game's trading pure equilibrium of largest total profit {nash:.6g} (of {len(eqs)}"
                     f"{'; an equilibrium against any price too' if exact else ''}): the Nash point of the "
                     f"q-learning kind's row, on the {points}-price grid")


@lru_cache(maxsize=16)
def _plane(specs: tuple[str, ...], points: int) -> PricePlane:
    grid, A, B, eqs, _, _, _ = pricing_references(specs, points)
    return PricePlane(grid, grid[np.argmax(A, axis=0)], grid[np.argmax(B, axis=1)], grid[eqs], None,
                      f"best responses and trading pure equilibria of the {points}-price grid game")


register(QLearningView())
