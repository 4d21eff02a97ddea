"""The thesis' dual certificates for Chapter 1, as functions to check on value profiles.

* :func:`auction_dual` - (λ, σ) feasible in (1.8) for the second-price auction
  with reserve r: Lemma 1.7.3 (R1), Lemma 1.7.5 (R2), Lemma 1.7.7 (R3); their
  objective λ + μ Σσ_i is the worst-case revenue of Propositions 1.5.5-1.5.7.
* :func:`lottery_dual` - (λ*, σ*e) = (-σ* r, σ*e), feasible in (1.11) with the
  optimal highest-bidder lottery (Lemma 1.7.9), objective r (Lemma 1.7.10).
* :func:`dual_slack` - min over profiles of R(v) - λ - σ·v (>= 0 iff feasible there).
* :class:`AlphaEps` - the densities α_ε of (1.34) (Theorem 1.7.1), feasible in
  (1.33) (Lemma 1.7.12), whose objective tends to r (Lemma 1.7.13).

All on the unit scale v̄ = 1 of the thesis.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.integrate import quad

from agora.market.robust.mechanisms import HighestBidderLottery, MarkovSet, RobustInputError, spa_region


@dataclass(frozen=True)
class DualPoint:
    """(λ, σ e) of the dual (1.8), and the lemma it comes from."""

    lam: float
    sigma: float
    lemma: str

    def objective(self, ambiguity: MarkovSet) -> float:
        """λ + μ Σ_i σ_i."""
        return self.lam + ambiguity.bidders * ambiguity.mu * self.sigma

    def bound(self, values) -> np.ndarray:
        """λ + σ Σ_j v_j per profile (rows)."""
        return self.lam + self.sigma * np.atleast_2d(np.asarray(values, float)).sum(axis=1)


def _unit(ambiguity: MarkovSet) -> None:
    if ambiguity.upper != 1.0:
        raise RobustInputError(f"the dual certificates are stated for v̄ = 1, got upper bound {ambiguity.upper}")


def auction_dual(reserve: float, ambiguity: MarkovSet) -> DualPoint:
    """The thesis' dual solution for a second-price auction with reserve r <= μ (Lemmas 1.7.3-1.7.7)."""
    _unit(ambiguity)
    n, r = ambiguity.bidders, reserve
    region = spa_region(reserve, ambiguity)
    if region == "R1":
        return DualPoint(1.0 - n / (n - 1.0), 1.0 / (n - 1.0), "Lemma 1.7.3")
    if region == "R2":
        return DualPoint(n * r * r / (r - 1.0), r / (1.0 - r), "Lemma 1.7.5")
    if region == "R3":
        return DualPoint(r / (r - 1.0), 1.0 / (n * (1.0 - r)), "Lemma 1.7.7")
    raise RobustInputError(f"reserve {reserve} lies above the mean {ambiguity.mean}: the worst case is 0 "
                           "and needs no certificate")


def lottery_dual(lottery: HighestBidderLottery) -> DualPoint:
    """(λ*, σ*) = (-σ* r, σ*) of Theorem 1.5.3, feasible with q* in (1.11) (Lemma 1.7.9)."""
    _unit(lottery.ambiguity)
    return DualPoint(-lottery.sigma * lottery.threshold, lottery.sigma, "Lemma 1.7.9")


def dual_slack(revenue, dual: DualPoint, values) -> float:
    """min over the profiles of R(v) - (λ + σ·v): feasibility of (1.8)/(1.11b) there iff >= 0."""
    v = np.atleast_2d(np.asarray(values, float))
    return float(np.min(np.asarray(revenue(v), float) - dual.bound(v)))


@dataclass(frozen=True)
class AlphaEps:
    """α_ε of (1.34) for the optimal lottery (Theorem 1.7.1), I bidders, ε > 0 small.

    On W^i: ρ_ε r/(I v_i² ε^{I-1}) (+ δ_ε r/(I ε^I) if v_i >= 1 - ε) when
    v_i >= r and every other v_j in [r - ε, r]; 0 elsewhere.
    """

    lottery: HighestBidderLottery
    eps: float

    def __post_init__(self):
        r = self.lottery.threshold
        if not 0.0 < self.eps < min(0.5, r, 1.0 - r):
            raise RobustInputError(f"epsilon must lie in (0, min(1/2, r, 1 - r)) = (0, {min(0.5, r, 1 - r):g}), "
                                   f"got {self.eps}")

    @property
    def delta(self) -> float:
        r, s, n, e = self.lottery.threshold, self.lottery.sigma, self.lottery.ambiguity.bidders, self.eps
        num = 1.0 - r * (1.0 / s - (n - 2)) - (n - 1) / 2.0 * (1.0 - 1.0 / r) * e
        return num / (1.0 - e / 2.0 - r * (1.0 / s - e / 2.0 - (n - 2)))

    @property
    def rho(self) -> float:
        r = self.lottery.threshold
        return (1.0 - self.delta * r) / (1.0 - r)

    def density_on_winner(self, top) -> np.ndarray:
        """α_ε as a function of the winner's value v_i where the others lie in [r - ε, r]."""
        r, n, e = self.lottery.threshold, self.lottery.ambiguity.bidders, self.eps
        t = np.asarray(top, float)
        body = self.rho * r / (n * t * t * e ** (n - 1)) + np.where(t >= 1.0 - e, self.delta * r / (n * e ** n), 0.0)
        return np.where((t >= r) & (t <= 1.0), body, 0.0)

    def density(self, values) -> np.ndarray:
        """α_ε(v) per profile (rows), lowest index winning ties (the partition W^i)."""
        v = np.atleast_2d(np.asarray(values, float))
        r = self.lottery.threshold
        win = np.argmax(v, axis=1)
        top = v[np.arange(len(v)), win]
        others = np.where(np.arange(v.shape[1])[None, :] == win[:, None], r, v)
        inside = np.all((others >= r - self.eps) & (others <= r), axis=1)
        return np.where(inside, self.density_on_winner(top), 0.0)

    def closed_form_objective(self) -> float:
        """r δ_ε (1 - ε) + r ρ_ε ε, the objective of α_ε in (1.33) (proof of Lemma 1.7.13)."""
        r = self.lottery.threshold
        return r * self.delta * (1.0 - self.eps) + r * self.rho * self.eps

    def objective(self) -> float:
        """∫ max{0, Σ_i 1_{W^i} (α v_i - ∫_{v_i}^1 α(x, v_-i) dx)} dv of (1.33), by quadrature.

        On the support the integrand depends on the winner's value only, and the other
        I - 1 values range over a box of volume ε^{I-1}; by symmetry the I sets W^i
        contribute equally.
        """
        r, n, e = self.lottery.threshold, self.lottery.ambiguity.bidders, self.eps

        def tail(t):
            return quad(lambda x: float(self.density_on_winner(x)), t, 1.0, points=[1.0 - e], limit=200,
                        epsabs=0.0, epsrel=1e-12)[0]

        def integrand(t):
            return max(0.0, float(self.density_on_winner(t)) * t - tail(t))
        body = quad(integrand, r, 1.0, points=[1.0 - e], limit=200, epsabs=0.0, epsrel=1e-10)[0]
        return n * e ** (n - 1) * body


def alpha_eps_sequence(ambiguity: MarkovSet, eps=(0.1, 0.03, 0.01, 0.003, 0.001)) -> list[tuple[float, float]]:
    """(ε, objective of α_ε in (1.33) by quadrature) for a decreasing sequence of ε (Theorem 1.7.1)."""
    lottery = HighestBidderLottery.optimal(ambiguity)
    out = []
    for e in eps:
        if not math.isfinite(e):
            raise RobustInputError(f"epsilon must be a number, got {e}")
        out.append((e, AlphaEps(lottery, e).objective()))
    return out
