"""Is the optimal voting rule dominant-strategy implementable with some collective transfer?

Proposition 4 (selling-to-a-group, Section 5.2, Definition 9): an optimal IC, IR mechanism that is
also DIC exists only when the optimal rule is a dictatorship (never-trade, always-trade, or one
member's posted price). The proposition is about every transfer rule, so on a finite type grid it
is a linear feasibility question: the allocation ``x(theta) = 1{omega . phi(theta) >= c}`` of
Theorem 1 is fixed and the unknowns are the common transfers ``m(theta)``, one per type profile.
DIC for member i, true profile theta and report r of i reads

    m(theta) - m(r, theta_-i) <= theta_i [x(theta) - x(r, theta_-i)],

and ex-post IR (epIR, Proposition 4's first condition) reads ``m(theta) <= theta_i x(theta)``.
When the system ``A m <= b`` has no solution, Farkas' lemma gives ``y >= 0`` with ``A' y = 0`` and
``b' y < 0``; :func:`dsic_lp` finds such a y with a second linear program and records it.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from scipy.optimize import linprog

from agora.market.distributions import ValueDistribution
from agora.market.errors import InputError
from agora.market.group.mechanisms import type_grid

FARKAS_TOL = 1e-9  # b' y below -FARKAS_TOL (with sum y = 1) certifies infeasibility


@dataclass(frozen=True)
class DsicLpResult:
    """Outcome of the DIC linear program on one type grid."""

    feasible: bool
    status: str  # HiGHS status message of the feasibility LP
    grid: tuple[tuple[float, ...], ...]  # each member's types
    allocation: np.ndarray  # x on the profile grid, shape (k_1, ..., k_n)
    transfers: np.ndarray | None  # a DIC transfer rule on the grid when feasible
    certificate: np.ndarray | None  # Farkas multipliers y (sum 1) over the constraints when infeasible
    certificate_value: float | None  # b' y < 0 when infeasible
    constraints: int


def voting_allocation(grids: Sequence[np.ndarray], virtual: Sequence[np.ndarray], weights,
                      cost: float) -> np.ndarray:
    """The omega-voting rule ``1{sum_i omega_i phi_i(theta_i) >= c}`` of Theorem 1 on the profile grid."""
    w = np.asarray(weights, float)
    score = sum(np.reshape(w[i] * np.asarray(v, float), [-1 if j == i else 1 for j in range(len(grids))])
                for i, v in enumerate(virtual))
    return (score >= cost).astype(float)


def _constraints(grids: Sequence[np.ndarray], x: np.ndarray, ex_post_ir: bool):
    """Rows of ``A m <= b``: DIC for every member, profile and report (Definition 9), then epIR."""
    shape = x.shape
    index = np.arange(x.size).reshape(shape)
    rows, cols, vals, b = [], [], [], []
    r = 0
    for i, types in enumerate(grids):
        for theta in itertools.product(*(range(k) for k in shape)):
            for rep in range(shape[i]):
                if rep == theta[i]:
                    continue
                dev = theta[:i] + (rep,) + theta[i + 1:]
                rows += [r, r]
                cols += [index[theta], index[dev]]
                vals += [1.0, -1.0]
                b.append(types[theta[i]] * (x[theta] - x[dev]))
                r += 1
    if ex_post_ir:
        for theta in itertools.product(*(range(k) for k in shape)):
            rows.append(r)
            cols.append(index[theta])
            vals.append(1.0)
            b.append(min(grids[i][t] for i, t in enumerate(theta)) * x[theta])
            r += 1
    return sparse.csr_matrix((vals, (rows, cols)), shape=(r, x.size)), np.array(b)


def _farkas(a: sparse.csr_matrix, b: np.ndarray) -> tuple[np.ndarray, float]:
    """Minimize ``b' y`` over ``y >= 0, A' y = 0, sum y = 1``: a negative value certifies ``A m <= b`` is empty."""
    eq = sparse.vstack([a.T, np.ones((1, a.shape[0]))]).tocsr()
    rhs = np.zeros(eq.shape[0])
    rhs[-1] = 1.0
    res = linprog(b, A_eq=eq, b_eq=rhs, bounds=(0, None), method="highs")
    return res.x, float(res.fun)


def dsic_lp(grids: Sequence[np.ndarray], allocation: np.ndarray, ex_post_ir: bool = False) -> DsicLpResult:
    """Whether some common transfer rule makes ``allocation`` DIC on the grid (Proposition 4).

    ``allocation[k_1, ..., k_n]`` is the trade decision at types ``grids[i][k_i]``. Without epIR the
    answer is the strongest form of Proposition 4's condition 2 (no IR of any kind is imposed);
    epIR adds condition 1. The transfers are free variables (linprog, HiGHS).
    """
    grids = [np.asarray(g, float) for g in grids]
    x = np.asarray(allocation, float)
    if x.shape != tuple(len(g) for g in grids):
        raise InputError(f"the allocation must have shape {tuple(len(g) for g in grids)} (one entry per "
                         f"type profile), got {x.shape}")
    if not np.all((x == 0) | (x == 1)):
        raise InputError("the allocation must be 0 or 1 at every profile (Theorem 1's rule is bang-bang)")
    a, b = _constraints(grids, x, ex_post_ir)
    res = linprog(np.zeros(x.size), A_ub=a, b_ub=b, bounds=(None, None), method="highs")
    grid = tuple(tuple(map(float, g)) for g in grids)
    if res.status == 0:
        return DsicLpResult(True, res.message, grid, x, res.x.reshape(x.shape), None, None, a.shape[0])
    y, value = _farkas(a, b)
    return DsicLpResult(False, res.message, grid, x, None, y, value, a.shape[0])


def voting_dsic_lp(members: Sequence[ValueDistribution], cost: float, weights, points: int | Sequence[int],
                   ex_post_ir: bool = False) -> DsicLpResult:
    """:func:`dsic_lp` for the omega-voting rule of Theorem 1 on evenly spaced types of each member."""
    counts = [points] * len(members) if np.isscalar(points) else list(points)
    if len(counts) != len(members) or any(int(k) != k or k < 2 for k in counts):
        raise InputError(f"points must be one whole number >= 2 per member ({len(members)}), got {points}")
    if len(weights) != len(members):
        raise InputError(f"weights must be {len(members)} numbers, got {list(weights)}")
    grids = [type_grid(d, int(k)) for d, k in zip(members, counts)]
    virtual = [d.virtual_value(g) for d, g in zip(members, grids)]
    return dsic_lp(grids, voting_allocation(grids, virtual, weights, cost), ex_post_ir)


@dataclass(frozen=True)
class DsicTransferRange:
    """What every DIC transfer of a bang-bang rule shares on a grid (Lemmas 3 and 4).

    ``spread``: the largest difference ``m(theta) - m(theta')`` any DIC transfer allows between two
    profiles with the same trade decision (Lemma 3: 0). ``price_low`` / ``price_high``: the range of
    ``m^H - m^L``, the price collected on trade (Lemma 4 (1)); nan without both kinds of profile.
    """

    spread: float
    price_low: float
    price_high: float


def _extreme_transfers(a: sparse.csr_matrix, b: np.ndarray, ref: int, size: int) -> tuple[np.ndarray, np.ndarray]:
    """(max, min) of ``m(theta) - m(ref)`` over ``A m <= b`` for every profile at once.

    The constraints are differences ``m(u) - m(v) <= b``, so with ``m(ref) = 0`` the coordinatewise
    largest (smallest) solution is itself feasible: one program maximizing (minimizing) the sum finds it.
    """
    bounds = [(None, None)] * size
    bounds[ref] = (0.0, 0.0)
    out = []
    for sign in (-1.0, 1.0):
        res = linprog(np.full(size, sign), A_ub=a, b_ub=b, bounds=bounds, method="highs")
        if res.status != 0:
            raise InputError(f"the DIC transfers of this rule are not bounded on the grid: {res.message}")
        out.append(res.x)
    return out[0], out[1]


def dsic_transfer_range(grids: Sequence[np.ndarray], allocation: np.ndarray) -> DsicTransferRange:
    """Lemmas 3-4 on a grid: how much every DIC transfer of ``allocation`` can vary (see DsicTransferRange).

    Raises InputError when no DIC transfer exists (see :func:`dsic_lp` for a certificate).
    """
    grids = [np.asarray(g, float) for g in grids]
    x = np.asarray(allocation, float)
    if not dsic_lp(grids, x).feasible:
        raise InputError("this allocation has no DIC transfer on the grid, so it has no transfer range")
    a, b = _constraints(grids, x, False)
    flat = x.ravel()
    spread, price = 0.0, (np.nan, np.nan)
    for value in (0.0, 1.0):
        same = np.flatnonzero(flat == value)
        if same.size == 0:
            continue
        high, low = _extreme_transfers(a, b, int(same[0]), flat.size)
        spread = max(spread, float(np.max(high[same] - low[same])))
        other = np.flatnonzero(flat != value)
        if value == 0.0 and other.size:
            price = (float(low[other[0]]), float(high[other[0]]))
    return DsicTransferRange(spread, *price)
