"""Speed of the seller-first evaluators (pytest-benchmark; run with `make bench`).

Figures are recorded in ``benchmark.extra_info`` and printed; ratios are taken
side by side in one run, since these machines are noisy.
"""

import subprocess
import sys
import time

import numpy as np

from agora.market.single_item.montecarlo import simulate_seller_first
from agora.market.single_item.seller_first import solve_seller_first
from agora.market.single_item.seller_mechanisms import Menu
from agora.models.market_model import MarketModel
from benchmarks.conftest import mixed_market


def test_solve_100_nonidentical_bidders(benchmark, market100):
    """The exact solver (Stackelberg price, every revenue, welfare) for 100 different bidders."""
    sol = benchmark.pedantic(solve_seller_first, args=(market100,), rounds=5, iterations=1,
                             warmup_rounds=1)
    assert sol.seller_revenue > 0


def test_cli_solve_100_bidders_end_to_end(benchmark, market100):
    """`agora solve seller-first` with 100 bidders, including interpreter start-up and imports."""
    cmd = [sys.executable, "-m", "agora.experiments.cli", "solve", "seller-first", "--json"]
    for spec in market100:
        cmd += ["--bidder", spec]
    benchmark.pedantic(subprocess.run, args=(cmd,), kwargs={"check": True, "capture_output": True},
                       rounds=3, iterations=1)


def _values_per_second(n: int, rounds: int) -> float:
    specs = mixed_market(n)
    menu = Menu.posted(solve_seller_first(specs).seller_price)
    start = time.perf_counter()
    simulate_seller_first(specs, menu, rounds, np.random.default_rng(0))
    return n * rounds / (time.perf_counter() - start)


def test_monte_carlo_throughput(benchmark):
    """Bidder values per second through the vectorized seller-first round, by market size."""
    rates = {n: _values_per_second(n, 4_000_000 // n) for n in (2, 10, 100)}
    benchmark.extra_info.update({f"values_per_second_n{n}": r for n, r in rates.items()})
    print("\nMonte Carlo values/s:", {n: f"{r / 1e6:.1f}M" for n, r in rates.items()})
    benchmark.pedantic(_values_per_second, args=(10, 1_000_000), rounds=3, iterations=1)


def test_monte_carlo_vs_agent_based(benchmark):
    """Rounds per second of the Mesa model and of Monte Carlo on the same 10-bidder market."""
    specs = mixed_market(10)
    price = solve_seller_first(specs).seller_price
    model = MarketModel(specs, seller=price, rng=0)
    start = time.perf_counter()
    for _ in range(2000):
        model.step()
    abm = 2000 / (time.perf_counter() - start)
    start = time.perf_counter()
    simulate_seller_first(specs, Menu.posted(price), 1_000_000, np.random.default_rng(0))
    mc = 1_000_000 / (time.perf_counter() - start)
    benchmark.extra_info.update({"abm_rounds_per_second": abm, "mc_rounds_per_second": mc,
                                 "ratio": mc / abm})
    print(f"\nagent-based {abm:.0f} rounds/s, Monte Carlo {mc:.0f} rounds/s, ratio {mc / abm:.0f}")
    benchmark.pedantic(model.step, rounds=200, iterations=1)
