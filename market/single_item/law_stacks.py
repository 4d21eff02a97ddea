"""Laws of many bidders at once, family by family.

For ``uniform:LO,HI`` (phi = 2v - HI), ``exponential:MEAN`` (phi = v - MEAN) and
``pareto:ALPHA,SCALE[,CAP]`` (phi = ALPHA v) the survival P[V >= v] has a closed form and the
virtual value is affine, a v + c, on the continuous part [lo, hi), so the reserve the
intermediary sets at a seller price t (Theorem 3.1) is

    phi^-1(t) = lo on t <= phi_lo,  (t - c) / a on (phi_lo, phi_top],  hi on (phi_top, hi],  +inf above,

and P[phi(V) >= t] is the family's survival at phi^-1(t). The tables here evaluate every bidder
of one family in one array expression (a row per distinct law), where evaluating bidder by bidder
costs a Python call per law: 100 different bidders cost three passes, not 100.
:class:`VirtualTable` holds P[phi_i(V_i) >= t] (the law of the highest virtual value, FORMULAS.md
1 - G(t)), :class:`SurvivalTable` P[V_i >= c - s_i] (bids for the right, v - p, Section 4).
Other laws (beta, truncated normal, point masses, ...) keep their own methods; the equal-revenue
Pareto (ALPHA = 0, a flat virtual value) joins only the survival table.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Sequence

import numpy as np

from agora.market.distributions import Exponential, Pareto, Uniform, ValueDistribution


class AffineStack(ABC):
    """Laws of one family with phi = a v + c on [lo, hi): thresholds, chances and densities as rows."""

    def __init__(self, laws: Sequence[ValueDistribution], slope: Sequence[float], intercept: Sequence[float]):
        self.laws = tuple(laws)
        self.lo, self.hi = self._column(d.lo for d in laws), self._column(d.hi for d in laws)
        self.phi_lo = self._column(d.phi_lo for d in laws)
        self.phi_top = self._column(d.phi_top for d in laws)
        self.slope, self.intercept = self._column(slope), self._column(intercept)

    @staticmethod
    def _column(values) -> np.ndarray:
        return np.array(list(values), float)

    def _rows(self, param: np.ndarray, t: np.ndarray) -> np.ndarray:
        """A parameter column shaped to broadcast against t: (m, 1, ..., 1)."""
        return param.reshape((-1,) + (1,) * t.ndim)

    def _rows_of(self, param: np.ndarray, v: np.ndarray) -> np.ndarray:
        """A parameter column shaped to broadcast against rows v of shape (m, ...)."""
        return param.reshape((-1,) + (1,) * (v.ndim - 1))

    def virtual_threshold(self, t: np.ndarray) -> np.ndarray:
        """phi_i^-1(t) for every law i, shape (m, *t.shape)."""
        return self.threshold_rows(t[None])

    def threshold_rows(self, t: np.ndarray) -> np.ndarray:
        """phi_i^-1(t[i]) for rows t of shape (m, ...) (or (1, ...), the same t for every law)."""
        lo, hi, phi_lo, phi_top = (self._rows_of(p, t) for p in (self.lo, self.hi, self.phi_lo, self.phi_top))
        inner = (t - self._rows_of(self.intercept, t)) / self._rows_of(self.slope, t)
        return np.where(t <= phi_lo, lo, np.where(t <= phi_top, inner, np.where(t <= hi, hi, math.inf)))

    def shifted_prob_at_least(self, c: np.ndarray, delta: np.ndarray) -> np.ndarray:
        """P[phi^_i(V_i + delta_i) >= c] for every law i, shape (m, *c.shape): Myerson's ranking for an
        anticipated price, phi extended with slope 1 beyond the support (scores.ShiftedVirtualScore)."""
        c = c[None]
        lo, hi, phi_lo = (self._rows_of(p, c) for p in (self.lo, self.hi, self.phi_lo))
        u = np.where(c > hi, c, self.threshold_rows(np.minimum(c, hi)))
        tau = np.where(c < phi_lo, lo - (phi_lo - c), u) - self._rows_of(delta, c)
        finite = np.isfinite(tau)
        return np.where(finite, self.survival(np.where(finite, tau, lo)), 0.0)

    @abstractmethod
    def survival(self, v: np.ndarray) -> np.ndarray:
        """P[V_i >= v[i]] for rows v of shape (m, ...), the family's own closed form."""

    @abstractmethod
    def value_density(self, t: np.ndarray) -> np.ndarray:
        """phi_i^-1(t) times the density of phi_i(V_i) at t, shape (m, *t.shape)."""

    def prob_virtual_at_least(self, t: np.ndarray) -> np.ndarray:
        """P[phi_i(V_i) >= t] for every law i, shape (m, *t.shape)."""
        theta = self.virtual_threshold(t)
        finite = np.isfinite(theta)
        return np.where(finite, self.survival(np.where(finite, theta, self._rows(self.lo, t))), 0.0)

    def _inside(self, t: np.ndarray) -> np.ndarray:
        return (t > self._rows(self.phi_lo, t)) & (t < self._rows(self.phi_top, t))


class UniformStack(AffineStack):
    """uniform:LO,HI: phi = 2v - HI; P[V >= v] = (HI - v) / (HI - LO), density 1 / (HI - LO)."""

    def __init__(self, laws):
        super().__init__(laws, [2.0] * len(laws), [-d.hi for d in laws])

    def survival(self, v):
        lo, hi = self._rows_of(self.lo, v), self._rows_of(self.hi, v)
        return np.clip((hi - v) / (hi - lo), 0.0, 1.0)

    def value_density(self, t):
        lo, hi = self._rows(self.lo, t), self._rows(self.hi, t)
        return np.where(self._inside(t), self.virtual_threshold(t) / (hi - lo) / 2.0, 0.0)


class ExponentialStack(AffineStack):
    """exponential:MEAN: phi = v - MEAN; P[V >= v] = exp(-v / MEAN), density exp(-v / MEAN) / MEAN."""

    def __init__(self, laws):
        super().__init__(laws, [1.0] * len(laws), [-d.scale for d in laws])
        self.mean = self._column(d.scale for d in laws)

    def survival(self, v):
        return np.exp(-np.maximum(v, 0.0) / self._rows_of(self.mean, v))

    def value_density(self, t):
        mean = self._rows(self.mean, t)
        inside = self._inside(t)
        v = np.where(inside, self.virtual_threshold(t), 0.0)
        return np.where(inside, v * (np.exp(-v / mean) / mean), 0.0)


class ParetoStack(AffineStack):
    """pareto:ALPHA,SCALE[,CAP]: phi = ALPHA v; P[V >= v] = (SCALE / v)^b on [SCALE, CAP].

    Its virtual rows need ALPHA > 0 (:func:`_family`); its survival rows take ALPHA = 0 too."""

    def __init__(self, laws):
        super().__init__(laws, [d.alpha for d in laws], [0.0] * len(laws))
        self.b = self._column(d.b for d in laws)

    def survival(self, v):
        lo, hi, b = self._rows_of(self.lo, v), self._rows_of(self.hi, v), self._rows_of(self.b, v)
        with np.errstate(divide="ignore"):
            return np.where(v > hi, 0.0, (lo / np.maximum(v, lo)) ** b)

    def value_density(self, t):
        """b (SCALE / v)^b / ALPHA at v = t / ALPHA, as :meth:`Pareto.value_density`."""
        lo, b, alpha = self._rows(self.lo, t), self._rows(self.b, t), self._rows(self.slope, t)
        inside = self._inside(t)
        v = np.where(inside, t / alpha, lo)
        return np.where(inside, b * (lo / v) ** b / alpha, 0.0)


def prob_any(counts: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """1 - prod_d (1 - rows[d])^counts[d] over the first axis, in logs: accurate when every term is tiny
    (the chance that some bidder clears, each distinct law d held by counts[d] bidders)."""
    counts = np.asarray(counts, float).reshape((-1,) + (1,) * (rows.ndim - 1))
    with np.errstate(divide="ignore"):
        return -np.expm1(np.sum(counts * np.log1p(-rows), axis=0))


def _family(d: ValueDistribution, virtual: bool):
    """The stack a law joins, or None (its own methods): the virtual rows need an affine, increasing phi."""
    if type(d) is Uniform:
        return UniformStack
    if type(d) is Exponential:
        return ExponentialStack
    if type(d) is Pareto and (d.alpha > 0.0 or not virtual):
        return ParetoStack
    return None


class _Table:
    """Rows for a list of laws: stacked by family where one exists, the rest law by law."""

    def __init__(self, laws: Sequence[ValueDistribution], virtual: bool):
        self.laws = tuple(laws)
        members: dict[type, list[int]] = {}
        self.single: list[int] = []
        for i, d in enumerate(self.laws):
            kind = _family(d, virtual)
            if kind is None:
                self.single.append(i)
            else:
                members.setdefault(kind, []).append(i)
        self.stacks = [(np.array(rows), kind([self.laws[i] for i in rows])) for kind, rows in members.items()]

    def _gather(self, t, stacked, single) -> np.ndarray:
        t = np.asarray(t, float)
        out = np.empty((len(self.laws),) + t.shape)
        for rows, stack in self.stacks:
            out[rows] = stacked(stack, rows, t)
        for i in self.single:
            out[i] = single(self.laws[i], i, t)
        return out


class VirtualTable(_Table):
    """P[phi_i(V_i) >= t] and phi_i^-1(t) f_phi_i(t) for a list of laws, one row per law."""

    def __init__(self, laws: Sequence[ValueDistribution]):
        super().__init__(laws, virtual=True)

    def prob_virtual_at_least(self, t) -> np.ndarray:
        """Shape (number of laws, *t.shape)."""
        return self._gather(t, lambda s, _, tt: s.prob_virtual_at_least(tt),
                            lambda d, _, tt: d.prob_virtual_at_least(tt))

    def value_density(self, t) -> np.ndarray:
        """Shape (number of laws, *t.shape)."""
        return self._gather(t, lambda s, _, tt: s.value_density(tt), lambda d, _, tt: d.value_density(tt))


class ShiftedVirtualTable(_Table):
    """P[phi^_i(V_i + delta_i) >= c] for a list of laws and shifts delta_i = s - p, one row per law."""

    def __init__(self, scores: Sequence):
        """``scores``: :class:`~agora.market.single_item.scores.ShiftedVirtualScore` (a law and its delta each)."""
        self.scores = tuple(scores)
        super().__init__([s.dist for s in self.scores], virtual=True)
        self.deltas = np.array([s.delta for s in self.scores], float)

    def prob_at_least(self, c) -> np.ndarray:
        """Shape (number of laws, *c.shape); laws that do not stack use their score's own method."""
        return self._gather(c, lambda stack, rows, cc: stack.shifted_prob_at_least(cc, self.deltas[rows]),
                            lambda _, i, cc: self.scores[i].prob_at_least(cc))


class SurvivalTable(_Table):
    """P[V_i >= c - shift_i] for a list of laws and shifts, one row per law (a bid v - p has shift -p)."""

    def __init__(self, laws: Sequence[ValueDistribution], shifts: Sequence[float]):
        super().__init__(laws, virtual=False)
        self.shifts = np.asarray(shifts, float)

    def prob_at_least(self, c) -> np.ndarray:
        """Shape (number of laws, *c.shape)."""
        def stacked(stack, rows, cc):
            return stack.survival(cc[None] - stack._rows(self.shifts[rows], cc))

        return self._gather(c, stacked, lambda d, i, cc: d.prob_at_least(cc - self.shifts[i]))
