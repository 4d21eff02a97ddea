"""Tabular Q-learning sessions: a strictly dominant action is learned; sessions do not depend on
which other sessions run beside them or on how they are split among workers."""

from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pytest

from agora.market.errors import InputError
from agora.market.learning.qlearning import profit_gain, q_learning, session_seeds

PD = np.array([[3.0, 0.0], [4.0, 1.0]])  # action 1 (defect) strictly dominant
THREE = np.array([[1.0, 2.0, 0.0], [2.0, 3.0, 1.0], [0.5, 1.5, -0.5]])  # action 1 dominant
KW = dict(alpha=0.3, beta=2e-3, delta=0.0, periods=20_000, window=1_000)


@pytest.mark.parametrize("A", [PD, THREE])
def test_strictly_dominant_action_learned(A):
    res = q_learning(A, A.T, session_seeds(7, 8), **KW)
    assert res.converged.all()
    dominant = int(np.argmax(A.min(axis=1)))
    assert (res.row_action == dominant).all() and (res.col_action == dominant).all()
    np.testing.assert_allclose(res.row_payoff, A[dominant, dominant])


def _run(seeds):
    return q_learning(PD, PD.T, seeds, **KW)


def test_sessions_bit_identical_whatever_the_split():
    seeds = session_seeds(11, 6)
    whole = _run(seeds)
    with ProcessPoolExecutor(2) as pool:
        parts = list(pool.map(_run, [seeds[:2], seeds[2:]]))
    for field in ("converged", "periods", "row_action", "col_action", "row_payoff", "col_payoff"):
        joined = np.concatenate([getattr(p, field) for p in parts])
        assert np.array_equal(getattr(whole, field), joined), field
    single = _run(seeds[3:4])
    assert single.periods[0] == whole.periods[3]


def test_profit_gain():
    assert profit_gain(0.25, 0.2, 0.3) == pytest.approx(0.5, abs=1e-15)
    with pytest.raises(InputError, match="joint-monopoly"):
        profit_gain(1.0, 0.3, 0.2)


def test_bad_parameters():
    with pytest.raises(InputError, match="alpha"):
        q_learning(PD, PD.T, session_seeds(0, 1), alpha=0.0)
    with pytest.raises(InputError, match="delta"):
        q_learning(PD, PD.T, session_seeds(0, 1), delta=1.0)


def test_pricing_sessions_benchmarks_by_hand():
    """U[0,1] and U[0,2], 7 prices on [0, 2]: Nash (2/3, 2/3) sells w.p. 1 - 2/3 (total 4/9);
    the integrated monopolist's best grid total 2/3 sells w.p. 1 - (2/3)(1/3) = 7/9 (14/27)."""
    from agora.market.learning.qlearning import pricing_sessions

    d = pricing_sessions(["uniform:0,1", "uniform:0,2"], 7, session_seeds(3, 4), alpha=0.3,
                         beta=2e-3, delta=0.0, periods=10_000, window=1_000)
    assert d["nash_profit"] == pytest.approx(4 / 9, rel=1e-9)
    assert d["monopoly_profit"] == pytest.approx(14 / 27, rel=1e-9)
    total = d["seller_profit"] + d["intermediary_profit"]
    assert d["profit_gain"] == pytest.approx((total - 4 / 9) / (14 / 27 - 4 / 9), rel=1e-9)
    with pytest.raises(InputError, match="trading pure equilibria"):
        pricing_sessions(["point:1"], 5, session_seeds(0, 1), periods=10, window=5)
