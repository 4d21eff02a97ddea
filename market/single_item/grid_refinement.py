"""What refinement off the grid changes in a simultaneous game's pure equilibria (Section 5).

The grid-only set is what a grid search alone reports: the mutual near-best responses of the
``points`` x ``points`` price grid (:func:`~agora.market.single_item.simultaneous.pure_equilibria`
with ``verify`` off), no refinement. The refined set is the solver's: grid points verified against
every price, clusters of near-best responses refined off the grid, continua as segments with
bisected ends. Each grid-only point is measured against deviations to any price and is

* kept: it passes the exact verifier, so it is in the refined set as it is;
* moved: it fails, and a refined equilibrium (an off-grid point or a point of the refined
  segment) lies within the refinement's bracket, 2 (NEAR_STEPS + 2) grid steps in either price;
* rejected: it fails and no refined equilibrium is that close.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from agora.market.single_item.simultaneous import (
    GRID,
    NEAR_STEPS,
    EquilibriumSet,
    PricingGame,
    is_equilibrium,
    pure_equilibria,
    relative_regret,
)

KEPT, MOVED, REJECTED = "kept", "moved", "rejected"
BRACKET_STEPS = 2 * (NEAR_STEPS + 2)  # how far refine() looks from a grid candidate, in grid steps


@dataclass(frozen=True)
class GridPoint:
    """One trading grid-only candidate: its largest regret against any price (relative to the best
    deviation's payoff), its fate, and where it moved (the nearest refined equilibrium) and how far."""

    seller_price: float
    intermediary_price: float
    largest_regret: float
    fate: str
    to: tuple[float, float] | None
    distance: float


@dataclass(frozen=True)
class SetSummary:
    """How many trading equilibria a set holds, where they lie and its largest relative regret."""

    trading: int
    no_trade: int
    seller_range: tuple[float, float] | None
    total_range: tuple[float, float] | None
    largest_regret: float
    continuum: dict | None = None


@dataclass
class GridComparison:
    """The grid-only candidates of one market beside the refined set, point by point."""

    bidders: tuple[str, ...]
    points: int
    step: float
    grid_points: list[GridPoint]
    grid_no_trade: int
    refined: EquilibriumSet

    def fates(self) -> dict[str, int]:
        return {f: sum(g.fate == f for g in self.grid_points) for f in (KEPT, MOVED, REJECTED)}

    def changed(self) -> list[GridPoint]:
        """The grid-only points that were moved or rejected."""
        return [g for g in self.grid_points if g.fate != KEPT]

    def grid_summary(self) -> SetSummary:
        pts = self.grid_points
        return SetSummary(len(pts), self.grid_no_trade, _range([g.seller_price for g in pts]),
                          _range([g.seller_price + g.intermediary_price for g in pts]),
                          max((g.largest_regret for g in pts), default=0.0))

    def refined_summary(self) -> SetSummary:
        eq, c = self.refined.equilibria, self.refined.continuum
        sellers = [e.seller_price for e in eq] + (list(c["seller_price"]) if c else [])
        totals = [e.seller_price + e.intermediary_price for e in eq] + ([c["total_price"]] if c else [])
        return SetSummary(len(eq), self.refined.no_trade, _range(sellers), _range(totals),
                          max((e.largest_regret for e in eq), default=0.0), c)

    def refined_off_grid(self) -> list:
        """The refined set's equilibria that are not grid points (found by refinement)."""
        return [e for e in self.refined.equilibria if e.found != GRID]


def _range(xs) -> tuple[float, float] | None:
    return (float(min(xs)), float(max(xs))) if xs else None


def _to_segment(x: np.ndarray, continuum: dict) -> np.ndarray:
    """The point of the refined segment p_s + p_I = c, p_s in [lo, hi], nearest to x (max norm)."""
    lo, hi = continuum["seller_price"]
    c = continuum["total_price"]
    # along the segment p_I = c - p_s; the max-norm distance is smallest where both gaps are equal
    s = float(np.clip(0.5 * (x[0] + c - x[1]), lo, hi))
    return np.array([s, c - s])


def nearest_refined(refined: EquilibriumSet, ps: float, pi: float) -> tuple[tuple[float, float] | None, float]:
    """The refined equilibrium nearest to (ps, pi) in max norm (off-grid points and the segment), and
    the distance; (None, inf) when the refined set holds neither."""
    x = np.array([ps, pi])
    targets = [np.array([e.seller_price, e.intermediary_price]) for e in refined.equilibria if e.found != GRID]
    if refined.continuum is not None:
        targets.append(_to_segment(x, refined.continuum))
    if not targets:
        return None, math.inf
    d = [float(np.max(np.abs(t - x))) for t in targets]
    k = int(np.argmin(d))
    return (float(targets[k][0]), float(targets[k][1])), d[k]


def compare_with_grid(game: PricingGame, points: int = 1001,
                      refined: EquilibriumSet | None = None) -> GridComparison:
    """The grid-only candidate set of ``game`` on ``points`` prices beside the refined set
    (``refined``, by default :func:`pure_equilibria` on the same grid; pass the one already found on
    this game to reuse its exact best responses)."""
    refined = pure_equilibria(game, points) if refined is None else refined
    grid_only = pure_equilibria(game, points, verify=False)
    step = float(grid_only.grid["high"]) / (points - 1)
    out = []
    for e in grid_only.equilibria:
        ps, pi = e.seller_price, e.intermediary_price
        rs, ri = game.regret(ps, pi)
        regret = relative_regret(rs, ri, e.seller_revenue, e.intermediary_revenue)
        if is_equilibrium(game, ps, pi):
            out.append(GridPoint(ps, pi, regret, KEPT, (ps, pi), 0.0))
            continue
        to, d = nearest_refined(refined, ps, pi)
        fate = MOVED if d <= BRACKET_STEPS * step * (1 + 1e-9) else REJECTED
        out.append(GridPoint(ps, pi, regret, fate, to if fate == MOVED else None, d if fate == MOVED else math.inf))
    return GridComparison(game.specs, points, step, out, grid_only.no_trade, refined)
