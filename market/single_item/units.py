"""Units of a market: its scale, and the same market measured in that scale.

Every single-item solver is linear in the unit of value: scaling every value by c
scales every price and revenue by c and leaves probabilities alone. The solvers'
tolerances are set for values of order one, so they solve the market in units of
its scale (a power of two near the largest bidder's median, so that dividing by
it is exact in floating point) and multiply the answer back; a market already of
order one is solved as it is.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from agora.market.distributions import (
    Exponential,
    MaxOf,
    Pareto,
    PointMass,
    ScipyDistribution,
    Uniform,
    ValueDistribution,
)


def _scale_scipy(b: ScipyDistribution, factor: float) -> ScipyDistribution:
    rv = b.rv
    kwds = dict(rv.kwds)
    kwds["loc"] = kwds.get("loc", 0.0) * factor
    kwds["scale"] = kwds.get("scale", 1.0) * factor
    family = b.spec.split(":", 1)[0]
    spec = f"{family}(x{factor:g}):{b.spec.split(':', 1)[1]}" if factor != 1.0 else b.spec
    cap = b.hi * factor if b.atom > 0 else math.inf
    return ScipyDistribution(spec, rv.dist(*rv.args, **kwds), cap)


def scaled(b: ValueDistribution, factor: float) -> ValueDistribution | None:
    """The law of ``factor`` V, or None for a law this module does not know how to scale."""
    if type(b) is Uniform:
        return Uniform(b.lo * factor, b.hi * factor)
    if type(b) is Exponential:
        return Exponential(b.scale * factor)
    if type(b) is Pareto:
        return Pareto(b.alpha, b.lo * factor, b.hi * factor)
    if type(b) is PointMass:
        return PointMass(b.hi * factor)
    if type(b) is MaxOf:
        base = scaled(b.base, factor)
        return None if base is None else MaxOf(base, b.n)
    if type(b) is ScipyDistribution and hasattr(b.rv, "dist"):
        return _scale_scipy(b, factor)
    return None


def typical_value(b: ValueDistribution) -> float:
    """The law's median, or its top when the median is 0 (0 when both are)."""
    median = float(b.ppf(0.5))
    if math.isfinite(median) and median > 0.0:
        return median
    return b.hi if math.isfinite(b.hi) else 0.0


ORDER_ONE = (2.0 ** -3, 2.0 ** 10)  # markets whose largest typical value lies here are solved as they are


_TYPICAL: dict[str, float] = {}  # typical value per law spec (a spec names one law)


def value_scale(bidders: Sequence[ValueDistribution]) -> float:
    """A power of two near the largest typical value, or 1 when that value is in ORDER_ONE (the range
    the solvers' tolerances are set for) or none is positive: the unit in which a quadrature's
    absolute tolerance is set (:mod:`virtual_law`), for any law, scalable or not."""
    top = 0.0
    for b in bidders:
        if b.spec not in _TYPICAL:
            _TYPICAL[b.spec] = typical_value(b)
        top = max(top, _TYPICAL[b.spec])
    if not (math.isfinite(top) and top > 0.0) or ORDER_ONE[0] <= top <= ORDER_ONE[1]:
        return 1.0
    unit = 2.0 ** round(math.log2(top))
    return unit if math.isfinite(unit) and unit > 0.0 else 1.0


def market_scale(bidders: Sequence[ValueDistribution]) -> float:
    """The market's :func:`value_scale`, or 1 when a law cannot be scaled (it is then solved as it is)."""
    unit = value_scale(bidders)
    if unit == 1.0 or any(scaled(b, 1.0) is None for b in bidders):
        return 1.0
    return unit


def in_units(bidders: Sequence[ValueDistribution]) -> tuple[float, tuple[ValueDistribution, ...]]:
    """(unit, the bidders' laws measured in that unit)."""
    unit = market_scale(bidders)
    if unit == 1.0:
        return 1.0, tuple(bidders)
    return unit, tuple(scaled(b, 1.0 / unit) for b in bidders)


def times(value, unit: float, keep: Sequence[str] = ()):
    """``value`` with every number multiplied by ``unit`` (dicts and lists recursively, keys in ``keep``
    and strings left alone): a result in units of the market back in the market's own units."""
    if isinstance(value, dict):
        return {k: v if k in keep else times(v, unit, keep) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(times(v, unit, keep) for v in value)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return value
    return value * unit
