"""The dashboard's view of Q-learning in posted fees (Calvano et al. 2020 in the k-item posted-fees market of
intermediary-proof-mechanisms): the runner's ``q-learning-fees`` kind played as one session, period by period.

``buyers`` unit-demand buyers with values from the one law of ``bidders``, all the intermediary's, and
``items`` items; the seller posts a price per item and the intermediary its fee at once, on the
``points``-price grid up to the top of the support (:func:`agora.market.learning.fee_game.fee_game`:
each earns its price times E[min(D, k)], D ~ Binomial(buyers, P[v >= price + fee])). Both run tabular
Q-learning with learning rate ``rate`` (the kind's alpha), exploration exp(-``beta`` t), discount
``delta`` and a state of the last ``memory`` pairs of prices: the compiled session of
:func:`agora.market.learning.qlearning.q_learning` on the first of
:func:`~agora.market.learning.qlearning.session_seeds` of ``seed``, run for :data:`HORIZON` periods at
the first step (converged once no greedy strategy changed for the kind's default window or
:data:`HORIZON`, the smaller) and revealed one period per step.

Exact values: the Nash point of the kind's row (the grid game's trading pure equilibrium of largest total
profit, :func:`~agora.market.learning.fee_game.fee_references`), each side's expected profit and the
welfare E[min(D, k)] E[v | v >= price + fee] there (random rationing among the buyers who want an item).
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from scipy.integrate import quad

from agora.experiments.dashboard.path_view import PathModel, PathView, bands_at, best_response_plane
from agora.experiments.dashboard.qlearning_view import DEFAULTS, MAX_CELLS, WINDOW
from agora.experiments.dashboard.views import COMMON_CONTROLS, MarketView, PricePlane, Reference, register
from agora.market.distributions import parse_spec
from agora.market.errors import InputError
from agora.market.learning.fee_game import fee_references, items_sold
from agora.market.learning.qlearning import check_parameters, q_learning, session_seeds

HORIZON = 20_000  # periods of the session run at the first step


class QFeesModel(PathModel):
    """One Q-learning session in posted fees, revealed one period per step."""

    horizon = HORIZON

    def __init__(self, controls):
        super().__init__()
        c = controls
        self.law, self.buyers, self.items = c.bidders[0], c.buyers, c.items
        self.points = c.points or DEFAULTS["points"]
        self.learning = dict(alpha=c.rate, beta=c.beta, delta=c.delta, memory=c.memory)
        self.seed = session_seeds(c.seed, 1)[0]
        self.refs = fee_references(self.law, self.buyers, self.items, self.points)

    @property
    def game(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return self.refs[:3]

    def draw(self) -> tuple[np.ndarray, np.ndarray]:
        """The session's grid indices (seller's, intermediary's) for :data:`HORIZON` periods."""
        _, A, B = self.game
        res = q_learning(A, B, [self.seed], **self.learning, periods=HORIZON, window=min(WINDOW, HORIZON),
                         record=True)
        return res.row_path[0], res.col_path[0]

    def actions(self) -> tuple[np.ndarray, np.ndarray]:
        return self.path

    def welfare(self, seller_price: float, intermediary_price: float) -> float:
        return welfare(self.law, self.buyers, self.items, seller_price + intermediary_price)


@lru_cache(maxsize=4096)
def welfare(law: str, buyers: int, items: int, total: float) -> float:
    """E[min(D, k)] E[v | v >= total]: the items go at random to buyers whose value reaches the total price."""
    dist = parse_spec(law)
    reach = float(dist.prob_at_least(total))
    if reach <= 0.0:
        return 0.0
    above = quad(lambda x: float(dist.prob_at_least(x)), total, dist.hi, limit=200)[0]
    return float(items_sold(law, buyers, items, total)) * (total + above / reach)


class QFeesView(PathView, MarketView):
    protocol = "q-learning-fees"
    title = "Q-learning seller and fee (Calvano et al. 2020; intermediary-proof-mechanisms, posted fees)"
    rules = ("q-learning",)
    controls = COMMON_CONTROLS + ("items", "rate", "points", "beta", "delta", "memory")

    def check(self, controls) -> None:
        c = controls
        if len(c.bidders) != 1 or c.intermediaries != 1:
            raise InputError("q-learning-fees takes one law for every buyer and one intermediary holding them all, "
                             f"got {len(c.bidders)} laws and {c.intermediaries} intermediaries")
        check_parameters(c.rate, c.beta, c.delta, c.memory, HORIZON, min(WINDOW, HORIZON))
        points = c.points or DEFAULTS["points"]
        cells = (points * points) ** c.memory * points
        if cells > MAX_CELLS:
            raise InputError(f"memory = {c.memory} with {points} prices needs Q-tables of {cells:.3g} "
                             f"entries per side; accepted: at most {MAX_CELLS:.3g} (fewer points or less memory)")
        if not math.isfinite(parse_spec(c.bidders[0]).hi):
            raise InputError(f"bidders = {c.bidders[0]!r}: the fee grid runs to the top of the support, which "
                             "must be finite")
        fee_references(c.bidders[0], c.buyers, c.items, points)  # a grid game without a Nash point is refused

    def build(self, controls) -> QFeesModel:
        return QFeesModel(controls)

    def caption(self, model: QFeesModel) -> str:
        grid, (rows, cols), t = model.refs[0], model.path, model.round - 1
        return f"period {model.round}: price {grid[rows[t]]:.3g} per item, fee {grid[cols[t]]:.3g}"

    def reference(self, model: QFeesModel) -> Reference:
        grid, A, B, eqs, (i, j, exact), nash, monopoly = model.refs
        return Reference(bands_at(model, [(i, j)]),
                         f"the grid game's trading pure equilibrium of largest total profit {nash:.6g} (of "
                         f"{len(eqs)}{'; an equilibrium against any price too' if exact else ''}; joint monopoly "
                         f"{monopoly:.6g}): the Nash point of the q-learning-fees kind's row, on the "
                         f"{len(grid)}-price grid")

    def price_plane(self, model: QFeesModel) -> PricePlane:
        grid, eqs = model.refs[0], model.refs[3]
        return best_response_plane(model, grid[eqs], f"best responses and trading pure equilibria of the "
                                   f"{len(grid)}-price posted-fees game",
                                   labels=("seller's price per item", "intermediary's fee"))


register(QFeesView())
