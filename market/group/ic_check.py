"""An interim IC and IR verifier for any collective mechanism (selling-to-a-group, Section 2).

For each member i and each pair (true type t, report r) on a type grid, the
interim utility ``t X_i(r) - M_i(r)`` is computed from the mechanism's ex-post
rules alone: ``X_i(r)`` and ``M_i(r)`` are averages of ``x(r, theta_-i)`` and
``m(r, theta_-i)`` over scrambled Sobol draws of the other members' types
(common to every report, so comparisons between reports share their error).
IC fails where some report beats the truth by more than the tolerance; IR
fails where the truthful utility is below minus the tolerance.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import qmc

from agora.market.group.mechanisms import CollectiveMechanism, type_grid


@dataclass(frozen=True)
class Violation:
    member: int
    true_type: float
    report: float | None  # None for an IR violation
    amount: float  # utility gained by the misreport, or the IR shortfall


@dataclass(frozen=True)
class VerifierReport:
    """Largest profitable misreport and largest IR shortfall found on the grid."""

    max_ic_gain: float
    min_ir_utility: float
    ic_violation: Violation | None
    ir_violation: Violation | None
    tolerance: float
    grid_points: int
    samples: int
    method: str

    @property
    def incentive_compatible(self) -> bool:
        return self.max_ic_gain <= self.tolerance

    @property
    def individually_rational(self) -> bool:
        return self.min_ir_utility >= -self.tolerance

    @property
    def passes(self) -> bool:
        return self.incentive_compatible and self.individually_rational

    def to_dict(self) -> dict:
        return {"incentive_compatible": self.incentive_compatible,
                "individually_rational": self.individually_rational,
                "max_ic_gain": self.max_ic_gain, "min_ir_utility": self.min_ir_utility,
                "ic_violation": None if self.ic_violation is None else vars(self.ic_violation),
                "ir_violation": None if self.ir_violation is None else vars(self.ir_violation),
                "tolerance": self.tolerance, "method": self.method}


def _others(mech: CollectiveMechanism, i: int, samples: int, seed: int) -> np.ndarray:
    """(samples, N) profiles of the others' types at scrambled Sobol quantiles (column i left 0)."""
    n = len(mech.members)
    theta = np.zeros((samples if n > 1 else 1, n))
    if n > 1:
        u = qmc.Sobol(d=n - 1, scramble=True, seed=seed).random(samples)
        u = np.clip(u, 1e-16, 1 - 1e-16)
        cols = [j for j in range(n) if j != i]
        for c, j in enumerate(cols):
            theta[:, j] = mech.members[j].ppf(u[:, c])
    return theta


def interim_by_sampling(mech: CollectiveMechanism, i: int, reports: np.ndarray, samples: int = 1 << 14,
                        seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(X_i, M_i) at ``reports`` from the ex-post rules, averaging over the others' types."""
    base = _others(mech, i, samples, seed)
    x, m = np.empty(reports.size), np.empty(reports.size)
    for r, report in enumerate(reports):
        base[:, i] = report
        x[r], m[r] = mech.allocation(base).mean(), mech.transfer(base).mean()
    return x, m


def verify_ic_ir(mech: CollectiveMechanism, grid_points: int = 101, samples: int = 1 << 15, seed: int = 0,
                 tolerance: float | None = None) -> VerifierReport:
    """Check interim IC and IR of ``mech`` on a grid of ``grid_points`` types per member.

    The default tolerance is 2e-3 times the largest type on the grids: with 2^15 Sobol
    points the sampling error of X_i (about 1e-4 for up to three members) moves a
    utility difference by well under it, while the violations of mechanisms that are
    not IC or IR are orders of magnitude larger (tests/test_group_mechanisms.py).
    """
    grids = [type_grid(d, grid_points) for d in mech.members]
    tol = tolerance if tolerance is not None else 2e-3 * max(float(g[-1]) for g in grids)
    best_gain, ic = -np.inf, None
    worst_ir, ir = np.inf, None
    for i, grid in enumerate(grids):
        x, m = interim_by_sampling(mech, i, grid, samples, seed + i)
        util = grid[:, None] * x[None, :] - m[None, :]  # util[t, r]: type t reporting r
        truthful = np.diag(util)
        gains = util.max(axis=1) - truthful
        t = int(np.argmax(gains))
        if gains[t] > best_gain:
            best_gain = float(gains[t])
            ic = Violation(i, float(grid[t]), float(grid[int(np.argmax(util[t]))]), best_gain)
        t = int(np.argmin(truthful))
        if truthful[t] < worst_ir:
            worst_ir = float(truthful[t])
            ir = Violation(i, float(grid[t]), None, -worst_ir)
    return VerifierReport(
        max_ic_gain=best_gain, min_ir_utility=worst_ir,
        ic_violation=ic if best_gain > tol else None, ir_violation=ir if worst_ir < -tol else None,
        tolerance=tol, grid_points=grid_points, samples=samples,
        method=f"interim utilities on {grid_points} types per member; others' types from "
               f"{samples} scrambled Sobol points")


def ex_post_deviation(mech: CollectiveMechanism, i: int, profile, grid_points: int = 401) -> tuple[float, float]:
    """Member i's best report when it knows everyone's types (Proposition 4): (report, gain over truth).

    A positive gain shows the mechanism is not dominant-strategy IC at this profile.
    """
    profile = np.asarray(profile, float)
    reports = np.append(type_grid(mech.members[i], grid_points), profile[i])
    rows = np.repeat(profile[None, :], reports.size, axis=0)
    rows[:, i] = reports
    util = profile[i] * mech.allocation(rows) - mech.transfer(rows)
    best = int(np.argmax(util))
    return float(reports[best]), float(util[best] - util[-1])
