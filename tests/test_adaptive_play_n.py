"""Adaptive play on n-player games (Young 1993): the vectorized chain against a loop over histories,
minimum-resistance trees against the eps -> 0 limit of the stationary distribution on three-player
games, and a three-player stag hunt whose resistances are counted by hand."""

from fractions import Fraction
from itertools import combinations, product
from math import ceil

import numpy as np
import pytest
from scipy import sparse

from agora.market.errors import InputError
from agora.market.learning.adaptive_play import AdaptivePlay, GameAdaptivePlay, conventions_of, sample_best_replies


def loop_chain(payoffs, memory, samples, eps):
    """P(eps) and the resistances, history by history: every subset of each player's sample counted
    out, best replies by comparing expected payoffs, every next profile's probability multiplied out."""
    shape = payoffs[0].shape
    n = len(shape)
    play = GameAdaptivePlay(payoffs, memory, samples)
    p, r = np.zeros((play.states, play.states)), np.zeros((play.states, play.states))
    profiles = list(product(*(range(k) for k in shape)))
    for hist in product(profiles, repeat=memory):
        src = play.history([[prof[i] for prof in hist] for i in range(n)])
        beta = []
        for i, u in enumerate(payoffs):
            chance = np.zeros(shape[i])
            subsets = list(combinations(range(memory), samples[i]))
            for sub in subsets:
                pay = np.array([sum(u[hist[t][:i] + (a,) + hist[t][i + 1:]] for t in sub) for a in range(shape[i])])
                best = pay >= pay.max() - 1e-9 * samples[i] * np.abs(u).max()
                chance += best / best.sum() / len(subsets)
            beta.append(chance)
        for prof in profiles:
            dst = play.history([[q[i] for q in hist[1:] + (prof,)] for i in range(n)])
            p[src, dst] = np.prod([(1 - eps[i]) * beta[i][prof[i]] + eps[i] / shape[i] for i in range(n)])
            r[src, dst] = sum(beta[i][prof[i]] == 0 for i in range(n))
    return p, r


def random_game(rng, shape):
    return [rng.integers(0, 4, shape).astype(float) for _ in shape]


def coordination_game(rng, shape):
    """Random payoffs 0..2 plus a bonus (2..4, per player) on the profiles where all play the same index."""
    diag = np.zeros(shape)
    for a in range(min(shape)):
        diag[(a,) * len(shape)] = 1.0
    return [rng.integers(0, 3, shape) + rng.integers(2, 5) * diag for _ in shape]


def stag_hunt_3(stag: float, hare: float):
    """Action 0 (stag) pays ``stag`` when both others hunt stag, else 0; action 1 (hare) pays ``hare``."""
    u = [np.zeros((2, 2, 2)) for _ in range(3)]
    for prof in np.ndindex(2, 2, 2):
        for i in range(3):
            others = prof[:i] + prof[i + 1:]
            u[i][prof] = hare if prof[i] == 1 else (stag if others == (0, 0) else 0.0)
    return u


@pytest.mark.parametrize("shape,memory,samples", [((2, 3), 2, (1, 2)), ((3, 2), 3, (2, 2)), ((2, 2, 2), 2, (1, 2, 1)),
                                                  ((2, 3, 2), 1, (1, 1, 1)), ((3, 2, 2), 2, (2, 1, 2))])
def test_vectorized_chain_equals_loop_over_histories(shape, memory, samples):
    payoffs = random_game(np.random.default_rng(sum(shape) * memory), shape)
    eps = (0.03, 0.07, 0.11)[:len(shape)]
    p, r = loop_chain(payoffs, memory, samples, eps)
    play = GameAdaptivePlay(payoffs, memory, samples)
    chain = play.chain(eps)
    np.testing.assert_allclose(chain.toarray(), p, rtol=1e-12, atol=0)
    np.testing.assert_array_equal(play.resistance.toarray(), r)
    assert chain.has_canonical_format and chain.nnz == play.states * play.profiles
    np.testing.assert_allclose(np.asarray(chain.sum(axis=1)).ravel(), 1.0, rtol=1e-12)


def two_player_chain(A, B, memory, samples, eps):
    """The two-player builder Agora had before the n-player one (src, dst and the actions of every move
    tiled over the states, probabilities p1 p2), as a dense matrix."""
    n1, n2 = A.shape
    h1, h2 = n1 ** memory, n2 ** memory
    beta1 = sample_best_replies(A, memory, samples[0])
    beta2 = sample_best_replies(B.T, memory, samples[1])
    ia, ib = np.divmod(np.arange(h1 * h2), h2)
    a, b = (x.ravel() for x in np.meshgrid(np.arange(n1), np.arange(n2), indexing="ij"))
    na = (ia[:, None] % (h1 // n1)) * n1 + a[None, :]
    nb = (ib[:, None] % (h2 // n2)) * n2 + b[None, :]
    src, dst = np.repeat(np.arange(h1 * h2), a.size), (na * h2 + nb).ravel()
    a, b = np.tile(a, h1 * h2), np.tile(b, h1 * h2)
    p = ((1 - eps[0]) * beta1[ib[src], a] + eps[0] / n1) * ((1 - eps[1]) * beta2[ia[src], b] + eps[1] / n2)
    r = (beta1[ib[src], a] == 0).astype(float) + (beta2[ia[src], b] == 0)
    return [sparse.csr_matrix((v, (src, dst)), shape=(h1 * h2, h1 * h2)).toarray() for v in (p, r)]


@pytest.mark.parametrize("shape,memory,samples", [((2, 2), 3, (2, 1)), ((3, 2), 2, (1, 2)), ((3, 3), 2, (2, 2)),
                                                  ((2, 3), 4, (3, 2))])
def test_two_player_case_is_bit_for_bit_the_former_builder(shape, memory, samples):
    A, B = random_game(np.random.default_rng(memory), shape)
    play = AdaptivePlay(A, B, memory, samples)
    p, r = two_player_chain(A, B, memory, samples, (0.03, 0.07))
    np.testing.assert_array_equal(play.chain((0.03, 0.07)).toarray(), p)
    np.testing.assert_array_equal(play.resistance.toarray(), r)


def test_two_player_class_is_the_two_player_game():
    """AdaptivePlay's state numbering and conventions are the n-player ones at n = 2."""
    rng = np.random.default_rng(3)
    A, B = random_game(rng, (3, 2))
    play = AdaptivePlay(A, B, 2, (1, 2))
    assert play.state([2, 0], [1, 1]) == (2 * 3 + 0) * 4 + (1 * 2 + 1)
    p, r = loop_chain([A, B], 2, (1, 2), (0.05, 0.02))
    np.testing.assert_allclose(play.chain((0.05, 0.02)).toarray(), p, rtol=1e-12, atol=0)
    res = play.stability()
    assert all(c is None or play.convention(*c) == k[0] for c, k in zip(conventions_of(play, res.classes), res.classes))


@pytest.mark.parametrize("seed,shape,memory,samples", [(0, (2, 2, 2), 1, (1, 1, 1)), (36, (2, 2, 2), 2, (1, 1, 1)),
                                                       (1, (2, 2, 2), 2, (2, 1, 2)), (3, (3, 2, 2), 2, (1, 2, 1)),
                                                       (1, (3, 3, 3), 1, (1, 1, 1)), (1, (2, 2, 2), 3, (2, 2, 1))])
def test_three_player_trees_agree_with_stationary_limit(seed, shape, memory, samples):
    """Young 1993, Theorem 4: the classes of least potential are those whose mass stays as eps -> 0,
    and each class's mass falls as eps^(potential - least potential) (GTH elimination, exact)."""
    play = GameAdaptivePlay(coordination_game(np.random.default_rng(seed), shape), memory, samples)
    res = play.stability()
    assert len(set(res.potentials)) >= 2  # classes that the limit must tell apart
    masses, exponents = play.limit()
    np.testing.assert_allclose(exponents, res.potentials - res.potentials.min(), atol=0.06)
    assert res.stable == [int(j) for j in np.flatnonzero(exponents < 0.5)]
    assert masses[-1].sum() > 0.99


@pytest.mark.parametrize("stag,hare,memory,sample", [(3.0, 2.0, 2, 1), (3.0, 2.0, 4, 2), (3.0, 2.0, 3, 3),
                                                     (5.0, 1.0, 5, 5), (4.0, 1.0, 4, 2)])
def test_three_player_stag_hunt_by_hand(stag, hare, memory, sample):
    """From all-stag, k periods of one hunter's hare tip the two others once stag (s - k) / s <= hare:
    r = ceil(s (1 - hare / stag)). From all-hare, a player turns to stag only on periods where both
    others hunted stag, and two must turn at once (one alone goes back), so the cheapest is k periods
    of all three erring, stag k / s >= hare: r = 3 ceil(s hare / stag). The least potential is the
    convention harder to leave: all-hare for stag 3, hare 2 (risk dominance), all-stag for stag 5, hare 1,
    s = 5 (4 mistakes leave it, 3 leave all-hare)."""
    play = GameAdaptivePlay(stag_hunt_3(stag, hare), memory, (sample,) * 3)
    res = play.stability()
    assert conventions_of(play, res.classes) == [(0, 0, 0), (1, 1, 1)]
    out_of_stag = ceil(Fraction(sample) * (1 - Fraction(hare) / Fraction(stag)))  # exact: 30 (1 - 2/3) is 10
    out_of_hare = 3 * ceil(Fraction(sample) * Fraction(hare) / Fraction(stag))
    assert res.resistances.tolist() == [[0.0, out_of_stag], [out_of_hare, 0.0]]
    assert res.stable == ([0] if out_of_hare < out_of_stag else [1] if out_of_stag < out_of_hare else [0, 1])
    if play.states <= 1000:
        _, exponents = play.limit((1e-2, 1e-3))
        np.testing.assert_allclose(exponents, res.potentials - res.potentials.min(), atol=0.06)


def test_bad_inputs_are_one_line_errors():
    u = stag_hunt_3(3.0, 2.0)
    with pytest.raises(InputError, match="one sample size per player"):
        GameAdaptivePlay(u, 2, (1, 1))
    with pytest.raises(InputError, match="one n-d shape"):
        GameAdaptivePlay([u[0], u[1][0]], 2, (1, 1))
    with pytest.raises(InputError, match="one mistake rate or 3"):
        GameAdaptivePlay(u, 2, (1, 1, 1)).chain((0.1, 0.1))
