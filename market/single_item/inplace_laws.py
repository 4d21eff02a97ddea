"""Draws, virtual values and reserves of the closed-form laws, bit for bit their own methods.

For the block-fused Monte Carlo, each kernel writes into a caller's block the very numbers
the distribution's own ``rvs`` and ``virtual_value`` return (same numpy operations in the
same order, so bit for bit), without allocating: the uniform, exponential and Pareto laws of
monopolist-intermediary App. D (phi(v) = 2v - HI, v - MEAN and ALPHA v). For the agent-based
rounds, a round's values are drawn run by run of alike laws (:func:`profile_draw`), and
phi^-1 at one point is scalar arithmetic (:func:`threshold_of`). Any other law, or a
subclass overriding those methods, falls back to its own methods.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from agora.market.distributions import Exponential, Pareto, Uniform, ValueDistribution


def draws_in_place(b: ValueDistribution) -> bool:
    """Can :func:`draw_into` fill a block of ``b.rvs`` in place (so a row can be drawn block by block)?"""
    kind = type(b)
    return (kind.rvs is Uniform.rvs or kind.rvs is Exponential.rvs
            or (kind.rvs is Pareto.rvs and kind.ppf is Pareto.ppf))


def draw_into(b: ValueDistribution, rng: np.random.Generator, out: np.ndarray) -> None:
    """``out[:] = b.rvs(out.size, rng)`` bit for bit, in place; only for laws with :func:`draws_in_place`.

    Uniform: LO + (HI - LO) u, as numpy's ``uniform``; exponential: MEAN times a standard
    exponential, as numpy's ``exponential``; Pareto: its quantile SCALE (1 - u)^(-1/b) via log1p.
    """
    kind = type(b).rvs
    if kind is Uniform.rvs:
        rng.random(out=out)
        np.multiply(out, b.hi - b.lo, out=out)
        np.add(out, b.lo, out=out)
    elif kind is Exponential.rvs:
        rng.standard_exponential(out=out)
        np.multiply(out, b.scale, out=out)
    else:
        rng.random(out=out)
        np.negative(out, out=out)
        with np.errstate(divide="ignore"):
            np.log1p(out, out=out)
        np.divide(out, -b.b, out=out)  # -log1p(-u) / b, the sign moved exactly onto b
        np.exp(out, out=out)
        np.multiply(out, b.lo, out=out)
        np.minimum(out, b.hi, out=out)


def affine_virtual(b: ValueDistribution) -> tuple[float, float] | None:
    """(slope, shift) with ``b.virtual_value(v)`` = slope v - shift at v in [LO, HI-], or None.

    The closed forms of App. D: 2v - HI (uniform), v - MEAN (exponential), ALPHA v (Pareto),
    for laws that keep :meth:`ValueDistribution.virtual_value` (clip to [LO, HI-], HI on the atom).
    """
    kind = type(b)
    if kind.virtual_value is not ValueDistribution.virtual_value:
        return None
    if kind._phi_cont is Uniform._phi_cont:
        return 2.0, b.hi
    if kind._phi_cont is Exponential._phi_cont:
        return 1.0, b.scale
    if kind._phi_cont is Pareto._phi_cont:
        return b.alpha, 0.0
    return None


def _draw_key(b: ValueDistribution) -> tuple | None:
    """What ``b.rvs`` depends on, for a law with :func:`draws_in_place` (None for any other law)."""
    if not draws_in_place(b):
        return None
    kind = type(b).rvs
    if kind is Uniform.rvs:
        return "uniform", b.lo, b.hi
    if kind is Exponential.rvs:
        return "exponential", b.scale
    return "pareto", b.lo, b.b, b.hi


def draw_runs(laws: Sequence[ValueDistribution]) -> tuple[tuple[ValueDistribution, int], ...]:
    """Neighbouring laws that draw alike, as (law, count): ``law.rvs(count, rng)`` run after run
    gives, bit for bit and in order, the values of one ``rvs(1, rng)`` per law (numpy's uniform and
    exponential draw element after element; the Pareto quantile is elementwise arithmetic)."""
    runs: list[list] = []
    for b in laws:
        key = _draw_key(b)
        if runs and key is not None and runs[-1][2] == key:
            runs[-1][1] += 1
        else:
            runs.append([b, 1, key])
    return tuple((b, count) for b, count, _ in runs)


def draw_one(b: ValueDistribution, rng: np.random.Generator) -> float:
    """``float(b.rvs(1, rng)[0])`` for a law with :func:`draws_in_place`, drawn as a scalar.

    The same arithmetic as numpy's own (LO + (HI - LO) u; MEAN times a standard exponential;
    the Pareto quantile), so the same number and the same generator state.
    """
    kind = type(b).rvs
    if kind is Uniform.rvs:
        return b.lo + (b.hi - b.lo) * rng.random()
    if kind is Exponential.rvs:
        return b.scale * rng.standard_exponential()
    return float(b._quantile(rng.random()))


def profile_draw(laws: Sequence[ValueDistribution]):
    """A function of a generator giving one value per law, in order: bit for bit the values (and
    generator state) of one ``rvs(1, rng)`` per law, with one ``rvs(count)`` call per run of
    :func:`draw_runs` and a scalar :func:`draw_one` for a lone law that numpy draws."""
    steps = [(lambda rng, b=b: [draw_one(b, rng)]) if count == 1 and draws_in_place(b)
             else (lambda rng, b=b, count=count: b.rvs(count, rng).tolist()) for b, count in draw_runs(laws)]
    if len(steps) == 1:
        return steps[0]
    return lambda rng: [v for step in steps for v in step(rng)]


def _affine_phi(b: ValueDistribution) -> tuple[float, float]:
    """(slope, shift) of phi = slope v - shift on the continuous part (a law with :func:`draws_in_place`)."""
    affine = affine_virtual(b)
    if affine is None:
        raise TypeError(f"{b!r} has no closed-form virtual value")
    return affine


def virtual_in_place(b: ValueDistribution) -> bool:
    """Can :func:`virtual_into` compute ``b.virtual_value`` on its own draws without allocating?"""
    kind = type(b)
    return (draws_in_place(b) and kind.virtual_value is ValueDistribution.virtual_value
            and kind._phi_cont in (Uniform._phi_cont, Exponential._phi_cont, Pareto._phi_cont))


def virtual_into(b: ValueDistribution, v: np.ndarray, out: np.ndarray, mask: np.ndarray) -> None:
    """``out[:] = b.virtual_value(v)`` bit for bit for draws v of ``b`` (so v >= LO); ``mask``: scratch.

    phi is the continuous part's formula at min(v, HI-) (clipping at LO is void for v >= LO)
    and HI on the atom at HI. Only for laws with :func:`virtual_in_place`.
    """
    slope, shift = _affine_phi(b)
    if math.isfinite(b._hi_minus):
        np.minimum(v, b._hi_minus, out=out)
        v_in = out
    else:
        v_in = v
    if slope != 1.0:
        np.multiply(v_in, slope, out=out)
    if shift != 0.0:
        np.subtract(v_in if slope == 1.0 else out, shift, out=out)
    if math.isfinite(b.hi) and (b.atom > 0.0 or v.max() >= b.hi):
        np.greater_equal(v, b.hi, out=mask)
        np.putmask(out, mask, b.hi)


def thresholds_in_closed_form(b: ValueDistribution) -> bool:
    """Is ``b.virtual_threshold`` elementwise arithmetic (no root finder whose method depends on the batch)?"""
    kind = type(b)
    return (kind.virtual_threshold is ValueDistribution.virtual_threshold
            and kind._theta_cont in (Uniform._theta_cont, Exponential._theta_cont, Pareto._theta_cont))


def threshold_of(b: ValueDistribution, t: float) -> float:
    """``float(b.virtual_threshold(t))`` at one t: the same branches and closed form, in Python floats.

    phi^-1(t) is LO for t <= phi(LO), the closed-form root up to phi(HI-), HI up to HI, and +inf
    above (Theorem 3.1's personalized reserve). Only for laws with :func:`thresholds_in_closed_form`
    (their ``_theta_cont`` is arithmetic that takes a Python float as it takes an array).
    """
    if t <= b.phi_lo:
        return b.lo
    if t <= b.phi_top:
        return b._theta_cont(t)
    return b.hi if t <= b.hi else math.inf
