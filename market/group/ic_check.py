"""An interim IC and IR verifier for any collective mechanism (selling-to-a-group, Section 2).

For each member i and each pair (true type t, report r) on a type grid, the
interim utility ``t X_i(r) - M_i(r)`` is computed from the mechanism's ex-post
rules alone: ``X_i(r)`` and ``M_i(r)`` are averages of ``x(r, theta_-i)`` and
``m(r, theta_-i)`` over scrambled Sobol draws of the other members' types
(common to every report, so comparisons between reports share their error).

Violations are amounts of money: the gain of the best misreport over the truth
(IC) and the shortfall of the truthful utility below 0 (IR, the veto's outside
option). One tolerance in money decides them: by default a fraction of the
seller's expected profit ``E[m - c x]`` (so a tax of a few percent of what the
seller earns is caught whatever the scale of the types), or an absolute amount
the caller passes. The draws come in independent scramblings, whose spread
gives the sampling standard error of every reported amount.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import optimize
from scipy.stats import qmc

from agora.market.errors import InputError
from agora.market.group.mechanisms import CollectiveMechanism, type_grid

RELATIVE_TOLERANCE = 1e-2  # default: violations above 1% of the seller's expected profit
SCRAMBLINGS = 8  # independent Sobol scramblings; their spread is the standard error
SIGMAS = 4.0  # a violation exceeds the tolerance by more than this many standard errors


@dataclass(frozen=True)
class Violation:
    member: int
    true_type: float
    report: float | None  # None for an IR violation
    amount: float  # utility gained by the misreport, or the IR shortfall (money)
    stderr: float = 0.0  # sampling standard error of ``amount``

    def exceeds(self, tolerance: float) -> bool:
        """The amount is above ``tolerance`` by more than SIGMAS standard errors."""
        return self.amount - SIGMAS * self.stderr > tolerance


@dataclass(frozen=True)
class VerifierReport:
    """The worst misreport and the worst IR shortfall on the grid, judged against one tolerance.

    ``ic_violation`` / ``ir_violation`` are the worst cases when they exceed the tolerance
    (else None); ``worst_misreport`` / ``worst_shortfall`` are the worst cases in any event.
    """

    max_ic_gain: float
    min_ir_utility: float
    ic_violation: Violation | None
    ir_violation: Violation | None
    tolerance: float
    grid_points: int
    samples: int
    method: str
    profit: float = math.nan  # the seller's expected profit E[m - c x] by the same sampling
    tolerance_basis: str = ""
    worst_misreport: Violation | None = None
    worst_shortfall: Violation | None = None

    @property
    def incentive_compatible(self) -> bool:
        return self.ic_violation is None

    @property
    def individually_rational(self) -> bool:
        return self.ir_violation is None

    @property
    def resolution(self) -> float:
        """The smallest violation sure to be reported: tolerance + SIGMAS standard errors."""
        worst = [v.stderr for v in (self.worst_misreport, self.worst_shortfall) if v is not None]
        return self.tolerance + SIGMAS * max(worst, default=0.0)

    @property
    def passes(self) -> bool:
        return self.incentive_compatible and self.individually_rational

    def to_dict(self) -> dict:
        def show(v):
            return None if v is None else vars(v)

        return {"incentive_compatible": self.incentive_compatible,
                "individually_rational": self.individually_rational,
                "max_ic_gain": self.max_ic_gain, "min_ir_utility": self.min_ir_utility,
                "ic_violation": show(self.ic_violation), "ir_violation": show(self.ir_violation),
                "worst_misreport": show(self.worst_misreport), "worst_shortfall": show(self.worst_shortfall),
                "profit": self.profit, "tolerance": self.tolerance, "tolerance_basis": self.tolerance_basis,
                "resolution": self.resolution,
                "method": self.method}


def _sobol_sets(d: int, samples: int, scramblings: int, seed: int) -> np.ndarray:
    """(scramblings, samples // scramblings, d) scrambled Sobol quantiles in (0, 1)."""
    per = max(1, samples // scramblings)
    seeds = np.random.SeedSequence(seed).spawn(scramblings)
    sets = [qmc.Sobol(d=d, scramble=True, seed=np.random.default_rng(s)).random(per) for s in seeds]
    return np.clip(np.stack(sets), 1e-16, 1 - 1e-16)


def _others(mech: CollectiveMechanism, i: int, samples: int, seed: int,
            scramblings: int = SCRAMBLINGS) -> np.ndarray:
    """(scramblings, points, N) profiles of the others' types at scrambled Sobol quantiles (column i 0)."""
    n = len(mech.members)
    if n == 1:
        return np.zeros((scramblings, 1, 1))
    u = _sobol_sets(n - 1, samples, scramblings, seed)
    theta = np.zeros((*u.shape[:2], n))
    for c, j in enumerate(j for j in range(n) if j != i):
        theta[..., j] = mech.members[j].ppf(u[..., c])
    return theta


def _interim_sets(mech: CollectiveMechanism, i: int, reports: np.ndarray, samples: int, seed: int,
                  scramblings: int = SCRAMBLINGS) -> tuple[np.ndarray, np.ndarray]:
    """(X_i, M_i) at ``reports`` for each scrambling: two arrays of shape (scramblings, reports)."""
    base = _others(mech, i, samples, seed, scramblings)
    r, k, n = base.shape
    x, m = np.empty((r, reports.size)), np.empty((r, reports.size))
    for col, report in enumerate(reports):
        base[..., i] = report
        flat = base.reshape(r * k, n)
        x[:, col] = mech.allocation(flat).reshape(r, k).mean(axis=1)
        m[:, col] = mech.transfer(flat).reshape(r, k).mean(axis=1)
    return x, m


def interim_by_sampling(mech: CollectiveMechanism, i: int, reports: np.ndarray, samples: int = 1 << 14,
                        seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(X_i, M_i) at ``reports`` from the ex-post rules, averaging over the others' types."""
    x, m = _interim_sets(mech, i, np.asarray(reports, float), samples, seed)
    return x.mean(axis=0), m.mean(axis=0)


def expected_profit(mech: CollectiveMechanism, samples: int = 1 << 15, seed: int = 0,
                    scramblings: int = SCRAMBLINGS) -> tuple[float, float]:
    """The seller's expected profit E[m - c x] over every member's types: (mean, standard error)."""
    n = len(mech.members)
    u = _sobol_sets(n, samples, scramblings, seed)
    theta = np.stack([d.ppf(u[..., j]) for j, d in enumerate(mech.members)], axis=-1)
    flat = theta.reshape(-1, n)
    per_set = (mech.transfer(flat) - mech.cost * mech.allocation(flat)).reshape(u.shape[:2]).mean(axis=1)
    return float(per_set.mean()), _stderr(per_set)


def _stderr(per_set: np.ndarray) -> float:
    return float(per_set.std(ddof=1) / math.sqrt(per_set.size)) if per_set.size > 1 else 0.0


def _tolerance(profit: float, relative: float, absolute: float | None) -> tuple[float, str]:
    if absolute is not None:
        if not 0.0 <= absolute < math.inf:
            raise InputError(f"an absolute tolerance must be a number >= 0, got {absolute!r}")
        return float(absolute), f"absolute {absolute:.3g}"
    if not 0.0 < relative < math.inf:
        raise InputError(f"a relative tolerance must be a number > 0, got {relative!r}")
    if not profit > 0:
        raise InputError(f"the seller's expected profit is {profit:.3g}, so a tolerance relative to it "
                         f"is meaningless; pass an absolute tolerance (money) instead")
    return relative * profit, f"{relative:.3g} x the seller's profit {profit:.6g}"


def verify_ic_ir(mech: CollectiveMechanism, grid_points: int = 101, samples: int = 1 << 15, seed: int = 0,
                 tolerance: float | None = None, relative_tolerance: float = RELATIVE_TOLERANCE) -> VerifierReport:
    """Check interim IC and IR of ``mech`` on a grid of ``grid_points`` types per member.

    A misreport gaining more than the tolerance, or a truthful utility below minus the
    tolerance, each by more than SIGMAS standard errors, is a violation. The tolerance
    is ``tolerance`` (money) when given, else ``relative_tolerance`` times the seller's
    expected profit (an error if it is not positive). Each amount carries the standard
    error of its estimate over
    :data:`SCRAMBLINGS` independent scramblings of ``samples`` Sobol points in all.
    """
    if grid_points < 2 or samples < 2 * SCRAMBLINGS:
        raise InputError(f"the verifier needs >= 2 grid points and >= {2 * SCRAMBLINGS} samples, "
                         f"got {grid_points} and {samples}")
    profit, profit_se = expected_profit(mech, samples, seed + len(mech.members))
    tol, basis = _tolerance(profit, relative_tolerance, tolerance)
    grids = [type_grid(d, grid_points) for d in mech.members]
    ic = ir = None
    for i, grid in enumerate(grids):
        x, m = _interim_sets(mech, i, grid, samples, seed + i)
        util = grid[None, :, None] * x[:, None, :] - m[:, None, :]  # util[s, t, r]: type t reporting r
        mean = util.mean(axis=0)
        truthful = np.diag(mean)
        gains = mean.max(axis=1) - truthful
        t = int(np.argmax(gains))
        r = int(np.argmax(mean[t]))
        if ic is None or gains[t] > ic.amount:
            ic = Violation(i, float(grid[t]), float(grid[r]), float(gains[t]), _stderr(util[:, t, r] - util[:, t, t]))
        t = int(np.argmin(truthful))
        if ir is None or -truthful[t] > ir.amount:
            ir = Violation(i, float(grid[t]), None, float(-truthful[t]), _stderr(util[:, t, t]))
    per = max(1, samples // SCRAMBLINGS)
    return VerifierReport(
        max_ic_gain=ic.amount, min_ir_utility=-ir.amount,
        ic_violation=ic if ic.exceeds(tol) else None, ir_violation=ir if ir.exceeds(tol) else None,
        tolerance=tol, grid_points=grid_points, samples=samples, profit=profit, tolerance_basis=basis,
        worst_misreport=ic, worst_shortfall=ir,
        method=f"interim utilities on {grid_points} types per member; others' types from "
               f"{SCRAMBLINGS} scrambled Sobol sets of {per} points (profit {profit:.6g} +- {profit_se:.1g})")


def ex_post_deviation(mech: CollectiveMechanism, i: int, profile, grid_points: int = 401) -> tuple[float, float]:
    """Member i's best report when it knows everyone's types (Proposition 4): (report, gain over truth).

    The utility ``theta_i x(r, theta_-i) - m(r, theta_-i)`` is scanned on ``grid_points``
    reports over the support, and the best cell is refined by a bounded scalar optimizer
    (Brent's method on the neighbouring cells), so the report is exact to about 1e-8
    relative rather than to the grid's spacing. A positive gain shows the mechanism is not
    dominant-strategy IC at this profile.
    """
    profile = np.asarray(profile, float)
    grid = type_grid(mech.members[i], grid_points)

    def utility(reports) -> np.ndarray:
        rows = np.repeat(profile[None, :], np.size(reports), axis=0)
        rows[:, i] = reports
        return profile[i] * mech.allocation(rows) - mech.transfer(rows)

    truth = float(utility([profile[i]])[0])
    values = utility(grid)
    b = int(np.argmax(values))
    best, value = float(grid[b]), float(values[b])
    lo, hi = grid[max(b - 1, 0)], grid[min(b + 1, grid.size - 1)]
    res = optimize.minimize_scalar(lambda r: -float(utility([r])[0]), bounds=(lo, hi), method="bounded",
                                   options={"xatol": 1e-12})
    if -res.fun > value:
        best, value = float(res.x), float(-res.fun)
    if truth >= value:
        return float(profile[i]), 0.0
    return best, value - truth
