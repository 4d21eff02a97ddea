"""Chapter 3's separation (Definition 3.3.1, Theorem 3.3.1) checked on the grids of LP (3.1).

:func:`separable_mechanism` assembles, on the profiles of a joint J-item LP
(3.1), the separable mechanism of one LP (3.1) per item: q_j^i(v) = q̂_j^i(v_j),
m^i(v) = Σ_j m̂_j^i(v_j). :func:`random_reserve_mechanism` is the
thesis' own separable mechanism (3.2) on those profiles. :func:`ex_post_violation` and :func:`grid_regret`
evaluate any grid mechanism by brute force over profiles and misreports,
independently of the LPs' constraint matrices.
"""

from __future__ import annotations

import numpy as np

from agora.market.robust.design import DesignLP, auction_design_lp
from agora.market.robust.mechanisms import RandomReserveAuction


def ex_post_violation(values: np.ndarray, allocation: np.ndarray, payments: np.ndarray) -> float:
    """Largest violation of (IC) against every grid report, (IR), (Inv) and q >= 0.

    ``values`` (P, I, J) must list every profile of a grid of types common to all
    bidders; ``allocation`` is (I, J, P) and ``payments`` (I, P).
    """
    n_p, n_b, n_j = values.shape
    _, own = np.unique(values.reshape(-1, n_j), axis=0, return_inverse=True)
    own = own.reshape(n_p, n_b)
    n_t = int(own.max()) + 1
    where = {tuple(row): p for p, row in enumerate(own)}
    truth = np.einsum("ijp,pij->ip", allocation, values) - payments
    worst = max(float(-allocation.min()), float(allocation.sum(axis=0).max() - 1.0), float(-truth.min()))
    for i in range(n_b):
        for p in range(n_p):
            lies = [where[tuple(np.where(np.arange(n_b) == i, t, own[p]))] for t in range(n_t)]
            gain = values[p, i] @ allocation[i][:, lies] - payments[i, lies] - truth[i, p]
            worst = max(worst, float(gain.max()))
    return worst


def grid_regret(values: np.ndarray, payments: np.ndarray) -> float:
    """Worst-case regret on the grid (3.1): max over profiles of Σ_j max_i v_j^i - Σ_i m^i(v)."""
    return float((values.max(axis=1).sum(axis=1) - payments.sum(axis=0)).max())


def separable_mechanism(joint: DesignLP, upper, bidders: int, points: int) -> tuple[np.ndarray, np.ndarray]:
    """(q, m) of Definition 3.3.1 from one LP (3.1) per item, on ``joint``'s profiles (P, I, J)."""
    values = joint.profiles
    q = np.zeros_like(joint.allocation)
    m = np.zeros_like(joint.payments)
    weights = points ** (bidders - 1 - np.arange(bidders))  # row-major profile index of item j's values
    for j, vbar in enumerate(np.atleast_1d(np.asarray(upper, float))):
        item = auction_design_lp(bidders, float(vbar), points)
        k = np.rint(values[:, :, j] / vbar * (points - 1)).astype(int) @ weights
        q[:, j] = item.allocation[:, k]
        m += item.payments[:, k]
    return q, m


def random_reserve_mechanism(values: np.ndarray, upper) -> tuple[np.ndarray, np.ndarray]:
    """(q*, m*) of (3.2) on profiles ``values`` (P, I, J): per item, the second-price auction with the
    random reserve of density 1/x on [v̄_j/e, v̄_j], averaged (Proposition 3.3.1); ties go to the
    lowest index (the lexicographic partition W_j^i)."""
    n_p, n_b, n_j = values.shape
    q = np.zeros((n_b, n_j, n_p))
    m = np.zeros((n_b, n_p))
    for j, vbar in enumerate(np.atleast_1d(np.asarray(upper, float))):
        auction = RandomReserveAuction(float(vbar))
        won = np.argmax(values[:, :, j], axis=1)[None, :] == np.arange(n_b)[:, None]  # (I, P)
        q[:, j] = won * auction.winner_probability(values[:, :, j])
        m += won * auction.revenue(values[:, :, j])
    return q, m
