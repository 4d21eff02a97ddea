"""Equilibrium selection in the k-item market with two intermediaries (intermediary-proof-mechanisms).

The exact payoffs are held to the intermediary-proof evaluator (zero or equal fees), to the
convolution of per-block binomials, and to a Monte Carlo of the rounds; the three-player
dynamics to the two-player ones; the hand-derived equilibrium of a market where rationing
never binds (p_s = f_1 = f_2 = 1/3 for U[0,1]) must be found and verified.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from agora.market.errors import InputError
from agora.market.k_items.solver import convolve_all, demand_pmf, evaluate_posted, expected_min
from agora.market.learning.dynamics import Game, MatrixGame, play, play_game
from agora.market.learning.k_selection import (
    KItemMarket,
    KStudy,
    best_response,
    continuous_equilibrium,
    continuous_regrets,
    grid_equilibrium,
    k_item_rounds,
    market_draws,
    play_k_market,
    run_k_study,
    settled_equilibrium,
)
from agora.market.learning.rules import BestResponse, DemandLearning, FictitiousPlay, Hedge, RegretMatching

FREE = KItemMarket("k = n", "uniform:0,1", (3, 1), 4, 31)
BINDING = KItemMarket("k < n", "uniform:0,1", (2, 2), 2, 31)


def independent_regret(market: KItemMarket, prices, deviations: np.ndarray) -> float:
    """The largest relative gain of a deciding player from a price in ``deviations``, from the exact
    payoffs evaluated afresh (not the study's payoff tensor nor its verifier)."""
    worst = 0.0
    for i in ((1, 2) if market.seller_price is not None else (0, 1, 2)):
        trial = [np.full(deviations.size, p) for p in prices]
        trial[i] = deviations
        line = market.payoffs(*trial)[i]
        now = float(market.payoffs(*prices)[i])
        best = float(np.max(line))
        worst = max(worst, (best - now) / best if best > 0 else 0.0)
    return worst


def test_seats_of_an_n_player_game_are_its_payoffs_against_the_others_joint_profile():
    rng = np.random.default_rng(0)
    shape = (3, 4, 2)
    payoffs = tuple(rng.normal(size=shape) for _ in range(3))
    game = Game(payoffs, tuple(np.arange(d, dtype=float) for d in shape))
    seats = game.seats((2, 1, 0), np.random.SeedSequence(1))
    for _ in range(20):
        a = tuple(int(rng.integers(d)) for d in shape)
        for i, seat in enumerate(seats):
            other = int(game.strides(i) @ a)
            scale = np.max(np.abs(payoffs[i]))
            assert seat.payoff[a[i], other] == pytest.approx(payoffs[i][a] / scale, rel=1e-15)
            prices = np.delete(np.asarray(a, float), i)
            np.testing.assert_array_equal(seat.other_prices[other], prices)


def test_two_player_play_is_the_n_player_play():
    A = np.array([[3.0, 0.0], [5.0, 1.0]])
    mg = MatrixGame.of(A, A.T)
    seq = np.random.SeedSequence(4)
    p = play(mg, Hedge(0.5), RegretMatching(), (0, 1), 300, seq)
    joint = play_game(mg.general, (Hedge(0.5), RegretMatching()), (0, 1), 300, seq)
    np.testing.assert_array_equal(p.rows, joint.actions[:, 0])
    np.testing.assert_array_equal(p.cols, joint.actions[:, 1])


@pytest.mark.parametrize("ps", [0.0, 0.25, 0.6])
@pytest.mark.parametrize("fee", [0.0, 0.1])
def test_exact_payoffs_against_the_intermediary_proof_evaluator(ps, fee):
    """With equal fees every buyer faces p_s + f: the seller sells E[min(D, k)] items (evaluate_posted)."""
    for m in (FREE, BINDING):
        sold = evaluate_posted(m.distribution, m.blocks, m.items, ps + fee, welfare=False).items_sold
        assert float(m.payoffs(ps, fee, fee)[0]) == pytest.approx(ps * sold, rel=1e-13, abs=1e-15)


def test_exact_payoffs_with_unequal_fees_by_convolution_and_hypergeometric_shares():
    ps, f1, f2 = 0.3, 0.1, 0.25
    q1, q2 = 1 - ps - f1, 1 - ps - f2
    pmf1, pmf2 = demand_pmf(2, q1), demand_pmf(2, q2)
    sold = expected_min(convolve_all([pmf1, pmf2]), 2)
    got1 = sum(pmf1[d] * pmf2[e] * d * min(1.0, 2 / (d + e)) for d in range(3) for e in range(3) if d + e)
    us, u1, u2 = BINDING.payoffs(ps, f1, f2)
    assert float(us) == pytest.approx(ps * sold, rel=1e-14)
    assert float(u1) == pytest.approx(f1 * got1, rel=1e-14)
    assert float(u2) < float(u1) * f2 / f1  # block 2 asks less often
    assert float(u1) / f1 + float(u2) / f2 == pytest.approx(sold, rel=1e-14)  # every item sold goes to a block


@pytest.mark.parametrize("market,prices", [(BINDING, (0.3, 0.2, 0.05)), (FREE, (0.2, 0.3, 0.1)),
                                           (KItemMarket("m", "uniform:0,2", (3, 2), 2, 11), (0.5, 0.4, 0.2))],
                         ids=["2|2 k=2", "3|1 k=4", "3|2 k=2 U[0,2]"])
def test_monte_carlo_rounds_agree_with_the_exact_payoffs(market, prices):
    rounds = 100_000
    values, priority = market_draws(market, rounds, np.random.SeedSequence(9))
    units = k_item_rounds(market, values, priority, *prices)
    assert np.all(units.sum(axis=1) <= market.items)
    paid = np.column_stack([prices[0] * units.sum(axis=1), prices[1] * units[:, 0], prices[2] * units[:, 1]])
    exact = np.array([float(x) for x in market.payoffs(*prices)])
    z = np.abs(paid.mean(axis=0) - exact) / (paid.std(axis=0, ddof=1) / math.sqrt(rounds))
    assert np.all(z <= 4), z


def test_hand_derived_equilibrium_without_rationing_is_found_and_verified():
    """k >= n: f_j = (1 - p_s)/2 and p_s = (1 - mean fee)/2, so (1/3, 1/3, 1/3) whatever the blocks;
    Hedge reaches it from every start and the verifier passes it against any price."""
    assert continuous_equilibrium(FREE, (0.1, 0.5, 0.2)) == pytest.approx((1 / 3,) * 3, abs=1e-9)
    result = run_k_study(KStudy(FREE, Hedge(5.0), starts_per_side=2, rounds=1000, window=200, seed=3))
    third = float(FREE.game().actions[0][10])
    assert third == pytest.approx(1 / 3, abs=1e-15)
    assert result.counts == {"equilibrium": 8}
    fine = np.linspace(0.0, 1.0, 20001)
    for e in result.endings:
        assert e.prices == (third, third, third) and e.verified and e.continuous_regret <= 1e-12
        assert independent_regret(FREE, e.prices, fine) <= 1e-12
        assert e.seller_revenue == pytest.approx(4 / 9, rel=1e-12)
        assert (e.first_revenue, e.second_revenue) == pytest.approx((1 / 3, 1 / 9), rel=1e-12)


def test_payoffs_on_price_axes_equal_the_payoffs_profile_by_profile():
    """A grid's axes broadcast only in the bilinear form: each entry is the payoff at that one profile."""
    ps, f1, f2 = np.array([0.1, 0.4])[:, None, None], np.array([0.0, 0.2, 0.5])[None, :, None], np.array([0.05, 0.3])
    grid = BINDING.payoffs(ps, f1, f2)
    for a, b, c in np.ndindex(2, 3, 2):
        point = BINDING.payoffs(float(ps[a, 0, 0]), float(f1[0, b, 0]), float(f2[c]))
        for u, v in zip(grid, point):
            assert float(u[a, b, c]) == pytest.approx(float(v), rel=1e-14, abs=1e-16)


@pytest.mark.parametrize("ps, other", [(0.2, 0.1), (0.5, 0.45), (0.75, 0.0)])
def test_best_fee_without_rationing_is_half_of_what_the_seller_leaves(ps, other):
    """k >= n: block j is a posted-price market of its own, u_j = f_j b_j (1 - p_s - f_j), maximized at
    f_j = (1 - p_s)/2 (the module's docstring) whatever the other fee. Brent's search places a maximum to
    about sqrt(machine epsilon) x |f| (payoffs are flat to second order there), so within 2e-8."""
    for i, prices in ((1, (ps, 0.0, other)), (2, (ps, other, 0.0))):
        fee, payoff = best_response(FREE, prices, i)
        assert fee == pytest.approx((1 - ps) / 2, abs=2e-8)
        assert payoff == pytest.approx(FREE.blocks[i - 1] * ((1 - ps) / 2) ** 2, rel=1e-12)


def test_settled_equilibrium_with_many_buyers_and_few_items_passes_the_verifier():
    """200 buyers in two blocks, 5 items: Newton's steps from where grid best responses settle leave the
    region where buyers ask (every first-order condition is 0 there too); settling first in continuous
    prices gives a root that passes the verifier, with equal fees for equal blocks."""
    market = KItemMarket("many", "uniform:0,1", (100, 100), 5, 31)
    far = continuous_equilibrium(market, (23 / 30, 5 / 30, 5 / 30))  # the grid's settled point
    assert max(continuous_regrets(market, far)) > 0.5
    prices, regret = settled_equilibrium(market, (23 / 30, 5 / 30, 5 / 30), 1e-6)
    assert regret == max(continuous_regrets(market, prices)) <= 1e-6
    assert prices[1] == pytest.approx(prices[2], abs=1e-8)
    assert independent_regret(market, prices, np.linspace(0.0, 1.0, 4001)) <= 1e-6


def test_verifier_rejects_the_grid_ties():
    """(0.3, 11/30, 11/30) is a weak grid equilibrium (the continuous best replies fall halfway between
    grid prices) but not an equilibrium: the continuous verifier finds the gain."""
    g = FREE.game()
    assert grid_equilibrium(g, (9, 11, 11))
    assert max(continuous_regrets(FREE, (0.3, 11 / 30, 11 / 30))) > 1e-3
    assert not grid_equilibrium(g, (9, 9, 9))


@pytest.mark.parametrize("rule", [BestResponse(0.5), FictitiousPlay(), RegretMatching()], ids=lambda r: r.label)
def test_every_reported_equilibrium_passes_the_grid_verifier_and_lies_near_the_root(rule):
    result = run_k_study(KStudy(BINDING, rule, starts_per_side=2, rounds=500, window=100, seed=5))
    root = continuous_equilibrium(BINDING, (0.35, 0.3, 0.34))
    assert max(continuous_regrets(BINDING, root)) <= 1e-9
    assert root[1] == pytest.approx(root[2], abs=1e-8)  # symmetric blocks, symmetric fees
    game = BINDING.game()
    assert independent_regret(BINDING, root, np.linspace(0.0, 1.0, 20001)) <= 1e-9
    for e in result.equilibria():
        profile = tuple(int(np.searchsorted(game.actions[i], x)) for i, x in enumerate(e.prices))
        assert grid_equilibrium(game, profile) and e.grid_regret <= 1e-9
        assert independent_regret(BINDING, e.prices, game.actions[1]) <= 1e-9
        if e.trades:
            assert max(abs(a - b) for a, b in zip(e.prices, root)) <= 1 / 30 + 1e-12


def test_seller_fixed_at_a_price_is_a_game_between_the_intermediaries():
    fixed = KItemMarket("fixed", "uniform:0,1", (2, 2), 2, 31, seller_price=2 / 3)
    study = KStudy(fixed, BestResponse(0.5), starts_per_side=3, rounds=300, window=100)
    assert {s[0] for s in study.starts()} == {0} and len(study.starts()) == 9
    result = run_k_study(study)
    assert all(e.seller_price == 2 / 3 for e in result.endings)
    root = continuous_equilibrium(fixed, (0.1, 0.2))
    assert root[0] == 2 / 3 and max(continuous_regrets(fixed, root)) <= 1e-9


def test_bad_k_item_input_is_refused_with_one_line():
    makes = (lambda: KItemMarket("m", "uniform:0,1", (2,), 2),
             lambda: KItemMarket("m", "uniform:0,1", (2, 0), 2),
             lambda: KItemMarket("m", "uniform:0,1", (2, 2), 0),
             lambda: KItemMarket("m", "exponential:1", (2, 2), 2),
             lambda: KItemMarket("m", "uniform:0,1", (2, 2), 2, seller_price=-1.0),
             lambda: run_k_study(KStudy(BINDING, DemandLearning(), starts_per_side=1, rounds=5)))
    for make in makes:
        with pytest.raises(InputError) as err:
            make()
        assert "\n" not in str(err.value)


@pytest.mark.parametrize("rules", [(Hedge(5.0), RegretMatching(), FictitiousPlay()),
                                   (BestResponse(0.5), Hedge(2.0), Hedge(2.0))], ids=["mixed rules", "br-hedge"])
def test_agent_based_k_item_market_posts_the_array_dynamics_prices_and_rations_alike(rules):
    """Mesa agents under PostedFees, on the same seed (values and rationing priorities replayed),
    post the array dynamics' price and fees and each block gets the same items, every round;
    the payments add up: the seller collects p_s per item, each intermediary its fee per item."""
    from agora.models.learning_models import k_learning_model

    market = KItemMarket("3|2, k = 2", "uniform:0,1", (3, 2), 2, 21)
    seq, rounds, start = np.random.SeedSequence(5), 200, (3, 10, 18)
    joint, units = play_k_market(market, rules, start, rounds, seq)
    model = k_learning_model(market, rules, start, rounds, seq)
    for _ in range(rounds):
        model.step()
    df = model.datacollector.get_model_vars_dataframe()
    acts = market.game().actions
    for i, column in enumerate(("seller_price", "first_fee", "second_fee")):
        np.testing.assert_array_equal(df[column].to_numpy(float), acts[i][joint.actions[:, i]])
    np.testing.assert_array_equal(df[["first_items", "second_items"]].to_numpy(), units)
    assert 0 < units.sum() and units.sum(axis=1).max() <= 2
    prices = [acts[i][joint.actions[:, i]] for i in range(3)]
    np.testing.assert_allclose(df["seller_revenue"], prices[0] * units.sum(axis=1), rtol=1e-15)
    np.testing.assert_allclose(df["intermediary_revenue"], prices[1] * units[:, 0] + prices[2] * units[:, 1],
                               rtol=1e-15)
    assert model.seller.cumulative_revenue == pytest.approx(float(np.sum(prices[0] * units.sum(axis=1))))


def test_mixed_regret_of_a_three_player_game_by_hand():
    """u_i = 1 when player i matches the next player (mod 3): uniform play is an equilibrium (every
    action earns 1/2); against the others' pure action 0, player i's uniform play earns 1/2 of the 1
    that action 0 earns, a relative regret of 1/2."""
    from agora.market.learning.k_selection import mixed_regret

    a = np.indices((2, 2, 2))
    game = Game(tuple((a[i] == a[(i + 1) % 3]).astype(float) for i in range(3)), (np.arange(2.0),) * 3)
    half = np.array([0.5, 0.5])
    assert mixed_regret(game, [half, half, half]) == 0.0
    assert mixed_regret(game, [half, np.array([1.0, 0.0]), np.array([1.0, 0.0])]) == pytest.approx(0.5)


def test_seller_first_by_hand_without_rationing():
    """k >= n, U[0,1]: against p_s the intermediaries answer f_j = (1 - p_s)/2, so the seller earns
    p_s (b_1 + b_2)(1 - p_s)/2 = 2 p_s (1 - p_s): it commits to 1/2, fees 1/4, revenue 1/2 (> 4/9)."""
    from agora.market.learning.k_selection import seller_first

    prices, revenue = seller_first(FREE)
    assert prices == pytest.approx((0.5, 0.25, 0.25), abs=1e-6)
    assert revenue == pytest.approx(0.5, abs=1e-9)
