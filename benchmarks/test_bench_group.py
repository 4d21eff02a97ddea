"""Speed and accuracy of the group solver (pytest-benchmark; run with `make bench`).

Optimal voting weights for 20 non-identical members with the default 4 x 2^14
scrambled Sobol points, against a reference with 32 times more points
(4 x 2^19); the accuracy is the largest weight difference.

Theorem 1's mechanism for the dashboard's committees of 6 and 10 members (uniform:0,1,
uniform:0,2, exponential:1 in turn): tabulating every member's interim rule on 1025 types
(4 x 2^12 scrambled Sobol points), and the veto view's Reset (weights, mechanism and the
members' exact utilities from scratch).
"""

import time

import numpy as np
import pytest

from agora.experiments.dashboard import veto_view
from agora.experiments.dashboard.model import MarketDashboard
from agora.market.group.solver import optimal_mechanism, solve_group

COMMITTEE = ("uniform:0,1", "uniform:0,2", "exponential:1")


def group20(seed: int = 0) -> list[str]:
    """20 members: uniforms with random supports and exponentials."""
    rng = np.random.default_rng(seed)
    specs = []
    for i in range(20):
        if i % 4 == 3:
            specs.append(f"exponential:{rng.uniform(0.5, 2):.4f}")
        else:
            lo = rng.uniform(0, 0.3)
            specs.append(f"uniform:{lo:.4f},{lo + rng.uniform(0.5, 3):.4f}")
    return specs


def test_weights_for_20_members(benchmark):
    specs = group20()
    start = time.perf_counter()
    reference = solve_group(specs, 0.05, qmc_points=1 << 19, seed=1)
    ref_time = time.perf_counter() - start
    sol = benchmark.pedantic(solve_group, args=(specs, 0.05), rounds=3, iterations=1)
    error = float(np.max(np.abs(np.array(sol.weights) - np.array(reference.weights))))
    benchmark.extra_info.update({"max_weight_error": error, "reference_seconds": ref_time,
                                 "profit": sol.profit, "reference_profit": reference.profit})
    print(f"\n20 members: max |omega - omega_ref| = {error:.1e}; profit {sol.profit:.6f} vs "
          f"{reference.profit:.6f}; reference (4 x 2^19 points) took {ref_time:.1f} s")
    assert error <= 1e-3


def committee(n: int) -> tuple[str, ...]:
    return tuple(COMMITTEE[i % len(COMMITTEE)] for i in range(n))


@pytest.mark.parametrize("members", [6, 10])
def test_bench_build_optimal_mechanism(benchmark, members):
    specs = committee(members)
    sol = solve_group(specs, 0.0, **veto_view.QMC)
    mech = benchmark.pedantic(optimal_mechanism, args=(sol,), kwargs={"members": specs}, rounds=3, iterations=1)
    assert len(mech.tables) == members


@pytest.mark.parametrize("members", [6, 10])
def test_bench_reset_veto_best_response(benchmark, members):
    def reset():
        veto_view._optimal.cache_clear()
        m = MarketDashboard(protocol="veto-bargaining", bidders="; ".join(COMMITTEE), buyers=members)
        return m.view.reference(m.market)

    assert benchmark.pedantic(reset, rounds=3, iterations=1).bands["seller_profit"][0] > 0
