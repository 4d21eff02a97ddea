"""Theorem 1 for intermediaries whose demand depends on the partition (Condition 3 with tau < 1).

Exact revenues are checked against a direct simulation of the demand rule (four standard
errors, 200,000 rounds) and, on singletons, against the surplus model's exact evaluator.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from agora.market.demand import bell_number
from agora.market.distributions import parse_spec
from agora.market.errors import InputError
from agora.market.k_items.mechanisms import ipm_price
from agora.market.k_items.partition_models import (
    CapacityLimited,
    ProportionalDemand,
    block_count,
    integer_partitions,
    posted_revenue,
    sweep_partition_model,
)
from agora.market.k_items.solver import evaluate_posted

U = "uniform:0,1"


@pytest.mark.parametrize("n", range(1, 9))
def test_block_size_multisets_cover_every_partition(n):
    assert sum(block_count(s) for s in integer_partitions(n)) == bell_number(n)


@pytest.mark.parametrize("model,sizes", [(ProportionalDemand(0.5), (3, 2, 1)), (ProportionalDemand(0.3), (6,)),
                                         (CapacityLimited(1), (2, 2, 2)), (CapacityLimited(2), (4, 1, 1))])
def test_exact_revenue_matches_simulated_demand(model, sizes):
    """p_R E[min(sum_l g(D_l), k)] against 200,000 simulated rounds (uniform, n = 6, k = 3)."""
    dist = parse_spec(U)
    price, k, rows = ipm_price(U, 6, 3), 3, 200_000
    values = dist.rvs((rows, 6), np.random.default_rng(3))
    asked = np.zeros(rows, int)
    start = 0
    for b in sizes:
        d = (values[:, start:start + b] >= price).sum(axis=1)
        asked += np.ceil(model.tau * d - 1e-12).astype(int) if isinstance(model, ProportionalDemand) \
            else np.minimum(d, model.cap)
        start += b
    revenue = price * np.minimum(asked, k)
    exact = posted_revenue(U, sizes, k, price, model)
    assert abs(revenue.mean() - exact) <= 4 * revenue.std(ddof=1) / math.sqrt(rows)


@pytest.mark.parametrize("model", [ProportionalDemand(0.5), CapacityLimited(1)])
def test_singletons_buy_like_surplus_maximizers(model):
    """One buyer each: ceil(tau D) = min(D, cap) = D, the surplus model's exact revenue (1e-12)."""
    price = ipm_price(U, 6, 3)
    assert posted_revenue(U, (1,) * 6, 3, price, model) == \
        pytest.approx(evaluate_posted(U, (1,) * 6, 3, price).revenue, rel=1e-12)


@pytest.mark.parametrize("law", [U, "pareto:0.5,1"])
@pytest.mark.parametrize("n,k", [(4, 2), (7, 3), (8, 2)])
@pytest.mark.parametrize("model", [ProportionalDemand(0.5), CapacityLimited(1)])
def test_theorem1_ratio_varies_across_partitions_and_beats_the_bound(law, n, k, model):
    """Over all Bell(n) structures the ratio spreads (max - min > 0.03) and every structure stays
    above tau c(lambda)/2^[k∤n] (1 - 1/e) with its own tau = min_l tau_l (Theorem 1)."""
    sweep = sweep_partition_model(law, n, k, model)
    assert sweep.structures == bell_number(n)
    assert sweep.max_ratio - sweep.min_ratio > 0.03
    assert sweep.min_margin > 0.0
    assert sweep.min_ratio >= sweep.guarantee_at_argmin


def test_bad_models_rejected():
    with pytest.raises(InputError, match="tau"):
        ProportionalDemand(0.0)
    with pytest.raises(InputError, match="capacity"):
        CapacityLimited(0)
