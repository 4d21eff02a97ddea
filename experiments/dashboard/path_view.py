"""Views of a path of play computed in advance on a grid game: the seller (rows) against the one intermediary
holding every buyer (columns), both pricing on one grid (adaptive play, :mod:`.adaptive_view`; Q-learning in
posted fees, :mod:`.qlearning_fees_view`).

A :class:`PathModel` draws its whole path at the first step and reveals one period per step; a
:class:`PathView` (mixed into a :class:`~agora.experiments.dashboard.views.MarketView`) reads it back: the
network of the seller, the intermediary and its buyers, each period's payoffs in the grid game, the welfare
of its prices and the prices themselves; :func:`bands_at` gives the exact values at a set of grid points (a
line for one point, a band for several), :func:`best_response_plane` the grid game's best responses on the
price plane.

The views module imports every view module at its end (they register themselves), so this module reads its
Network and PricePlane when called, not when imported.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from functools import cached_property

import networkx as nx
import numpy as np
import pandas as pd

from agora.market.demand import SELLER, buyer_node, intermediary_node

PAYOFFS = ("seller_revenue", "intermediary_revenue", "welfare")
PRICES = ("seller_price", "intermediary_price")


class PathModel(ABC):
    """A path of at most ``horizon`` periods on the grid game :attr:`game`, drawn by :meth:`draw` at the first
    step and revealed one period per step; ``buyers`` buyers, all the intermediary's."""

    horizon: int
    buyers: int

    def __init__(self):
        self.round = 0

    @property
    @abstractmethod
    def game(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The price grid and the seller's (rows) and the intermediary's (columns) payoff matrices."""

    @abstractmethod
    def draw(self):
        """The whole path (drawn once, at the first step)."""

    @abstractmethod
    def actions(self) -> tuple[np.ndarray, np.ndarray]:
        """Both sides' grid indices in every period of :attr:`path`."""

    @abstractmethod
    def welfare(self, seller_price: float, intermediary_price: float) -> float:
        """The expected welfare of a round at these prices."""

    @cached_property
    def path(self):
        return self.draw()

    def step(self) -> None:
        self.path  # noqa: B018  (drawn now, not when the market is built)
        self.round = min(self.round + 1, self.horizon)


class PathView(ABC):
    """A :class:`PathModel`'s series and network, for a view ``class V(PathView, MarketView)``; ``extra`` series
    columns (between the payoffs and the prices) come from :meth:`extra_series`, the network's caption from
    :meth:`caption`."""

    extra: tuple[str, ...] = ()

    def extra_series(self, model: PathModel, t: int) -> dict[str, np.ndarray]:
        """The :attr:`extra` columns over the first ``t`` periods."""
        return {}

    @abstractmethod
    def caption(self, model: PathModel) -> str:
        """What the network says after a period (``model.round`` >= 1)."""

    def network(self, model: PathModel):
        from agora.experiments.dashboard.views import Network

        g = nx.DiGraph()
        g.add_node(SELLER, kind="seller", layer=2)
        g.add_node(intermediary_node(0), kind="intermediary", layer=1, index=0)
        g.add_edge(intermediary_node(0), SELLER)
        for i in range(model.buyers):
            g.add_node(buyer_node(i), kind="buyer", layer=0, index=i)
            g.add_edge(buyer_node(i), intermediary_node(0))
        net = Network(g)
        if model.round:
            net.caption = self.caption(model)
        return net

    def series(self, model: PathModel) -> pd.DataFrame:
        t = model.round
        if t == 0:
            return pd.DataFrame(columns=PAYOFFS + self.extra + PRICES, dtype=float)
        grid, A, B = model.game
        rows, cols = (a[:t] for a in model.actions())
        ps, pi = grid[rows], grid[cols]
        out = pd.DataFrame({"seller_revenue": A[rows, cols], "intermediary_revenue": B[rows, cols],
                            "welfare": [model.welfare(float(x), float(y)) for x, y in zip(ps, pi)],
                            **self.extra_series(model, t), "seller_price": ps, "intermediary_price": pi})
        out.index = pd.RangeIndex(1, t + 1, name="round")
        return out


def bands_at(model: PathModel, points: list[tuple[int, int]]) -> dict[str, tuple[float, float]]:
    """The least and the largest value over the grid points ``points`` (seller's, intermediary's index) of
    each price, each side's payoff in the grid game and the welfare; empty without points."""
    if not points:
        return {}
    grid, A, B = model.game
    cols = {"seller_price": [grid[a] for a, _ in points], "intermediary_price": [grid[b] for _, b in points],
            "seller_revenue": [A[a, b] for a, b in points], "intermediary_revenue": [B[a, b] for a, b in points],
            "welfare": [model.welfare(float(grid[a]), float(grid[b])) for a, b in points]}
    return {k: (float(min(v)), float(max(v))) for k, v in cols.items()}


def best_response_plane(model: PathModel, points: np.ndarray, method: str, **kw):
    """The grid game's best responses (the first best grid price of each side against each of the other's) and
    the price pairs ``points`` on the price plane (a PricePlane)."""
    from agora.experiments.dashboard.views import PricePlane

    grid, A, B = model.game
    return PricePlane(grid, grid[np.argmax(A, axis=0)], grid[np.argmax(B, axis=1)], points, None, method, **kw)
