"""Q-learning in the k-item posted-fees market (market/learning/fee_game.py, kind q-learning-fees).

What must hold: the grid game's payoffs are those of E[min(D, k)] items sold found here by listing every
set of asking buyers (no binomial law), equal the single-item simultaneous game with n identical bidders
when k = 1 (1 - F(t)^n, other code) and n S(t) when k >= n; the Nash and joint-monopoly references are
brute-force searches of that game; with a strictly dominant price (exponential values, k >= n: the payoff
x n e^(-x) e^(-other) separates) every session learns it and the profit gain is 0 in closed form; serial
and 2-worker runs write the same bytes; bad parameters are refused in one line with exit 2.
"""

from __future__ import annotations

import math
from itertools import product

import numpy as np
import pytest
from kind_checks import assert_executors_and_resume_agree, assert_refused

from agora.experiments.markets import registry
from agora.market.learning.fee_game import fee_game, fee_references, fee_sessions
from agora.market.single_item.simultaneous import PricingGame, grid_game


def sold_by_listing(q: float, buyers: int, items: int) -> float:
    """E[min(D, k)]: every subset of asking buyers, each asking with chance q."""
    return sum(q ** sum(s) * (1 - q) ** (buyers - sum(s)) * min(sum(s), items)
               for s in product((0, 1), repeat=buyers))


@pytest.mark.parametrize("buyers,items", [(4, 2), (3, 1), (2, 5)])
def test_payoffs_are_prices_times_the_items_sold_found_by_listing(buyers, items):
    grid, A, B = fee_game("uniform:0,1", buyers, items, 7)
    for i, j in product(range(7), repeat=2):
        sold = sold_by_listing(max(0.0, 1.0 - grid[i] - grid[j]), buyers, items)
        assert A[i, j] == pytest.approx(grid[i] * sold, abs=1e-12)
        assert B[i, j] == pytest.approx(grid[j] * sold, abs=1e-12)


def test_one_item_is_the_single_item_game_of_identical_bidders_and_enough_items_is_n_times_the_tail():
    _, A, B = fee_game("beta:2,3,0,1", 3, 1, 9)
    _, A1, B1 = grid_game(PricingGame(["beta:2,3,0,1"] * 3), 9)
    np.testing.assert_allclose(A, A1, atol=1e-10)
    np.testing.assert_allclose(B, B1, atol=1e-10)
    grid, A, _ = fee_game("uniform:0,1", 3, 5, 9)
    np.testing.assert_allclose(A, grid[:, None] * 3 * np.maximum(0, 1 - grid[:, None] - grid[None, :]), atol=1e-12)


def test_references_are_brute_force_searches_of_the_grid_game():
    grid, A, B, eqs, (i, j, _), nash, monopoly = fee_references("uniform:0,1", 4, 2, 11)
    n = len(grid)
    sold = {(a, b): sold_by_listing(max(0.0, 1 - grid[a] - grid[b]), 4, 2) for a in range(n) for b in range(n)}
    pay = {(a, b): (grid[a] * x, grid[b] * x) for (a, b), x in sold.items()}
    brute = {(a, b) for a in range(n) for b in range(n) if sum(pay[a, b]) > 0
             and pay[a, b][0] >= max(pay[k, b][0] for k in range(n)) * (1 - 1e-9)
             and pay[a, b][1] >= max(pay[a, k][1] for k in range(n)) * (1 - 1e-9)}
    assert {tuple(e) for e in eqs.tolist()} == brute and (i, j) in brute
    assert nash == pytest.approx(max(sum(pay[e]) for e in brute), rel=1e-12)
    assert monopoly == pytest.approx(max(sum(v) for v in pay.values()), rel=1e-12)


H = math.log(1e9) / 7  # the grid step on 8 prices up to ln(1e9)


def test_a_strictly_dominant_fee_and_price_are_learned_by_every_session():
    """Exponential:1 values, 3 buyers, 3 items: x 3 e^(-x - other) is largest on the grid at x = H whatever
    the other price (H e^(-H) = 0.154 > 2H e^(-2H) = 0.016), so (H, H) is the one equilibrium: profits
    3 H e^(-2H) each, the joint monopoly's total 3 H e^(-H) (total price H), Delta = 0."""
    d = fee_sessions("exponential:1", 3, 3, 8, np.random.SeedSequence(4).spawn(4), upper=7 * H, alpha=0.3,
                     beta=2e-3, delta=0.0, periods=20000, window=1000, per_session=True)
    assert d["converged"] == 1.0
    np.testing.assert_allclose(d["per_session"]["seller_price"], H, rtol=1e-12)
    np.testing.assert_allclose(d["per_session"]["intermediary_price"], H, rtol=1e-12)
    assert d["seller_profit"] == pytest.approx(3 * H * math.exp(-2 * H), rel=1e-9)
    assert d["nash_profit"] == pytest.approx(6 * H * math.exp(-2 * H), rel=1e-9)
    assert d["monopoly_profit"] == pytest.approx(3 * H * math.exp(-H), rel=1e-9)
    assert d["profit_gain"] == pytest.approx(0.0, abs=1e-9) and d["nash"]["against_any_price"] is False


def test_the_kind_row_is_a_direct_fee_sessions_call():
    market = {"distribution": "uniform:0,1", "buyers": 4, "items": 2, "points": 7, "alpha": 0.3, "beta": 2e-3,
              "periods": 6000, "window": 500}
    kind = registry()["q-learning-fees"]
    out = kind.run(kind.validate(market, steps=3), 3, np.random.default_rng(np.random.SeedSequence(9)))
    lib = fee_sessions("uniform:0,1", 4, 2, 7, np.random.SeedSequence(9).spawn(3), alpha=0.3, beta=2e-3,
                       periods=6000, window=500)
    for q in ("seller_price", "intermediary_price", "seller_profit", "intermediary_profit", "profit_gain"):
        assert out.run[q] == pytest.approx(lib[q], rel=1e-12, abs=1e-15), q
    assert (out.run["profit_nash"], out.run["profit_monopoly"]) == (lib["nash_profit"], lib["monopoly_profit"])


SPEC = """name = "fees"
steps = 2
[seeds]
count = 2
base = 5
[market]
protocol = "q-learning-fees"
distribution = "uniform:0,1"
buyers = 3
items = 2
points = 6
beta = 2e-3
periods = 5000
window = 400
[sweep.grid]
"market.alpha" = [0.1, 0.3]
"""


def test_serial_and_two_workers_write_identical_tables(tmp_path):
    assert_executors_and_resume_agree(SPEC, tmp_path, 4)


@pytest.mark.parametrize("line,says", [
    ("buyers = 0", "market.buyers = 0: less than 1"),
    ("items = 0", "market.items = 0: less than 1"),
    ("upper = -1", "market.upper = -1: not a finite number >= 0"),
    ('distribution = "exponential:1"', "the grid's upper price must be positive and finite"),
    ("points = 1", "market.points = 1: less than 2"),
])
def test_bad_values_are_refused_in_one_line(capsys, tmp_path, line, says):
    market = {"distribution": 'distribution = "uniform:0,1"', "buyers": "buyers = 3", "items": "items = 2"}
    assert_refused(capsys, tmp_path, "q-learning-fees", market, line, says, steps=2)
