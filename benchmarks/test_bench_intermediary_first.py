"""Speed of the intermediary-first solver (pytest-benchmark; run with `make bench`).

20 and 50 bidders, uniforms and exponentials with different parameters, every commitment class.
The baseline, measured in the same run, is the seller-first solver on the same market (one
level instead of two). CPU seconds of this process; at commit 7439950 the same markets took
30 s (20 bidders) and 144 s (50 bidders), at e7d713d (before the scan's Gauss-Legendre pairs,
Brent on coarse revenues and Newton steps) 22 s and 31 s, at e8b30f9 (before shared win-share
nodes, compiled win shares and pruned price scans) BEFORE's figures, each run alternately with
the newer code in one shell (a scratch checkout of the older commit).

Two components are also timed against their own array form in the same run: the seller's answer
(the pruned scan of a nonincreasing sale curve against the full scan) and the win shares at a
Myerson commitment's quadrature nodes (compiled kernels against the distinct scores' arrays).
"""

import time

import pytest

from agora.market.single_item.intermediary_first import solve_intermediary_first
from agora.market.single_item.seller_first import solve_seller_first

BEFORE = {20: 6.8, 50: 24.3}  # CPU seconds at commit e8b30f9, these markets, this machine (see the module notes)


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
                                 "cpu_seconds_at_e8b30f9": BEFORE[n]})
    print(f"\nintermediary-first, {n} bidders: {seconds:.1f} s CPU (was {BEFORE[n]:.0f} s); "
          f"seller-first {seller_first:.2f} s ({seconds / seller_first:.0f}x)")
    performance.add(f"intermediary-first solve, {n} bidders", seconds, "s", seller_first,
                    "seller-first solve, same market", f"< 5 s (was {BEFORE[n]:.1f} s at e8b30f9)")
    assert sol.intermediary_revenue > 0


def _best_of(fn, times: int = 5) -> float:
    return min(_cpu_seconds(lambda _: fn(), None) for _ in range(times))


def test_seller_answer_pruned_scan(benchmark, performance):
    """The seller's best response to a Myerson commitment with 50 bidders: the scan of its nonincreasing
    sale curve, pruned (blocks that cannot be near the best left out) against the full scan, same answer."""
    from agora.market.distributions import parse_spec
    from agora.market.single_item.intermediary_first import best_response_candidates
    from agora.market.single_item.right_auctions import ShiftedMyersonRight
    from agora.market.single_item.seller_first import maximize_price_revenue

    bidders = tuple(parse_spec(s) for s in uniform_exponential_market(50))
    commitment = ShiftedMyersonRight(1.0)
    curve, cand = commitment.sale_curve(bidders), best_response_candidates(bidders, commitment)
    pruned = benchmark(maximize_price_revenue, curve, cand, 1e-9, False, True)
    full = maximize_price_revenue(curve, cand, 1e-9, polish=False)
    assert pruned.price == full.price and pruned.revenue == full.revenue
    fast = _best_of(lambda: maximize_price_revenue(curve, cand, 1e-9, False, True))
    slow = _best_of(lambda: maximize_price_revenue(curve, cand, 1e-9, False, False))
    performance.add("seller's answer in intermediary-first, 50 bidders (pruned scan)", fast, "s", slow,
                    "the full scan of every candidate", "")


def test_win_shares_compiled(benchmark, performance, monkeypatch):
    """The intermediary's revenue from Myerson's auction for an anticipated price with 50 bidders (one
    evaluation of the bilevel scan: its win shares are most of the work), with the compiled win shares
    against the distinct scores' arrays, the same revenue to 1e-12."""
    from agora.market.distributions import parse_spec
    from agora.market.single_item.intermediary_first import evaluate_right_auction
    from agora.market.single_item.right_auctions import ShiftedMyersonRight
    from agora.market.single_item.scores import MaxScoreLaw

    bidders = tuple(parse_spec(s) for s in uniform_exponential_market(50))
    commitment = ShiftedMyersonRight(3.49)

    def revenue():
        return evaluate_right_auction(bidders, commitment, 3.77, welfare=False, checked=False, rtol=1e-9,
                                      quick=True).intermediary_revenue

    compiled = benchmark(revenue)
    fast = _best_of(revenue)
    monkeypatch.setattr(MaxScoreLaw, "_compiled_rows", property(lambda self: None))  # the array form
    arrays = revenue()
    slow = _best_of(revenue)
    assert compiled == pytest.approx(arrays, rel=1e-12)
    performance.add("one scan evaluation, Myerson's auction, 50 bidders (compiled win shares)", fast, "s", slow,
                    "the distinct scores' arrays", "")
