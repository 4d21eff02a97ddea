"""The equilibrium among intermediaries holding several buyers in the (k+1)-th-price auction
(exact payoffs, regret on the fine grid), beside the estimate ``agora solve k-auction`` checks
against ``--max-seconds`` (``extra_info``)."""

import pytest

from agora.experiments.limits import k_equilibrium_seconds
from agora.market.k_items.k_auction import solve_k_auction


@pytest.mark.parametrize("n, k, partition", [(5, 2, [[0, 1], [2, 3], [4]]), (6, 3, [[0, 1], [2, 3], [4, 5]]),
                                             (6, 3, [[0, 1, 2], [3, 4, 5]])])
def test_k_equilibrium(benchmark, n, k, partition):
    several = [len(b) for b in partition if len(b) > 1]
    sol = benchmark.pedantic(solve_k_auction, args=(n, k, "uniform:0,1", partition, "surplus", None, 200, 0, 5),
                             rounds=1, iterations=1)
    benchmark.extra_info["estimate_seconds"] = k_equilibrium_seconds(several, n - sum(several), k)
    benchmark.extra_info["max_regret"] = sol.max_regret
