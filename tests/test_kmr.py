"""Kandori-Mailath-Rob dynamics against QuantEcon (a test dependency): chain, long run, selection."""

import numpy as np
import pytest

from agora.market.errors import InputError
from agora.market.learning.kmr import KMR

qe = pytest.importorskip("quantecon")

# 2 x 2 coordination games where the payoff-dominant equilibrium (0, 0) is not risk-dominant:
# (1, 1) has the larger product of deviation losses, (2 * 2 > 1 * 1) and (7 * 7 > 1 * 1).
GAMES = [np.array([[4.0, 0.0], [3.0, 2.0]]), np.array([[9.0, 0.0], [8.0, 7.0]])]
PLAYERS = 8  # no ties between the two actions against 7 others in either game


@pytest.mark.parametrize("payoff", GAMES)
def test_stationary_distribution_equals_quantecon_markov_chain(payoff):
    kmr = KMR(payoff, PLAYERS)
    p = kmr.chain(0.1).toarray()
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-14)
    (pi_qe,) = qe.MarkovChain(p).stationary_distributions
    np.testing.assert_allclose(kmr.stationary(0.1), pi_qe, rtol=1e-9, atol=1e-15)
    mc0 = qe.MarkovChain(kmr.chain(1e-300).toarray().round(15))  # the unperturbed classes
    res = kmr.stability()
    assert sorted(c.tolist() for c in res.classes) == \
        sorted(kmr.states[c].tolist() for c in mc0.recurrent_classes)


@pytest.mark.parametrize("payoff", GAMES)
def test_long_run_equals_quantecon_simulation(payoff):
    """QuantEcon's KMR simulated 60,000 periods (eps = 0.2) against our exact pi: the share of
    periods in each state within 4 standard errors (batch means over 20 batches)."""
    eps, periods, batches = 0.2, 60_000, 20
    series = qe.game_theory.KMR(payoff, PLAYERS, epsilon=eps).time_series(
        periods, init_action_dist=[PLAYERS // 2, PLAYERS - PLAYERS // 2], random_state=1234)
    kmr = KMR(payoff, PLAYERS)
    pi = kmr.stationary(eps)
    visits = np.array([[kmr.index[tuple(d)] for d in chunk]
                       for chunk in np.split(series, batches)])
    shares = np.array([np.bincount(v, minlength=len(pi)) / v.size for v in visits])
    se = shares.std(axis=0, ddof=1) / np.sqrt(batches)
    assert np.all(np.abs(shares.mean(axis=0) - pi) <= 4 * se + 1e-3)


@pytest.mark.parametrize("payoff", GAMES)
def test_risk_dominant_equilibrium_selected(payoff):
    kmr = KMR(payoff, PLAYERS)
    res = kmr.stability(eps=1e-3)
    assert [c.tolist() for c in res.classes] == [[[PLAYERS, 0]], [[0, PLAYERS]]]  # conventions
    assert res.stable == [1]  # everyone on the risk-dominant action
    assert res.stationary[kmr.index[(0, PLAYERS)]] > 0.99
    (pi_qe,) = qe.MarkovChain(kmr.chain(1e-3).toarray()).stationary_distributions
    assert pi_qe[kmr.index[(0, PLAYERS)]] > 0.99
    assert res.resistances[0, 1] < res.resistances[1, 0]


def test_resistances_are_kmr_basin_counts():
    """Stag hunt [[4, 0], [3, 2]], N = 8: from all-0 a reviser switches to 1 once 7 - k0 others
    play 1 with 4 k0 < 3 k0 + 2 (7 - k0), i.e. k0 <= 4: 3 mutations; from all-1, 0 needs
    4 k0 > k0 + 14, k0 >= 5 others on 0: 5 mutations."""
    res = KMR(GAMES[0], PLAYERS).stability()
    np.testing.assert_array_equal(res.resistances, [[0, 3], [5, 0]])


def test_bad_inputs():
    with pytest.raises(InputError, match="square payoff matrix"):
        KMR(np.ones((2, 3)), 4)
    with pytest.raises(InputError, match="tie_breaking"):
        KMR(GAMES[0], 4, tie_breaking="largest")
    with pytest.raises(InputError, match="mutation rate"):
        KMR(GAMES[0], 4).chain(2.0)
