"""Bidder value distributions with virtual values (monopolist-intermediary, App. D).

Every distribution is a continuous law on ``[lo, hi)`` plus, possibly, an atom
at ``hi`` (the capped Pareto ``F_eps,H`` of Theorem 3.4, and ``point:V``).
Cumulative functions, densities, quantiles and sampling come from
``scipy.stats`` (for uniform, exponential and Pareto laws, from the same formulas in
:mod:`agora.market.frozen_laws`); on top of them this module gives

* the virtual value ``phi(v) = v - (1 - F(v)) / f(v)`` on the continuous part
  and ``phi = hi`` on an atom at ``hi`` (the slope of the revenue curve there),
* its generalised inverse ``virtual_threshold(t) = inf{v : phi(v) >= t}``,
  the reserve ``phi^-1(t)`` of the shifted Myerson auction (Theorem 3.1),
* ``P[phi(V) >= t]``, the monopoly price ``phi^-1(0)``, the law of the max of
  ``n`` draws, and a regularity report on both scales of DESIGN.md
  (alpha-strong regularity, alpha = 1 is MHR; lambda = 1 - alpha).

Specs (the same on the command line, in TOML and in Python) are parsed by
:func:`parse_spec`; a bad spec raises :class:`SpecError` naming the accepted forms.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from agora.market.errors import InputError
from agora.market.frozen_laws import FrozenExponential, FrozenPareto, FrozenTruncNormal, FrozenUniform
from agora.market.names import ACCEPTED_SPECS

SCALAR_ROOTS = 4  # up to this many roots at once, brentq beats the vectorised solver
HI_GAP = 1e-12  # how far below the top of a bounded support the continuous part is read, relative to its width

#: The largest magnitude a spec's number may have, and the smallest nonzero one. Within
#: [1e-150, 1e150] the product, quotient and square of any two numbers (v * f(v), a variance,
#: HI / SD) stay finite and normal in double precision (max ~1.8e308, min normal ~2.2e-308);
#: beyond it the formulas of this module would overflow to inf or underflow to 0.
MAX_MAGNITUDE = 1e150
#: A Pareto law's CAP may reach 1e300: its formulas take (SCALE / v)^b and logs, never v^2, and
#: the paper's F_eps,H of Theorem 3.4 needs H >= eps^(-(1-eps)/eps) (about 1e198 at eps = 0.01).
MAX_CAP = 1e300
MIN_MAGNITUDE = 1e-150
MAGNITUDE_RULE = "numbers must be 0 or have magnitude from 1e-150 to 1e150 (so that products stay finite)"
#: The narrowest spread of a law (HI - LO, MEAN, SCALE, SD). The single-item solvers work in
#: units of the market's scale (:mod:`agora.market.single_item.units`) and hold the scale law
#: down to 1e-12; below 1e-13, rescale the units instead.
MIN_SPREAD = 1e-13
#: Shapes the quadrature resolves (measured: beta A = 1e6 and truncnorm windows 1e5 SDs
#: from the mean, or SD / (HI - LO) of 1e-5 or 1e6, fail to converge).
MAX_BETA_SHAPE = 1e4
MAX_TRUNCNORM_SDS = 1e4
TRUNCNORM_SD_RATIO = (1e-3, 1e3)


class SpecError(InputError):
    """A distribution spec that cannot be parsed or has invalid parameters."""


class NotRegularError(InputError):
    """A distribution whose virtual value decreases somewhere (ironing is out of scope)."""


@dataclass(frozen=True)
class RegularityReport:
    """Regularity of a distribution on both scales used by the papers.

    ``alpha`` is the strong-regularity parameter of monopolist-intermediary
    (Definition D.1: phi' >= alpha; 1 = MHR, 0 = regular), capped at 1;
    ``lam = 1 - alpha`` is the lambda-regularity of intermediary-proof-mechanisms
    (0 = MHR, 1 = regular). ``min_slope`` is the smallest slope of phi found.
    """

    regular: bool
    alpha: float
    lam: float
    min_slope: float
    label: str
    method: str

    @classmethod
    def from_slope(cls, min_slope: float, method: str) -> RegularityReport:
        regular = min_slope >= -1e-9
        alpha = float(min(1.0, max(0.0, min_slope))) if regular else 0.0
        if not regular:
            label = "not regular"
        elif alpha >= 1.0:
            label = "MHR (alpha = 1)"
        elif alpha > 0.0:
            label = f"alpha-strongly regular (alpha = {alpha:.4g})"
        else:
            label = "regular (alpha = 0)"
        return cls(regular, alpha, 1.0 - alpha, float(min_slope), label, method)


def _as_array(v) -> np.ndarray:
    return np.asarray(v, dtype=float)


class ValueDistribution(ABC):
    """A value law: continuous on ``[lo, hi)`` plus an atom of mass ``atom`` at ``hi``."""

    spec: str
    lo: float
    hi: float
    atom: float = 0.0

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.spec!r})"

    # -- the law -----------------------------------------------------------
    @abstractmethod
    def prob_at_least(self, v) -> np.ndarray:
        """P[V >= v] (counts the atom at ``hi``)."""

    @abstractmethod
    def cdf(self, v) -> np.ndarray:
        """P[V <= v]."""

    @abstractmethod
    def pdf(self, v) -> np.ndarray:
        """Density of the continuous part (0 outside ``[lo, hi)``)."""

    @abstractmethod
    def ppf(self, u) -> np.ndarray:
        """Quantile function: the least v with P[V <= v] >= u."""

    @property
    def quantile_tail(self) -> float:
        """gamma in ppf(u) ~ (1 - u)^(-gamma) as u -> 1: 0 for laws with a finite top or light tails."""
        return 0.0

    def sf(self, v) -> np.ndarray:
        """P[V > v]."""
        return 1.0 - self.cdf(v)

    def isf(self, q) -> np.ndarray:
        """Inverse survival: the least v with P[V > v] <= q; reaches far tails ppf(1 - q) cannot."""
        return self.ppf(1.0 - _as_array(q))

    def logpdf(self, v) -> np.ndarray:
        """log of the continuous part's density (-inf outside [lo, hi))."""
        with np.errstate(divide="ignore"):
            return np.log(self.pdf(v))

    def value_times_pdf(self, v) -> np.ndarray:
        """v f(v), computed in logs so that far tails do not underflow (v > 0)."""
        v = _as_array(v)
        with np.errstate(divide="ignore"):
            return np.exp(np.log(np.maximum(v, 0.0)) + self.logpdf(v))

    def rvs(self, size, rng: np.random.Generator) -> np.ndarray:
        """Draw values with a numpy Generator (inverse transform of ``rng.random``)."""
        return self.ppf(rng.random(size))

    @cached_property
    def mean(self) -> float:
        """E[V] = lo + integral of P[V > v] over [lo, hi]."""
        from scipy import integrate  # here, not at the top: parsing a spec does not load scipy

        val, _ = integrate.quad(lambda v: float(self.sf(v)), self.lo, self.hi, limit=200)
        return self.lo + val

    # -- virtual values ----------------------------------------------------
    @abstractmethod
    def _phi_cont(self, v: np.ndarray) -> np.ndarray:
        """phi on the continuous part, for v in [lo, hi)."""

    def virtual_value(self, v) -> np.ndarray:
        """phi(v); on the atom at ``hi`` it is ``hi`` (slope of the revenue curve)."""
        v = _as_array(v)
        inside = np.clip(v, self.lo, self._hi_minus)
        phi = self._phi_cont(inside)
        return np.where(v >= self.hi, self.hi, phi)

    @cached_property
    def _hi_minus(self) -> float:
        """A point just below ``hi`` where the continuous part is still defined: 1e-12 of the support's
        width below it (at least a few units in the last place of ``hi``), so the same at every scale."""
        if not math.isfinite(self.hi):
            return math.inf
        return self.hi - max(HI_GAP * (self.hi - self.lo), 4 * math.ulp(self.hi))

    @cached_property
    def _unit(self) -> float:
        """The law's own scale for absolute tolerances: the support's width, or its interquartile range
        when the support is unbounded (so that a law and the same law times c are solved alike)."""
        width = self.hi - self.lo
        return width if math.isfinite(width) and width > 0 else self._spread

    @cached_property
    def _spread(self) -> float:
        """The interquartile range (the continuous part's scale), inf for a point mass."""
        spread = float(self.ppf(0.75) - self.ppf(0.25))
        return spread if spread > 0 else math.inf

    @cached_property
    def phi_lo(self) -> float:
        """phi at the bottom of the support."""
        return float(self._phi_cont(np.array(self.lo)))

    @cached_property
    def phi_top(self) -> float:
        """sup of phi over the continuous part (limit as v -> hi from below)."""
        if not math.isfinite(self.hi):
            return math.inf
        if self.atom == 0.0:
            return self.hi
        return float(self._phi_cont(np.array(self._hi_minus)))

    def _theta_cont(self, t: np.ndarray) -> np.ndarray:
        """Solve phi(v) = t on the continuous part for phi_lo < t <= phi_top.

        Vectorised bracketing root finder (scipy.optimize.elementwise.find_root);
        a few points on a bounded support go to scipy's brentq, which costs less per call.
        """
        from scipy.optimize import brentq, elementwise  # here, not at the top: parsing does not load scipy

        if t.size == 0:
            return t
        if math.isfinite(self.hi):
            top = float(self._phi_cont(np.array(self._hi_minus)))
            if np.any(t >= top):  # within HI_GAP of the width below hi: the limit is hi itself
                out = np.full_like(t, self.hi if self.atom == 0.0 else self._hi_minus)
                inner = t < top
                out[inner] = self._theta_cont(t[inner])
                return out
            if t.size <= SCALAR_ROOTS:
                return np.array([brentq(lambda v, tt=tt: float(self._phi_cont(np.array(v))) - tt,
                                        self.lo, self._hi_minus, xtol=1e-14 * self._unit, rtol=1e-15)
                                 for tt in t])
            lo = np.full_like(t, self.lo)
            hi = np.full_like(t, self._hi_minus)
        else:
            lo, hi = self._unbounded_bracket(t)
        res = elementwise.find_root(
            lambda v, tt: self._phi_cont(v) - tt, (lo, hi), args=(t,),
            tolerances=dict(xatol=1e-14 * self._unit, xrtol=4 * np.finfo(float).eps))
        return res.x

    def _unbounded_bracket(self, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Brackets of phi(v) = t on an unbounded support: [max(t, LO), t + LO - phi(LO)] where they hold.

        phi(v) = v - (1 - F(v)) / f(v) <= v gives the left end; where (1 - F) / f is nonincreasing
        (an increasing hazard rate: the truncated normal) phi(v) >= v - (LO - phi(LO)) gives the right
        one. Both are checked; the rest go to scipy's expanding bracket search.
        """
        lo = np.maximum(t, self.lo)
        hi = t + (self.lo - self.phi_lo)
        with np.errstate(invalid="ignore", over="ignore"):
            bad = ~(np.isfinite(hi) & (self._phi_cont(lo) <= t) & (self._phi_cont(hi) >= t))
        if np.any(bad):
            from scipy.optimize import elementwise  # here, not at the top: parsing does not load scipy

            bracket = elementwise.bracket_root(
                lambda v, tt: self._phi_cont(v) - tt,
                np.full_like(t[bad], self.lo + self._unit), np.full_like(t[bad], self.lo + 2 * self._unit),
                xmin=self.lo, args=(t[bad],))
            lo[bad], hi[bad] = bracket.bracket
        return lo, hi

    def virtual_threshold(self, t) -> np.ndarray:
        """phi^-1(t) = inf{v : phi(v) >= t}, +inf when no value reaches t.

        This is the reserve the intermediary sets for this bidder when the
        seller's price is t (Theorem 3.1); ``virtual_threshold(0)`` is the
        monopoly price.
        """
        t = _as_array(t)
        out = np.full(t.shape, math.inf)
        out[t <= self.phi_lo] = self.lo
        mid = (t > self.phi_lo) & (t <= self.phi_top)
        if math.isfinite(self.hi):
            out[(t > self.phi_top) & (t <= self.hi)] = self.hi
        out[mid] = self._theta_cont(t[mid])
        return out

    def prob_virtual_at_least(self, t) -> np.ndarray:
        """P[phi(V) >= t]: the chance this bidder clears a virtual reserve t."""
        theta = self.virtual_threshold(t)
        return np.where(np.isfinite(theta), self.prob_at_least(theta), 0.0)

    def prob_virtual_equal(self, t) -> np.ndarray:
        """P[phi(V) = t] (nonzero only at an atom of phi, e.g. the atom at ``hi``)."""
        t = _as_array(t)
        return np.where((t == self.hi) & (self.atom > 0), self.atom, 0.0)

    def virtual_slope(self, v) -> np.ndarray:
        """phi'(v) on the continuous part, by central differences (closed forms override).

        The step is 1e-5 of max(|v|, the law's width or interquartile range), the same at every scale.
        Within a hair of an end of the support, where a central step would vanish, the difference is
        one-sided, a step of 1e-5 of the support (of its interquartile range if unbounded) inward.
        """
        v = _as_array(v)
        room = np.minimum(v - self.lo, self._hi_minus - v)
        h = np.minimum(1e-5 * np.maximum(self._unit, np.abs(v)), np.maximum(room / 2, 0.0))
        step = 1e-5 * min(self._hi_minus - self.lo, self._spread)
        edge = h < 1e-3 * step
        with np.errstate(divide="ignore", invalid="ignore"):
            central = (self._phi_cont(v + h) - self._phi_cont(v - h)) / (2 * h)
        inward = np.where(v - self.lo < self._hi_minus - v, step, -step)
        one_sided = (self._phi_cont(v + inward) - self._phi_cont(v)) / inward
        return np.where(edge, one_sided, central)

    def virtual_density(self, t) -> np.ndarray:
        """Density of phi(V) at t on its continuous part: f(phi^-1(t)) / phi'(phi^-1(t))."""
        t = _as_array(t)
        inside = (t > self.phi_lo) & (t < self.phi_top)
        out = np.zeros(t.shape)
        if np.any(inside):
            v = self.virtual_threshold(t[inside])
            out[inside] = self.pdf(v) / self.virtual_slope(v)
        return out

    def value_density(self, t) -> np.ndarray:
        """phi^-1(t) times the density of phi(V) at t: what welfare integrates over t."""
        density = self.virtual_density(t)
        return np.where(density > 0, self.virtual_threshold(t), 0.0) * density

    def virtual_point_masses(self) -> list[tuple[float, float, float]]:
        """Atoms of phi(V) as (t, P[phi(V) = t], E[V; phi(V) = t])."""
        return [(self.hi, self.atom, self.hi * self.atom)] if self.atom > 0 else []

    @property
    def ties_possible(self) -> bool:
        """Does phi(V) have an atom (so two bidders can tie at the top with positive chance)?"""
        return self.atom > 0

    @property
    def virtual_atoms(self) -> tuple[float, ...]:
        """Points t where P[phi(V) >= t] jumps."""
        return (self.hi,) if self.atom > 0 and math.isfinite(self.hi) else ()

    @property
    def virtual_breakpoints(self) -> tuple[float, ...]:
        """Points where P[phi(V) >= t] is not smooth in t (kinks and jumps)."""
        pts = [self.phi_lo, self.phi_top, self.hi]
        return tuple(p for p in pts if math.isfinite(p))

    @cached_property
    def monopoly_price(self) -> float:
        """phi^-1(0): the optimal posted price to this bidder alone (Myerson)."""
        return float(self.virtual_threshold(0.0))

    # -- regularity --------------------------------------------------------
    @cached_property
    def regularity(self) -> RegularityReport:
        """Smallest slope of phi, measured by finite differences on 4001 quantiles."""
        u = np.linspace(0.0, 1.0 - max(self.atom, 0.0), 4003)[1:-1]
        v = np.unique(self.ppf(u))
        v = v[v < self.hi]
        if v.size < 3:
            return RegularityReport.from_slope(1.0, "point mass (constant value)")
        phi = self._phi_cont(v)
        slopes = np.diff(phi) / np.diff(v)
        return RegularityReport.from_slope(float(np.min(slopes)),
                                           f"finite differences of phi on {v.size} quantiles")

    def require_regular(self, who: str = "bidder") -> None:
        """Raise NotRegularError unless phi is nondecreasing."""
        if not self.regularity.regular:
            raise NotRegularError(
                f"{who} {self.spec} is not regular (its virtual value decreases; smallest slope "
                f"{self.regularity.min_slope:.3g}); ironing is not supported: use a regular distribution")

    def max_of(self, n: int) -> ValueDistribution:
        """The law of the highest of ``n`` independent draws."""
        return MaxOf(self, n)


class ScipyDistribution(ValueDistribution):
    """``V = min(X, cap)`` for a continuous ``scipy.stats`` law X (atom at cap if X can pass it)."""

    def __init__(self, spec: str, rv, cap: float = math.inf):
        self.spec = spec
        self.rv = rv
        lo, hi = rv.support()
        self.lo = float(lo)
        self.hi = float(min(hi, cap))
        self.atom = float(rv.sf(cap)) if cap < hi else 0.0

    def prob_at_least(self, v):
        v = _as_array(v)
        return np.where(v > self.hi, 0.0, np.where(v <= self.lo, 1.0, self.rv.sf(v)))

    def cdf(self, v):
        v = _as_array(v)
        return np.where(v >= self.hi, 1.0, self.rv.cdf(v))

    def sf(self, v):
        v = _as_array(v)
        return np.where(v >= self.hi, 0.0, self.rv.sf(v))

    def pdf(self, v):
        v = _as_array(v)
        return np.where(v >= self.hi, 0.0, self.rv.pdf(v))

    def logpdf(self, v):
        v = _as_array(v)
        return np.where(v >= self.hi, -np.inf, self.rv.logpdf(v))

    def ppf(self, u):
        return np.minimum(self.rv.ppf(_as_array(u)), self.hi)

    def isf(self, q):
        return np.minimum(self.rv.isf(_as_array(q)), self.hi)

    def rvs(self, size, rng):
        return np.minimum(self.rv.rvs(size=size, random_state=rng), self.hi)

    @cached_property
    def mean(self):
        return float(self.rv.mean()) if self.atom == 0.0 else super().mean

    def _phi_cont(self, v):
        if hasattr(self.rv, "inverse_hazard"):  # a law with its own (1 - F) / f
            return v - self.rv.inverse_hazard(v)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            ratio = np.exp(self.rv.logsf(v) - self.rv.logpdf(v))
        ratio = np.where(np.isnan(ratio), 0.0, ratio)  # 0/0 only at the top of the support
        return v - ratio


class Uniform(ScipyDistribution):
    """uniform:LO,HI. phi(v) = 2v - HI; MHR."""

    def __init__(self, lo: float, hi: float):
        super().__init__(f"uniform:{lo:g},{hi:g}", FrozenUniform(loc=lo, scale=hi - lo))

    def _phi_cont(self, v):
        return 2.0 * v - self.hi

    def rvs(self, size, rng):
        return rng.uniform(self.lo, self.hi, size)

    def prob_at_least(self, v):
        return np.clip((self.hi - _as_array(v)) / (self.hi - self.lo), 0.0, 1.0)

    def virtual_slope(self, v):
        return np.full(np.shape(v), 2.0)

    def _theta_cont(self, t):
        return (t + self.hi) / 2.0

    @cached_property
    def regularity(self):
        return RegularityReport.from_slope(2.0, "closed form: phi' = 2")


class Exponential(ScipyDistribution):
    """exponential:MEAN. phi(v) = v - MEAN; MHR (constant hazard rate)."""

    def __init__(self, mean: float):
        self.scale = mean
        super().__init__(f"exponential:{mean:g}", FrozenExponential(scale=mean))

    def _phi_cont(self, v):
        return v - self.scale

    def _theta_cont(self, t):
        return t + self.scale

    def rvs(self, size, rng):
        return rng.exponential(self.scale, size)

    def prob_at_least(self, v):
        return np.exp(-np.maximum(_as_array(v), 0.0) / self.scale)

    def virtual_slope(self, v):
        return np.ones(np.shape(v))

    @cached_property
    def regularity(self):
        return RegularityReport.from_slope(1.0, "closed form: phi' = 1")


class Pareto(ScipyDistribution):
    """pareto:ALPHA,SCALE[,CAP]: survival (SCALE/v)^(1/(1-ALPHA)) on [SCALE, CAP), atom at CAP.

    phi(v) = ALPHA * v below the cap, so the law is ALPHA-strongly regular;
    ALPHA = 0 is the equal-revenue law. With SCALE = 1 and CAP = H it is the
    paper's F_eps,H with eps = ALPHA (Theorem 3.4).
    """

    def __init__(self, alpha: float, scale: float, cap: float = math.inf):
        self.alpha = alpha
        self.b = 1.0 / (1.0 - alpha)
        spec = f"pareto:{alpha:g},{scale:g}" + (f",{cap:g}" if math.isfinite(cap) else "")
        super().__init__(spec, FrozenPareto(self.b, scale=scale), cap)

    @property
    def quantile_tail(self) -> float:
        return 1.0 - self.alpha if math.isinf(self.hi) else 0.0

    def _phi_cont(self, v):
        return self.alpha * v

    def _theta_cont(self, t):
        return t / self.alpha

    def ppf(self, u):
        with np.errstate(divide="ignore"):  # u = 1: log1p(-1) = -inf, the quantile +inf
            return self._quantile(_as_array(u))

    def _quantile(self, u: np.ndarray) -> np.ndarray:
        """scale * (1 - u)^(-1/b), capped, written with log1p to stay exact near u = 1."""
        return np.minimum(self.lo * np.exp(-np.log1p(-u) / self.b), self.hi)

    def rvs(self, size, rng):
        return self._quantile(rng.random(size))  # u < 1: no division by zero to silence

    def isf(self, q):
        with np.errstate(divide="ignore"):
            return np.minimum(self.lo * _as_array(q) ** (-1.0 / self.b), self.hi)

    def prob_at_least(self, v):
        v = _as_array(v)
        with np.errstate(divide="ignore"):
            tail = (self.lo / np.maximum(v, self.lo)) ** self.b
        return np.where(v > self.hi, 0.0, tail)

    @cached_property
    def mean(self):
        """E[min(X, CAP)] = SCALE + SCALE^b (CAP^(1-b) - SCALE^(1-b)) / (1 - b)."""
        s, b, cap = self.lo, self.b, self.hi
        if self.alpha == 0.0:  # b = 1: the integral of s/v is s ln(CAP/s)
            return s + s * math.log(cap / s)
        tail = 0.0 if not math.isfinite(cap) else cap ** (1.0 - b)
        return s + s ** b * (tail - s ** (1.0 - b)) / (1.0 - b)

    def prob_virtual_equal(self, t):
        t = _as_array(t)
        flat = (self.alpha == 0.0) & (t == 0.0)  # equal revenue: phi = 0 below the cap
        return np.where(flat, 1.0 - self.atom, super().prob_virtual_equal(t))

    @property
    def virtual_breakpoints(self):
        return super().virtual_breakpoints + ((0.0,) if self.alpha == 0.0 else ())

    @property
    def ties_possible(self):
        return self.atom > 0 or self.alpha == 0.0  # equal revenue: phi = 0 on a whole interval

    def virtual_slope(self, v):
        return np.full(np.shape(v), self.alpha)

    def virtual_density(self, t):
        if self.alpha == 0.0:  # phi(V) has no density: it is 0 or the cap
            return np.zeros(np.shape(t))
        return super().virtual_density(t)

    def logpdf(self, v):
        """log b + b log SCALE - (b + 1) log v on [SCALE, CAP): exact where the density underflows."""
        v = _as_array(v)
        inside = (v >= self.lo) & (v < self.hi)
        safe = np.where(inside, v, self.lo)
        return np.where(inside, math.log(self.b) + self.b * math.log(self.lo) - (self.b + 1) * np.log(safe),
                        -np.inf)

    def value_density(self, t):
        """Closed form b (SCALE / v)^b / ALPHA at v = t / ALPHA, free of underflow for huge t."""
        t = _as_array(t)
        if self.alpha == 0.0:
            return np.zeros(t.shape)
        inside = (t > self.phi_lo) & (t < self.phi_top)
        v = np.where(inside, t / self.alpha, self.lo)
        return np.where(inside, self.b * (self.lo / v) ** self.b / self.alpha, 0.0)

    def virtual_point_masses(self):
        flat = []
        if self.alpha == 0.0:  # phi = 0 on [SCALE, CAP): mass 1 - atom, value E[V; V < CAP]
            flat = [(0.0, 1.0 - self.atom, self.mean - self.hi * self.atom)]
        return flat + super().virtual_point_masses()

    @cached_property
    def regularity(self):
        return RegularityReport.from_slope(self.alpha, f"closed form: phi' = {self.alpha:g}")


class PointMass(ValueDistribution):
    """point:V, a known constant value. phi(V) = V; counted as MHR (Remark 3.2)."""

    def __init__(self, value: float):
        self.spec = f"point:{value:g}"
        self.lo = self.hi = float(value)
        self.atom = 1.0

    def prob_at_least(self, v):
        return np.where(_as_array(v) <= self.hi, 1.0, 0.0)

    def cdf(self, v):
        return np.where(_as_array(v) >= self.hi, 1.0, 0.0)

    def pdf(self, v):
        return np.zeros_like(_as_array(v))

    def ppf(self, u):
        return np.full_like(_as_array(u), self.hi)

    def isf(self, q):
        return np.full_like(_as_array(q), self.hi)

    def rvs(self, size, rng):
        return np.full(size, self.hi)

    @cached_property
    def mean(self):
        return self.hi

    def _phi_cont(self, v):
        return np.full_like(v, self.hi)

    def max_of(self, n):
        return self

    @cached_property
    def phi_lo(self):
        return self.hi

    @cached_property
    def phi_top(self):
        return self.hi

    @property
    def virtual_breakpoints(self):
        return (self.hi,)


class MaxOf(ValueDistribution):
    """The highest of ``n`` i.i.d. draws from ``base``: CDF F^n (Lemma 4.4 uses it)."""

    def __init__(self, base: ValueDistribution, n: int):
        if n < 1:
            raise SpecError(f"the max of n draws needs n >= 1, got n = {n}")
        self.base, self.n = base, int(n)
        self.spec = f"max{n}({base.spec})"
        self.lo, self.hi = base.lo, base.hi
        self.atom = 1.0 - (1.0 - base.atom) ** n

    def prob_at_least(self, v):
        below = 1.0 - self.base.prob_at_least(v)  # P[V < v]
        return 1.0 - below ** self.n

    def cdf(self, v):
        return self.base.cdf(v) ** self.n

    def sf(self, v):
        with np.errstate(divide="ignore"):  # base sf = 1 below the support: log1p(-1) = -inf
            return -np.expm1(self.n * np.log1p(-self.base.sf(v)))

    def pdf(self, v):
        v = _as_array(v)
        return self.n * self.base.cdf(v) ** (self.n - 1) * self.base.pdf(v)

    def ppf(self, u):
        return self.base.ppf(_as_array(u) ** (1.0 / self.n))

    def _phi_cont(self, v):
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = self.sf(v) / self.pdf(v)
        return v - np.where(np.isnan(ratio), 0.0, ratio)  # 0/0 only at the top of the support


def _numbers(spec: str, body: str, forms: str, counts: tuple[int, ...], inf_at: int | None = None,
             cap_at: int | None = None) -> list[float]:
    """The numbers of a spec, each finite and within the magnitude bounds (``inf`` only at ``inf_at``;
    up to :data:`MAX_CAP` at ``cap_at``)."""
    parts = [p.strip() for p in body.split(",")] if body.strip() else []
    if len(parts) not in counts:
        need = " or ".join(str(c) for c in counts)
        raise SpecError(f"spec '{spec}' needs {need} numbers ({forms}); accepted: {ACCEPTED_SPECS}")
    try:
        numbers = [float(p) for p in parts]
    except ValueError:
        bad = next(p for p in parts if not _is_float(p))
        raise SpecError(f"spec '{spec}': '{bad}' is not a number; accepted: {ACCEPTED_SPECS}") from None
    for i, (text, x) in enumerate(zip(parts, numbers)):
        if math.isnan(x):
            raise SpecError(f"spec '{spec}': '{text}' is not a number; accepted: {ACCEPTED_SPECS}")
        if x == math.inf and i == inf_at:
            continue
        if i == cap_at and MAX_MAGNITUDE < x <= MAX_CAP:
            continue
        if not (x == 0 or MIN_MAGNITUDE <= abs(x) <= MAX_MAGNITUDE):
            raise SpecError(f"spec '{spec}': {text} is out of range: {MAGNITUDE_RULE}"
                            + ("" if inf_at is None else f", or inf for {forms.split(',')[inf_at].strip('[]')}")
                            + ("" if cap_at is None else f" (CAP up to {MAX_CAP:g})")
                            + f"; accepted: {ACCEPTED_SPECS}")
    return numbers


def _is_float(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _check(ok: bool, spec: str, rule: str) -> None:
    if not ok:
        raise SpecError(f"spec '{spec}': {rule}; accepted: {ACCEPTED_SPECS}")


def _spread(width: float, spec: str, what: str) -> None:
    _check(width >= MIN_SPREAD, spec, f"needs {what} >= {MIN_SPREAD:g} (rescale the units), got {width:g}")


def _truncnorm_shape(mean: float, sd: float, lo: float, hi: float, spec: str) -> None:
    """The window [LO, HI] within 1e4 SDs of MEAN, and SD within 1e-3..1e3 of its width."""
    _spread(sd, spec, "SD")
    for name, end in (("LO", lo), ("HI", hi)):
        _check(not math.isfinite(end) or abs(end - mean) <= MAX_TRUNCNORM_SDS * sd, spec,
               f"needs |{name} - MEAN| <= {MAX_TRUNCNORM_SDS:g} SD, got {abs(end - mean) / sd:.3g} SD")
    if math.isfinite(hi):
        low, high = TRUNCNORM_SD_RATIO
        _check(low <= sd / (hi - lo) <= high, spec,
               f"needs SD / (HI - LO) from {low:g} to {high:g}, got {sd / (hi - lo):.3g}")


def parse_spec(spec: str | ValueDistribution) -> ValueDistribution:
    """Build a distribution from a spec string such as ``uniform:0,1`` (DESIGN.md)."""
    if isinstance(spec, ValueDistribution):
        return spec
    if not isinstance(spec, str) or ":" not in spec:
        raise SpecError(f"cannot read distribution spec {spec!r}; accepted: {ACCEPTED_SPECS}")
    family, body = (s.strip() for s in spec.split(":", 1))
    family = family.lower()
    if family == "uniform":
        lo, hi = _numbers(spec, body, "uniform:LO,HI", (2,))
        _check(0 <= lo < hi < math.inf, spec, f"needs 0 <= LO < HI < inf, got LO={lo:g}, HI={hi:g}")
        _spread(hi - lo, spec, "HI - LO")
        return Uniform(lo, hi)
    if family == "exponential":
        (mean,) = _numbers(spec, body, "exponential:MEAN", (1,))
        _check(0 < mean < math.inf, spec, f"needs MEAN > 0, got {mean:g}")
        _spread(mean, spec, "MEAN")
        return Exponential(mean)
    if family == "pareto":
        args = _numbers(spec, body, "pareto:ALPHA,SCALE[,CAP]", (2, 3), inf_at=2, cap_at=2)
        alpha, scale = args[0], args[1]
        cap = args[2] if len(args) == 3 else math.inf
        _check(0 <= alpha < 1, spec, f"needs 0 <= ALPHA < 1, got ALPHA={alpha:g}")
        _check(0 < scale < math.inf, spec, f"needs SCALE > 0, got SCALE={scale:g}")
        _spread(scale, spec, "SCALE")
        _check(cap > scale, spec, f"needs CAP > SCALE, got CAP={cap:g}")
        _check(alpha > 0 or math.isfinite(cap), spec,
               "ALPHA = 0 (equal revenue) has an infinite mean: give a CAP")
        return Pareto(alpha, scale, cap)
    if family == "point":
        (value,) = _numbers(spec, body, "point:V", (1,))
        _check(0 <= value < math.inf, spec, f"needs V >= 0, got V={value:g}")
        return PointMass(value)
    if family == "beta":
        a, b, lo, hi = _numbers(spec, body, "beta:A,B,LO,HI", (4,))
        _check(a > 0 and b > 0, spec, f"needs A > 0 and B > 0, got A={a:g}, B={b:g}")
        _check(max(a, b) <= MAX_BETA_SHAPE, spec, f"needs A, B <= {MAX_BETA_SHAPE:g}, got A={a:g}, B={b:g}")
        _check(0 <= lo < hi < math.inf, spec, f"needs 0 <= LO < HI < inf, got LO={lo:g}, HI={hi:g}")
        _spread(hi - lo, spec, "HI - LO")
        from scipy import stats

        return ScipyDistribution(f"beta:{a:g},{b:g},{lo:g},{hi:g}",
                                 stats.beta(a, b, loc=lo, scale=hi - lo))
    if family == "truncnorm":
        mean, sd, lo, hi = _numbers(spec, body, "truncnorm:MEAN,SD,LO,HI", (4,), inf_at=3)
        _check(sd > 0, spec, f"needs SD > 0, got SD={sd:g}")
        _check(0 <= lo < hi, spec, f"needs 0 <= LO < HI, got LO={lo:g}, HI={hi:g}")
        _truncnorm_shape(mean, sd, lo, hi, spec)
        rv = FrozenTruncNormal((lo - mean) / sd, (hi - mean) / sd, loc=mean, scale=sd)
        return ScipyDistribution(f"truncnorm:{mean:g},{sd:g},{lo:g},{hi:g}", rv)
    raise SpecError(f"unknown distribution '{family}' in spec '{spec}'; accepted: {ACCEPTED_SPECS}")
