"""Speed and accuracy of the group solver (pytest-benchmark; run with `make bench`).

Optimal voting weights for 20 non-identical members with the default 4 x 2^14
scrambled Sobol points, against a reference with 32 times more points
(4 x 2^19); the accuracy is the largest weight difference.
"""

import time

import numpy as np

from market.solvers.group import solve_group


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
