"""Sharpening a smooth interior maximum found by comparing values (Sections 3-4's price searches).

A scan plus bounded Brent pins a flat maximum only to ~sqrt(machine eps) of its location;
the root of the derivative pins it far better. The seller's posted price (Theorems 2.3, 3.1)
and the intermediary's commitment parameter (Section 4) are both sharpened here.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from scipy.optimize import brentq


def polish_maximum(value: Callable[[float], float], x: float, step: float = 1e-3, scale: float = 0.0) -> float:
    """Sharpen a smooth interior maximum of ``value`` near x > 0 to ~1e-12 relative.

    Comparing values pins a flat maximum only to ~sqrt(their noise); the sign change of
    the five-point derivative with a step h = step max(x, scale) (truncation ~h^4, noise
    ~noise / h; ``scale`` a unit of x, so that a maximum near 0 gets a step of the problem's
    size) pins it far better, and equally in any unit of x. Kept only if the bracket
    x +- 10 h lies above 0 with a sign change across it and the value does not drop by more
    than 1e-12 of itself (a kink or jump nearby is left alone); the stencil's lowest point,
    x - 12 h, must lie above 0 too (a parameter of a commitment is never negative).
    """
    h = step * max(x, scale)
    if not (math.isfinite(x) and x - 12.0 * h > 0.0):
        return x

    def slope(y):
        up2, up, down, down2 = (value(y + k * h) for k in (2.0, 1.0, -1.0, -2.0))
        return (8.0 * (up - down) - (up2 - down2)) / (12.0 * h)

    a, b = x - 10.0 * h, x + 10.0 * h
    if not slope(a) > 0.0 > slope(b):
        return x
    root = brentq(slope, a, b, xtol=1e-15 * x, rtol=4 * np.finfo(float).eps)
    before = value(x)
    return root if value(root) >= before - 1e-12 * abs(before) else x
