"""Speed of stochastic stability (pytest-benchmark; run with `make bench`). Targets: the stable
splits of the 41-price constant-value game with s = 60 in under 10 s; the exact perturbed chain of a
5-price game with memory 4 built and solved in under 30 s."""

import time

import numpy as np
from scipy import sparse
from scipy.sparse.linalg import spsolve

from agora.market.learning import stochastic_stability as ss
from agora.market.learning.adaptive_play import AdaptivePlay
from agora.market.learning.conventions import convention_stability
from agora.market.single_item.simultaneous import PricingGame, grid_game


def test_stable_splits_41_prices_sample_60(benchmark, performance):
    """Baseline: the 11-price game with s = 30 (the test suite's instance), solved in the same run."""
    _, A, B = grid_game(PricingGame(["point:1"]), 41)
    _, A11, B11 = grid_game(PricingGame(["point:1"]), 11)
    res = benchmark.pedantic(convention_stability, args=(A, B, (60, 60)), rounds=2, iterations=1)
    seconds = min(_cpu(lambda: convention_stability(A, B, (60, 60))) for _ in range(2))
    small = min(_cpu(lambda: convention_stability(A11, B11, (30, 30))) for _ in range(2))
    benchmark.extra_info.update({"stable": res.stable, "cpu_seconds": seconds, "target_seconds": 10})
    performance.add("stochastically stable splits, 41 prices, s = 60 (conventions, resistance trees)", seconds,
                    "s", small, "the 11-price game with s = 30", "< 10 s")


def test_exact_chain_3_prices_memory_4(benchmark):
    """Build the 6561-history chain and its minimum-resistance trees (demands 1, 2, 3 of 4)."""
    x = [1.0, 2.0, 3.0]
    A = [[a if a + b <= 4 else 0.0 for b in x] for a in x]
    B = [[b if a + b <= 4 else 0.0 for b in x] for a in x]
    benchmark.pedantic(lambda: AdaptivePlay(A, B, 4, (3, 3)).stability(), rounds=2, iterations=1)


def _cpu(run) -> float:
    start = time.process_time()
    run()
    return time.process_time() - start


def _lu(p):
    """The sparse-LU solve of pi (P - I) = 0, sum pi = 1 (:func:`ss.stationary` up to LU_STATES)."""
    a = (p.T - sparse.identity(p.shape[0], format="csr")).tolil()
    a[0, :] = 1.0
    b = np.zeros(p.shape[0])
    b[0] = 1.0
    return spsolve(a.tocsc(), b)


def test_exact_chain_5_prices_memory_4(benchmark, performance):
    """The constant-value game on 5 prices, m = 4, s = 2: 390,625 histories, 9.8 million moves; the chain at
    eps = 0.01 built and its stationary distribution solved by GMRES (residual 1e-12). Baseline: the sparse LU
    solve on the 3-price chain of memory 4 (6561 histories), the largest the adaptive-play kind solved before."""
    _, A, B = grid_game(PricingGame(["point:1"]), 5)
    _, A3, B3 = grid_game(PricingGame(["point:1"]), 3)
    p3 = AdaptivePlay(A3, B3, 4, (2, 2)).chain(0.01)

    def build_and_solve():
        return ss.stationary(AdaptivePlay(A, B, 4, (2, 2)).chain(0.01))

    pi = benchmark.pedantic(build_and_solve, rounds=1, iterations=1)
    seconds, lu = _cpu(build_and_solve), _cpu(lambda: _lu(p3))
    benchmark.extra_info.update({"cpu_seconds": seconds, "lu_6561_seconds": lu, "target_seconds": 30,
                                 "mass_at_equal_split": float(pi[AdaptivePlay(A, B, 4, (2, 2)).convention(2, 2)])})
    performance.add("exact chain, 5 prices, memory 4 (390,625 histories): build + stationary", seconds, "s", lu,
                    "sparse LU on 6561 histories (3 prices, memory 4)", "< 30 s")



def test_simulated_adaptive_play_100k_periods(benchmark):
    """100000 periods of adaptive play with mistakes (11 prices, samples of 30 from a memory of 60): the
    adaptive-play kind's per-period cost (its limits assume at most 2e-5 + 3e-7 x memory seconds)."""
    from agora.market.learning.adaptive_paths import simulate

    _, A, B = grid_game(PricingGame(["point:1"]), 11)
    benchmark.pedantic(lambda: simulate(A, B, 60, (30, 30), (0.02, 0.02), 100_000, np.random.default_rng(0),
                                        (5, 5)), rounds=2, iterations=1)
    benchmark.extra_info["target_seconds"] = 100_000 * (2e-5 + 3e-7 * 60)
