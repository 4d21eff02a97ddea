"""The all-partition sweep for n = 10, k = 3 (Bell(10) = 115,975 demand structures).

Time by pytest-benchmark; peak Python memory by tracemalloc in a separate run (tracing
slows Python down, so the two are not taken together). Both go to ``extra_info``.
"""

import time
import tracemalloc

import pytest

from agora.market.demand import bell_number
from agora.market.k_items.sweep import sweep


def _peak_mb(func) -> float:
    tracemalloc.start()
    try:
        func()
        return tracemalloc.get_traced_memory()[1] / 1e6
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("mechanism,models", [("posted", ("surplus", "monopolist")), ("auction", ("surplus",))])
def test_sweep_n10_k3(benchmark, mechanism, models):
    """Posted price p_R (exact, both models) and the (k+1)-th-price auction (Monte Carlo, 2,000
    rounds per block-size multiset, best-responding surplus intermediaries)."""
    def run():
        return sweep("uniform:0,1", 10, 3, mechanism, models, rounds=2000)

    start = time.perf_counter()
    table = benchmark.pedantic(run, rounds=1, iterations=1)
    seconds = time.perf_counter() - start
    assert len(table) == bell_number(10) * len(models)
    peak = _peak_mb(run)
    benchmark.extra_info.update(structures=bell_number(10), rows=len(table), seconds=seconds, peak_mb=peak)
    print(f"\nsweep n=10 k=3 {mechanism}: {len(table)} rows in {seconds:.1f} s, peak {peak:.0f} MB (tracemalloc)")


def test_heterogeneous_monte_carlo_n100_k10(benchmark):
    """Definition 9's menu, n = 100 single-buyer intermediaries, k = 10 items with weights
    1, 0.9, ..., 0.1, intermediaries in a random order, ``solve ipm``'s default 200,000 rounds
    (one vectorized step per arrival position: linear in the number of intermediaries)."""
    import numpy as np

    from agora.market.k_items.mechanisms import ItemMenu
    from agora.market.k_items.montecarlo import simulate_menu

    n, k = 100, 10
    menu = ItemMenu.heterogeneous("uniform:0,1", n, [1.0 - j / k for j in range(k)])

    def run():
        return simulate_menu("uniform:0,1", [[i] for i in range(n)], menu, "surplus", 200_000,
                             np.random.default_rng(0))

    start, cpu = time.perf_counter(), time.process_time()
    est = benchmark.pedantic(run, rounds=1, iterations=1)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    benchmark.extra_info.update(seconds=seconds, cpu_seconds=cpu, revenue=est.mean["revenue"])
    print(f"\nheterogeneous Monte Carlo n=100 k=10, 200000 rounds: {seconds:.1f} s wall, {cpu:.1f} s CPU")
