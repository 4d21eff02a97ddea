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
from agora.market.single_item.intermediary_first import best_response_candidates, seller_best_response
from agora.market.single_item.right_auctions import PostedRightPrice
from agora.market.single_item.scores import MaxScoreLaw, ValueScore
from agora.market.single_item.seller_first import PriceOptimum, maximize_price_revenue
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
    """Probabilities over the grid prices (only those in the support) and expected payoffs.

    ``*_regret``: the gain from the best deviation to a grid price; ``*_continuous_regret``: the
    gain from the best deviation to any price (at ``*_best_price``), never below the grid's;
    ``largest_regret``: the larger side's continuous regret relative to that deviation's payoff;
    ``continuous``: whether that is within the tolerance (an equilibrium of the continuous game).
    """

    seller_strategy: dict[float, float]
    intermediary_strategy: dict[float, float]
    seller_revenue: float
    intermediary_revenue: float
    seller_regret: float
    intermediary_regret: float
    seller_continuous_regret: float
    intermediary_continuous_regret: float
    seller_best_price: float
    intermediary_best_price: float
    largest_regret: float
    continuous: bool


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


def grid_game(game: PricingGame, points: int, adapted: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The discretized game: price grid (even, or :func:`adapted_price_grid`) and the two payoff matrices."""
    grid = adapted_price_grid(game, points) if adapted else price_grid(game, points)
    A, B = game.payoffs(grid[:, None], grid[None, :])
    return grid, A, B


WIDE_SUPPORT = 50.0  # upper price / median value beyond which an adapted grid is log-spaced
PURE_POINTS = 201  # grid of the pure-equilibrium search that seeds an adapted grid


def _spread(game: PricingGame, points: int, log: bool) -> np.ndarray:
    """0 and ``points - 1`` prices up to the upper price: log-spaced from the lowest bidder's
    1e-3 quantile (``log``), else evenly spaced."""
    if not log:
        return np.linspace(0.0, game.upper, points)
    low = min(float(b.ppf(1e-3)) for b in game.bidders)
    low = low if 0.0 < low < game.upper else 1e-9 * game.upper
    return np.concatenate(([0.0], np.geomspace(low, game.upper, max(points - 1, 1))))


def _quantiles(game: PricingGame, count: int, log: bool) -> np.ndarray:
    """Each bidder's values at ``count`` levels: survival levels geometric from 1/2 down to 1e-12
    (``log``: heavy tails reach their cap), else evenly spaced levels."""
    out = []
    for b in game.bidders:
        if log:
            out.append(b.isf(np.geomspace(0.5, 1e-12, count)))
        else:
            out.append(b.ppf(np.linspace(0.0, 1.0, count + 2)[1:-1] * (1.0 - b.atom)))
    q = np.concatenate(out)
    return q[np.isfinite(q) & (q >= 0.0) & (q <= game.upper)]


def _pure_prices(game: PricingGame, found: EquilibriumSet, count: int) -> list[float]:
    """Prices of the pure equilibria found: a continuum's ends (Theorem 5.2: eps H and (1 - eps) H)
    and total, else each isolated equilibrium's two prices (at most ``count``)."""
    if found.continuum is not None:
        c = found.continuum
        return [*c["seller_price"], *c["intermediary_price"], c["total_price"]]
    prices = [p for e in found.equilibria for p in (e.seller_price, e.intermediary_price)]
    return prices[:count]


def _take(chosen: list[float], candidates, points: int, scale: float) -> None:
    """Append candidates in order, dropping near-duplicates (1e-9 relative), until ``points`` are chosen."""
    for c in np.asarray(candidates, float).ravel():
        if len(chosen) >= points:
            return
        if all(abs(c - x) > 1e-9 * max(abs(c), abs(x), 1e-12 * scale) for x in chosen):
            chosen.append(float(c))


def _fill_gaps(chosen: list[float], points: int, log: bool, scale: float) -> None:
    """Split the widest gap between chosen prices (by ratio when ``log``, above 0) until ``points``."""
    while len(chosen) < points:
        g = np.sort(np.array(chosen))
        lo, hi = g[:-1], g[1:]
        with np.errstate(divide="ignore"):
            width = np.where(log & (lo > 0), np.log(hi / np.where(lo > 0, lo, 1.0)), (hi - lo) / scale)
        k = int(np.argmax(width))
        mid = math.sqrt(lo[k] * hi[k]) if log and lo[k] > 0 else 0.5 * (lo[k] + hi[k])
        before = len(chosen)
        _take(chosen, [mid], points, scale)
        if len(chosen) == before:
            return


def adapted_price_grid(game: PricingGame, points: int, found: EquilibriumSet | None = None) -> np.ndarray:
    """At most ``points`` sorted prices placed where the game's best responses lie.

    In order of priority: 0 and the upper price; the pure equilibria ``found`` (by default
    :func:`pure_equilibria` on a PURE_POINTS grid), e.g. under F_eps,H the ends eps H and
    (1 - eps) H of the continuum p_s + p_I = H (Theorem 5.2); each side's exact best response
    to a coarse grid of points // 3 prices (under F_eps,H: p (1 - eps) / eps, 1 - p and H - p,
    Lemma 3.3); points // 4 quantiles of each bidder's law; then a base grid filling what is
    left, and the widest gaps split until there are ``points``. Coarse grid, quantiles and base
    are log-spaced when the upper price exceeds
    WIDE_SUPPORT times the highest median value (heavy tails, wide supports), else even.
    """
    if points < 2:
        raise InputError(f"a price grid needs at least 2 points, got {points}")
    upper = game.upper
    log = upper > WIDE_SUPPORT * max(float(b.isf(0.5)) for b in game.bidders)
    found = pure_equilibria(game, PURE_POINTS) if found is None else found
    coarse = _spread(game, max(points // 3, 2), log)
    responses = [game.best_response(float(q)).price for q in coarse]
    chosen: list[float] = []
    for group in ([0.0, upper], _pure_prices(game, found, points // 4), responses,
                  _quantiles(game, max(points // 4, 1), log)):
        _take(chosen, np.clip(np.asarray(group, float), 0.0, upper), points, upper)
    required = list(chosen)
    for size in range(points - len(required) + 2, 2 * points + 2):
        trial = list(required)
        _take(trial, _spread(game, size, log), points + 1, upper)
        if len(trial) > points:
            break
        chosen = trial
    _fill_gaps(chosen, points, log, upper)
    return np.sort(np.array(chosen))


def best_response_to_mixed(game: PricingGame, prices, probs) -> PriceOptimum:
    """The best price against the other side's mixed price (q_j with probability y_j), over all prices.

    argmax_p p sum_j y_j S(p + q_j), S the sale probability of :meth:`PricingGame.sale` (the game
    is symmetric: the same for either side). The candidates are those of the exact best response
    to each posted price q_j for the right (Theorem 4.1: probe values, atoms and first-order prices
    shifted by q_j) and each q_j's exact best response; the best is refined by bounded Brent
    (:func:`maximize_price_revenue`). Solved in units of the market's scale.
    """
    unit = game.unit
    q = np.asarray(prices, float) / unit
    y = np.asarray(probs, float)
    q, y = q[y > 0], y[y > 0]

    def prob(p):
        p = np.asarray(p, float)
        return sum(w * game.sale((p + qj) * unit) for qj, w in zip(q, y))

    cands = [best_response_candidates(game.unit_bidders, PostedRightPrice(float(qj))) for qj in q]
    cands.append(np.array([game.best_response(qj * unit).price / unit for qj in q]))
    r = maximize_price_revenue(prob, np.concatenate(cands))
    return replace(r, price=r.price * unit, revenue=r.revenue * unit)


def mixed_regret(A: np.ndarray, B: np.ndarray, x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Each player's gain from its best pure deviation in the discretized game (our own check)."""
    return float(np.max(A @ y) - x @ A @ y), float(np.max(x @ B) - x @ B @ y)


def lemke_howson(A: np.ndarray, B: np.ndarray, label: int, max_pivots: int) -> tuple | None:
    """nashpy's Lemke-Howson path from ``label``, stopped after ``max_pivots`` pivots.

    The same tableaux and pivoting as ``nashpy.Game.lemke_howson``, with a bound:
    on the degenerate, badly scaled games a price grid produces (F_eps,H puts payoffs
    of 1e-8 beside payoffs of 1) a path can cycle or fail; it then returns None, as soon
    as a pivot repeats a state (both bases and the entering label) already visited.
    """
    col, row = create_col_tableau(A, True), create_row_tableau(B, True)
    order = cycle((row, col)) if label in row.non_basic_variables else cycle((col, row))
    entering, full = label, col.labels
    visited = set()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for k in range(max_pivots):
            state = (k % 2, entering, frozenset(col.non_basic_variables), frozenset(row.non_basic_variables))
            if state in visited:
                return None
            visited.add(state)
            try:
                entering = next(order).pivot_and_drop_label(entering)
            except ValueError:
                return None
            if col.non_basic_variables.union(row.non_basic_variables) == full:
                x = row.to_strategy(col.non_basic_variables)
                y = col.to_strategy(row.non_basic_variables)
                return x, y
    return None


def continuous_regret(game: PricingGame, grid: np.ndarray, A: np.ndarray, B: np.ndarray,
                      x: np.ndarray, y: np.ndarray) -> tuple[PriceOptimum, PriceOptimum]:
    """Each side's best reply to the other's mixed strategy over all prices
    (:func:`best_response_to_mixed`), its revenue never below the best grid reply's."""
    rs, ri = best_response_to_mixed(game, grid, y), best_response_to_mixed(game, grid, x)
    gs, gi = A @ y, x @ B
    if gs.max() > rs.revenue:
        rs = replace(rs, price=float(grid[np.argmax(gs)]), revenue=float(gs.max()))
    if gi.max() > ri.revenue:
        ri = replace(ri, price=float(grid[np.argmax(gi)]), revenue=float(gi.max()))
    return rs, ri


def _verified_mixed(game: PricingGame, grid: np.ndarray, A: np.ndarray, B: np.ndarray,
                    x: np.ndarray, y: np.ndarray) -> MixedEquilibrium:
    us, ui = float(x @ A @ y), float(x @ B @ y)
    gs, gi = mixed_regret(A, B, x, y)
    bs, bi = continuous_regret(game, grid, A, B, x, y)
    cs, ci = max(bs.revenue - us, gs, 0.0), max(bi.revenue - ui, gi, 0.0)
    return MixedEquilibrium(
        {float(grid[k]): float(x[k]) for k in np.flatnonzero(x > 1e-12)},
        {float(grid[k]): float(y[k]) for k in np.flatnonzero(y > 1e-12)},
        us, ui, gs, gi, cs, ci, bs.price, bi.price, relative_regret(cs, ci, us, ui),
        acceptable(cs, us + cs) and acceptable(ci, ui + ci))


def mixed_equilibria(game: PricingGame, points: int = 21, method: str = "lemke-howson",
                     max_pivots: int = 2000, adapted: bool = True,
                     found: EquilibriumSet | None = None) -> EquilibriumSet:
    """Equilibria of the ``points`` x ``points`` discretized game with nashpy, each re-checked.

    The grid is :func:`adapted_price_grid` (``adapted``, seeded with the pure equilibria
    ``found`` if given) or evenly spaced. ``method``:
    "lemke-howson" (one path per initial label, at most ``max_pivots``
    pivots each) or "vertex" (nashpy's vertex enumeration: every extreme
    equilibrium of a nondegenerate game, exponential in ``points``; for small grids).
    Payoffs are scaled to a maximum of 1 first (equilibria do not change). Paths that
    fail are counted in ``failed``; every equilibrium kept passes our own regret check on
    the grid, and reports its regret in the continuous game (deviations to any price).
    """
    if method not in ("lemke-howson", "vertex"):
        raise InputError(f"unknown method {method!r}; accepted: lemke-howson, vertex")
    start = time.perf_counter()
    grid = adapted_price_grid(game, points, found) if adapted else price_grid(game, points)
    A, B = game.payoffs(grid[:, None], grid[None, :])
    points = grid.size
    An, Bn = A / max(A.max(), 1e-300), B / max(B.max(), 1e-300)
    if method == "vertex":
        with warnings.catch_warnings():  # qhull's halfspaces at zero payoffs (price 0, no sale)
            warnings.simplefilter("ignore", RuntimeWarning)
            found = list(nashpy.Game(An, Bn).vertex_enumeration())
        failed = 0
    else:
        paths = [lemke_howson(An, Bn, k, max_pivots) for k in range(2 * points)]
        found = [p for p in paths if p is not None]
        failed = len(paths) - len(found)
    out = EquilibriumSet(game.specs, f"nashpy {method} on the discretized game (payoffs scaled to 1), "
                         "each re-checked by our regret computation on the grid, its regret against "
                         "every price reported",
                         {"points": points, "low": 0.0, "high": float(grid[-1]),
                          "kind": "adapted" if adapted else "even", "prices": grid.tolist()}, REGRET_RTOL)
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
        out.equilibria.append(_verified_mixed(game, grid, A, B, x, y))
    out.seconds = time.perf_counter() - start
    return out
