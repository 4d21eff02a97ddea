"""The robust experiment kind (experiments/markets/robust.py).

What must hold: the run row's worst-case values are the thesis' closed forms (evaluated here from
FORMULAS.md: the lottery's r by scipy's Lambert W, the best reserve's z*, (1/e) sum (v̄_j - c_j),
(v̄ - c)/2, v̄/e), and the expectation over the worst-case adversary's law (a second code path:
sums over atoms or quadrature) equals them; simulated means (Mesa rounds and vectorized draws) lie
within 4 standard errors of the exact ones; against a named law within the seller's knowledge the
simulated revenue is at least the worst case (regret at most), up to 4 standard errors; serial and
2-worker runs write the same bytes; bad parameters are refused in one line with exit 2 before
anything is written.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from cli_run import run_cli
from kind_checks import assert_executors_and_resume_agree, assert_refused
from scipy.special import lambertw

from agora.experiments.markets import registry

SIGMAS = 4.0
QUANTITIES = ("seller_revenue", "regret")


def run(steps: int, seed: int = 0, **market):
    kind = registry()["robust"]
    out = kind.run(kind.validate(market), steps, np.random.default_rng(seed))
    assert all(len(col) == steps for col in out.steps.values())
    return out


def lottery_revenue(bidders: int, mu: float) -> float:
    """Theorem 1.5.3: sigma* = -1/(W_-1(-mu I e^-I) + 1), r = e^(I - 1 - 1/sigma*) (FORMULAS.md)."""
    sigma = -1.0 / (lambertw(-mu * bidders * math.exp(-bidders), k=-1).real + 1.0)
    return math.exp(bidders - 1 - 1 / sigma)


def best_reserve_revenue(bidders: int, mu: float) -> float:
    """Theorem 1.5.2: z* = I (1 - sqrt(1 - mu))^2 if mu <= (2I - 1)/I^2, else (I mu - 1)/(I - 1)."""
    if mu <= (2 * bidders - 1) / bidders ** 2:
        return bidders * (1 - math.sqrt(1 - mu)) ** 2
    return (bidders * mu - 1) / (bidders - 1)


CLOSED_FORMS = [  # (market, objective, the thesis' worst-case value)
    (dict(mean=0.5), "revenue", lottery_revenue(2, 0.5)),
    (dict(mean=0.3, bidders=3, upper=2.0), "revenue", 2.0 * lottery_revenue(3, 0.15)),
    (dict(mean=0.5, mechanism="lottery-pay-on-win"), "revenue", lottery_revenue(2, 0.5)),
    (dict(mean=0.5, mechanism="best-reserve"), "revenue", best_reserve_revenue(2, 0.5)),
    (dict(mean=0.7, mechanism="best-reserve"), "revenue", best_reserve_revenue(2, 0.7)),
    (dict(mean=0.8, mechanism="best-reserve", bidders=3), "revenue", best_reserve_revenue(3, 0.8)),
    (dict(mechanism="random-reserve", bidders=3, upper=2.0), "regret", 2.0 / math.e),
    (dict(mechanism="vickrey", bidders=2), "regret", 1.0),
    (dict(mechanism="random-price", costs=[0.2]), "regret", 0.8 / math.e),
    (dict(mechanism="random-price", costs=[0.2, 0.5], upper=1.5, evaluator="mc"), "regret", (1.3 + 1.0) / math.e),
    (dict(mechanism="deterministic-price", costs=[0.2]), "regret", 0.4),
    (dict(mechanism="deterministic-price", costs=[0.2, 0.5], evaluator="mc"), "regret", (0.8 + 0.5) / 2),
]


@pytest.mark.parametrize("market,objective,value", CLOSED_FORMS, ids=[str(c[0]) for c in CLOSED_FORMS])
def test_worst_case_row_is_the_thesis_and_the_adversarys_expectation(market, objective, value):
    row = run(2, **market).run
    assert row["objective"] == objective
    assert row[f"{objective}_worst_case"] == pytest.approx(value, abs=1e-9)
    other = "regret" if objective == "revenue" else "revenue"
    assert math.isnan(row[f"{other}_worst_case"])
    exact = row["exact_seller_revenue" if objective == "revenue" else "exact_regret"]
    assert exact == pytest.approx(value, abs=1e-7)  # integrated over nature's worst-case law


def test_the_thesis_check_values_for_the_lottery():
    """FORMULAS.md: mu = 0.5, I = 2 gives r = 0.317844."""
    assert run(2, mean=0.5).run["revenue_worst_case"] == pytest.approx(0.317844, abs=5e-7)


AGREE = [  # (market, steps)
    (dict(mean=0.5, mechanism="lottery-pay-on-win"), 1500),
    (dict(mean=0.5, mechanism="best-reserve"), 1500),
    (dict(mechanism="random-reserve", bidders=3, upper=2.0), 1500),
    (dict(mechanism="random-price", costs=[0.2]), 1500),
]


@pytest.mark.parametrize("evaluator", ["abm", "mc"])
@pytest.mark.parametrize("market,steps", AGREE, ids=[str(a[0]) for a in AGREE])
def test_exact_and_simulated_means_agree_within_4_standard_errors(market, steps, evaluator):
    out = run(steps if evaluator == "abm" else 100_000, seed=7, evaluator=evaluator, **market)
    row = out.run
    n = len(out.steps["regret"])
    for q in QUANTITIES:
        se = np.std(out.steps[q], ddof=1) / np.sqrt(n)
        assert row[f"{q}_stderr"] == pytest.approx(se, rel=1e-12)
        assert row[q] == pytest.approx(np.mean(out.steps[q]), rel=1e-12)
        assert 0 < se and abs(row[q] - row[f"exact_{q}"]) <= SIGMAS * se, (q, row[q], row[f"exact_{q}"], se)


@pytest.mark.parametrize("evaluator", ["abm", "mc"])
def test_deterministic_outcomes_are_the_exact_values(evaluator):
    """Against the point mass at mu e the upfront lottery earns r every round (its dual (1.8) is tight),
    and the deterministic price loses p - c to the value just below it."""
    lottery = run(200, evaluator=evaluator, mean=0.5).run
    assert lottery["seller_revenue"] == pytest.approx(lottery_revenue(2, 0.5), abs=1e-9)
    price = run(200, evaluator=evaluator, mechanism="deterministic-price", costs=[0.2]).run
    assert (price["seller_revenue"], price["sale"]) == (0.0, 0.0)
    assert price["regret"] == pytest.approx(0.4, abs=1e-6)


@pytest.mark.parametrize("evaluator", ["abm", "mc"])
def test_a_named_law_in_the_sellers_knowledge_does_no_worse_than_the_worst_case(evaluator):
    """Uniform values on [0, 1] have mean 0.5 >= 0.3: the lottery's revenue is at least r(0.3); the
    random reserve's regret against uniform values on [0, 2] is at most 2/e."""
    steps = 1500 if evaluator == "abm" else 50_000
    out = run(steps, seed=3, evaluator=evaluator, mean=0.3, adversary=["uniform:0,1"] * 2).run
    assert math.isnan(out["exact_seller_revenue"]) and out["adversary_law"] == "independent draws"
    assert out["seller_revenue"] >= lottery_revenue(2, 0.3) - SIGMAS * out["seller_revenue_stderr"]
    out = run(steps, seed=3, evaluator=evaluator, mechanism="random-reserve", bidders=3, upper=2.0,
              adversary=["uniform:0,2"] * 3).run
    assert out["regret"] <= 2 / math.e + SIGMAS * out["regret_stderr"]


SPEC = """
name = "robust-executors"
steps = 40
[seeds]
count = 2
base = 3
[market]
protocol = "robust"
[[sweep.points]]
"market.mechanism" = "lottery-pay-on-win"
"market.mean" = 0.5
[[sweep.points]]
"market.mechanism" = "best-reserve"
"market.mean" = 0.5
"market.evaluator" = "mc"
[[sweep.points]]
"market.mechanism" = "random-price"
"market.costs" = [0.2, 0.4]
"market.evaluator" = "mc"
"""


def test_serial_two_workers_and_a_resumed_run_write_identical_tables(tmp_path):
    """A run cut short (two finished runs lost, no tables assembled) finishes to the same bytes."""
    assert_executors_and_resume_agree(SPEC, tmp_path, 6, ("run-000000", "run-000005"))


BAD = [
    ("mean = 1.5", "market.mean = 1.5: not strictly between 0 and upper = 1"),
    ("mean = -1", "market.mean = -1: not a finite number >= 0"),
    ("upper = 0", "market.upper = 0: not a finite number > 0"),
    ('mechanism = "myerson"', 'market.mechanism = "myerson": not one of the choices; accepted: one of lottery'),
    ("bidders = 1", "market.bidders = 1: 'lottery' is an auction; accepted: a whole number >= 2"),
    ('mechanism = "random-price"', "market.mean = 0.5: 'random-price' (Chapter 2) knows only the range"),
    ('mechanism = "random-reserve"', "market.mean = 0.5: 'random-reserve' (Chapter 3) knows only the range; "
                                     "accepted: no mean"),
    ("costs = [0.2]", "market.costs = [0.2]: 'lottery' is an auction without costs"),
    ("costs = []", "market.costs = []: not a list of 1 to 16 costs"),
    ('adversary = "nature"', 'market.adversary = "nature": not "worst-case" nor a nonempty list'),
    ('adversary = ["uniform:0,1"]', "market.adversary = [\"uniform:0,1\"]: 1 laws for 2 values per round"),
    ('adversary = ["uniform:0,2", "uniform:0,1"]', "uniform:0,2 is not supported in [0, upper = 1]"),
    ('adversary = ["uniform:0,0.5", "uniform:0,1"]', "uniform:0,0.5 has mean 0.25 < mean = 0.5"),
    ('evaluator = "array"', 'market.evaluator = "array"'),
    ("members = 2", "market.members = 2: unknown key"),
]


@pytest.mark.parametrize("line,says", BAD, ids=[b[0].split(" =")[0] + str(i) for i, b in enumerate(BAD)])
def test_bad_parameters_are_one_line_exit_2_nothing_written(capsys, tmp_path, line, says):
    assert_refused(capsys, tmp_path, "robust", {"mean": "mean = 0.5"}, line, says)


def test_several_items_are_refused_by_the_mesa_seller(capsys, tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text('steps = 10\n[seeds]\ncount = 1\nbase = 1\n[market]\nprotocol = "robust"\n'
                    'mechanism = "random-price"\ncosts = [0.1, 0.2]\n')
    code, stdout, stderr = run_cli(capsys, "run", str(path), "--out", str(tmp_path / "r"), "--executor", "serial")
    assert (code, stdout, stderr.count("\n")) == (2, "", 1)
    assert 'market.evaluator = "abm": the Mesa seller sells one item; accepted: "mc"' in stderr
