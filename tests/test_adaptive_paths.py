"""Sample paths of adaptive play with mistakes (market/learning/adaptive_paths.py) against the exact chain.

What must hold: the share of periods a simulated path spends in a set of histories converges to the set's
stationary mass under the exact perturbed chain over histories (market/learning/adaptive_play.py builds it
from the sampling combinatorics; the simulator never reads it), within the path's own sampling error: the
asymptotic variance of a time average of an indicator, from the chain's fundamental matrix
Z = (I - P + 1 pi)^-1 (Kemeny and Snell): sigma^2 = 2 pi (f Z f) - pi f^2 for f centred. The history index of
each period follows the chain's encoding, and the run length flags a convention exactly when the last m
plays are one pair.
"""

from __future__ import annotations

import numpy as np
import pytest

from agora.market.learning import stochastic_stability as ss
from agora.market.learning.adaptive_paths import history_states, simulate
from agora.market.learning.adaptive_play import AdaptivePlay
from agora.market.learning.stochastic_stability import asymptotic_sd
from agora.market.single_item.simultaneous import PricingGame, grid_game

STAG = np.array([[4.0, 0.0], [3.0, 2.0]])
Z_BOUND = 4.5  # a bound no correct simulator exceeds but once in ~1e5 runs


CASES = [  # (A, B, memory, samples, eps, start)
    (STAG, STAG.T, 3, (2, 1), (0.2, 0.1), (0, 0)),
    (*grid_game(PricingGame(["point:1"]), 5)[1:], 2, (1, 2), (0.1, 0.05), (2, 2)),
    (*grid_game(PricingGame(["uniform:0,1", "uniform:0,1"]), 4)[1:], 2, (2, 1), (0.3, 0.3), (0, 3)),
]


@pytest.mark.parametrize("A,B,memory,samples,eps,start", CASES)
def test_time_shares_match_the_exact_stationary_distribution(A, B, memory, samples, eps, start):
    steps = 30_000
    play = AdaptivePlay(A, B, memory, samples)
    p = play.chain(eps).toarray()
    pi = ss.stationary(play.chain(eps))
    states = history_states(simulate(A, B, memory, samples, eps, steps, np.random.default_rng(7), start),
                            A.shape, start)
    sets = [np.argsort(pi)[-1:], np.argsort(pi)[-len(pi) // 4:], np.concatenate(play.classes)]
    for s in sets:
        f = np.isin(np.arange(play.states), s).astype(float)
        share, sd = float(np.isin(states, s).mean()), asymptotic_sd(p, pi, f)
        assert abs(share - pi[s].sum()) <= Z_BOUND * sd / np.sqrt(steps) + 1e-12, (s, share, pi[s].sum(), sd)


def test_history_index_and_convention_flag_follow_the_plays():
    A, B = grid_game(PricingGame(["point:1"]), 4)[1:]
    memory, start = 3, (1, 2)
    path = simulate(A, B, memory, (2, 3), (0.4, 0.4), 400, np.random.default_rng(3), start)
    play = AdaptivePlay(A, B, memory, (2, 3))
    states = history_states(path, A.shape, start)
    rows = [start[0]] * memory + path.rows.tolist()
    cols = [start[1]] * memory + path.cols.tolist()
    for t in range(len(path.rows)):
        r, c = rows[t + 1:t + 1 + memory], cols[t + 1:t + 1 + memory]
        assert states[t] == play.state(r, c)
        assert path.at_convention[t] == (len(set(zip(r, c))) == 1)


def test_same_seed_same_path_and_mistake_free_play_stays_at_a_convention():
    args = (STAG, STAG.T, 4, (2, 2), (0.1, 0.1), 5000)
    one, two = (simulate(*args, np.random.default_rng(11)) for _ in range(2))
    assert np.array_equal(one.rows, two.rows) and np.array_equal(one.cols, two.cols)
    still = simulate(STAG, STAG.T, 4, (2, 2), (1e-300, 1e-300), 500, np.random.default_rng(0), (1, 1))
    assert np.all(still.rows == 1) and np.all(still.cols == 1) and np.all(still.at_convention)


def test_asymptotic_sd_of_a_two_state_chain_is_the_closed_form():
    """P = [[1 - a, a], [b, 1 - b]], f the indicator of state 0: sigma^2 = pi0 pi1 (2 - a - b) / (a + b)."""
    a, b = 0.1, 0.3
    p = np.array([[1 - a, a], [b, 1 - b]])
    pi = np.array([b, a]) / (a + b)
    expected = pi[0] * pi[1] * (2 - a - b) / (a + b)
    assert asymptotic_sd(p, pi, np.array([1.0, 0.0])) ** 2 == pytest.approx(expected, rel=1e-12)
