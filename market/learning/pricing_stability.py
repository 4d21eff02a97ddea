"""Stochastically stable splits of the discretized simultaneous pricing game (Theorems 5.1-5.2).

Adaptive play (Young 1993) between the seller and the intermediary on the ``points``-price
grid of :func:`agora.market.single_item.simultaneous.grid_game`, sample sizes s_S and s_I:
on the exact chain over histories when ``memory`` is given and the chain is small, otherwise
on conventions by the tip reduction (memory >= 2 max(s_S, s_I) assumed, the value of m does
not enter).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence

from agora.market.errors import InputError
from agora.market.learning.adaptive_play import AdaptivePlay, StabilityResult, conventions_of
from agora.market.learning.conventions import convention_stability, strict_equilibria
from agora.market.single_item.simultaneous import PricingGame, grid_game

EXACT_STATES = 390_625  # largest history chain solved exactly (n^(2m) histories; 5 prices, memory 4: about 2 s, 0.6 GB)


def exact_chain(points: int, memory: int | None, other: int | None = None) -> bool:
    """Whether the chain over histories, points^memory other^memory of them (``other``: the column
    player's action count, default ``points``), is small enough to solve exactly.

    A game has at least 2 actions a side, so a memory above log2(EXACT_STATES) / 2 never is: the
    power is not computed for it (a memory of 10^9 would take hours to raise to).
    """
    other = points if other is None else other
    return (memory is not None and 2 * memory <= math.log2(EXACT_STATES)
            and (points * other) ** memory <= EXACT_STATES)


def stability_of(A, B, samples: tuple[int, int], memory: int | None,
                 fits: Callable[[int], None] | None = None) -> tuple[StabilityResult, list, AdaptivePlay | None]:
    """Stochastically stable classes of adaptive play on (A, B): on the exact chain over histories
    when :func:`exact_chain` allows it (the play is returned), else on conventions by the tip
    reduction (memory >= 2 max(s) required when given; None returned for the play). Also each
    class's convention (a, b), or None for a class that is not one.

    ``fits``, if given, is called with the number of conventions before the tip reduction starts.
    """
    if exact_chain(A.shape[0], memory, A.shape[1]):
        play = AdaptivePlay(A, B, memory, samples)
        res = play.stability()
        return res, conventions_of(play, res.classes), play
    if memory is not None and memory < 2 * max(samples):
        raise InputError(f"memory {memory} is below 2 x the larger sample ({2 * max(samples)}) "
                         f"and the chain of {A.shape[0] * A.shape[1]}^{memory} histories is too large "
                         "to build; give memory >= 2 x sample or fewer prices")
    if fits is not None:
        fits(len(strict_equilibria(A, B)))
    res = convention_stability(A, B, samples)
    return res, [tuple(int(x) for x in c) for c in res.classes], None


def pricing_stability(bidders: Sequence[str], points: int = 11, samples: tuple[int, int] = (30, 30),
                      memory: int | None = None, fits: Callable[[int], None] | None = None) -> dict:
    """Conventions, resistances, potentials and the stochastically stable splits, as a dict.

    ``fits``, if given, is called with the number of conventions (strict equilibria) of the
    grid game before the tip reduction starts, so that a caller can refuse work too large.
    """
    start = time.perf_counter()
    s_seller, s_int = samples
    grid, A, B = grid_game(PricingGame(bidders), points)
    res, conv, play = stability_of(A, B, samples, memory, fits)
    exact = play is not None

    def split(c):
        return None if c is None else {"seller_price": float(grid[c[0]]),
                                       "intermediary_price": float(grid[c[1]])}

    return {
        "bidders": list(PricingGame(bidders).specs), "grid": points, "sample": s_seller,
        "sample_intermediary": s_int, "memory": memory,
        "stable": [split(conv[j]) or {"states": int(res.classes[j].size)} for j in res.stable],
        "conventions": [{**(split(c) or {"states": int(k.size)}),
                         "potential": None if math.isnan(p) else float(p)}
                        for c, k, p in zip(conv, res.classes, res.potentials)],
        "resistances": [[float(x) for x in row] for row in res.resistances],
        "method": res.method + ("" if exact else "; memory m >= 2 max(s) assumed (Young 1993), "
                                "only the conventions that can be least have potentials"),
        "seconds": time.perf_counter() - start,
    }
