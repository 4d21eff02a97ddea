"""phi^-1, the survival at it, and phi(F^-1), tabulated once per law (selling-to-a-group, Section 3).

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

The same nodes give ``phi(F^-1(u))``, the virtual values of the other members' quasi-Monte
Carlo points, as a cubic Hermite spline in ``x = logit(u)`` (slope ``phi'(v) u (1 - u) / f(v)``),
its error stated and used the same way; upper-tail nodes take ``x`` from their own survival,
so the far tail is exact where a quantile function near 1 is not.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from weakref import WeakKeyDictionary

import numpy as np
from scipy.interpolate import CubicHermiteSpline

from agora.market.distributions import ValueDistribution

BULK_NODES = (1 << 15) + 1  # even quantile steps on [BULK_EDGE, 1 - BULK_EDGE]
TAIL_NODES = 1 << 11  # log-spaced tail probabilities from TAIL_REACH to BULK_EDGE at each end
BULK_EDGE = 1e-3
TAIL_REACH = 1e-15
TABLE_TOL = 1e-10  # largest estimated interpolation error a cell may carry
REFINE_ROUNDS = 5  # halvings of the cells of a pair whose estimated error exceeds TABLE_TOL
REFINE_GAIN = 10.0  # the error a halving is counted on dividing by (16 for a smooth function)
ROUNDOFF = 1e-14  # relative round-off of a law's phi(F^-1(u)) (scipy's quantile and density)


def has_closed_inverse(dist: ValueDistribution) -> bool:
    """Does the law solve phi(v) = t in closed form (uniform, exponential, Pareto, whose F^-1
    and phi are closed forms too)?"""
    return type(dist)._theta_cont is not ValueDistribution._theta_cont


@dataclass(frozen=True)
class VirtualInverse:
    """phi^-1(s) and P[theta >= phi^-1(s)] of one law from a table (see module doc)."""

    dist: ValueDistribution
    t: np.ndarray  # phi(v_k), strictly increasing
    spline: CubicHermiteSpline  # (v(t), q(t)) with q(t) = P[theta >= v(t)]
    trusted: np.ndarray  # (len(t) - 1,) cells whose estimated error is within TABLE_TOL
    error: tuple[float, float]  # largest estimated error on trusted cells: (v / span, q)
    x: np.ndarray  # logit(u_k) = log(u_k / (1 - u_k)) of the same nodes, strictly increasing
    by_quantile: CubicHermiteSpline  # phi(F^-1(u)) as a function of x = logit(u)
    trusted_x: np.ndarray  # (len(x) - 1,) cells of by_quantile within TABLE_TOL (relative to the span)
    error_x: float  # largest estimated error of by_quantile on trusted cells, relative to the span

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

    def virtual_at(self, u) -> np.ndarray:
        """phi(F^-1(u)) for u in (0, 1), as ``dist.virtual_value(dist.ppf(u))`` gives."""
        u = np.asarray(u, float)
        with np.errstate(divide="ignore"):
            x = np.log(u) - np.log1p(-u)
        cell = np.searchsorted(self.x, x) - 1
        fast = (cell >= 0) & (cell < self.trusted_x.size)
        fast[fast] = self.trusted_x[cell[fast]]
        out = np.empty(u.shape)
        out[fast] = self.by_quantile(x[fast])
        if not np.all(fast):
            out[~fast] = self.dist.virtual_value(self.dist.ppf(u[~fast]))
        return out


_KEYS: WeakKeyDictionary = WeakKeyDictionary()  # law_key of each live law object, computed once


def law_key(dist: ValueDistribution) -> tuple:
    """What identifies a law across parsed objects: its class, spec, support and its cdf at three
    points inside the support (a spec prints parameters to 6 digits, so the spec alone does not)."""
    if dist not in _KEYS:
        lo, hi = float(dist.lo), float(dist.hi)
        width = hi - lo if math.isfinite(hi) else 1.0
        probes = np.asarray(dist.cdf(lo + width * np.array([0.25, 0.5, 0.75])), float)
        _KEYS[dist] = (type(dist).__name__, dist.spec, lo, hi, *probes.tolist())
    return _KEYS[dist]


def per_law(build: Callable) -> Callable:
    """Cache ``build(dist)`` by :func:`law_key`, so members with one law share one table, whichever
    parsed object carries it (the solver and the mechanism parse the members apart); the 64 laws
    used last are kept."""
    tables: OrderedDict = OrderedDict()

    @wraps(build)
    def cached(dist: ValueDistribution):
        key = law_key(dist)
        if key in tables:
            tables.move_to_end(key)
        else:
            tables[key] = build(dist)
            if len(tables) > 64:
                tables.popitem(last=False)
        return tables[key]

    cached.cache_clear = tables.clear
    return cached


def survival_at(dist: ValueDistribution, a: np.ndarray) -> np.ndarray:
    """P[theta >= a], 0 where no value reaches the threshold (a = +inf)."""
    finite = np.isfinite(a)
    return np.where(finite, dist.prob_at_least(np.where(finite, a, dist.lo)), 0.0)


def _node_values(dist: ValueDistribution, u: np.ndarray, top: np.ndarray,
                 span: float | None = None) -> dict[str, np.ndarray]:
    """Nodes at lower quantiles ``u`` (by ppf) and upper-tail probabilities ``top`` (by isf):
    t = phi(v), v, q = P[theta >= v], dv/dt, x = logit(u) and dt/dx, valid nodes only, sorted by x.
    ``span`` scales the score's step; without it, it is the nodes' own span, returned as "span"."""
    n = {"v": np.concatenate([dist.ppf(u), dist.isf(top)]),
         "x": np.concatenate([np.log(u) - np.log1p(-u), np.log1p(-top) - np.log(top)]),
         "w": np.concatenate([u * (1.0 - u), top * (1.0 - top)])}  # du/dx = u (1 - u)
    n = _rows(n, np.isfinite(n["v"]) & (n["v"] >= dist.lo) & (n["v"] < dist.hi))
    v = n["v"]
    own = span is None
    span = float(v[-1] - v[0]) if own else span
    n["q"] = dist.prob_at_least(v)  # the survival at the node itself, whatever the quantile's round-off
    upper = n["q"] <= 0.5  # there the node's own survival gives its quantile more exactly than u
    with np.errstate(divide="ignore"):
        n["x"] = np.where(upper, np.log1p(-n["q"]) - np.log(n["q"]), n["x"])
    n["w"] = np.where(upper, n["q"] * (1.0 - n["q"]), n["w"])
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        f = dist.pdf(v)
        ratio = n["q"] / f
        n["t"] = v - ratio
        n["dvdt"] = 1.0 / (2.0 + ratio * _score(dist, v, span))
        n["dtdx"] = n["w"] / (f * n["dvdt"])  # phi'(v) dv/du du/dx
    n = _rows(n, np.isfinite(n["t"]) & (n["dvdt"] > 0) & np.isfinite(n["dtdx"]) & (n["dtdx"] > 0))
    n = _rows(n, np.argsort(n["x"], kind="stable"))
    return {**n, "span": span} if own else n


def _monotone(n: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Drop nodes where round-off breaks strict monotonicity in t, v and x; keep an odd count."""
    while True:
        rising = np.concatenate([[True], (np.diff(n["t"]) > 0) & (np.diff(n["v"]) > 0) & (np.diff(n["x"]) > 0)])
        if np.all(rising):
            break
        n = _rows(n, rising)
    if n["t"].size % 2 == 0:
        n = _rows(n, np.arange(n["t"].size) < n["t"].size - 1)
    return n


def _nodes(dist: ValueDistribution) -> dict[str, np.ndarray]:
    """The table's nodes: even in u in the bulk, log-spaced in u and q in the tails, then the
    cells of every pair whose stated error exceeds TABLE_TOL halved in x, REFINE_ROUNDS times at most
    (a halving divides a cubic Hermite error by about 16; pairs that the rounds left cannot bring
    within TABLE_TOL at REFINE_GAIN per round, deep in a tail where phi grows without bound, stay
    untrusted and go to the law's own functions)."""
    tails = np.logspace(np.log10(TAIL_REACH), np.log10(BULK_EDGE), TAIL_NODES, endpoint=False)
    u = np.concatenate([tails, np.linspace(BULK_EDGE, 1.0 - BULK_EDGE, BULK_NODES)])
    top = tails[::-1]  # upper-tail probabilities, by isf
    n = _node_values(dist, u, top)
    span = float(n.pop("span"))
    n = _monotone(n)
    for left_rounds in range(REFINE_ROUNDS, 0, -1):
        ratio = _pair_errors(n)
        bad = (ratio > 1.0) & (ratio <= REFINE_GAIN ** left_rounds)  # the rounds left can bring it within
        if not np.any(bad):
            break
        x = n["x"]
        left, mid, right = x[:-2:2][bad], x[1::2][bad], x[2::2][bad]
        new = np.concatenate([(left + mid) / 2, (mid + right) / 2])
        p = 1.0 / (1.0 + np.exp(-new))  # u = expit(x); the upper half by its tail probability
        low = new <= 0
        extra = _node_values(dist, p[low], 1.0 / (1.0 + np.exp(new[~low])), span)
        merged = {k: np.concatenate([n[k], extra[k]]) for k in n}
        n = _monotone(_rows(merged, np.argsort(merged["x"], kind="stable")))
    return n


def _pair_errors(n: dict[str, np.ndarray]) -> np.ndarray:
    """Per pair of cells: the largest stated error over TABLE_TOL, from the spline through every other
    node at the node it skips, for (v, q) in t and for t in x (v and t relative to the span), as
    :func:`virtual_inverse` states it."""
    t, v, q, x = n["t"], n["v"], n["q"], n["x"]
    span = float(v[-1] - v[0])
    half = _spline(t[::2], v[::2], q[::2], n["dvdt"][::2])(t[1::2])
    by_x = CubicHermiteSpline(x[::2], t[::2], n["dtdx"][::2])(x[1::2])
    err_x = np.where(_resolvable(t, span), np.abs(by_x - t[1::2]) / span, np.inf)
    errors = np.stack([np.abs(half[:, 0] - v[1::2]) / span, np.abs(half[:, 1] - q[1::2]), err_x])
    return np.max(errors, axis=0) / TABLE_TOL


def _resolvable(t: np.ndarray, span: float) -> np.ndarray:
    """Per pair of cells: can phi(F^-1) be stated within TABLE_TOL of the span there at all? Not where
    the law's own phi carries a round-off ROUNDOFF |phi| above it (a beta's far lower tail)."""
    big = np.maximum(np.maximum(np.abs(t[:-2:2]), np.abs(t[1::2])), np.abs(t[2::2]))
    return big * ROUNDOFF <= TABLE_TOL * span


def _rows(nodes: dict[str, np.ndarray], keep: np.ndarray) -> dict[str, np.ndarray]:
    return {k: a[keep] for k, a in nodes.items()}


def _score(dist: ValueDistribution, v: np.ndarray, span: float) -> np.ndarray:
    """(log f)'(v) by central differences of the log-density, the step 1e-5 of the room to the
    nearest end of the support (or of the span): phi'(v) = 2 + (S / f)(v) (log f)'(v)."""
    h = 1e-5 * np.minimum(np.minimum(v - dist.lo, dist.hi - v), span)
    return (dist.logpdf(v + h) - dist.logpdf(v - h)) / (2.0 * h)


def _spline(t, v, q, dvdt) -> CubicHermiteSpline:
    """Cubic Hermite interpolant of (v(t), q(t)): slopes 1 / phi' and -f / phi' = -(q / (v - t)) dv/dt."""
    return CubicHermiteSpline(t, np.column_stack([v, q]), np.column_stack([dvdt, -(q / (v - t)) * dvdt]))


@per_law
def virtual_inverse(dist: ValueDistribution) -> VirtualInverse:
    """The tabulated inverse of ``dist``'s virtual value with its per-cell error (built once per law spec).

    With exact slopes a cubic Hermite interpolant errs by at most h^4 max|v^(4)| / 384 on a cell
    of width h, at its middle. The interpolant through every other node, evaluated at the nodes
    it skips (about the middles of its cells), errs about 16 times more than the full one: that
    is the stated error. The same holds for phi(F^-1(u)) in x = logit(u), slope
    phi'(v) u (1 - u) / f(v), except that no cell is trusted where the law's own round-off
    (ROUNDOFF |phi|) exceeds TABLE_TOL of the span.
    """
    n = _nodes(dist)
    t, v, q, dvdt, x = n["t"], n["v"], n["q"], n["dvdt"], n["x"]
    span = float(v[-1] - v[0])
    half = _spline(t[::2], v[::2], q[::2], dvdt[::2])(t[1::2])
    err_v, err_q = np.abs(half[:, 0] - v[1::2]) / span, np.abs(half[:, 1] - q[1::2])
    ok = (err_v <= TABLE_TOL) & (err_q <= TABLE_TOL)  # one flag per pair of cells
    err_x = np.abs(CubicHermiteSpline(x[::2], t[::2], n["dtdx"][::2])(x[1::2]) - t[1::2]) / span
    ok_x = (err_x <= TABLE_TOL) & _resolvable(t, span)
    return VirtualInverse(dist, t, _spline(t, v, q, dvdt), np.repeat(ok, 2),
                          (float(err_v[ok].max(initial=0.0)), float(err_q[ok].max(initial=0.0))),
                          x, CubicHermiteSpline(x, t, n["dtdx"]), np.repeat(ok_x, 2),
                          float(err_x[ok_x].max(initial=0.0)))


def threshold_and_survival(dist: ValueDistribution, s) -> tuple[np.ndarray, np.ndarray]:
    """(phi^-1(s), P[theta >= phi^-1(s)]) for phi_lo < s <= hi: closed form where the law has one,
    else the table."""
    if has_closed_inverse(dist):
        a = dist.virtual_threshold(s)
        return a, survival_at(dist, a)
    return virtual_inverse(dist)(s)



def virtual_at_quantile(dist: ValueDistribution, u) -> np.ndarray:
    """phi(F^-1(u)) for u in (0, 1): closed forms where the law has them, else the table."""
    if has_closed_inverse(dist):
        return dist.virtual_value(dist.ppf(u))
    return virtual_inverse(dist).virtual_at(u)
