"""Compiled (numba) passes of the block-fused seller-first Monte Carlo, bit for bit the array form.

numpy's generator fills a block with uniforms or standard exponentials (and, for a Pareto law,
takes -log1p(-u) / b and exp with numpy's own ufuncs, whose last bits the compiled code would
not reproduce); everything after is one compiled pass per block: the law's affine end of the
inverse CDF in place, phi once, and the fold into the round's winner, top phi and best rival phi.
The settlement of a posted price (Theorem 3.1's fee with the personalized reserve
phi^-1(max(price, rival))) is one more pass per chunk. Each kernel performs the numpy
operations it replaces, in the same order and in float64 without fused multiply-adds, so the
numbers are the same bit for bit (tests/test_montecarlo_fused.py).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numba
import numpy as np

from agora.market.distributions import Exponential, Pareto, Uniform, ValueDistribution
from agora.market.single_item.inplace_laws import affine_virtual, virtual_in_place

#: Per law, the columns of :func:`law_table`.
SCALE, OFFSET, CAP, HI_MINUS, SLOPE, SHIFT, HI, PHI_LO, LO, PHI_TOP, THETA_ADD, THETA_DIV = range(12)


def compiled(b: ValueDistribution) -> bool:
    """Do the kernels cover ``b`` (drawn in place, phi affine, phi^-1 in closed form)?"""
    kind = type(b)
    return (virtual_in_place(b) and kind.virtual_threshold is ValueDistribution.virtual_threshold
            and kind._theta_cont in (Uniform._theta_cont, Exponential._theta_cont, Pareto._theta_cont))


def law_row(b: ValueDistribution) -> np.ndarray:
    """The numbers the kernels need of one law with :func:`compiled` (columns named above).

    The draw's affine end: v = min(x * SCALE + OFFSET, CAP) with x numpy's uniform (uniform law:
    LO + (HI - LO) u), standard exponential (MEAN x) or Pareto exp(-log1p(-u) / b) (LO x, capped).
    phi = min(v, HI-) SLOPE - SHIFT, HI on the atom (App. D). phi^-1 on the continuous part is
    (t + THETA_ADD) / THETA_DIV: (t + HI) / 2, t + MEAN, t / ALPHA.
    """
    kind = type(b).rvs
    if kind is Uniform.rvs:
        draw, theta = (b.hi - b.lo, b.lo, math.inf), (b.hi, 2.0)
    elif kind is Exponential.rvs:
        draw, theta = (b.scale, 0.0, math.inf), (b.scale, 1.0)
    else:
        draw, theta = (b.lo, 0.0, b.hi), (0.0, b.alpha)
    slope, shift = affine_virtual(b)
    return np.array([*draw, b._hi_minus, slope, shift, b.hi, b.phi_lo, b.lo, b.phi_top, *theta])


def law_table(bidders: Sequence[ValueDistribution]) -> np.ndarray:
    """:func:`law_row` of every bidder, one row each."""
    return np.array([law_row(b) for b in bidders]).reshape(len(bidders), 12)


def draw_head(b: ValueDistribution, rng: np.random.Generator, out: np.ndarray) -> None:
    """What numpy draws of a block of law ``b`` (one with :func:`compiled`) before :func:`fold_block`.

    Uniforms (uniform law), standard exponentials (exponential law), or the Pareto quantile
    before its scale and cap, exp(-log1p(-u) / b), with numpy's own ufuncs.
    """
    kind = type(b).rvs
    if kind is Exponential.rvs:
        rng.standard_exponential(out=out)
        return
    rng.random(out=out)
    if kind is Pareto.rvs:
        np.negative(out, out=out)
        with np.errstate(divide="ignore"):
            np.log1p(out, out=out)
        np.divide(out, -b.b, out=out)
        np.exp(out, out=out)


@numba.njit(cache=True, nogil=True)
def fold_block(x, law, i, best, rival, winner):
    """Bidder ``i``'s block: x becomes its values in place, and each round's top two take its phi.

    ``law`` is its :func:`law_row`; the first bidder (i = 0) starts the rounds afresh. A strictly
    higher phi takes the lead (so equal phis stay with the earlier bidder, as argmax); the lead's
    old phi, or the new phi, raises the best rival.
    """
    scale, offset, cap = law[0], law[1], law[2]
    hi_minus, slope, shift, hi = law[3], law[4], law[5], law[6]
    for k in range(x.size):
        v = min(x[k] * scale + offset, cap)
        x[k] = v
        phi = hi if v >= hi else min(v, hi_minus) * slope - shift
        if i == 0:
            best[k], rival[k], winner[k] = phi, -math.inf, 0
        elif phi > best[k]:
            rival[k] = max(rival[k], best[k])
            best[k] = phi
            winner[k] = i
        else:
            rival[k] = max(rival[k], phi)


@numba.njit(cache=True, nogil=True)
def _threshold(law, t):
    """phi^-1(t) of a law row: LO up to phi(LO), the closed form up to phi(HI-), HI up to HI, +inf above."""
    if t <= law[7]:
        return law[8]
    if t <= law[9]:
        return (t + law[10]) / law[11]
    return law[6] if t <= law[6] else math.inf


@numba.njit(cache=True, nogil=True)
def settle_posted(values, laws, price, winner, Phi, rival, out_winner, delivered, seller, intermediary, welfare):
    """Rounds of the posted price {(1, price)}: sold when the top phi reaches the price.

    The winner pays the price and the intermediary's fee, its Myerson payment less the price:
    (v - price) - max(v - phi^-1(max(price, rival)), 0) (Theorem 3.1, x = 1).
    """
    for k in range(winner.size):
        w = winner[k]
        v = values[w, k]
        if Phi[k] >= price:
            covered = max(v - _threshold(laws[w], max(price, rival[k])), 0.0)
            out_winner[k], delivered[k], seller[k] = w, True, price
            intermediary[k], welfare[k] = (v - price) - covered, v
        else:
            out_winner[k], delivered[k], seller[k], intermediary[k], welfare[k] = -1, False, 0.0, 0.0, 0.0
