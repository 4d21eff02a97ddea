"""Checks shared by the tests of Q-learning agents against the compiled sessions of ``q_learning``."""

import numpy as np

from agora.market.learning.qlearning import impulse_response


def state_after(pairs: np.ndarray, points: int, memory: int) -> int:
    """The state after the joint actions ``pairs`` (oldest first): the last ``memory`` of them, base points^2."""
    state = 0
    for a, b in pairs[-memory:]:
        state = state * points * points + a * points + b
    return state


def agents_replay_the_session(path: np.ndarray, res, session, converged: bool, points: int, memory: int) -> None:
    """The agents' grid indices ``path`` (round, 2) against the recorded compiled session ``res``: the same
    joint action in every learning period, the same Q-tables to the last bit and the same stop; after it,
    the greedy path of impulse_response without a cut from the state learning ended in."""
    stop = int(res.periods[0])
    assert np.array_equal(path[:stop, 0], res.row_path[0, :stop])
    assert np.array_equal(path[:stop, 1], res.col_path[0, :stop])
    assert (res.row_path[0, stop:] == -1).all() and (res.col_path[0, stop:] == -1).all()
    assert np.array_equal(session.tables["seller"].q, res.row_q[0])
    assert np.array_equal(session.tables["intermediary"].q, res.col_q[0])
    assert session.converged is converged and session.learned == stop
    rows, cols, _ = impulse_response(res.row_q, res.col_q, np.array([state_after(path[:stop], points, memory)]),
                                     None, periods=len(path) - stop - 1)
    assert np.array_equal(path[stop:, 0], rows[0]) and np.array_equal(path[stop:, 1], cols[0])
