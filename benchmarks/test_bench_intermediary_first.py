"""Speed of the intermediary-first solver (pytest-benchmark; run with `make bench`).

20 and 50 bidders, uniforms and exponentials with different parameters, every commitment class.
The baseline, measured in the same run, is the seller-first solver on the same market (one
level instead of two). CPU seconds of this process; at commit 7439950 the same markets took
30 s (20 bidders) and 144 s (50 bidders), at e7d713d (before the scan's Gauss-Legendre pairs,
Brent on coarse revenues and Newton steps) 22 s and 31 s, run alternately with today's code.
"""

import time

import pytest

from agora.market.single_item.intermediary_first import solve_intermediary_first
from agora.market.single_item.seller_first import solve_seller_first

BEFORE = {20: 22.0, 50: 31.0}  # CPU seconds at commit e7d713d, these markets, this machine


def uniform_exponential_market(n: int) -> list[str]:
    """n bidders alternating U[0, 0.5 + 0.1 i] and exponential laws of mean 0.5 + 0.07 i."""
    return [f"uniform:0,{0.5 + 0.1 * i:.2f}" if i % 2 == 0 else f"exponential:{0.5 + 0.07 * i:.2f}"
            for i in range(n)]


def _cpu_seconds(solve, specs) -> float:
    start = time.process_time()
    solve(specs)
    return time.process_time() - start


@pytest.mark.parametrize("n", [20, 50])
def test_intermediary_first_many_bidders(benchmark, performance, n):
    """The bilevel search over all three classes, beside seller-first on the same market."""
    specs = uniform_exponential_market(n)
    seller_first = min(_cpu_seconds(solve_seller_first, specs) for _ in range(3))
    sol = benchmark.pedantic(solve_intermediary_first, args=(specs,), rounds=1, iterations=1)
    seconds = _cpu_seconds(solve_intermediary_first, specs)
    benchmark.extra_info.update({"cpu_seconds": seconds, "seller_first_cpu_seconds": seller_first,
                                 "cpu_seconds_at_e7d713d": BEFORE[n]})
    print(f"\nintermediary-first, {n} bidders: {seconds:.1f} s CPU (was {BEFORE[n]:.0f} s); "
          f"seller-first {seller_first:.2f} s ({seconds / seller_first:.0f}x)")
    performance.add(f"intermediary-first solve, {n} bidders", seconds, "s", seller_first,
                    "seller-first solve, same market", f"< 5 s (was {BEFORE[n]:.0f} s at e7d713d)")
    assert sol.intermediary_revenue > 0
