"""Seller-first Stackelberg play (monopolist-intermediary, Section 3).

The seller commits to a mechanism; by Theorem 2.3 it acts as a posted price p.
The intermediary best-responds with the shifted Myerson auction (Theorem 3.1),
so the seller earns S(p) = p P[Phi >= p] and picks the p maximizing it; by
Theorem 3.9 no randomized menu does better. :func:`solve_seller_first` finds
that price and reports every party's revenue with how it was computed.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from functools import lru_cache

import numpy as np
from scipy.optimize import differential_evolution, minimize_scalar

from agora.market.distributions import ValueDistribution
from agora.market.errors import InputError
from agora.market.single_item.intermediary_mechanisms import ShiftedMyerson
from agora.market.single_item.polish import polish_maximum
from agora.market.single_item.seller_mechanisms import DeterministicMechanism, Menu
from agora.market.single_item.units import in_units
from agora.market.single_item.virtual_law import (
    CHECKED_QUADRATURE,
    QuadratureError,
    VirtualMaxLaw,
    evaluate_menu,
    menu_seller_revenue,
)

QUANTILES_PER_BIDDER = 257
MAX_CANDIDATES = 6000


@dataclass(frozen=True)
class PriceOptimum:
    """The best price found for a revenue curve p * q(p), and how it was found."""

    price: float
    revenue: float
    candidates: int
    method: str


def distinct(points: np.ndarray, rtol: float = 1e-9) -> np.ndarray:
    """Sorted points with near-duplicates (within rtol) dropped, so neighbours bracket something."""
    points = np.unique(points)
    if points.size < 2:
        return points
    gap = np.diff(points) > rtol * np.maximum(1.0, np.abs(points[1:]))
    return points[np.concatenate(([True], gap))]


NEAR_PEAK = 1e-4  # scanned local maxima within this (relative) of the best scanned revenue are each refined
MAX_PEAKS = 4


def _peaks(rev: np.ndarray) -> list[int]:
    """The best scanned index, then the scan's other local maxima within NEAR_PEAK of it (highest first).

    Two peaks of p * prob(p) can be closer than the scan resolves between candidates (a
    seller choosing between two bidders' monopoly prices near a tie), so each is refined.
    """
    best = int(np.argmax(rev))
    top = rev[best]
    if not np.isfinite(top) or rev.size < 3:
        return [best]
    left = np.concatenate(([-np.inf], rev[:-1]))
    right = np.concatenate((rev[1:], [-np.inf]))
    near = np.flatnonzero((rev >= left) & (rev > right) & (rev >= top - NEAR_PEAK * abs(top)))
    others = [int(i) for i in near[np.argsort(-rev[near], kind="stable")] if i != best]
    return [best, *others[:MAX_PEAKS - 1]]


SCAN_BLOCK = 64  # candidates per block of the first pass of a scan of a nonincreasing prob
SCAN_SPLIT = 8  # parts a block that may hold a near-best candidate is cut into, level by level
SCAN_PRUNED = 4096  # fewer candidates are scanned in full (one call costs less than the levels' overhead)


def _scan_nonincreasing(prob: Callable[[np.ndarray], np.ndarray], c: np.ndarray) -> np.ndarray:
    """c * prob(c) at every sorted candidate that can be within NEAR_PEAK of the best, -inf at the others.

    prob is nonincreasing, so between evaluated candidates c_a < c_b every candidate's revenue is at most
    c_b prob(c_a). Every SCAN_BLOCK-th candidate is evaluated first; a block whose bound stays below
    (1 - NEAR_PEAK) of the best revenue evaluated so far is left out (with a margin of 1e-12 for
    rounding), the others are cut into SCAN_SPLIT parts, down to single candidates. The best candidate
    and every near-best local maximum, with their neighbours' comparisons, are what a full scan gives
    (:func:`_peaks`: a left-out candidate is below every near-best one).
    """
    q = np.full(c.size, np.nan)
    idx = np.unique(np.append(np.arange(0, c.size, SCAN_BLOCK), c.size - 1))
    stride = SCAN_BLOCK
    while True:
        if idx.size:
            q[idx] = prob(c[idx])
            if not np.all(np.isfinite(q[idx])):
                return c * prob(c)
        if stride == 1:
            break
        known = np.flatnonzero(~np.isnan(q))
        floor = np.max(c[known] * q[known]) * (1.0 - NEAR_PEAK) * (1.0 - 1e-12)
        a, b = known[:-1], known[1:]
        live = (b - a > 1) & (c[b] * q[a] >= floor)
        stride = max(stride // SCAN_SPLIT, 1)
        idx = (a[live, None] + np.arange(stride, SCAN_BLOCK, stride)[None]).ravel()
        idx = idx[idx < np.repeat(b[live], (SCAN_BLOCK - 1) // stride)]
    rev = c * q
    return np.where(np.isnan(rev), -np.inf, rev)


def maximize_price_revenue(prob: Callable[[np.ndarray], np.ndarray],
                           candidates: np.ndarray, xatol: float = 1e-13, polish: bool = True,
                           nonincreasing: bool = False) -> PriceOptimum:
    """Maximize p * prob(p) over p >= 0.

    A grid of candidate prices (which must contain every point where prob
    jumps, since prob is left-continuous and the optimum can sit on a jump)
    is scanned, then bounded Brent refines between the best point's neighbours
    to ``xatol`` (relative to the larger neighbour, at least 1), and likewise around
    any other scanned peak within NEAR_PEAK of it (:func:`_peaks`), the best kept;
    then :func:`polish_maximum` if asked. ``nonincreasing`` (a sale probability): the scan leaves out
    candidates that cannot be near the best (:func:`_scan_nonincreasing`), with the same outcome.
    """
    c = distinct(np.asarray(candidates, float))
    c = c[np.isfinite(c) & (c >= 0.0)]
    if c.size == 0:
        return PriceOptimum(0.0, 0.0, 0, "no positive candidate price")
    rev = _scan_nonincreasing(prob, c) if nonincreasing and c.size > SCAN_PRUNED else c * prob(c)
    peaks = _peaks(rev)
    best_p, best_r = float(c[peaks[0]]), float(rev[peaks[0]])
    for k in peaks:
        lo, hi = c[max(k - 1, 0)], c[min(k + 1, c.size - 1)]
        if hi > lo:
            with np.errstate(over="ignore", invalid="ignore"):  # Brent's parabola steps on huge ranges
                res = minimize_scalar(lambda p: -float(p * prob(np.array(p))), bounds=(lo, hi),
                                      method="bounded", options={"xatol": xatol * max(1.0, hi)})
            if -res.fun > best_r:
                best_p, best_r = float(res.x), float(-res.fun)
    if polish:
        best_p = polish_maximum(lambda p: float(p * prob(np.array(p))), best_p)
    best_r = float(best_p * prob(np.array(best_p)))
    return PriceOptimum(best_p, best_r, int(c.size),
                        f"scan of {c.size} candidate prices, bounded Brent between neighbours of each "
                        "near-best peak, then Newton steps on the five-point stencil")


def _thin(points: np.ndarray, keep: Sequence[float]) -> np.ndarray:
    points = np.unique(points)
    if points.size > MAX_CANDIDATES:
        points = points[np.linspace(0, points.size - 1, MAX_CANDIDATES).astype(int)]
    return np.union1d(points, np.asarray(keep, float))


@lru_cache(maxsize=1024)
def probe_values(b: ValueDistribution, points: int = QUANTILES_PER_BIDDER) -> np.ndarray:
    """Values worth probing: quantiles on an even grid and deep into the tail (to 1e-300).

    The tail probes matter for heavy tails, where a best price can sit far beyond
    any even quantile (F_0.01,H: the seller's answer to a price q is about 99 q).
    Tabulated once per law (a bilevel search asks for them at every parameter), read-only.
    """
    even = b.ppf(np.linspace(0.0, 1.0, points)[:-1] * (1.0 - b.atom))
    probes = np.union1d(even, b.isf(np.geomspace(0.1, 1e-300, 600)))
    probes.flags.writeable = False
    return probes


def virtual_candidates(law: VirtualMaxLaw) -> np.ndarray:
    """Prices worth scanning: each bidder's phi at its probe values, breakpoints and atoms."""
    pts = [b.virtual_value(probe_values(b)) for b in law.bidders]
    return _thin(np.concatenate(pts + [np.array(law.breakpoints)]), (0.0, *law.atoms))


def value_candidates(bidders: Sequence[ValueDistribution]) -> np.ndarray:
    """Prices worth scanning for a plain posted price: probe values and atoms."""
    return _thin(np.concatenate([probe_values(b) for b in bidders]), [b.hi for b in bidders if b.atom > 0])


def best_seller_price(law: VirtualMaxLaw) -> PriceOptimum:
    """argmax_p p P[Phi >= p]: the seller's Stackelberg price (Theorems 2.3, 3.1)."""
    return maximize_price_revenue(law.prob_at_least, virtual_candidates(law), nonincreasing=True)


def best_anonymous_price(bidders: Sequence[ValueDistribution]) -> PriceOptimum:
    """AP: the best anonymous posted price with no intermediary, max_p p P[max_i v_i >= p]."""

    def prob_any(p):
        none = np.ones(np.shape(p))
        for b in bidders:
            none = none * (1.0 - b.prob_at_least(p))
        return 1.0 - none

    return maximize_price_revenue(prob_any, value_candidates(bidders), nonincreasing=True)


def intermediary_best_response(bidders: Sequence[ValueDistribution],
                               seller: DeterministicMechanism | Menu) -> ShiftedMyerson:
    """The shifted Myerson auction against a seller mechanism (Theorems 2.3, 3.1) or menu (Lemma 3.10)."""
    menu = seller if isinstance(seller, Menu) else seller.menu()
    return ShiftedMyerson(tuple(bidders), menu)


@dataclass(frozen=True)
class SellerFirstSolution:
    """The seller-first Stackelberg outcome, with how it was computed."""

    bidders: tuple[str, ...]
    seller_price: float
    seller_revenue: float
    intermediary_revenue: float
    no_intermediary_optimal_revenue: float
    sale_probability: float
    reserves: tuple[float, ...]
    welfare: float
    regularity: tuple[str, ...]
    method: str
    quadrature_error: float

    @property
    def total_revenue(self) -> float:
        return self.seller_revenue + self.intermediary_revenue

    def in_unit(self, unit: float, bidders: tuple[str, ...]) -> SellerFirstSolution:
        """This solution of the market measured in ``unit``, for the market itself (values times unit)."""
        money = ("seller_price", "seller_revenue", "intermediary_revenue", "no_intermediary_optimal_revenue",
                 "welfare", "quadrature_error")
        return replace(self, bidders=bidders, reserves=tuple(r * unit for r in self.reserves),
                       method=f"{self.method}; solved in units of {unit:g}",
                       **{k: getattr(self, k) * unit for k in money})

    def to_dict(self) -> dict:
        """JSON-ready: unreachable reserves (inf) become None."""
        d = asdict(self)
        d["reserves"] = [r if math.isfinite(r) else None for r in self.reserves]
        d["total_revenue"] = self.total_revenue
        d["seller_share_of_opt"] = self.seller_revenue / self.no_intermediary_optimal_revenue \
            if self.no_intermediary_optimal_revenue > 0 else None
        return d


def evaluate_posted_price(law: VirtualMaxLaw, price: float, method: str = "given price"
                          ) -> SellerFirstSolution:
    """Every party's expected outcome when the seller posts ``price`` (exact).

    ``quadrature_error`` bounds the quadratures' error by comparing two independent rules
    (tanh-sinh and Gauss-Kronrod, :func:`virtual_law.integrate_pieces`).
    """
    menu = Menu.posted(price)
    ev = evaluate_menu(law, menu)
    opt = law.tail_integral(0.0, checked=True)
    return SellerFirstSolution(
        bidders=law.specs,
        seller_price=float(price),
        seller_revenue=ev.seller_revenue,
        intermediary_revenue=ev.intermediary_revenue,
        no_intermediary_optimal_revenue=opt.value,
        sale_probability=ev.sale_probability,
        reserves=tuple(float(b.virtual_threshold(price)) for b in law.bidders),
        welfare=ev.welfare,
        regularity=tuple(b.regularity.label for b in law.bidders),
        method=f"{method}; {CHECKED_QUADRATURE}",
        quadrature_error=ev.quadrature_error + opt.error,
    )


def solve_seller_first(bidders: Sequence[ValueDistribution | str]) -> SellerFirstSolution:
    """Seller-first equilibrium: the best posted price against the shifted Myerson auction.

    Solved in units of the market's scale (:mod:`units`), so that a market with every
    value times c gives every price and revenue times c.
    """
    law = VirtualMaxLaw.of(bidders)
    unit, laws = in_units(law.bidders)
    unit_law = law if unit == 1.0 else VirtualMaxLaw(laws)
    try:
        best = best_seller_price(unit_law)
        sol = evaluate_posted_price(unit_law, best.price, method=f"seller price: {best.method}")
    except QuadratureError as err:
        raise InputError(f"cannot integrate the market {', '.join(law.specs)} in floating point: {err}") from None
    return sol if unit == 1.0 else sol.in_unit(unit, law.specs)


def strong_regularity_constant(alpha: float) -> float:
    """c_alpha = alpha^(1/(1-alpha)) for alpha in (0, 1), 1/e at alpha = 1.

    The bound P[V >= phi^-1(x)] >= c_alpha P[V >= x] of Corollary D.3 (from
    Lemma D.2's P[V >= monopoly price] >= c_alpha); the constant is lost in the
    paper's text and reconstructed in FORMULAS.md.
    """
    if not 0.0 < alpha <= 1.0:
        raise ValueError(f"c_alpha needs 0 < alpha <= 1, got {alpha}")
    return 1.0 / math.e if alpha == 1.0 else alpha ** (1.0 / (1.0 - alpha))


ANONYMOUS_PRICING_IDENTICAL = math.e  # OPT / AP for identical regular bidders (Theorem D.5)
ANONYMOUS_PRICING_NONIDENTICAL = 2.6202  # C*: OPT / AP for non-identical regular bidders (Theorem D.6), rounded up


def seller_first_guarantee(alpha: float, identical: bool) -> float:
    """Theorem 3.7: the best anonymous price earns at least this fraction of OPT.

    Lemma 3.8 gives Rev_S >= c_alpha AP; anonymous pricing loses at most a factor
    e (identical) or C* = 2.6202 (non-identical) against Myerson.
    """
    ratio = ANONYMOUS_PRICING_IDENTICAL if identical else ANONYMOUS_PRICING_NONIDENTICAL
    return strong_regularity_constant(alpha) / ratio


@dataclass(frozen=True)
class MenuSearch:
    """The best menu with ``options`` options found by differential evolution."""

    menu: Menu
    seller_revenue: float
    generations: int
    method: str


def search_best_menu(law: VirtualMaxLaw, options: int, seed: int = 0,
                     max_price: float | None = None) -> MenuSearch:
    """Look hard for a randomized menu that beats the best posted price (Theorem 3.9 says none does).

    Differential evolution (scipy) over probabilities in [0.01, 1] and prices in
    [0, max_price], maximizing the exact seller revenue of Lemma 3.10. Each
    generation is scored at once: one P[Phi >= t] call for every region boundary.
    """
    top = max_price if max_price is not None else float(virtual_candidates(law).max())
    bounds = [(0.01, 1.0), (0.0, top)] * options

    def population_loss(z):
        menus = [Menu.of(zip(col[0::2], col[1::2])) for col in np.atleast_2d(z.T)]
        cuts = np.array([t for m in menus for r in m.regions for t in (r.start, r.end)])
        tail = iter(np.where(np.isfinite(cuts), law.prob_at_least(np.where(np.isfinite(cuts), cuts, 0.0)), 0.0))
        losses = []
        for m in menus:
            rev = 0.0
            for r in m.regions:
                o = m.options[r.option]
                rev += o.probability * o.price * (next(tail) - next(tail))
            losses.append(-rev)
        return np.array(losses)

    res = differential_evolution(population_loss, bounds, seed=seed, tol=1e-10, maxiter=300,
                                 vectorized=True, updating="deferred", polish=False)
    menu = Menu.of(zip(res.x[0::2], res.x[1::2]))
    return MenuSearch(menu, menu_seller_revenue(law, menu), int(res.nit),
                      f"differential evolution over {options} options (seed {seed})")
