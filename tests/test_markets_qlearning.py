"""The q-learning experiment kind (experiments/markets/qlearning.py).

What must hold: the run's row equals a direct call of the library's sessions on the same seeds
(two code paths: the kind's per-session columns averaged, the library's means); the Nash and
joint-monopoly references are those of a brute-force search of the grid game written here from
the demand 1 - F(p_s + p_I)^n; with a strictly dominant price every session learns it and its
profit gain is 0 (closed form); serial and 2-worker runs write the same bytes; bad parameters are
refused in one line with exit 2 before anything is written; the memory the spec's steps (sessions)
are held to bounds what a run takes.
"""

from __future__ import annotations

import math
import tracemalloc

import numpy as np
import pytest
from cli_run import run_cli
from kind_checks import assert_executors_and_resume_agree, assert_refused

from agora.experiments.markets import registry
from agora.market.learning.qlearning import CHUNK, pricing_sessions

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
