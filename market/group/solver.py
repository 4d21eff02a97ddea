"""The seller's optimal mechanism for a group with veto power (selling-to-a-group).

A group of members with independent private types theta_i ~ F_i buys one
public good at cost c to the seller and pays one collective transfer; each
member can veto (interim IR). Theorem 1: the optimal allocation is the
weighted voting rule ``x(theta) = 1{omega . phi(theta) >= c}`` with

    omega in argmin over the simplex of E[(omega . phi - c)+],

equivalently every member with omega_i > 0 attains min_j E[phi_j 1{omega . phi >= c}];
the optimal profit is that minimum value. Proposition 1 settles the trivial
cases; Proposition 2 gives the best unanimous posted price.

The objective is convex with gradient ``g_i = E[phi_i 1{omega . phi >= c}]``;
SLSQP on the simplex with these exact gradients reaches the Theorem 1
condition to the accuracy of the integrator (:mod:`.group_expectations`).
Any omega certifies the profit between ``min_i g_i - c P[trade]`` (what x_omega
earns, Lemma 2) and ``E[(omega . phi - c)+]`` (the dual bound, Theorem 1).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import optimize

from agora.market.distributions import SpecError, ValueDistribution, parse_spec
from agora.market.errors import InputError
from agora.market.group.expectations import GroupIntegrator
from agora.market.group.specs import GROUP_SPECS
from agora.market.names import ACCEPTED_SPECS

ACCEPTED_MEMBERS = ("an atomless law with a strictly increasing virtual value and a finite lowest type "
                    f"({GROUP_SPECS})")
SIGMAS = 4.0  # standard errors within which a negative profit is round-off


class GroupInputError(InputError):
    """A group market the model of selling-to-a-group does not cover."""


def parse_members(members: Sequence[str | ValueDistribution]) -> tuple[ValueDistribution, ...]:
    """Parse member laws and check the paper's standing assumptions (Section 2)."""
    if len(members) < 1:
        raise GroupInputError("a group needs at least one member (n >= 1), got none")
    out = []
    for i, spec in enumerate(members):
        _check_pareto_alpha(i, spec)
        try:
            d = parse_spec(spec)
        except SpecError as err:  # name the laws a group accepts, not every law Agora reads
            raise GroupInputError(str(err).replace(ACCEPTED_SPECS, GROUP_SPECS)) from None
        if d.atom > 0 or d.lo == d.hi:
            raise GroupInputError(f"member {i + 1} ({d.spec}) has an atom; group members need "
                                  f"{ACCEPTED_MEMBERS}")
        if not d.regularity.regular or d.regularity.min_slope <= 0:
            raise GroupInputError(f"member {i + 1} ({d.spec}) has a virtual value that is not strictly "
                                  f"increasing; group members need {ACCEPTED_MEMBERS}")
        out.append(d)
    return tuple(out)


def _check_pareto_alpha(i: int, spec: str | ValueDistribution) -> None:
    """A Pareto member needs 0 < ALPHA < 1: the parser also reads ALPHA = 0, but only with a CAP,
    which is an atom (Section 2 assumes atomless types)."""
    if not isinstance(spec, str) or spec.split(":", 1)[0].strip().lower() != "pareto":
        return
    try:
        alpha = float(spec.split(":", 1)[1].split(",", 1)[0])
    except ValueError:
        return  # not a number: the parser names it
    if not 0.0 < alpha < 1.0:
        raise GroupInputError(f"member {i + 1} ({spec}): a group member's pareto:ALPHA,SCALE needs "
                              f"0 < ALPHA < 1 and no CAP (ALPHA = 0 needs a CAP, an atom), got ALPHA={alpha:g}")


def check_cost(cost: float) -> float:
    if not (isinstance(cost, (int, float)) and 0.0 <= cost < math.inf):
        raise GroupInputError(f"the seller's cost must be a finite number >= 0, got {cost!r}")
    return float(cost)


def trivial_case(members: Sequence[ValueDistribution], cost: float) -> tuple[str | None, int | None]:
    """Proposition 1: ("never", i) if min_j theta_high_j <= c, ("always", i) if some i with the lowest
    low type has phi_i(theta_low_i) >= c, else (None, None). ``i`` is the member whose dictatorship
    weights implement the trivial rule."""
    highs = [d.hi for d in members]
    i = int(np.argmin(highs))
    if highs[i] <= cost:
        return "never", i
    lows = np.array([d.lo for d in members])
    for j in np.flatnonzero(lows == lows.min()):
        if members[j].phi_lo >= cost:
            return "always", int(j)
    return None, None


@dataclass(frozen=True)
class GroupSolution:
    """The optimal collective mechanism: weights, profit and how they were computed."""

    members: tuple[str, ...]
    cost: float
    weights: tuple[float, ...]
    profit: float
    trade_probability: float
    trivial: str | None
    virtual_moments: tuple[float, ...]  # g_i = E[phi_i 1{omega . phi >= c}] (Theorem 1, condition 2)
    dual_bound: float  # E[(omega . phi - c)+] >= optimal profit >= profit
    optimality_gap: float  # max over the support of g_i minus min_j g_j
    posted_price: float
    posted_price_profit: float
    method: str
    profit_stderr: float | None = None
    profit_error: float = 0.0  # bound on |profit - optimal profit|: dual gap + 4 standard errors

    @property
    def price_of_simplicity(self) -> float | None:
        """Optimal over posted-price profit (>= 1 by Proposition 2); None where either is 0 or the
        optimal profit is within its error of 0, where the ratio says nothing."""
        if self.posted_price_profit > 0 and self.profit > self.profit_error:
            return self.profit / self.posted_price_profit
        return None

    def to_dict(self) -> dict:
        return {
            "members": list(self.members), "cost": self.cost, "weights": list(self.weights),
            "profit": self.profit, "trade_probability": self.trade_probability, "trivial": self.trivial,
            "posted_price": self.posted_price, "posted_price_profit": self.posted_price_profit,
            "price_of_simplicity": self.price_of_simplicity,
            "virtual_moments": list(self.virtual_moments), "dual_bound": self.dual_bound,
            "optimality_gap": self.optimality_gap, "profit_stderr": self.profit_stderr,
            "profit_error": self.profit_error,
            "method": self.method,
        }


@dataclass(frozen=True)
class WeightEvaluation:
    """Theorem 1's quantities at one weight vector."""

    weights: np.ndarray
    excess: float  # E[(omega . phi - c)+], the dual bound
    trade: float
    moments: np.ndarray  # g_i
    stderr: float | None

    def profit_at_cost(self, cost: float) -> float:
        """What the omega-voting rule earns with IR binding for the worst member (Lemma 2)."""
        return float(self.moments.min() - cost * self.trade)

    def gap(self, support_tol: float = 1e-9) -> float:
        on = self.weights > support_tol
        return float(self.moments[on].max() - self.moments.min())


def evaluate_weights(integrator: GroupIntegrator, weights) -> WeightEvaluation:
    """E[(omega . phi - c)+], P[trade] and g_i at ``weights`` (Theorem 1)."""
    w = np.asarray(weights, float)
    m = integrator.moments(w, np.zeros(1), range(len(w)))
    err = None if m.stderr is None else float(m.stderr[0])
    return WeightEvaluation(w, float(m.excess[0]), float(m.trade[0]), m.upper[0], err)


def optimal_weights(integrator: GroupIntegrator, start=None, tol: float = 1e-13) -> np.ndarray:
    """argmin over the simplex of E[(omega . phi - c)+] by SLSQP with exact gradients g_i."""
    n = len(integrator.members)
    if n == 1:
        return np.ones(1)
    x0 = np.full(n, 1.0 / n) if start is None else np.asarray(start, float)
    cache: dict = {}

    def ev(w):
        key = w.tobytes()
        if key not in cache:
            cache.clear()
            cache[key] = integrator.moments(np.clip(w, 0.0, None), np.zeros(1), range(n))
        return cache[key]

    res = optimize.minimize(
        lambda w: float(ev(w).excess[0]), x0, jac=lambda w: ev(w).upper[0], method="SLSQP",
        bounds=[(0.0, 1.0)] * n,
        constraints=[{"type": "eq", "fun": lambda w: np.sum(w) - 1.0, "jac": lambda w: np.ones(n)}],
        options={"ftol": tol, "maxiter": 500})
    w = np.clip(res.x, 0.0, None)
    return polish_weights(integrator, w / w.sum())


def polish_weights(integrator: GroupIntegrator, w: np.ndarray, support_tol: float = 1e-7) -> np.ndarray:
    """Solve Theorem 1's condition (equal g_i on the support) by root finding, starting from ``w``.

    The polished vector is kept only if it stays in the simplex and improves the condition.
    """
    on = np.flatnonzero(w > support_tol)
    if on.size < 2:
        return w
    n = len(w)

    def full(free):
        v = np.zeros(n)
        v[on[:-1]] = free
        v[on[-1]] = 1.0 - np.sum(free)
        return v

    def residual(free):
        g = integrator.moments(full(free), np.zeros(1), range(n)).upper[0]
        return g[on[:-1]] - g[on[-1]]

    sol = optimize.root(residual, w[on[:-1]], method="hybr", options={"xtol": 1e-14})
    cand = full(sol.x)
    if np.any(cand < 0):
        return w
    before = evaluate_weights(integrator, w)
    after = evaluate_weights(integrator, cand)
    improves = after.gap() < before.gap() and after.moments.min() >= before.moments.min() - 1e-12
    return cand if improves else w


def best_posted_price(members: Sequence[ValueDistribution], cost: float, points: int = 2001):
    """Proposition 2: the unanimous posted price maximizing (p - c) prod_j P[theta_j >= p]; (price, profit).

    The profit is scanned on every member's quantiles above the cost (``posted_price_grid``: even
    steps and log-spaced tail probabilities, so heavy tails and any scale are covered), the best
    grid point is refined by bounded Brent search on its bracket and by a root of the
    log-derivative when one is bracketed, and the best of these candidates is returned: never
    less than the grid's maximum.
    """
    top = min(d.hi for d in members)
    if top <= cost:
        return cost, 0.0

    def profit(p):
        p = np.asarray(p, float)
        return (p - cost) * np.prod([d.prob_at_least(p) for d in members], axis=0)

    grid = posted_price_grid(members, cost, top, points)
    vals = profit(grid)
    i = int(np.argmax(vals))
    lo, hi = float(grid[max(i - 1, 0)]), float(grid[min(i + 1, grid.size - 1)])
    candidates = [float(grid[i])]  # least preferred last: a flat maximum ties in round-off
    if hi > lo:
        res = optimize.minimize_scalar(lambda p: -float(profit(p)), bounds=(lo, hi), method="bounded",
                                       options={"xatol": 1e-14 * max(1.0, abs(hi))})
        candidates.insert(0, float(res.x))

    def slope(p):  # d/dp log profit = 1/(p - c) - sum_j f_j(p) / P[theta_j >= p]
        return 1.0 / (p - cost) - sum(float(d.pdf(p) / d.prob_at_least(p)) for d in members)

    with np.errstate(divide="ignore", invalid="ignore"):
        if lo > cost and hi < top and slope(lo) > 0 > slope(hi):
            candidates.insert(0, optimize.brentq(slope, lo, hi, xtol=1e-15, rtol=4 * np.finfo(float).eps))
    values = [float(profit(p)) for p in candidates]
    best = next(p for p, v in zip(candidates, values) if v >= max(values) * (1.0 - 1e-14))
    return best, float(profit(best))


def posted_price_grid(members: Sequence[ValueDistribution], cost: float, top: float, points: int) -> np.ndarray:
    """Candidate prices in [cost, top]: each member's quantiles conditional on a value >= cost.

    Member j contributes isf(P[theta_j >= c] r) for r on an even grid of (0, 1] and on a
    log-spaced grid from 1e-15 to 1, so the grid follows the law's scale and reaches far
    into heavy tails; the cost itself and the top (when finite) close it.
    """
    r = np.concatenate([np.linspace(0.0, 1.0, points)[1:], np.logspace(-15.0, 0.0, points)])
    prices = [np.array([cost, top])]
    for d in members:
        q = float(d.prob_at_least(max(cost, d.lo)))
        if q > 0:
            prices.append(d.isf(q * r))
    grid = np.unique(np.concatenate(prices))
    return grid[np.isfinite(grid) & (grid >= cost) & (grid <= top)]


def optimal_mechanism(solution: GroupSolution, table_points: int | None = None, members=None,
                      **integrator_options):
    """The optimal collective mechanism of a solution: its voting rule with Lemma 1 transfers.

    Interim allocations of groups of four or more come from 4 x 2^12 scrambled Sobol points
    unless ``integrator_options`` say otherwise (their error, about 1e-4, is far below what
    tabulating on a grid of types adds); groups of up to three use nested quadrature.
    """
    from agora.market.group.mechanisms import TABLE_POINTS, VotingMechanism

    members = parse_members(members if members is not None else solution.members)
    integrator_options = {"qmc_points": 1 << 12, "force_qmc": len(members) >= 4, **integrator_options}
    integ = GroupIntegrator(members, solution.cost, **integrator_options)
    return VotingMechanism(members, solution.cost, solution.weights, integ, table_points or TABLE_POINTS,
                           moments=solution.virtual_moments)


def solve_group(members: Sequence[str | ValueDistribution], cost: float = 0.0, *,
                qmc_points: int = 1 << 14, qmc_scramblings: int = 4, seed: int = 0,
                force_qmc: bool = False) -> GroupSolution:
    """The seller-optimal collective mechanism (Theorem 1, Proposition 1) and the best posted price."""
    dists = parse_members(members)
    cost = check_cost(cost)
    n = len(dists)
    integ = GroupIntegrator(dists, cost, qmc_points=qmc_points, qmc_scramblings=qmc_scramblings,
                            seed=seed, force_qmc=force_qmc)
    kind, who = trivial_case(dists, cost)
    if kind is not None:
        w = np.zeros(n)
        w[who] = 1.0
        method = f"Proposition 1 ({kind}-trade); dictatorship weights of member {who + 1}"
    else:
        w = optimal_weights(integ)
        method = "SLSQP on the simplex with exact gradients; " + integ.method(n - 1)
    ev = evaluate_weights(integ, w)
    price, posted = best_posted_price(dists, cost)
    if kind == "never":
        profit, trade = 0.0, 0.0
    elif kind == "always":
        profit, trade = min(d.lo for d in dists) - cost, 1.0
    else:
        profit, trade = ev.profit_at_cost(cost), ev.trade
    error = 0.0 if kind else certified_error(ev, profit)
    if profit < 0 <= profit + error:  # round-off: the optimum is >= 0 (never trading earns 0)
        profit = 0.0
    return GroupSolution(
        members=tuple(d.spec for d in dists), cost=cost, weights=tuple(float(x) for x in w),
        profit=profit, trade_probability=trade, trivial=kind,
        virtual_moments=tuple(float(g) for g in ev.moments), dual_bound=ev.excess,
        optimality_gap=0.0 if kind else ev.gap(), posted_price=price, posted_price_profit=posted,
        method=method, profit_stderr=ev.stderr, profit_error=error)


def certified_error(ev: WeightEvaluation, profit: float) -> float:
    """How far ``profit`` may be from the optimum: the optimum lies between what x_omega earns and
    the dual bound E[(omega . phi - c)+] (Theorem 1), widened by SIGMAS standard errors under QMC."""
    spread = max(ev.excess - profit, 0.0)
    return float(spread + (SIGMAS * ev.stderr if ev.stderr is not None and math.isfinite(ev.stderr) else 0.0))
