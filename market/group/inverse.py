"""phi^-1 and the survival at it, tabulated once per law (selling-to-a-group, Section 3).

The closed form in the smoothed member (:func:`.expectations.smoothed_moments`) needs
``a = phi^-1(s)`` and ``1 - F(a)`` at every evaluation of the group's expectations. Beta and
truncated-normal laws have no closed-form inverse: a bracketing root finder costs a dozen
evaluations of phi (each an incomplete beta or normal tail) per point.

Instead each law is tabulated once on quantiles: ``v_k = F^-1(u_k)`` (``isf`` in the upper
tail), ``q_k = P[theta >= v_k]`` and ``t_k = phi(v_k) = v_k - q_k / f(v_k)``, even in ``u`` in
the bulk and log-spaced in ``u`` and ``q`` in the tails. ``(v, q)`` is interpolated in ``t`` by
a cubic Hermite spline with the exact slopes ``dv/dt = 1 / phi'(v)`` and ``dq/dt = -f / phi'``
(``phi' = 2 + (q / f) (log f)'``, the score by central differences of the log-density). The
error is stated per cell: the spline through every other node, evaluated at the nodes it skips,
errs about 16 times more than the full one (a cubic Hermite error is h^4 max|v^(4)| / 384);
a cell whose estimate exceeds ``TABLE_TOL`` (relative to the law's span for ``v``, absolute
for ``q``) is answered by the law's own root finder instead, as are points outside the table.
A monotone (PCHIP) spline cannot state its error this way: its estimated slopes err alike at
both ends of a cell, and those errors cancel at the cell's middle.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy.interpolate import CubicHermiteSpline

from agora.market.distributions import ValueDistribution

BULK_NODES = (1 << 15) + 1  # even quantile steps on [BULK_EDGE, 1 - BULK_EDGE]
TAIL_NODES = 1 << 11  # log-spaced tail probabilities from TAIL_REACH to BULK_EDGE at each end
BULK_EDGE = 1e-3
TAIL_REACH = 1e-15
TABLE_TOL = 1e-10  # largest estimated interpolation error a cell may carry


def has_closed_inverse(dist: ValueDistribution) -> bool:
    """Does the law solve phi(v) = t in closed form (uniform, exponential, Pareto)?"""
    return type(dist)._theta_cont is not ValueDistribution._theta_cont


@dataclass(frozen=True)
class VirtualInverse:
    """phi^-1(s) and P[theta >= phi^-1(s)] of one law from a table (see module doc)."""

    dist: ValueDistribution
    t: np.ndarray  # phi(v_k), strictly increasing
    spline: CubicHermiteSpline  # (v(t), q(t)) with q(t) = P[theta >= v(t)]
    trusted: np.ndarray  # (len(t) - 1,) cells whose estimated error is within TABLE_TOL
    error: tuple[float, float]  # largest estimated error on trusted cells: (v / span, q)

    def __call__(self, s) -> tuple[np.ndarray, np.ndarray]:
        """(phi^-1(s), 1 - F(phi^-1(s))) for phi_lo < s <= hi, as the law's root finder gives."""
        s = np.asarray(s, float)
        cell = np.searchsorted(self.t, s) - 1  # t[cell] < s <= t[cell + 1]
        fast = (cell >= 0) & (cell < self.trusted.size)
        fast[fast] = self.trusted[cell[fast]]
        a, surv = np.empty(s.shape), np.empty(s.shape)
        vq = self.spline(s[fast])
        a[fast], surv[fast] = vq[:, 0], np.clip(vq[:, 1], 0.0, 1.0)
        if not np.all(fast):
            slow = ~fast
            a[slow] = self.dist.virtual_threshold(s[slow])
            surv[slow] = survival_at(self.dist, a[slow])
        return a, surv


def survival_at(dist: ValueDistribution, a: np.ndarray) -> np.ndarray:
    """P[theta >= a], 0 where no value reaches the threshold (a = +inf)."""
    finite = np.isfinite(a)
    return np.where(finite, dist.prob_at_least(np.where(finite, a, dist.lo)), 0.0)


def _nodes(dist: ValueDistribution) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(t, v, q, dv/dt) on quantiles, strictly increasing in t and v, with an odd count."""
    tails = np.logspace(np.log10(TAIL_REACH), np.log10(BULK_EDGE), TAIL_NODES, endpoint=False)
    u = np.concatenate([tails, np.linspace(BULK_EDGE, 1.0 - BULK_EDGE, BULK_NODES)])
    v = np.concatenate([dist.ppf(u), dist.isf(tails[::-1])])
    v = v[np.isfinite(v) & (v >= dist.lo) & (v < dist.hi)]
    q = dist.prob_at_least(v)  # the survival at the node itself, whatever the quantile's round-off
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        ratio = q / dist.pdf(v)
        t = v - ratio
        dvdt = 1.0 / (2.0 + ratio * _score(dist, v, float(v[-1] - v[0])))
    keep = np.isfinite(t) & np.isfinite(dvdt) & (dvdt > 0)
    t, v, q, dvdt = t[keep], v[keep], q[keep], dvdt[keep]
    rising = np.ones(t.size, bool)
    while True:  # drop nodes where round-off breaks strict monotonicity
        t, v, q, dvdt = t[rising], v[rising], q[rising], dvdt[rising]
        rising = np.concatenate([[True], (np.diff(t) > 0) & (np.diff(v) > 0)])
        if np.all(rising):
            break
    if t.size % 2 == 0:
        t, v, q, dvdt = t[:-1], v[:-1], q[:-1], dvdt[:-1]
    return t, v, q, dvdt


def _score(dist: ValueDistribution, v: np.ndarray, span: float) -> np.ndarray:
    """(log f)'(v) by central differences of the log-density, the step 1e-5 of the room to the
    nearest end of the support (or of the span): phi'(v) = 2 + (S / f)(v) (log f)'(v)."""
    h = 1e-5 * np.minimum(np.minimum(v - dist.lo, dist.hi - v), span)
    return (dist.logpdf(v + h) - dist.logpdf(v - h)) / (2.0 * h)


def _spline(t, v, q, dvdt) -> CubicHermiteSpline:
    """Cubic Hermite interpolant of (v(t), q(t)): slopes 1 / phi' and -f / phi' = -(q / (v - t)) dv/dt."""
    return CubicHermiteSpline(t, np.column_stack([v, q]), np.column_stack([dvdt, -(q / (v - t)) * dvdt]))


@lru_cache(maxsize=64)
def virtual_inverse(dist: ValueDistribution) -> VirtualInverse:
    """The tabulated inverse of ``dist``'s virtual value with its per-cell error (built once per law).

    With exact slopes a cubic Hermite interpolant errs by at most h^4 max|v^(4)| / 384 on a cell
    of width h, at its middle. The interpolant through every other node, evaluated at the nodes
    it skips (about the middles of its cells), errs about 16 times more than the full one: that
    is the stated error.
    """
    t, v, q, dvdt = _nodes(dist)
    span = float(v[-1] - v[0])
    half = _spline(t[::2], v[::2], q[::2], dvdt[::2])(t[1::2])
    err_v, err_q = np.abs(half[:, 0] - v[1::2]) / span, np.abs(half[:, 1] - q[1::2])
    ok = (err_v <= TABLE_TOL) & (err_q <= TABLE_TOL)  # one flag per pair of cells
    error = (float(err_v[ok].max(initial=0.0)), float(err_q[ok].max(initial=0.0)))
    return VirtualInverse(dist, t, _spline(t, v, q, dvdt), np.repeat(ok, 2), error)


def threshold_and_survival(dist: ValueDistribution, s) -> tuple[np.ndarray, np.ndarray]:
    """(phi^-1(s), P[theta >= phi^-1(s)]) for phi_lo < s <= hi: closed form where the law has one,
    else the table."""
    if has_closed_inverse(dist):
        a = dist.virtual_threshold(s)
        return a, survival_at(dist, a)
    return virtual_inverse(dist)(s)

