"""Stochastic stability of adaptive play (Young 1993): trees against the eps -> 0 limit, the tip
reduction against the exact chain, and the constant-value game of Theorem 5.1."""

from itertools import product
from math import ceil

import numpy as np
import pytest

from agora.market.errors import InputError
from agora.market.learning import stochastic_stability as ss
from agora.market.learning.adaptive_play import AdaptivePlay, conventions_of
from agora.market.learning.conventions import convention_resistances, convention_stability, limit_on_conventions
from agora.market.single_item.simultaneous import PricingGame, grid_game

STAG = np.array([[4.0, 0.0], [3.0, 2.0]])  # (0, 0) payoff-dominant, (1, 1) risk-dominant


def demand_game(demands, total):
    """Nash demand game: each side gets its demand if the two fit in ``total``."""
    x = np.asarray(demands, float)
    fits = x[:, None] + x[None, :] <= total
    return np.where(fits, x[:, None], 0.0), np.where(fits, x[None, :], 0.0)


def brute_potentials(r):
    """Least weight of a tree into each root, by listing every choice of one exit per class."""
    k = r.shape[0]
    best = np.full(k, np.inf)
    for root in range(k):
        others = [j for j in range(k) if j != root]
        for parents in product(range(k), repeat=len(others)):
            nxt = dict(zip(others, parents))
            if any(j == p for j, p in nxt.items()):
                continue
            ok = True
            for j in others:  # every class must lead to the root
                seen, x = set(), j
                while x != root and x not in seen:
                    seen.add(x)
                    x = nxt[x]
                ok &= x == root
            if ok:
                best[root] = min(best[root], sum(r[j, p] for j, p in nxt.items()))
    return best


@pytest.mark.parametrize("seed", range(6))
def test_arborescence_potentials_equal_brute_force(seed):
    rng = np.random.default_rng(seed)
    r = rng.integers(1, 6, size=(5, 5)).astype(float)
    np.fill_diagonal(r, 0.0)
    pot, trees = ss.stochastic_potentials(r)
    np.testing.assert_array_equal(pot, brute_potentials(r))
    for root, edges in trees.items():
        assert len(edges) == 4 and all(frm != root for frm, _ in edges)
        assert sum(r[e] for e in edges) == pot[root]
    stable, partial, _ = ss.stable_classes(r)
    assert stable == ss.stable_set(pot)
    np.testing.assert_array_equal(partial[stable], pot[stable])


def test_gth_keeps_tiny_probabilities_exact():
    """Birth-death chain with up-moves eps^4: detailed balance gives pi_j / pi_0 = eps^(4j) (4/3)^j."""
    eps, n = 1e-3, 5
    p = np.zeros((n, n))
    for j in range(n - 1):
        p[j, j + 1] = eps ** 4 * 0.4
        p[j + 1, j] = 0.3
    np.fill_diagonal(p, 1 - p.sum(axis=1))
    pi = ss.gth_stationary(p)
    exact = (eps ** 4 * 4 / 3) ** np.arange(n)
    np.testing.assert_allclose(pi, exact / exact.sum(), rtol=1e-12)


@pytest.mark.parametrize("memory,sample", [(4, 2), (4, 3), (4, 4), (3, 2)])
def test_stag_hunt_risk_dominant_stable_both_ways(memory, sample):
    play = AdaptivePlay(STAG, STAG.T, memory, (sample, sample))
    res = play.stability()
    assert conventions_of(play, res.classes) == [(0, 0), (1, 1)]
    _, exponents = play.limit()
    np.testing.assert_allclose(exponents, res.potentials - res.potentials.min(), atol=0.06)
    assert res.stable == [1]  # the risk-dominant convention
    if memory >= 2 * sample:  # Young's tips: leave (0,0) with s/3 mistakes, (1,1) with 2s/3
        np.testing.assert_array_equal(res.resistances, [[0, ceil(sample / 3)],
                                                        [ceil(2 * sample / 3), 0]])


def test_short_memory_makes_tipping_harder():
    """With m = 3 < 2s = 4 two mistakes do not tip (1, 1): play miscoordinates and comes back."""
    res = AdaptivePlay(STAG, STAG.T, 3, (2, 2)).stability()
    assert res.resistances[1, 0] == 3


GAMES = [  # (A, B, memory, samples): small games whose chains are built exactly
    (STAG, STAG.T, 4, (1, 2)),
    (STAG, STAG.T, 4, (2, 1)),
    (*demand_game([1, 2, 3], 4), 3, (1, 1)),
    (*demand_game([1, 2, 3], 4), 3, (2, 2)),
    (*demand_game([1, 2, 3], 4), 3, (2, 1)),
    (*grid_game(PricingGame(["point:1"]), 5)[1:], 2, (1, 1)),
    (*grid_game(PricingGame(["point:1"]), 4)[1:], 2, (1, 1)),
    (*grid_game(PricingGame(["uniform:0,1", "uniform:0,1"]), 4)[1:], 2, (1, 1)),
]


@pytest.mark.parametrize("A,B,memory,samples", GAMES)
def test_trees_and_limit_agree_and_reduction_matches(A, B, memory, samples):
    play = AdaptivePlay(A, B, memory, samples)
    res = play.stability()
    masses, exponents = play.limit()
    np.testing.assert_allclose(exponents, res.potentials - res.potentials.min(), atol=0.06)
    assert res.stable == [int(j) for j in np.flatnonzero(exponents < 0.5)]
    assert masses[-1].sum() > 0.99  # the recurrent classes hold the mass
    conv = conventions_of(play, res.classes)
    red = convention_stability(A, B, samples, every=True)
    assert sorted(conv) == sorted(tuple(map(int, c)) for c in red.classes)
    by_conv = dict(zip(conv, res.potentials))
    assert [by_conv[tuple(map(int, c))] for c in red.classes] == list(red.potentials)


@pytest.mark.slow
def test_exact_chain_equal_split_memory_4():
    """Demands 1, 2, 3 of 4, m = 4, s = 3 (6561 histories): only the equal split is stable."""
    play = AdaptivePlay(*demand_game([1, 2, 3], 4), 4, (3, 3))
    res = play.stability()
    _, exponents = play.limit()
    np.testing.assert_allclose(exponents, res.potentials - res.potentials.min(), atol=0.06)
    assert [conventions_of(play, res.classes)[j] for j in res.stable] == [(1, 1)]


def closed_form_exits(n, s_seller, s_int, conv):
    """Young's cheapest exits from the split (i, n-1-i) of an n-price grid of the constant value:
    a side conceding one step after ceil(s / own index) mistakes of the other, or demanding all
    the other left after ceil(s * own index / (n - 1))."""
    return [min(ceil(s_seller / i), ceil(s_int / (n - 1 - i)), ceil(s_seller * i / (n - 1)),
                ceil(s_int * (n - 1 - i) / (n - 1))) for i, _ in conv]


def test_constant_value_equal_split_unique_with_30_samples():
    """Theorem 5.1's continuum on an 11-price grid, s = 30 both sides: only p_s = p_I = V/2."""
    grid, A, B = grid_game(PricingGame(["point:1"]), 11)
    res = convention_stability(A, B, (30, 30), every=True)
    assert [(grid[res.classes[j][0]], grid[res.classes[j][1]]) for j in res.stable] == [(0.5, 0.5)]
    np.testing.assert_allclose(limit_on_conventions(res.resistances, (1e-3, 1e-4)),
                               res.potentials - res.potentials.min(), atol=0.01)
    exits = np.where(np.eye(len(res.classes), dtype=bool), np.inf, res.resistances).min(axis=1)
    assert exits.tolist() == closed_form_exits(11, 30, 30, res.classes)
    assert np.flatnonzero(exits == exits.max()).tolist() == res.stable


@pytest.mark.parametrize("s_seller,s_int", [(15, 30), (45, 30), (60, 30), (90, 30), (30, 60)])
def test_unequal_samples_move_split_to_asymmetric_nash_bargaining(s_seller, s_int):
    """The seller's stable share is within one grid step of argmax x^s_S (1 - x)^s_I."""
    grid, A, B = grid_game(PricingGame(["point:1"]), 11)
    conv, r = convention_resistances(A, B, (s_seller, s_int))
    res = convention_stability(A, B, (s_seller, s_int))
    assert len(res.stable) == 1
    share = grid[res.classes[res.stable[0]][0]]
    assert abs(share - s_seller / (s_seller + s_int)) <= 0.1 + 1e-12
    exits = np.where(np.eye(len(conv), dtype=bool), np.inf, r).min(axis=1)
    assert exits.tolist() == closed_form_exits(11, s_seller, s_int, conv)


def test_split_moves_monotonically_with_sample_ratio():
    grid, A, B = grid_game(PricingGame(["point:1"]), 11)
    shares = [grid[res.classes[res.stable[0]][0]]
              for res in (convention_stability(A, B, (s, 30)) for s in (10, 20, 30, 45, 90))]
    assert shares == sorted(shares) and shares[0] < 0.5 < shares[-1]


def test_bad_inputs_are_one_line_errors():
    with pytest.raises(InputError, match="sample size"):
        AdaptivePlay(STAG, STAG.T, 2, (3, 1))
    with pytest.raises(InputError, match="mistake rate"):
        AdaptivePlay(STAG, STAG.T, 2, (1, 1)).chain(0.0)
    with pytest.raises(InputError, match="strict pure equilibrium"):
        convention_stability(np.array([[1.0, 0.0], [0.0, 1.0]]), np.array([[0.0, 1.0], [1.0, 0.0]]),
                             (1, 1))


@pytest.mark.parametrize("seed", range(4))
def test_pruned_search_finds_every_least_class(seed):
    """stable_classes (one unforced tree, bounds, pruned forced trees) against every potential."""
    rng = np.random.default_rng(100 + seed)
    r = rng.integers(1, 4, size=(9, 9)).astype(float)
    np.fill_diagonal(r, 0.0)
    pot, _ = ss.stochastic_potentials(r)
    stable, partial, trees = ss.stable_classes(r)
    assert stable == ss.stable_set(pot)
    np.testing.assert_array_equal(partial[stable], pot[stable])
    assert all(sum(r[e] for e in trees[j]) == pot[j] for j in stable)
