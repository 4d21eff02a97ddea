"""monopolist-intermediary, Section 5: mixed equilibria of the discretized simultaneous game.

The market is F_eps,H of Theorem 5.2 with eps = 0.2, H = 1e6: survival
P[v >= x] = x^(-1/(1-eps)) on [1, H), an atom of mass H^(-1/(1-eps)) at H
(/work/shared/FORMULAS.md). Payoffs are recomputed here from that formula, equilibria
of the grid game are checked against nashpy's support enumeration on the same
matrices, and regrets against every price against a dense search written here.
"""

import json
import warnings

import nashpy
import numpy as np
import pytest
from cli_run import run_cli

from agora.market.single_item.simultaneous import (
    PricingGame,
    adapted_price_grid,
    grid_game,
    mixed_equilibria,
    price_grid,
)

EPS, H = 0.2, 1e6
SPEC = f"pareto:{EPS:g},1,{H:g}"


def survival(t):
    """P[v >= t] under F_eps,H (ties count as a sale, to 1e-12 relative)."""
    t = np.asarray(t, float)
    inside = np.power(np.maximum(t, 1.0), -1.0 / (1.0 - EPS))
    return np.where(t <= 1.0, 1.0, np.where(t <= H * (1 + 1e-12), inside, 0.0))


def dense_best_reply(opponent: dict[float, float]) -> float:
    """max_p p sum_j y_j S(p + q_j) over 400,001 log-spaced prices, the grid's kinks 1 - q_j and the
    atom's jumps H - q_j (S is 1 below 1, smooth on (1, H), drops to 0 past H)."""
    q = np.array(list(opponent))
    y = np.array(list(opponent.values()))
    p = np.concatenate((np.geomspace(1e-6, H, 400001), 1.0 - q, H - q))
    p = p[p >= 0.0]
    revenue = p * (survival(p[:, None] + q[None, :]) @ y)
    return float(revenue.max())


@pytest.fixture(scope="module")
def game():
    return PricingGame([SPEC])


def test_adapted_grid_holds_the_prices_that_matter_under_theorem_5_2(game):
    """Theorem 5.2 and its proof: the equilibria are the splits of H with both prices in
    [eps H, (1 - eps) H]; against a price near 0 the best reply is 1 (the support's lower end,
    revenue about 1); the best reply to p is p (1 - eps) / eps = 4 p (Lemma 3.3). The even grid's
    smallest positive price is 0.05 H, above all of these but the segment."""
    grid = adapted_price_grid(game, 21)
    assert grid.size <= 21 and np.all(np.diff(grid) > 0) and grid[0] == 0.0 and grid[-1] == H

    def on_grid(price, rtol):
        return np.min(np.abs(grid - price)) <= rtol * price

    assert on_grid(1.0, 1e-12)  # the deviation of the proof (price 1 earns 1)
    assert on_grid(EPS * H, 1e-5) and on_grid((1 - EPS) * H, 1e-5)  # the segment's ends
    assert np.any((grid > EPS * H * (1 + 1e-4)) & (grid < (1 - EPS) * H * (1 - 1e-4)))  # inside it
    small = grid[(grid > 0) & (grid < EPS * H)]
    assert any(on_grid((1 - EPS) / EPS * p, 1e-6) for p in small)  # a best reply 4 p beside its p
    assert np.count_nonzero((grid > 0) & (grid < 1e3)) >= 4  # log-spaced: many decades below H
    even = price_grid(game, 21)
    assert even[1] == pytest.approx(0.05 * H) and not np.any((even > 0) & (even <= 1.0))


@pytest.fixture(scope="module")
def small(game):
    """Every extreme equilibrium (nashpy vertex enumeration) of the game on 5 adapted prices."""
    return mixed_equilibria(game, 5, method="vertex")


def _strategies(found, eq):
    grid = np.array(found.grid["prices"])
    x = np.array([eq.seller_strategy.get(float(g), 0.0) for g in grid])
    y = np.array([eq.intermediary_strategy.get(float(g), 0.0) for g in grid])
    return x, y


def test_small_grid_mixed_equilibria_are_support_enumeration_equilibria(game, small):
    """Each reported equilibrium is one that nashpy's support enumeration finds on the same matrices,
    the matrices equal p_i S(p_i + p_j) from the survival formula (1.25e-12 apart at most), and the
    grid regret is zero."""
    grid = np.array(small.grid["prices"])
    same_grid, A, B = grid_game(game, 5, adapted=True)
    np.testing.assert_array_equal(same_grid, grid)
    S = survival(grid[:, None] + grid[None, :])
    # 2e-12: the solver reads S 1e-12 below each total (float sums reaching a value count as a sale)
    np.testing.assert_allclose(A, grid[:, None] * S, rtol=2e-12, atol=0)
    np.testing.assert_allclose(B, grid[None, :] * S, rtol=2e-12, atol=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        enumerated = list(nashpy.Game(A / A.max(), B / B.max()).support_enumeration(tol=1e-14))
    mixed = [e for e in small.equilibria if len(e.seller_strategy) > 1]
    assert len(mixed) >= 2
    for eq in small.equilibria:
        x, y = _strategies(small, eq)
        assert any(np.allclose(x, ex, atol=1e-9) and np.allclose(y, ey, atol=1e-9) for ex, ey in enumerated)
        assert np.max(A @ y) - x @ A @ y <= 1e-12 * np.max(A @ y)
        assert np.max(x @ B) - x @ B @ y <= 1e-12 * np.max(x @ B)


def test_regret_against_every_price_matches_a_dense_search(small):
    """The reported regret against every price is at least the grid regret and equals the dense search's
    best reply minus the equilibrium payoff (to 1e-6 of the best reply). Equilibria with a price of 1
    or 4 have zero grid regret but are beaten off the grid (by 4 and 16, Lemma 3.3's 4 p); the splits
    of H into eps H and (1 - eps) H, pure or mixed, are equilibria of the continuous game."""
    for eq in small.equilibria:
        for regret, grid_regret, revenue, opponent in (
                (eq.seller_continuous_regret, eq.seller_regret, eq.seller_revenue, eq.intermediary_strategy),
                (eq.intermediary_continuous_regret, eq.intermediary_regret, eq.intermediary_revenue,
                 eq.seller_strategy)):
            best = dense_best_reply(opponent)
            assert regret >= grid_regret
            assert regret == pytest.approx(best - revenue, abs=1e-6 * best)
        low = min(*eq.seller_strategy, *eq.intermediary_strategy) < EPS * H * (1 - 1e-4)
        assert eq.continuous is not low
        if low:
            assert eq.largest_regret > 0.2 > 1e-3 > max(eq.seller_regret, eq.intermediary_regret)
        else:
            assert eq.largest_regret <= 1e-9
    assert any(len(e.seller_strategy) > 1 and e.continuous for e in small.equilibria)


def test_cli_reports_each_mixed_equilibrium_with_its_regret_against_every_price(capsys):
    """On 9 adapted prices the two splits (eps H, (1 - eps) H) are equilibria of the continuous game;
    an equilibrium of the grid game with a price below eps H is not (Theorem 5.2: every equilibrium
    prices both sides at eps H or more), and its regret is reported (above 0.2 of the best reply)."""
    code, out, err = run_cli(capsys, "solve", "simultaneous", "--bidder", SPEC, "--class", "posted_price",
                             "--grid", "201", "--mixed", "9", "--json")
    assert code == 0, err
    mixed = json.loads(out)["mixed"]
    assert mixed["grid"]["kind"] == "adapted" and mixed["grid"]["points"] <= 9
    splits = [e for e in mixed["equilibria"] if e["continuous"]]
    assert {round(e["seller_strategy"][0][0] / H, 4) for e in splits} == {EPS, 1 - EPS}
    for e in mixed["equilibria"]:
        low = min(p for p, _ in e["seller_strategy"] + e["intermediary_strategy"]) < EPS * H * (1 - 1e-4)
        assert e["continuous"] is not low
        assert e["largest_regret"] > 0.2 if low else e["largest_regret"] <= 1e-9


def test_cli_refuses_a_one_price_mixed_grid_before_solving(capsys):
    code, out, err = run_cli(capsys, "solve", "simultaneous", "--bidder", SPEC, "--mixed", "1")
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1 and "--mixed" in err


@pytest.mark.parametrize("c", [1e-6, 1e6])
def test_adapted_grid_scales_with_the_market(game, c):
    """Scaling every value by c scales every price that matters by c (the game is linear in the unit
    of value), so the adapted grid of c F_eps,H is c times that of F_eps,H (to 1e-8: the segment's
    ends come from a bisection)."""
    grid = adapted_price_grid(game, 21)
    scaled = adapted_price_grid(PricingGame([f"pareto:{EPS:g},{c:.17g},{H * c:.17g}"]), 21)
    np.testing.assert_allclose(scaled, c * grid, rtol=1e-8, atol=0)
