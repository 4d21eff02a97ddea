"""Intermediary-first Stackelberg play (monopolist-intermediary, Section 4).

The intermediary commits to an auction for the right to dictate bids; the
seller sees it and posts the price p maximizing p P_M(p) (Theorem 4.1). The
intermediary, anticipating that, picks its commitment within a class (a posted
price, a second-price auction with reserve, or Myerson's auction for an
anticipated seller price): a bilevel problem solved by scanning the class's
parameter, best-responding for the seller at each point, and refining the best.

Exact outcomes of any such auction come from the threshold-auction identity
(Myerson's lemma written for scores): bidder i, eligible from value z0_i on, pays
the intermediary in expectation

    integral_{z0_i}^{hi_i} D_i(g_i(z)) ((z - p) f_i(z) - P[V_i >= z]) dz
      + (hi_i - p) P[V_i = hi_i] winshare_i(g_i(hi_i)),

with D_i(c) = P[every other score < c]; the winner's value is integrated the same way.
A reported outcome's error bound compares two independent quadrature rules
(:func:`virtual_law.integrate_pieces`, checked); the parameter scan uses one.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace

import numpy as np
from scipy.optimize import minimize_scalar

from agora.market.distributions import Pareto, ValueDistribution
from agora.market.errors import InputError
from agora.market.single_item.polish import polish_maximum
from agora.market.single_item.right_auctions import (
    RIGHT_AUCTIONS,
    PostedRightPrice,
    RightAuction,
    ShiftedMyersonRight,
    distinct_laws,
)
from agora.market.single_item.scores import MaxScoreLaw
from agora.market.single_item.seller_first import (
    PriceOptimum,
    distinct,
    maximize_price_revenue,
    probe_values,
)
from agora.market.single_item.units import in_units, times, typical_value, value_scale
from agora.market.single_item.virtual_law import (
    CHECKED_QUADRATURE,
    RTOL,
    Integral,
    QuadratureError,
    VirtualMaxLaw,
    integrate_pieces,
    integrate_power_tail,
    pieces_between,
)

PARAMETER_GRID = 60
SCAN_RTOL = 1e-9  # the parameter scan only ranks candidates (neighbours differ by far more); Brent refines exactly
SCAN_XATOL = 1e-9  # the seller's price in the scan, relative
SCAN_TIE = 1e-7  # scanned revenues this close (relative) are tied: the coarse seller moves them by ~1e-8
CLASS_TIE = 1e-9  # classes whose best revenues agree to this (relative) are tied
VALUE_TIE = 1e-12  # revenues this close (relative) are equal: far above the evaluations' ~1e-14 noise


@dataclass(frozen=True)
class RightAuctionOutcome:
    """Expected outcome of an auction for the right when the seller posts ``seller_price``."""

    seller_price: float
    sale_probability: float
    seller_revenue: float
    intermediary_revenue: float
    welfare: float
    quadrature_error: float


def _power_tail(b: ValueDistribution, tail_coefficient) -> tuple[float, float] | None:
    """(coefficient, exponent) of the integrand's leading term c z^(-b) for an uncapped Pareto bidder."""
    if isinstance(b, Pareto) and b.alpha > 0 and not math.isfinite(b.hi):
        return tail_coefficient(b) * b.lo ** b.b, b.b
    return None


def _per_bidder(law: MaxScoreLaw, bidders, reserve: float, integrand, atom_value,
                tail_coefficient=None, checked: bool = False, rtol: float = RTOL, quick: bool = False) -> Integral:
    """Sum over bidders of an integral over its values where it can win, plus its atom at hi
    (the quadrature checked by a second rule if asked); once per distinct score, times its count.

    With ``tail_coefficient``, an uncapped Pareto bidder's last piece (past its scale and every cut),
    where the integrand is k SCALE^b z^(-b) plus terms that decay faster, k = tail_coefficient(law),
    is integrated with that term in closed form (:func:`integrate_power_tail`)."""
    pieces, owners, atoms = [], [], 0.0
    scale = value_scale([b for b, _ in distinct_laws(bidders)])
    cuts = list(law.breakpoints) + list(law.atoms)
    count = law.counts[law.group]  # bidders sharing each bidder's score: one of them stands for all
    for i in np.unique(law.group, return_index=True)[1]:
        b, s = bidders[i], law.scores[i]
        z0 = float(s.threshold(reserve))
        if not math.isfinite(z0) or z0 > b.hi:
            continue
        if b.atom > 0 and float(s.score(b.hi)) >= reserve:
            share = law.win_share(np.array([i]), np.array([float(s.score(b.hi))]))[0]
            atoms += count[i] * atom_value(b.hi) * b.atom * share
        inner = [float(x) for x in s.threshold(np.array(cuts))] + [b.lo]
        for lo, hi in pieces_between(inner, z0, b.hi):
            if hi - lo > 1e-14 * max(scale, abs(lo)):
                pieces.append((lo, hi))
                owners.append(i)
    if not pieces:
        return Integral(atoms, 0.0)

    def f(z, owner):
        # every node's score first, so that the others' laws are evaluated once for all nodes
        score, density = np.empty(z.shape), np.empty(z.shape)
        for i in np.unique(owner):
            sel = owner == i
            score[sel] = law.scores[i].score(z[sel]).reshape(-1)
            density[sel] = count[i] * integrand(bidders[i], z[sel])  # one bidder stands for its score's count
        return law.win_share(owner.reshape(-1), score.reshape(-1)).reshape(z.shape) * density

    tails = [_power_tail(bidders[o], tail_coefficient) if tail_coefficient and math.isinf(hi) else None
             for (_, hi), o in zip(pieces, owners)]
    plain = [k for k, t in enumerate(tails) if t is None]
    part = integrate_pieces(f, [pieces[k] for k in plain], [owners[k] for k in plain], checked, rtol, quick, scale) \
        if plain \
        else Integral(0.0, 0.0)
    value, error = part.value + atoms, part.error
    for (lo, _), o, t in zip(pieces, owners, tails):
        if t is not None:
            tail = integrate_power_tail(lambda z, _, o=o: f(z, np.full(z.shape, o)), max(lo, bidders[o].lo), [t],
                                        checked, rtol, quick, scale)
            value, error = value + tail.value, error + tail.error
    return Integral(value, error)


def _payment_density(b: ValueDistribution, z: np.ndarray, price: float) -> np.ndarray:
    """(z - p) f(z) - P[V >= z]: Myerson's virtual surplus density, p shifted out."""
    with np.errstate(divide="ignore", invalid="ignore"):
        scaled = np.where(z > 0, b.value_times_pdf(z) * (1.0 - price / np.where(z > 0, z, 1.0)),
                          (z - price) * b.pdf(z))
    return scaled - b.prob_at_least(z)


def evaluate_right_auction(bidders: Sequence[ValueDistribution], auction: RightAuction,
                           price: float, welfare: bool = True, checked: bool = True,
                           rtol: float = RTOL, quick: bool = False) -> RightAuctionOutcome:
    """Exact expected outcome of ``auction`` when the seller posts ``price`` (welfare nan if not asked).

    ``quadrature_error`` bounds the error by comparing two independent rules; with ``checked`` False
    it is tanh-sinh's own estimate (parameter scans, whose best point is then evaluated checked),
    aiming at ``rtol``; ``quick`` (a scan, not checked): pairs of Gauss-Legendre rules where they agree
    to ``rtol`` (:func:`virtual_law.integrate_pieces`).
    """
    law = MaxScoreLaw(auction.scores(bidders, price))
    sale = float(auction.sale_probability(bidders, price))
    # leading tail terms for an uncapped Pareto (survival (s / z)^b): z f(z) ~ b s^b z^-b, and the
    # payment density (z - p) f(z) - P[V >= z] ~ (b - 1) s^b z^-b
    welfare = _per_bidder(law, bidders, auction.reserve, lambda b, z: b.value_times_pdf(z), lambda v: v,
                          lambda b: b.b, checked, rtol, quick) if welfare else Integral(math.nan, 0.0)
    if auction.threshold_payment:
        revenue = _per_bidder(law, bidders, auction.reserve, lambda b, z: _payment_density(b, z, price),
                              lambda v: v - price, lambda b: b.b - 1.0, checked, rtol, quick)
    else:
        revenue = Integral(auction.parameter * sale, 0.0)
    return RightAuctionOutcome(float(price), sale, float(price) * sale, revenue.value,
                               welfare.value, revenue.error + welfare.error)


def best_response_candidates(bidders: Sequence[ValueDistribution], auction: RightAuction) -> np.ndarray:
    """Seller prices worth scanning against ``auction`` (once per distinct law): probe values and
    atoms shifted by each law's eligibility a_i, and each one-bidder first-order price."""
    laws = [b for b, _ in distinct_laws(bidders)]
    a = auction.eligibility(laws)
    pts = [probe_values(b) - ai for b, ai in zip(laws, a)]
    # first-order condition for one bidder: total price phi^-1(a), so p = phi^-1(a) - a
    pts += [b.virtual_threshold(np.array([ai])) - ai for b, ai in zip(laws, a)]
    atoms = [b.hi - ai for b, ai in zip(laws, a) if b.atom > 0]
    return np.concatenate(pts + [np.array(atoms + [0.0])])


def seller_best_response(bidders: Sequence[ValueDistribution], auction: RightAuction,
                         coarse: bool = False) -> PriceOptimum:
    """Theorem 4.1: p* = argmax_p p P[the right is sold | p] (candidates once per distinct law);
    ``coarse``: to SCAN_XATOL, unpolished (enough to rank the intermediary's candidate parameters)."""
    candidates = best_response_candidates(bidders, auction)
    curve = auction.sale_curve(bidders)
    if coarse:
        return maximize_price_revenue(curve, candidates, SCAN_XATOL, polish=False, nonincreasing=True)
    return maximize_price_revenue(curve, candidates, nonincreasing=True)


@dataclass(frozen=True)
class CommitmentOptimum:
    """The intermediary's best commitment within one class, and the outcome it leads to."""

    commitment: RightAuction
    outcome: RightAuctionOutcome
    method: str


def _parameter_candidates(bidders, cls) -> np.ndarray:
    bidders = [b for b, _ in distinct_laws(bidders)]
    values = [probe_values(b, PARAMETER_GRID + 1) for b in bidders]
    # optimal prices sit at values or, one level up the chain of monopolies, at virtual values
    pts = values + [b.virtual_value(v) for b, v in zip(bidders, values)]
    atoms = [b.hi for b in bidders if b.atom > 0]
    c = np.concatenate(pts + [np.array(atoms + [0.0])])
    c = distinct(c[np.isfinite(c) & (c >= 0)])
    if c.size > 4 * PARAMETER_GRID:
        c = c[np.linspace(0, c.size - 1, 4 * PARAMETER_GRID).astype(int)]
    return c


def outcome_of(bidders, commitment: RightAuction, welfare: bool = True, checked: bool = True,
               coarse: bool = False) -> RightAuctionOutcome:
    """The outcome when the seller best-responds to ``commitment`` (``coarse``: to the scan's tolerances)."""
    price = seller_best_response(bidders, commitment, coarse).price
    return evaluate_right_auction(bidders, commitment, price, welfare, checked, SCAN_RTOL if coarse else RTOL,
                                  quick=coarse)


def _intermediary_revenue(bidders, cls, x: float, seller_price: float | None = None, coarse: bool = False) -> float:
    """The intermediary's revenue from cls(x): against the seller's best response, or against ``seller_price``.

    One quadrature rule (``checked=False``): the scan needs speed; the chosen commitment is re-evaluated
    with both rules. ``coarse``: the scan's tolerances (:data:`SCAN_RTOL`).
    """
    if seller_price is None:
        return outcome_of(bidders, cls(float(x)), welfare=False, checked=False, coarse=coarse).intermediary_revenue
    return evaluate_right_auction(bidders, cls(float(x)), seller_price, welfare=False, checked=False,
                                  rtol=SCAN_RTOL if coarse else RTOL, quick=coarse).intermediary_revenue


def _maximize_parameter(bidders, cls, cand: np.ndarray, seller_price: float | None) -> tuple[float, int, int]:
    """Scan ``cand`` for the best parameter of ``cls``, then bounded Brent between the best one's neighbours.

    The intermediary's revenue can jump where the seller's response jumps, so the
    scan, not the refinement, is relied on for the global optimum. The scan ranks with the
    coarse revenues; Brent compares exact ones (coarse ones, off by ~1e-7 on a capped heavy
    tail such as F_0.02,1e100, would stop it short of an optimum that Newton's polish then
    leaves alone when it sits on a kink of the seller's answer). Returns the best parameter,
    how many candidates were scanned and how many could not be evaluated.
    """
    revenue = np.array([_revenue_or_nan(bidders, cls, x, seller_price) for x in cand])
    skipped = int(np.count_nonzero(np.isnan(revenue)))
    if skipped == cand.size:
        raise InputError(f"no {cls.name} commitment could be evaluated for {_specs(bidders)}: its values "
                         "are beyond what floating-point quadrature integrates")
    cand, revenue = cand[~np.isnan(revenue)], revenue[~np.isnan(revenue)]
    # the least parameter within the scan's precision of the best: a revenue flat in the parameter
    # (two identical exponential bidders rank the same way under every shifted Myerson) gives one answer
    k = int(np.argmax(revenue >= revenue.max() - SCAN_TIE * abs(revenue.max())))
    best_x = float(cand[k])
    exact = _revenue_or_nan(bidders, cls, best_x, seller_price, coarse=False)
    best_r = float(revenue[k]) if math.isnan(exact) else exact
    lo, hi = cand[max(k - 1, 0)], cand[min(k + 1, cand.size - 1)]
    if hi > lo:
        with np.errstate(over="ignore", invalid="ignore"):  # Brent's parabola steps on huge ranges
            res = minimize_scalar(lambda x: -_intermediary_revenue(bidders, cls, x, seller_price),
                                  bounds=(lo, hi), method="bounded",
                                  options={"xatol": 1e-10 * hi})
        found = -res.fun
        if found > best_r + VALUE_TIE * abs(best_r):  # a scanned point (a bound, a kink) wins ties
            best_x = float(res.x)
    return best_x, int(cand.size) + skipped, skipped


def best_commitment(bidders: Sequence[ValueDistribution], cls: type[RightAuction]) -> CommitmentOptimum:
    """The intermediary's revenue-maximizing commitment in ``cls`` against a best-responding seller.

    Bilevel: every candidate parameter gets the seller's exact best response,
    :func:`_maximize_parameter` scans and refines, and Newton steps on the five-point
    stencil sharpen the optimum (:func:`polish_maximum`).
    """
    best_x, scanned, skipped = _maximize_parameter(bidders, cls, _parameter_candidates(bidders, cls), None)
    best_x = polish_maximum(lambda x: _intermediary_revenue(bidders, cls, x), best_x,
                            scale=max(typical_value(b) for b in bidders))
    commitment = cls(best_x)
    return CommitmentOptimum(commitment, outcome_of(bidders, commitment),
                             f"scan of {scanned - skipped} parameters, each with the seller's exact best "
                             "response, then bounded Brent and Newton steps on the five-point stencil"
                             + (f" ({skipped} parameters beyond floating-point quadrature left out)"
                                if skipped else ""))


def _reserve_candidates(bidders, price: float) -> np.ndarray:
    """Reserves on bids worth scanning against a seller price p: max(phi_i^-1(p) - p, 0) for each law.

    The revenue's slope in the reserve r is sum_i w_i (p - phi_i(r + p)) with weights
    w_i >= 0, so for regular laws the best r >= 0 lies between the smallest and the largest
    max(phi_i^-1(p) - p, 0) (Theorem 3.1's personalized reserves, shifted to bids): one
    candidate when the laws are identical (an atom at the top is in phi^-1, whose value there
    is the top itself).
    """
    laws = [b for b, _ in distinct_laws(bidders)]
    c = np.concatenate([np.maximum(b.virtual_threshold(np.array([price])) - price, 0.0) for b in laws])
    return distinct(c[np.isfinite(c)])


def best_commitment_against(bidders: Sequence[ValueDistribution], cls: type[RightAuction],
                            price: float) -> CommitmentOptimum:
    """The intermediary's best commitment in ``cls`` when the seller posts ``price`` (simultaneous play).

    Shifted Myerson anticipating the price itself is the best of all (Theorem 3.1); a
    posted price q solves the seller's problem mirrored, q = argmax q P[max_i v_i >= p + q];
    a second-price reserve is scanned over :func:`_reserve_candidates` and refined (regular laws).
    """
    price = float(price)
    if cls is ShiftedMyersonRight:
        commitment, method = cls(price), "the anticipated price is the seller's price (Theorem 3.1)"
    elif cls is PostedRightPrice:
        q = seller_best_response(bidders, PostedRightPrice(price)).price
        commitment, method = cls(q), "the seller's problem mirrored (Theorem 4.1)"
    else:
        cand = _reserve_candidates(bidders, price)
        best_x, scanned, _ = _maximize_parameter(bidders, cls, cand, price)
        commitment, method = cls(best_x), f"scan of {scanned} reserves, then bounded Brent"
    return CommitmentOptimum(commitment, evaluate_right_auction(bidders, commitment, price, welfare=False),
                             method)


def _specs(bidders) -> str:
    return ", ".join(b.spec for b in bidders)


def _revenue_or_nan(bidders, cls, x: float, seller_price: float | None = None, coarse: bool = True) -> float:
    """The intermediary's revenue at parameter x, nan where the quadrature cannot reach its tolerance
    (parameters of order 1e300 in a tail that decays like v^-1.001)."""
    try:
        return _intermediary_revenue(bidders, cls, x, seller_price, coarse)
    except QuadratureError:
        return math.nan


@dataclass(frozen=True)
class IntermediaryFirstSolution:
    """The intermediary-first Stackelberg outcome, best over the requested classes."""

    bidders: tuple[str, ...]
    intermediary_commitment: dict
    seller_price: float
    seller_revenue: float
    intermediary_revenue: float
    no_intermediary_optimal_revenue: float
    sale_probability: float
    welfare: float
    by_class: dict
    method: str
    quadrature_error: float

    def to_dict(self) -> dict:
        return asdict(self)

    def times(self, unit: float) -> IntermediaryFirstSolution:
        """Every price and revenue times ``unit`` (probabilities kept)."""
        keep = ("sale_probability", "class")
        return IntermediaryFirstSolution(**{k: v if k in keep else times(v, unit, keep)
                                            for k, v in asdict(self).items()})


def solve_intermediary_first(bidders: Sequence[ValueDistribution | str],
                             classes: Sequence[str] = tuple(RIGHT_AUCTIONS)) -> IntermediaryFirstSolution:
    """The intermediary's best commitment over ``classes`` and the seller's response.

    Solved in units of the market's scale (:mod:`units`): values times c give every
    price, revenue and commitment parameter times c.
    """
    unknown = [c for c in classes if c not in RIGHT_AUCTIONS]
    if unknown:
        raise InputError(f"unknown commitment class {unknown[0]!r}; accepted: {', '.join(RIGHT_AUCTIONS)}")
    law = VirtualMaxLaw.of(bidders)
    unit, laws = in_units(law.bidders)
    unit_law = law if unit == 1.0 else VirtualMaxLaw(laws)
    try:
        sol = _solve_in_units(unit_law, classes, {c: unpriceable(law.bidders, c) for c in classes})
    except QuadratureError as err:
        raise InputError(f"cannot integrate the market {', '.join(law.specs)} in floating point: {err}") from None
    if unit == 1.0:
        return sol
    return replace(sol.times(unit), bidders=law.specs, method=f"{sol.method}; solved in units of {unit:g}")


def unpriceable(bidders: Sequence[ValueDistribution], name: str) -> str | None:
    """Why class ``name`` cannot be priced for these bidders, or None.

    Shifted Myerson ranks by phi_i(b_i + s), which must be strictly increasing: the
    equal-revenue law (pareto:0,SCALE,CAP) has phi = 0 below its cap.
    """
    flat = [b.spec for b in bidders if getattr(b, "alpha", None) == 0.0]
    if name == "shifted_myerson" and flat:
        return (f"skipped: {flat[0]} has a flat virtual value (equal revenue), and Myerson's ranking "
                "by phi(b + s) needs a strictly increasing one")
    return None


def _solve_in_units(law: VirtualMaxLaw, classes: Sequence[str], reasons: dict) -> IntermediaryFirstSolution:
    if all(reasons.values()):
        raise InputError(f"no requested commitment class can be priced: {next(iter(reasons.values()))}")
    optima = {c: best_commitment(law.bidders, RIGHT_AUCTIONS[c]) for c in classes if not reasons[c]}
    top = max(o.outcome.intermediary_revenue for o in optima.values())
    # classes within the search's precision of the best are tied: the first listed is reported
    best = next(o for o in optima.values() if o.outcome.intermediary_revenue >= top - CLASS_TIE * abs(top))
    by_class = {c: {"skipped": reasons[c]} if reasons[c] else
                {"commitment": optima[c].commitment.describe(), "seller_price": optima[c].outcome.seller_price,
                 "seller_revenue": optima[c].outcome.seller_revenue,
                 "intermediary_revenue": optima[c].outcome.intermediary_revenue,
                 "quadrature_error": optima[c].outcome.quadrature_error}
                for c in classes}
    out = best.outcome
    opt = law.tail_integral(0.0, checked=True)
    return IntermediaryFirstSolution(
        bidders=law.specs, intermediary_commitment=best.commitment.describe(),
        seller_price=out.seller_price, seller_revenue=out.seller_revenue,
        intermediary_revenue=out.intermediary_revenue,
        no_intermediary_optimal_revenue=opt.value,
        sale_probability=out.sale_probability, welfare=out.welfare, by_class=by_class,
        method=f"{best.method}; {CHECKED_QUADRATURE}", quadrature_error=out.quadrature_error + opt.error)
