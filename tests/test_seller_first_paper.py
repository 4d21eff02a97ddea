"""monopolist-intermediary, Section 3 and Appendix E: the paper's numbers, asserted.

Exact values come from quadrature (tolerance 1e-9, well above its 1e-12 target)
or from closed forms derived by hand in each test's docstring.
"""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agora.market.distributions import parse_spec
from agora.market.single_item.seller_first import (
    best_anonymous_price,
    best_seller_price,
    evaluate_posted_price,
    search_best_menu,
    seller_first_guarantee,
    solve_seller_first,
    strong_regularity_constant,
)
from agora.market.single_item.seller_mechanisms import Menu
from agora.market.single_item.virtual_law import VirtualMaxLaw, evaluate_menu, menu_seller_revenue

TOL = 1e-9


def test_theorem_3_4_and_corollary_3_5_on_F_eps_H():
    """F_{0.1, 1e12}, one bidder: seller ~ eps, intermediary ~ 1 - eps, OPT = 1."""
    sol = solve_seller_first(["pareto:0.1,1,1e12"])
    assert sol.seller_price == pytest.approx(0.1, abs=TOL)
    assert sol.seller_revenue == pytest.approx(0.1, abs=TOL)
    assert sol.intermediary_revenue == pytest.approx(0.9, abs=TOL)
    assert sol.no_intermediary_optimal_revenue == pytest.approx(1.0, abs=TOL)
    assert sol.sale_probability == pytest.approx(1.0, abs=TOL)


@pytest.mark.parametrize("eps,H", [(0.2, 1e12), (0.05, 1e12), (0.3, 50.0)])
def test_theorem_3_4_bound_is_attained(eps, H):
    """The seller's best revenue is exactly max(eps, H^(-eps/(1-eps))) (proof of Theorem 3.4)."""
    sol = solve_seller_first([f"pareto:{eps},1,{H}"])
    assert sol.seller_revenue == pytest.approx(max(eps, H ** (-eps / (1 - eps))), rel=TOL)
    assert sol.no_intermediary_optimal_revenue == pytest.approx(1.0, rel=TOL)


@pytest.mark.parametrize("p", [0.05, 0.3, 2.0, 7.5])
def test_lemma_3_3_intermediary_price_is_p_over_eps(p):
    """Seller price p: the intermediary's total price is p / eps (clipped to [1, H])."""
    eps, H = 0.25, 1e6
    law = VirtualMaxLaw.of([f"pareto:{eps},1,{H}"])
    sol = evaluate_posted_price(law, p)
    total = min(max(p / eps, 1.0), H)
    assert sol.reserves[0] == pytest.approx(total, rel=TOL)
    # the intermediary's revenue is that of posting `total` to the bidder, minus p per sale
    sale = total ** (-1 / (1 - eps))
    assert sol.intermediary_revenue == pytest.approx((total - p) * sale, rel=1e-8)


@pytest.mark.parametrize("specs", [["point:1"], ["point:3"], ["point:2", "point:2", "point:2"]])
def test_remark_3_2_constant_value_leaves_intermediary_nothing(specs):
    v = parse_spec(specs[0]).hi
    sol = solve_seller_first(specs)
    assert sol.seller_revenue == pytest.approx(v, rel=TOL)
    assert sol.intermediary_revenue == pytest.approx(0.0, abs=TOL)


def test_one_uniform_bidder_by_hand():
    """U[0,1]: phi = 2v - 1; S(p) = p(1 - p)/2 peaks at p = 1/2 with 1/8; the
    intermediary earns E[(2v - 1.5)+] = 1/16; welfare = E[v; v >= 3/4] = 7/32; OPT = 1/4."""
    sol = solve_seller_first(["uniform:0,1"])
    assert sol.seller_price == pytest.approx(0.5, abs=1e-7)
    assert sol.seller_revenue == pytest.approx(1 / 8, abs=TOL)
    assert sol.intermediary_revenue == pytest.approx(1 / 16, abs=TOL)
    assert sol.welfare == pytest.approx(7 / 32, abs=TOL)
    assert sol.no_intermediary_optimal_revenue == pytest.approx(1 / 4, abs=TOL)
    assert sol.reserves[0] == pytest.approx(0.75, abs=1e-7)


def test_two_uniform_bidders_opt_and_first_order_condition():
    """Two U[0,1]: OPT = 5/12. S(p) = p(1 - ((1+p)/2)^2); S'(p) = 0 gives 3p^2 + 4p - 3 = 0."""
    sol = solve_seller_first(["uniform:0,1", "uniform:0,1"])
    p = (-4 + math.sqrt(16 + 36)) / 6
    assert sol.no_intermediary_optimal_revenue == pytest.approx(5 / 12, abs=TOL)
    assert sol.seller_price == pytest.approx(p, abs=1e-7)
    assert sol.seller_revenue == pytest.approx(p * (1 - ((1 + p) / 2) ** 2), abs=TOL)


def test_exponential_bidder_by_hand():
    """Exp(mean 1): phi = v - 1, S(p) = p e^-(p+1) peaks at p = 1 with e^-2;
    intermediary E[(v - 2)+] = e^-2; OPT = E[(v - 1)+] = e^-1."""
    sol = solve_seller_first(["exponential:1"])
    assert sol.seller_revenue == pytest.approx(math.exp(-2), abs=TOL)
    assert sol.intermediary_revenue == pytest.approx(math.exp(-2), abs=TOL)
    assert sol.no_intermediary_optimal_revenue == pytest.approx(math.exp(-1), abs=TOL)


IDENTICAL = [("pareto:0.25,1", 1), ("pareto:0.5,1", 3), ("pareto:0.75,1", 10), ("exponential:1", 1),
             ("exponential:1", 5), ("uniform:0,1", 3), ("truncnorm:1,0.5,0,3", 2)]
NON_IDENTICAL = [["pareto:0.5,1", "pareto:0.5,2", "pareto:0.7,1.5"], ["pareto:0.3,1", "exponential:2"],
                 ["exponential:1", "uniform:0,2", "truncnorm:1,0.5,0,3"],
                 ["pareto:0.25,1,100", "pareto:0.9,0.5", "uniform:0,4"]]


def _ratio_and_bound(specs, identical):
    sol = solve_seller_first(specs)
    alpha = min(parse_spec(s).regularity.alpha for s in specs)
    return sol, alpha, sol.seller_revenue / sol.no_intermediary_optimal_revenue, \
        seller_first_guarantee(alpha, identical)


@pytest.mark.parametrize("spec,n", IDENTICAL)
def test_theorem_3_7_identical(spec, n):
    """Identical alpha-strongly regular bidders: Rev_S >= c_alpha / e * OPT."""
    _, alpha, ratio, bound = _ratio_and_bound([spec] * n, identical=True)
    print(f"{n} x {spec}: alpha = {alpha:g}, Rev_S/OPT = {ratio:.4f} >= bound {bound:.4f}")
    assert ratio >= bound


@pytest.mark.parametrize("specs", NON_IDENTICAL)
def test_theorem_3_7_non_identical(specs):
    """Non-identical alpha-strongly regular bidders: Rev_S >= c_alpha / C* * OPT, C* = 2.6202."""
    _, alpha, ratio, bound = _ratio_and_bound(specs, identical=False)
    print(f"{specs}: alpha = {alpha:g}, Rev_S/OPT = {ratio:.4f} >= bound {bound:.4f}")
    assert ratio >= bound


@pytest.mark.parametrize("specs", [["pareto:0.5,1"], ["uniform:0,1"] * 3, NON_IDENTICAL[1]])
def test_lemma_3_8_against_anonymous_pricing(specs):
    """Rev_S(best price) >= c_alpha * AP, AP = best anonymous price without intermediary."""
    sol = solve_seller_first(specs)
    alpha = min(parse_spec(s).regularity.alpha for s in specs)
    ap = best_anonymous_price([parse_spec(s) for s in specs]).revenue
    assert sol.seller_revenue >= strong_regularity_constant(alpha) * ap * (1 - TOL)


def test_lemma_3_8_is_tight_for_one_exponential_bidder():
    """Exp(1): Rev_S = e^-2 and AP = max_p p e^-p = e^-1, so Rev_S / AP = 1/e = c_1 exactly."""
    sol = solve_seller_first(["exponential:1"])
    ap = best_anonymous_price([parse_spec("exponential:1")]).revenue
    assert ap == pytest.approx(math.exp(-1), abs=TOL)
    assert sol.seller_revenue / ap == pytest.approx(strong_regularity_constant(1.0), rel=1e-8)


def test_corollary_3_6_dependence_on_alpha_is_tight():
    """F_{alpha,H}: the seller keeps about alpha of OPT, while the guarantee is c_alpha / e."""
    for alpha in (0.1, 0.2, 0.4):
        sol = solve_seller_first([f"pareto:{alpha},1,1e15"])
        assert sol.seller_revenue / sol.no_intermediary_optimal_revenue == pytest.approx(alpha, rel=1e-8)
        assert seller_first_guarantee(alpha, True) <= alpha


MENU_MARKETS = [["uniform:0,1", "uniform:0,1"], ["exponential:1", "uniform:0,2"], ["pareto:0.3,1,100"]]


@pytest.mark.parametrize("specs", MENU_MARKETS)
@settings(max_examples=60, deadline=None)
@given(options=st.lists(st.tuples(st.floats(0.01, 1.0), st.floats(0.0, 5.0)), min_size=1, max_size=4))
def test_theorem_3_9_no_menu_beats_the_best_price(specs, options):
    """Lemma 3.10 revenue of any menu <= best deterministic posted price."""
    law = VirtualMaxLaw.of(specs)
    best = best_seller_price(law).revenue
    assert menu_seller_revenue(law, Menu.of(options)) <= best * (1 + 1e-9)


@pytest.mark.parametrize("specs", MENU_MARKETS)
def test_theorem_3_9_searched_menu_does_not_beat_the_best_price(specs):
    law = VirtualMaxLaw.of(specs)
    found = search_best_menu(law, 2, seed=1)
    best = best_seller_price(law).revenue
    assert found.seller_revenue <= best * (1 + 1e-9)
    assert found.seller_revenue >= best * (1 - 1e-4)  # the search does find the posted price


def test_lemma_3_10_menu_evaluation_by_hand():
    """One U[0,1] bidder (Phi = 2v - 1), menu {(1/2, 0.2), (1, 0.6)}: regions
    [0.2, 1) -> option 0 and [1, inf) -> option 1, so P[Phi in [0.2,1)] = 0.4 and
    P[Phi >= 1] = 0: seller = 0.5 * 0.2 * 0.4 = 0.04, intermediary =
    0.5 * E[(Phi - 0.2); Phi in [0.2, 1)] = 0.5 * 0.16 = 0.08 (Phi uniform on [-1, 1])."""
    ev = evaluate_menu(VirtualMaxLaw.of(["uniform:0,1"]), Menu.of([(0.5, 0.2), (1.0, 0.6)]))
    assert ev.seller_revenue == pytest.approx(0.04, abs=TOL)
    assert ev.intermediary_revenue == pytest.approx(0.08, abs=TOL)
    assert ev.sale_probability == pytest.approx(0.4, abs=TOL)
    assert ev.delivery_probability == pytest.approx(0.2, abs=TOL)
    # welfare: 0.5 * E[v; v in [0.6, 1)] = 0.5 * (1 - 0.36) / 2
    assert ev.welfare == pytest.approx(0.16, abs=TOL)


@settings(max_examples=40, deadline=None)
@given(p=st.floats(0.0, 3.0), specs=st.sampled_from(
    [["uniform:0,1"], ["uniform:0,1", "exponential:1"], ["pareto:0.4,1,20", "point:1.5"],
     ["beta:2,3,0,2", "uniform:0.5,1"]]))
def test_revenues_never_exceed_welfare_and_opt(p, specs):
    """Expected seller + intermediary revenue <= welfare, and <= OPT (Myerson)."""
    sol = evaluate_posted_price(VirtualMaxLaw.of(specs), p)
    assert sol.seller_revenue >= -TOL and sol.intermediary_revenue >= -TOL
    assert sol.total_revenue <= sol.welfare + 1e-9
    assert sol.total_revenue <= sol.no_intermediary_optimal_revenue + 1e-9


def test_seller_price_scan_beats_a_fine_grid():
    """The optimizer's price is at least as good as any of 20001 grid prices."""
    law = VirtualMaxLaw.of(["exponential:1", "uniform:0,2", "pareto:0.5,1,50"])
    best = best_seller_price(law)
    grid = np.linspace(0, 5, 20001)
    assert best.revenue >= float(np.max(grid * law.prob_at_least(grid))) - 1e-12


def test_non_regular_bidder_is_refused():
    from agora.market.distributions import NotRegularError

    with pytest.raises(NotRegularError, match="ironing"):
        solve_seller_first(["uniform:0,1", "beta:0.3,0.3,0,1"])
