"""The q-learning experiment kind (experiments/markets/qlearning.py).

What must hold: the run's row equals a direct call of the library's sessions on the same seeds
(two code paths: the kind's per-session columns averaged, the library's means); the Nash and
joint-monopoly references are those of a brute-force search of the grid game written here from
the demand 1 - F(p_s + p_I)^n; with a strictly dominant price every session learns it and its
profit gain is 0 (closed form); serial and 2-worker runs write the same bytes; bad parameters are
refused in one line with exit 2 before anything is written; the memory the spec's steps (sessions)
are held to bounds what a run takes. With an impulse, the row's figures are those of the library's
mean paths on the same seeds, and of the learned greedy strategies followed by hand with profits
from the demand 1 - t^2; with a dominant price the deviation's profit is a closed form; impulse =
"none" leaves the row as it was.
"""

from __future__ import annotations

import math
import tracemalloc

import numpy as np
import pytest
from cli_run import run_cli
from kind_checks import assert_executors_and_resume_agree, assert_refused

from agora.experiments.limits import q_impulse_cost
from agora.experiments.markets import registry
from agora.market.learning.qlearning import CHUNK, _impulse, pricing_sessions, q_learning
from agora.market.single_item.simultaneous import PricingGame, grid_game

UNIFORMS = ["uniform:0,1", "uniform:0,1"]
FAST = {"alpha": 0.3, "beta": 2e-3, "periods": 6000, "window": 500}


def run(steps: int, seed: int = 0, **market):
    kind = registry()["q-learning"]
    out = kind.run(kind.validate(market, steps=steps), steps, np.random.default_rng(np.random.SeedSequence(seed)))
    assert all(len(col) == steps for col in out.steps.values())
    return out


def brute_force_references(points: int) -> tuple[float, float, set]:
    """Two U[0,1] bidders, prices on linspace(0, 1, points): a sale at total t has chance 1 - min(t, 1)^2;
    the Nash total profit (the largest among pure equilibria, each side's price a best reply on the
    grid), the joint-monopoly total profit, and the equilibria."""
    grid = np.linspace(0.0, 1.0, points)
    sale = lambda t: 1.0 - min(t, 1.0) ** 2  # noqa: E731
    pay = [[(a * sale(a + b), b * sale(a + b)) for b in grid] for a in grid]
    eqs = {(i, j) for i in range(points) for j in range(points)
           if pay[i][j][0] >= max(pay[k][j][0] for k in range(points)) * (1 - 1e-9)
           and pay[i][j][1] >= max(pay[i][k][1] for k in range(points)) * (1 - 1e-9) and sum(pay[i][j]) > 0}
    nash = max(sum(pay[i][j]) for i, j in eqs)
    return nash, max(t * sale(t) for t in grid), eqs


def test_run_row_is_a_direct_pricing_sessions_call_and_the_references_are_brute_forces():
    out = run(6, seed=11, bidders=UNIFORMS, points=11, delta=0.9, **FAST)
    row = out.run
    lib = pricing_sessions(UNIFORMS, 11, np.random.SeedSequence(11).spawn(6), delta=0.9, **FAST)
    for q in ("seller_price", "intermediary_price", "seller_profit", "intermediary_profit", "profit_gain",
              "converged"):
        assert row[q] == pytest.approx(lib[q], rel=1e-12, abs=1e-15), q
    nash, monopoly, eqs = brute_force_references(11)
    assert (row["profit_nash"], row["profit_monopoly"]) == (lib["nash_profit"], lib["monopoly_profit"])
    assert row["profit_nash"] == pytest.approx(nash, rel=1e-12) and nash == pytest.approx(0.7 * 0.51, rel=1e-12)
    assert row["profit_monopoly"] == pytest.approx(monopoly, rel=1e-12) and monopoly == pytest.approx(0.6 * 0.64)
    assert row["grid_equilibria"] == len(eqs)
    total = out.steps["seller_profit"] + out.steps["intermediary_profit"]
    assert out.steps["profit_gain"] == pytest.approx((total - nash) / (monopoly - nash), abs=1e-9)
    assert set(np.unique(out.steps["seller_price"])) <= set(np.linspace(0, 1, 11))


def test_a_strictly_dominant_price_is_learned_by_every_session():
    """exponential:1 on 8 prices up to u = ln 1e9, step h = u / 7: h is strictly dominant for each side
    (tests/test_cli_qlearning.py derives it), so every session converges to (h, h), profit h e^(-2h) each,
    Delta = 0; Nash total 2 h e^(-2h), joint monopoly h e^(-h)."""
    out = run(4, seed=3, bidders="exponential:1", points=8, alpha=0.3, beta=2e-3, delta=0.0, periods=20000,
              window=1000)
    h = math.log(1e9) / 7
    assert np.all(out.steps["converged"] == 1.0)
    assert out.steps["seller_price"] == pytest.approx([h] * 4, rel=1e-9)
    assert out.steps["intermediary_price"] == pytest.approx([h] * 4, rel=1e-9)
    assert out.steps["seller_profit"] == pytest.approx([h * math.exp(-2 * h)] * 4, rel=1e-9)
    assert np.abs(out.steps["profit_gain"]).max() < 1e-9
    assert out.run["profit_nash"] == pytest.approx(2 * h * math.exp(-2 * h), rel=1e-9)
    assert out.run["profit_monopoly"] == pytest.approx(h * math.exp(-h), rel=1e-9)
    assert np.all(out.steps["periods"] < 20000)


SPEC = """
name = "q-executors"
steps = 3
[seeds]
count = 2
base = 5
[market]
protocol = "q-learning"
bidders = ["uniform:0,1", "uniform:0,2"]
points = 7
beta = 2e-3
periods = 6000
window = 500
[sweep.grid]
"market.alpha" = [0.1, 0.3]
"""


def test_serial_and_two_workers_write_identical_tables(tmp_path):
    assert_executors_and_resume_agree(SPEC, tmp_path, 4)


BAD = [
    ("alpha = 0", "market.alpha = 0: not in (0, 1]; accepted: the learning rate"),
    ("alpha = 1.5", "market.alpha = 1.5: not in (0, 1]"),
    ("beta = 0", "market.beta = 0: not > 0"),
    ("delta = 1", "market.delta = 1: not in [0, 1)"),
    ("memory = 0", "market.memory = 0: less than 1"),
    ("points = 1", "market.points = 1: less than 2"),
    ("periods = 100\nwindow = 200", "market.window = 200: more than periods = 100"),
    ('bidders = "point:1"', "pure equilibrium at the joint-monopoly profit"),
    ('bidders = "normal:0,1"', 'market.bidders = "normal:0,1"'),
    ("periods = 1000000000000", "market.periods = 1000000000000 would need about"),
    ("memory = 9", "market.memory = 9 would need about"),
    ("sessions = 3", "market.sessions = 3: unknown key"),
    ('impulse = "up"', 'market.impulse = "up": not one of the choices; accepted: "none", or a one-period'),
    ('deviator = "buyer"', 'market.deviator = "buyer": not one of the choices; accepted: whose price'),
    ("impulse_periods = 0", "market.impulse_periods = 0: less than 1"),
    ("impulse_periods = 2.5", "market.impulse_periods = 2.5: not a whole number"),
    ('impulse = "step"\nimpulse_periods = 100000000000', "market.impulse_periods = 100000000000 would need about"),
]


@pytest.mark.parametrize("line,says", BAD, ids=[b[0].split(" =")[0] + str(i) for i, b in enumerate(BAD)])
def test_bad_parameters_are_one_line_exit_2_nothing_written(capsys, tmp_path, line, says):
    assert_refused(capsys, tmp_path, "q-learning", {"bidders": 'bidders = "uniform:0,1"'}, line, says, steps=2)


def test_too_many_sessions_are_refused_on_the_specs_steps(capsys, tmp_path):
    path = tmp_path / "big.toml"
    path.write_text('name = "big"\nsteps = 100000000\n[seeds]\ncount = 1\nbase = 1\n[market]\n'
                    'protocol = "q-learning"\nbidders = "uniform:0,1"\npoints = 41\nmemory = 2\n')
    code, stdout, stderr = run_cli(capsys, "run", str(path), "--out", str(tmp_path / "r"), "--executor", "serial")
    assert (code, stdout) == (2, "") and stderr.count("\n") == 1, stderr
    assert "steps (sessions) = 100000000 would need about" in stderr, stderr


@pytest.mark.parametrize("points,memory,sessions", [(21, 1, 64), (7, 2, 64), (41, 1, 32), (11, 1, 1)])
def test_the_sessions_estimate_bounds_a_measured_run(points, memory, sessions):
    """tracemalloc's peak over a run of one full chunk of periods (numba compiled beforehand) is below
    the estimate the spec's steps are held to, and above half of it."""
    kind = registry()["q-learning"]
    params = kind.validate({"bidders": "uniform:0,1", "points": points, "memory": memory, "beta": 1e-3,
                            "periods": CHUNK, "window": CHUNK}, steps=sessions)
    kind.run(params, 1, np.random.default_rng(0))
    tracemalloc.start()
    try:
        kind.run(params, sessions, np.random.default_rng(1))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    (steps,) = [s for s in kind.sizes(params, sessions) if s.key == "steps"]
    estimate = steps.cost.estimate(sessions)[0]
    assert 0.5 * estimate <= peak <= estimate, (peak, estimate)


IMPULSE_KEYS = ("impulse_sessions_cut", "impulse_deviator_price", "impulse_deviator_profit", "impulse_deviation_gain",
                "impulse_punishment", "impulse_return_period")
ROW_KEYS = {"steps", "seller_price", "intermediary_price", "seller_profit", "intermediary_profit", "profit_gain",
            "converged", "periods", "profit_nash", "profit_monopoly", "nash_seller_price",
            "nash_intermediary_price", "grid_equilibria"}


def summary_by_loops(seller, intermediary, seller_profit, intermediary_profit, uncut_seller, uncut_intermediary,
                     uncut_seller_profit, uncut_intermediary_profit, deviator: str, tol: float) -> dict:
    """The row's impulse figures from mean paths (period 0 before the cut, 1 the cut), one period at a time:
    the deviator's period-1 price, profit and its gain over the uncut period 1; the other side's largest
    fall below its uncut price from period 2 on (0 if none); the period after the last one in which
    either price is more than tol off its uncut path (NaN if that is the last period)."""
    price = {"seller": (seller, uncut_seller), "intermediary": (intermediary, uncut_intermediary)}
    profit = {"seller": (seller_profit, uncut_seller_profit), "intermediary": (intermediary_profit,
                                                                              uncut_intermediary_profit)}
    other = "intermediary" if deviator == "seller" else "seller"
    depth = 0.0
    for t in range(2, len(seller)):
        depth = max(depth, price[other][1][t] - price[other][0][t])
    last_off = -1
    for t in range(len(seller)):
        if abs(seller[t] - uncut_seller[t]) > tol or abs(intermediary[t] - uncut_intermediary[t]) > tol:
            last_off = t
    return {"impulse_deviator_price": price[deviator][0][1], "impulse_deviator_profit": profit[deviator][0][1],
            "impulse_deviation_gain": profit[deviator][0][1] - profit[deviator][1][1],
            "impulse_punishment": depth if len(seller) > 2 else math.nan,
            "impulse_return_period": last_off + 1.0 if last_off + 1 < len(seller) else math.nan}


def test_impulse_row_is_the_librarys_mean_paths_on_the_same_seeds():
    """Two code paths: the kind's row against pricing_sessions called directly on the run's seeds, its
    paths summarised here period by period (on these seeds prices are back on the uncut path from period
    3); the cut does not touch learning, so every other figure of the row is that of the run without an
    impulse."""
    market = dict(bidders=UNIFORMS, points=11, delta=0.9, **FAST)
    out = run(6, seed=9, impulse="lowest", deviator="intermediary", impulse_periods=6, **market)
    lib = pricing_sessions(UNIFORMS, 11, np.random.SeedSequence(9).spawn(6), delta=0.9, impulse="lowest",
                           deviator="intermediary", impulse_periods=6, **FAST)["impulse"]
    assert len(lib["seller_price"]) == 7
    expected = summary_by_loops(*(lib[k] for k in (
        "seller_price", "intermediary_price", "seller_profit", "intermediary_profit", "uncut_seller_price",
        "uncut_intermediary_price", "uncut_seller_profit", "uncut_intermediary_profit")), "intermediary", 1e-9)
    assert out.run["impulse_sessions_cut"] == lib["sessions_cut"]
    assert out.run["impulse_deviator_price"] == 0.0  # the lowest price on linspace(0, 1, 11)
    assert expected["impulse_return_period"] == 3.0
    for key, value in expected.items():
        assert out.run[key] == pytest.approx(value, rel=1e-12, abs=1e-15, nan_ok=True), key
    plain = run(6, seed=9, **market)
    assert set(out.run) == ROW_KEYS | set(IMPULSE_KEYS)
    assert {k: out.run[k] for k in ROW_KEYS} == plain.run
    assert all(np.array_equal(out.steps[q], plain.steps[q]) for q in plain.steps)


def greedy_walk(row_q, col_q, state: int, deviator: int | None, periods: int) -> list[tuple[int, int]]:
    """One session's joint actions, periods 0..periods, each side playing the argmax of its Q-row in the
    state (memory 1: the last joint action, 11 x 11 of them), with the deviator's action one below its
    greedy one (not below 0) in period 1."""
    path = []
    for t in range(periods + 1):
        a, b = int(np.argmax(row_q[state])), int(np.argmax(col_q[state]))
        if t == 1 and deviator == 0:
            a = max(a - 1, 0)
        if t == 1 and deviator == 1:
            b = max(b - 1, 0)
        path.append((a, b))
        state = a * 11 + b
    return path


def test_impulse_figures_are_the_greedy_strategies_followed_by_hand():
    """Independently of the library's impulse code: each session's Q-tables and opening state (q_learning
    on the run's seeds) followed greedily by hand, with and without the seller's one-step cut, profits
    p (1 - min(p + q, 1)^2) of two U[0,1] bidders on linspace(0, 1, 11) (written here), averaged. On these
    seeds the intermediary answers the cut by falling 1/60 below its uncut mean price (one session a step
    of 0.1) and both prices are back on the uncut path from period 4. Each session's own figures, from its
    own paths the same way, are the steps table's."""
    out = run(6, seed=0, bidders=UNIFORMS, points=11, delta=0.9, impulse="step", impulse_periods=8, **FAST)
    _, A, B = grid_game(PricingGame(UNIFORMS), 11)
    res = q_learning(A, B, np.random.SeedSequence(0).spawn(6), delta=0.9, **FAST)
    grid = np.linspace(0.0, 1.0, 11)
    sale = lambda t: 1.0 - min(t, 1.0) ** 2  # noqa: E731
    paths, each = {}, {}
    for name, deviator in (("cut", 0), ("uncut", None)):
        walks = [greedy_walk(res.row_q[k], res.col_q[k], int(res.cycle_state[k]), deviator, 8) for k in range(6)]
        prices = np.array([[(grid[a], grid[b]) for a, b in w] for w in walks])  # session, period, side
        profits = np.array([[(p * sale(p + q), q * sale(p + q)) for p, q in s] for s in prices])
        paths[name] = prices.mean(axis=0).T, profits.mean(axis=0).T
        each[name] = prices, profits
    paths_of = [(*each["cut"][0][k].T, *each["cut"][1][k].T, *each["uncut"][0][k].T, *each["uncut"][1][k].T)
                for k in range(6)]
    (cut_price, cut_profit), (uncut_price, uncut_profit) = paths["cut"], paths["uncut"]
    expected = summary_by_loops(*cut_price, *cut_profit, *uncut_price, *uncut_profit, "seller", 1e-9)
    assert out.run["impulse_sessions_cut"] == int(np.sum(grid[res.row_action] > 0))
    for key, value in expected.items():
        assert out.run[key] == pytest.approx(value, rel=1e-9, abs=1e-9, nan_ok=True), key
    assert (expected["impulse_punishment"], expected["impulse_return_period"]) == (pytest.approx(1 / 60), 4.0)
    for k in range(6):  # each session's own figures, in the steps table
        own = summary_by_loops(*paths_of[k], "seller", 1e-9)
        assert out.steps["impulse_cut"][k] == float(grid[res.row_action[k]] > 0)
        for key, value in own.items():
            assert out.steps[key][k] == pytest.approx(value, rel=1e-9, abs=1e-9, nan_ok=True), (k, key)
    own = [summary_by_loops(*paths_of[k], "seller", 1e-9) for k in range(6)]
    assert max(o["impulse_punishment"] for o in own) == pytest.approx(0.1)  # a whole step, not the mean's 1/60
    assert sum(math.isnan(o["impulse_return_period"]) for o in own) == 2  # not back within 8 periods


@pytest.mark.parametrize("deviator,cut", [("seller", "step"), ("intermediary", "lowest")])
def test_a_cut_from_the_dominant_price_earns_nothing_and_loses_the_nash_profit(deviator, cut):
    """exponential:1 on 8 prices, step h = ln(1e9) / 7: every session converges to the strictly dominant
    (h, h) (test_a_strictly_dominant_price_is_learned_by_every_session), a 1-cycle of profit h e^(-2h)
    each. One step below h, and the lowest price, is 0: the deviator's period-1 price and profit are 0,
    its gain over the uncut period is -h e^(-2h), and every session's price was cut."""
    out = run(4, seed=3, bidders="exponential:1", points=8, alpha=0.3, beta=2e-3, delta=0.0, periods=20000,
              window=1000, impulse=cut, deviator=deviator)
    h = math.log(1e9) / 7
    assert out.steps["seller_price"] == pytest.approx([h] * 4, rel=1e-9)
    assert out.steps["intermediary_price"] == pytest.approx([h] * 4, rel=1e-9)
    assert out.run["impulse_sessions_cut"] == 4
    assert out.run["impulse_deviator_price"] == 0.0 and out.run["impulse_deviator_profit"] == 0.0
    assert out.run["impulse_deviation_gain"] == pytest.approx(-h * math.exp(-2 * h), rel=1e-9)


def test_impulse_none_leaves_the_row_as_it_was():
    """impulse = "none" (the default), whatever deviator and impulse_periods say: the row has exactly the
    keys it had before impulses (ROW_KEYS), with the same values and steps as a run that names none."""
    market = dict(bidders=UNIFORMS, points=7, **FAST)
    named = run(3, seed=2, impulse="none", deviator="intermediary", impulse_periods=4, **market)
    plain = run(3, seed=2, **market)
    assert set(plain.run) == ROW_KEYS
    assert named.run == plain.run
    assert all(np.array_equal(named.steps[q], plain.steps[q]) for q in plain.steps)


@pytest.mark.parametrize("sessions,points,kept", [(2, 11, False), (64, 15, False), (64, 15, True)])
def test_the_impulse_estimate_bounds_a_measured_response(sessions, points, kept):
    """tracemalloc's peak over the impulse responses of 3000 periods (both paths and the mean paths, and
    with ``kept`` every session's paths) is below the estimate impulse_periods is held to, and above half
    of it."""
    _, A, B = grid_game(PricingGame(UNIFORMS), points)
    res = q_learning(A, B, np.random.SeedSequence(1).spawn(sessions), alpha=0.3, beta=2e-2, periods=200, window=100)
    grid = np.linspace(0.0, 1.0, points)
    tracemalloc.start()
    try:
        _impulse(grid, A, B, res, 0, "step", 3000, kept)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    estimate = q_impulse_cost(sessions, points, kept).estimate(3000)[0]
    assert 0.5 * estimate <= peak <= estimate, (peak, estimate)
