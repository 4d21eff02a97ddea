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
best auction of all is shifted Myerson anticipating p_s (Theorem 3.1).

Posted-price equilibria come from :func:`~agora.market.single_item.simultaneous.pure_equilibria`
and are re-checked against the other classes. For an auction class C the intermediary's
best parameter x(p) against each seller price p is exact
(:func:`~agora.market.single_item.intermediary_first.best_commitment_against`); an
equilibrium is a fixed point p = BR_s(C(x(p))), searched on a grid of seller prices,
bracketed where p' - p changes sign and found by Brent, each candidate verified. Where a bidder
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

POSTED = "posted_price"
MYERSON = "shifted_myerson"
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
                "method": self.method, "seconds": self.seconds, "tolerance": REGRET_RTOL}


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

    def deviations(self, price: float) -> dict[str, tuple[RightAuction, float]]:
        """The intermediary's best auction in every class against ``price`` (in units) and its revenue.

        Shifted Myerson anticipating the price earns the most of all auctions (Theorem 3.1):
        with it among the classes its revenue alone is the best deviation's, exact, and the
        other classes' parameters are not searched (one quadrature per candidate instead of a
        scan and a Brent search each; a continuum of equilibria has one candidate per grid price).
        """
        if MYERSON in self.classes:
            return {MYERSON: self.best_against(MYERSON, price)}
        return {c: self.best_against(c, price) for c in self.classes}

    def check(self, auction: RightAuction, price: float, found: str, seller: tuple[float, float],
              intermediary: float) -> ClassEquilibrium:
        """Both sides' regret at (price, auction), prices in units, reported in the market's units.

        ``seller`` is the seller's (revenue, best revenue against the auction), ``intermediary``
        the auction's revenue at ``price``; the intermediary's deviations are :meth:`deviations`.
        """
        best = self.deviations(price)
        deviations = {c: {"class": a.name, a.parameter_name: a.parameter * self.unit, "revenue": r * self.unit}
                      for c, (a, r) in best.items()}
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
        return [self.check(auction, p, how, (us, best), self.best_against(name, p)[1])
                for p, (auction, us, _, best), how in found]

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
    return ClassGameResult(game.specs, cg.classes, equilibria, posted, cg.skipped, rejected, approx, method,
                           time.perf_counter() - start)
