"""Compiled (numba) sums over distinct scores of log P[g_d < c], for the win shares of threshold auctions.

A bidder's chance to win with score c is prod_{j != i} P[g_j < c] (no ties), so the law of every
score is needed at every quadrature node: numbers of scores times nodes, which for 50 bidders under
Myerson's ranking is most of an intermediary-first solve. For the laws of :mod:`law_stacks`
(uniform, exponential and Pareto, phi = a v + c on [lo, hi)) and the three scores of
:mod:`scores` (a bid v + shift, a virtual value phi(v), Myerson's phi^(v + delta) for an anticipated
price), P[g_d >= c] is a closed form, evaluated here in one compiled pass per node with the same
formulas as :class:`law_stacks.AffineStack` (tests/test_score_kernels.py holds them to 1e-15).
"""

from __future__ import annotations

import math

import numba
import numpy as np

from agora.market.distributions import Exponential, Pareto, Uniform

#: Score kinds and law families of a row, and the row's columns.
BID, VIRTUAL, SHIFTED = 0.0, 1.0, 2.0
UNIFORM, EXPONENTIAL, PARETO = 0.0, 1.0, 2.0
KIND, FAMILY, LO, HI, PHI_LO, PHI_TOP, SLOPE, INTERCEPT, SHIFT, PARAM = range(10)


def score_row(score) -> np.ndarray | None:
    """The row of one score (BID: v + shift; VIRTUAL: phi(v); SHIFTED: phi^(v + delta)), or None
    where the kernels do not cover it (another law, an atom, a flat virtual value)."""
    from agora.market.single_item.scores import ShiftedVirtualScore, ValueScore, VirtualScore

    d = score.dist
    if d.atom > 0 or type(d) not in (Uniform, Exponential, Pareto):
        return None
    if type(d) is Uniform:
        family, slope, intercept, param = UNIFORM, 2.0, -d.hi, 0.0
    elif type(d) is Exponential:
        family, slope, intercept, param = EXPONENTIAL, 1.0, -d.scale, d.scale
    else:
        family, slope, intercept, param = PARETO, d.alpha, 0.0, d.b
    if type(score) is ValueScore:
        kind, shift = BID, score.shift
    elif type(score) is VirtualScore and slope > 0:
        kind, shift = VIRTUAL, 0.0
    elif type(score) is ShiftedVirtualScore and slope > 0:
        kind, shift = SHIFTED, score.delta
    else:
        return None
    return np.array([kind, family, d.lo, d.hi, d.phi_lo, d.phi_top, slope, intercept, shift, param])


def score_rows(scores) -> np.ndarray | None:
    """:func:`score_row` of every score, one row each, or None if any is not covered."""
    rows = [score_row(s) for s in scores]
    return None if any(r is None for r in rows) else np.array(rows).reshape(len(rows), 10)


@numba.njit(cache=True, nogil=True)
def _survival(row, v):
    """P[V >= v] of the row's law (law_stacks' UniformStack, ExponentialStack, ParetoStack.survival)."""
    lo, hi = row[LO], row[HI]
    if row[FAMILY] == UNIFORM:
        return min(max((hi - v) / (hi - lo), 0.0), 1.0)
    if row[FAMILY] == EXPONENTIAL:
        return math.exp(-max(v, 0.0) / row[PARAM])
    if v > hi:
        return 0.0
    return (lo / max(v, lo)) ** row[PARAM]


@numba.njit(cache=True, nogil=True)
def _threshold(row, t):
    """phi^-1(t): LO up to phi(LO), (t - intercept) / slope up to phi_top, HI up to HI, +inf above."""
    if t <= row[PHI_LO]:
        return row[LO]
    if t <= row[PHI_TOP]:
        return (t - row[INTERCEPT]) / row[SLOPE]
    return row[HI] if t <= row[HI] else math.inf


@numba.njit(cache=True, nogil=True)
def prob_at_least(row, c):
    """P[g(V) >= c] for the row's score (MaxScoreLaw's tables: bids, virtual values, shifted virtual values)."""
    if row[KIND] == BID:
        return _survival(row, c - row[SHIFT]) if math.isfinite(c) else 0.0
    if row[KIND] == VIRTUAL:
        theta = _threshold(row, c)
        return _survival(row, theta) if math.isfinite(theta) else 0.0
    u = c if c > row[HI] else _threshold(row, min(c, row[HI]))
    tau = (row[LO] - (row[PHI_LO] - c) if c < row[PHI_LO] else u) - row[SHIFT]
    return _survival(row, tau) if math.isfinite(tau) else 0.0


@numba.njit(cache=True, nogil=True)
def log_below_sums(rows, counts, c, total, reached):
    """For each node c[k]: total[k] = sum_d counts_d log P[g_d < c[k]] over the scores that can fall
    short of it, reached[k] = how many bidders' scores are sure to reach it."""
    for k in range(c.size):
        t, r = 0.0, 0.0
        for d in range(rows.shape[0]):
            below = 1.0 - prob_at_least(rows[d], c[k])
            if below <= 0.0:
                r += counts[d]
            elif below < 1.0:  # log 1 = 0: a score that cannot reach c adds nothing
                t += counts[d] * math.log(below)
        total[k], reached[k] = t, r


@numba.njit(cache=True, nogil=True)
def own_log_below(rows, own, c, logs, sure):
    """log P[g_own < c] (0 where it is sure to reach c, flagged in ``sure``) for each node and its owner."""
    for k in range(c.size):
        below = 1.0 - prob_at_least(rows[own[k]], c[k])
        sure[k] = below <= 0.0
        logs[k] = 0.0 if below <= 0.0 else math.log(below)
