"""Speed of stochastic stability (pytest-benchmark; run with `make bench`). Target: the stable
splits of the 41-price constant-value game with s = 60 in under 10 s."""

from agora.market.learning.adaptive_play import AdaptivePlay
from agora.market.learning.conventions import convention_stability
from agora.market.single_item.simultaneous import PricingGame, grid_game


def test_stable_splits_41_prices_sample_60(benchmark):
    _, A, B = grid_game(PricingGame(["point:1"]), 41)
    res = benchmark.pedantic(convention_stability, args=(A, B, (60, 60)), rounds=2, iterations=1)
    benchmark.extra_info["stable"] = res.stable
    benchmark.extra_info["target_seconds"] = 10


def test_exact_chain_3_prices_memory_4(benchmark):
    """Build the 6561-history chain and its minimum-resistance trees (demands 1, 2, 3 of 4)."""
    x = [1.0, 2.0, 3.0]
    A = [[a if a + b <= 4 else 0.0 for b in x] for a in x]
    B = [[b if a + b <= 4 else 0.0 for b in x] for a in x]
    benchmark.pedantic(lambda: AdaptivePlay(A, B, 4, (3, 3)).stability(), rounds=2, iterations=1)



def test_simulated_adaptive_play_100k_periods(benchmark):
    """100000 periods of adaptive play with mistakes (11 prices, samples of 30 from a memory of 60): the
    adaptive-play kind's per-period cost (its limits assume at most 2e-5 + 3e-7 x memory seconds)."""
    import numpy as np

    from agora.market.learning.adaptive_paths import simulate

    _, A, B = grid_game(PricingGame(["point:1"]), 11)
    benchmark.pedantic(lambda: simulate(A, B, 60, (30, 30), (0.02, 0.02), 100_000, np.random.default_rng(0),
                                        (5, 5)), rounds=2, iterations=1)
    benchmark.extra_info["target_seconds"] = 100_000 * (2e-5 + 3e-7 * 60)
