"""Exact and vectorized Monte Carlo evaluation of robust mechanisms against nature's generators.

Exact: the mechanism's expected revenue per profile (closed forms: (1.9),
(1.13), (2.3), (3.2b)) integrated over the generator (sums over atoms or
quadrature). Monte Carlo: the mechanism's realized outcomes (lottery draws,
random reserves and prices) over sampled profiles. The agent-based
:class:`agora.models.robust_model.RobustMarketModel` is the third evaluator.

Regret: in an auction the full-information profit max_i v_i minus revenue
(Chapter 3, no cost); selling to one counterpart, Σ_j (v_j - c_j)^+ minus
profit (Chapter 2).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from agora.market.errors import InputError
from agora.market.robust.mechanisms import DeterministicPrices, RandomPostedPrice

PRICING = (RandomPostedPrice, DeterministicPrices)


def is_pricing(mechanism) -> bool:
    return isinstance(mechanism, PRICING)


@dataclass(frozen=True)
class Estimate:
    """Sample means with standard errors from ``rounds`` independent rounds."""

    revenue: float
    revenue_se: float
    regret: float
    regret_se: float
    sale: float
    rounds: int
    method: str

    def z(self, field: str, exact: float) -> float:
        """How many standard errors the estimate is from ``exact``."""
        mean, se = getattr(self, field), getattr(self, f"{field}_se")
        return (mean - exact) / se if se > 0 else (0.0 if math.isclose(mean, exact, abs_tol=1e-12) else math.inf)


def _estimate(revenue: np.ndarray, regret: np.ndarray, sale: np.ndarray, method: str) -> Estimate:
    n = len(revenue)

    def se(x):
        return float(x.std(ddof=1) / math.sqrt(n)) if n > 1 else math.inf
    return Estimate(float(revenue.mean()), se(revenue), float(regret.mean()), se(regret),
                    float(np.mean(sale)), n, method)


def _costs(mechanism) -> np.ndarray:
    return np.array(mechanism.cost)


def exact(mechanism, generator) -> dict:
    """Expected revenue and regret of ``mechanism`` when nature plays ``generator``."""
    if not hasattr(generator, "expect"):
        raise InputError(f"{generator.name} has no exact expectation; use monte_carlo")
    if is_pricing(mechanism):
        c = _costs(mechanism)
        regret = generator.expect(mechanism.regret)
        full = generator.expect(lambda v: np.clip(v - c, 0.0, None).sum(axis=1))
        sold_cost = generator.expect(lambda v: _expected_sold_cost(mechanism, v))
        return {"revenue": full - regret + sold_cost, "regret": regret}
    revenue = generator.expect(mechanism.revenue)
    top = generator.expect(lambda v: np.max(v, axis=1))
    return {"revenue": revenue, "regret": top - revenue}


def _expected_sold_cost(mechanism, values) -> np.ndarray:
    """Σ_j c_j P[item j sold] given the values: the cost the seller pays on what she sells."""
    c = _costs(mechanism)
    if isinstance(mechanism, RandomPostedPrice):
        return (mechanism.cdf(values) * c).sum(axis=1)
    return ((values >= np.array(mechanism.prices)) * c).sum(axis=1)


def monte_carlo(mechanism, generator, rounds: int, rng: np.random.Generator) -> Estimate:
    """Sample ``rounds`` profiles and the mechanism's randomness; average realized outcomes."""
    values = generator.sample(rng, rounds)
    noise = mechanism.draw(rng, rounds)
    if is_pricing(mechanism):
        c = _costs(mechanism)
        sold = mechanism.sold(values, noise)
        revenue = np.where(sold, noise, 0.0).sum(axis=1)  # an item off sale has price +inf
        regret = np.clip(values - c, 0.0, None).sum(axis=1) - (revenue - (sold * c).sum(axis=1))
        return _estimate(revenue, regret, sold.any(axis=1), "vectorized Monte Carlo")
    out = mechanism.outcome(values, noise)
    revenue = out.revenue
    return _estimate(revenue, values.max(axis=1) - revenue, out.delivered, "vectorized Monte Carlo")


def estimate_from_rounds(revenue, regret, sale) -> Estimate:
    """Means and standard errors of per-round series (e.g. the agent-based model's)."""
    return _estimate(np.asarray(revenue, float), np.asarray(regret, float), np.asarray(sale, bool),
                     "agent-based (Mesa)")
