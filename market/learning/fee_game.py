"""The k-item posted-fees market of one seller and one intermediary as a grid game (intermediary-proof-mechanisms).

k identical items; n unit-demand buyers with i.i.d. values from F, all represented by one
intermediary. The seller posts a price p_s per item and the intermediary a fee f, at once
(:class:`agora.protocols.posted_fees.PostedFees` with one intermediary); a buyer asks for an
item iff v >= t = p_s + f, so D ~ Binomial(n, S(t)) ask, S(t) = P[v >= t], and min(D, k) are
served (random rationing). Per round

    u_s = p_s E[min(D, k)],     u_I = f E[min(D, k)],

a Nash demand game in the total price whose sale curve is E[min(D, k)]: with k = 1 it is
1 - F(t)^n, the single-item simultaneous game with n identical bidders (Section 5), and with
k >= n it is n S(t). Both prices lie on one grid of ``points`` prices from 0 to ``upper``.

:func:`fee_references` gives what Q-learning's profit gain is measured against (Calvano et al.
2020): the grid's trading pure equilibria, the one of largest total profit (checked against any
price in [0, upper] too) and the integrated monopolist's best total price on the grid.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from scipy.optimize import minimize_scalar

from agora.market.distributions import parse_spec
from agora.market.errors import InputError
from agora.market.k_items.solver import demand_pmf
from agora.market.learning.qlearning import check_sessions, grid_references, grid_sessions

SCAN = 2001  # prices scanned before scipy refines a best response


def fee_upper(distribution: str, upper: float | None) -> float:
    """The grid's top price: ``upper``, else the top of the support (which must then be finite)."""
    top = float(parse_spec(distribution).hi) if upper is None else float(upper)
    if not 0.0 < top < math.inf:
        raise InputError(f"the grid's upper price must be positive and finite, got {top} "
                         "(give upper for a law without a finite top)")
    return top


def items_sold(distribution: str, buyers: int, items: int, total) -> np.ndarray:
    """E[min(D, k)] with D ~ Binomial(buyers, S(total)), for an array of total prices."""
    law = parse_spec(distribution)
    pmf = demand_pmf(buyers, law.prob_at_least(np.asarray(total, float)))
    return pmf @ np.minimum(np.arange(buyers + 1), items).astype(float)


@lru_cache(maxsize=16)
def fee_game(distribution: str, buyers: int, items: int, points: int,
             upper: float | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The grid and the seller's (rows) and the intermediary's (columns) payoff matrices."""
    if not (isinstance(buyers, int) and buyers >= 1 and isinstance(items, int) and items >= 1):
        raise InputError(f"buyers and items must be whole numbers >= 1, got {buyers!r} and {items!r}")
    if points < 2:
        raise InputError(f"a price grid needs at least 2 points, got {points}")
    grid = np.linspace(0.0, fee_upper(distribution, upper), points)
    sold = items_sold(distribution, buyers, items, grid[:, None] + grid[None, :])
    return grid, grid[:, None] * sold, grid[None, :] * sold


def best_reply(distribution: str, buyers: int, items: int, other: float, top: float) -> float:
    """The largest payoff x E[min(D(x + other), k)] over x in [0, top]: the best of SCAN prices, then
    scipy's bounded Brent search within a spacing of it."""
    xs = np.linspace(0.0, top, SCAN)
    pay = xs * items_sold(distribution, buyers, items, xs + other)
    x0, step = float(xs[int(np.argmax(pay))]), xs[1]
    res = minimize_scalar(lambda x: -x * float(items_sold(distribution, buyers, items, x + other)),
                          bounds=(max(0.0, x0 - step), min(top, x0 + step)), method="bounded",
                          options={"xatol": 1e-12 * top})
    return max(float(pay.max()), -float(res.fun))


def fee_references(distribution: str, buyers: int, items: int, points: int, upper: float | None = None) -> tuple:
    """What :func:`agora.market.learning.qlearning.grid_sessions` measures against, as
    :func:`agora.market.learning.qlearning.pricing_references` gives it for the pricing game."""
    from agora.market.single_item.simultaneous import REGRET_RTOL, acceptable

    grid, A, B = fee_game(distribution, buyers, items, points, upper)
    top = float(grid[-1])

    def against_any_price(i: int, j: int) -> bool:
        seller, intermediary = (best_reply(distribution, buyers, items, float(grid[o]), top) for o in (j, i))
        return acceptable(seller - A[i, j], seller, REGRET_RTOL) and acceptable(intermediary - B[i, j],
                                                                                intermediary, REGRET_RTOL)

    return grid_references(grid, A, B, against_any_price)


def fee_sessions(distribution: str, buyers: int, items: int, points: int, seeds, upper: float | None = None,
                 alpha: float = 0.15, beta: float = 4e-6, delta: float = 0.95, memory: int = 1,
                 periods: int = 1_000_000, window: int = 100_000, impulse: str | None = None,
                 deviator: str = "seller", impulse_periods: int = 10, tick=None, per_session: bool = False) -> dict:
    """Q-learning seller (rows) against Q-learning intermediary (columns) in the posted-fees game
    (:func:`agora.market.learning.qlearning.grid_sessions` on :func:`fee_references`); the intermediary's
    price is its fee."""
    learning = (alpha, beta, delta, memory, periods, window, impulse, deviator, impulse_periods)
    check_sessions(seeds, *learning)
    return grid_sessions(fee_references(distribution, buyers, items, points, upper), seeds, *learning, tick,
                         per_session)
