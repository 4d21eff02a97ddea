"""The law of the highest virtual value, and the exact (quadrature) evaluator.

With Phi = max_i phi_i(v_i) and independent bidders,

    P[Phi >= t] = 1 - prod_i (1 - P[phi_i(v_i) >= t])        (FORMULAS.md: 1 - G(t))

and every seller-first quantity is a functional of it (Theorem 3.1,
Lemma 3.10, Theorem D.4): seller revenue p P[Phi >= p], intermediary revenue
E[(Phi - p)+] = integral_p^inf P[Phi >= t] dt, and the no-intermediary optimum
integral_0^inf P[Phi >= t] dt. Ties count as a sale (the tie rule of
Theorem 3.4). Integrals are taken by tanh-sinh quadrature
(``scipy.integrate.tanhsinh``) piece by piece between the points where the
integrand is not smooth, in log scale over pieces spanning many decades.
A reported result is checked by a second, independent rule (adaptive
Gauss-Kronrod, ``scipy.integrate.cubature``) on the same pieces: its error bound is
the two rules' difference plus the larger of their own estimates, since one
rule's estimate alone can be far below its true error.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache

import numpy as np
from scipy import integrate

from agora.market.distributions import Pareto, ValueDistribution, parse_spec
from agora.market.errors import InputError
from agora.market.single_item.scores import MaxScoreLaw, VirtualScore
from agora.market.single_item.seller_mechanisms import Menu
from agora.market.single_item.units import value_scale

RTOL = 1e-12
ATOL = 1e-15  # absolute tolerance in units of the market's value scale (:func:`units.value_scale`)
LOG_SPAN = 16.0  # e-folds per log-scale quadrature piece
ACCEPT = 1e-9  # error estimate accepted when a heavy tail keeps tanh-sinh from reaching RTOL
KRONROD_LIMIT = 200  # subintervals of the Gauss-Kronrod check
QUICK_NODES = 16  # nodes per piece of the coarser Gauss-Legendre rule of a quick (scan) integral
QUICK_LOG_SPLIT = 8  # parts of a log-scale piece (2 e-folds each) for the quick rule
CHECKED_QUADRATURE = "tanh-sinh quadrature, error bounded by the difference from Gauss-Kronrod plus both estimates"


class QuadratureError(RuntimeError):
    """A quadrature that did not reach its tolerance."""


@dataclass(frozen=True)
class Integral:
    """A quadrature value with its error estimate."""

    value: float
    error: float


def _tanhsinh(f, a, b, args=(), rtol: float = RTOL, scale: float = 1.0) -> Integral:
    """tanh-sinh aiming at ``rtol`` (absolute floor ATOL ``scale``); a result short of it is kept if its
    error is below ACCEPT of the larger of its value and ``scale``."""
    res = integrate.tanhsinh(f, a, b, args=args, rtol=rtol, atol=ATOL * scale, maxlevel=14)
    value, error = float(np.sum(res.integral)), float(np.sum(res.error))
    if np.any(res.status != 0) and not error <= ACCEPT * max(scale, abs(value)):
        raise QuadratureError(f"tanh-sinh quadrature did not converge on [{a}, {b}] "
                              f"(status {res.status}, error {res.error})")
    return Integral(value, error)


def _gauss_kronrod(f, a, b, args=(), scale: float = 1.0) -> Integral:
    """The sum of the same integrals by adaptive Gauss-Kronrod (21 nodes, ``scipy.integrate.cubature``).

    Piece k is mapped onto u in [0, 1]: t = a_k + u (b_k - a_k), or t = a_k + u / (1 - u)
    when b_k is infinite; the rule integrates the sum over pieces, one call of f for every node of
    every subinterval it refines. Values that overflow to non-finite far in a tail count as 0
    (tanh-sinh drops them too). The absolute floor is ATOL ``scale``.
    """
    a, b = np.asarray(a, float), np.asarray(b, float)
    infinite = np.isinf(b)
    width = np.where(infinite, 1.0, b - a)

    def mapped(u):
        u = u[:, :1]  # the nodes, (npoints, 1), against the pieces' axis
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
            t = np.where(infinite, a + u / (1.0 - u), a + u * width)
            y = f(t, *args) * np.where(infinite, 1.0 / (1.0 - u) ** 2, width)
        return np.sum(np.where(np.isfinite(y), y, 0.0), axis=1)

    res = integrate.cubature(mapped, [0.0], [1.0], rule="gk21", rtol=RTOL, atol=ATOL * scale,
                             max_subdivisions=KRONROD_LIMIT)
    return Integral(float(res.estimate), float(res.error))


@lru_cache(maxsize=2)
def _legendre(nodes: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Legendre nodes and weights on [0, 1]."""
    x, w = np.polynomial.legendre.leggauss(nodes)
    return 0.5 * (x + 1.0), 0.5 * w


def _gauss_legendre_pair(f, a, b, args, rtol: float, split: int = 1, scale: float = 1.0) -> Integral | None:
    """The sum of the integrals by Gauss-Legendre rules of QUICK_NODES and 2 QUICK_NODES nodes per piece
    (one call of f for both), or None when the two differ by more than ``rtol`` of the sum.

    Pieces are mapped onto [0, 1] as in :func:`_gauss_kronrod`. Both rules converge fast on a piece where
    the integrand is smooth (pieces end where it is not); their difference bounds the coarser one's error,
    so a sum they agree on is accurate to ``rtol`` (the finer one is returned, its error below that).
    """
    a, b = np.asarray(a, float), np.asarray(b, float)
    if split > 1:  # each finite piece cut into ``split`` equal parts
        finite = np.isfinite(b)
        edges = a[finite, None] + (b - a)[finite, None] * np.linspace(0.0, 1.0, split + 1)[None]
        args = tuple(np.concatenate([np.repeat(np.asarray(x)[finite], split), np.asarray(x)[~finite]]) for x in args)
        a = np.concatenate([edges[:, :-1].ravel(), a[~finite]])
        b = np.concatenate([edges[:, 1:].ravel(), b[~finite]])
    a, b = a[:, None], b[:, None]
    infinite = np.isinf(b)
    rules = [_legendre(QUICK_NODES), _legendre(2 * QUICK_NODES)]
    u = np.concatenate([x for x, _ in rules])[None]
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        t = np.where(infinite, a + u / (1.0 - u), a + u * np.where(infinite, 1.0, b - a))
        y = f(t, *(np.broadcast_to(np.asarray(x)[:, None], t.shape) for x in args)) \
            * np.where(infinite, 1.0 / (1.0 - u) ** 2, b - a)
    y = np.where(np.isfinite(y), y, 0.0).sum(axis=0)
    coarse = float(y[:QUICK_NODES] @ rules[0][1])
    fine = float(y[QUICK_NODES:] @ rules[1][1])
    if not abs(fine - coarse) <= rtol * abs(fine) + ATOL * scale:
        return None
    return Integral(fine, abs(fine - coarse))


def _integrate(f, a, b, args, checked: bool, rtol: float = RTOL, quick: bool = False, split: int = 1,
               scale: float = 1.0) -> Integral:
    """tanh-sinh's sum of integrals; if ``checked``, its error is bounded against Gauss-Kronrod's
    as |difference| + the larger of the two own estimates. ``quick`` (a scan that only ranks): a pair of
    Gauss-Legendre rules first (:func:`_gauss_legendre_pair`), tanh-sinh only if they disagree.
    ``scale``: the market's value scale, in which the rules' absolute tolerance ATOL is set."""
    if quick and not checked:
        pair = _gauss_legendre_pair(f, a, b, args, rtol, split, scale)
        if pair is not None:
            return pair
    main = _tanhsinh(f, a, b, args, rtol, scale)
    if not checked:
        return main
    check = _gauss_kronrod(f, a, b, args, scale)
    return Integral(main.value, abs(main.value - check.value) + max(main.error, check.error))


def pieces_between(points: Sequence[float], lo: float, hi: float) -> list[tuple[float, float]]:
    """[lo, hi] cut at the ``points`` inside it, as consecutive (a, b) pieces."""
    cuts = sorted({lo, hi, *(p for p in points if lo < p < hi)})
    return list(zip(cuts[:-1], cuts[1:]))


def _log_chunks(a: float, b: float) -> list[tuple[float, float]]:
    """[log a, log b] cut every LOG_SPAN e-folds (the last chunk may run to +inf)."""
    lo, hi = math.log(a), math.log(b)
    if not math.isfinite(hi):
        return [(lo, lo + LOG_SPAN), (lo + LOG_SPAN, math.inf)]
    cuts = np.append(np.arange(lo, hi, LOG_SPAN), hi)
    return list(zip(cuts[:-1], cuts[1:]))


def _split_at_scale(a: float, b: float, scale: float) -> tuple[list[tuple[float, float]], list[tuple[float, float]]]:
    """(linear pieces, log-scale pieces) of [a, b]: log scale only above the value ``scale``.

    A tail over many decades (b / a > 100) lies above the market's values; below ``scale``
    there are no decades to span, and a start a > 0 however small integrates as a = 0 does,
    linearly. (In log t from a = 1e-300 the first LOG_SPAN e-folds end near 1e-293, and the
    last, infinite, chunk misses the mass near the values: 3.7e-178 for 2 / e.)
    """
    if not (a > 0 and b / a > 100):
        return [(a, b)], []
    if a >= scale:
        return [], [(a, b)]
    if b <= 100 * scale:
        return [(a, b)], []
    return [(a, scale)], [(scale, b)]


def integrate_pieces(f, pieces: Sequence[tuple[float, float]], owners=None, checked: bool = False,
                     rtol: float = RTOL, quick: bool = False, scale: float = 1.0) -> Integral:
    """Sum of integral_a^b f(t, owner) dt over ``pieces``, by tanh-sinh to ``rtol`` (checked by a
    second rule if asked; ``quick``: Gauss-Legendre pairs first, as in :func:`_integrate`).

    Pieces with 0 < a and b / a > 100 (or b infinite) are integrated in s = log t,
    which turns power-law tails over many decades into smooth integrands, cut every
    LOG_SPAN e-folds so that a tail over hundreds of decades still converges; such a piece is
    cut at ``scale`` first (:func:`_split_at_scale`).
    ``owners`` (one per piece) is passed to f as its second argument, broadcast. ``scale``: the
    market's value scale (:func:`units.value_scale`); the absolute tolerance is ATOL ``scale``, so a
    market and the same market in other units are integrated alike.
    """
    owners = np.zeros(len(pieces), int) if owners is None else np.asarray(owners)
    lin, lin_owner, log, log_owner = [], [], [], []
    for piece, o in zip(pieces, owners):
        linear, logs = _split_at_scale(*piece, scale)
        lin += linear
        lin_owner += [o] * len(linear)
        for a, b in logs:
            chunks = _log_chunks(a, b)
            log += chunks
            log_owner += [o] * len(chunks)
    total = Integral(0.0, 0.0)
    if lin:
        a, b = np.array(lin, float).T
        part = _integrate(lambda t, o: f(t, np.broadcast_to(o, t.shape)), a, b, (np.array(lin_owner),), checked,
                          rtol, quick, scale=scale)
        total = Integral(total.value + part.value, total.error + part.error)
    if log:
        a, b = np.array(log, float).T
        part = _integrate(lambda s, o: f(np.exp(s), np.broadcast_to(o, s.shape)) * np.exp(s),
                          a, b, (np.array(log_owner),), checked, rtol, quick, QUICK_LOG_SPLIT, scale)
        total = Integral(total.value + part.value, total.error + part.error)
    return total


def integrate_power_tail(f, start: float, terms: Sequence[tuple[float, float]], checked: bool = False,
                         rtol: float = RTOL, quick: bool = False, scale: float = 1.0) -> Integral:
    """integral_start^inf f(t) dt where f(t) = sum_k c_k t^(-b_k) + (a remainder that decays faster).

    The power terms are integrated in closed form, c_k start^(1 - b_k) / (b_k - 1) (each b_k > 1),
    and only the remainder by quadrature (zero where it is within rounding of the power terms,
    checked by a second rule if asked); start > 0.
    """
    if any(b <= 1.0 for _, b in terms):
        raise InputError("a tail P[V >= t] ~ t^-b with b <= 1 has no finite integral")
    closed = math.fsum(c * start ** (1.0 - b) / (b - 1.0) for c, b in terms)

    def remainder(t, owner):
        power = np.zeros(np.shape(t))
        with np.errstate(over="ignore", invalid="ignore"):
            for c, b in terms:
                power = power + c * np.power(t, -b)
            rest = f(t, owner) - power
        # within rounding of the power terms (their integral bounds what this drops: 1e-14 of it)
        return np.where(np.isfinite(t) & (np.abs(rest) > 64 * np.finfo(float).eps * power), rest, 0.0)

    rest = integrate_pieces(remainder, [(start, math.inf)], checked=checked, rtol=rtol, quick=quick, scale=scale)
    return Integral(closed + rest.value, rest.error)


class VirtualMaxLaw(MaxScoreLaw):
    """Law of Phi = max_i phi_i(v_i) for independent, regular bidders."""

    def __init__(self, bidders: Sequence[ValueDistribution]):
        if not bidders:
            raise InputError("a market needs at least one bidder (n >= 1), got none")
        for i, b in enumerate(bidders):
            b.require_regular(f"bidder {i}")
        self.bidders = tuple(bidders)
        self.specs = tuple(b.spec for b in self.bidders)
        super().__init__([VirtualScore(b) for b in self.bidders])

    @classmethod
    def of(cls, bidders: Sequence[ValueDistribution | str]) -> VirtualMaxLaw:
        return cls(tuple(parse_spec(b) for b in bidders))

    @cached_property
    def value_scale(self) -> float:
        """The market's value scale (:func:`units.value_scale`): the unit of the quadratures' ATOL."""
        return value_scale(self.bidders)

    @cached_property
    def power_tails(self) -> tuple[tuple[float, float, float], ...]:
        """(c_i, b_i, alpha_i) of each uncapped Pareto bidder: P[phi_i >= t] = c_i t^(-b_i) from
        t = alpha_i SCALE_i on (phi = alpha v, survival (SCALE / v)^b), with c_i = (alpha_i SCALE_i)^b_i."""
        return tuple(((b.alpha * b.lo) ** b.b, b.b, b.alpha) for b in self.bidders
                     if isinstance(b, Pareto) and b.alpha > 0 and not math.isfinite(b.hi))

    @cached_property
    def power_tail_start(self) -> float:
        """Where every power tail holds exactly and P[Phi >= t] is smooth (past every breakpoint)."""
        return max([b.alpha * b.lo for b in self.bidders if isinstance(b, Pareto)] + list(self.breakpoints))

    def tail_integral(self, lo: float, hi: float = math.inf, checked: bool = False) -> Integral:
        """integral_lo^hi P[Phi >= t] dt (hi capped at the top of the support; checked as in
        :func:`integrate_pieces`).

        Past :attr:`power_tail_start` an infinite range is split as in :func:`integrate_power_tail`,
        the uncapped Paretos' terms c_i t^(-b_i) in closed form: a tail that decays like t^(-1.001)
        holds mass beyond the largest float, which no quadrature reaches.
        """
        hi = min(hi, self.top)
        if lo >= hi:
            return Integral(0.0, 0.0)

        def survival(t, _):
            return self.prob_at_least(t)

        if math.isfinite(hi) or not self.power_tails:
            return integrate_pieces(survival, pieces_between(self.breakpoints, lo, hi), checked=checked,
                                    scale=self.value_scale)
        cut = max(lo, self.power_tail_start)
        head = integrate_pieces(survival, pieces_between(self.breakpoints, lo, cut), checked=checked,
                                scale=self.value_scale) if lo < cut \
            else Integral(0.0, 0.0)
        tail = integrate_power_tail(survival, cut, [(c, b) for c, b, _ in self.power_tails], checked,
                                    scale=self.value_scale)
        return Integral(head.value + tail.value, head.error + tail.error)

    @cached_property
    def optimal_revenue(self) -> Integral:
        """OPT: Myerson's revenue with no intermediary, E[Phi+] (Theorem D.4)."""
        return self.tail_integral(0.0)

    def welfare(self, menu: Menu, checked: bool = False) -> Integral:
        """E[v_winner x_option]: expected value delivered to the winner.

        One quadrature over virtual values t,
            integral x(t) sum_i phi_i^-1(t) q_i(t) prod_{j != i} P[phi_j < t] dt
        (q_i the density of phi_i(V_i)), plus each point mass of some phi_i in
        closed form with its tie-aware chance of winning. Checked as in :func:`integrate_pieces`.
        """
        start = menu.sale_threshold
        probs = menu.probabilities()
        total, error = 0.0, 0.0
        for i, d in enumerate(self.bidders):
            for t, _, value_mass in d.virtual_point_masses():
                if t >= start:
                    x = probs[menu.choose(t)]
                    total += value_mass * x * self.win_share(np.array([i]), np.array([t]))[0]
        cuts = [r.start for r in menu.regions] + list(self.breakpoints)

        def integrand(t, _):  # once per distinct law, weighted by how many draw from it
            counts = self.counts.reshape((-1,) + (1,) * np.ndim(t))
            below = 1.0 - self.virtual_table.prob_virtual_at_least(t)
            zero = below <= 0.0
            zeros = (counts * zero).sum(axis=0)
            logs = np.log(np.where(zero, 1.0, below))
            total = (counts * logs).sum(axis=0)
            others = np.where(zeros > 0, 0.0, np.exp(total - logs))
            others = np.where(zeros == 1, np.where(zero, np.exp(total), 0.0), others)
            weighted = self.virtual_table.value_density(t)
            k = menu.choose(t)
            x = np.where(k >= 0, probs[np.maximum(k, 0)], 0.0)
            return x * np.sum(counts * weighted * others, axis=0)

        if start >= self.top:
            return Integral(total, error)
        if math.isfinite(self.top) or not self.power_tails:
            part = integrate_pieces(integrand, pieces_between(cuts, start, self.top), checked=checked,
                                    scale=self.value_scale)
            return Integral(total + part.value, part.error)
        # past the last cut an uncapped Pareto contributes (t / alpha) b c t^(-b-1) = (b c / alpha) t^(-b)
        cut = max([start, self.power_tail_start] + cuts)
        last = probs[menu.regions[-1].option]
        head = integrate_pieces(integrand, pieces_between(cuts, start, cut), checked=checked,
                                scale=self.value_scale) if start < cut \
            else Integral(0.0, 0.0)
        tail = integrate_power_tail(integrand, cut, [(last * b * c / a, b) for c, b, a in self.power_tails], checked,
                                    scale=self.value_scale)
        return Integral(total + head.value + tail.value, head.error + tail.error)


@dataclass(frozen=True)
class MenuEvaluation:
    """Exact expected outcome of a seller menu against a best-responding intermediary."""

    seller_revenue: float
    intermediary_revenue: float
    sale_probability: float
    delivery_probability: float
    welfare: float
    quadrature_error: float


def menu_seller_revenue(law: VirtualMaxLaw, menu: Menu) -> float:
    """Lemma 3.10: the seller's revenue sum_k x_k p_k P[Phi in region of k] (no quadrature)."""
    return float(sum(menu.options[r.option].probability * menu.options[r.option].price
                     * law.prob_between(r.start, r.end) for r in menu.regions))


def evaluate_menu(law: VirtualMaxLaw, menu: Menu) -> MenuEvaluation:
    """Lemma 3.10 in closed form over the regions of the menu's envelope.

    The quadrature error is bounded by two independent rules (:func:`integrate_pieces`, checked).

    For the region [c, d) taking option (x, p):
    seller gets x p P[c <= Phi < d]; the intermediary gets
    x ((c - p) P[c <= Phi < d] + integral_c^d P[Phi >= t] dt - (d - c) P[Phi >= d]).
    """
    inter = deliver = err = 0.0
    for r in menu.regions:
        o = menu.options[r.option]
        mass = law.prob_between(r.start, r.end)
        tail = law.tail_integral(r.start, r.end, checked=True)
        beyond = 0.0 if not math.isfinite(r.end) else (r.end - r.start) * float(law.prob_at_least(r.end))
        inter += o.probability * ((r.start - o.price) * mass + tail.value - beyond)
        deliver += o.probability * mass
        err += o.probability * tail.error
    welfare = law.welfare(menu, checked=True)
    return MenuEvaluation(menu_seller_revenue(law, menu), float(inter), float(law.prob_at_least(menu.sale_threshold)),
                          float(deliver), float(welfare.value), float(err + welfare.error))
