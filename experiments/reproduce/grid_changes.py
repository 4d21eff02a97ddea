"""Report sections: what refinement off the grid changed in the simultaneous game's equilibrium sets.

For each market, the grid-only candidates (mutual near-best responses on the price grid, as a
grid search alone finds them) beside the refined set (:mod:`agora.market.single_item.grid_refinement`):
how many each holds, where they lie, the largest regret of each, and which grid points were
rejected or moved, and how far. The rows check the refined set, the grid points kept and the
distances moved against each market's equilibria derived independently (closed-form best
responses, Theorems 5.1 and 5.2), so an error of 1% in the refinement fails them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from agora.experiments.reproduce.report import Check, Section
from agora.experiments.tables import markdown_table
from agora.market.single_item.grid_refinement import KEPT, MOVED, GridComparison, SetSummary, compare_with_grid
from agora.market.single_item.simultaneous import REGRET_RTOL, PricingGame

CHANGED_ROWS = 8  # moved or rejected grid points listed per market (the count is always given)


@dataclass(frozen=True)
class Derived:
    """A market's trading pure equilibria derived without the solver.

    ``points``: isolated equilibria; ``segment``: (total, lowest, highest seller price) of a
    continuum p_s + p_I = total; ``kept``: how many grid points of a ``points``-price grid are exact
    equilibria (a function of the grid); ``regret``: the closed-form largest relative regret at a
    price pair; ``tolerance``: relative to the market's top price.
    """

    source: str
    provenance: str
    points: tuple[tuple[float, float], ...] = ()
    segment: tuple[float, float, float] | None = None
    kept: Callable[[np.ndarray], int] | None = None
    regret: Callable[[float, float], float] | None = None
    tolerance: float = 1e-7


@dataclass(frozen=True)
class MarketCase:
    """One market of a report: its name, its game and grid, and what is derived independently."""

    name: str
    game: PricingGame
    points: int
    derived: Derived


def distance_to(derived: Derived, x: Sequence[float]) -> float:
    """Max-norm distance from the price pair x to the derived equilibria (points and segment)."""
    x = np.asarray(x, float)
    d = [float(np.max(np.abs(x - np.asarray(p)))) for p in derived.points]
    if derived.segment is not None:
        c, lo, hi = derived.segment
        s = float(np.clip(0.5 * (x[0] + c - x[1]), lo, hi))
        d.append(float(np.max(np.abs(x - (s, c - s)))))
    return min(d, default=math.inf)


def _where(s: SetSummary) -> tuple[str, str]:
    def rng(r):
        return "-" if r is None else (f"{r[0]:.6g}" if r[0] == r[1] else f"[{r[0]:.6g}, {r[1]:.6g}]")
    return rng(s.seller_range), rng(s.total_range)


def comparison_table(cmp: GridComparison) -> str:
    """Grid-only candidates, those of them verified as they are, and the refined set, side by side."""
    grid, refined = cmp.grid_summary(), cmp.refined_summary()
    kept = [g for g in cmp.grid_points if g.fate == KEPT]
    kept_summary = SetSummary(len(kept), grid.no_trade, _range([g.seller_price for g in kept]),
                              _range([g.seller_price + g.intermediary_price for g in kept]),
                              max((g.largest_regret for g in kept), default=0.0))
    segment = refined.continuum
    how = (f"segment p_s in [{segment['seller_price'][0]:.9g}, {segment['seller_price'][1]:.9g}]"
           if segment else f"{len(cmp.refined_off_grid())} off the grid")
    rows = [("grid-only: mutual near-best responses", grid.trading, grid.no_trade, *_where(grid),
             f"{grid.largest_regret:.3g}", "grid points"),
            ("grid-only, verified as they are (a grid search's equilibria)", kept_summary.trading,
             kept_summary.no_trade, *_where(kept_summary), f"{kept_summary.largest_regret:.3g}", "grid points"),
            ("refined (the solver)", refined.trading, refined.no_trade, *_where(refined),
             f"{refined.largest_regret:.3g}", how)]
    return markdown_table(["set", "trading equilibria", "no trade", "seller price", "total price",
                           "largest regret", "how"], rows)


def _range(xs):
    return (float(min(xs)), float(max(xs))) if xs else None


def changes_table(cmp: GridComparison) -> str:
    """The grid points moved or rejected (at most CHANGED_ROWS listed), with their regret and fate."""
    changed = cmp.changed()
    fates = cmp.fates()
    head = (f"grid points: {fates['kept']} kept, {fates['moved']} moved, {fates['rejected']} rejected "
            f"(grid step {cmp.step:.6g})")
    if not changed:
        return head + "."
    rows = [(f"({g.seller_price:.6g}, {g.intermediary_price:.6g})", f"{g.largest_regret:.3g}", g.fate,
             "-" if g.to is None else f"({g.to[0]:.9g}, {g.to[1]:.9g})",
             "-" if g.to is None else f"{g.distance:.6g}") for g in changed[:CHANGED_ROWS]]
    more = f"\n\n({len(changed) - CHANGED_ROWS} more not listed)" if len(changed) > CHANGED_ROWS else ""
    return head + ":\n\n" + markdown_table(["grid point", "largest regret", "fate", "moved to", "distance"],
                                           rows) + more


def _refined_points(cmp: GridComparison) -> list[tuple[float, float]]:
    """The refined set's equilibria and its segment's two ends."""
    out = [(e.seller_price, e.intermediary_price) for e in cmp.refined.equilibria]
    c = cmp.refined.continuum
    if c is not None:
        (lo, hi), (ilo, ihi) = c["seller_price"], c["intermediary_price"]
        out += [(lo, ihi), (hi, ilo)]
    return out


def _derived_points(d: Derived) -> list[tuple[float, float]]:
    """The derived isolated equilibria and the derived segment's two ends."""
    ends = [(d.segment[k], d.segment[0] - d.segment[k]) for k in (1, 2)] if d.segment else []
    return list(d.points) + ends


def set_distance(d: Derived, cmp: GridComparison) -> float:
    """Max-norm distance between the refined set and the derived one, both ways: each refined
    equilibrium from the derived set, and each derived point (or segment end) from the refined set."""
    refined = _refined_points(cmp)
    out = [distance_to(d, x) for x in refined]
    for t in _derived_points(d):
        out.append(min((max(abs(t[0] - r[0]), abs(t[1] - r[1])) for r in refined), default=math.inf))
    return max(out, default=math.inf)


def _describe(d: Derived) -> str:
    seg = [f"p_s + p_I = {d.segment[0]:.9g}, p_s in [{d.segment[1]:.9g}, {d.segment[2]:.9g}]"] if d.segment else []
    return "; ".join([f"({p[0]:.9g}, {p[1]:.9g})" for p in d.points] + seg)


def comparison_checks(case: MarketCase, cmp: GridComparison) -> list[Check]:
    """Rows against the market's independently derived equilibria (see :class:`Derived`)."""
    d, name, rule = case.derived, case.name, "refinement off the grid"
    tol, within = d.tolerance * case.game.upper, f"{d.tolerance:g} of the top price"
    off = set_distance(d, cmp)
    checks = [Check(rule, name, "refined set's distance from the derived equilibria (max norm, both ways)",
                    _describe(d), off, off <= tol, within, d.provenance, d.source)]
    if d.kept is not None:
        want, got = d.kept(np.linspace(0.0, case.game.upper, case.points)), cmp.fates()[KEPT]
        checks.append(Check(rule, name, "grid points that are exact equilibria as they are (a grid search's set)",
                            want, got, want == got, "exact", d.provenance, d.source + ", counted on the grid"))
    moved = [g for g in cmp.grid_points if g.fate == MOVED]
    if moved:
        gap = max(abs(g.distance - distance_to(d, (g.seller_price, g.intermediary_price))) for g in moved)
        points = "grid point" if len(moved) == 1 else "grid points"
        checks.append(Check(rule, name, f"{len(moved)} moved {points}: distance moved against the distance "
                            "to the derived equilibrium (largest difference)", 0.0, gap, gap <= tol, within,
                            d.provenance, d.source))
    if d.regret is not None and cmp.grid_points:
        gap = max(abs(g.largest_regret - d.regret(g.seller_price, g.intermediary_price)) for g in cmp.grid_points)
        checks.append(Check(rule, name, "grid-only candidates' largest regret against the closed form "
                            "(largest difference)", 0.0, gap, gap <= 1e-9, "1e-9", d.provenance,
                            d.source + "; regret in closed form"))
    worst = cmp.refined_summary().largest_regret
    checks.append(Check(rule, name, "largest regret in the refined set", REGRET_RTOL, worst, worst <= REGRET_RTOL,
                        "", "bound", "the verifier's tolerance (exact best responses)", "<="))
    return checks


def grid_changes_section(cases: Sequence[MarketCase], refined: dict | None = None) -> Section:
    """One section over ``cases``: per market the comparison table, the changed points and the rows.

    ``refined`` maps a case's name to its refined set when the report has already solved that game."""
    refined = refined or {}
    checks, parts = [], []
    for case in cases:
        cmp = compare_with_grid(case.game, case.points, refined.get(case.name))
        checks += comparison_checks(case, cmp)
        parts.append(f"**{case.name}** ({case.points} x {case.points} grid)\n\n{comparison_table(cmp)}\n\n"
                     f"{changes_table(cmp)}")
    text = """
What refinement off the grid changed. A grid search alone finds the mutual near-best responses of
the price grid; the grid-only rows are those candidates and, of them, the ones that pass the exact
verifier as they are (what a grid search reports as equilibria). The refined set is the solver's:
verified grid points, clusters of near-best responses refined off the grid (root of both
first-order conditions, else the fixed point of exact best responses), continua as segments with
bisected ends. A grid point that fails the verifier is moved when a refined equilibrium lies within
the refinement's bracket (the distance, in the larger of the two prices, is given), else rejected.
Regrets are relative to the best deviation's payoff, against every price. All of it is computed
when the report runs.
"""
    return Section("Grid-only against refined equilibrium sets", text, checks, "\n\n".join(parts))


# ------------------------------------------------------------------ derivations of common markets
def uniform_one() -> Derived:
    """One U[0,1] bidder: against q the best price is (1 - q)/2 (maximize p (1 - p - q)), so (1/3, 1/3)."""
    def regret(a, b):
        def rel(mine, other):
            best = (1.0 - other) ** 2 / 4.0
            return 1.0 - mine * max(1.0 - mine - other, 0.0) / best if best > 0 else 0.0
        return max(rel(a, b), rel(b, a))
    return Derived("by hand: best responses (1 - q)/2, fixed point 1/3", "independent", ((1 / 3, 1 / 3),),
                   kept=lambda grid: _on_grid(grid, (1 / 3,)), regret=regret)


def exponential_one() -> Derived:
    """One Exp(1) bidder: p e^-(p + q) is largest at p = 1 whatever q, so (1, 1)."""
    def regret(a, b):
        return max(1.0 - a * math.exp(1.0 - a), 1.0 - b * math.exp(1.0 - b))
    return Derived("by hand: the best response to any q is 1", "independent", ((1.0, 1.0),),
                   kept=lambda grid: _on_grid(grid, (1.0,)), regret=regret)


def uniform_one_two() -> Derived:
    """U[0,1] and U[0,2]: S(t) = 1 - t/2 on [1, 2], so against q the best price is (2 - q)/2: (2/3, 2/3)."""
    return Derived("by hand: S(t) = 1 - t/2 on [1, 2], best responses (2 - q)/2", "independent",
                   ((2 / 3, 2 / 3),), kept=lambda grid: _on_grid(grid, (2 / 3,)))


def constant_value(v: float = 1.0) -> Derived:
    """A constant value v: every split of v (Theorem 5.1); every grid split i + j = points - 1 is one."""
    return Derived("Theorem 5.1", "paper-formula", segment=(v, 0.0, v), kept=lambda grid: grid.size)


def f_eps_h(eps: float, H: float) -> Derived:
    """F_eps,H: every split of H with both prices >= eps H (Theorem 5.2); grid splits of H in that range."""
    def kept(grid):
        return int(np.count_nonzero((grid >= eps * H * (1 - 1e-12)) & (grid <= (1 - eps) * H * (1 + 1e-12))))
    return Derived("Theorem 5.2", "paper-formula", segment=(H, eps * H, (1 - eps) * H), kept=kept, tolerance=1e-5)


def _on_grid(grid: np.ndarray, prices: Sequence[float]) -> int:
    """How many of the equilibrium's prices sit on the grid (to 1e-12 of its top): the equilibrium is
    then one grid point, else none."""
    return int(all(np.min(np.abs(grid - p)) <= 1e-12 * grid[-1] for p in prices))
