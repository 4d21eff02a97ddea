"""The veto-bargaining experiment kind (experiments/markets/group.py).

What must hold: the run row's exact values are the paper's (Proposition 2's posted price and its
members' utilities in closed form for uniform members; Theorem 1's profit, min over the simplex of
E[(omega . phi - c)+], by scipy's double quadrature and a scalar minimizer); simulated means (the
Mesa committee and the vectorized draws) lie within 4 standard errors of the exact ones; serial
and 2-worker runs write the same bytes; bad parameters are refused in one line with exit 2 before
anything is written.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from kind_checks import assert_executors_and_resume_agree, assert_refused
from scipy import integrate, optimize

from agora.experiments.markets import registry

SIGMAS = 4.0
A, B = 2.0, 3.0  # members' types uniform on [0, A] and [0, B]
MEMBERS = [f"uniform:0,{A:g}", f"uniform:0,{B:g}"]
QUANTITIES = ("seller_profit", "trade", "seller_revenue", "utility_0", "utility_1")


def run(steps: int, seed: int = 0, **market):
    kind = registry()["veto-bargaining"]
    out = kind.run(kind.validate({"members": MEMBERS, **market}), steps, np.random.default_rng(seed))
    assert all(len(col) == steps for col in out.steps.values())
    return out


def posted_at(p: float, cost: float) -> dict:
    """A unanimous price p for two uniform members: trade (1 - p/A)(1 - p/B), profit (p - c) times it;
    member 0 gets E[(theta_0 - p)+] P[theta_1 >= p] = (A - p)^2 / (2A) (1 - p/B), member 1 likewise."""
    trade = (1 - p / A) * (1 - p / B)
    return {"seller_profit": (p - cost) * trade, "trade": trade, "seller_revenue": p * trade,
            "utility_0": (A - p) ** 2 / (2 * A) * (1 - p / B), "utility_1": (B - p) ** 2 / (2 * B) * (1 - p / A)}


@pytest.mark.parametrize("cost", [0.0, 0.5, 1.0])
def test_posted_price_row_is_proposition_2_in_closed_form(cost):
    """The price maximizes the closed-form profit (a scalar minimizer finds it); at the row's price
    every exact value is the closed form's."""
    row = run(2, mechanism="posted-price", evaluator="mc", cost=cost).run
    best = optimize.minimize_scalar(lambda p: -posted_at(p, cost)["seller_profit"], bounds=(cost, A), method="bounded",
                                    options={"xatol": 1e-12})
    assert row["price"] == pytest.approx(best.x, abs=1e-6)
    assert row["exact_seller_profit"] == pytest.approx(-best.fun, abs=1e-12)
    want = posted_at(row["price"], cost)
    for q in QUANTITIES:
        assert row[f"exact_{q}"] == pytest.approx(want[q], abs=1e-10), q


def theorem_1_profit(cost: float) -> float:
    """min over omega in [0, 1] of E[(omega phi_0 + (1 - omega) phi_1 - c)+], phi_0 = 2 theta_0 - A,
    phi_1 = 2 theta_1 - B (Theorem 1's dual): the integral over theta_1 in closed form (the integrand is
    a + s theta_1 with s = 2 (1 - omega) >= 0, positive above t = -a/s), over theta_0 by quad."""
    def inner(t0, w):
        a, s = w * (2 * t0 - A) - (1 - w) * B - cost, 2 * (1 - w)
        t = 0.0 if s == 0 and a >= 0 else B if s == 0 else min(max(-a / s, 0.0), B)
        return (a * (B - t) + s * (B ** 2 - t ** 2) / 2) / B

    def excess(w):
        return integrate.quad(inner, 0, A, args=(w,), epsabs=1e-13, epsrel=1e-13, limit=200)[0] / A
    return optimize.minimize_scalar(excess, bounds=(0, 1), method="bounded", options={"xatol": 1e-10}).fun


@pytest.mark.parametrize("cost", [0.0, 0.5])
def test_optimal_profit_is_theorem_1_by_double_quadrature(cost):
    row = run(2, evaluator="mc", cost=cost).run
    assert row["exact_seller_profit"] == pytest.approx(theorem_1_profit(cost), abs=2e-6)
    assert np.isnan(row["price"])
    assert row["weight_0"] + row["weight_1"] == pytest.approx(1.0, abs=1e-12)


def test_example_1_weights_and_profit_are_the_papers():
    """Example 1 (these members, cost 0): omega_1 = sqrt(3/7), omega_2 = 1 - omega_1, profit "approximately
    0.39" (two digits, truncated: the double quadrature above gives 0.39564)."""
    row = run(2, evaluator="mc").run
    assert row["weight_0"] == pytest.approx(math.sqrt(3 / 7), abs=1e-6)
    assert 0.39 <= row["exact_seller_profit"] < 0.40


@pytest.mark.parametrize("mechanism,evaluator,steps", [("optimal", "abm", 1500), ("optimal", "mc", 200_000),
                                                       ("posted-price", "abm", 1500),
                                                       ("posted-price", "mc", 200_000)])
def test_exact_and_simulated_means_agree_within_4_standard_errors(mechanism, evaluator, steps):
    """The exact row (solver and interim rules) against the simulated means (committee rounds or draws)."""
    out = run(steps, seed=7, mechanism=mechanism, evaluator=evaluator, cost=0.5)
    row = out.run
    for q in QUANTITIES:
        se = np.std(out.steps[q], ddof=1) / np.sqrt(steps)
        assert row[f"{q}_stderr"] == pytest.approx(se, rel=1e-12)
        assert row[q] == pytest.approx(np.mean(out.steps[q]), rel=1e-12)
        assert 0 < se and abs(row[q] - row[f"exact_{q}"]) <= SIGMAS * se, (q, row[q], row[f"exact_{q}"], se)


@pytest.mark.parametrize("cost,trade,profit", [(0.0, 1 / 2, 1 / 3), (0.5, 0.75 ** 2 / 2, 0.75 ** 3 / 3)])
def test_individual_transfers_row_is_section_6_4_in_closed_form(cost, trade, profit):
    """Two uniform:0,1 members: trade iff theta_0 + theta_1 >= 1 + c/2, so with S their sum
    P[trade] = (1 - c/2)^2 / 2 and the profit E[(2S - 2 - c)+] = 2 int (s - 1 - c/2)(2 - s) ds = (1 - c/2)^3 / 3;
    each member pays E[phi_i x], half the transfer."""
    kind = registry()["veto-bargaining"]
    params = kind.validate({"members": ["uniform:0,1"] * 2, "cost": cost, "transfers": "individual",
                            "evaluator": "mc"})
    out = kind.run(params, 200_000, np.random.default_rng(4))
    row = out.run
    want = {"trade": trade, "seller_profit": profit, "seller_revenue": profit + cost * trade,
            "payment_0": (profit + cost * trade) / 2, "payment_1": (profit + cost * trade) / 2}
    for q, value in want.items():
        assert row[f"exact_{q}"] == pytest.approx(value, abs=1e-9), q
        se = np.std(out.steps[q], ddof=1) / np.sqrt(200_000)
        assert abs(row[q] - value) <= SIGMAS * se, (q, row[q], value, se)
    paid = out.steps["payment_0"] + out.steps["payment_1"]
    assert np.array_equal(paid, out.steps["seller_revenue"])
    assert np.all(out.steps["utility_0"] >= -1e-12) and np.all(out.steps["utility_1"] >= -1e-12)  # ex-post IR


SPEC = """
name = "veto-executors"
steps = 40
[seeds]
count = 2
base = 3
[market]
protocol = "veto-bargaining"
members = ["uniform:0,2", "uniform:0,3"]
cost = 0.5
[[sweep.points]]
"market.mechanism" = "optimal"
[[sweep.points]]
"market.mechanism" = "posted-price"
"market.evaluator" = "mc"
[[sweep.points]]
"market.transfers" = "individual"
"market.evaluator" = "mc"
"""


def test_serial_two_workers_and_a_resumed_run_write_identical_tables(tmp_path):
    """A run cut short (two finished runs lost, no tables assembled) finishes to the same bytes."""
    assert_executors_and_resume_agree(SPEC, tmp_path, 6, ("run-000000", "run-000005"))


BAD = [
    ("members = []", "market.members = []: not a nonempty list of spec strings"),
    ('members = ["point:1"]', "has an atom"),
    ('members = ["normal:0,1"]', 'market.members = ["normal:0,1"]'),
    (f"members = {['uniform:0,1'] * 9!r}".replace("'", '"'), "9 members, more than 8"),
    ("cost = -1", "market.cost = -1: not a finite number >= 0; accepted: the seller's cost, a finite number >= 0"),
    ("cost = inf", "market.cost = Infinity: not a finite number >= 0; accepted: the seller's cost, a finite"),
    ('members = ["pareto:0,1"]', "needs 0 < ALPHA < 1 and no CAP (ALPHA = 0 needs a CAP, an atom), got ALPHA=0"),
    ('mechanism = "auction"', 'market.mechanism = "auction": not one of the choices; accepted: "optimal"'),
    ('evaluator = "array"', 'market.evaluator = "array"'),
    ('transfers = "both"', 'market.transfers = "both": not one of the choices; accepted: "pooled"'),
    ('transfers = "individual"', 'market.evaluator = "abm": individual transfers (Section 6.4)'),
    ('transfers = "individual"\nevaluator = "mc"\nmechanism = "posted-price"',
     'market.mechanism = "posted-price": individual transfers'),
    ("intermediaries = 2", "market.intermediaries = 2: unknown key"),
]


@pytest.mark.parametrize("line,says", BAD, ids=[b[0].split(" =")[0] + str(i) for i, b in enumerate(BAD)])
def test_bad_parameters_are_one_line_exit_2_nothing_written(capsys, tmp_path, line, says):
    assert_refused(capsys, tmp_path, "veto-bargaining", {"members": 'members = ["uniform:0,2"]'}, line, says)
