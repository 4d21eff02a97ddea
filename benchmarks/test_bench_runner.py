"""Speed of the sweep runner (pytest-benchmark; run with `make bench`).

Overhead per run (runner and results store around a run that does almost nothing), throughput
with 1 and 2 local worker processes, and a Dask LocalCluster against the local pool on the same
sweep. Executors are started and warmed up before timing; ratios are taken side by side in one
run, since these machines are noisy.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from agora.experiments.markets import registry
from agora.experiments.runner import SerialExecutor, execute, make_executor, run_experiment
from agora.experiments.spec import parse_spec_table


def sweep(steps: int, points: int, seeds: int, evaluator: str):
    return parse_spec_table({
        "name": "bench", "steps": steps, "seeds": {"count": seeds, "base": 1},
        "market": {"protocol": "seller-first", "bidders": ["uniform:0,1", "exponential:1"],
                   "evaluator": evaluator, "exact": False},
        "sweep": {"grid": {"market.seller": [0.2 + 0.1 * i for i in range(points)]}}})


def runs_per_second(spec, executor, name: str, workers: int) -> float:
    executor.submit(execute, next(spec.tasks())).result()  # workers up and imports done
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        run_experiment(spec, Path(tmp) / "out", executor, name, workers)
        return spec.runs / (time.perf_counter() - start)


def test_overhead_per_run(benchmark):
    """Serial runner time per run minus the adapter's own time, on 1-step Monte Carlo runs."""
    spec = sweep(steps=1, points=10, seeds=20, evaluator="mc")
    kind = registry()["seller-first"]
    tasks = list(spec.tasks())
    start = time.perf_counter()
    for t in tasks:
        kind.run(t.params, t.steps, t.rng())
    bare = (time.perf_counter() - start) / spec.runs
    whole = 1.0 / runs_per_second(spec, SerialExecutor(), "serial", 1)
    benchmark.extra_info.update({"seconds_per_run": whole, "adapter_seconds_per_run": bare,
                                 "overhead_seconds_per_run": whole - bare})
    print(f"\nrunner: {whole * 1e3:.2f} ms per run, of which the market {bare * 1e3:.2f} ms: "
          f"overhead {(whole - bare) * 1e3:.2f} ms per run")
    benchmark.pedantic(execute, args=(tasks[0],), rounds=20, iterations=1)


def test_throughput_one_and_two_workers(benchmark):
    """Runs per second of agent-based runs (300 rounds) on a local pool of 1 and of 2 processes."""
    spec = sweep(steps=300, points=4, seeds=6, evaluator="abm")
    rates = {}
    for workers in (1, 2):
        with make_executor("process", workers) as pool:
            rates[workers] = runs_per_second(spec, pool.executor, "process", workers)
    benchmark.extra_info.update({"runs_per_second_1": rates[1], "runs_per_second_2": rates[2],
                                 "ratio_2_to_1": rates[2] / rates[1]})
    print(f"\nprocess pool: {rates[1]:.1f} runs/s with 1 worker, {rates[2]:.1f} with 2: "
          f"ratio {rates[2] / rates[1]:.2f}")
    benchmark.pedantic(execute, args=(next(spec.tasks()),), rounds=3, iterations=1)


def test_dask_against_local_pool(benchmark):
    """The same sweep on a Dask LocalCluster (2 single-threaded workers, loopback) and a pool of 2."""
    spec = sweep(steps=300, points=4, seeds=6, evaluator="abm")
    with make_executor("process", 2) as pool:
        local = runs_per_second(spec, pool.executor, "process", 2)
    task = next(spec.tasks())
    with make_executor("dask", 2) as cluster:
        dask = runs_per_second(spec, cluster.executor, "dask", 2)
        benchmark.pedantic(lambda: cluster.executor.submit(execute, task).result(), rounds=5,
                           iterations=1)  # one run's round trip
    benchmark.extra_info.update({"pool_runs_per_second": local, "dask_runs_per_second": dask,
                                 "dask_to_pool": dask / local})
    print(f"\nlocal pool {local:.1f} runs/s, Dask LocalCluster {dask:.1f} runs/s: ratio {dask / local:.2f}")
