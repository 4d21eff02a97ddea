"""Expectations over a group's virtual values (selling-to-a-group, Section 3).

Every quantity the group solvers need is an expectation of a function of the
weighted virtual value ``total = offset + sum_j w_j phi_j``: the objective
``E[(total - c)+]`` of Theorem 1, the trade probability, and the moments
``E[phi_j 1{total >= c}]`` of its optimality condition.

One member ``k`` (the *smoothed* member) is always integrated in closed form.
With ``a = phi^-1(s)`` the revenue identity ``E[phi; phi >= s] = a (1 - F(a))``
gives, for ``phi_k``,

* ``P[phi_k >= s] = 1 - F(a)``,
* ``E[phi_k 1{phi_k >= s}] = a (1 - F(a))`` (``= lo = E[phi_k]`` below the support),
* ``E[(phi_k - s)+] = (a - s)(1 - F(a))``.

The remaining members are integrated numerically in quantile space: for up to
two of them by nested tanh-sinh quadrature split at every kink of the
integrand (sums of support ends), so the error is near machine precision; for
more by randomized quasi-Monte Carlo (scrambled Sobol points, several
independent scramblings give a standard error). Conditioning on ``phi_k``
makes the quasi-Monte Carlo integrand continuous, which is what makes it
converge fast.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.stats import qmc

from market.distributions import ValueDistribution

TANH_SINH_STEP = 0.1
TANH_SINH_REACH = 3.0  # nodes with |t| <= 3: the dropped tails weigh about 1e-12
QUADRATURE_MAX_OUTER = 2  # members integrated numerically by quadrature; more use QMC


def _tanh_sinh_rule() -> tuple[np.ndarray, np.ndarray]:
    """Nodes in (0, 1) and weights of the tanh-sinh (double exponential) rule."""
    t = np.arange(-TANH_SINH_REACH, TANH_SINH_REACH + 1e-12, TANH_SINH_STEP)
    s = 0.5 * math.pi * np.sinh(t)
    x = np.tanh(s)
    w = TANH_SINH_STEP * 0.5 * math.pi * np.cosh(t) / np.cosh(s) ** 2
    return 0.5 * (x + 1.0), 0.5 * w


_TS_NODES, _TS_WEIGHTS = _tanh_sinh_rule()


def smoothed_moments(dist: ValueDistribution, s: np.ndarray):
    """(P[phi >= s], E[phi 1{phi >= s}], E[(phi - s)+]) in closed form through phi^-1 (see module doc)."""
    s = np.asarray(s, float)
    a = np.full(s.shape, math.inf)
    low = s <= dist.phi_lo
    a[low] = dist.lo
    mid = ~low & (s <= dist.hi)
    if np.any(mid):
        a[mid] = dist.virtual_threshold(s[mid])
    finite = np.isfinite(a)
    surv = np.where(finite, dist.prob_at_least(np.where(finite, a, dist.lo)), 0.0)
    upper = np.where(finite & (surv > 0), np.where(finite, a, 0.0) * surv, 0.0)
    stop = np.where(low, dist.lo - s, upper - np.where(np.isfinite(s), s, 0.0) * surv)
    return surv, upper, np.maximum(stop, 0.0)


@dataclass(frozen=True)
class Moments:
    """Expectations of a group quantity at each of M offsets (arrays of shape (M,) or (M, N))."""

    excess: np.ndarray  # E[(total - c)+]
    trade: np.ndarray  # P[total >= c]
    upper: np.ndarray  # (M, N): E[phi_j 1{total >= c}] (0 for members not in the sum)
    stderr: np.ndarray | None = None  # (M,) QMC standard error of ``excess``; None for quadrature


class GroupIntegrator:
    """Expectations over the virtual values of a group (quadrature for <= 3 members, else QMC).

    Args:
        members: the members' value laws (atomless, regular).
        cost: the seller's cost c.
        qmc_points: scrambled Sobol points per scrambling (a power of two).
        qmc_scramblings: independent scramblings (their spread gives the standard error).
        seed: seed of the scramblings.
        force_qmc: use quasi-Monte Carlo even when quadrature is possible.
    """

    def __init__(self, members: Sequence[ValueDistribution], cost: float, *, qmc_points: int = 1 << 14,
                 qmc_scramblings: int = 4, seed: int = 0, force_qmc: bool = False):
        self.members = tuple(members)
        self.cost = float(cost)
        self.qmc_points = int(qmc_points)
        self.qmc_scramblings = int(qmc_scramblings)
        self.seed = seed
        self.force_qmc = force_qmc
        self._qmc_cache: dict = {}

    def method(self, integrated: int) -> str:
        if integrated <= QUADRATURE_MAX_OUTER and not self.force_qmc:
            return "nested tanh-sinh quadrature split at the kinks (closed form in one member)"
        return (f"randomized QMC: {self.qmc_scramblings} scrambled Sobol sets of {self.qmc_points} "
                f"points (closed form in one member)")

    # -- the public entry --------------------------------------------------
    def moments(self, weights: np.ndarray, offset: np.ndarray, members: Sequence[int]) -> Moments:
        """Moments of ``offset + sum_{j in members} w_j phi_j`` at each offset.

        The member of ``members`` with the largest weight is integrated in closed form.
        """
        weights = np.asarray(weights, float)
        offset = np.atleast_1d(np.asarray(offset, float))
        members = list(members)
        n = len(self.members)
        if not members:
            trade = (offset >= self.cost).astype(float)
            return Moments(np.maximum(offset - self.cost, 0.0), trade, np.zeros((offset.size, n)))
        k = max(members, key=lambda j: weights[j])
        rest = [j for j in members if j != k]
        if len(rest) <= QUADRATURE_MAX_OUTER and not self.force_qmc:
            nodes = self._quadrature_nodes(weights, offset, rest, k)
            return self._reduce(weights, offset, rest, k, *nodes)
        return self._qmc(weights, offset, rest, k)

    # -- closed form in member k -------------------------------------------
    def _conditional(self, weights, total_rest: np.ndarray, k: int):
        """Closed-form moments over phi_k given the rest of the sum: (excess, trade, E[phi_k 1{}])."""
        wk = weights[k]
        if wk <= 1e-300:
            trade = (total_rest >= self.cost).astype(float)  # phi_k carries no weight
            return np.maximum(total_rest - self.cost, 0.0), trade, self.members[k].lo * trade
        s = (self.cost - total_rest) / wk
        surv, upper, stop = smoothed_moments(self.members[k], s)
        return wk * stop, surv, upper

    def _reduce(self, weights, offset, rest, k, phis, w):
        """Sum conditional moments over nodes: phis (M, P, len(rest)), w (M, P)."""
        total = offset[:, None] + (phis @ weights[rest] if rest else 0.0)
        excess, trade, upper_k = self._conditional(weights, total, k)
        upper = np.zeros((offset.size, len(self.members)))
        upper[:, k] = np.sum(w * upper_k, axis=1)
        for col, j in enumerate(rest):
            upper[:, j] = np.sum(w * phis[:, :, col] * trade, axis=1)
        return Moments(np.sum(w * excess, axis=1), np.sum(w * trade, axis=1), upper)

    # -- quadrature ----------------------------------------------------------
    def _ends(self, j: int, weight: float) -> tuple[float, ...]:
        """Finite ends of w_j phi_j's support (one 0 when the weight is 0)."""
        d = self.members[j]
        if weight <= 0.0:
            return (0.0,)
        return tuple(weight * e for e in (d.phi_lo, d.hi) if math.isfinite(e))

    def _quadrature_nodes(self, weights, offset, rest, k):
        """Tensor tanh-sinh nodes for the members of ``rest``, split where the integrand has kinks."""
        m = offset.size
        phis = np.zeros((m, 1, 0))
        w = np.ones((m, 1))
        partial = offset[:, None]
        for depth, j in enumerate(rest):
            later = rest[depth + 1:] + [k]
            ends = [sum(combo) for combo in itertools.product(*(self._ends(i, weights[i]) for i in later))]
            # kinks where partial + w_j phi_j + (ends of the later members) = c
            targets = (self.cost - np.asarray(ends))[None, None, :] - partial[:, :, None]
            u, wu = self._pieces(j, weights[j], targets)  # (m, p, q)
            phi = self.members[j].virtual_value(self.members[j].ppf(u))
            p, q = u.shape[1], u.shape[2]
            phis = np.concatenate([np.repeat(phis[:, :, None, :], q, axis=2), phi[..., None]],
                                  axis=3).reshape(m, p * q, depth + 1)
            w = (w[:, :, None] * wu).reshape(m, p * q)
            partial = (partial[:, :, None] + weights[j] * phi).reshape(m, p * q)
        return phis, w

    def _pieces(self, j: int, wj: float, targets: np.ndarray):
        """Quantile nodes of member j on (0, 1), split at the quantiles where w_j phi_j hits a target."""
        dist = self.members[j]
        shape = targets.shape[:-1]
        if wj > 1e-300:
            t = (targets / wj).ravel()
            cut = np.where(t <= dist.phi_lo, 0.0, np.where(t >= dist.hi, 1.0, 0.5))
            inside = (t > dist.phi_lo) & (t < dist.hi)
            if np.any(inside):
                cut[inside] = dist.cdf(dist.virtual_threshold(t[inside]))
            cut = np.sort(cut.reshape(*shape, -1), axis=-1)
        else:
            cut = np.zeros((*shape, 0))
        edges = np.concatenate([np.zeros((*shape, 1)), cut, np.ones((*shape, 1))], axis=-1)
        a, b = edges[..., :-1], edges[..., 1:]
        u = a[..., None] + (b - a)[..., None] * _TS_NODES
        wu = (b - a)[..., None] * _TS_WEIGHTS
        u = np.clip(u, 1e-300, 1.0 - 1e-16)
        return u.reshape(*shape, -1), wu.reshape(*shape, -1)

    # -- quasi-Monte Carlo --------------------------------------------------
    def _samples(self, rest: tuple[int, ...]) -> np.ndarray:
        """(scramblings, points, len(rest)) virtual values at scrambled Sobol quantiles (cached)."""
        if rest not in self._qmc_cache:
            seeds = np.random.SeedSequence(self.seed).spawn(self.qmc_scramblings)
            sets = []
            for ss in seeds:
                u = qmc.Sobol(d=len(rest), scramble=True, seed=np.random.default_rng(ss)).random(self.qmc_points)
                u = np.clip(u, 1e-16, 1.0 - 1e-16)
                sets.append(np.column_stack([self.members[j].virtual_value(self.members[j].ppf(u[:, c]))
                                             for c, j in enumerate(rest)]))
            self._qmc_cache[rest] = np.stack(sets)
        return self._qmc_cache[rest]

    def _qmc(self, weights, offset, rest, k):
        phis = self._samples(tuple(rest))  # (R, K, d)
        r, kk, _ = phis.shape
        base = phis @ weights[rest]  # (R, K)
        n = len(self.members)
        excess = np.empty((offset.size, r))
        trade = np.empty((offset.size, r))
        upper = np.zeros((offset.size, r, n))
        chunk = max(1, (1 << 20) // (r * kk))  # offsets at a time: about a million points
        for start in range(0, offset.size, chunk):
            rows = slice(start, start + chunk)
            ex, tr, up_k = self._conditional(weights, base[None] + offset[rows, None, None], k)
            excess[rows], trade[rows] = ex.mean(axis=2), tr.mean(axis=2)
            upper[rows, :, k] = up_k.mean(axis=2)
            upper[rows][..., rest] = np.einsum("ork,rkd->ord", tr, phis) / kk
        stderr = excess.std(axis=1, ddof=1) / math.sqrt(r) if r > 1 else np.full(offset.size, math.nan)
        return Moments(excess.mean(axis=1), trade.mean(axis=1), upper.mean(axis=1), stderr)
