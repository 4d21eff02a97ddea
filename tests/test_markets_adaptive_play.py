"""The adaptive-play experiment kind (experiments/markets/adaptive_play.py).

What must hold: on the constant-value game of Theorem 5.1 (11 prices, memory 2 max(s)) the row's stable
split is Young's (JET 1993): the equal split for s = 30 on both sides, and within one grid step of the
asymmetric Nash bargaining split s_S / (s_S + s_I) when the samples differ, the larger sample taking more;
in the stag hunt the risk-dominant convention is the stable one (Kandori-Mailath-Rob, Young) and the
simulated play spends most periods there; on a small game the row's exact masses are the stationary
distribution of the perturbed chain found here by a dense linear solve, and its simulated shares lie within
the chain's sampling error of them; serial and 2-worker runs write the same bytes; bad parameters are
refused in one line with exit 2 before anything is written.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from kind_checks import assert_executors_and_resume_agree, assert_refused
from test_adaptive_paths import Z_BOUND

from agora.experiments.markets import registry
from agora.market.learning.adaptive_play import AdaptivePlay
from agora.market.learning.stochastic_stability import asymptotic_sd
from agora.market.single_item.simultaneous import PricingGame, grid_game

STAG = {"game": "matrix", "row_payoffs": [[4, 0], [3, 2]], "column_payoffs": [[4, 3], [0, 2]]}


def run(steps: int, seed: int = 0, **market):
    kind = registry()["adaptive-play"]
    out = kind.run(kind.validate(market, steps=steps), steps, np.random.default_rng(np.random.SeedSequence(seed)))
    assert all(len(col) == steps for col in out.steps.values())
    return out


@pytest.mark.parametrize("s_seller,expected", [(30, 0.5), (45, 0.6), (60, 2 / 3), (90, 0.75)])
def test_stable_split_is_youngs_asymmetric_nash_bargaining_split(s_seller, expected):
    """Young (1993, JET): the stable share of the seller tends to s_S / (s_S + s_I) as the grid refines;
    on 11 prices within one step (0.1) of it, exactly the equal split with equal samples."""
    row = run(20, points=11, memory=2 * s_seller, sample_row=s_seller, sample_column=30).run
    prices = json.loads(row["stable_prices"])
    assert not row["exact_chain"] and len(prices) == 1
    (seller, intermediary), = prices
    assert seller + intermediary == pytest.approx(1.0, abs=1e-12)
    assert abs(seller - expected) <= 0.1 + 1e-12
    if s_seller == 30:
        assert seller == pytest.approx(0.5, abs=1e-12) and json.loads(row["stable"]) == [[5, 5]]
    else:
        assert seller > 0.5  # the side with the larger sample gains


def test_posted_fees_with_a_constant_value_select_the_equal_split():
    """4 buyers of value 1, 2 items: E[min(D, 2)] = 2 while p_s + f <= 1, so the posted-fees game is the Nash
    demand game of Theorem 5.1 with payoffs doubled, whose stable split (Young 1993, s = 30 each) is the
    equal one; with the seller's sample 60 the seller gains, within a step of 60 / 90."""
    row = run(20, game="posted-fees", distribution="point:1", buyers=4, items=2, points=11, memory=60,
              sample_row=30, sample_column=30).run
    assert json.loads(row["stable_prices"]) == [[0.5, 0.5]]
    row = run(20, game="posted-fees", distribution="point:1", buyers=4, items=2, points=11, memory=120,
              sample_row=60, sample_column=30).run
    (seller, _), = json.loads(row["stable_prices"])
    assert abs(seller - 2 / 3) <= 0.1 + 1e-12 and seller > 0.5


def test_stag_hunt_risk_dominant_convention_is_stable_and_visited_most():
    """(1, 1) risk-dominates (0, 0) (3 + 2 > 4 + 0); with samples of 6 from a memory of 12 (4^12 histories:
    the tip reduction) it is left after ceil(2 x 6 / 3) = 4 mistakes, (0, 0) after ceil(6 / 3) = 2, so its
    potential is 2 and play started at (0, 0) spends most of its time at (1, 1)."""
    out = run(20_000, seed=5, **STAG, memory=12, sample_row=6, sample_column=6)
    row, steps = out.run, out.steps
    assert not row["exact_chain"] and json.loads(row["stable"]) == [[1, 1]] and row["potential"] == 2.0
    assert (row["modal_row_action"], row["modal_column_action"]) == (1, 1)
    at_start = np.mean(steps["at_convention"] & (steps["row_action"] == 0) & (steps["column_action"] == 0))
    assert row["stable_share_simulated"] == row["modal_share_simulated"] > 0.3 > 0.1 > at_start


def test_exact_masses_are_the_chains_stationary_law_and_the_shares_lie_within_sampling_error():
    market = {"points": 5, "memory": 2, "sample_row": 1, "sample_column": 2, "eps_row": 0.1, "eps_column": 0.05}
    steps = 20_000
    out = run(steps, seed=2, **market)
    row = out.run
    A, B = grid_game(PricingGame(["point:1"]), 5)[1:]
    play = AdaptivePlay(A, B, 2, (1, 2))
    p = play.chain((0.1, 0.05)).toarray()
    n = play.states
    pi = np.linalg.solve((np.eye(n) - p + np.ones((n, n))).T, np.ones(n))  # pi (I - P + 1 1') = 1'

    conventions = [play.convention(i, 4 - i) for i in (1, 2, 3)]  # the strict splits of 1 on 5 prices
    stable = [play.convention(a, b) for a, b in json.loads(row["stable"])]
    for sim, exact, states in (("stable_share_simulated", "stable_share_exact", stable),
                               ("convention_share_simulated", "convention_share_exact", conventions)):
        assert row[exact] == pytest.approx(pi[states].sum(), rel=1e-9)
        f = np.isin(np.arange(play.states), states).astype(float)
        assert abs(row[sim] - row[exact]) <= Z_BOUND * asymptotic_sd(p, pi, f) / np.sqrt(steps)
    modal = play.convention(row["modal_row_action"], row["modal_column_action"])
    assert row["modal_share_exact"] == pytest.approx(pi[modal], rel=1e-9)
    steps_at = out.steps["at_convention"] & (out.steps["row_action"] == row["modal_row_action"]) \
        & (out.steps["column_action"] == row["modal_column_action"])
    assert row["modal_share_simulated"] == pytest.approx(steps_at.mean(), abs=1e-15)


SPEC = """name = "adaptive"
steps = 1000
[seeds]
count = 2
base = 17
[market]
protocol = "adaptive-play"
points = 5
memory = 2
sample_row = 1
sample_column = 1
[sweep.grid]
"market.eps_row" = [0.05, 0.2]
"""


def test_serial_and_two_workers_write_the_same_bytes_and_a_resume_finishes_them(tmp_path):
    assert_executors_and_resume_agree(SPEC, tmp_path, 4, lost=(1,))


BAD = [
    ("sample_row = 5", "market.sample_row = 5: more than memory = 4"),
    ("eps_row = 0", "market.eps_row = 0: not in (0, 1]"),
    ("eps_column = 1.5", "market.eps_column = 1.5: not in (0, 1]"),
    ('game = "matrix"', "market.row_payoffs = null: game = \"matrix\" needs row_payoffs, column_payoffs"),
    ('game = "posted-fees"', "market.distribution = null: game = \"posted-fees\" needs distribution, buyers, items"),
    ("buyers = 3", "market.buyers = 3: a key of game = \"posted-fees\", not of \"pricing\""),
    ("row_payoffs = [[1, 2], [3]]", "market.row_payoffs = [[1, 2], [3]]: rows of different lengths"),
    ("row_payoffs = [[1, 0], [0, 1]]", "a key of game = \"matrix\", not of \"pricing\""),
    ("start_column = 11", "market.start_column = 11: an action index must be below 11"),
    ("memory = 3", "market.memory = 3: below 2 x the larger sample (4)"),
    ("points = 1", "market.points = 1: less than 2"),
]


@pytest.mark.parametrize("line,says", BAD)
def test_bad_values_are_refused_in_one_line(capsys, tmp_path, line, says):
    market = {"memory": "memory = 4", "sample_row": "sample_row = 2"}
    assert_refused(capsys, tmp_path, "adaptive-play", market, line, says)


def test_a_matrix_game_without_a_strict_equilibrium_is_refused_off_the_exact_chain(capsys, tmp_path):
    market = {"game": 'game = "matrix"', "row_payoffs": "row_payoffs = [[1, 0], [0, 1]]",
              "column_payoffs": "column_payoffs = [[0, 1], [1, 0]]", "memory": "memory = 20",
              "sample_row": "sample_row = 10"}
    assert_refused(capsys, tmp_path, "adaptive-play", market, "sample_column = 10", "no strict pure equilibrium")


@pytest.mark.parametrize("line,says", [("memory = 1000000000", "market.memory = 1000000000 would need about"),
                                       ("points = 100000", "market.points = 100000 would need about")])
def test_runs_too_large_are_refused_before_they_start(capsys, tmp_path, line, says):
    market = {"memory": "memory = 60", "sample_row": "sample_row = 30", "sample_column": "sample_column = 30"}
    assert_refused(capsys, tmp_path, "adaptive-play", market, line, says)


def test_too_many_periods_are_refused_on_the_specs_steps(capsys, tmp_path):
    assert_refused(capsys, tmp_path, "adaptive-play", {}, "memory = 4", "steps = 10000000000 would need about",
                   steps=10 ** 10)


def test_the_steps_estimate_bounds_a_measured_run():
    """tracemalloc's peak over a 20000-period run and its steps table is below the steps' estimate, and above
    a fifth of it (the block of draws is counted whole)."""
    import tracemalloc

    import pandas as pd

    kind = registry()["adaptive-play"]
    params = kind.validate({"points": 3, "memory": 1, "sample_row": 1, "sample_column": 1}, steps=20_000)
    kind.run(params, 10, np.random.default_rng(0))
    tracemalloc.start()
    try:
        out = kind.run(params, 20_000, np.random.default_rng(0))
        pd.DataFrame({"step": range(20_000), **out.steps})
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    (steps,) = [s for s in kind.sizes(params, 20_000) if s.key == "steps"]
    estimate = steps.cost.estimate(20_000)[0]
    assert 0.2 * estimate <= peak <= estimate, (peak, estimate)
