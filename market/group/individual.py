"""Agent-specific transfers (selling-to-a-group, Section 6.4; Guth and Hellwig 1986, Proposition 4.3).

When the seller may charge each member its own transfer, Myerson's argument
applies member by member: with IR binding at every member's lowest type, member
i pays ``E[phi_i x]`` in expectation, so the profit of an allocation rule is
``E[x (sum_i phi_i - c)]`` and the optimal rule (regular laws) trades iff
``sum_i phi_i >= c``, earning ``E[(sum_i phi_i - c)+]``. With pooled transfers
(Theorem 1) it trades iff ``omega . phi >= c`` for omega in the simplex, earning
``min_omega E[(omega . phi - c)+]``; since ``sum_i phi_i`` is N times a point of
the simplex, agent-specific transfers earn at least as much.

Influence (Section 6.4): for proportional laws ``theta_i = theta_bar_i v_i``
with identically distributed ``v_i``, ``phi_i = theta_bar_i psi_i`` with
identically distributed ``psi_i``, and the trade rule weighs ``psi_i`` by
``omega_i theta_bar_i``. Here a member's influence is its weight times the
interquartile range of its virtual value, ``w_i IQR(phi_i)`` normalized to sum
to one: proportional to that coefficient for proportional laws (IQR(phi_i) =
theta_bar_i IQR(psi)), and finite for any law, heavy tails included.
Theorem 2 makes pooled influence fall with theta_bar_i; agent-specific
transfers (all w_i = 1) make it rise: the reversal of Section 6.4.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from agora.market.distributions import ValueDistribution
from agora.market.group.expectations import GroupIntegrator
from agora.market.group.solver import SIGMAS, check_cost, parse_members, solve_group


@dataclass(frozen=True)
class IndividualSolution:
    """The optimal mechanism with agent-specific transfers beside the pooled one (Section 6.4)."""

    members: tuple[str, ...]
    cost: float
    profit: float  # E[(sum_i phi_i - c)+]
    trade_probability: float
    payments: tuple[float, ...]  # member i's expected transfer E[phi_i x] (IR binds at its lowest type)
    influence: tuple[float, ...]  # w_i IQR(phi_i) / sum_j w_j IQR(phi_j) with w = 1
    pooled_profit: float
    pooled_trade_probability: float
    pooled_weights: tuple[float, ...]
    pooled_influence: tuple[float, ...]
    method: str
    profit_stderr: float | None = None
    profit_error: float = 0.0  # SIGMAS standard errors under QMC; 0 under quadrature
    pooled_profit_error: float = 0.0  # the pooled optimum's certified error (GroupSolution.profit_error)

    @property
    def influence_reversed(self) -> bool:
        """Whether the two rules rank the members' influence in opposite orders (strictly)."""
        a, b = np.array(self.influence), np.array(self.pooled_influence)
        da, db = a[:, None] - a[None, :], b[:, None] - b[None, :]
        pairs = (np.abs(da) > 1e-9) & (np.abs(db) > 1e-9)
        return bool(pairs.any() and np.all(np.sign(da[pairs]) == -np.sign(db[pairs])))

    def to_dict(self) -> dict:
        return {"transfers": "individual", "members": list(self.members), "cost": self.cost,
                "profit": self.profit, "trade_probability": self.trade_probability,
                "payments": list(self.payments), "influence": list(self.influence),
                "pooled_profit": self.pooled_profit, "pooled_profit_error": self.pooled_profit_error,
                "pooled_trade_probability": self.pooled_trade_probability,
                "pooled_weights": list(self.pooled_weights), "pooled_influence": list(self.pooled_influence),
                "influence_reversed": self.influence_reversed,
                "gain_over_pooled": self.profit - self.pooled_profit,
                "profit_stderr": self.profit_stderr, "profit_error": self.profit_error, "method": self.method}


def virtual_value_iqr(dist: ValueDistribution) -> float:
    """The interquartile range of phi(theta): phi(F^-1(3/4)) - phi(F^-1(1/4)) (phi is increasing)."""
    return float(np.diff(dist.virtual_value(dist.ppf(np.array([0.25, 0.75]))))[0])


def influence(weights, spreads) -> tuple[float, ...]:
    """w_i IQR(phi_i), normalized to sum to one."""
    raw = np.asarray(weights, float) * np.asarray(spreads, float)
    return tuple(float(v) for v in raw / raw.sum())


def solve_individual(members: Sequence[str | ValueDistribution], cost: float = 0.0, *,
                     qmc_points: int = 1 << 14, qmc_scramblings: int = 4, seed: int = 0,
                     force_qmc: bool = False) -> IndividualSolution:
    """The seller-optimal mechanism with agent-specific transfers and the pooled optimum beside it."""
    dists = parse_members(members)
    cost = check_cost(cost)
    n = len(dists)
    options = {"qmc_points": qmc_points, "qmc_scramblings": qmc_scramblings, "seed": seed, "force_qmc": force_qmc}
    integ = GroupIntegrator(dists, cost, **options)
    ones = np.ones(n)
    mom = integ.moments(ones, np.zeros(1), range(n))
    pooled = solve_group(dists, cost, **options)
    spreads = [virtual_value_iqr(d) for d in dists]
    stderr = None if mom.stderr is None else float(mom.stderr[0])
    profit, error = float(mom.excess[0]), SIGMAS * stderr if stderr is not None and np.isfinite(stderr) else 0.0
    return IndividualSolution(
        members=tuple(d.spec for d in dists), cost=cost, profit=profit,
        trade_probability=float(mom.trade[0]), payments=tuple(float(g) for g in mom.upper[0]),
        influence=influence(ones, spreads), pooled_profit=pooled.profit,
        pooled_trade_probability=pooled.trade_probability, pooled_weights=pooled.weights,
        pooled_influence=influence(pooled.weights, spreads),
        method="trade iff sum_i phi_i >= c (Guth-Hellwig); " + integ.method(n - 1),
        profit_stderr=stderr, profit_error=error, pooled_profit_error=pooled.profit_error)


def individual_rounds(members: Sequence[ValueDistribution], cost: float, theta: np.ndarray) -> dict[str, np.ndarray]:
    """The optimal mechanism with agent-specific transfers on type profiles (rows of ``theta``).

    Trade iff ``sum_i phi_i(theta_i) >= c``; member i pays its threshold type
    ``max(lo_i, phi_i^-1(c - sum_{j != i} phi_j))`` when the good is traded (Myerson's payment
    for a monotone 0-1 rule with IR binding at the lowest type, so E[m_i] = E[phi_i x]) and
    nothing otherwise. Returns the seller's ``profit`` sum_i m_i - c x, ``trade``, ``transfer``
    sum_i m_i, each ``payment_i`` and each ``utility_i`` theta_i x - m_i (0-based).
    """
    theta = np.atleast_2d(np.asarray(theta, float))
    phi = np.column_stack([d.virtual_value(theta[:, i]) for i, d in enumerate(members)])
    total = phi.sum(axis=1)
    x = (total >= cost).astype(float)
    thresholds = np.column_stack([np.maximum(d.lo, d.virtual_threshold(cost - (total - phi[:, i])))
                                  for i, d in enumerate(members)])
    pay = np.where(x[:, None] > 0, thresholds, 0.0)  # no trade: no payment (the threshold may be +inf)
    out = {"profit": pay.sum(axis=1) - cost * x, "trade": x, "transfer": pay.sum(axis=1)}
    out |= {f"payment_{i}": pay[:, i] for i in range(pay.shape[1])}
    out |= {f"utility_{i}": theta[:, i] * x - pay[:, i] for i in range(pay.shape[1])}
    return out
