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

Laws without a closed-form ``phi^-1`` (beta, truncated normal) take ``a`` and ``1 - F(a)``,
and the virtual values ``phi(F^-1(u))`` of their quasi-Monte Carlo points, from a table built
once per law, with a stated error below 1e-10 (:mod:`.inverse`).

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

from agora.market.distributions import Exponential, Uniform, ValueDistribution
from agora.market.group.inverse import per_law, threshold_and_survival, virtual_at_quantile

TANH_SINH_STEP = 0.1
TANH_SINH_REACH = 3.0  # nodes with |t| <= 3: the dropped tails weigh about 1e-12
QUADRATURE_MAX_OUTER = 2  # members integrated numerically by quadrature; more use QMC
TRADE_CHUNK = 1 << 16  # (offset, point) pairs per block of the trade-only QMC estimate
SURVIVAL_NODES = (1 << 14) + 1  # quantiles tabulating P[phi_k >= s] for laws without a closed form


def _tanh_sinh_rule() -> tuple[np.ndarray, np.ndarray]:
    """Nodes in (0, 1) and weights of the tanh-sinh (double exponential) rule."""
    t = np.arange(-TANH_SINH_REACH, TANH_SINH_REACH + 1e-12, TANH_SINH_STEP)
    s = 0.5 * math.pi * np.sinh(t)
    x = np.tanh(s)
    w = TANH_SINH_STEP * 0.5 * math.pi * np.cosh(t) / np.cosh(s) ** 2
    return 0.5 * (x + 1.0), 0.5 * w


_TS_NODES, _TS_WEIGHTS = _tanh_sinh_rule()


@per_law
def survival_nodes(dist: ValueDistribution) -> tuple[np.ndarray, np.ndarray]:
    """(phi(F^-1(u)), 1 - u) at SURVIVAL_NODES quantiles u in [0, 1 - 1e-12]: P[phi >= s] at nodes s.

    No root finding: the nodes are virtual values of quantiles. Linear interpolation between
    them is within about 1e-7 of P[phi >= s] (the survival falls by 2^-14 per cell).
    """
    u = np.linspace(0.0, 1.0 - 1e-12, SURVIVAL_NODES)
    s = np.maximum.accumulate(dist.virtual_value(dist.ppf(u)))
    return s, 1.0 - u


def sorted_survival_mean(dist: Uniform | Exponential, wk: float, need: np.ndarray,
                         points: np.ndarray) -> np.ndarray:
    """mean_p P[phi >= (need - B_p) / wk] for each ``need``, from the sorted points B_p in O(log K) each.

    Uniform: P[phi >= s] = clip((hi - s) / (2 (hi - lo)), 0, 1), linear in B_p between the two
    clips, so a band's sum is its count and the prefix sums of B. Exponential with mean m:
    P[phi >= s] = min(1, exp(-(s + m) / m)) = exp(beta (B_p - need) - 1) with beta = 1 / (wk m)
    below the clip, summed through running log-sum-exps of beta B. Equal to the pointwise mean
    up to rounding.
    """
    size = points.size
    if isinstance(dist, Uniform):
        ones_from = np.searchsorted(points, need - wk * dist.phi_lo, side="left")  # s <= phi_lo: 1
        band_from = np.searchsorted(points, need - wk * dist.hi, side="right")  # s >= hi: 0
        sums = np.concatenate([[0.0], np.cumsum(points)])
        count = ones_from - band_from
        with np.errstate(invalid="ignore"):  # an infinite need (phi = -inf at a beta's lowest type) has no band
            band = np.where(count > 0, sums[ones_from] - sums[band_from] - count * (need - wk * dist.hi), 0.0)
        band = band / (2 * wk * (dist.hi - dist.lo))
        return (size - ones_from + band) / size
    beta = 1.0 / (wk * dist.scale)
    ones_from = np.searchsorted(points, need + wk * dist.scale, side="left")
    logsums = np.logaddexp.accumulate(beta * points)
    below = np.where(ones_from > 0, np.exp(logsums[np.maximum(ones_from - 1, 0)] - beta * need - 1.0), 0.0)
    return (size - ones_from + below) / size


def smoothed_moments(dist: ValueDistribution, s: np.ndarray):
    """(P[phi >= s], E[phi 1{phi >= s}], E[(phi - s)+]) in closed form through phi^-1 (see module doc)."""
    s = np.asarray(s, float)
    a, surv = np.full(s.shape, math.inf), np.zeros(s.shape)
    low = s <= dist.phi_lo
    a[low], surv[low] = dist.lo, 1.0
    mid = ~low & (s <= dist.hi)
    if np.any(mid):
        a[mid], surv[mid] = threshold_and_survival(dist, s[mid])
    finite = np.isfinite(a)
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

    def trade(self, weights: np.ndarray, offset: np.ndarray, members: Sequence[int]) -> np.ndarray:
        """P[offset + sum_{j in members} w_j phi_j >= c] at each offset: the trade moment alone.

        The same estimate as ``moments(...).trade`` (same member in closed form, same nodes or
        points). With points, a uniform or exponential smoothed member sums its closed form over
        the sorted points by prefix sums (:func:`sorted_survival_mean`); for other laws
        P[phi_k >= s] is interpolated between :func:`survival_nodes` (within about 1e-7),
        in chunks of offsets small enough to stay in cache.
        """
        weights = np.asarray(weights, float)
        offset = np.atleast_1d(np.asarray(offset, float))
        members = list(members)
        k = max(members, key=lambda j: weights[j]) if members else None
        rest = [j for j in members if j != k]
        if k is None or len(rest) <= QUADRATURE_MAX_OUTER and not self.force_qmc:
            return self.moments(weights, offset, members).trade
        base = np.sort((self._samples(tuple(rest)) @ weights[rest]).ravel())  # the rest's weighted sums, sorted
        if weights[k] <= 1e-300:  # phi_k carries no weight
            return np.mean(offset[:, None] + base[None, :] >= self.cost, axis=1)
        if isinstance(self.members[k], (Uniform, Exponential)):
            return sorted_survival_mean(self.members[k], weights[k], self.cost - offset, base)
        s_nodes, surv_nodes = survival_nodes(self.members[k])
        out = np.empty(offset.size)
        chunk = max(1, TRADE_CHUNK // base.size)
        for start in range(0, offset.size, chunk):
            s = (self.cost - offset[start:start + chunk, None] - base[None, :]) / weights[k]
            out[start:start + chunk] = np.interp(s, s_nodes, surv_nodes, left=1.0, right=0.0).mean(axis=1)
        return out

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
                cut[inside] = 1.0 - threshold_and_survival(dist, t[inside])[1]  # F(phi^-1(t))
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
            u = np.stack([qmc.Sobol(d=len(rest), scramble=True, seed=np.random.default_rng(ss)).random(self.qmc_points)
                          for ss in seeds])
            u = np.clip(u, 1e-16, 1.0 - 1e-16)
            # one call per member over every scrambling: the laws' own phi(F^-1) for the table's few
            # untrusted points costs the same per call whatever their number
            self._qmc_cache[rest] = np.stack([virtual_at_quantile(self.members[j], u[..., c])
                                              for c, j in enumerate(rest)], axis=-1)
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
