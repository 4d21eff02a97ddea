"""Existence of a pure equilibrium in the simultaneous game with one bidder (monopolist-intermediary, Section 5).

With one bidder every class of the intermediary reduces to a posted price for the right, so the
game is the posted-price game: the seller earns p_s S(T) and the intermediary p_I S(T) at total
T = p_s + p_I, S = 1 - F. Against the other's price x a player picks T maximising
log(T - x) + log S(T), which has increasing differences in (T, x), so the best total T(x) is
nondecreasing (Topkis). If T(x) steps through totals a_1 < a_2 < ... on thresholds
0 = x_0 < x_1 < ... < x_k = inf, total a_i is an equilibrium iff 2 x_{i-1} <= a_i <= 2 x_i; failing
at every i forces a_i > 2 x_i for all i by induction, impossible at i = k. So a one-bidder market
always has a pure equilibrium and the no-pure-equilibrium path needs two or more bidders.
"""
import json

import numpy as np
from scipy.optimize import minimize_scalar

from agora.experiments.cli import main
from agora.market.single_item.simultaneous import PricingGame
from agora.market.single_item.simultaneous_classes import solve_class_game


def _best_reply(other: float) -> float:
    """Best own price against ``other`` for one uniform:0,1 bidder: argmax p (1 - p - other), by scipy."""
    return minimize_scalar(lambda p: -p * max(0.0, 1.0 - p - other), bounds=(0.0, 1.0),
                           method="bounded", options={"xatol": 1e-12}).x


def test_uniform_bidder_has_pure_equilibrium_at_one_third():
    # expected: the fixed point of p = (1 - p)/2, i.e. 1/3 each, from the closed-form best response
    solved = solve_class_game(PricingGame(["uniform:0,1"]))
    assert solved.pure_equilibrium_exists and solved.best_approximate is None
    e = solved.equilibria[0]
    assert abs(e.seller_price - 1 / 3) < 1e-6 and abs(e.parameter - 1 / 3) < 1e-6
    # independent check: each price is scipy's best reply to the other (bounded Brent, xatol 1e-12)
    assert abs(_best_reply(e.parameter) - e.seller_price) < 1e-6
    assert abs(_best_reply(e.seller_price) - e.parameter) < 1e-6


def test_brute_force_grid_finds_the_same_point():
    # brute force over a 3001 x 3001 grid of (p_s, p_I): mutual best responses of p (1 - p_s - p_I)
    grid = np.linspace(0.0, 1.0, 3001)
    payoff = grid[:, None] * np.clip(1.0 - grid[:, None] - grid[None, :], 0.0, None)  # own x other
    reply = np.argmax(payoff, axis=0)  # index of the best own price against each other price
    mutual = [(grid[i], grid[reply[i]]) for i in range(grid.size) if reply[reply[i]] == i]
    assert mutual and all(abs(a - 1 / 3) <= 1 / 3000 and abs(b - 1 / 3) <= 1 / 3000 for a, b in mutual)


def test_cli_json_carries_the_fields(capsys):
    assert main(["solve", "simultaneous", "--bidder", "uniform:0,1", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["pure_equilibrium_exists"] is True and out["best_approximate"] is None
    # expected 1/3 each from the closed-form best responses (1 - p_other)/2
    e = out["equilibria"][0]
    assert abs(e["seller_price"] - 1 / 3) < 1e-6 and abs(e["parameter"] - 1 / 3) < 1e-6
