"""Speed and accuracy of the group solver (pytest-benchmark; run with `make bench`).

Optimal voting weights for 20 non-identical members with the default 4 x 2^14
scrambled Sobol points, against a reference with 32 times more points
(4 x 2^19); the accuracy is the largest weight difference.

Theorem 1's mechanism for the dashboard's committees of 6 and 10 members (uniform:0,1,
uniform:0,2, exponential:1 in turn): tabulating every member's interim rule on 1025 types
(4 x 2^12 scrambled Sobol points), and the veto view's Reset (weights, mechanism and the
members' exact utilities from scratch).

Committees of mixed laws (beta, truncated normal, exponential, uniform; 10 and 20 members):
solving and building Theorem 1's mechanism. The others' virtual values are computed for every
subset of members (one scrambled Sobol set per subset). Inverting the beta and truncated-normal
quantiles each time, on the shared 2-core machine (load about 15) building the mechanism took
6.2-7.3 s for 10 members and 30-37 s for 20, solving 5-8 s and 10-14 s (3.1 + 3.3 s and
5.8 + 12.8 s at a lower load); with the per-law tables of market/group/inverse.py, at load
about 8, solving took 2.7 s and 6.9 s and building the mechanism 3.5 s and 9.6 s (6.0 + 6.0 s
and 12.3 + 15.6 s in the same conditions with the tables for phi^-1 only). Sharing one Sobol
set of dimension N across subsets cut the mechanism to 2-3 s for both, but its projections
made the weights of 6 identical members uneven by 5e-4 (against 1e-4 with a set per subset),
so it is not used. Sharing each law's tables between the solver's and the mechanism's parses of
the members and between members with one law (inverse.per_law), computing each member's
phi(F^-1) over all scramblings in one call, and halving the table's cells where their stated
error exceeded TABLE_TOL (a beta's lower tail below u = 1e-3 went to the law's own quantile
function, about a millisecond per call whatever the number of points) took 20 members from
3.5-3.6 s to 2.6 s of CPU (mechanism 2.0-2.1 -> 1.2 s) and 10 members from 1.45 to 1.25-1.29 s,
HEAD's code and the new alternating in one process at load about 9; the profit (15 digits), the
weights and the tabulated X_i are unchanged. Wall time follows the machine's load: this benchmark
measured 1.06-1.13 s for 10 members and 4.8-6.3 s for 20 at load about 9, and 4.4-4.7 s and
8.1-10.9 s at load 10.3 (2 cores).

Six beta and truncated-normal members: solving with phi^-1 and phi(F^-1) tabulated once per
law (market/group/inverse.py) against the same solve through each law's root finder at every
evaluation and its quantile function (the same Sobol points), in the same run; the profits
agree to 1e-8.
"""

import time

import numpy as np
import pytest

from agora.experiments.dashboard import veto_view
from agora.experiments.dashboard.model import MarketDashboard
from agora.market.group import expectations
from agora.market.group.inverse import survival_at
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


MIXED = ("beta:2,3,0,2", "truncnorm:1,1,0,3", "exponential:1", "uniform:0,2", "beta:2,2,0,1.5",
         "truncnorm:0.8,0.5,0,2", "exponential:0.7", "uniform:0.1,1.8", "beta:3,2,0,1", "uniform:0,2.5")


@pytest.mark.parametrize("members", [10, 20])
def test_bench_mixed_laws_solve_and_mechanism(benchmark, members):
    specs = (MIXED * 2)[:members]

    def run():
        sol = solve_group(specs, 0.2)
        return sol, optimal_mechanism(sol)

    sol, mech = benchmark.pedantic(run, rounds=2, iterations=1)
    benchmark.extra_info.update({"profit": sol.profit, "profit_stderr": sol.profit_stderr})
    assert all(np.all(np.isfinite(x)) for x, _ in mech.tables) and sol.optimality_gap <= 1e-6


SIX = ("beta:2,3,0,2", "truncnorm:1,1,0,3", "beta:2,2,0,1.5", "truncnorm:0.8,0.5,0,2", "beta:3,2,0,1",
       "truncnorm:1.2,0.7,0,2.5")


def _root_finder(dist, s):
    a = dist.virtual_threshold(s)
    return a, survival_at(dist, a)


def test_bench_tabulated_inverse_vs_root_finder(benchmark, performance, monkeypatch):
    fast = benchmark.pedantic(solve_group, args=(SIX, 0.2), rounds=1, iterations=1)
    fast_seconds = benchmark.stats.stats.mean
    with monkeypatch.context() as m:
        m.setattr(expectations, "threshold_and_survival", _root_finder)
        m.setattr(expectations, "virtual_at_quantile", lambda d, u: d.virtual_value(d.ppf(u)))
        start = time.perf_counter()
        slow = solve_group(SIX, 0.2)
        slow_seconds = time.perf_counter() - start
    benchmark.extra_info.update({"root_finder_seconds": slow_seconds, "ratio": fast_seconds / slow_seconds,
                                 "profit": fast.profit, "root_finder_profit": slow.profit})
    print(f"\n6 beta/truncnorm members: {fast_seconds:.2f} s with the table, {slow_seconds:.2f} s through the "
          f"root finder (ratio {fast_seconds / slow_seconds:.2f}); profit {fast.profit:.12f} vs {slow.profit:.12f}")
    performance.add("group solve, 6 beta/truncnorm members", fast_seconds, "s", slow_seconds,
                    "phi^-1 by root finder, phi(F^-1) by ppf", "ratio < 1")
    assert abs(fast.profit - slow.profit) <= 1e-8
