"""The three evaluators (exact, vectorized Monte Carlo, agent-based) agree on the same market.

Monte Carlo and agent-based means must fall within 4 standard errors of the
exact value (sample sizes stated per test); on replayed values the agent-based
model and the vectorized rounds must agree round by round, to rounding.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agora.market.distributions import parse_spec
from agora.market.single_item.montecarlo import seller_first_rounds, simulate_seller_first
from agora.market.single_item.seller_first import solve_seller_first
from agora.market.single_item.seller_mechanisms import Menu
from agora.market.single_item.virtual_law import VirtualMaxLaw, evaluate_menu
from agora.models.market_model import MarketModel

SIGMAS = 4.0
MARKETS = [
    ["uniform:0,1", "uniform:0,1"],
    ["exponential:1", "uniform:0,2", "pareto:0.5,1,50"],
    ["pareto:0.3,1,1e4"],
    ["point:1", "point:1", "uniform:0,2"],  # ties in virtual value at the atoms
    ["beta:2,3,0,1", "truncnorm:1,0.5,0,3"],
]
QUANTITIES = ("seller_revenue", "intermediary_revenue", "welfare")


def _exact(specs, menu):
    ev = evaluate_menu(VirtualMaxLaw.of(specs), menu)
    return {"seller_revenue": ev.seller_revenue, "intermediary_revenue": ev.intermediary_revenue,
            "welfare": ev.welfare, "sale": ev.delivery_probability}


@pytest.mark.parametrize("specs", MARKETS)
def test_monte_carlo_agrees_with_exact(specs):
    """200,000 rounds at the Stackelberg price."""
    menu = Menu.posted(solve_seller_first(specs).seller_price)
    exact = _exact(specs, menu)
    mc = simulate_seller_first(specs, menu, 200_000, np.random.default_rng(11))
    for q in (*QUANTITIES, "sale"):
        assert mc.within(q, exact[q], SIGMAS), (q, mc.mean[q], mc.stderr[q], exact[q])


def test_monte_carlo_agrees_with_exact_for_a_menu():
    """A randomized menu (Lemma 3.10), 300,000 rounds."""
    specs = ["uniform:0,1", "exponential:0.5"]
    menu = Menu.of([(0.5, 0.2), (1.0, 0.6), (0.8, 0.4)])
    exact = _exact(specs, menu)
    mc = simulate_seller_first(specs, menu, 300_000, np.random.default_rng(5))
    for q in (*QUANTITIES, "sale"):
        assert mc.within(q, exact[q], SIGMAS), q


def _abm(specs, seller, rounds, seed):
    model = MarketModel(specs, seller=seller, rng=seed)
    for _ in range(rounds):
        model.step()
    return model, model.datacollector.get_model_vars_dataframe()


@pytest.mark.parametrize("specs", MARKETS[:4])
def test_agent_based_agrees_with_exact(specs):
    """3,000 rounds of the Mesa model at the Stackelberg price."""
    price = solve_seller_first(specs).seller_price
    exact = _exact(specs, Menu.posted(price))
    _, df = _abm(specs, None, 3000, seed=7)
    assert df["seller_price"].iloc[0] == pytest.approx(price, rel=1e-12)
    for q in QUANTITIES:
        x = df[q].astype(float)
        se = x.std(ddof=1) / np.sqrt(len(x))
        assert abs(x.mean() - exact[q]) <= SIGMAS * se + 1e-12, (q, x.mean(), se, exact[q])


@pytest.mark.parametrize("specs,price", [
    (["uniform:0,1", "uniform:0,2", "exponential:1"], None),
    (["pareto:0.4,1,30", "beta:2,2,0,3"], 0.8),
    (["truncnorm:1,0.5,0,3"], 0.3),
])
def test_agent_based_equals_vectorized_round_by_round(specs, price):
    """Common random numbers: replay the same values through both implementations."""
    rounds = 400
    dists = [parse_spec(s) for s in specs]
    values = np.column_stack([d.rvs(rounds, np.random.default_rng(i)) for i, d in enumerate(dists)])
    model = MarketModel(specs, seller=price, replay=values, rng=0)
    for _ in range(rounds):
        model.step()
    df = model.datacollector.get_model_vars_dataframe()
    menu = Menu.posted(df["seller_price"].iloc[0])
    vec = seller_first_rounds(dists, menu, values)
    np.testing.assert_allclose(df["seller_revenue"], vec.seller_revenue, rtol=0, atol=1e-12)
    np.testing.assert_allclose(df["intermediary_revenue"], vec.intermediary_revenue, rtol=0, atol=1e-9)
    np.testing.assert_allclose(df["welfare"], vec.welfare, rtol=0, atol=1e-12)
    winners = df["winner"].where(df["sale"], -1).fillna(-1).astype(int).to_numpy()
    np.testing.assert_array_equal(winners, vec.winner)
    assert vec.delivered.sum() > 20  # the comparison covered real sales


SPECS = st.sampled_from(["uniform:0,1", "uniform:1,3", "exponential:1", "pareto:0.5,1,20",
                         "point:1", "beta:2,3,0,2"])


@settings(max_examples=40, deadline=None)
@given(specs=st.lists(SPECS, min_size=1, max_size=4),
       options=st.lists(st.tuples(st.floats(0.05, 1.0), st.floats(0.0, 3.0)), min_size=1, max_size=3),
       seed=st.integers(0, 2**16))
def test_every_round_is_individually_rational_and_feasible(specs, options, seed):
    """Ex post: the winner never pays more than its value; revenue <= welfare; losers pay nothing."""
    dists = [parse_spec(s) for s in specs]
    rng = np.random.default_rng(seed)
    values = np.column_stack([d.rvs(2000, rng) for d in dists])
    out = seller_first_rounds(dists, Menu.of(options), values, priority=rng.random(values.shape),
                              lottery=rng.random(2000))
    assert np.all(out.buyer_utility >= -1e-9)
    assert np.all(out.seller_revenue + out.intermediary_revenue <= out.welfare + 1e-9)
    assert np.all(out.intermediary_revenue >= -1e-9)
    assert np.all((out.winner >= 0) | (out.seller_revenue + out.intermediary_revenue == 0))


@settings(max_examples=15, deadline=None)
@given(specs=st.lists(SPECS, min_size=1, max_size=3), price=st.floats(0.0, 2.0),
       seed=st.integers(0, 2**16))
def test_agent_based_rounds_are_individually_rational(specs, price, seed):
    model = MarketModel(specs, seller=price, rng=seed)
    for _ in range(60):
        model.step()
        out = model.last
        assert all(out.buyer_utility(i) >= -1e-9 for i in range(len(specs)))
        assert out.total_revenue <= out.welfare + 1e-9
