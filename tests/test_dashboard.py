"""The dashboard without a browser: controls and spec files, market views, learning rules, figures."""

from __future__ import annotations

import errno
import json
import math
import os
import tomllib
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from cli_run import run_cli
from matplotlib.colors import to_rgba
from scipy import integrate, stats

from agora.agents.adjustment import PartialAdjustment, learning_strategy
from agora.agents.strategies import StackelbergPrice
from agora.experiments.cli import main
from agora.experiments.dashboard.controls import Controls, load_spec
from agora.experiments.dashboard.figures import (
    WIN_COLOUR,
    NetworkPlot,
    network_figure,
    price_plane_figure,
    series_figure,
)
from agora.experiments.dashboard.model import MarketDashboard
from agora.experiments.dashboard.posted_menu_view import blocks
from agora.experiments.dashboard.views import VIEWS
from agora.experiments.reproduce.group_claims import pair_optimum
from agora.market.errors import InputError
from agora.market.group.solver import solve_group
from agora.market.single_item.seller_first import solve_seller_first
from agora.models.market_model import MarketModel
from tests.dashboard_checks import means_within_monte_carlo, rule_and_knowledge

# ---- spec files and the command line ----------------------------------------------------------

BAD_SPECS = {
    "not toml": ("[market\nprotocol = 1", "not valid TOML"),
    "no table": ('name = "run"\n', "[market] is missing; accepted: a table"),
    "unknown top-level table": ('[run]\nrounds = 3\n[market]\n', "run = {\"rounds\": 3}: unknown key; accepted: "
                                "top-level keys"),
    "unknown key": ('[market]\nbuyer = 3\n', "market.buyer = 3: unknown key; accepted: the dashboard's keys"),
    "bad distribution": ('[market]\nbidders = ["uniform:1"]\n', "uniform:1"),
    "bad protocol": ('[market]\nprotocol = "auction"\n', "unknown protocol 'auction'"),
    "bad rate": ('[market]\nrate = 1.5\n', "rate must be a number in (0, 1]"),
    "no buyers": ('[market]\nbuyers = 0\n', "buyers must be a whole number"),
    "negative price": ('[market]\nseller_price = -1\n', "seller_price must be a price >= 0"),
    "bad rule": ('[market]\nrule = "fictitious-play"\n', "unknown learning rule 'fictitious-play'"),
    "bidders not a list": ('[market]\nbidders = 3\n', "bidders must be a list"),
    "no intermediaries": ('[market]\nintermediaries = 0\n', "intermediaries must be a whole number from 1"),
    "more intermediaries than buyers": ('[market]\nprotocol = "posted-menu"\nbuyers = 3\nintermediaries = 4\n',
                                        "intermediaries must be a whole number from 1 to buyers (3), got 4"),
    "several intermediaries, one item": ('[market]\nbuyers = 3\nintermediaries = 2\n',
                                         "intermediaries must be 1 for seller-first"),
    "no items": ('[market]\nprotocol = "posted-menu"\nitems = 0\n', "items must be a whole number from 1"),
    "items in a single-item market": ('[market]\nitems = 2\n', "items must be 1 for seller-first"),
    "unknown utility": ('[market]\nutility = "greedy"\n', "unknown intermediary utility 'greedy'"),
    "posted menu, two laws": ('[market]\nprotocol = "posted-menu"\nbidders = ["uniform:0,1", "uniform:0,2"]\n',
                              "posted-menu needs identically distributed buyers"),
    "rule of another protocol": ('[market]\nrule = "intermediary-proof"\n',
                                 "unknown learning rule 'intermediary-proof' for seller-first"),
    "veto, too many for Theorem 1": ('[market]\nprotocol = "veto-bargaining"\nbuyers = 13\n',
                                     "buyers must be at most 12 for veto-bargaining"),
    "bad window": ('[market]\nwindow = 0\n', "window must be a whole number of rounds >= 1, got 0"),
    "veto, a member with an atom": ('[market]\nprotocol = "veto-bargaining"\nbidders = ["point:1"]\n',
                                    "has an atom"),
    "runner keys, a typo": ('[market]\nbidders = "uniform:0,1"\nevaluatr = "mc"\n',
                            'market.evaluatr = "mc": unknown key'),
    "runner keys, another demand": ('[market]\nbidders = "uniform:0,1"\nn = 2\ndemand = "competition"\n',
                                    'market.demand = "competition"'),
    "runner keys, a bad sweep value": ('steps = 5\n[seeds]\ncount = 1\nbase = 1\n[market]\nbidders = '
                                       '"uniform:0,1"\n[sweep.grid]\n"market.seller" = [-1]\n', "market.seller = -1"),
    "runner keys, one side fixed": ('[market]\nprotocol = "simultaneous"\nbidders = "uniform:0,1"\n'
                                    'seller = 0.3\n', "market.seller = 0.3"),
    "runner keys, two rules": ('[market]\nprotocol = "learning"\nbidders = "point:1"\nseller = {rule = "hedge"}\n'
                               'intermediary = {rule = "best-response"}\n', "market.intermediary = "),
    "runner keys, a rule no rate gives": ('[market]\nprotocol = "learning"\nbidders = "point:1"\n'
                                          'seller = {rule = "hedge", eta = 50.0}\n', "eta <= 10"),
    "runner keys, uneven blocks": ('[market]\nprotocol = "learning-k-items"\ndistribution = "uniform:0,1"\n'
                                   'blocks = [1, 3]\nitems = 2\nseller = {rule = "hedge"}\n', "market.blocks = [1, 3]"),
    "runner spec, no seeds": ('steps = 5\n[market]\nbidders = "uniform:0,1"\n', "seeds"),
    "runner keys, a veto seller with a cost": ('[market]\nprotocol = "veto-bargaining"\nmembers = ["uniform:0,1"]\n'
                                               'cost = 0.5\n', "market.cost = 0.5: the dashboard's seller has no cost"),
    "runner keys, individual transfers": ('[market]\nprotocol = "veto-bargaining"\nmembers = ["uniform:0,1"]\n'
                                          'transfers = "individual"\nevaluator = "mc"\n',
                                          'market.transfers = "individual": the dashboard\'s group pays one'),
    "runner keys, an uneven partition": ('[market]\nprotocol = "posted-menu"\ndistribution = "uniform:0,1"\n'
                                         'buyers = 3\nitems = 2\npartition = "0|1,2"\n',
                                         'market.partition = "0|1,2": the dashboard splits the buyers into '
                                         'contiguous blocks'),
}


@pytest.mark.parametrize("name", BAD_SPECS)
def test_a_bad_spec_file_is_one_line_and_exit_2(tmp_path, capsys, name):
    text, says = BAD_SPECS[name]
    spec = tmp_path / "market.toml"
    spec.write_text(text)
    assert main(["viz", str(spec)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and says in err, err


def test_missing_spec_file_and_bad_port(tmp_path, capsys):
    assert main(["viz", str(tmp_path / "nowhere.toml")]) == 2
    # the reader's words for a missing file: the OS's own message for ENOENT
    assert f"cannot read spec '{tmp_path / 'nowhere.toml'}': {os.strerror(errno.ENOENT)}" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_:
        main(["viz", "--port", "70000"])
    assert exit_.value.code == 2
    assert "a port must be from 1 to 65535" in capsys.readouterr().err


def test_spec_file_sets_every_control(tmp_path):
    spec = tmp_path / "market.toml"
    spec.write_text('[market]\nprotocol = "simultaneous"\nbidders = ["uniform:0,1", "exponential:1"]\n'
                    'rule = "fixed-price"\nrate = 0.25\nseller_price = 0.3\nintermediary_price = 0.4\n'
                    'seed = 9\n')
    c = load_spec(spec)
    assert c == Controls("simultaneous", ("uniform:0,1", "exponential:1"), 2, "fixed-price", 0.25, 0.3, 0.4, 9)


def test_spec_file_sets_the_k_item_controls(tmp_path):
    spec = tmp_path / "market.toml"
    spec.write_text('[market]\nprotocol = "posted-menu"\nbuyers = 7\nintermediaries = 3\nitems = 2\n'
                    'utility = "monopolist"\nrule = "intermediary-proof"\n')
    c = load_spec(spec)
    assert (c.protocol, c.buyers, c.intermediaries, c.items, c.utility) == ("posted-menu", 7, 3, 2, "monopolist")


SPECS_DIR = Path(__file__).resolve().parents[1] / "experiments" / "specs"
SHIPPED_SPECS = sorted(SPECS_DIR.glob("*.toml"))


def test_a_kind_without_a_view_is_refused_in_one_line(capsys, monkeypatch):
    """A runner kind the dashboard cannot show (here robust, its translation taken away) opens in
    `agora run` but not in `agora viz`: exit 2 and one line naming the protocol and the ones it shows."""
    from agora.experiments.dashboard import runner_spec

    monkeypatch.setattr(runner_spec, "TRANSLATE", {k: v for k, v in runner_spec.TRANSLATE.items() if k != "robust"})
    code, out, err = run_cli(capsys, "viz", str(SPECS_DIR / "robust.toml"))
    assert (code, out, err.count("\n")) == (2, "", 1), err
    assert 'the dashboard has no view of protocol "robust"' in err and '"veto-bargaining"' in err


def _first_round(model) -> dict:
    model.step()
    return model.datacollector.get_model_vars_dataframe().iloc[0].to_dict()


def _same_prices(a: dict, b: dict, columns) -> None:
    for col in columns:
        assert (math.isnan(a[col]) and math.isnan(b[col])) or a[col] == b[col], (col, a[col], b[col])


def _runner_market(point, dash):
    """The runner's market for its first point, built as the runner builds it, beside the dashboard's."""
    from agora.experiments.markets.selection import k_market, make_rule, single_market
    from agora.experiments.markets.single_item import model_arguments
    from agora.models.learning_models import k_learning_model, learning_model

    p = point.params
    seq = np.random.SeedSequence(5)
    if point.protocol == "learning":
        rule = make_rule(p["seller"])
        other = make_rule(p["intermediary"]) if p["intermediary"] is not None else rule
        market = single_market(p)
        assert replace(market, name="dashboard") == dash.seller.strategy.market
        assert (dash.seller.strategy.rule, dash.intermediaries[0].strategy.rule) == (rule, other)
        start = (p["start_seller"], p["start_intermediary"])
        assert dash.seller.strategy.start == start
        return learning_model(market, rule, other, start, None, seq), ("seller_price", "intermediary_price")
    if point.protocol == "learning-k-items":
        rule = make_rule(p["seller"])
        rules = (rule, *[make_rule(p["intermediaries"]) if p["intermediaries"] is not None else rule] * 2)
        market = k_market(p)
        assert replace(market, name="dashboard") == dash.k_market
        assert tuple(a.strategy.rule for a in (dash.seller, *dash.intermediaries)) == rules
        start = (p["start_seller"], p["start_first"], p["start_second"])
        assert dash.seller.strategy.start == start
        return k_learning_model(market, rules, start, None, seq), ("seller_price", "first_fee", "second_fee")
    if point.protocol == "posted-menu":
        from agora.experiments.markets.k_items import blocks_of, menu_model, price_of

        partition = blocks_of(p)
        assert [[b.index for b in m.buyers] for m in dash.intermediaries] == [list(b) for b in partition]
        assert [m.utility.name for m in dash.intermediaries] == [p["utility"]] * len(partition)
        runner = menu_model(p, partition, price_of(p, partition), 5)
        assert dash.protocol.menu == runner.protocol.menu  # the same price for the same items
        return runner, ("seller_price",)
    if point.protocol == "k-item-auction":
        from agora.experiments.markets.k_items import auction_model, auction_of, blocks_of

        partition = blocks_of(p)
        assert [[b.index for b in m.buyers] for m in dash.intermediaries] == [list(b) for b in partition]
        assert [m.utility.name for m in dash.intermediaries] == [p["utility"]] * len(partition)
        runner = auction_model(p, partition, auction_of(p), 5)
        assert dash.protocol.auction == runner.protocol.auction  # the same reserve for the same items
        return runner, ()  # the clearing price depends on the values
    return MarketModel(**model_arguments(point.protocol, p), rng=5), ("seller_price", "intermediary_price")


def _same_committee(point, dash) -> None:
    """The runner's committee (built as the runner builds it) and the dashboard's: the same laws, the same
    mechanism, and the same first round on the same replayed types."""
    from agora.experiments.markets.group import group_model, mechanism_of

    runner = group_model(point.params, mechanism_of(point.params)[0], 5)
    assert [d.spec for d in dash.laws] == [d.spec for d in runner.laws]
    ours, theirs = dash.seller.mechanism, runner.seller.mechanism
    assert type(ours) is type(theirs)
    assert ours.describe().keys() == theirs.describe().keys()
    for key, value in theirs.describe().items():
        assert ours.describe()[key] == pytest.approx(value, abs=1e-9), key
    types = np.array([[float(d.ppf(0.8)) for d in runner.laws]])  # one round, each member at its 0.8 quantile
    for model in (dash, runner):
        model.replay = types
    ours, theirs = _first_round(dash), _first_round(runner)
    assert ours["trade"] == 1.0
    _same_prices(ours, theirs, ("profit", "trade", "transfer", "accepted"))


def _same_robust_market(point, dash, seed: int) -> None:
    """The runner's robust market (built as the runner builds it) and the dashboard's: the same mechanism
    and nature, and on the same seed the same values, revenue and regret for 20 rounds."""
    from agora.experiments.markets.robust import mechanism_of, nature_of, robust_model

    p = point.params
    runner = robust_model(p, nature_of(p, mechanism_of(p)), seed)
    assert type(dash.seller.mechanism) is type(runner.seller.mechanism)
    assert dash.seller.mechanism.describe() == runner.seller.mechanism.describe()
    assert dash.nature.generator.describe() == runner.nature.generator.describe()
    for model in (dash, runner):
        for _ in range(20):
            model.step()
    ours, theirs = dash.rounds(), runner.rounds()
    assert ours[["revenue", "regret", "sale"]].equals(theirs[["revenue", "regret", "sale"]])


def _same_q_session(point, dash, seed: int) -> None:
    """The dashboard's Q-learners post, period for period, the prices of the runner's compiled session
    (q_learning, the engine of pricing_sessions) with the spec's alpha, beta, delta and memory on the
    session's seed, for the first 300 periods."""
    from agora.market.learning.qlearning import q_learning, session_seeds
    from agora.market.single_item.simultaneous import PricingGame, grid_game

    p, periods = point.params, 300
    grid, A, B = grid_game(PricingGame(p["bidders"]), p["points"])
    res = q_learning(A, B, [session_seeds(seed, 1)[0]], alpha=p["alpha"], beta=p["beta"], delta=p["delta"],
                     memory=p["memory"], periods=periods, window=periods, record=True)
    for _ in range(periods):
        dash.step()
    posted = dash.rounds()[["seller_price", "intermediary_price"]].to_numpy()
    index = {float(x): k for k, x in enumerate(grid)}
    path = np.vectorize(index.__getitem__)(posted)
    assert np.array_equal(path[:, 0], res.row_path[0, :periods])
    assert np.array_equal(path[:, 1], res.col_path[0, :periods])


def _same_adaptive_play(point, dash, seed: int) -> None:
    """The dashboard's path of adaptive play is the kind's simulate on the runner's game, samples, mistake
    rates and start (read by the runner's loader) on default_rng(seed), and its stochastically stable
    prices are the kind's row's (the kind's run, one code path apart)."""
    from agora.experiments.dashboard.adaptive_view import HORIZON
    from agora.experiments.markets.adaptive_play import payoffs, run
    from agora.market.learning.adaptive_paths import simulate

    p = point.params
    A, B, grid = payoffs(p)
    path = simulate(A, B, p["memory"], (p["sample_row"], p["sample_column"]), (p["eps_row"], p["eps_column"]),
                    HORIZON, np.random.default_rng(seed), (p["start_row"], p["start_column"]))
    assert np.array_equal(dash.path.rows, path.rows) and np.array_equal(dash.path.cols, path.cols)
    row = run(p, 50, np.random.default_rng(seed)).run
    bands = VIEWS["adaptive-play"].reference(dash).bands
    (stable,) = json.loads(row["stable_prices"])  # one stable split in the shipped spec's first point
    assert [bands["seller_price"], bands["intermediary_price"]] == [(stable[0],) * 2, (stable[1],) * 2]


def _same_q_fees_session(point, dash, seed: int) -> None:
    """The dashboard's posted-fees Q-learners post, period for period, the prices of the compiled session
    (q_learning) on the runner's grid game (the kind's references) with the spec's alpha, beta, delta and
    memory on the session's seed, for the first 300 periods; the reference is the kind's Nash point."""
    from agora.experiments.dashboard.qlearning_fees_view import HORIZON, WINDOW
    from agora.experiments.markets.qlearning import references
    from agora.market.learning.qlearning import q_learning, session_seeds

    p, periods = point.params, 300
    grid, A, B, _, (i, j, _), _, _ = references(p)
    res = q_learning(A, B, [session_seeds(seed, 1)[0]], alpha=p["alpha"], beta=p["beta"], delta=p["delta"],
                     memory=p["memory"], periods=HORIZON, window=min(WINDOW, HORIZON), record=True)
    for _ in range(periods):
        dash.step()
    posted = VIEWS["q-learning-fees"].series(dash)[["seller_price", "intermediary_price"]].to_numpy()
    index = {float(x): k for k, x in enumerate(grid)}
    path = np.vectorize(index.__getitem__)(posted)
    assert np.array_equal(path[:, 0], res.row_path[0, :periods])
    assert np.array_equal(path[:, 1], res.col_path[0, :periods])
    bands = VIEWS["q-learning-fees"].reference(dash).bands
    assert bands["seller_price"][0] == grid[i] and bands["intermediary_price"][0] == grid[j]


@pytest.mark.parametrize("path", SHIPPED_SPECS, ids=lambda p: p.name)
def test_every_shipped_spec_opens_with_the_runners_market(path):
    """The dashboard's reader and the runner's loader, two code paths, give the same market for the
    spec's first sweep point: the same laws per buyer, grid, rules and start, and the same prices in
    the first round (value-independent: Stackelberg, fixed, best-response or the grid's start prices)."""
    from agora.experiments.dashboard.controls import read_spec
    from agora.experiments.spec import load_spec as load_run_spec

    controls, notices = read_spec(path)
    point = load_run_spec(path).points[0]
    dash = VIEWS[controls.protocol].build(controls)
    if point.protocol == "veto-bargaining":
        _same_committee(point, dash)
    elif point.protocol == "robust":
        _same_robust_market(point, dash, controls.seed)
    elif point.protocol == "q-learning":
        _same_q_session(point, dash, controls.seed)
    elif point.protocol == "adaptive-play":
        _same_adaptive_play(point, dash, controls.seed)
    elif point.protocol == "q-learning-fees":
        _same_q_fees_session(point, dash, controls.seed)
    else:
        runner, prices = _runner_market(point, dash)
        assert [b.spec for b in dash.distributions] == [b.spec for b in runner.distributions]
        _same_prices(_first_round(dash), _first_round(runner), prices)
    at = ", ".join(f"{k} = {json.dumps(v)}" for k, v in point.columns.items())
    assert f"the dashboard opens the first ({at})" in notices[-1]
    assert notices[0].startswith(f"{path}: not used by the dashboard: steps, seeds")
    market = tomllib.loads(path.read_text())["market"]
    for key in ("evaluator", "exact", "window", "mixed_tol"):
        assert (f"market.{key}" in notices[0]) == (key in market), key


def test_grid_rule_and_rate_of_are_inverse():
    """rate_of(grid_rule(name, r)) gives back (name, r); a parameter no rate in (0, 1] reaches is refused."""
    from agora.agents.adjustment import GRID_RULES, grid_rule, rate_of
    from agora.market.learning.rules import BestResponse, FictitiousPlay, Hedge, RegretMatching

    for name in ("best-response", *GRID_RULES):
        for rate in (0.05, 0.3, 0.5, 1.0):
            got, back = rate_of(grid_rule(name, rate))
            assert got == name and back == pytest.approx(rate, rel=1e-12)
    assert rate_of(RegretMatching()) == ("regret-matching", 1.0)
    assert rate_of(BestResponse(inertia=0.5)) == ("best-response", 0.5)
    for bad in (Hedge(eta=50.0), Hedge(eta=5.0, anchor=0.5), FictitiousPlay(temperature=0.001),
                FictitiousPlay(temperature=0.01, prior=2.0)):
        with pytest.raises(InputError):
            rate_of(bad)


def test_distributions_repeat_in_turn_to_fill_the_buyers():
    c = Controls(bidders=("uniform:0,1", "point:2"), buyers=5)
    assert c.specs == ("uniform:0,1", "point:2", "uniform:0,1", "point:2", "uniform:0,1")


# ---- the dashboard's model -------------------------------------------------------------------

def test_bad_controls_leave_no_market_and_say_why():
    m = MarketDashboard(bidders="uniform:2,1")
    assert m.market is None and "uniform:2,1" in m.error
    m.step()
    assert m.rounds == 0
    assert "seed" in MarketDashboard(seed="x").error
    assert "seller_price" in MarketDashboard(seller_price="-0.5").error


def test_dashboard_steps_the_same_market_as_the_model_itself():
    """Rate 1: the view's strategies are the protocol's defaults (Stackelberg price, best-response dynamics)."""
    for protocol in ("seller-first", "simultaneous"):
        dash = MarketDashboard(protocol=protocol, bidders="uniform:0,1; uniform:0,2", buyers=3, seed=4)
        plain = MarketModel(["uniform:0,1", "uniform:0,2", "uniform:0,1"], protocol=protocol, rng=4)
        for _ in range(6):
            dash.step()
            plain.step()
        ours = dash.view.series(dash.market)
        theirs = plain.datacollector.get_model_vars_dataframe()
        for col in ("seller_revenue", "intermediary_revenue", "welfare", "seller_price"):
            np.testing.assert_array_equal(ours[col].to_numpy(), theirs[col].to_numpy())
        s = dash.summary()
        assert s["mean seller_revenue"] == pytest.approx(theirs["seller_revenue"].mean(), abs=1e-15)


# ---- learning rules --------------------------------------------------------------------------

def test_partial_adjustment_closes_the_gap_by_the_rate_each_round():
    """p_t = p* + (p_start - p*)(1 - rate)^(t+1) towards the Stackelberg price p*."""
    specs = ["uniform:0,1", "uniform:0,1"]
    target = solve_seller_first(specs).seller_price
    model = MarketModel(specs, seller=PartialAdjustment(StackelbergPrice(), 0.5, 0.0), rng=1)
    for _ in range(5):
        model.step()
    prices = model.datacollector.get_model_vars_dataframe()["seller_price"].to_numpy()
    expected = target + (0.0 - target) * 0.5 ** np.arange(1, 6)
    np.testing.assert_allclose(prices, expected, rtol=1e-12)


def test_fixed_price_rule_and_bad_rules():
    model = MarketModel(["uniform:0,1"], seller=learning_strategy("fixed-price", None, 1.0, 0.3), rng=1)
    model.step()
    assert model.last.seller_price == 0.3
    with pytest.raises(InputError, match="rate"):
        PartialAdjustment(StackelbergPrice(), 0.0)
    with pytest.raises(InputError, match="unknown learning rule"):
        learning_strategy("gradient", None, 1.0, 0.0)


# ---- exact reference values ------------------------------------------------------------------

def test_seller_first_reference_is_the_stackelberg_solution():
    m = MarketDashboard(bidders="uniform:0,1; exponential:1", buyers=2)
    sol = solve_seller_first(["uniform:0,1", "exponential:1"])
    bands = m.view.reference(m.market).bands
    assert bands["seller_revenue"] == (sol.seller_revenue, sol.seller_revenue)
    assert bands["welfare"] == (sol.welfare, sol.welfare)
    assert price_plane_figure(m.view, m.market) is None


def test_simultaneous_reference_one_uniform_bidder():
    """One uniform:0,1 bidder: p_s (1 - p_s - p_I) is maximized at p_s = (1 - p_I)/2, so the equilibrium
    is p_s = p_I = 1/3, each side earns 1/9, and welfare is E[v; v >= 2/3] = (1 - 4/9)/2 = 5/18."""
    m = MarketDashboard(protocol="simultaneous", bidders="uniform:0,1", buyers=1)
    bands = m.view.reference(m.market).bands
    for col, value in {"seller_price": 1 / 3, "intermediary_price": 1 / 3, "seller_revenue": 1 / 9,
                       "intermediary_revenue": 1 / 9, "welfare": 5 / 18}.items():
        assert bands[col] == pytest.approx((value, value), abs=1e-6), col
    plane = m.view.price_plane(m.market)
    step = plane.grid[1]
    # grid best responses against the exact one, (1 - q)/2, within a grid step
    assert np.max(np.abs(plane.x_best - (1 - plane.grid) / 2)) <= step + 1e-12
    np.testing.assert_allclose(plane.x_best, plane.y_best)  # the game is symmetric


def test_simultaneous_reference_point_mass_is_a_continuum():
    """Theorem 5.1: with v = 1 surely, every split p_s + p_I = 1 is an equilibrium."""
    m = MarketDashboard(protocol="simultaneous", bidders="point:1", buyers=1)
    bands = m.view.reference(m.market).bands
    assert bands["seller_price"][0] == pytest.approx(0.0, abs=1e-9)
    assert bands["seller_price"][1] == pytest.approx(1.0, abs=1e-4)
    assert m.view.price_plane(m.market).continuum["total_price"] == pytest.approx(1.0)


def test_intermediary_first_reference_and_commitment_agree():
    """One uniform:0,1 bidder, the mirror of seller-first: the intermediary earns 1/8, the seller 1/16."""
    m = MarketDashboard(protocol="intermediary-first", bidders="uniform:0,1", buyers=1)
    m.step()
    bands = m.view.reference(m.market).bands
    assert bands["intermediary_revenue"][0] == pytest.approx(0.125, abs=1e-6)
    assert bands["seller_revenue"][0] == pytest.approx(0.0625, abs=1e-6)
    assert m.market.last.intermediary_price == pytest.approx(bands["intermediary_price"][0], abs=1e-12)


# ---- what the network shows ------------------------------------------------------------------

def test_network_carries_this_rounds_messages_and_winner():
    m = MarketDashboard(bidders="uniform:0,1; uniform:0,2", buyers=4, seed=2)
    for _ in range(8):
        m.step()
        if m.market.last.delivered:
            break
    assert m.market.last.delivered
    net = m.view.network(m.market)
    last = m.market.last
    assert net.values == {f"B{i}": v for i, v in enumerate(last.values)}
    assert net.winners == {f"B{last.winner}"}
    for i, v in enumerate(last.values):
        assert f"bid {v:.3g}" in net.messages[(f"B{i}", "I0")]
    assert any(t.startswith("commit price") for t in net.messages[("S", "I0")])
    assert "forward" in net.messages[("I0", "S")]
    assert any(t.startswith("payment") for t in net.messages[(f"B{last.winner}", "S")])
    fig = network_figure(m.view, m.market)
    buyers = fig.axes[0].collections[0]
    assert len(buyers.get_offsets()) == 4
    assert fig.axes[0].get_title().endswith(f"item to B{last.winner}")


def test_series_figure_draws_running_means_and_exact_lines():
    m = MarketDashboard(bidders="uniform:0,1", buyers=2, seed=3)
    for _ in range(5):
        m.step()
    fig = series_figure(m.view, m.market)
    money = fig.axes[0]
    means = m.view.series(m.market)["seller_revenue"].expanding().mean().to_numpy()
    np.testing.assert_allclose(money.lines[0].get_ydata(), means)
    exact = m.view.reference(m.market).bands["seller_revenue"][0]
    assert any(math.isclose(line.get_ydata()[0], exact) for line in money.lines[1:])


@pytest.mark.parametrize("protocol", list(VIEWS))
def test_every_view_builds_steps_and_draws(protocol):
    one_law = ("posted-menu", "posted-fees", "k-item-auction", "robust", "q-learning-fees")
    bidders = ("uniform:0,1" if protocol in one_law
               else "uniform:0,1; exponential:1")
    m = MarketDashboard(protocol=protocol, bidders=bidders, **{"buyers": 3, **rule_and_knowledge(protocol)},
                        rate=0.5, seller_price=0.1,
                        intermediary_price=0.1, intermediaries=2 if protocol == "posted-fees" else 1)
    assert m.error is None
    for _ in range(3):
        m.step()
    assert len(m.view.series(m.market)) == 3
    assert network_figure(m.view, m.market) is not None and series_figure(m.view, m.market) is not None


# ---- posted menus for k items ----------------------------------------------------------------

def test_blocks_are_contiguous_and_nearly_equal():
    assert blocks(7, 3) == [[0, 1, 2], [3, 4], [5, 6]]
    assert blocks(4, 4) == [[0], [1], [2], [3]]
    m = MarketDashboard(protocol="posted-menu", bidders="uniform:0,1", buyers=7, intermediaries=3, items=2)
    assert [len(i.buyers) for i in m.market.intermediaries] == [3, 2, 2]
    assert sorted(m.view.network(m.market).graph.predecessors("I1")) == ["B3", "B4"]


def test_posted_menu_price_rules():
    """p_R = E[v(1, ceil(n/k))]: 6 uniform buyers, 2 items -> E[max of 3] = 3/4 (Definition 7)."""
    m = MarketDashboard(protocol="posted-menu", bidders="uniform:0,1", buyers=6, intermediaries=2, items=2,
                        rule="intermediary-proof")
    assert m.market.protocol.menu.prices == pytest.approx((0.75, 0.75), abs=1e-12)
    # one buyer, one item: the seller's best price is the monopoly price 1/2
    m = MarketDashboard(protocol="posted-menu", bidders="uniform:0,1", buyers=1)
    assert m.market.protocol.menu.prices[0] == pytest.approx(0.5, abs=1e-8)
    m = MarketDashboard(protocol="posted-menu", bidders="uniform:0,1", rule="fixed-price", seller_price=0.3)
    assert m.market.protocol.menu.prices[0] == 0.3


def test_posted_menu_revenue_is_p_times_expected_min_of_demand_and_k():
    """Uniform values, surplus intermediaries: each buyer asks w.p. 1 - p, so D ~ Binomial(n, 1 - p)."""
    n, k, p = 9, 4, 0.6
    m = MarketDashboard(protocol="posted-menu", bidders="uniform:0,1", buyers=n, intermediaries=3, items=k,
                        rule="fixed-price", seller_price=p)
    d = np.arange(n + 1)
    expected = p * float(np.dot(stats.binom.pmf(d, n, 1 - p), np.minimum(d, k)))
    bands = m.view.reference(m.market).bands
    assert bands["seller_revenue"][0] == pytest.approx(expected, rel=1e-12)
    assert bands["seller_price"] == (p, p)


def test_monopolist_intermediary_utility_closed_form():
    """One uniform buyer, price p: served iff phi(v) = 2v - 1 >= p, so E[U] = int_t^1 (2v - 1 - p) dv = (1 - p)^2/4."""
    m = MarketDashboard(protocol="posted-menu", bidders="uniform:0,1", buyers=1, utility="monopolist",
                        rule="fixed-price", seller_price=0.2)
    bands = m.view.reference(m.market).bands
    assert bands["intermediary_0_utility"][0] == pytest.approx(0.8 ** 2 / 4, abs=1e-9)
    assert bands["seller_revenue"][0] == pytest.approx(0.2 * 0.4, abs=1e-12)  # p P[v >= (1 + p)/2]


@pytest.mark.parametrize("utility", ["surplus", "monopolist"])
def test_posted_menu_model_agrees_with_the_exact_values(utility):
    m = MarketDashboard(protocol="posted-menu", bidders="uniform:0,1", buyers=7, intermediaries=3, items=3,
                        utility=utility, rule="intermediary-proof", seed=11)
    means_within_monte_carlo(m, 3000)


def test_posted_menu_network_marks_every_buyer_served():
    m = MarketDashboard(protocol="posted-menu", bidders="uniform:0,1", buyers=8, intermediaries=2, items=3,
                        rule="fixed-price", seller_price=0.3, seed=3)
    m.step()
    net = m.view.network(m.market)
    served = {f"B{i}" for i, j in enumerate(m.market.last.items) if j >= 0}
    assert net.winners == served and 0 < len(served) <= 3
    assert net.caption == f"{len(served)} of 3 items sold"
    assert any(t.startswith("commit 3 at 0.3") for t in net.messages[("S", "I0")])
    assert any(t.startswith("ask") for t in net.messages[("I0", "S")])


# ---- veto bargaining -------------------------------------------------------------------------

EXAMPLE_1 = "uniform:0,2; uniform:0,3"  # selling-to-a-group, Example 1


def test_veto_reference_is_example_1():
    """Example 1: weights sqrt(3/7) and 1 - sqrt(3/7), profit about 0.39: the group report's solver-free optimum."""
    m = MarketDashboard(protocol="veto-bargaining", bidders=EXAMPLE_1, buyers=2)
    bands = m.view.reference(m.market).bands
    sol = solve_group(["uniform:0,2", "uniform:0,3"])
    assert bands["seller_profit"][0] == pytest.approx(sol.profit, abs=1e-6)
    assert bands["seller_profit"][0] == pytest.approx(pair_optimum(((0.0, 2.0), (0.0, 3.0)), 0.0)[1], abs=1e-9)
    assert m.market.seller.mechanism.weights[0] == pytest.approx(math.sqrt(3 / 7), abs=1e-4)
    assert bands["welfare"][0] == pytest.approx(bands["seller_profit"][0] + bands["member_0_utility"][0]
                                                + bands["member_1_utility"][0], abs=1e-12)


def test_veto_posted_price_closed_form():
    """Two uniform:0,1 members, unanimous price p: profit p (1 - p)^2, each member (1 - p)^2/2 (1 - p)."""
    p = 0.4
    m = MarketDashboard(protocol="veto-bargaining", bidders="uniform:0,1", buyers=2, rule="fixed-price",
                        seller_price=p)
    bands = m.view.reference(m.market).bands
    assert bands["seller_profit"][0] == pytest.approx(p * (1 - p) ** 2, abs=1e-12)
    assert bands["member_0_utility"][0] == pytest.approx((1 - p) ** 3 / 2, abs=1e-9)


@pytest.mark.parametrize("rule", ["best-response", "best-posted-price"])
def test_veto_model_agrees_with_the_exact_values(rule):
    m = MarketDashboard(protocol="veto-bargaining", bidders=EXAMPLE_1, buyers=2, rule=rule, seed=5)
    means_within_monte_carlo(m, 3000)


def test_veto_utilities_from_the_tables_are_adaptive_quadrature():
    """Members' exact utilities (Gauss-Legendre on the tabulation cells) against scipy's adaptive quadrature
    of theta X_i - M_i over each member's quantiles (tolerance 1e-10 relative, hence 1e-8 here)."""
    m = MarketDashboard(protocol="veto-bargaining", bidders="uniform:0,1; uniform:0,2; exponential:1", buyers=4)
    mech, bands = m.market.seller.mechanism, m.view.reference(m.market).bands
    for i, law in enumerate(mech.members):
        quad, _ = integrate.quad(lambda u: float(mech.interim_utility(i, law.ppf(np.array([u])))[0]),
                                 0.0, 1.0, limit=400, epsabs=1e-11, epsrel=1e-10)
        assert bands[f"member_{i}_utility"][0] == pytest.approx(quad, abs=1e-8)


def test_veto_six_members_agree_with_the_exact_values():
    m = MarketDashboard(protocol="veto-bargaining", bidders="uniform:0,1; uniform:0,2; exponential:1", buyers=6,
                        seed=7)
    assert list(m.view.reference(m.market).bands) == ["seller_profit", "welfare", "members_utility"]
    means_within_monte_carlo(m, 2000)


def test_veto_network_routes_votes_through_the_committee():
    m = MarketDashboard(protocol="veto-bargaining", bidders=EXAMPLE_1, buyers=2, seed=2)
    m.step()
    net = m.view.network(m.market)
    assert sorted(net.graph.nodes) == ["C", "M0", "M1", "S"]
    assert net.values == {"M0": m.market.last.types[0], "M1": m.market.last.types[1]}
    assert net.messages[("M0", "C")][0] in ("accept", "veto")
    assert net.messages[("S", "C")][0] == "proposal"
    assert net.winners == ({"M0", "M1"} if m.market.last.trade >= 1 else set())
    fig = series_figure(m.view, m.market)
    assert len(fig.axes) == 1  # no posted prices to plot


def test_network_figure_is_kept_and_recoloured_each_round():
    m = MarketDashboard(protocol="posted-menu", bidders="uniform:0,1", buyers=30, intermediaries=3, items=4,
                        seed=8)
    plot = NetworkPlot(m.view, m.market)
    for _ in range(2):
        m.step()
        fig = plot.update(m.view, m.market)
        assert fig is plot.figure
        np.testing.assert_allclose(plot.nodes.get_array(), m.market.last.values)
        ringed = [tuple(c) == to_rgba(WIN_COLOUR) for c in plot.nodes.get_edgecolors()]
        assert ringed == [j >= 0 for j in m.market.last.items]
    heavy = np.asarray(plot.lines.get_linewidths()) > 1.0
    assert heavy.sum() == sum(j >= 0 for j in m.market.last.items) + 3  # winners' edges and I -> S
