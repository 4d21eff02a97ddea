"""Time and memory of the worst-case LP (1.7)/(1.8) (pytest-benchmark; run with `make bench`).

I = 2 bidders on a 201 x 201 grid (plus the mean and a point below the reserve):
the symmetric reduction (one variable per orbit) beside the full LP over every
profile, measured in one run. Memory: the peak of the Python heap (tracemalloc;
HiGHS' C++ allocations are not traced) and the growth of the peak resident set
of a fresh interpreter across one solve (which does include HiGHS).
"""

import json
import subprocess
import sys
import tracemalloc

from agora.market.robust.lp import worst_case_revenue
from agora.market.robust.mechanisms import HighestBidderLottery, MarkovSet, best_reserve

A = MarkovSet(2, 0.5)


def _peak_mib(fn):
    tracemalloc.start()
    result = fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return result, peak / 2**20


CHILD = """
import json, resource
from agora.market.robust.mechanisms import HighestBidderLottery, MarkovSet, best_reserve
from agora.market.robust.lp import worst_case_revenue
a = MarkovSet(2, 0.5)
mech = {mech}
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
worst_case_revenue(mech, a, 201, symmetric={symmetric})
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({{"rss_growth_mib": (after - before) / 1024, "peak_rss_mib": after / 1024}}))
"""


def _rss_growth(mech_expr: str, symmetric: bool) -> dict:
    code = CHILD.format(mech=mech_expr, symmetric=symmetric)
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def _report(benchmark, label, mech, mech_expr, symmetric):
    w, peak = _peak_mib(lambda: worst_case_revenue(mech, A, 201, symmetric=symmetric))
    rss = _rss_growth(mech_expr, symmetric)
    benchmark.extra_info.update({"variables": w.variables, "python_peak_mib": peak, **rss})
    print(f"\n{label}: {w.variables} variables, python heap peak {peak:.1f} MiB, resident set "
          f"+{rss['rss_growth_mib']:.1f} MiB (peak {rss['peak_rss_mib']:.0f} MiB), value {w.value:.6f}")
    return w


def test_lp_best_auction_symmetric_201(benchmark):
    mech = best_reserve(A).mechanism()
    w = benchmark.pedantic(worst_case_revenue, args=(mech, A, 201), rounds=5, iterations=1, warmup_rounds=1)
    _report(benchmark, "best auction, symmetric", mech, "best_reserve(a).mechanism()", True)
    assert abs(w.value - best_reserve(A).revenue) < 1e-6


def test_lp_best_auction_full_201(benchmark):
    mech = best_reserve(A).mechanism()
    w = benchmark.pedantic(worst_case_revenue, args=(mech, A, 201), kwargs={"symmetric": False},
                           rounds=3, iterations=1, warmup_rounds=1)
    _report(benchmark, "best auction, full", mech, "best_reserve(a).mechanism()", False)
    assert abs(w.value - best_reserve(A).revenue) < 1e-6


def test_lp_lottery_symmetric_201(benchmark):
    mech = HighestBidderLottery.optimal(A)
    w = benchmark.pedantic(worst_case_revenue, args=(mech, A, 201), rounds=5, iterations=1, warmup_rounds=1)
    _report(benchmark, "lottery, symmetric", mech, "HighestBidderLottery.optimal(a)", True)
    assert abs(w.value - mech.worst_case_revenue) < 1e-6


def test_design_lp_lottery_65(benchmark):
    """The design LP (1.11) over highest-bidder lotteries, I = 2, mu = 0.3, 65-point grid (dual simplex)."""
    from agora.market.robust.design import revenue_design_lp
    a = MarkovSet(2, 0.3)
    d = benchmark.pedantic(revenue_design_lp, args=(a, 65), kwargs={"lottery": True}, rounds=2, iterations=1)
    benchmark.extra_info.update({"variables": d.variables, "value": d.value})
    assert HighestBidderLottery.optimal(a).threshold <= d.value


def test_design_lp_all_mechanisms_33(benchmark):
    """The design LP (1.11) over all mechanisms, I = 2, mu = 0.3, 33-point grid (interior point)."""
    from agora.market.robust.design import revenue_design_lp
    a = MarkovSet(2, 0.3)
    d = benchmark.pedantic(revenue_design_lp, args=(a, 33), rounds=2, iterations=1)
    benchmark.extra_info.update({"variables": d.variables, "value": d.value})
    r = HighestBidderLottery.optimal(a).threshold
    assert r <= d.value <= r * (2 - r)


def test_design_lp_regret_129(benchmark):
    """(2.6) for one item on a 129-point grid: 16,641 pairwise IC rows."""
    from agora.market.robust.design import pricing_design_lp
    d = benchmark.pedantic(pricing_design_lp, args=([1.0], [0.2], 129), rounds=3, iterations=1)
    benchmark.extra_info.update({"variables": d.variables, "value": d.value})
    assert d.value <= 0.8 / 2.718281828459045


def test_design_lp_two_items_two_bidders_5(benchmark):
    """(3.1) for J = 2 items and I = 2 bidders on 5 points per item: 625 profiles, 30,000 IC rows."""
    from agora.market.robust.design import auction_design_lp
    d = benchmark.pedantic(auction_design_lp, args=(2, [1.0, 2.0], 5), rounds=2, iterations=1)
    benchmark.extra_info.update({"variables": d.variables, "value": d.value, "method": d.method})
    assert d.value <= 3.0 / 2.718281828459045


def _independent_grid(points: int):
    import numpy as np

    from agora.market.robust.independent_design import discretized_law
    grid = np.linspace(0.0, 1.0, points)
    return grid, [discretized_law(s, grid) for s in ("uniform:0,1", "beta:2,2,0,1")]


def test_independent_lp_efficient_33(benchmark):
    """The independent-values LP over efficient mechanisms, I = 2, two laws, 33 points (Theorem 1.4.1)."""
    from agora.market.robust.independent_design import independent_design_lp, vickrey_revenues
    grid, laws = _independent_grid(33)
    d = benchmark.pedantic(independent_design_lp, args=(grid, laws), rounds=2, iterations=1)
    benchmark.extra_info.update({"variables": d.variables, "value": d.value})
    assert vickrey_revenues(grid, laws).min() <= d.value + 1e-9


def test_independent_lp_all_mechanisms_33(benchmark):
    """The same LP over all mechanisms (no efficiency), beside the efficient one in one run."""
    from agora.market.robust.independent_design import independent_design_lp, vickrey_revenues
    grid, laws = _independent_grid(33)
    d = benchmark.pedantic(independent_design_lp, args=(grid, laws), kwargs={"efficient": False}, rounds=2,
                           iterations=1)
    benchmark.extra_info.update({"variables": d.variables, "value": d.value})
    assert d.value > vickrey_revenues(grid, laws).min()
