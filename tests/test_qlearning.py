"""Tabular Q-learning sessions: a strictly dominant action is learned; sessions do not depend on
which other sessions run beside them or on how they are split among workers."""

from concurrent.futures import ProcessPoolExecutor
from fractions import Fraction

import numpy as np
import pytest

from agora.market.errors import InputError
from agora.market.learning.qlearning import grid_equilibria, impulse_response, profit_gain, q_learning, session_seeds

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
    assert d["nash"]["grid_equilibria"] == 3  # (1/3, 1), (2/3, 2/3), (1, 1/3): test_grid_equilibria_exact
    assert (d["nash"]["seller_price"], d["nash"]["intermediary_price"]) == pytest.approx((2 / 3, 2 / 3))
    assert d["nash"]["against_any_price"]  # the tie goes to the game's own equilibrium
    with pytest.raises(InputError, match="joint-monopoly profit 1"):
        pricing_sessions(["point:1"], 5, session_seeds(0, 1), periods=10, window=5)


def _sale(t: Fraction) -> Fraction:
    """P[max(U[0,1], U[0,2]) >= t]."""
    return 1 - t * t / 2 if t < 1 else max(1 - t / 2, Fraction(0))


def test_grid_equilibria_exact():
    """The 7-price game of U[0,1] and U[0,2] on [0, 2], brute force in exact arithmetic: a pair is an
    equilibrium when no grid deviation of either side earns strictly more."""
    from agora.market.single_item.simultaneous import REGRET_RTOL, PricingGame, grid_game

    prices = [Fraction(k, 3) for k in range(7)]
    def seller(p, q):
        return p * _sale(p + q)
    exact = [(i, j) for i, p in enumerate(prices) for j, q in enumerate(prices)
             if seller(p, q) + seller(q, p) > 0 and seller(p, q) == max(seller(x, q) for x in prices)
             and seller(q, p) == max(seller(y, p) for y in prices)]
    assert exact == [(1, 3), (2, 2), (3, 1)]
    _, A, B = grid_game(PricingGame(["uniform:0,1", "uniform:0,2"]), 7)
    assert grid_equilibria(A, B, REGRET_RTOL).tolist() == [list(e) for e in exact]


GAP = np.array([[0.0, 1.0, 2.0], [1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])  # row 2's least beats every other entry


@pytest.mark.parametrize("deviator, lowest, cut", [(0, False, 1), (0, True, 0), (1, False, 1), (1, True, 0)])
def test_impulse_with_a_constant_greedy_strategy(deviator, lowest, cut):
    """delta = 0: every Q-value of an action stays a mean of its initial value (the row mean) and payoffs
    it earned, so within [its row's least, its row's most]; in GAP action 2's least (4) beats every other
    action's most (3), so the greedy action is 2 in every state at every period. Hence the greedy
    strategies never change (each session converges at period = window), and after the cut (to 1, or to
    0) the deviator returns to 2 at once while the other side never moves."""
    res = q_learning(GAP, GAP.T, session_seeds(2, 3), alpha=0.3, beta=2e-3, delta=0.0, periods=5_000,
                     window=700)
    assert (res.periods == 700).all() and res.converged.all()
    rows, cols, changed = impulse_response(res.row_q, res.col_q, res.cycle_state, deviator, lowest, 8)
    forced, other = (rows, cols) if deviator == 0 else (cols, rows)
    assert changed.all()
    assert (forced == [2, cut] + [2] * 7).all() and (other == 2).all()
    rows, cols, changed = impulse_response(res.row_q, res.col_q, res.cycle_state, None, periods=8)
    assert (rows == 2).all() and (cols == 2).all() and not changed.any()


def test_impulse_of_hand_built_strategies():
    """Two actions, memory 1 (state 2a + b of the last joint action), both sessions starting at (1, 1).
    Session 0, tit for tat (each copies the other's last action): the row's cut to 0 echoes back and
    forth for ever, row 1 0 1 0 ..., column 1 1 0 1 .... Session 1, grim (1 only after (1, 1)): after the
    cut both play 0 from period 2 on, a punishment that never ends."""
    states = np.arange(4)
    copy_col, copy_row, grim = states % 2, states // 2, (states == 3).astype(int)
    def table(greedy):
        return np.eye(2)[greedy]  # Q = 1 on the greedy action, 0 on the other
    row_q = np.stack([table(copy_col), table(grim)])
    col_q = np.stack([table(copy_row), table(grim)])
    rows, cols, changed = impulse_response(row_q, col_q, np.array([3, 3]), 0, False, 6)
    assert changed.tolist() == [True, True]
    assert rows.tolist() == [[1, 0, 1, 0, 1, 0, 1], [1, 0, 0, 0, 0, 0, 0]]
    assert cols.tolist() == [[1, 1, 0, 1, 0, 1, 0], [1, 1, 0, 0, 0, 0, 0]]
    rows, cols, _ = impulse_response(row_q, col_q, np.array([3, 3]), None, periods=6)
    assert (rows == 1).all() and (cols == 1).all()  # no cut: (1, 1) for ever under both
    rows, _, changed = impulse_response(row_q, col_q, np.array([0, 0]), 0, False, 2)
    assert changed.tolist() == [False, False] and rows.tolist() == [[0, 0, 0], [0, 0, 0]]
    with pytest.raises(InputError, match="deviator"):
        impulse_response(row_q, col_q, np.array([3, 3]), 2)


def test_impulse_cuts_below_what_the_cycle_would_play_next():
    """Three row actions against a column player with one; the row plays 1 after it played 2, else 2:
    the cycle 2 1 2 1 .... The step cut in period 1 is one below the 1 it would play then, so 0; after a
    0 it plays 2, and the cycle resumes: 2 0 2 1 2 1."""
    row_greedy = np.array([2, 2, 1])  # by the row's last action (state = last action, one column action)
    row_q = np.eye(3)[row_greedy][None]
    col_q = np.ones((1, 3, 1))
    rows, cols, changed = impulse_response(row_q, col_q, np.array([1]), 0, False, 5)
    assert rows.tolist() == [[2, 0, 2, 1, 2, 1]] and (cols == 0).all() and changed.all()
    rows, _, _ = impulse_response(row_q, col_q, np.array([1]), None, periods=5)
    assert rows.tolist() == [[2, 1, 2, 1, 2, 1]]


def test_progress_ticks_count_the_periods_run():
    """GAP's greedy strategies never change (test_impulse_with_a_constant_greedy_strategy), so every
    session converges at period 700, inside the first block of 1024: one tick of 1024 and a stop; with
    600 periods, one tick of 600."""
    ticks = []
    q_learning(GAP, GAP.T, session_seeds(2, 2), delta=0.0, periods=5_000, window=700, tick=ticks.append)
    assert ticks == [1024]
    ticks.clear()
    q_learning(GAP, GAP.T, session_seeds(2, 2), delta=0.0, periods=600, window=600, tick=ticks.append)
    assert ticks == [600]


def array_sessions(A, B, seeds, alpha, beta, delta, memory, periods, window):
    """The same algorithm written period by period over arrays of sessions in numpy (fancy indexing,
    argmax over whole rows): the Q-tables and convergence periods to compare with."""
    from agora.market.learning.qlearning import BLOCK

    n1, n2 = A.shape
    joint, m = n1 * n2, len(seeds)
    states = joint ** memory
    rngs = [np.random.Generator(np.random.Philox(s)) for s in seeds]
    q1 = np.broadcast_to(A.mean(axis=1) / (1 - delta), (m, states, n1)).copy()
    q2 = np.broadcast_to(B.mean(axis=0) / (1 - delta), (m, states, n2)).copy()
    state, stable, done = np.zeros(m, np.int64), np.zeros(m, np.int64), np.zeros(m, bool)
    when, rows = np.full(m, periods), np.arange(m)
    for start in range(0, periods, BLOCK):
        draws = np.stack([g.random((BLOCK, 4)) for g in rngs], axis=1)
        for t in range(start, min(start + BLOCK, periods)):
            u, live = draws[t - start], ~done
            g1, g2 = q1[rows, state].argmax(axis=1), q2[rows, state].argmax(axis=1)
            a = np.where(u[:, 0] < np.exp(-beta * t), (u[:, 2] * n1).astype(np.int64), g1)
            b = np.where(u[:, 1] < np.exp(-beta * t), (u[:, 3] * n2).astype(np.int64), g2)
            nxt = (state * joint + a * n2 + b) % states
            t1 = A[a, b] + delta * q1[rows, nxt].max(axis=1)
            t2 = B[a, b] + delta * q2[rows, nxt].max(axis=1)
            r, s, x, y = rows[live], state[live], a[live], b[live]
            q1[r, s, x] += alpha * (t1[live] - q1[r, s, x])
            q2[r, s, y] += alpha * (t2[live] - q2[r, s, y])
            changed = (q1[rows, state].argmax(axis=1) != g1) | (q2[rows, state].argmax(axis=1) != g2)
            stable = np.where(changed, 0, stable + 1)
            newly = live & (stable >= window)
            when[newly], done = t + 1, done | newly
            state = np.where(live, nxt, state)
    return q1, q2, done, when


RECT_A, RECT_B = np.arange(12.0).reshape(3, 4) % 5, np.arange(12.0).reshape(3, 4) % 3  # 3 x 4, ties included


@pytest.mark.parametrize("A, B, memory, window", [(THREE, THREE.T, 2, 600), (RECT_A, RECT_B, 1, 300)])
def test_compiled_periods_equal_the_array_algorithm(A, B, memory, window):
    """The compiled loop (one session after another, greedy actions kept per state) against the
    period-by-period array form: equal Q-tables to the last bit, and equal convergence, with some
    sessions stopping part-way through a block and some running to the end."""
    kw = dict(alpha=0.4, beta=1e-3, delta=0.9, memory=memory, periods=3_000, window=window)
    res = q_learning(A, B, session_seeds(21, 4), **kw)
    q1, q2, done, when = array_sessions(A, B, session_seeds(21, 4), **kw)
    assert np.array_equal(res.row_q, q1) and np.array_equal(res.col_q, q2)
    assert np.array_equal(res.converged, done) and np.array_equal(res.periods, when)
    assert done.any() and not done.all()


def test_payoffs_must_be_finite():
    with pytest.raises(InputError, match="finite"):
        q_learning(np.array([[1.0, np.nan], [0.0, 1.0]]), PD, session_seeds(0, 1))


def test_ticks_across_chunks():
    """Ticks are per block of 1024 periods whatever the chunk a session runs at a time (32768): 40,000
    periods without convergence are 39 blocks and 64 periods; GAP converges at period = window
    (test_impulse_with_a_constant_greedy_strategy), here 33,000, inside block 33, then stops."""
    ticks = []
    q_learning(PD, PD.T, session_seeds(0, 1), periods=40_000, window=40_000, tick=ticks.append)
    assert ticks == [1024] * 39 + [64]
    ticks.clear()
    res = q_learning(GAP, GAP.T, session_seeds(2, 2), delta=0.0, periods=70_000, window=33_000, tick=ticks.append)
    assert (res.periods == 33_000).all() and ticks == [1024] * 33


def test_sessions_do_not_depend_on_the_chunk(monkeypatch):
    """Period t takes uniforms 4t .. 4t + 3 of its session's stream however many are drawn at a time:
    chunks of 1000 periods (not a multiple of anything else) give the same Q-tables and stops."""
    from agora.market.learning import qlearning

    kw = dict(alpha=0.4, beta=1e-3, delta=0.9, memory=1, periods=3_500, window=300)
    whole = q_learning(RECT_A, RECT_B, session_seeds(21, 4), **kw)
    monkeypatch.setattr(qlearning, "CHUNK", 1000)
    chunked = q_learning(RECT_A, RECT_B, session_seeds(21, 4), **kw)
    assert np.array_equal(whole.row_q, chunked.row_q) and np.array_equal(whole.col_q, chunked.col_q)
    assert np.array_equal(whole.periods, chunked.periods) and whole.converged.any()
