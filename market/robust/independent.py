"""Independent values (thesis Section 1.4): Bulow-Klemperer under ambiguity (Theorem 1.4.3).

With independent, symmetric, regular values the optimal auction for one law is
the second-price auction with the monopoly reserve r* = φ⁻¹(0) (Theorem 1.4.2,
Myerson), whose expected revenue is E[φ(v_(1)) 1{v_(1) >= r*}] =
n ∫_{r*}^{v̄} (v f(v) - (1 - F(v))) F(v)^{n-1} dv. Theorem 1.4.3: over an
ambiguity set of such laws, the second-price auction without reserve and
I + 1 bidders earns a worst-case revenue at least the optimal auction's with I.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

from scipy.integrate import quad

from agora.market.distributions import parse_spec
from agora.market.robust.mechanisms import RobustInputError


@lru_cache(maxsize=64)
def _law(spec: str):
    """The parsed law, checked once per spec (the regularity check is the slow part)."""
    dist = parse_spec(spec)
    if dist.atom > 0.0:
        raise RobustInputError(f"{spec}: laws with an atom are not covered here; use a continuous law")
    dist.require_regular("bidder")
    return dist


def reserve_auction_revenue(spec, bidders: int, reserve: float = 0.0) -> float:
    """n ∫_r^{v̄} (v f(v) - (1 - F(v))) F(v)^{n-1} dv: the second-price auction with reserve r."""
    if isinstance(bidders, bool) or int(bidders) != bidders or bidders < 1:
        raise RobustInputError(f"the auction needs a whole number of bidders >= 1, got {bidders}")
    dist = _law(spec)
    lo = max(float(reserve), dist.lo)

    def integrand(v):
        return (v * float(dist.pdf(v)) - float(dist.sf(v))) * float(dist.cdf(v)) ** (bidders - 1)
    return bidders * quad(integrand, lo, dist.hi, limit=400, epsabs=1e-13, epsrel=1e-11)[0]


def optimal_revenue(spec, bidders: int) -> float:
    """Myerson's optimum for i.i.d. regular values: the monopoly reserve (Theorem 1.4.2)."""
    return reserve_auction_revenue(spec, bidders, _law(spec).monopoly_price)


@dataclass(frozen=True)
class BulowKlemperer:
    """Worst cases over a set of laws: Vickrey with I + 1 bidders against the optimum with I."""

    laws: tuple[str, ...]
    bidders: int
    vickrey_more: dict
    optimal: dict

    @property
    def worst_vickrey_more(self) -> float:
        return min(self.vickrey_more.values())

    @property
    def worst_optimal(self) -> float:
        return min(self.optimal.values())

    @property
    def holds(self) -> bool:
        """Theorem 1.4.3 (up to the quadrature's 1e-9)."""
        return self.worst_vickrey_more >= self.worst_optimal - 1e-9


def bulow_klemperer(laws, bidders: int) -> BulowKlemperer:
    """Both worst cases of Theorem 1.4.3 over the given laws (spec strings)."""
    laws = tuple(laws)
    if not laws:
        raise RobustInputError("the ambiguity set needs at least one law")
    more = {s: reserve_auction_revenue(s, bidders + 1) for s in laws}
    best = {s: optimal_revenue(s, bidders) for s in laws}
    if not all(math.isfinite(x) for x in (*more.values(), *best.values())):
        raise RobustInputError(f"a revenue is not finite for the laws {laws}")
    return BulowKlemperer(laws, bidders, more, best)
