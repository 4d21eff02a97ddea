"""The dashboard's learning rules: the rate mapped to each rule, grid learners in the simultaneous view,
the k-item market with two intermediaries (posted-fees), and posted menus' partial adjustment."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from agora.agents.adjustment import FP_TEMPERATURE, HEDGE_ETA, grid_rule
from agora.experiments.dashboard.controls import Controls
from agora.experiments.dashboard.figures import PricePlanePlot, legend
from agora.experiments.dashboard.model import MarketDashboard
from agora.experiments.dashboard.posted_fees_view import FEE_POINTS, k_market, plane_fees
from agora.experiments.dashboard.views import LEARNING_POINTS
from agora.market.errors import InputError
from agora.market.k_items.solver import best_posted_price
from agora.market.learning.k_selection import KItemMarket, continuous_equilibrium, continuous_regrets
from agora.market.learning.rules import BestResponse, DemandLearning, FictitiousPlay, Hedge, RegretMatching, WithInertia
from agora.market.learning.selection import Market, play_market
from tests.dashboard_checks import means_within_monte_carlo

# ---- the rate, rule by rule --------------------------------------------------------------------


@pytest.mark.parametrize("rate", [0.05, 0.5, 1.0])
def test_rate_maps_to_each_rules_parameter(rate):
    assert grid_rule("best-response", rate) == BestResponse(inertia=1.0 - rate)
    assert grid_rule("hedge", rate) == Hedge(eta=HEDGE_ETA * rate)
    assert grid_rule("fictitious-play", rate) == FictitiousPlay(temperature=FP_TEMPERATURE / rate)
    assert grid_rule("regret-matching", rate) == WithInertia(RegretMatching(), inertia=1.0 - rate)
    assert grid_rule("demand-learning", rate).inertia == pytest.approx(1.0 - rate)
    assert isinstance(grid_rule("demand-learning", rate), DemandLearning)


def test_hedge_at_half_rate_is_the_selection_reports_hedge():
    assert grid_rule("hedge", 0.5).eta == 5.0 and grid_rule("fictitious-play", 1.0).temperature == 0.01


@pytest.mark.parametrize("rule, rate, match", [
    ("gradient", 0.5, "unknown grid learning rule 'gradient'"),
    ("hedge", 0.0, r"a learning rate must be a number in \(0, 1\]"),
    ("fictitious-play", 1.5, r"a learning rate must be a number in \(0, 1\]"),
])
def test_grid_rule_rejects_bad_input_in_one_line(rule, rate, match):
    with pytest.raises(InputError, match=match) as err:
        grid_rule(rule, rate)
    assert "\n" not in str(err.value)


def test_with_inertia_keeps_the_last_action_at_the_inertia_rate():
    """Regret matching revises only with probability 1 - inertia: with inertia 0.75 a quarter of rounds revise."""
    mg = Market("u", ("uniform:0,1", "uniform:0,2"), points=11).discretized()[1]
    seat = mg.seats((2, 2), np.random.SeedSequence(3))[0]
    learner = WithInertia(RegretMatching(), 0.75).start(seat)
    kept = 0
    learner.act()
    for _ in range(4000):
        before = learner.action
        learner.observe(before, 7, False)
        after = learner.act()
        kept += after == before
    assert kept / 4000 >= 0.75 - 4 * math.sqrt(0.75 * 0.25 / 4000)
    mixed = learner.mixed()
    assert mixed.sum() == pytest.approx(1.0) and mixed[learner.action] >= 0.75


# ---- controls: which protocol takes which rule -------------------------------------------------

@pytest.mark.parametrize("kw, match", [
    ({"protocol": "seller-first", "rule": "hedge"}, "unknown learning rule 'hedge' for seller-first"),
    ({"protocol": "posted-fees", "bidders": ("uniform:0,1",), "buyers": 4, "intermediaries": 3},
     "intermediaries must be 2 for posted-fees"),
    ({"protocol": "posted-fees", "bidders": ("exponential:1",), "buyers": 4, "intermediaries": 2},
     "posted-fees needs a distribution with a finite top"),
    ({"protocol": "posted-fees", "bidders": ("uniform:0,1", "uniform:0,2"), "buyers": 4, "intermediaries": 2},
     "posted-fees needs identically distributed buyers"),
    ({"protocol": "posted-fees", "bidders": ("uniform:0,1",), "buyers": 4, "intermediaries": 2,
      "rule": "demand-learning"}, "unknown learning rule 'demand-learning' for posted-fees"),
    ({"protocol": "posted-fees", "bidders": ("uniform:0,1",), "buyers": 4, "intermediaries": 2, "items": 0},
     "items must be a whole number from 1"),
])
def test_controls_reject_bad_learning_markets_in_one_line(kw, match):
    with pytest.raises(InputError, match=match) as err:
        Controls(**kw)
    assert "\n" not in str(err.value)


# ---- grid learners in the simultaneous view ----------------------------------------------------

SIMULTANEOUS = {"protocol": "simultaneous", "bidders": "uniform:0,1; uniform:0,2", "buyers": 2}


def _prices(m: MarketDashboard, columns=("seller_price", "intermediary_price")) -> np.ndarray:
    return m.view.series(m.market)[list(columns)].to_numpy(float)


@pytest.mark.parametrize("rule", ["hedge", "fictitious-play", "regret-matching", "demand-learning"])
def test_same_seed_same_path(rule):
    runs = []
    for seed in (7, 7, 8):
        m = MarketDashboard(**SIMULTANEOUS, rule=rule, rate=0.5, seller_price=0.3, intermediary_price=0.3,
                            seed=seed)
        for _ in range(40):
            m.step()
        runs.append((_prices(m), m.view.series(m.market)["seller_revenue"].to_numpy()))
    np.testing.assert_array_equal(runs[0][0], runs[1][0])
    np.testing.assert_array_equal(runs[0][1], runs[1][1])
    assert not np.array_equal(runs[0][1], runs[2][1])  # other values drawn under another seed


def test_start_prices_snap_to_the_grid():
    """41 linear prices on [0, 2] (the top value): 0.33 -> 0.35, 1.01 -> 1.0; fictitious play opens with the start."""
    m = MarketDashboard(**SIMULTANEOUS, rule="fictitious-play", rate=0.5, seller_price=0.33, intermediary_price=1.01)
    m.step()
    assert LEARNING_POINTS == 41
    np.testing.assert_allclose(_prices(m)[0], [0.35, 1.0], atol=1e-15)


@pytest.mark.parametrize("rule", ["hedge", "fictitious-play", "regret-matching"])
def test_agents_post_the_array_dynamics_prices(rule):
    """Rules that know the game do not depend on the values drawn: the agents' path is play_market's."""
    m = MarketDashboard(**SIMULTANEOUS, rule=rule, rate=0.7, seller_price=0.5, intermediary_price=1.5, seed=4)
    rounds = 60
    for _ in range(rounds):
        m.step()
    market = Market("dashboard", ("uniform:0,1", "uniform:0,2"), points=LEARNING_POINTS)
    _, mg = market.discretized()
    rule_ = grid_rule(rule, 0.7)
    play = play_market(market, rule_, rule_, (10, 30), rounds, np.random.SeedSequence(4))
    np.testing.assert_array_equal(_prices(m), np.column_stack([mg.row_actions[play.rows], mg.col_actions[play.cols]]))


def test_play_keeps_stepping_past_any_replay():
    """The dashboard's model draws values itself: no replayed values to run out of."""
    m = MarketDashboard(**{**SIMULTANEOUS, "buyers": 4}, rule="demand-learning", rate=0.9, seed=2)
    for _ in range(600):
        m.step()
    assert m.market.replay is None and m.rounds == 600
    assert m.view.price_plane(m.market) is not None


# ---- the k-item market with two intermediaries (posted-fees) -----------------------------------

FEES = {"protocol": "posted-fees", "bidders": "uniform:0,1", "intermediaries": 2}


def test_k_item_reference_is_the_continuous_equilibrium_without_rationing():
    """k >= n, U[0,1]: p_s = f_1 = f_2 = 1/3 (k_selection's docstring); each buyer buys w.p. 1/3, so
    u_s = n/9, u_j = b_j/9 and welfare = n (1/3)(5/6) (E[v | v >= 2/3] = 5/6)."""
    m = MarketDashboard(**FEES, buyers=5, items=5)
    bands = m.view.reference(m.market).bands
    exact = {"seller_price": 1 / 3, "intermediary_0_price": 1 / 3, "intermediary_1_price": 1 / 3,
             "seller_revenue": 5 / 9, "intermediary_0_revenue": 3 / 9, "intermediary_1_revenue": 2 / 9,
             "welfare": 5 * (1 / 3) * (5 / 6)}
    for col, value in exact.items():
        assert bands[col][0] == bands[col][1] == pytest.approx(value, abs=1e-8), col


def test_k_item_reference_equals_k_selection_with_rationing():
    m = MarketDashboard(**FEES, buyers=3, items=1)
    bands = m.view.reference(m.market).bands
    market = KItemMarket("dashboard", "uniform:0,1", (2, 1), 1, points=31)
    prices = continuous_equilibrium(market, (0.4, 0.3, 0.3))
    assert max(continuous_regrets(market, prices)) < 1e-6
    for col, p in zip(("seller_price", "intermediary_0_price", "intermediary_1_price"), prices):
        assert bands[col][0] == pytest.approx(p, abs=1e-8)
    for col, u in zip(("seller_revenue", "intermediary_0_revenue", "intermediary_1_revenue"), market.payoffs(*prices)):
        assert bands[col][0] == pytest.approx(float(u), abs=1e-8)
    assert k_market(m.controls) == market


def test_best_response_started_at_the_equilibrium_stays_and_means_approach_it():
    """U[0,1], 4 buyers, 4 items: (1/3, 1/3, 1/3) is on the 31-point grid and a grid equilibrium."""
    m = MarketDashboard(**FEES, buyers=4, items=4, rule="best-response", rate=1.0, seller_price=1 / 3,
                        intermediary_price=1 / 3, seed=9)
    means_within_monte_carlo(m, 2000)
    np.testing.assert_allclose(_prices(m, ("seller_price", "intermediary_0_price", "intermediary_1_price")),
                               1 / 3, atol=1e-12)


def test_k_item_fixed_prices_means_match_exact_payoffs_with_rationing():
    """Blocks of 3 and 2, two items, p_s = 0.4 and both fees 0.2: the rounds' means approach the exact
    payoffs and welfare (random rationing, E[v | v >= p_s + f_j] per served buyer)."""
    from agora.market.learning.k_selection import expected_welfare

    m = MarketDashboard(**FEES, buyers=5, items=2, rule="fixed-price", seller_price=0.4, intermediary_price=0.2,
                        seed=6)
    for _ in range(3000):
        m.step()
    df = m.view.series(m.market)
    market = k_market(m.controls)
    exact = dict(zip(("seller_revenue", "intermediary_0_revenue", "intermediary_1_revenue"),
                     (float(u) for u in market.payoffs(0.4, 0.2, 0.2))))
    exact["welfare"] = expected_welfare("uniform:0,1", (3, 2), 2, 0.4, 0.2, 0.2)
    for col, value in exact.items():
        se = df[col].std(ddof=1) / math.sqrt(len(df))
        assert abs(df[col].mean() - value) <= 4 * se, (col, df[col].mean(), value, se)


@pytest.mark.parametrize("rule", ["hedge", "fictitious-play", "regret-matching", "best-response"])
def test_k_item_learning_same_seed_same_path(rule):
    runs = []
    for seed in (3, 3):
        m = MarketDashboard(**FEES, buyers=6, items=2, rule=rule, rate=0.6, seller_price=0.5, intermediary_price=0.1,
                            seed=seed)
        for _ in range(25):
            m.step()
        runs.append(m.view.series(m.market).to_numpy(float))
    np.testing.assert_array_equal(runs[0], runs[1])
    assert m.view.price_plane(m.market).columns == ("intermediary_0_price", "intermediary_1_price")
    net = m.view.network(m.market)
    assert net.caption.endswith("of 2 items sold")


def test_many_buyers_reference_passes_the_verifier():
    """200 uniform buyers, 5 items: Newton's steps from the grid's settled point leave the region; settled
    in continuous prices first, the root is an equilibrium against any price in [0, 1] (k_selection's verifier)."""
    m = MarketDashboard(**FEES, buyers=200, items=5)
    bands = m.view.reference(m.market).bands
    prices = tuple(bands[c][0] for c in ("seller_price", "intermediary_0_price", "intermediary_1_price"))
    assert max(continuous_regrets(k_market(m.controls), prices)) <= 1e-6
    assert prices[1] == pytest.approx(prices[2], abs=1e-6)  # equal blocks, equal fees


def test_no_verified_equilibrium_is_said_not_drawn(monkeypatch):
    from agora.experiments.dashboard import posted_fees_view

    monkeypatch.setattr(posted_fees_view, "fee_equilibrium", lambda market: ((0.9, 0.0, 0.0), 1.0))
    probe = KItemMarket("probe", "uniform:0,1", (2, 2), 1)
    ref = posted_fees_view.equilibrium_reference.__wrapped__(probe)
    assert ref.bands == {} and ref.method.startswith("no verified equilibrium")
    assert posted_fees_view.fee_plane.__wrapped__(probe) is None  # the plane needs p_s*


# ---- the fee plane of posted fees ---------------------------------------------------------------

def _equilibrium(m) -> tuple[float, float, float]:
    bands = m.view.reference(m.market).bands
    return tuple(bands[c][0] for c in ("seller_price", "intermediary_0_price", "intermediary_1_price"))


@pytest.mark.parametrize("buyers, items", [(200, 5), (3, 1), (5, 2), (7, 20)])
def test_fee_plane_best_fees_cross_at_the_equilibrium_fees(buyers, items):
    """At p_s*, each curve is the argmax of exact payoffs on the plane's grid, within a spacing h of the exact
    best fee; the exact curves pass through (f_1*, f_2*) with slope below 1, so at the grid fee nearest the
    other's equilibrium fee each curve is within h + h/2 of the equilibrium fee."""
    m = MarketDashboard(**FEES, buyers=buyers, items=items)
    ps, f1, f2 = _equilibrium(m)
    plane = m.view.price_plane(m.market)
    grid, h = plane.grid, plane.grid[1] - plane.grid[0]
    assert plane.grid.size == plane_fees(FEE_POINTS) == 301 and plane.note.startswith("the intermediaries' fees")
    assert f"p_s* = {ps:.4f}" in plane.note
    np.testing.assert_allclose(plane.equilibria, [[f1, f2]])
    assert abs(plane.x_best[np.argmin(np.abs(grid - f2))] - f1) <= 1.5 * h
    assert abs(plane.y_best[np.argmin(np.abs(grid - f1))] - f2) <= 1.5 * h
    # and only there: the grid fee pairs that are best fees to each other within h form one cluster, within
    # 2h / (1 - s) of the equilibrium for curves of slope below s (the curves here are nearly flat: s < 1/3)
    i, j = np.meshgrid(np.arange(grid.size), np.arange(grid.size), indexing="ij")
    mutual = (np.abs(plane.x_best[j] - grid[i]) <= h) & (np.abs(plane.y_best[i] - grid[j]) <= h)
    assert mutual.any()
    assert np.max(np.abs(grid[i[mutual]] - f1)) <= 3 * h and np.max(np.abs(grid[j[mutual]] - f2)) <= 3 * h
    fixed = replace(k_market(m.controls), seller_price=ps)  # the fees are an equilibrium of the fee game at p_s*
    assert max(continuous_regrets(fixed, (ps, f1, f2))) <= 1e-6


@pytest.mark.parametrize("buyers", [4, 5])
def test_fee_plane_without_rationing_best_fee_is_half_of_what_the_seller_leaves(buyers):
    """k >= n, U[0,1]: u_j = f_j b_j (1 - p_s - f_j) whatever the other fee, so each curve is the constant
    (1 - p_s*)/2 = 1/3; a grid argmax of this parabola is the grid fee nearest it (within h/2)."""
    m = MarketDashboard(**FEES, buyers=buyers, items=buyers)
    ps = _equilibrium(m)[0]
    plane = m.view.price_plane(m.market)
    half = (plane.grid[1] - plane.grid[0]) / 2
    for best in (plane.x_best, plane.y_best):
        assert np.max(np.abs(best - (1 - ps) / 2)) <= half + 1e-12
    assert ps == pytest.approx(1 / 3, abs=1e-9)


def test_fee_plane_figure_keeps_its_curves_and_draws_the_fees_played():
    m = MarketDashboard(**FEES, buyers=6, items=2, rule="hedge", seed=4)
    plot = PricePlanePlot(m.view, m.market)
    ax = plot.figure.axes[0]
    curves = [line.get_xydata().copy() for line in ax.lines[:2]]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("fee f_1 of I0", "fee f_2 of I1")
    for _ in range(5):
        m.step()
    assert plot.update(m.view, m.market) is plot.figure
    df = m.view.series(m.market)
    np.testing.assert_array_equal(plot.path.get_xydata(), df[["intermediary_0_price", "intermediary_1_price"]])
    for line, before in zip(ax.lines[:2], curves):
        np.testing.assert_array_equal(line.get_xydata(), before)
    colours = dict((party, colour) for colour, party in legend(m.view, m.market))
    assert [line.get_color() for line in ax.lines[:2]] == [colours["intermediary_0"], colours["intermediary_1"]]


# ---- posted menus: best response by partial adjustment -----------------------------------------

def test_posted_menu_best_response_adjusts_at_the_rate():
    """p_t = b + (p_start - b)(1 - rate)^(t+1) towards the best price b; the exact values are b's."""
    rate, start = 0.4, 0.1
    m = MarketDashboard(protocol="posted-menu", bidders="uniform:0,1", buyers=5, intermediaries=2, items=2,
                        rule="best-response", rate=rate, seller_price=start)
    b = best_posted_price("uniform:0,1", (3, 2), 2).price
    for _ in range(6):
        m.step()
    t = np.arange(6)
    np.testing.assert_allclose(m.view.series(m.market)["seller_price"], b + (start - b) * (1 - rate) ** (t + 1),
                               atol=1e-12)
    assert m.view.reference(m.market).bands["seller_price"] == (b, b)
