"""Pareto-optimal mechanisms for a group (selling-to-a-group, Theorem 3 and Lemma 5).

For gamma in [0, 1] and lambda in the simplex, the Pareto-optimal allocation is
``x = 1{(1 - gamma) omega . phi + gamma lambda . theta >= c}`` with omega the
minimizer over the simplex of ``E[((1 - gamma) omega . phi + gamma lambda . theta - c)+]``
(convex; gradient ``(1 - gamma) E[phi_i x]``). With IR binding for the worst
member (Lemma 2) the payoffs are ``E[m] = min_j E[x phi_j]``, the seller's
``E[m] - c E[x]`` and member i's ``E[x theta_i] - E[m]``.

Expectations condition on one member k (the threshold type solving
``s_k(theta_k) = c - rest`` by vectorized bisection, then closed forms:
``E[phi_k; theta_k >= t] = t P[theta_k >= t]`` and
``E[theta_k; theta_k >= t] = t P + int_t^hi P[theta_k >= u] du``); the others are
averaged over scrambled Sobol points.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import optimize
from scipy.integrate import cumulative_trapezoid
from scipy.stats import qmc

from agora.market.distributions import Exponential, Uniform, ValueDistribution
from agora.market.errors import InputError
from agora.market.group.solver import check_cost, parse_members

BISECTIONS = 60


def tail_integral(dist: ValueDistribution, t: np.ndarray) -> np.ndarray:
    """int_t^hi P[theta >= u] du (closed forms for uniform and exponential, else a fine table)."""
    t = np.clip(np.asarray(t, float), dist.lo, dist.hi)
    if isinstance(dist, Uniform):
        return (dist.hi - t) ** 2 / (2 * (dist.hi - dist.lo))
    if isinstance(dist, Exponential):
        return dist.scale * np.exp(-t / dist.scale)
    grid = dist.ppf(np.linspace(0.0, 1.0 - 1e-10, 8193))
    cum = cumulative_trapezoid(dist.sf(grid), grid, initial=0.0)
    return np.interp(t, grid, cum[-1] - cum)


@dataclass(frozen=True)
class ParetoPoint:
    gamma: float
    lam: tuple[float, ...]
    weights: tuple[float, ...]
    seller: float
    members: tuple[float, ...]
    trade_probability: float
    condition_gap: float  # Lemma 5: spread of E[phi_i x] over the support of omega


class ParetoSolver:
    """Theorem 3's allocations and payoffs for one group (scrambled Sobol over all but one member)."""

    def __init__(self, members: Sequence, cost: float = 0.0, points: int = 1 << 14, scramblings: int = 4,
                 seed: int = 0):
        self.members = parse_members(members)
        self.cost = check_cost(cost)
        n = len(self.members)
        self.k = 0
        rest = list(range(1, n))
        u = np.concatenate([qmc.Sobol(d=max(n - 1, 1), scramble=True, seed=seed + r).random(points)
                            for r in range(scramblings)])
        u = np.clip(u, 1e-16, 1 - 1e-16)
        self.theta = np.column_stack([self.members[j].ppf(u[:, c]) for c, j in enumerate(rest)]) \
            if rest else np.zeros((1, 0))
        self.phi = np.column_stack([self.members[j].virtual_value(self.theta[:, c]) for c, j in enumerate(rest)]) \
            if rest else np.zeros((1, 0))
        self.rest = rest

    def _threshold(self, a_phi: float, a_theta: float, budget: np.ndarray) -> np.ndarray:
        """Least theta_k with a_phi phi_k(theta_k) + a_theta theta_k >= budget (bisection; inf if none)."""
        d = self.members[self.k]
        lo = np.full(budget.shape, d.lo)
        top = d.hi if math.isfinite(d.hi) else float(d.ppf(1 - 1e-15))
        hi = np.full(budget.shape, top)

        def score(t):
            return a_phi * d.virtual_value(t) + a_theta * t

        out = np.where(score(lo) >= budget, d.lo, np.inf)
        todo = ~np.isfinite(out) & (score(hi) >= budget)
        for _ in range(BISECTIONS):
            mid = 0.5 * (lo + hi)
            up = score(mid) >= budget
            hi = np.where(up, mid, hi)
            lo = np.where(up, lo, mid)
        return np.where(todo, hi, out)

    def _moments(self, gamma: float, lam: np.ndarray, omega: np.ndarray):
        """(E[(score - c)+], P[x], E[phi_i x], E[theta_i x]) for the score of Theorem 3."""
        k, d = self.k, self.members[self.k]
        a_phi, a_theta = (1 - gamma) * omega[k], gamma * lam[k]
        rest_w_phi = (1 - gamma) * omega[self.rest]
        rest_w_theta = gamma * lam[self.rest]
        rest = self.phi @ rest_w_phi + self.theta @ rest_w_theta
        budget = self.cost - rest
        if a_phi + a_theta <= 1e-15:
            x = (rest >= self.cost).astype(float)
            surv, tau = x, np.where(x > 0, d.lo, np.inf)
        else:
            tau = self._threshold(a_phi, a_theta, budget)
            finite = np.isfinite(tau)
            surv = np.where(finite, d.prob_at_least(np.where(finite, tau, d.lo)), 0.0)
        finite = np.isfinite(tau)
        tau0 = np.where(finite, tau, d.lo)
        e_phi = np.where(finite, tau0 * surv, 0.0)
        e_theta = np.where(finite, tau0 * surv + tail_integral(d, tau0) * (surv > 0), 0.0)
        excess = a_phi * e_phi + a_theta * e_theta - budget * surv
        n = len(self.members)
        phi_x, theta_x = np.zeros(n), np.zeros(n)
        phi_x[k], theta_x[k] = e_phi.mean(), e_theta.mean()
        phi_x[self.rest] = (self.phi * surv[:, None]).mean(axis=0)
        theta_x[self.rest] = (self.theta * surv[:, None]).mean(axis=0)
        return float(excess.mean()), float(surv.mean()), phi_x, theta_x

    def point(self, gamma: float, lam) -> ParetoPoint:
        """The Pareto-optimal mechanism for Pareto weights (gamma lambda, 1) (Theorem 3, Lemma 5)."""
        n = len(self.members)
        lam = np.asarray(lam, float)
        if not 0.0 <= gamma <= 1.0 or lam.shape != (n,) or np.any(lam < 0) or not math.isclose(lam.sum(), 1.0):
            raise InputError(f"Theorem 3 needs gamma in [0, 1] and lambda: {n} numbers >= 0 summing to 1; "
                             f"got gamma={gamma}, lambda={list(lam)}")
        omega = np.full(n, 1.0 / n)
        if n > 1 and gamma < 1.0:
            res = optimize.minimize(
                lambda w: self._moments(gamma, lam, np.clip(w, 0, None))[0], omega,
                jac=lambda w: (1 - gamma) * self._moments(gamma, lam, np.clip(w, 0, None))[2],
                method="SLSQP", bounds=[(0.0, 1.0)] * n,
                constraints=[{"type": "eq", "fun": lambda w: np.sum(w) - 1.0, "jac": lambda w: np.ones(n)}],
                options={"ftol": 1e-14, "maxiter": 300})
            omega = np.clip(res.x, 0.0, None)
            omega /= omega.sum()
        _, trade, phi_x, theta_x = self._moments(gamma, lam, omega)
        paid = float(phi_x.min())
        on = omega > 1e-7
        return ParetoPoint(gamma=float(gamma), lam=tuple(lam.tolist()), weights=tuple(omega.tolist()),
                           seller=paid - self.cost * trade, members=tuple((theta_x - paid).tolist()),
                           trade_probability=trade, condition_gap=float(phi_x[on].max() - phi_x.min()))

    def frontier(self, gammas: Sequence[float], lambdas: Sequence) -> list[ParetoPoint]:
        return [self.point(g, lam) for g in gammas for lam in lambdas]
