"""monopolist-intermediary, Section 5: simultaneous pricing, its equilibria and continua.

Every equilibrium is re-checked here by a verifier independent of the solver's:
payoffs against every price on a fine grid of 20,001 prices plus the support's
atoms (the solver's own check uses exact continuous best responses).
"""

import math

import numpy as np
import pytest

from agora.market.single_item.simultaneous import PricingGame, mixed_equilibria, pure_equilibria
from agora.models.market_model import MarketModel


def independent_regret(game: PricingGame, ps: float, pi: float) -> tuple[float, float]:
    """Each side's gain from its best deviation, relative to that deviation's payoff."""
    deviations = np.union1d(np.linspace(0.0, game.upper, 20001), [b.hi for b in game.bidders])
    us, ui = game.payoffs(ps, pi)
    best_s = np.max(deviations * game.sale(deviations + pi))
    best_i = np.max(deviations * game.sale(ps + deviations))
    return (max(0.0, best_s - float(us)) / max(best_s, 1e-300),
            max(0.0, best_i - float(ui)) / max(best_i, 1e-300))


def test_theorem_5_1_constant_value_continuum():
    """Known value 1: every split p_s + p_I = 1 is an equilibrium, and nothing else trades."""
    game = PricingGame(["point:1"])
    eq = pure_equilibria(game, 101)
    assert len(eq.equilibria) == 101
    assert eq.continuum["total_price"] == pytest.approx(1.0)
    assert eq.continuum["seller_price"] == [0.0, 1.0]
    for e in eq.equilibria:
        assert e.seller_price + e.intermediary_price == pytest.approx(1.0, abs=1e-12)
        assert max(independent_regret(game, e.seller_price, e.intermediary_price)) <= 1e-12


@pytest.mark.parametrize("eps,H", [(0.1, 1e4), (0.2, 1e6), (0.3, 1e8)])
def test_theorem_5_2_every_equilibrium_prices_at_H(eps, H):
    """F_eps,H, eps < 1/2: p_s + p_I = H with both >= eps H; each revenue <= H^(-eps/(1-eps))."""
    game = PricingGame([f"pareto:{eps},1,{H}"])
    eq = pure_equilibria(game, 1001)
    step = H / 1000
    assert eq.equilibria
    bound = H ** (-eps / (1 - eps))
    for e in eq.equilibria:
        assert e.seller_price + e.intermediary_price == pytest.approx(H, rel=1e-12)
        assert min(e.seller_price, e.intermediary_price) >= eps * H - step
        assert max(e.seller_revenue, e.intermediary_revenue) <= bound * (1 + 1e-12)
        assert max(independent_regret(game, e.seller_price, e.intermediary_price)) <= 1e-9
    # the continuum spans [eps H, (1 - eps) H]; its ends are refined off the grid by bisection
    lo, hi = eq.continuum["seller_price"]
    assert lo == pytest.approx(eps * H, rel=1e-5) and hi == pytest.approx((1 - eps) * H, rel=1e-5)


def test_theorem_5_2_ratio_to_stackelberg_goes_to_zero():
    """Nash revenue over the least Stackelberg revenue (eps, either order) falls as H grows."""
    eps = 0.2
    ratios = []
    for H in (1e3, 1e6, 1e12):
        eq = pure_equilibria(PricingGame([f"pareto:{eps},1,{H}"]), 501)
        worst = max(max(e.seller_revenue, e.intermediary_revenue) for e in eq.equilibria)
        ratios.append(worst / eps)
    assert ratios[0] > ratios[1] > ratios[2]
    assert ratios[2] <= (1e12) ** (-eps / (1 - eps)) / eps * (1 + 1e-12)


def test_interior_symmetric_equilibrium_by_hand():
    """Two U[0,1]: S(t) = 1 - t^2; the symmetric equilibrium solves 1 - 8 p^2 = 0, p = 1/sqrt(8)."""
    game = PricingGame(["uniform:0,1", "uniform:0,1"])
    p = 1 / math.sqrt(8)
    rs, ri = game.regret(p, p)
    assert rs <= 1e-12 and ri <= 1e-12
    assert game.best_response(p).price == pytest.approx(p, abs=1e-9)


def test_grid_equilibria_are_near_the_interior_one():
    """Uniform bidder: no grid point is an exact equilibrium unless it is one; any found passes."""
    game = PricingGame(["uniform:0,1"])
    eq = pure_equilibria(game, 301)
    for e in eq.equilibria:
        assert max(independent_regret(game, e.seller_price, e.intermediary_price)) <= 1e-9
        assert e.seller_price == pytest.approx(1 / 3, abs=1e-9)  # S(t) = 1 - t: p = (1 - p) / 2


def test_mixed_equilibria_pass_the_verifier():
    """nashpy's Lemke-Howson on a 15 x 15 game: every kept equilibrium has regret below tolerance."""
    game = PricingGame(["pareto:0.2,1,1e6"])
    found = mixed_equilibria(game, 15)
    assert found.equilibria
    grid = np.linspace(0.0, game.upper, 15)
    A, B = game.payoffs(grid[:, None], grid[None, :])
    for m in found.equilibria:
        x = np.array([m.seller_strategy.get(float(g), 0.0) for g in grid])
        y = np.array([m.intermediary_strategy.get(float(g), 0.0) for g in grid])
        assert x.sum() == pytest.approx(1.0) and y.sum() == pytest.approx(1.0)
        assert np.max(A @ y) - x @ A @ y <= found.tolerance * np.max(A @ y)
        assert np.max(x @ B) - x @ B @ y <= found.tolerance * np.max(x @ B)


def test_mixed_equilibria_of_the_constant_value_game_are_the_splits():
    found = mixed_equilibria(PricingGame(["point:1"]), 11)
    splits = {(round(next(iter(m.seller_strategy)), 9), round(next(iter(m.intermediary_strategy)), 9))
              for m in found.equilibria if len(m.seller_strategy) == len(m.intermediary_strategy) == 1}
    assert {(round(k / 10, 9), round(1 - k / 10, 9)) for k in range(11)} <= splits


def test_best_response_dynamics_settle_on_the_symmetric_equilibrium():
    """Agent-based simultaneous play, each side best-responding to the other's last price."""
    model = MarketModel(["uniform:0,1", "uniform:0,1"], protocol="simultaneous", rng=0)
    for _ in range(60):
        model.step()
    df = model.datacollector.get_model_vars_dataframe()
    assert df["seller_price"].iloc[-1] == pytest.approx(1 / math.sqrt(8), abs=1e-6)
    assert df["intermediary_price"].iloc[-1] == pytest.approx(1 / math.sqrt(8), abs=1e-6)


def test_simultaneous_agent_based_agrees_with_exact():
    """Fixed prices (0.3, 0.25) and two U[0,1]: sale iff max >= 0.55, 4 s.e. over 4,000 rounds."""
    model = MarketModel(["uniform:0,1", "uniform:0,1"], protocol="simultaneous", seller=0.3,
                        intermediary=0.25, rng=5)
    for _ in range(4000):
        model.step()
    df = model.datacollector.get_model_vars_dataframe()
    sale = 1 - 0.55 ** 2
    for q, exact in (("seller_revenue", 0.3 * sale), ("intermediary_revenue", 0.25 * sale)):
        x = df[q].astype(float)
        assert abs(x.mean() - exact) <= 4 * x.std(ddof=1) / math.sqrt(len(x))
