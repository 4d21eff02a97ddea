"""Virtual-value laws of many bidders at once, family by family.

For ``uniform:LO,HI`` (phi = 2v - HI), ``exponential:MEAN`` (phi = v - MEAN) and
``pareto:ALPHA,SCALE[,CAP]`` with ALPHA > 0 (phi = ALPHA v) the virtual value is affine,
a v + c, on the continuous part [lo, hi), so the reserve the intermediary sets at a seller
price t (Theorem 3.1) is

    phi^-1(t) = lo on t <= phi_lo,  (t - c) / a on (phi_lo, phi_top],  hi on (phi_top, hi],  +inf above,

and P[phi(V) >= t] is the family's survival at phi^-1(t). A :class:`VirtualTable` evaluates
every bidder of one family in one array expression (a row per distinct law), where evaluating
bidder by bidder costs a Python call per law: 100 different bidders cost three passes, not 100.
Other laws (beta, truncated normal, the equal-revenue Pareto, ...) keep their own methods.
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

    def virtual_threshold(self, t: np.ndarray) -> np.ndarray:
        """phi_i^-1(t) for every law i, shape (m, *t.shape)."""
        lo, hi, phi_lo, phi_top = (self._rows(p, t) for p in (self.lo, self.hi, self.phi_lo, self.phi_top))
        inner = (t - self._rows(self.intercept, t)) / self._rows(self.slope, t)
        return np.where(t <= phi_lo, lo, np.where(t <= phi_top, inner, np.where(t <= hi, hi, math.inf)))

    @abstractmethod
    def survival(self, v: np.ndarray, t: np.ndarray) -> np.ndarray:
        """P[V_i >= v_i] for rows v (finite entries), the family's own closed form."""

    @abstractmethod
    def value_density(self, t: np.ndarray) -> np.ndarray:
        """phi_i^-1(t) times the density of phi_i(V_i) at t, shape (m, *t.shape)."""

    def prob_virtual_at_least(self, t: np.ndarray) -> np.ndarray:
        """P[phi_i(V_i) >= t] for every law i, shape (m, *t.shape)."""
        theta = self.virtual_threshold(t)
        finite = np.isfinite(theta)
        return np.where(finite, self.survival(np.where(finite, theta, self._rows(self.lo, t)), t), 0.0)

    def _inside(self, t: np.ndarray) -> np.ndarray:
        return (t > self._rows(self.phi_lo, t)) & (t < self._rows(self.phi_top, t))


class UniformStack(AffineStack):
    """uniform:LO,HI: phi = 2v - HI; P[V >= v] = (HI - v) / (HI - LO), density 1 / (HI - LO)."""

    def __init__(self, laws):
        super().__init__(laws, [2.0] * len(laws), [-d.hi for d in laws])

    def survival(self, v, t):
        lo, hi = self._rows(self.lo, t), self._rows(self.hi, t)
        return np.clip((hi - v) / (hi - lo), 0.0, 1.0)

    def value_density(self, t):
        lo, hi = self._rows(self.lo, t), self._rows(self.hi, t)
        return np.where(self._inside(t), self.virtual_threshold(t) / (hi - lo) / 2.0, 0.0)


class ExponentialStack(AffineStack):
    """exponential:MEAN: phi = v - MEAN; P[V >= v] = exp(-v / MEAN), density exp(-v / MEAN) / MEAN."""

    def __init__(self, laws):
        super().__init__(laws, [1.0] * len(laws), [-d.scale for d in laws])
        self.mean = self._column(d.scale for d in laws)

    def survival(self, v, t):
        return np.exp(-np.maximum(v, 0.0) / self._rows(self.mean, t))

    def value_density(self, t):
        mean = self._rows(self.mean, t)
        inside = self._inside(t)
        v = np.where(inside, self.virtual_threshold(t), 0.0)
        return np.where(inside, v * (np.exp(-v / mean) / mean), 0.0)


class ParetoStack(AffineStack):
    """pareto:ALPHA,SCALE[,CAP], ALPHA > 0: phi = ALPHA v; P[V >= v] = (SCALE / v)^b on [SCALE, CAP]."""

    def __init__(self, laws):
        super().__init__(laws, [d.alpha for d in laws], [0.0] * len(laws))
        self.b = self._column(d.b for d in laws)

    def survival(self, v, t):
        lo, hi, b = self._rows(self.lo, t), self._rows(self.hi, t), self._rows(self.b, t)
        return np.where(v > hi, 0.0, (lo / np.maximum(v, lo)) ** b)

    def value_density(self, t):
        """b (SCALE / v)^b / ALPHA at v = t / ALPHA, as :meth:`Pareto.value_density`."""
        lo, b, alpha = self._rows(self.lo, t), self._rows(self.b, t), self._rows(self.slope, t)
        inside = self._inside(t)
        v = np.where(inside, t / alpha, lo)
        return np.where(inside, b * (lo / v) ** b / alpha, 0.0)


def _family(d: ValueDistribution):
    """The stack a law joins, or None (its own methods) if its virtual value is not affine."""
    if type(d) is Uniform:
        return UniformStack
    if type(d) is Exponential:
        return ExponentialStack
    if type(d) is Pareto and d.alpha > 0.0:
        return ParetoStack
    return None


class VirtualTable:
    """P[phi_i(V_i) >= t] and phi_i^-1(t) f_phi_i(t) for a list of laws, one row per law.

    Laws of an affine family are evaluated together (:class:`AffineStack`); the rest one by one.
    """

    def __init__(self, laws: Sequence[ValueDistribution]):
        self.laws = tuple(laws)
        members: dict[type, list[int]] = {}
        self.single: list[int] = []
        for i, d in enumerate(self.laws):
            kind = _family(d)
            if kind is None:
                self.single.append(i)
            else:
                members.setdefault(kind, []).append(i)
        self.stacks = [(np.array(rows), kind([self.laws[i] for i in rows])) for kind, rows in members.items()]

    def _gather(self, t, stacked, single) -> np.ndarray:
        t = np.asarray(t, float)
        out = np.empty((len(self.laws),) + t.shape)
        for rows, stack in self.stacks:
            out[rows] = stacked(stack, t)
        for i in self.single:
            out[i] = single(self.laws[i], t)
        return out

    def prob_virtual_at_least(self, t) -> np.ndarray:
        """Shape (number of laws, *t.shape)."""
        return self._gather(t, lambda s, tt: s.prob_virtual_at_least(tt), lambda d, tt: d.prob_virtual_at_least(tt))

    def value_density(self, t) -> np.ndarray:
        """Shape (number of laws, *t.shape)."""
        return self._gather(t, lambda s, tt: s.value_density(tt), lambda d, tt: d.value_density(tt))
