"""The market kinds experiments run (experiments/markets/single_item.py), held to hand-derived values.

Exact rows are checked to 1e-9 against values derived below for one U[0,1] bidder; simulated
means (agent-based and Monte Carlo) to 4 standard errors of the per-step mean, sample size in
each test.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from agora.experiments.markets import registry

EXACT = 1e-9
SIGMAS = 4.0


def run(protocol: str, steps: int, seed: int = 0, **market):
    kind = registry()[protocol]
    params = kind.validate(market)
    out = kind.run(params, steps, np.random.default_rng(seed))
    assert set(out.steps) == set(kind.quantities)
    assert all(len(col) == steps for col in out.steps.values())
    return out


def within(steps: dict, row: dict, quantity: str) -> None:
    x = np.asarray(steps[quantity], float)
    se = x.std(ddof=1) / math.sqrt(x.size)
    assert abs(x.mean() - row[f"exact_{quantity}"]) <= SIGMAS * se + 1e-12, (quantity, x.mean(), se)


@pytest.mark.parametrize("evaluator,steps", [("abm", 3000), ("mc", 100_000)])
def test_seller_first_posted_price_by_hand(evaluator, steps):
    """One U[0,1] bidder, seller posts 1/2: phi = 2v - 1, sold iff v >= 3/4; the seller gets
    1/2 * 1/4 = 1/8, the intermediary E[(2v - 3/2)+] = 1/16, welfare E[v; v >= 3/4] = 7/32."""
    out = run("seller-first", steps, bidders="uniform:0,1", seller=0.5, evaluator=evaluator)
    row = out.run
    assert row["exact_seller_revenue"] == pytest.approx(0.125, abs=EXACT)
    assert row["exact_intermediary_revenue"] == pytest.approx(0.0625, abs=EXACT)
    assert row["exact_welfare"] == pytest.approx(7 / 32, abs=EXACT)
    assert row["exact_sale"] == pytest.approx(0.25, abs=EXACT)
    for q in ("seller_revenue", "intermediary_revenue", "welfare", "sale"):
        within(out.steps, row, q)
    assert row["seller_revenue"] == pytest.approx(np.mean(out.steps["seller_revenue"]), abs=1e-15)


@pytest.mark.parametrize("evaluator,steps", [("abm", 3000), ("mc", 100_000)])
def test_intermediary_first_posted_right_price_by_hand(evaluator, steps):
    """Right sold at q = 0.2 to one U[0,1] bidder; the seller best-responds with
    argmax_p p (0.8 - p) = 0.4: seller revenue 0.16, intermediary 0.2 * 0.4 = 0.08."""
    out = run("intermediary-first", steps, bidders="uniform:0,1", intermediary=0.2, evaluator=evaluator)
    row = out.run
    assert row["seller_price"] == pytest.approx(0.4, abs=1e-7)
    assert row["exact_seller_revenue"] == pytest.approx(0.16, abs=1e-9)
    assert row["exact_intermediary_revenue"] == pytest.approx(0.08, abs=1e-9)
    for q in ("seller_revenue", "intermediary_revenue", "sale"):
        within(out.steps, row, q)


@pytest.mark.parametrize("evaluator", ["abm", "mc"])
def test_simultaneous_best_response_dynamics_by_hand(evaluator):
    """One U[0,1] bidder: the best response to a price q is (1 - q)/2, so from start 0 both post
    1/2, then 1/4, 3/8, ... -> 1/3 (error halves each step); at (1/3, 1/3) each earns 1/9."""
    out = run("simultaneous", 60, bidders="uniform:0,1", evaluator=evaluator)
    expected = [0.5]
    for _ in range(59):
        expected.append((1 - expected[-1]) / 2)
    np.testing.assert_allclose(out.steps["seller_price"], expected, atol=1e-7)
    np.testing.assert_allclose(out.steps["intermediary_price"], expected, atol=1e-7)
    assert not out.steps["sale"][0]  # 1/2 + 1/2 = 1: nobody's value reaches the total
    assert out.run["exact_seller_revenue"] == pytest.approx(1 / 9, abs=1e-7)
    assert out.run["exact_intermediary_revenue"] == pytest.approx(1 / 9, abs=1e-7)


def test_simultaneous_fixed_prices_match_exact():
    """Fixed prices 0.3 + 0.2 with two U[0,1] bidders: sale iff max v >= 0.5, probability 3/4."""
    out = run("simultaneous", 100_000, bidders="uniform:0,1", n=2, seller=0.3, intermediary=0.2, evaluator="mc")
    assert out.run["exact_sale"] == pytest.approx(0.75, abs=EXACT)
    assert out.run["exact_seller_revenue"] == pytest.approx(0.225, abs=EXACT)
    within(out.steps, out.run, "seller_revenue")
    within(out.steps, out.run, "welfare")


def test_stackelberg_run_matches_the_solver():
    """Seller-first with the Stackelberg price for U[0,1], U[0,2] (p = sqrt(3) - 1, see test_cli)."""
    out = run("seller-first", 5, bidders=["uniform:0,1", "uniform:0,2"], evaluator="mc")
    p = math.sqrt(3) - 1
    assert out.run["seller_price"] == pytest.approx(p, abs=1e-9)
    assert out.run["exact_seller_revenue"] == pytest.approx((6 * p - 3 * p**2 - p**3) / 8, abs=1e-9)


def test_exact_false_leaves_out_the_expectations():
    out = run("seller-first", 5, bidders="uniform:0,1", seller=0.5, exact=False)
    assert not any(k.startswith("exact_") for k in out.run)


def test_exact_expectations_are_computed_once_per_market_and_price():
    """The seeds of a point share one exact solve per process, and its numbers are the solver's own."""
    from agora.experiments.markets import single_item
    from agora.experiments.runner import execute
    from agora.experiments.spec import parse_spec_table
    from agora.market.single_item.seller_first import evaluate_posted_price
    from agora.market.single_item.virtual_law import VirtualMaxLaw

    specs = ["uniform:0,1", "exponential:1"]
    spec = parse_spec_table({"name": "x", "steps": 10, "seeds": {"count": 3, "base": 2},
                             "market": {"protocol": "seller-first", "bidders": specs, "seller": 0.45,
                                        "evaluator": "mc"}})
    single_item.exact_seller_first.cache_clear()
    rows = [execute(t).row.iloc[0] for t in spec.tasks()]
    info = single_item.exact_seller_first.cache_info()
    assert (info.misses, info.hits) == (1, 2)
    direct = evaluate_posted_price(VirtualMaxLaw.of(specs), 0.45)
    for row in rows:
        assert (row["exact_seller_revenue"], row["exact_intermediary_revenue"], row["exact_welfare"]) == \
            (direct.seller_revenue, direct.intermediary_revenue, direct.welfare)
