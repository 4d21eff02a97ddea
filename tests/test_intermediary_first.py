"""monopolist-intermediary, Section 4: the intermediary commits first.

Closed forms are derived in each docstring. Bilevel optima carry a 1e-7
tolerance: near its optimum the seller's revenue is flat to machine precision
over a range of ~1e-8 in price, and the leader's revenue moves with the price
the seller settles on inside that range.
"""

import math

import numpy as np
import pytest

from agora.market.distributions import parse_spec
from agora.market.single_item.intermediary_first import (
    best_commitment,
    evaluate_right_auction,
    seller_best_response,
    solve_intermediary_first,
)
from agora.market.single_item.montecarlo import intermediary_first_rounds, simulate_intermediary_first
from agora.market.single_item.right_auctions import (
    RIGHT_AUCTIONS,
    PostedRightPrice,
    SecondPriceRight,
    ShiftedMyersonRight,
)
from agora.market.single_item.virtual_law import VirtualMaxLaw
from agora.models.market_model import MarketModel

BILEVEL = 1e-7


def _bidders(*specs):
    return [parse_spec(s) for s in specs]


def test_theorem_4_1_seller_best_response_by_hand():
    """One U[0,1] bidder, intermediary posts q: the seller maximizes p(1 - p - q), so p = (1 - q)/2."""
    for q in (0.0, 0.2, 0.5, 0.9):
        br = seller_best_response(_bidders("uniform:0,1"), PostedRightPrice(q))
        assert br.price == pytest.approx((1 - q) / 2, abs=1e-9)
        assert br.revenue == pytest.approx((1 - q) ** 2 / 4, abs=1e-12)


def test_theorem_4_2_mirrored_F_eps_H():
    """F_{0.1,1e12}, intermediary first: it keeps about eps and the seller 1 - eps (mirror of Thm 3.4)."""
    best = best_commitment(_bidders("pareto:0.1,1,1e12"), PostedRightPrice)
    assert best.commitment.parameter == pytest.approx(0.1, rel=1e-6)  # a flat optimum: revenue is the sharp check
    assert best.outcome.intermediary_revenue == pytest.approx(0.1, rel=BILEVEL)
    assert best.outcome.seller_revenue == pytest.approx(0.9, rel=BILEVEL)


@pytest.mark.parametrize("eps", [0.05, 0.2])
def test_theorem_4_2_intermediary_share_goes_to_zero(eps):
    """H large enough (eps >= H^(-eps/(1-eps))): the intermediary's best is eps of OPT = 1."""
    H = 1e40
    best = best_commitment(_bidders(f"pareto:{eps},1,{H}"), PostedRightPrice)
    assert best.outcome.intermediary_revenue == pytest.approx(eps, rel=BILEVEL)


@pytest.mark.parametrize("v", [1.0, 3.0])
def test_remark_4_5_constant_value_leaves_the_seller_nothing(v):
    """Known value v: the intermediary posts v and the seller's best response earns 0."""
    best = best_commitment(_bidders(f"point:{v}"), PostedRightPrice)
    assert best.outcome.seller_revenue == pytest.approx(0.0, abs=1e-12)
    assert best.outcome.intermediary_revenue == pytest.approx(v, rel=1e-12)


@pytest.mark.parametrize("spec,n", [("uniform:0,1", 1), ("uniform:0,1", 2), ("uniform:0,1", 5),
                                    ("exponential:1", 1), ("exponential:1", 3), ("exponential:2", 8)])
def test_theorem_4_3_iid_mhr_bound(spec, n):
    """i.i.d. MHR: the intermediary's best posted price earns >= OPT / e^2 (proof of Thm 4.3)."""
    bidders = _bidders(*[spec] * n)
    best = best_commitment(bidders, PostedRightPrice)
    opt = VirtualMaxLaw(tuple(bidders)).optimal_revenue.value
    ratio = best.outcome.intermediary_revenue / opt
    print(f"{n} x {spec}: Rev_I / OPT = {ratio:.4f} >= 1/e^2 = {math.exp(-2):.4f}")
    assert ratio >= math.exp(-2)


def test_theorem_4_3_proof_step_total_price_is_phi_G_inverse():
    """Posting q, the seller's total price is phi_G^-1(q), G the max of n draws (first-order condition)."""
    base = parse_spec("uniform:0,1")
    G = base.max_of(3)
    q = 0.3
    p = seller_best_response([base] * 3, PostedRightPrice(q)).price
    assert p + q == pytest.approx(float(G.virtual_threshold(q)), abs=1e-8)


def test_single_bidder_classes_coincide():
    """With one bidder a second-price auction with reserve r is the posted price r."""
    b = _bidders("exponential:1")
    for r, p in ((0.3, 0.5), (1.2, 0.1)):
        posted = evaluate_right_auction(b, PostedRightPrice(r), p)
        second = evaluate_right_auction(b, SecondPriceRight(r), p)
        assert second.intermediary_revenue == pytest.approx(posted.intermediary_revenue, rel=1e-9)
        assert second.welfare == pytest.approx(posted.welfare, rel=1e-9)


def test_second_price_right_by_hand():
    """Two U[0,1], seller p = 0.2, reserve r = 0.1: sold iff max v >= 0.3; the intermediary gets
    r P[max >= 0.3] + E[(v_(2) - 0.3)+] = 0.1 (1 - 0.09) + integral_{0.3}^{1} (1 - t)^2 dt
    = 0.091 + 0.7^3 / 3."""
    out = evaluate_right_auction(_bidders("uniform:0,1", "uniform:0,1"), SecondPriceRight(0.1), 0.2)
    assert out.intermediary_revenue == pytest.approx(0.091 + 0.7 ** 3 / 3, abs=1e-9)
    assert out.sale_probability == pytest.approx(1 - 0.3 ** 2, abs=1e-12)
    # welfare: E[max; max >= 0.3] = integral_{0.3}^{1} 2 t^2 dt
    assert out.welfare == pytest.approx(2 * (1 - 0.3 ** 3) / 3, abs=1e-9)


def test_shifted_myerson_commitment_reproduces_seller_first_when_anticipated():
    """Committing to Myerson for s and facing p = s is Theorem 3.1's auction: same revenues."""
    from agora.market.single_item.seller_first import evaluate_posted_price

    specs = ("uniform:0,1", "exponential:1", "pareto:0.5,1,20")
    s = 0.7
    ours = evaluate_right_auction(_bidders(*specs), ShiftedMyersonRight(s), s)
    sf = evaluate_posted_price(VirtualMaxLaw.of(specs), s)
    assert ours.intermediary_revenue == pytest.approx(sf.intermediary_revenue, abs=1e-9)
    assert ours.welfare == pytest.approx(sf.welfare, abs=1e-9)


MARKETS = [
    (("uniform:0,1", "uniform:0,2", "exponential:0.7"), SecondPriceRight(0.2), 0.3),
    (("uniform:0,1", "uniform:0,2", "exponential:0.7"), ShiftedMyersonRight(0.4), 0.6),
    (("pareto:0.4,1,5", "pareto:0.4,1,5", "uniform:1,3"), SecondPriceRight(0.2), 0.8),
    (("pareto:0.4,1,5", "pareto:0.4,1,5", "uniform:1,3"), ShiftedMyersonRight(0.9), 0.8),
    (("point:1", "point:1", "uniform:0,2"), PostedRightPrice(0.3), 0.5),
]


@pytest.mark.parametrize("specs,auction,price", MARKETS)
def test_exact_agrees_with_monte_carlo(specs, auction, price):
    """Threshold-auction identity against 300,000 simulated rounds, 4 standard errors."""
    bidders = _bidders(*specs)
    ex = evaluate_right_auction(bidders, auction, price)
    mc = simulate_intermediary_first(bidders, auction, price, 300_000, np.random.default_rng(3))
    for q, val in (("intermediary_revenue", ex.intermediary_revenue), ("welfare", ex.welfare),
                   ("seller_revenue", ex.seller_revenue), ("sale", ex.sale_probability)):
        assert mc.within(q, val), (q, mc.mean[q], mc.stderr[q], val)


@pytest.mark.parametrize("specs,auction,price", MARKETS[:4])
def test_agent_based_equals_vectorized_round_by_round(specs, auction, price):
    """Replayed values through the Mesa model and the vectorized rounds: identical outcomes."""
    bidders = _bidders(*specs)
    rng = np.random.default_rng(0)
    values = np.column_stack([b.rvs(300, rng) for b in bidders])
    model = MarketModel(specs, protocol="intermediary-first", intermediary=auction, replay=values, rng=1)
    for _ in range(300):
        model.step()
    df = model.datacollector.get_model_vars_dataframe()
    seller_price = seller_best_response(bidders, auction).price
    assert df["seller_price"].iloc[0] == pytest.approx(seller_price, rel=1e-12)
    vec = intermediary_first_rounds(bidders, auction, seller_price, values)
    np.testing.assert_allclose(df["intermediary_revenue"], vec.intermediary_revenue, atol=1e-9)
    np.testing.assert_allclose(df["seller_revenue"], vec.seller_revenue, atol=1e-12)
    np.testing.assert_allclose(df["welfare"], vec.welfare, atol=1e-12)
    assert vec.delivered.sum() > 20


def test_bilevel_optimum_beats_every_scanned_commitment():
    """An independent brute force over 400 reserves, each with the seller's best response."""
    bidders = _bidders("uniform:0,1", "uniform:0,1")
    best = best_commitment(bidders, SecondPriceRight)
    for r in np.linspace(0.0, 1.0, 401):
        p = seller_best_response(bidders, SecondPriceRight(r)).price
        rev = evaluate_right_auction(bidders, SecondPriceRight(r), p, welfare=False).intermediary_revenue
        assert best.outcome.intermediary_revenue >= rev - BILEVEL


def test_solve_reports_every_class_and_the_best():
    sol = solve_intermediary_first(["uniform:0,1", "uniform:0,1"])
    assert set(sol.by_class) == set(RIGHT_AUCTIONS)
    best = max(v["intermediary_revenue"] for v in sol.by_class.values())
    assert sol.intermediary_revenue == pytest.approx(best, rel=1e-12)
    assert sol.no_intermediary_optimal_revenue == pytest.approx(5 / 12, abs=1e-9)
    assert sol.seller_revenue + sol.intermediary_revenue <= sol.welfare + 1e-9


def test_sale_probability_counts_repeated_laws():
    """1 - prod_i (1 - P[v_i >= a + p]) over every bidder, whether or not laws repeat."""
    from agora.market.single_item.right_auctions import PostedRightPrice, distinct_laws

    bidders = [parse_spec(s) for s in ("uniform:0,1", "exponential:1", "uniform:0,1", "uniform:0,1")]
    assert [(b.spec, c) for b, c in distinct_laws(bidders)] == [("uniform:0,1", 3), ("exponential:1", 1)]
    prices = np.array([0.0, 0.1, 0.3])
    direct = 1 - (1 - (1 - (0.2 + prices))) ** 3 * (1 - np.exp(-(0.2 + prices)))
    np.testing.assert_allclose(PostedRightPrice(0.2).sale_probability(bidders, prices), direct, rtol=1e-13)
