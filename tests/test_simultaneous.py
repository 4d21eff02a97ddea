"""monopolist-intermediary, Section 5: simultaneous pricing, its equilibria and continua.

Every equilibrium is re-checked here by a verifier independent of the solver's:
payoffs against every price on a fine grid of 20,001 prices plus the support's
atoms (the solver's own check uses exact continuous best responses).
"""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agora.market.single_item.simultaneous import (
    FIRST_ORDER,
    REGRET_RTOL,
    PricingGame,
    is_equilibrium,
    mixed_equilibria,
    pure_equilibria,
)
from agora.models.market_model import MarketModel


def independent_regret(game: PricingGame, ps: float, pi: float) -> tuple[float, float]:
    """Each side's gain from its best deviation, relative to that deviation's payoff."""
    deviations = np.union1d(np.linspace(0.0, game.upper, 20001),
                            [b.hi for b in game.bidders if math.isfinite(b.hi)])
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
    grid = np.array(found.grid["prices"])
    A, B = game.payoffs(grid[:, None], grid[None, :])
    for m in found.equilibria:
        x = np.array([m.seller_strategy.get(float(g), 0.0) for g in grid])
        y = np.array([m.intermediary_strategy.get(float(g), 0.0) for g in grid])
        assert x.sum() == pytest.approx(1.0) and y.sum() == pytest.approx(1.0)
        assert np.max(A @ y) - x @ A @ y <= found.tolerance * np.max(A @ y)
        assert np.max(x @ B) - x @ B @ y <= found.tolerance * np.max(x @ B)


def test_mixed_equilibria_of_the_constant_value_game_are_the_splits():
    found = mixed_equilibria(PricingGame(["point:1"]), 11, adapted=False)
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


# ---- equilibria off the grid (issue 15, item 1) --------------------------------------------------

@pytest.mark.parametrize("bidders,price", [
    (["uniform:0,1"], 1 / 3),  # BR(q) = argmax p (1 - p - q) = (1 - q) / 2, fixed point 1/3
    (["exponential:1"], 1.0),  # BR(q) = argmax p exp(-(p + q)) = 1 whatever q
    (["uniform:0,1", "uniform:0,1"], 1 / math.sqrt(8)),  # d/dp p (1 - (p + q)^2) = 0 at p = q: 1 = 8 p^2
])
def test_interior_equilibrium_is_found_off_the_default_grid(bidders, price):
    """Closed forms by hand; none of these prices is a point of the default 1001-point grid's game."""
    game = PricingGame(bidders)
    eq = pure_equilibria(game)
    assert len(eq.equilibria) == 1 and eq.continuum is None
    (e,) = eq.equilibria
    assert e.seller_price == pytest.approx(price, abs=1e-7)
    assert e.intermediary_price == pytest.approx(price, abs=1e-7)
    assert e.found == FIRST_ORDER and e.largest_regret <= REGRET_RTOL
    assert max(independent_regret(game, e.seller_price, e.intermediary_price)) <= 1e-9
    d = eq.to_dict()["equilibria"][0]
    assert d["found"] == FIRST_ORDER and d["largest_regret"] == e.largest_regret


@pytest.mark.parametrize("bidders,total,ends", [
    # U[lo, 1], lo = 0.8137: S = 1 below lo, (1 - t) / (1 - lo) above; the FOC root t = 2/3 lies below lo, so
    # the total sits on the kink t = lo; to its right d/dp = 1 - p / (1 - lo) < 0 iff p > 1 - lo
    (["uniform:0.8137,1"], 0.8137, (0.1863, 0.8137 - 0.1863)),
    # Pareto alpha = 0.7 from 1: S = t^(-k) above 1, k = 10/3; right of the kink d/dp = 1 - k p < 0 iff p > 0.3
    (["pareto:0.7,1"], 1.0, (0.3, 0.7)),
])
def test_kink_continuum_off_the_grid_is_a_segment_with_verified_ends(bidders, total, ends):
    game = PricingGame(bidders)
    eq = pure_equilibria(game)
    c = eq.continuum
    assert c["total_price"] == pytest.approx(total, rel=1e-12)
    assert c["seller_price"] == pytest.approx(list(ends), rel=1e-5)
    lo, hi = c["seller_price"]
    for ps in (lo, hi, 0.5 * (lo + hi)):
        assert max(independent_regret(game, ps, total - ps)) <= 1e-9
    for ps in (lo * (1 - 1e-3), hi * (1 + 1e-3)):  # just outside: no longer an equilibrium
        assert not is_equilibrium(game, ps, total - ps)


def brute_force_near_equilibria(game: PricingGame, points: int) -> np.ndarray:
    """Grid pairs where the larger relative regret (deviations to any price, exact best responses: the
    verifier's quantities for every pair) is a local minimum over the 8 neighbours and below 2%."""
    grid = np.linspace(0.0, game.upper, points)
    best = np.array([game.best_response(x).revenue for x in grid])  # best revenue against price x
    us, ui = game.payoffs(grid[:, None], grid[None, :])
    with np.errstate(divide="ignore", invalid="ignore"):
        regret = np.maximum((best[None, :] - us) / best[None, :], (best[:, None] - ui) / best[:, None])
    regret = np.where((us + ui > 0) & np.isfinite(regret), np.maximum(regret, 0.0), np.inf)
    padded = np.pad(regret, 1, constant_values=np.inf)
    neighbours = [padded[1 + di:points + 1 + di, 1 + dj:points + 1 + dj]
                  for di in (-1, 0, 1) for dj in (-1, 0, 1) if (di, dj) != (0, 0)]
    local = (regret <= np.min(neighbours, axis=0)) & (regret <= 0.02)
    return np.column_stack([grid[np.nonzero(local)[0]], grid[np.nonzero(local)[1]]])


def _covered(found, ps: float, pi: float, reach: float) -> bool:
    near = any(abs(e.seller_price - ps) <= reach and abs(e.intermediary_price - pi) <= reach
               for e in found.equilibria)
    c = found.continuum
    on_segment = c is not None and abs(ps + pi - c["total_price"]) <= 2 * reach \
        and c["seller_price"][0] - reach <= ps <= c["seller_price"][1] + reach
    return near or on_segment


LAWS = st.one_of(
    st.tuples(st.floats(0.0, 1.0), st.floats(0.2, 2.0)).map(lambda t: f"uniform:{t[0]:.4g},{t[0] + t[1]:.4g}"),
    st.floats(0.2, 3.0).map(lambda m: f"exponential:{m:.4g}"),
    st.floats(0.6, 0.9).map(lambda a: f"pareto:{a:.4g},1"),
)


@pytest.mark.slow
@settings(max_examples=12, deadline=None, derandomize=True)
@given(st.lists(LAWS, min_size=1, max_size=2))
def test_brute_force_finds_no_pure_equilibrium_the_solver_missed(bidders):
    """Every near-equilibrium of a 61 x 61 brute force lies within 3 of its steps of a reported equilibrium
    or of the reported segment; every reported equilibrium passes the independent verifier."""
    game = PricingGame(bidders)
    found = pure_equilibria(game)
    for e in found.equilibria:
        assert max(independent_regret(game, e.seller_price, e.intermediary_price)) <= 1e-9
    points = 61
    reach = 3 * game.upper / (points - 1)
    for ps, pi in brute_force_near_equilibria(game, points):
        assert _covered(found, ps, pi, reach), (bidders, ps, pi)
