"""Robustness sweep over every demand structure (intermediary-proof-mechanisms, Theorem 1)."""

from __future__ import annotations

import numpy as np
import pytest

from agora.market.demand import bell_number
from agora.market.errors import InputError
from agora.market.k_items.solver import evaluate_posted, myerson_auction_revenue
from agora.market.k_items.sweep import sample_partitions, summary, sweep


def test_posted_sweep_covers_every_structure_and_beats_the_bound():
    """n = 5, k = 2: Bell(5) = 52 structures per model; the posted price earns the same on all of
    them (linear models) and more than tau c(lambda)/2 (1 - 1/e) Wel(F)."""
    table = sweep("exponential:1", 5, 2, "posted")
    assert len(table) == 2 * bell_number(5)
    assert table["partition"].nunique() == bell_number(5)
    for _, rows in table.groupby("model"):
        assert np.ptp(rows["revenue"]) < 1e-12
        assert (rows["revenue"] > rows["guarantee"]).all()
    row = table[(table.model == "surplus") & (table.partition == "0,1|2,3|4")].iloc[0]
    exact = evaluate_posted("exponential:1", [[0, 1], [2, 3], [4]], 2, 1 + 1 / 2 + 1 / 3, "surplus")  # E[max of 3]
    assert row["realized_welfare"] == pytest.approx(exact.realized_welfare, abs=1e-9)
    assert set(summary(table)["structures"]) == {bell_number(5)}


def test_auction_sweep_depends_on_the_structure():
    """n = 4, k = 2 (3,000 rounds per shape): competition earns Myerson's revenue (4 s.e.),
    monopsony only the reserve per unit, exactly r E[min(Bin(4, 1/2), 2)] = 0.5 * (2 - 2/16 - 4/16)."""
    table = sweep("uniform:0,1", 4, 2, "auction", ("surplus",), rounds=3000, seed=1)
    assert len(table) == bell_number(4)
    comp = table[table.partition == "0|1|2|3"].iloc[0]
    assert abs(comp.revenue - myerson_auction_revenue("uniform:0,1", 4, 2)) <= 4 * comp.revenue_stderr
    mono = table[table.partition == "0,1,2,3"].iloc[0]
    assert abs(mono.revenue - 0.5 * (2 - 2 / 16 - 4 / 16)) <= 4 * mono.revenue_stderr
    assert mono.revenue < comp.revenue


def test_unknown_mechanism():
    with pytest.raises(InputError, match="unknown mechanism"):
        sweep("uniform:0,1", 3, 1, "lottery")


def test_sampled_partitions_are_uniform():
    """Stam's algorithm: 15,000 draws over the Bell(4) = 15 partitions, each within 4 s.e. of 1/15."""
    from collections import Counter

    draws = sample_partitions(4, 15_000, 3)
    counts = Counter(draws)
    assert len(counts) == bell_number(4)
    p = 1 / 15
    se = (p * (1 - p) / 15_000) ** 0.5
    assert all(abs(c / 15_000 - p) <= 4 * se for c in counts.values())


def test_sweep_with_a_nonlinear_model_uses_monte_carlo():
    """A share alpha = 1/(1 + x) (Equation 1 with a fee growing in the order): Monte Carlo per shape
    (5,000 rounds); it buys less than its buyers would, so it earns less than the surplus model."""
    from agora.market.k_items.utility import BargainingShare

    fee = BargainingShare(lambda v, x, p: np.full(v.shape[0], 1.0 / (1 + x)))
    table = sweep("uniform:0,1", 4, 2, "posted", (fee, "surplus"), rounds=5000, seed=2)
    share = table[table.model != "surplus"]
    surplus = table[table.model == "surplus"]
    assert len(share) == bell_number(4) and (share.revenue_stderr > 0).all()
    mono = share[share.partition == "0,1,2,3"].iloc[0]
    assert mono.revenue + 4 * mono.revenue_stderr < surplus.revenue.iloc[0]
