"""``agora solve q-learning``: the command prints what the library computes, learns a strictly
dominant price, and refuses bad input in one line before any work."""

import json
import math
import re

import pytest

from agora.experiments.output import dumps
from agora.market.learning.qlearning import pricing_sessions, session_seeds
from tests.cli_run import run_cli

UNIFORMS = ["--bidder", "uniform:0,1", "--bidder", "uniform:0,2"]
FAST = ["--alpha", "0.3", "--beta", "2e-3", "--periods", "6000", "--window", "500"]


def test_json_is_the_library_result_on_the_same_seed(capsys):
    """The command (parser, size checks, progress bar) and a direct library call give one result."""
    code, out, err = run_cli(capsys, "solve", "q-learning", *UNIFORMS, "--grid", "7", "--sessions", "3",
                             *FAST, "--delta", "0.5", "--seed", "5", "--impulse", "lowest",
                             "--deviator", "intermediary", "--impulse-periods", "6", "--json")
    assert code == 0, err
    d = json.loads(out)
    assert d.pop("seed") == 5
    lib = pricing_sessions(["uniform:0,1", "uniform:0,2"], 7, session_seeds(5, 3), alpha=0.3, beta=2e-3,
                           delta=0.5, periods=6000, window=500, impulse="lowest", deviator="intermediary",
                           impulse_periods=6)
    assert d == json.loads(dumps(lib))
    assert len(d["impulse"]["intermediary_price"]) == 7 and d["impulse"]["intermediary_price"][1] == 0.0


def test_default_horizon_lets_the_standard_learners_converge(capsys):
    """With the default parameters (Calvano et al.'s alpha 0.15, beta 4e-6, window 100,000) on one
    uniform:0,1 bidder, a session's exploration exp(-beta t) is still 2% at t = 10^6, so the greedy
    strategies rarely stay put for 100,000 periods before about 2 million; the default horizon
    (10^7, a session stopping once converged) must let every session converge (a horizon of 10^6
    converged none of these three)."""
    code, out, err = run_cli(capsys, "solve", "q-learning", "--bidder", "uniform:0,1", "--sessions", "3",
                             "--json")
    assert code == 0, err
    d = json.loads(out)
    assert d["parameters"]["periods"] == 10_000_000 and d["converged"] == 1.0


def test_strictly_dominant_price_is_learned(capsys):
    """exponential:1 on 8 prices over [0, u], u = ln 1e9 (where a sale has chance 1e-9), step h = u / 7:
    a side's payoff p e^(-p) e^(-p_other) is maximized at p = h whatever the other posts (h > ln 2,
    so h e^-h > 2h e^-2h), a strictly dominant price; both learn it, so the learned profit is the
    Nash profit h e^(-2h) each and Delta = 0; the joint optimum is a total of h, profit h e^(-h).
    After a one-step cut the seller returns to h at once and the intermediary never moves: profits
    h e^(-2h) each but in period 1, where the seller's (price 0) is 0 and the intermediary's h e^(-h)."""
    code, out, err = run_cli(capsys, "solve", "q-learning", "--bidder", "exponential:1", "--grid", "8",
                             "--sessions", "4", "--alpha", "0.3", "--beta", "2e-3", "--delta", "0",
                             "--periods", "20000", "--window", "1000", "--impulse", "step", "--json")
    assert code == 0, err
    d = json.loads(out)
    h = math.log(1e9) / 7
    assert d["converged"] == 1.0
    assert d["seller_price"] == pytest.approx(h, rel=1e-9) and d["intermediary_price"] == pytest.approx(h, rel=1e-9)
    assert d["seller_profit"] == pytest.approx(h * math.exp(-2 * h), rel=1e-9)
    assert d["nash"]["grid_equilibria"] == 1 and d["nash"]["seller_price"] == pytest.approx(h, rel=1e-9)
    assert d["nash_profit"] == pytest.approx(2 * h * math.exp(-2 * h), rel=1e-9)
    assert d["monopoly_profit"] == pytest.approx(h * math.exp(-h), rel=1e-9)
    assert abs(d["profit_gain"]) < 1e-12
    path = d["impulse"]
    assert path["sessions_cut"] == 4
    assert path["seller_price"] == pytest.approx([h, 0.0] + [h] * 9, rel=1e-9)
    assert path["intermediary_price"] == pytest.approx([h] * 11, rel=1e-9)
    assert path["uncut_seller_price"] == pytest.approx([h] * 11, rel=1e-9)
    nash, cut = h * math.exp(-2 * h), h * math.exp(-h)  # at (h, h); the intermediary's at (0, h)
    assert path["seller_profit"] == pytest.approx([nash, 0.0] + [nash] * 9, rel=1e-9, abs=1e-15)
    assert path["intermediary_profit"] == pytest.approx([nash, cut] + [nash] * 9, rel=1e-9)
    assert path["uncut_seller_profit"] == pytest.approx([nash] * 11, rel=1e-9)
    assert path["uncut_intermediary_profit"] == pytest.approx([nash] * 11, rel=1e-9)


def test_table_output(capsys):
    code, out, _ = run_cli(capsys, "solve", "q-learning", *UNIFORMS, "--grid", "7", "--sessions", "2", *FAST,
                           "--impulse", "step")
    assert code == 0
    assert "profit gain Delta" in out and "Nash (1 of 3 on the grid)" in out and "impulse:" in out
    assert "method:" in out


BAD = [
    (["--alpha", "0"], "alpha"), (["--alpha", "1.5"], "alpha"), (["--alpha", "nan"], "alpha"),
    (["--alpha", "x"], "--alpha"), (["--beta", "0"], "beta"), (["--beta", "inf"], "beta"),
    (["--delta", "1"], "delta"), (["--delta=-0.1"], "delta"), (["--sessions", "0"], "--sessions"),
    (["--memory", "0"], "--memory"), (["--grid", "1"], "--grid"), (["--periods", "10", "--window", "20"], "window"),
    (["--impulse", "up"], "--impulse"), (["--deviator", "buyer"], "--deviator"),
]


@pytest.mark.parametrize("argv, named", BAD)
def test_bad_input_one_line_exit_2(capsys, argv, named):
    code, out, err = run_cli(capsys, "solve", "q-learning", *UNIFORMS, *argv)
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1, err
    assert named in err


def test_no_profit_gain_where_a_pure_equilibrium_is_the_joint_optimum(capsys):
    """point:1 (Theorem 5.1): every grid split of p_s + p_I = 1 is an equilibrium earning the whole
    value, which is also the integrated monopolist's profit: refused before learning."""
    code, out, err = run_cli(capsys, "solve", "q-learning", "--bidder", "point:1", "--grid", "5")
    assert code == 2 and out == "" and "joint-monopoly profit 1" in err and len(err.splitlines()) == 1


@pytest.mark.parametrize("argv, option", [
    (["--memory", "40"], "--memory"), (["--grid", "15", "--memory", "3", "--sessions", "100"], "--sessions"),
    (["--periods", "1000000000000"], "--periods"), (["--grid", "1000000000"], "--grid"),
    (["--impulse", "step", "--impulse-periods", "100000000000"], "--impulse-periods")])
def test_huge_sizes_refused_with_the_largest_that_fits(capsys, argv, option):
    """--memory 3 on 15 prices: two float64 tables of 15^6 x 15 entries, 2.7 GB a session."""
    code, out, err = run_cli(capsys, "solve", "q-learning", *UNIFORMS, *argv,
                             "--max-memory", "4GB", "--max-seconds", "3600")
    assert code == 2 and out == "" and len(err.splitlines()) == 1, err
    assert re.search(rf"{option} = \d+ would need about .* the largest that fits .* is \d+", err), err
