"""Speed of the Q-learning sessions (pytest-benchmark; run with `make bench`). Target: one million
periods of 100 sessions in under 30 s, i.e. >= 33,333 periods/s.

Rates are periods per CPU second of this process, each beside baselines measured in the same
run: numpy's Philox generator drawing the sessions' uniforms alone (four a period a session, in
the same chunks), and the same algorithm written period by period over arrays of sessions in
numpy (tests/test_qlearning.py's reference).
"""

import time

import numpy as np

from agora.market.learning.qlearning import CHUNK, q_learning, session_seeds
from agora.market.single_item.simultaneous import PricingGame, grid_game
from tests.test_qlearning import array_sessions

SESSIONS, PERIODS, ARRAY_PERIODS = 100, 50_000, 1_000
KW = dict(alpha=0.15, beta=4e-6, delta=0.95, memory=1)


def _rate(run, periods: int) -> float:
    start = time.process_time()
    run(periods)
    return periods / (time.process_time() - start)


def _draws(periods: int) -> None:
    rngs = [np.random.Generator(np.random.Philox(s)) for s in session_seeds(0, SESSIONS)]
    chunk = np.empty((min(CHUNK, periods), 4))
    for start in range(0, periods, CHUNK):
        for g in rngs:
            g.random(out=chunk[:min(CHUNK, periods - start)])


def test_q_learning_100_sessions(benchmark, performance):
    """100 sessions, 41 prices, memory 1, 50,000 periods (two chunks; none converges within: window =
    periods)."""
    _, A, B = grid_game(PricingGame(["uniform:0,1", "uniform:0,2"]), 41)
    q_learning(A, B, session_seeds(0, 1), periods=10, window=10)  # compiled (or loaded from the cache)

    def compiled(periods):
        return q_learning(A, B, session_seeds(0, SESSIONS), periods=periods, window=periods, **KW)

    benchmark.pedantic(compiled, args=(PERIODS,), rounds=1, iterations=1)
    rate = max(_rate(compiled, PERIODS) for _ in range(2))
    draws = max(_rate(_draws, PERIODS) for _ in range(2))
    arrays = _rate(lambda p: array_sessions(A, B, session_seeds(0, SESSIONS), periods=p, window=p, **KW),
                   ARRAY_PERIODS)
    benchmark.extra_info.update({"periods_per_second": rate, "draws_alone": draws, "numpy_arrays": arrays,
                                 "million_periods_seconds": 1e6 / rate})
    print(f"\nQ-learning, {SESSIONS} sessions on 41 prices: {rate:.0f} periods/s ({1e6 / rate:.1f} s for 10^6); "
          f"draws alone {draws:.0f}/s ({rate / draws:.2f}); numpy arrays {arrays:.0f}/s ({rate / arrays:.1f}x)")
    performance.add(f"Q-learning periods, {SESSIONS} sessions, 41 prices", rate, "periods/s", draws,
                    "numpy Philox drawing the same uniforms alone", ">= 33,333 periods/s (10^6 in 30 s)")
    performance.add(f"Q-learning periods, {SESSIONS} sessions, 41 prices", rate, "periods/s", arrays,
                    "the same algorithm over numpy arrays, period by period", "")
