"""Speed of the sweep runner (pytest-benchmark; run with `make bench`).

Overhead per run (runner and results store around a run that does almost nothing), throughput
of a 200-run sweep with 1 and 2 local worker processes, and a Dask LocalCluster against the
local pool on the same sweep. Executors are started and warmed up before timing; the figures
are wall-clock rates, each beside its baseline measured in the same run, alternately, the best
of two each, since these machines are noisy (the load average is in the row).
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from agora.experiments.markets import registry
from agora.experiments.runner import SerialExecutor, execute, make_executor, run_experiment
from agora.experiments.spec import parse_spec_table

REPEATS = 2


def sweep(steps: int, points: int, seeds: int, evaluator: str):
    return parse_spec_table({
        "name": "bench", "steps": steps, "seeds": {"count": seeds, "base": 1},
        "market": {"protocol": "seller-first", "bidders": ["uniform:0,1", "exponential:1"],
                   "evaluator": evaluator, "exact": False},
        "sweep": {"grid": {"market.seller": [0.2 + 0.1 * i for i in range(points)]}}})


#: 200 agent-based runs of 300 rounds (about 16 ms each on one core).
SWEEP = sweep(steps=300, points=10, seeds=20, evaluator="abm")


def runs_per_second(spec, executor, name: str, workers: int, batch: int | None = None) -> float:
    return sweep_once(spec, executor, name, workers, batch)[0]


def sweep_once(spec, executor, name: str, workers: int, batch: int | None = None) -> tuple[float, float]:
    """Runs per wall second, and the share of ``workers`` x the wall time the workers spent computing
    (their own timing of each batch): what other load on the machine does not lower."""
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        summary = run_experiment(spec, Path(tmp) / "out", executor, name, workers, batch=batch)
        wall = time.perf_counter() - start
        return spec.runs / wall, summary.worker_seconds / (workers * wall)


def warmed(executor, slots: int):
    """Every worker up, with its imports done (one run each)."""
    list(executor.map(execute, list(SWEEP.tasks())[:slots]))
    return executor


def best_alternating(measure: dict) -> dict:
    """The best of ``REPEATS`` of each measurement, taken in turn (a, b, a, b)."""
    rates = {k: 0.0 for k in measure}
    for _ in range(REPEATS):
        for k, f in measure.items():
            rates[k] = max(rates[k], f())
    return rates


def load() -> str:
    return f"load {os.getloadavg()[0]:.1f}"


def test_overhead_per_run(benchmark, performance):
    """Serial runner time per run minus the adapter's own time, on 200 one-step Monte Carlo runs."""
    spec = sweep(steps=1, points=10, seeds=20, evaluator="mc")
    kind = registry()["seller-first"]
    tasks = list(spec.tasks())
    start = time.perf_counter()
    for t in tasks:
        kind.run(t.params, t.steps, t.rng())
    bare = (time.perf_counter() - start) / spec.runs
    rates = best_alternating({"batched": lambda: runs_per_second(spec, SerialExecutor(), "serial", 1),
                              "one": lambda: runs_per_second(spec, SerialExecutor(), "serial", 1, batch=1)})
    batched, one = 1.0 / rates["batched"] - bare, 1.0 / rates["one"] - bare
    benchmark.extra_info.update({"adapter_seconds_per_run": bare, "overhead_seconds_per_run": batched,
                                 "overhead_one_run_per_part": one})
    print(f"\nrunner overhead {batched * 1e3:.2f} ms per run (one run a part: {one * 1e3:.2f} ms), "
          f"the market {bare * 1e3:.2f} ms")
    performance.add("runner overhead per run, 200 one-step Monte Carlo runs, serial", batched * 1e3, "ms",
                    one * 1e3, f"one run a part and a task, same run; the market alone {bare * 1e3:.2f} ms",
                    "small against the run (was 11.5 ms around 0.27 ms)")
    benchmark.pedantic(execute, args=(tasks[0],), rounds=20, iterations=1)


def test_throughput_one_and_two_workers(benchmark, performance):
    """Runs per second of a 200-run agent-based sweep on a local pool of 1 and of 2 processes."""
    with make_executor("process", 1) as one, make_executor("process", 2) as two:
        pools = {1: warmed(one.executor, 1), 2: warmed(two.executor, 2)}
        busy = {}

        def measure(w: int, batch: int | None = None) -> float:
            rate, busy[w, batch] = sweep_once(SWEEP, pools[w], "process", w, batch)
            return rate

        rates = best_alternating({w: (lambda w=w: measure(w)) for w in pools})
        per_run = best_alternating({2: lambda: measure(2, 1)})
    benchmark.extra_info.update({"runs_per_second_1": rates[1], "runs_per_second_2": rates[2],
                                 "ratio_2_to_1": rates[2] / rates[1], "runs_per_second_2_batch_1": per_run[2],
                                 "workers_busy_1": busy[1, None], "workers_busy_2": busy[2, None]})
    print(f"\nprocess pool: {rates[1]:.1f} runs/s with 1 worker, {rates[2]:.1f} with 2 "
          f"({per_run[2]:.1f} one run a task): ratio {rates[2] / rates[1]:.2f}, {load()}; workers busy "
          f"{busy[1, None]:.0%} and {busy[2, None]:.0%} of the wall time")
    performance.add("sweep of 200 agent-based runs, process pool of 2", rates[2], "runs/s", rates[1],
                    f"pool of 1, same run, {load()}", ">= 1.8x")
    performance.add("sweep of 200 agent-based runs, process pool of 2", rates[2], "runs/s", per_run[2],
                    "pool of 2, one run a task", "")
    performance.add("share of wall time the 2 workers compute (2 x it: the speed-up on free cores)",
                    100 * busy[2, None], "%", 100 * busy[1, None], "the 1 worker's share, same run", ">= 90%")
    benchmark.pedantic(execute, args=(next(SWEEP.tasks()),), rounds=3, iterations=1)


def test_dask_against_local_pool(benchmark, performance):
    """The same sweep on a Dask LocalCluster (2 single-threaded workers, loopback) and a pool of 2."""
    task = next(SWEEP.tasks())
    with make_executor("process", 2) as pool, make_executor("dask", 2) as cluster:
        executors = {"pool": warmed(pool.executor, 2), "dask": warmed(cluster.executor, 2)}
        busy = {}

        def measure(name: str) -> float:
            rate, busy[name] = sweep_once(SWEEP, executors[name], "dask" if name == "dask" else "process", 2)
            return rate

        rates = best_alternating({"pool": lambda: measure("pool"), "dask": lambda: measure("dask")})
        benchmark.pedantic(lambda: cluster.executor.submit(execute, task).result(), rounds=5,
                           iterations=1)  # one run's round trip
    local, dask = rates["pool"], rates["dask"]
    benchmark.extra_info.update({"pool_runs_per_second": local, "dask_runs_per_second": dask,
                                 "dask_to_pool": dask / local})
    print(f"\nlocal pool {local:.1f} runs/s, Dask LocalCluster {dask:.1f} runs/s: ratio {dask / local:.2f}, "
          f"{load()}; workers busy {busy['pool']:.0%} and {busy['dask']:.0%} of the wall time")
    performance.add("sweep of 200 agent-based runs, Dask LocalCluster of 2", dask, "runs/s", local,
                    f"process pool of 2, same run, {load()}", ">= 0.9x")
    performance.add("share of wall time the 2 Dask workers compute", 100 * busy["dask"], "%", 100 * busy["pool"],
                    "the pool's 2 workers, same run", ">= 0.9x")
