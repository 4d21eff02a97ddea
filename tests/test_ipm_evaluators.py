"""k items with intermediaries: utility models, the three evaluators, the auction's bidding.

Exact values are closed forms or quadrature (1e-9); Monte Carlo and agent-based means
are held to four standard errors, with the sample size stated in each test.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from agora.market.demand import from_partition
from agora.market.errors import InputError
from agora.market.k_items.auction import QuantityBestResponse
from agora.market.k_items.mechanisms import ItemMenu, UniformPriceAuction, heterogeneous_prices
from agora.market.k_items.montecarlo import best_items, simulate_auction, simulate_menu
from agora.market.k_items.solver import evaluate_posted, monopsony_auction_revenue, myerson_auction_revenue
from agora.market.k_items.utility import (
    BargainingShare,
    CustomUtility,
    Monopolist,
    SurplusMaximizing,
    UtilityModel,
    check_conditions,
    measure_tau,
    surplus,
)
from agora.models.market_model import MarketModel
from agora.protocols.messages import Award, Request
from agora.protocols.posted_menu import KItemAuction, PostedMenu

SIGMAS = 4.0
U = "uniform:0,1"
SEVERAL = [[0, 1], [2, 3, 4], [5]]  # three intermediaries holding 2, 3 and 1 buyers


def abm_means(model: MarketModel, rounds: int) -> dict[str, tuple[float, float]]:
    for _ in range(rounds):
        model.step()
    df = model.datacollector.get_model_vars_dataframe()
    return {c: (df[c].mean(), df[c].std(ddof=1) / math.sqrt(rounds)) for c in ("seller_revenue", "welfare")}


def close(est: tuple[float, float], exact: float) -> bool:
    return abs(est[0] - exact) <= SIGMAS * est[1] + 1e-12


# -- utility models ---------------------------------------------------------------------

def test_generic_argmax_demand_equals_the_linear_rules():
    """Maximizing U(x, x p) over x gives #{v >= p} (surplus) and #{phi(v) >= p} (monopolist)."""
    rng = np.random.default_rng(0)
    v = rng.random((2000, 4))
    for model, expected in [(SurplusMaximizing(), (v >= 0.6).sum(axis=1)),
                            (Monopolist(U), (2 * v - 1 >= 0.6).sum(axis=1))]:
        assert np.array_equal(UtilityModel.demand(model, v, 0.6), expected)
        assert np.array_equal(model.demand(v, 0.6), expected)


def test_bargaining_share_buys_like_its_buyers_and_has_tau_one():
    """U = alpha V with a constant alpha (Equation 1): the demand of V, tau = 1."""
    rng = np.random.default_rng(1)
    v = rng.random((1000, 3))
    model = BargainingShare(0.3)
    assert np.array_equal(UtilityModel.demand(model, v, 0.4), (v >= 0.4).sum(axis=1))
    assert measure_tau(model, U, 3, [0.3, 0.7], rounds=3000, rng=2).tau == 1.0


def test_bargaining_share_that_depends_on_the_deal_is_measured():
    """alpha = 1/(1 + x): a fee that grows with the order; still IR and value-free, tau measured < 1."""
    model = BargainingShare(lambda v, x, p: np.full(v.shape[0], 1.0 / (1 + x)))
    report = check_conditions(model, U, 3, [0.3, 0.6], rounds=5000, rng=3)
    assert report.individually_rational and report.creates_no_value
    assert report.worst_excess_any > 0  # alpha V > V on losing deals: Condition 2 read literally fails
    assert 0.0 < report.tau.tau < 1.0


def test_custom_utility_that_creates_value_is_caught():
    """Condition 2 fails for U = 2 V: check_conditions says so."""
    model = CustomUtility(lambda v, x, p: 2 * surplus(v, x, p), "twice the surplus")
    report = check_conditions(model, U, 2, [0.5], rounds=2000, rng=4)
    assert not report.creates_no_value and not report.holds
    assert report.worst_excess > 0


def test_bad_share_is_rejected():
    with pytest.raises(InputError, match="alpha must be in"):
        BargainingShare(1.5)


# -- posted prices: three evaluators ------------------------------------------------------

@pytest.mark.parametrize("model", ["surplus", "monopolist"])
def test_three_evaluators_agree_with_several_intermediaries(model):
    """Exact, vectorized Monte Carlo (100,000 rounds) and Mesa agents (1,500 rounds) on 2|3|1 buyers."""
    exact = evaluate_posted(U, SEVERAL, 2, 0.75, model)
    menu = ItemMenu.intermediary_proof(U, 6, 2)
    mc = simulate_menu(U, SEVERAL, menu, model, 100_000, np.random.default_rng(11))
    assert mc.within("revenue", exact.revenue) and mc.within("welfare", exact.realized_welfare)
    abm = abm_means(MarketModel([U] * 6, protocol=PostedMenu(menu), demand=from_partition(SEVERAL),
                                utility=model, rng=12), 1500)
    assert close(abm["seller_revenue"], exact.revenue)
    assert close(abm["welfare"], exact.realized_welfare)


def test_agents_exchange_requests_and_awards_within_supply():
    menu = ItemMenu.intermediary_proof(U, 6, 2)
    m = MarketModel([U] * 6, protocol=PostedMenu(menu), demand=from_partition(SEVERAL), utility="surplus", rng=5)
    for _ in range(200):
        m.step()
        awarded = [msg for msg in m.last.messages if isinstance(msg, Award)]
        asked = sum(len(msg.items) for msg in m.last.messages if isinstance(msg, Request))
        got = sum(len(a.items) for a in awarded)
        assert got == min(asked, 2) == m.last.sale
        assert m.last.seller_revenue == pytest.approx(0.75 * got)
        wanted = sum(v >= 0.75 for v in m.last.values)
        assert asked == wanted


def test_heterogeneous_menu_agents_and_monte_carlo_agree():
    """Definition 9's menu, intermediaries in a random order: Mesa agents (1,500 rounds) against
    Monte Carlo (100,000 rounds), both within four standard errors of each other."""
    menu = ItemMenu.heterogeneous(U, 6, [1.0, 0.6, 0.2])
    mc = simulate_menu(U, SEVERAL, menu, "surplus", 100_000, np.random.default_rng(13))
    abm = abm_means(MarketModel([U] * 6, protocol=PostedMenu(menu), demand=from_partition(SEVERAL),
                                utility="surplus", rng=14), 1500)
    for q, name in [("revenue", "seller_revenue"), ("welfare", "welfare")]:
        se = math.hypot(mc.stderr[q], abm[name][1])
        assert abs(mc.mean[q] - abm[name][0]) <= SIGMAS * se


def test_heterogeneous_prices_definition9():
    """u_j = E[v(1, ceil(n/j))]; uniform, n = 6: u = 6/7, 3/4, 2/3; r_j = r_{j+1} + u_j (eta_j - eta_{j+1})."""
    r = heterogeneous_prices(U, 6, [1.0, 0.6, 0.2])
    r3 = 2 / 3 * 0.2
    r2 = r3 + 3 / 4 * 0.4
    assert r == pytest.approx((r2 + 6 / 7 * 0.4, r2, r3), abs=1e-12)


def test_lemma5_choice_matches_brute_force():
    """The DP choice of items equals brute force over all subsets and assignments."""
    import itertools

    rng = np.random.default_rng(6)
    eta, r = [1.0, 0.7, 0.3], [0.9, 0.55, 0.2]
    scores = rng.random((300, 3))
    avail = rng.random((300, 3)) < 0.8
    chosen = best_items(scores, eta, r, avail)
    for row in range(300):
        best = 0.0
        for perm in itertools.product([-1, 0, 1, 2], repeat=3):
            used = [j for j in perm if j >= 0]
            if len(used) != len(set(used)) or any(not avail[row, j] for j in used):
                continue
            best = max(best, sum(eta[j] * scores[row, i] - r[j] for i, j in enumerate(perm) if j >= 0))
        got = sum(eta[j] * scores[row, i] - r[j] for i, j in enumerate(chosen[row]) if j >= 0)
        assert got == pytest.approx(best, abs=1e-12)


# -- the (k+1)-th-price auction ----------------------------------------------------------------

def test_auction_under_competition_is_myerson():
    """Single-buyer intermediaries bid their values: revenue = sum_j E[phi(v(j,n))^+] (Prop. 1).
    Uniform, n = 6, k = 2, reserve 1/2; Monte Carlo 100,000 rounds."""
    auction = UniformPriceAuction.myerson(U, 2)
    exact = myerson_auction_revenue(U, 6, 2)
    # closed form: E[(2 v(j,6) - 1)^+] = int_{1/2}^1 (2u - 1) Beta(7 - j, j)(u) du
    from scipy import integrate, stats
    closed = sum(integrate.quad(lambda u, j=j: (2 * u - 1) * stats.beta(7 - j, j).pdf(u), 0.5, 1)[0]
                 for j in (1, 2))
    assert exact == pytest.approx(closed, abs=1e-9)
    mc = simulate_auction(U, [[i] for i in range(6)], auction, "surplus", 100_000, np.random.default_rng(8))
    assert mc.within("revenue", exact)


def test_auction_collapses_under_monopsony():
    """One intermediary holding all buyers pays the reserve for each unit: r E[min(Bin(n, 1-F(r)), k)]."""
    auction = UniformPriceAuction.myerson(U, 2)
    exact = monopsony_auction_revenue(U, 6, 2)
    assert exact == pytest.approx(0.5 * (2 - 2 * 0.5 ** 6 - 6 * 0.5 ** 6), abs=1e-12)
    mc = simulate_auction(U, [list(range(6))], auction, "surplus", 50_000, np.random.default_rng(9))
    assert mc.within("revenue", exact)
    abm = abm_means(MarketModel([U] * 6, protocol=KItemAuction(auction), demand=from_partition([range(6)]),
                                utility="surplus", rng=10), 400)
    assert close(abm["seller_revenue"], exact)


def test_surplus_intermediary_with_several_buyers_shades():
    """Holding 2 of 4 buyers (k = 2), it mostly bids for one buyer only although both clear the
    reserve (winning a second unit would raise the price of the first to the best rival's value),
    and its chosen bids earn at least as much as bidding both values (its own utility estimate)."""
    auction = UniformPriceAuction.myerson(U, 2)
    rule = QuantityBestResponse(parse(U), SurplusMaximizing(), 2, 4, auction)
    v = np.random.default_rng(3).uniform(0.5, 1.0, (2000, 2))
    x = rule.choose(v)
    util = rule.expected_utilities(v)
    assert np.mean(x == 1) > 0.5
    assert np.all(util[np.arange(2000), x] >= util[:, 2] - 1e-12)


def test_auction_agents_agree_with_monte_carlo_with_a_shading_intermediary():
    """Partition 3|1|1|1, k = 2: Mesa agents (1,000 rounds) and Monte Carlo (20,000 rounds)."""
    auction = UniformPriceAuction.myerson(U, 2)
    part = [[0, 1, 2], [3], [4], [5]]
    mc = simulate_auction(U, part, auction, "surplus", 20_000, np.random.default_rng(15))
    abm = abm_means(MarketModel([U] * 6, protocol=KItemAuction(auction), demand=from_partition(part),
                                utility="surplus", rng=16), 1000)
    se = math.hypot(mc.stderr["revenue"], abm["seller_revenue"][1])
    assert abs(mc.mean["revenue"] - abm["seller_revenue"][0]) <= SIGMAS * se
    assert mc.mean["revenue"] < myerson_auction_revenue(U, 6, 2) - 4 * mc.stderr["revenue"]


def parse(spec):
    from agora.market.distributions import parse_spec

    return parse_spec(spec)


def test_protocols_need_utilities():
    with pytest.raises(InputError, match="utility model"):
        MarketModel([U] * 3, protocol=PostedMenu(ItemMenu.posted(0.5, 2)), demand=from_partition([[0, 1, 2]]))


def test_given_arrival_order_agents_and_monte_carlo_agree():
    """Definition 9's menu with intermediaries arriving in the fixed order 1, 2, 0: Mesa agents
    (1,000 rounds) against Monte Carlo (50,000 rounds); the requests arrive in that order."""
    base = ItemMenu.heterogeneous(U, 6, [1.0, 0.5])
    fixed = ItemMenu(base.prices, base.weights, (1, 2, 0))
    mc = simulate_menu(U, SEVERAL, fixed, "surplus", 50_000, np.random.default_rng(21))
    model = MarketModel([U] * 6, protocol=PostedMenu(fixed), demand=from_partition(SEVERAL),
                        utility="surplus", rng=22)
    abm = abm_means(model, 1000)
    se = math.hypot(mc.stderr["revenue"], abm["seller_revenue"][1])
    assert abs(mc.mean["revenue"] - abm["seller_revenue"][0]) <= SIGMAS * se
    first = [m for m in model.last.messages if isinstance(m, Request)]
    assert [m.sender for m in first] == [model.intermediaries[i].unique_id for i in (1, 2, 0)]


@pytest.mark.parametrize("alpha", [0.3, 0.5, 0.75])
def test_served_values_on_a_heavy_tail_match_the_pareto_order_statistic_closed_form(alpha):
    """One block of n buyers, one item: the block serves its highest asking buyer. Above t the
    law is Pareto with shape b = 1/(1 - alpha) and scale t, and E[max of d] = t d! G(1 - 1/b) /
    G(d + 1 - 1/b); the quadrature must reach it without a convergence warning."""
    import warnings

    from scipy.integrate import IntegrationWarning
    from scipy.special import gammaln

    from agora.market.distributions import parse_spec
    from agora.market.k_items.solver import block_shares, demand_pmf

    dist, n, t = parse_spec(f"pareto:{alpha},1"), 6, 6.7
    b, q = 1 / (1 - alpha), float(parse_spec(f"pareto:{alpha},1").prob_at_least(6.7))
    d = np.arange(1, n + 1)
    top = t * np.exp(gammaln(d + 1) + gammaln(1 - 1 / b) - gammaln(d + 1 - 1 / b))
    expected = float(np.dot(demand_pmf(n, q)[1:], top))
    with warnings.catch_warnings():
        warnings.simplefilter("error", IntegrationWarning)
        served, items = block_shares(dist, (n,), 1, t)[n]
    assert served == pytest.approx(expected, rel=1e-9)
    assert items == pytest.approx(1 - (1 - q) ** n, rel=1e-12)
