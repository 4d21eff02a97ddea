"""The n-player reduction of adaptive play to conventions (Young 1993) against the exact chain over
histories, against the two-player reduction at n = 2, and a three-player stag hunt counted by hand."""

from fractions import Fraction
from math import ceil

import numpy as np
import pytest

from agora.market.errors import InputError
from agora.market.learning.adaptive_play import GameAdaptivePlay, conventions_of
from agora.market.learning.conventions import convention_resistances
from agora.market.learning.conventions_n import profile_stability, resistances, strict_profiles
from agora.market.learning.k_selection import KItemMarket
from agora.market.single_item.simultaneous import PricingGame, grid_game
from tests.test_adaptive_play_n import coordination_game, stag_hunt_3


def k_market(points: int, blocks=(2, 2)):
    """n = 4 U[0,1] buyers in two blocks, k = 2 items: the seller's price and two fees on one grid."""
    return KItemMarket("k", "uniform:0,1", blocks, 2, points).game()


CASES = [(stag_hunt_3(3.0, 2.0), 4, (2, 2, 2)), (stag_hunt_3(5.0, 1.0), 4, (2, 2, 2)),
         (coordination_game(np.random.default_rng(1), (3, 3, 3)), 2, (1, 1, 1)),
         (coordination_game(np.random.default_rng(4), (3, 3, 3)), 2, (1, 1, 1)),
         (coordination_game(np.random.default_rng(1), (2, 2, 2)), 4, (2, 2, 1)),
         (coordination_game(np.random.default_rng(2), (2, 2, 2)), 4, (2, 2, 2)),
         (k_market(5).payoffs, 2, (1, 1, 1))]


@pytest.mark.parametrize("payoffs,memory,samples", CASES)
def test_reduction_equals_exact_chain(payoffs, memory, samples):
    """Memory m = 2 max s: the recurrent classes of the chain over histories are the conventions, and
    the least resistance between them (Dijkstra over every history) is the reduction's."""
    play = GameAdaptivePlay(payoffs, memory, samples)
    exact = play.stability()
    conv, r = resistances(payoffs, samples)
    found = conventions_of(play, exact.classes)
    assert sorted(found) == sorted(conv) and len(conv) >= 2
    order = [conv.index(c) for c in found]
    np.testing.assert_array_equal(r[np.ix_(order, order)], exact.resistances)


def test_short_memory_keeps_a_cycle_the_reduction_does_not_see():
    """Blocks 3|1 on 5 prices, m = 2, s = 1: the exact chain has a class of 4 histories that is no
    convention beside the one convention (2, 1, 1), both of potential 1; the reduction lists only the
    convention (the limit of its premise, see the module)."""
    game = k_market(5, (3, 1))
    play = GameAdaptivePlay(game.payoffs, 2, (1, 1, 1))
    res = play.stability()
    assert [c.size for c in res.classes] == [4, 1] and conventions_of(play, res.classes) == [None, (2, 1, 1)]
    assert list(res.potentials) == [1.0, 1.0]
    assert resistances(game.payoffs, (1, 1, 1)) == ([(2, 1, 1)], np.zeros((1, 1)))


@pytest.mark.parametrize("points,sample", [(11, 30), (11, 10), (15, 20)])
def test_two_players_equal_the_two_player_reduction(points, sample):
    """At n = 2 the repeated mistakes of both players never beat one player's: the constant-value game's
    conventions and resistances are those of :func:`convention_resistances`."""
    _, A, B = grid_game(PricingGame(["point:1"]), points)
    conv, r = convention_resistances(A, B, (sample, sample))
    conv_n, r_n = resistances([A, B], (sample, sample))
    assert conv_n == conv and len(conv) >= 5
    np.testing.assert_array_equal(r_n, r)


@pytest.mark.parametrize("stag,hare,sample", [(3.0, 2.0, 10), (3.0, 2.0, 30), (5.0, 1.0, 20), (10.0, 3.0, 7)])
def test_three_player_stag_hunt_by_hand(stag, hare, sample):
    """r(all-stag -> all-hare) = ceil(s (1 - hare / stag)), r(all-hare -> all-stag) = 3 ceil(s hare / stag)
    (tests/test_adaptive_play_n.py derives both); the harder one to leave is stable."""
    res = profile_stability(stag_hunt_3(stag, hare), (sample,) * 3)
    out_of_stag = ceil(Fraction(sample) * (1 - Fraction(hare) / Fraction(stag)))  # exact: 30 (1 - 2/3) is 10
    out_of_hare = 3 * ceil(Fraction(sample) * Fraction(hare) / Fraction(stag))
    assert [tuple(map(int, c)) for c in res.classes] == [(0, 0, 0), (1, 1, 1)]
    assert res.resistances.tolist() == [[0.0, out_of_stag], [out_of_hare, 0.0]]
    assert res.stable == ([0] if out_of_hare < out_of_stag else [1] if out_of_stag < out_of_hare else [0, 1])


def test_strict_profiles_by_definition():
    """Every profile checked by hand: each action the unique maximum of its player's payoff line."""
    g = k_market(7, (3, 1))
    found = strict_profiles(g.payoffs)
    expected = []
    for prof in np.ndindex(g.payoffs[0].shape):
        ok = True
        for i, u in enumerate(g.payoffs):
            line = u[prof[:i] + (slice(None),) + prof[i + 1:]]
            ok &= bool(np.all(np.delete(line, prof[i]) < line[prof[i]]))
        if ok:
            expected.append(prof)
    assert found == expected and found


def test_bad_inputs_are_one_line_errors():
    with pytest.raises(InputError, match="one sample size"):
        resistances(stag_hunt_3(3.0, 2.0), (1, 1))
    with pytest.raises(InputError, match="no strict pure equilibrium"):
        resistances([np.zeros((2, 2, 2))] * 3, (1, 1, 1))
