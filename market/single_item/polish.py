"""Sharpening a smooth interior maximum found by comparing values (Sections 3-4's price searches).

A scan plus bounded Brent pins a flat maximum only to ~sqrt(their noise) of its location;
the root of the derivative pins it far better. The seller's posted price (Theorems 2.3, 3.1)
and the intermediary's commitment parameter (Section 4) are both sharpened here.
"""

from __future__ import annotations

import math
from collections.abc import Callable

NEWTON_STEPS = 4  # a start within ~1e-5 of the maximum needs two; more means no smooth maximum nearby
SETTLED = 1e-4  # a Newton step below this many stencil steps leaves an error ~(1e-4 h)^2, below rounding


def polish_maximum(value: Callable[[float], float], x: float, step: float = 1e-3, scale: float = 0.0) -> float:
    """Sharpen a smooth interior maximum of ``value`` near x > 0 to ~1e-12 relative.

    Comparing values pins a flat maximum only to ~sqrt(their noise); Newton's method on the
    derivative pins it far better. Its slope and curvature come from the five-point stencil
    y, y +- h, y +- 2h with h = step max(x, scale) (truncation ~h^4 and ~h^2, noise ~noise / h
    and ~noise / h^2; ``scale`` a unit of x, so that a maximum near 0 gets a step of the problem's
    size), so each step costs four new values and a start within ~1e-5 of the maximum settles in
    two. Kept only if every step sees a maximum's curvature (< 0), stays within x +- 10 h, and
    the value does not drop by more than 1e-12 of itself (a kink or jump nearby is left alone);
    the lowest point probed, at least x - 12 h, must lie above 0 (a commitment's parameter is
    never negative).
    """
    h = step * max(x, scale)
    if not (math.isfinite(x) and x - 12.0 * h > 0.0):
        return x
    before = value(x)
    y, at_y = x, before
    for _ in range(NEWTON_STEPS):
        up2, up, down, down2 = (value(y + k * h) for k in (2.0, 1.0, -1.0, -2.0))
        slope = (8.0 * (up - down) - (up2 - down2)) / (12.0 * h)
        curvature = (16.0 * (up + down) - (up2 + down2) - 30.0 * at_y) / (12.0 * h * h)
        if not curvature < 0.0:
            return x
        move = -slope / curvature
        y = y + move
        if not abs(y - x) <= 10.0 * h:
            return x
        at_y = value(y)
        if abs(move) <= SETTLED * h:
            break
    return y if at_y >= before - 1e-12 * abs(before) else x
