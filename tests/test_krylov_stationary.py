"""The stationary distribution by restarted GMRES against GTH elimination and sparse LU on history chains."""

import numpy as np
import pytest

from agora.market.learning import stochastic_stability as ss
from agora.market.learning.adaptive_play import AdaptivePlay, GameAdaptivePlay
from agora.market.single_item.simultaneous import PricingGame, grid_game
from tests.test_adaptive_play_n import coordination_game


def constant_value(points: int, memory: int, sample: int) -> AdaptivePlay:
    _, A, B = grid_game(PricingGame(["point:1"]), points)
    return AdaptivePlay(A, B, memory, (sample, sample))


@pytest.mark.parametrize("eps,l1", [(0.05, 1e-10), (1e-3, 1e-10)])
def test_gmres_equals_gth_on_small_chain(eps, l1):
    """5 prices, m = 2 (625 histories): GTH is exact to rounding; GMRES's residual 1e-12 leaves ~1e-12."""
    play = constant_value(5, 2, 1)
    p = play.chain(eps)
    x, exact = ss.krylov_stationary(p), ss.gth_stationary(p.toarray())
    assert np.abs(x - exact).sum() < l1
    for c in play.stability().classes:
        assert x[c].sum() == pytest.approx(exact[c].sum(), rel=1e-9)


@pytest.mark.parametrize("eps,l1", [(0.05, 1e-9), (1e-3, 1e-7)])
def test_gmres_equals_sparse_lu_on_three_player_chain(eps, l1):
    """Three players, m = 4, s = 2 (4096 histories, two conventions): against sparse LU. At eps = 1e-3 the
    system's condition (the time between conventions, ~eps^-1) turns the 1e-12 residual into ~1e-8."""
    play = GameAdaptivePlay(coordination_game(np.random.default_rng(2), (2, 2, 2)), 4, (2, 2, 2))
    p = play.chain(eps)
    x = ss.krylov_stationary(p)
    lu = ss.stationary(p)  # 4096 <= LU_STATES: sparse LU
    assert np.abs(x - lu).sum() < l1
    masses = [(x[c].sum(), lu[c].sum()) for c in play.stability().classes]
    assert len(masses) == 2 and all(a == pytest.approx(b, rel=1e-6) for a, b in masses)
    assert min(b for _, b in masses) > 0.01  # both conventions carry mass at these eps


def test_large_chains_go_to_gmres():
    """Above LU_STATES, :func:`stationary` is GMRES: 3 prices, m = 5 (59049 histories) solves to a fixed
    point of P to the stated residual."""
    play = constant_value(3, 5, 2)
    assert play.states > ss.LU_STATES
    p = play.chain(0.05)
    x = ss.stationary(p)
    assert np.linalg.norm(p.T @ x - x) <= 10 * ss.KRYLOV_RTOL * np.linalg.norm(np.full(x.size, 1 / x.size))
    assert x.min() >= 0 and x.sum() == pytest.approx(1.0, rel=1e-14)


def test_an_unreachable_tolerance_is_an_error():
    with pytest.raises(ArithmeticError, match="GMRES did not reach"):
        ss.krylov_stationary(constant_value(3, 2, 1).chain(0.1), rtol=1e-300)


@pytest.mark.slow
def test_390625_histories_trees_limit_and_reduction_agree():
    """The constant-value game on 5 prices, m = 4, s = 2 (about 20 s): minimum-resistance trees on the exact
    chain, the eps -> 0 limit of its stationary masses (GMRES at eps = 1e-3, 1e-4) and Young's tip reduction
    all make the splits (0.25, 0.75), (0.5, 0.5), (0.75, 0.25) stable with potential 2; the equal split holds
    99% of the mass, each other 0.26%."""
    from agora.market.learning.adaptive_play import conventions_of
    from agora.market.learning.conventions import convention_stability

    play = constant_value(5, 4, 2)
    assert play.states == 390_625
    res = play.stability()
    masses, exponents = play.limit((1e-3, 1e-4))
    red = convention_stability(play.A, play.B, (2, 2), every=True)
    assert conventions_of(play, res.classes) == [tuple(map(int, c)) for c in red.classes] == [(1, 3), (2, 2), (3, 1)]
    assert list(res.potentials) == list(red.potentials) == [2.0, 2.0, 2.0]
    np.testing.assert_allclose(exponents, 0.0, atol=0.05)
    assert masses[-1][1] > 0.99 and masses[-1].sum() > 0.999
