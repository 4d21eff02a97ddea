"""Simultaneous play with the intermediary's commitment classes (monopolist-intermediary, Sections 4-5).

The seller posts p_s while the intermediary, at the same time, picks an auction for
the right to dictate bids from one of Section 4's classes: a posted price for the
right, a second-price auction with reserve, or Myerson's auction shifted for an
anticipated seller price. A pure equilibrium is a seller price and a class with a
parameter such that

* the seller's price is a best response to that auction (Theorem 4.1), and
* no class, at its best parameter against p_s, earns the intermediary more.

With one bidder every class is a posted price for the right (Theorem 2.3), so the
game is :class:`~agora.market.single_item.simultaneous.PricingGame`'s. With more,
the posted-price game's equilibria may not survive: against p_s the intermediary's
best auction of all earns E[(Phi - p_s)+] (Theorem 3.1), which shifted Myerson anticipating
p_s collects where every phi_i(lo_i) <= p_s (:meth:`ClassGame.myerson_is_best`; a point mass's
phi(lo) is its value, so there it charges less).

Posted-price equilibria come from :func:`~agora.market.single_item.simultaneous.pure_equilibria`
and are re-checked against the other classes. For an auction class C the intermediary's
best parameter x(p) against each seller price p is exact
(:func:`~agora.market.single_item.intermediary_first.best_commitment_against`); an
equilibrium is a fixed point p = BR_s(C(x(p))), searched on a grid of seller prices,
bracketed where p' - p changes sign and found by Brent, each candidate verified; runs of
verified grid prices are reported as segments whose ends are bisected and verified. Where a bidder
cannot win whatever the parameter, many parameters tie against p and x(p) is one of them; when
no candidate passes, the seller's best response to each scanned parameter is checked as well.
The auction classes need regular laws (their best parameter comes from the personalized
reserves phi_i^-1(p)); for a law that is not regular they are left out, with the reason.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import numpy as np
from scipy.optimize import brentq

from agora.market.distributions import ValueDistribution
from agora.market.errors import InputError
from agora.market.single_item.intermediary_first import (
    best_commitment_against,
    evaluate_right_auction,
    seller_best_response,
    unpriceable,
)
from agora.market.single_item.right_auctions import RIGHT_AUCTIONS, RightAuction
from agora.market.single_item.simultaneous import (
    REGRET_RTOL,
    EquilibriumSet,
    PricingGame,
    acceptable,
    pure_equilibria,
    relative_regret,
)
from agora.market.single_item.virtual_law import VirtualMaxLaw

POSTED = "posted_price"
MYERSON = "shifted_myerson"
ANY_AUCTION = "any_auction"  # a deviation bounded by the best of all auctions, E[(Phi - p)+] (Theorem 3.1)
SEGMENT_BISECTIONS = 60  # halvings of the gap between a segment's last verified grid price and the next
CLASS_POINTS = 41  # seller prices scanned per auction class for fixed points of best responses


@dataclass(frozen=True)
class ClassEquilibrium:
    """A seller price against the intermediary's class and parameter, with each side's regret.

    ``deviations`` holds, per class, the intermediary's best parameter against the
    seller's price and the revenue it earns there (only shifted Myerson's, the best of all
    auctions, when it is among the classes); ``largest_regret`` is relative to the best deviation.
    """

    intermediary_class: str
    parameter_name: str
    parameter: float
    seller_price: float
    seller_revenue: float
    intermediary_revenue: float
    seller_regret: float
    intermediary_regret: float
    largest_regret: float
    found: str
    deviations: dict = field(default_factory=dict)

    @property
    def verified(self) -> bool:
        """It trades, and no deviation of either side gains more than REGRET_RTOL of what it earns."""
        return self.seller_revenue + self.intermediary_revenue > 0.0 and \
            acceptable(self.seller_regret, self.seller_revenue + self.seller_regret) and \
            acceptable(self.intermediary_regret, self.intermediary_revenue + self.intermediary_regret)


@dataclass
class ClassGameResult:
    """Pure equilibria of the simultaneous game over ``classes``; ``best_approximate`` when there is none."""

    bidders: tuple[str, ...]
    classes: tuple[str, ...]
    equilibria: list[ClassEquilibrium]
    posted: EquilibriumSet | None
    skipped: dict
    rejected: list[ClassEquilibrium]  # candidates the verifier rejected, with the deviations that beat them
    best_approximate: ClassEquilibrium | None
    method: str
    seconds: float = 0.0
    segments: list[dict] = field(default_factory=list)  # continua of an auction class's equilibria

    @property
    def pure_equilibrium_exists(self) -> bool:
        return bool(self.equilibria)

    def rejected_by_class(self) -> dict[str, int]:
        return {c: sum(e.intermediary_class == c for e in self.rejected) for c in self.classes}

    def to_dict(self) -> dict:
        return {"bidders": list(self.bidders), "classes": list(self.classes),
                "pure_equilibrium_exists": self.pure_equilibrium_exists,
                "equilibria": [asdict(e) for e in self.equilibria],
                "best_approximate": asdict(self.best_approximate) if self.best_approximate else None,
                "skipped": self.skipped, "rejected": [asdict(e) for e in self.rejected],
                "posted_price_game": self.posted.to_dict() if self.posted else None,
                "segments": self.segments, "method": self.method, "seconds": self.seconds, "tolerance": REGRET_RTOL}


def skip_reason(bidders: Sequence[ValueDistribution], name: str) -> str | None:
    """Why class ``name`` is left out of simultaneous play for these bidders, or None.

    An auction class needs regular laws, as intermediary-first does: its best parameter
    against a price is found from the personalized reserves phi_i^-1(p) (Theorem 3.1),
    which are only the optimum where phi_i increases (no ironing).
    """
    if name == POSTED:
        return None
    irregular = next((b for b in bidders if not b.regularity.regular), None)
    if irregular is not None:
        return (f"skipped: {irregular.spec} is not regular (its virtual value decreases; smallest slope "
                f"{irregular.regularity.min_slope:.3g}), and this auction's best parameter needs a regular law")
    return unpriceable(bidders, name)


def _segment(name: str, ends: Sequence[ClassEquilibrium], grid_points: int) -> dict:
    """A continuum of class ``name``'s equilibria between two verified ends (market units)."""
    lo, hi = ends
    return {"kind": "segment", "class": name, "seller_price": [lo.seller_price, hi.seller_price],
            "parameter_name": lo.parameter_name, "parameter": [lo.parameter, hi.parameter],
            "ends_verified": all(e.verified for e in ends), "grid_points": grid_points,
            "largest_regret": max(e.largest_regret for e in ends),
            "description": f"{name}: every seller price in [{lo.seller_price:.6g}, {hi.seller_price:.6g}] with "
                           f"the class's best {lo.parameter_name} against it (from {lo.parameter:.6g} to "
                           f"{hi.parameter:.6g}) is an equilibrium ({grid_points} grid prices verified; ends "
                           "verified, bisected where inside the grid)"}


def _deviation(auction: RightAuction | None, revenue: float, unit: float) -> dict:
    """A deviation as reported: its class, parameter (in the market's units) and revenue."""
    if auction is None:
        return {"class": "any auction: E[(Phi - p)+] (Theorem 3.1)", "revenue": revenue}
    return {"class": auction.name, auction.parameter_name: auction.parameter * unit, "revenue": revenue}


class ClassGame:
    """The simultaneous game in which the intermediary picks a class and its parameter.

    Solved in units of the market's scale (the :class:`PricingGame`'s) and measured back.
    """

    def __init__(self, game: PricingGame, classes: Sequence[str] = tuple(RIGHT_AUCTIONS)):
        unknown = [c for c in classes if c not in RIGHT_AUCTIONS]
        if unknown:
            raise InputError(f"unknown commitment class {unknown[0]!r}; accepted: {', '.join(RIGHT_AUCTIONS)}")
        self.game = game
        self.bidders = game.unit_bidders
        self.unit = game.unit
        self.skipped = {c: why for c in classes if (why := skip_reason(game.bidders, c))}
        self.classes = tuple(dict.fromkeys(c for c in classes if c not in self.skipped))
        if not self.classes:
            raise InputError(f"no requested commitment class can be priced: {next(iter(self.skipped.values()))}")
        self._best: dict[tuple[str, float], tuple[RightAuction, float]] = {}
        self._law = VirtualMaxLaw(self.bidders) if MYERSON in self.classes else None
        self.found_segments: dict[str, list[dict]] = {}  # per auction class, from :meth:`auction_candidates`

    def best_against(self, name: str, price: float) -> tuple[RightAuction, float]:
        """Class ``name``'s best auction against the seller's price (in units) and its revenue."""
        key = (name, float(price))
        if key in self._best:
            return self._best[key]
        if name == POSTED:  # the posted-price game's own best response, kept per price
            opt = self.game.best_response(price * self.unit)
            self._best[key] = RIGHT_AUCTIONS[POSTED](opt.price / self.unit), opt.revenue / self.unit
        else:
            opt = best_commitment_against(self.bidders, RIGHT_AUCTIONS[name], price)
            self._best[key] = opt.commitment, opt.outcome.intermediary_revenue
        return self._best[key]

    def myerson_is_best(self, price: float) -> bool:
        """Does shifted Myerson anticipating ``price`` (in units) earn the most of all auctions there?

        Theorem 3.1's auction charges the threshold bid, and a bidder's score below the bottom of its
        support is phi(lo) - (lo - u) (:class:`~agora.market.single_item.scores.ShiftedVirtualScore`):
        when some phi_i(lo_i) exceeds the price, a threshold can fall below that support and the
        auction charges less than Myerson's (point:1 with uniform:0,1 at p = 1/2: 1/16 against 1/2).
        With every phi_i(lo_i) <= p, thresholds stay in the supports and the auction is Myerson's.
        """
        return all(b.phi_lo <= price for b in self.bidders)

    def auction_bound(self, price: float) -> float:
        """E[(Phi - p)+]: what the best of all auctions for the right earns against ``price`` (in units),
        Phi the highest virtual value (Theorem 3.1; the seller-first intermediary's revenue)."""
        return self._law.tail_integral(price, checked=False).value

    def deviations(self, price: float, earned: float | None = None) -> dict[str, tuple[RightAuction | None, float]]:
        """The intermediary's best auction in every class against ``price`` (in units) and its revenue.

        Where shifted Myerson anticipating the price earns the most of all auctions (Theorem 3.1,
        :meth:`myerson_is_best`) its revenue alone is the best deviation's, exact, and the other
        classes' parameters are not searched (one quadrature per candidate instead of a scan and a
        Brent search each; a continuum of equilibria has one candidate per grid price). Elsewhere,
        when the candidate ``earned`` reaches E[(Phi - p)+] (:meth:`auction_bound`), no auction
        beats it (entry ANY_AUCTION, no parameter); else every class is searched.
        """
        if MYERSON in self.classes:
            if self.myerson_is_best(price):
                return {MYERSON: self.best_against(MYERSON, price)}
            bound = self.auction_bound(price)
            if earned is not None and earned >= bound * (1.0 - REGRET_RTOL):
                return {ANY_AUCTION: (None, bound)}
        return {c: self.best_against(c, price) for c in self.classes}

    def check(self, auction: RightAuction, price: float, found: str, seller: tuple[float, float],
              intermediary: float) -> ClassEquilibrium:
        """Both sides' regret at (price, auction), prices in units, reported in the market's units.

        ``seller`` is the seller's (revenue, best revenue against the auction), ``intermediary``
        the auction's revenue at ``price``; the intermediary's deviations are :meth:`deviations`.
        """
        best = self.deviations(price, intermediary)
        deviations = {c: _deviation(a, r * self.unit, self.unit) for c, (a, r) in best.items()}
        us, bs = seller
        rs, ri = max(0.0, bs - us), max(0.0, max(r for _, r in best.values()) - intermediary)
        u = self.unit
        return ClassEquilibrium(auction.name, auction.parameter_name, auction.parameter * u, price * u,
                                us * u, intermediary * u, rs * u, ri * u,
                                relative_regret(rs, ri, us, intermediary), found, deviations)

    def posted_candidates(self, found: EquilibriumSet) -> list[ClassEquilibrium]:
        """The posted-price game's equilibria, re-checked against the other classes' best auctions."""
        cls = RIGHT_AUCTIONS[POSTED]
        out = []
        for e in found.equilibria:
            us, ui = e.seller_revenue / self.unit, e.intermediary_revenue / self.unit
            out.append(self.check(cls(e.intermediary_price / self.unit), e.seller_price / self.unit, e.found,
                                  (us, us + e.seller_regret / self.unit), ui))
        return out

    def seller_side(self, name: str, price: float) -> tuple[RightAuction, float, float, float]:
        """Class C's best auction x(p) against p, the seller's revenue there, its best price and revenue."""
        auction, _ = self.best_against(name, price)
        best = seller_best_response(self.bidders, auction)
        revenue = price * float(auction.sale_probability(self.bidders, price))
        return auction, revenue, best.price, max(revenue, best.revenue)

    def auction_candidates(self, name: str, points: int) -> list[ClassEquilibrium]:
        """Fixed points p = BR_s(C(x(p))) on a grid of seller prices and between them.

        A grid price is a candidate when the seller's best response to x(p) gains at most
        REGRET_RTOL over p (so a continuum of fixed points shows on every grid price it covers);
        between grid prices where BR_s(C(x(p))) - p changes sign, neither end a candidate, Brent
        finds the root. Every candidate is then checked against every class (:meth:`check`).
        """
        grid = np.linspace(0.0, self.game.upper / self.unit, points)
        sides = [self.seller_side(name, p) for p in grid]
        gap = np.array([best_price - p for p, (_, _, best_price, _) in zip(grid, sides)])
        settled = np.array([acceptable(best - us, best) for _, us, _, best in sides])
        found = [(float(p), side, "grid point") for p, side, ok in zip(grid, sides, settled) if ok]
        scale = grid[-1]
        for k in np.flatnonzero((np.sign(gap[:-1]) * np.sign(gap[1:]) < 0) & ~settled[:-1] & ~settled[1:]):
            root = float(brentq(lambda p: self.seller_side(name, p)[2] - p, grid[k], grid[k + 1],
                                xtol=1e-15 * scale, rtol=4 * np.finfo(float).eps))
            found.append((root, self.seller_side(name, root), "fixed point of exact best responses (bracketed, Brent)"))
        checked = [self.check(auction, p, how, (us, best), self.best_against(name, p)[1])
                   for p, (auction, us, _, best), how in found]
        verified = np.zeros(points, bool)
        verified[np.flatnonzero(settled)] = [e.verified for e in checked[:int(settled.sum())]]
        self.found_segments[name] = self.segments(name, grid, verified)
        return checked

    def verified_at(self, name: str, price: float, found: str = "segment end (bisection)") -> ClassEquilibrium:
        """The seller's price (in units) against class C's best auction x(p), checked (:meth:`check`)."""
        auction, us, _, best = self.seller_side(name, price)
        return self.check(auction, price, found, (us, best), self.best_against(name, price)[1])

    def _segment_end(self, name: str, inside: float, outside: float) -> float:
        """Bisect between a verified seller price and an unverified one (prices in units)."""
        for _ in range(SEGMENT_BISECTIONS):
            mid = 0.5 * (inside + outside)
            if mid in (inside, outside):
                break
            if self.verified_at(name, mid).verified:
                inside = mid
            else:
                outside = mid
        return inside

    def segments(self, name: str, grid: np.ndarray, verified: np.ndarray) -> list[dict]:
        """Continua of class C's equilibria: runs of two or more consecutive grid prices p whose
        (p, C(x(p))) verify, each end not at the grid's end bisected between the run's last verified
        price and the next grid price; both ends are then verified equilibria themselves."""
        out, k, n = [], 0, len(grid)
        while k < n:
            j = k
            while verified[k] and j + 1 < n and verified[j + 1]:
                j += 1
            if j > k:
                lo = grid[k] if k == 0 else self._segment_end(name, grid[k], grid[k - 1])
                hi = grid[j] if j == n - 1 else self._segment_end(name, grid[j], grid[j + 1])
                ends = [self.verified_at(name, float(x)) for x in (lo, hi)]
                out.append(_segment(name, ends, j - k + 1))
            k = j + 1
        return out

    def parameter_candidates(self, name: str, points: int) -> list[ClassEquilibrium]:
        """The seller's best response p(x) to each of ``points`` parameters x of class C, each checked.

        Against a price at or above a bidder's top value that bidder cannot win under any
        parameter, so many parameters may earn the intermediary the same, and an equilibrium
        may pair p with one that :meth:`best_against` does not pick: under shifted Myerson
        alone, uniform:0,1 + exponential:2 has p = 2 with any anticipated price up to about
        0.5, where the uniform bidder stays out when the seller lowers its price. Scanning the
        parameter and best-responding for the seller finds such pairs; :meth:`check` verifies them.
        """
        cls = RIGHT_AUCTIONS[name]
        out = []
        for x in np.linspace(0.0, self.game.upper / self.unit, points):
            auction = cls(float(x))
            best = seller_best_response(self.bidders, auction)
            p = best.price
            us = p * float(auction.sale_probability(self.bidders, p))
            ui = evaluate_right_auction(self.bidders, auction, p, welfare=False).intermediary_revenue
            out.append(self.check(auction, p, "seller's best response to a scanned parameter",
                                  (us, max(us, best.revenue)), ui))
        return out


def solve_class_game(game: PricingGame, classes: Sequence[str] = tuple(RIGHT_AUCTIONS), points: int = 1001,
                     class_points: int = CLASS_POINTS) -> ClassGameResult:
    """Pure equilibria of simultaneous play over the intermediary's ``classes`` (Sections 4-5).

    The posted-price class uses the ``points`` x ``points`` grid of :func:`pure_equilibria`
    (its equilibria are exactly those of the posted-price game when it is the only class);
    each auction class scans ``class_points`` seller prices. Every candidate is checked
    against the seller's best response and the intermediary's best parameter in every
    class. When none passes, each auction class also scans ``class_points`` parameters
    (:meth:`ClassGame.parameter_candidates`); when still none passes, the candidate with the
    smallest largest regret is reported.
    """
    start = time.perf_counter()
    cg = ClassGame(game, classes)
    posted = pure_equilibria(game, points) if POSTED in cg.classes else None
    candidates = {c: cg.posted_candidates(posted) if c == POSTED else cg.auction_candidates(c, class_points)
                  for c in cg.classes}
    if not any(e.verified for found in candidates.values() for e in found):
        for c in cg.classes:
            candidates[c] += cg.parameter_candidates(c, class_points) if c != POSTED else []
    equilibria = [e for c in cg.classes for e in candidates[c] if e.verified]
    tried = [e for c in cg.classes for e in candidates[c]]
    rejected = [e for e in tried if not e.verified]
    approx = None if equilibria or not tried else min(tried, key=lambda e: e.largest_regret)
    method = ("posted price: grid best responses refined off the grid; auction classes: fixed points of "
              f"exact best responses on {class_points} seller prices, bracketed and found by Brent"
              f"{'' if equilibria else f', then the seller best-responding to {class_points} parameters'}"
              "; each checked against the seller's best response and the intermediary's best parameter in every "
              f"class ({', '.join(cg.classes)})")
    segments = [seg for c in cg.classes for seg in cg.found_segments.get(c, [])]
    return ClassGameResult(game.specs, cg.classes, equilibria, posted, cg.skipped, rejected, approx, method,
                           time.perf_counter() - start, segments)
