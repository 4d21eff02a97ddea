"""Equilibrium selection in the simultaneous pricing game (monopolist-intermediary, Section 5).

Every end point a study reports as an equilibrium is re-checked here against every
price on a fine grid (20,001 prices plus the support's atoms), independently of
both the study's grid verifier and the solver's exact best responses. Basins must
not depend on the executor; the agent-based market must post the same prices as the
array dynamics on the same seed.
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pandas as pd
import pytest

from agora.market.errors import InputError
from agora.market.learning.qre import trace_logit_qre
from agora.market.learning.rules import BestResponse, DemandLearning, FictitiousPlay, Hedge, RegretMatching
from agora.market.learning.selection import Market, Study, play_market, price_levels, run_study
from agora.models.learning_models import learning_model

CONSTANT = Market("constant value", ("point:1",), 21)
F_MARKET = Market("F_0.2,1e6", ("pareto:0.2,1,1e6",), 41, "log")
UNIFORM = Market("two uniform", ("uniform:0,1", "uniform:0,2"), 21)


def independent_regret(game, ps: float, pi: float) -> float:
    """The larger side's gain from its best deviation on a fine grid, relative to that deviation."""
    deviations = np.union1d(np.linspace(0.0, game.upper, 20001), [b.hi for b in game.bidders])
    us, ui = game.payoffs(ps, pi)
    best_s = np.max(deviations * game.sale(deviations + pi))
    best_i = np.max(deviations * game.sale(ps + deviations))
    return max(max(0.0, best_s - float(us)) / max(best_s, 1e-300),
               max(0.0, best_i - float(ui)) / max(best_i, 1e-300))


def test_grids_are_closed_under_reflection():
    for kind, low in (("linear", None), ("log", 1.0)):
        for points in (21, 40):
            g = price_levels(1e6, points, kind, low)
            assert len(g) == points and g[0] == 0.0 and g[-1] == 1e6 and np.all(np.diff(g) > 0)
            assert np.array_equal(1e6 - g, g[::-1])  # exact: every split of the top is on the grid
    with pytest.raises(InputError):
        price_levels(1.0, 11, "cubic")


def test_constant_value_best_response_with_inertia_lands_on_one_of_two_splits():
    """From (a, b) off the segment, the first round in which one side moves alone ends play at
    (a, 1 - a) or (1 - b, b): the other side's start survives. Every end is an equilibrium."""
    study = Study(CONSTANT, BestResponse(inertia=0.5), starts_per_side=6, rounds=300, window=50)
    result = run_study(study)
    game, _ = CONSTANT.discretized()
    assert result.counts == {"equilibrium": len(result.endings)}
    for e in result.endings:
        a, b = e.start_seller_price, e.start_intermediary_price
        if abs(a + b - 1) < 1e-12:
            assert (e.seller_price, e.intermediary_price) == (a, b)
        elif e.trades:
            assert (e.seller_price, e.intermediary_price) in ((a, 1 - a), (1 - b, b))
        assert e.verified and independent_regret(game, e.seller_price, e.intermediary_price) <= 1e-9


def test_constant_value_best_response_without_inertia_cycles_off_the_segment():
    """Simultaneous best responses map (a, b) to (1 - b, 1 - a) and back: period 2, unless the
    start is a split or has a price 0 or 1: the answer to 0 is the whole value 1, against
    which every price earns 0, so the other side keeps its price (ties keep the current price)."""
    result = run_study(Study(CONSTANT, BestResponse(), starts_per_side=6, rounds=60, window=20))
    for e in result.endings:
        a, b = e.start_seller_price, e.start_intermediary_price
        if abs(a + b - 1) < 1e-12:
            assert e.outcome == "equilibrium" and e.trades
        elif e.outcome == "cycle":
            assert e.period == 2
        else:
            assert e.outcome == "equilibrium" and ({a, b} & {0.0, 1.0})


@pytest.mark.parametrize("rule", [BestResponse(0.5), FictitiousPlay(), Hedge(5.0), RegretMatching(),
                                  DemandLearning(0.05, 0.5)], ids=lambda r: r.label)
@pytest.mark.parametrize("market", [CONSTANT, F_MARKET, UNIFORM], ids=lambda m: m.name)
def test_every_reported_equilibrium_passes_the_independent_verifier(rule, market):
    result = run_study(Study(market, rule, starts_per_side=3, rounds=400, window=100, seed=11))
    game, _ = market.discretized()
    exact_grid = market is not UNIFORM  # the uniform market's equilibria lie off the grid
    if not isinstance(rule, DemandLearning) or market is CONSTANT:
        assert result.equilibria()  # (outcome-only learners rarely see a sale near F's equilibria)
    for e in result.equilibria():
        assert e.grid_regret <= 1e-9
        if exact_grid:
            assert e.verified and independent_regret(game, e.seller_price, e.intermediary_price) <= 1e-9
        else:  # a grid point near the continuous equilibrium: regret quadratic in the grid step 0.1
            assert e.continuous_regret <= 0.05


def test_theorem_5_2_selected_equilibria_price_at_H_with_both_at_least_eps_H():
    """F_eps,H, eps = 0.2: whatever the start, best response with inertia ends on p_s + p_I = H
    with both prices >= eps H, so each side earns at most H^(-eps/(1-eps)) (Theorem 5.2)."""
    eps, H = 0.2, 1e6
    result = run_study(Study(F_MARKET, BestResponse(0.5), starts_per_side=5, rounds=400, window=100))
    traded = [e for e in result.equilibria() if e.trades]
    assert len(traded) >= 0.8 * len(result.endings)
    for e in traded:
        assert e.seller_price + e.intermediary_price == pytest.approx(H, rel=1e-12)
        assert min(e.seller_price, e.intermediary_price) >= eps * H * (1 - 1e-12)
        assert max(e.seller_revenue, e.intermediary_revenue) <= H ** (-eps / (1 - eps)) * (1 + 1e-12)


def test_same_seed_same_basins_with_one_and_two_workers():
    study = Study(CONSTANT, Hedge(2.0), starts_per_side=4, rounds=200, window=50, seed=5)
    serial = run_study(study).table()
    with ProcessPoolExecutor(max_workers=2, mp_context=multiprocessing.get_context("spawn")) as pool:
        parallel = run_study(study, pool).table()
    pd.testing.assert_frame_equal(serial, parallel, check_exact=True)
    other = run_study(Study(CONSTANT, Hedge(2.0), starts_per_side=4, rounds=200, window=50, seed=6)).table()
    assert not other.equals(serial)  # the seed matters


@pytest.mark.parametrize("rule", [Hedge(2.0), DemandLearning(0.2, 0.3)], ids=lambda r: r.label)
def test_agent_based_market_posts_the_same_prices_as_the_array_dynamics(rule):
    """Mesa agents learning from the model's public round outcomes, on the same seed and values,
    post the array dynamics' prices round for round and see the same sales."""
    seq = np.random.SeedSequence(21)
    rounds, start = 150, (3, 15)
    array = play_market(UNIFORM, rule, rule, start, rounds, seq)
    model = learning_model(UNIFORM, rule, rule, start, rounds, seq)
    for _ in range(rounds):
        model.step()
    df = model.datacollector.get_model_vars_dataframe()
    _, mg = UNIFORM.discretized()
    np.testing.assert_array_equal(df["seller_price"].to_numpy(float), mg.row_actions[array.rows])
    np.testing.assert_array_equal(df["intermediary_price"].to_numpy(float), mg.col_actions[array.cols])
    np.testing.assert_array_equal(df["sale"].to_numpy(bool), array.sold)
    assert 0 < array.sold.sum() < rounds


def test_logit_qre_of_the_constant_value_game_selects_the_equal_split():
    """The principal logit branch of the symmetric constant-value game stays symmetric and ends
    at the split (1/2, 1/2), one point of Theorem 5.1's continuum."""
    _, mg = Market("c", ("point:1",), 11).discretized()
    branch = trace_logit_qre(mg.A, mg.B, lam_max=500.0)
    _, x, y = branch.last
    assert x[5] > 0.99 and y[5] > 0.99 and mg.row_actions[5] == 0.5
    np.testing.assert_allclose(branch.row, branch.col, atol=1e-9)


def test_bad_studies_are_refused_with_one_line():
    for make in (lambda: Market("m", ("point:1",), 2), lambda: Market("m", ("point:1",), 11, "cubic"),
                 lambda: Market("m", (), 11), lambda: Study(CONSTANT, Hedge(), starts_per_side=99),
                 lambda: Study(CONSTANT, Hedge(), rounds=0), lambda: Study(CONSTANT, Hedge(), mixed_tol=0.0)):
        with pytest.raises(InputError) as err:
            make()
        assert "\n" not in str(err.value)
