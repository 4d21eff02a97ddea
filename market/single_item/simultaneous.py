"""Simultaneous play: Nash equilibria of the seller/intermediary pricing game (Section 5).

The seller posts p_s and the intermediary posts p_I for the right to dictate bids,
at the same time. The item is sold iff the highest value reaches p_s + p_I (ties
count as a sale); the seller earns p_s and the intermediary p_I. With one bidder
every deterministic mechanism of either side is such a price (Theorems 2.3, 3.1),
so this is the game of Theorems 5.1 and 5.2.

Pure equilibria are found on a price grid with vectorized best responses; grid points that
are only near-best responses are refined off the grid (the root of both first-order
conditions, else the fixed point of exact best responses), and every candidate is
re-checked against deviations to *any* price by an exact best response; mixed
equilibria of a coarse discretization come from nashpy and are re-checked by our own
regret computation. Results record the method, grid and tolerance used.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from functools import cached_property, lru_cache
from itertools import cycle

import nashpy
import numpy as np
from nashpy.linalg import create_col_tableau, create_row_tableau
from scipy.ndimage import binary_dilation, label
from scipy.optimize import brentq

from agora.market.distributions import ValueDistribution, parse_spec
from agora.market.errors import InputError
from agora.market.single_item.intermediary_first import seller_best_response
from agora.market.single_item.right_auctions import PostedRightPrice
from agora.market.single_item.scores import MaxScoreLaw, ValueScore
from agora.market.single_item.seller_first import PriceOptimum
from agora.market.single_item.units import in_units

PRICE_SLACK = 1e-12  # a total within this relative distance of a value reaches it (float sums)


class PricingGame:
    """The simultaneous posted-price game between the seller and the intermediary."""

    def __init__(self, bidders: Sequence[ValueDistribution | str]):
        if not bidders:
            raise InputError("a market needs at least one bidder (n >= 1), got none")
        self.bidders = tuple(parse_spec(b) for b in bidders)
        self.law = MaxScoreLaw([ValueScore(b) for b in self.bidders])
        self.unit, self._unit_bidders = in_units(self.bidders)  # best responses are solved in this unit
        self._responses: dict[float, PriceOptimum] = {}

    @property
    def specs(self) -> tuple[str, ...]:
        return tuple(b.spec for b in self.bidders)

    @property
    def unit_bidders(self) -> tuple[ValueDistribution, ...]:
        """The bidders' laws in units of the market's scale (values divided by ``unit``)."""
        return tuple(self._unit_bidders)

    def sale(self, total) -> np.ndarray:
        """P[max_i v_i >= total]."""
        total = np.asarray(total, float)
        slack = np.where(np.isfinite(total), PRICE_SLACK * np.maximum(self.unit, np.abs(total)), 0.0)
        return self.law.prob_at_least(total - slack)

    def density(self, total) -> np.ndarray:
        """Density of max_i v_i at ``total``: sum_i f_i(t) prod_(j != i) P[v_j < t] (continuous parts)."""
        t = np.asarray(total, float)
        law = self.law
        below = np.stack([1.0 - s.prob_at_least(t) for s in law.distinct])
        out = np.zeros(t.shape)
        for g, s in enumerate(law.distinct):  # once per distinct law, times how many draw from it
            others = (law.counts - (np.arange(len(law.distinct)) == g)).reshape((-1,) + (1,) * t.ndim)
            out = out + law.counts[g] * s.dist.pdf(t) * np.prod(below ** others, axis=0)
        return out

    def payoffs(self, seller_price, intermediary_price) -> tuple[np.ndarray, np.ndarray]:
        s = self.sale(np.add(seller_price, intermediary_price))
        return np.multiply(seller_price, s), np.multiply(intermediary_price, s)

    @cached_property
    def upper(self) -> float:
        """Highest price worth posting: the top value, or where a sale has chance 1e-9."""
        if math.isfinite(self.law.top):
            return self.law.top
        hi = self.unit
        while self.sale(hi) > 1e-9:
            hi *= 2.0
        return brentq(lambda t: float(self.sale(t)) - 1e-9, 0.0, hi, xtol=1e-12 * hi)

    def best_response(self, other: float) -> PriceOptimum:
        """The best price against the other side's price: the game is symmetric, and each side
        solves the seller's problem against a posted price for the right (Theorem 4.1).

        Kept per price: best-response dynamics that settle post the same price round after round.
        Solved in units of the market's scale (:mod:`units`) and measured back.
        """
        other = max(float(other), 0.0)
        if other not in self._responses:
            r = seller_best_response(self._unit_bidders, PostedRightPrice(other / self.unit))
            self._responses[other] = replace(r, price=r.price * self.unit, revenue=r.revenue * self.unit)
        return self._responses[other]

    def regret(self, seller_price: float, intermediary_price: float) -> tuple[float, float]:
        """How much each side gains by its best deviation to any price (exact best responses)."""
        us, ui = self.payoffs(seller_price, intermediary_price)
        bs = self._best_revenue(float(intermediary_price))
        bi = self._best_revenue(float(seller_price))
        return max(0.0, bs - float(us)), max(0.0, bi - float(ui))

    @lru_cache(maxsize=65536)
    def _best_revenue(self, other: float) -> float:
        return self.best_response(other).revenue


GRID = "grid point"
FIRST_ORDER = "root of both first-order conditions (bracketed)"
FIXED_POINT = "fixed point of exact best responses"


@dataclass(frozen=True)
class PureEquilibrium:
    """A verified pure equilibrium; ``found`` says how, ``largest_regret`` is the larger side's
    gain from its best deviation to any price, relative to that deviation's payoff."""

    seller_price: float
    intermediary_price: float
    seller_revenue: float
    intermediary_revenue: float
    seller_regret: float
    intermediary_regret: float
    found: str = GRID
    largest_regret: float = 0.0


@dataclass(frozen=True)
class MixedEquilibrium:
    """Probabilities over the grid prices (only those in the support) and expected payoffs."""

    seller_strategy: dict[float, float]
    intermediary_strategy: dict[float, float]
    seller_revenue: float
    intermediary_revenue: float
    seller_regret: float
    intermediary_regret: float


@dataclass
class EquilibriumSet:
    """Equilibria found, with how: method, grid, relative regret tolerance, what was rejected."""

    bidders: tuple[str, ...]
    method: str
    grid: dict
    tolerance: float
    equilibria: list = field(default_factory=list)
    no_trade: int = 0
    rejected: int = 0
    failed: int = 0
    refined: int = 0  # clusters of near-best responses refined off the grid
    unrefined: int = 0  # of those, how many led to no verified equilibrium
    continuum: dict | None = None
    seconds: float = 0.0

    def to_dict(self) -> dict:
        d = asdict(self)
        for eq in d["equilibria"]:
            for key in ("seller_strategy", "intermediary_strategy"):
                if key in eq:
                    eq[key] = [[p, q] for p, q in eq[key].items()]
        return d


def price_grid(game: PricingGame, points: int) -> np.ndarray:
    """``points`` equally spaced prices from 0 to the game's upper price (both ends included)."""
    if points < 2:
        raise InputError(f"a price grid needs at least 2 points, got {points}")
    return np.linspace(0.0, game.upper, points)


REGRET_RTOL = 1e-9  # an equilibrium: no deviation gains more than this fraction of its payoff


def acceptable(regret: float, best: float, rtol: float = REGRET_RTOL) -> bool:
    """Regret small relative to what the best deviation earns (payoffs under F_eps,H are ~1e-8)."""
    return regret <= rtol * best if best > 0.0 else regret <= 0.0


def is_equilibrium(game: PricingGame, ps: float, pi: float, rtol: float = REGRET_RTOL) -> bool:
    """Does neither side gain (beyond ``rtol`` of its payoff) by deviating to any price?"""
    us, ui = game.payoffs(ps, pi)
    rs, ri = game.regret(ps, pi)
    return acceptable(rs, float(us) + rs, rtol) and acceptable(ri, float(ui) + ri, rtol)


def _segment_end(game: PricingGame, total: float, inside: float, outside: float) -> float:
    """Bisect between a seller price that is an equilibrium split of ``total`` and one that is not.

    Regret grows quadratically past an end, so the test is strict (1e-13, rounding
    only): the end is then found to about 1e-5 relative.
    """
    for _ in range(80):
        mid = 0.5 * (inside + outside)
        if mid in (inside, outside):
            break
        if is_equilibrium(game, mid, total - mid, rtol=1e-13):
            inside = mid
        else:
            outside = mid
    return inside


def describe_continuum(game: PricingGame, equilibria: Sequence[PureEquilibrium],
                       step: float) -> dict | None:
    """A segment p_s + p_I = c when at least two trading equilibria share one total (Theorem 5.1).

    The segment's ends are refined off the grid by bisection on the exact verifier
    (e.g. eps H and (1 - eps) H in Theorem 5.2, to about 1e-5 relative).
    """
    if len(equilibria) < 2:
        return None
    totals = np.array([e.seller_price + e.intermediary_price for e in equilibria])
    c = float(np.median(totals))
    if np.max(np.abs(totals - c)) > max(2 * step, 1e-9 * max(1.0, c)):
        return None
    ps = sorted(e.seller_price for e in equilibria)
    lo = ps[0] if ps[0] <= 0.0 else _segment_end(game, c, ps[0], max(ps[0] - step, 0.0))
    hi = ps[-1] if ps[-1] >= c else _segment_end(game, c, ps[-1], min(ps[-1] + step, c))
    lo, hi = float(lo), float(hi)
    return {"kind": "segment", "total_price": c, "seller_price": [lo, hi],
            "intermediary_price": [c - hi, c - lo], "grid_points": len(equilibria),
            "description": f"every split p_s + p_I = {c:.6g} with p_s in [{lo:.6g}, {hi:.6g}] is an "
                           "equilibrium (grid points verified; ends refined by bisection)"}


NEAR_STEPS = 2  # a grid best response can sit this many steps from the exact one it stands for


def relative_regret(seller_regret: float, intermediary_regret: float, seller_revenue: float,
                    intermediary_revenue: float) -> float:
    """The larger side's regret relative to what its best deviation earns."""
    def rel(r, u):
        return r / (u + r) if r > 0 else 0.0
    return max(rel(seller_regret, seller_revenue), rel(intermediary_regret, intermediary_revenue))


def verified_equilibrium(game: PricingGame, ps: float, pi: float, found: str) -> PureEquilibrium | None:
    """(ps, pi) as a :class:`PureEquilibrium` if it trades and no deviation to any price gains."""
    us, ui = (float(u) for u in game.payoffs(ps, pi))
    if us + ui <= 0.0:
        return None
    rs, ri = game.regret(ps, pi)
    if not (acceptable(rs, us + rs) and acceptable(ri, ui + ri)):
        return None
    return PureEquilibrium(ps, pi, us, ui, rs, ri, found, relative_regret(rs, ri, us, ui))


def first_order_equilibrium(game: PricingGame, near_total: float, width: float) -> tuple[float, float] | None:
    """The interior equilibrium whose total price lies within ``width`` of ``near_total``.

    Where S(t) = P[max_i v_i >= t] is smooth, both first-order conditions
    S(t) - p_s f(t) = 0 and S(t) - p_I f(t) = 0 hold at t = p_s + p_I, so
    p_s = p_I = t / 2 with t f(t) = 2 S(t) (f the density of the highest value).
    That root is bracketed around the grid's total and found by Brent; None without a sign change
    or where the sign changes across a jump of f (a kink of S: left to the best-response fixed point).
    """
    def gap(t):
        return float(t * game.density(t) - 2.0 * game.law.prob_at_least(t))

    lo, hi = max(near_total - width, 0.0), min(near_total + width, game.upper)
    if not lo < hi:
        return None
    g_lo, g_hi = gap(lo), gap(hi)
    if not np.isfinite(g_lo * g_hi) or g_lo * g_hi >= 0.0:
        return None
    t = brentq(gap, lo, hi, xtol=1e-15 * hi, rtol=4 * np.finfo(float).eps)
    if abs(gap(t)) > 1e-6 * max(abs(g_lo), abs(g_hi)):
        return None  # the sign changes across a jump of the density (a kink of S), not at a root
    return 0.5 * t, 0.5 * t


def best_response_fixed_point(game: PricingGame, ps: float, pi: float,
                              rounds: int = 100) -> tuple[float, float] | None:
    """Alternate exact best responses (seller, then intermediary) from (ps, pi) until they settle.

    Settled means neither price moves by more than 1e-13 of the upper price; None if
    they have not settled within ``rounds`` rounds (a cycle or a slow spiral).
    """
    tol = 1e-13 * game.upper
    for _ in range(rounds):
        new_s = game.best_response(pi).price
        new_i = game.best_response(new_s).price
        settled = abs(new_s - ps) <= tol and abs(new_i - pi) <= tol
        ps, pi = new_s, new_i
        if settled:
            return ps, pi
    return None


def refine(game: PricingGame, ps: float, pi: float, step: float) -> PureEquilibrium | None:
    """An exact equilibrium near the grid candidate (ps, pi): the first-order root, else the fixed point."""
    interior = first_order_equilibrium(game, ps + pi, 2 * (NEAR_STEPS + 2) * step)
    if interior is not None:
        eq = verified_equilibrium(game, *interior, FIRST_ORDER)
        if eq is not None:
            return eq
    settled = best_response_fixed_point(game, ps, pi)
    return verified_equilibrium(game, *settled, FIXED_POINT) if settled is not None else None


def _is_new(eq: PureEquilibrium, known: Sequence[PureEquilibrium], scale: float) -> bool:
    tol = 1e-9 * scale
    return all(abs(eq.seller_price - e.seller_price) > tol or abs(eq.intermediary_price - e.intermediary_price)
               > tol for e in known)


def _walk_to_end(game: PricingGame, total: float, inside: float, step: float, limit: float) -> float:
    """From an equilibrium split ``inside`` of ``total``, gallop towards ``limit`` (steps doubling)
    while splits stay equilibria, then bisect the last gap (:func:`_segment_end`)."""
    sign = 1.0 if limit > inside else -1.0
    while inside != limit:
        nxt = inside + sign * step
        nxt = limit if (nxt - limit) * sign >= 0 else nxt
        if not is_equilibrium(game, nxt, total - nxt):
            return _segment_end(game, total, inside, nxt)
        inside, step = nxt, 2 * step
    return inside


def segment_through(game: PricingGame, eq: PureEquilibrium, step: float) -> dict | None:
    """The segment of equilibrium splits of eq's total through ``eq``, if its neighbours one grid step
    along p_s + p_I = c (or 1e-3 c if shorter) are equilibria too (a kink continuum off the grid,
    as in Theorem 5.1)."""
    c, x = eq.seller_price + eq.intermediary_price, eq.seller_price
    step = min(step, 1e-3 * c)  # a segment can be shorter than a grid step (Pareto tails: grid steps ~ c)
    if not any(0.0 <= y <= c and is_equilibrium(game, y, c - y) for y in (x - step, x + step)):
        return None
    lo, hi = float(_walk_to_end(game, c, x, step, 0.0)), float(_walk_to_end(game, c, x, step, c))
    return {"kind": "segment", "total_price": c, "seller_price": [lo, hi],
            "intermediary_price": [c - hi, c - lo], "grid_points": 0,
            "description": f"every split p_s + p_I = {c:.6g} with p_s in [{lo:.6g}, {hi:.6g}] is an "
                           "equilibrium (walked from an off-grid equilibrium; ends refined by bisection)"}


def pure_equilibria(game: PricingGame, points: int = 1001, verify: bool = True) -> EquilibriumSet:
    """Pure equilibria on a ``points`` x ``points`` grid and off it, each re-checked against any deviation.

    Mutual grid best responses are found with whole-matrix maxima; the sale
    probability is computed once per total price (index i + j), so a 1001 x 1001
    grid costs 2001 evaluations. Equilibria where no trade is possible whatever
    either side does (both prices at the top of the support) are counted, not listed.
    With ``verify``, each cluster of mutual near-best responses (each side within
    NEAR_STEPS grid steps of a grid best response) that holds no verified grid
    equilibrium is refined off the grid (:func:`refine`) and the result verified.
    """
    start = time.perf_counter()
    grid = price_grid(game, points)
    step = grid[-1] / (points - 1)
    with np.errstate(over="ignore"):  # totals past the largest float: no sale
        totals = step * np.arange(2 * points - 1)
    totals[points - 1] = grid[-1]
    sale = game.sale(totals)
    idx = np.add.outer(np.arange(points), np.arange(points))
    A = grid[:, None] * sale[idx]  # seller's payoff, rows = seller price
    B = grid[None, :] * sale[idx]  # intermediary's payoff, columns = intermediary price
    best_s, best_i = A.max(axis=0, keepdims=True), B.max(axis=1, keepdims=True)
    is_best_s, is_best_i = A >= best_s * (1 - REGRET_RTOL), B >= best_i * (1 - REGRET_RTOL)
    mutual = is_best_s & is_best_i
    out = EquilibriumSet(game.specs, "grid best responses (vectorized), clusters of near-best responses "
                         "refined off the grid, each verified by exact best responses over all prices"
                         if verify else "grid best responses",
                         {"points": points, "low": 0.0, "high": float(grid[-1])}, REGRET_RTOL)
    settled = np.zeros_like(mutual)  # verified grid equilibria and no-trade points: nothing to refine
    for i, j in np.argwhere(mutual):
        ps, pi = float(grid[i]), float(grid[j])
        if sale[i + j] == 0.0 and A[:, j].max() == 0.0 and B[i, :].max() == 0.0:
            out.no_trade += 1
            settled[i, j] = True
            continue
        rs, ri = game.regret(ps, pi) if verify else (0.0, 0.0)
        us, ui = float(A[i, j]), float(B[i, j])
        if not (acceptable(rs, us + rs) and acceptable(ri, ui + ri)):
            out.rejected += 1
            continue
        settled[i, j] = True
        out.equilibria.append(PureEquilibrium(ps, pi, us, ui, rs, ri, GRID, relative_regret(rs, ri, us, ui)))
    grid_found = list(out.equilibria)
    if verify:
        near = binary_dilation(is_best_s, np.ones((2 * NEAR_STEPS + 1, 1), bool)) \
            & binary_dilation(is_best_i, np.ones((1, 2 * NEAR_STEPS + 1), bool))
        clusters, count = label(near | mutual, np.ones((3, 3), bool))
        done = set(np.unique(clusters[settled]).tolist())
        grid_regret = np.maximum(1.0 - A / np.maximum(best_s, 1e-300), 1.0 - B / np.maximum(best_i, 1e-300))
        for k in range(1, count + 1):
            if k in done:
                continue
            members = np.argwhere(clusters == k)
            i, j = members[np.argmin(grid_regret[members[:, 0], members[:, 1]])]
            eq = refine(game, float(grid[i]), float(grid[j]), step)
            out.refined += 1
            if eq is None:
                out.unrefined += 1
            elif _is_new(eq, out.equilibria, float(grid[-1])):
                out.equilibria.append(eq)
    out.continuum = describe_continuum(game, grid_found, step) if verify else None
    for eq in out.equilibria[len(grid_found):]:
        if out.continuum is None:
            out.continuum = segment_through(game, eq, step)
    out.seconds = time.perf_counter() - start
    return out


def grid_game(game: PricingGame, points: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The discretized game: price grid and the two payoff matrices."""
    grid = price_grid(game, points)
    A, B = game.payoffs(grid[:, None], grid[None, :])
    return grid, A, B


def mixed_regret(A: np.ndarray, B: np.ndarray, x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Each player's gain from its best pure deviation in the discretized game (our own check)."""
    return float(np.max(A @ y) - x @ A @ y), float(np.max(x @ B) - x @ B @ y)


def lemke_howson(A: np.ndarray, B: np.ndarray, label: int, max_pivots: int) -> tuple | None:
    """nashpy's Lemke-Howson path from ``label``, stopped after ``max_pivots`` pivots.

    The same tableaux and pivoting as ``nashpy.Game.lemke_howson``, with a bound:
    on the degenerate, badly scaled games a price grid produces (F_eps,H puts payoffs
    of 1e-8 beside payoffs of 1) a path can cycle or fail; it then returns None.
    """
    col, row = create_col_tableau(A, True), create_row_tableau(B, True)
    order = cycle((row, col)) if label in row.non_basic_variables else cycle((col, row))
    entering, full = label, col.labels
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for _ in range(max_pivots):
            try:
                entering = next(order).pivot_and_drop_label(entering)
            except ValueError:
                return None
            if col.non_basic_variables.union(row.non_basic_variables) == full:
                x = row.to_strategy(col.non_basic_variables)
                y = col.to_strategy(row.non_basic_variables)
                return x, y
    return None


def mixed_equilibria(game: PricingGame, points: int = 21, method: str = "lemke-howson",
                     max_pivots: int = 2000) -> EquilibriumSet:
    """Equilibria of the ``points`` x ``points`` discretized game with nashpy, each re-checked.

    ``method``: "lemke-howson" (one path per initial label, at most ``max_pivots``
    pivots each) or "vertex" (nashpy's vertex enumeration: every extreme
    equilibrium of a nondegenerate game, exponential in ``points``; for small grids).
    Payoffs are scaled to a maximum of 1 first (equilibria do not change). Paths that
    fail are counted in ``failed``; every equilibrium kept passes our own regret check.
    """
    if method not in ("lemke-howson", "vertex"):
        raise InputError(f"unknown method {method!r}; accepted: lemke-howson, vertex")
    start = time.perf_counter()
    grid, A, B = grid_game(game, points)
    An, Bn = A / max(A.max(), 1e-300), B / max(B.max(), 1e-300)
    if method == "vertex":
        found = list(nashpy.Game(An, Bn).vertex_enumeration())
        failed = 0
    else:
        paths = [lemke_howson(An, Bn, k, max_pivots) for k in range(2 * points)]
        found = [p for p in paths if p is not None]
        failed = len(paths) - len(found)
    out = EquilibriumSet(game.specs, f"nashpy {method} on the discretized game (payoffs scaled to 1), "
                         "each re-checked by our regret computation",
                         {"points": points, "low": 0.0, "high": float(grid[-1])}, REGRET_RTOL)
    out.failed = failed
    seen = set()
    for x, y in found:
        x, y = np.asarray(x, float), np.asarray(y, float)
        if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))) or x.shape != (points,) \
                or y.shape != (points,):
            out.rejected += 1
            continue
        rs, ri = mixed_regret(A, B, x, y)
        if not (acceptable(rs, float(np.max(A @ y))) and acceptable(ri, float(np.max(x @ B)))):
            out.rejected += 1
            continue
        key = (tuple(np.round(x, 9)), tuple(np.round(y, 9)))
        if key in seen:
            continue
        seen.add(key)
        out.equilibria.append(MixedEquilibrium(
            {float(grid[k]): float(x[k]) for k in np.flatnonzero(x > 1e-12)},
            {float(grid[k]): float(y[k]) for k in np.flatnonzero(y > 1e-12)},
            float(x @ A @ y), float(x @ B @ y), rs, ri))
    out.seconds = time.perf_counter() - start
    return out
