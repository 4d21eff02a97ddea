"""The seller's best robust mechanisms against a Markov ambiguity set, in one result.

Closed forms of the thesis' Chapter 1 (Theorems 1.5.2, 1.5.3, Lemma 1.7.15),
optionally checked by the worst-case LPs (1.7)/(1.8) on a grid.
"""

from __future__ import annotations

from dataclasses import dataclass

from market.mechanisms.robust import (
    HighestBidderLottery,
    MarkovSet,
    best_reserve,
    spa_region,
)
from market.solvers.robust_lp import worst_case_revenue


@dataclass(frozen=True)
class RobustSolution:
    """Best second-price auction, optimal highest-bidder lottery and the bound on any mechanism."""

    ambiguity: MarkovSet
    spa_reserve: float
    spa_revenue: float
    spa_reserve_region: str
    mean_region: str
    hbl_sigma: float
    hbl_threshold: float
    hbl_revenue: float
    upper_bound: float
    method: str
    lp: dict | None = None

    def to_dict(self) -> dict:
        a = self.ambiguity
        out = {"bidders": a.bidders, "mean": a.mean, "upper": a.upper,
               "spa_reserve": self.spa_reserve, "spa_revenue": self.spa_revenue,
               "spa_reserve_region": self.spa_reserve_region, "mean_region": self.mean_region,
               "hbl_sigma": self.hbl_sigma, "hbl_threshold": self.hbl_threshold,
               "hbl_revenue": self.hbl_revenue, "upper_bound": self.upper_bound,
               "hbl_share_of_upper_bound": self.hbl_revenue / self.upper_bound,
               "spa_share_of_hbl": self.spa_revenue / self.hbl_revenue,
               "method": self.method}
        if self.lp is not None:
            out["lp"] = self.lp
        return out


def solve_robust(bidders: int, mean: float, upper: float = 1.0, grid: int | None = None) -> RobustSolution:
    """Closed forms for I bidders with values in [0, upper] and means >= ``mean``.

    With ``grid`` = n, also the worst cases of both mechanisms from the LPs on
    an n-point grid (symmetric reduction), reported under ``lp``.
    """
    ambiguity = MarkovSet(bidders, mean, upper)
    spa = best_reserve(ambiguity)
    hbl = HighestBidderLottery.optimal(ambiguity)
    lp = None
    if grid is not None:
        w_spa = worst_case_revenue(spa.mechanism(), ambiguity, grid)
        w_hbl = worst_case_revenue(hbl, ambiguity, grid)
        lp = {"grid": grid, "spa_revenue": w_spa.value, "spa_dual": w_spa.dual_value,
              "hbl_revenue": w_hbl.value, "hbl_dual": w_hbl.dual_value,
              "method": w_spa.method}
    return RobustSolution(
        ambiguity=ambiguity, spa_reserve=spa.reserve, spa_revenue=spa.revenue,
        spa_reserve_region=spa_region(spa.reserve, ambiguity), mean_region=spa.mean_region,
        hbl_sigma=hbl.sigma, hbl_threshold=hbl.threshold * upper, hbl_revenue=hbl.worst_case_revenue,
        upper_bound=hbl.upper_bound,
        method=f"closed forms (Theorems 1.5.2, 1.5.3, Lemma 1.7.15); sigma by {hbl.method}", lp=lp)
