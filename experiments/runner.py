"""The sweep runner: every run of a spec on any ``concurrent.futures.Executor``.

A run is one :class:`~agora.experiments.spec.RunTask` executed by :func:`execute` wherever the
executor puts it (this process, a local process pool, a Dask cluster); its random numbers come
from its own ``SeedSequence``, so a run's rows do not depend on where or beside what it ran.
Finished runs come back to this process, which writes each atomically to the results store;
the tables are assembled from those parts in run order. Killing the runner loses only the
runs in flight; running the same spec again into the same folder resumes.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import os
import threading
import time
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ProcessPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from agora.experiments.markets import MARKET_MODULES, kind_of
from agora.experiments.output import progress
from agora.experiments.spec import ExperimentSpec, RunTask
from agora.experiments.store import ResultsStore, RunResult
from agora.market.errors import InputError

EXECUTORS = ("serial", "process", "dask")
PRELOAD = ("agora.experiments.runner", *MARKET_MODULES)  # what workers import before their first run
DASK_CONNECT_TIMEOUT = "10s"
# No dashboard; the scheduler's small HTTP server (health, metrics) on a free loopback port, not 8787
LOOPBACK_HTTP = {"dashboard_address": "127.0.0.1:0"}


class SerialExecutor(Executor):
    """Runs each task at submission, in this process (for debugging and reference results)."""

    def submit(self, fn, /, *args, **kwargs) -> Future:
        future = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as err:  # the caller sees it from future.result()
            future.set_exception(err)
        return future


def default_workers() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def process_context():
    """Workers forked from a single-threaded server that has already imported the markets.

    Forking this process directly is unsafe once it has threads (a Dask client, a progress
    bar); a fork server is safe and, with the imports preloaded, starts workers quickly.
    """
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(list(PRELOAD))
    return ctx


def die_with_parent() -> None:
    """Process-pool initializer: this worker exits as soon as the process that started the pool is gone.

    A runner killed with SIGKILL cannot stop its workers, and a worker waiting for its next run
    would wait forever (the fork server and the resource tracker live as long as it does). A
    daemon thread waits on the parent's sentinel (:func:`multiprocessing.parent_process`), which
    becomes ready when the parent exits, however it exits, and ends the worker.
    """
    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def watch() -> None:
        multiprocessing.connection.wait([parent.sentinel])
        os._exit(1)

    threading.Thread(target=watch, name="die-with-parent", daemon=True).start()


@dataclass(frozen=True)
class Workers:
    """An executor, its name (recorded in the manifest) and how many runs it executes at once."""

    executor: Executor
    name: str
    slots: int


@contextmanager
def make_executor(name: str, workers: int | None = None, scheduler: str | None = None) -> Iterator[Workers]:
    """An executor by name; closed (and any cluster it started shut down) on exit. A process pool's
    workers end with the process that started them (:func:`die_with_parent`).

    ``dask`` connects to ``scheduler`` if given (its slots: the cluster's worker threads),
    else starts a ``LocalCluster`` of ``workers`` single-threaded processes on 127.0.0.1
    with no dashboard, each importing the market kinds as it starts.
    """
    if name == "serial":
        yield Workers(SerialExecutor(), name, 1)
    elif name == "process":
        n = workers or default_workers()
        with ProcessPoolExecutor(max_workers=n, mp_context=process_context(), initializer=die_with_parent) as pool:
            yield Workers(pool, name, n)
    elif name == "dask":
        with dask_client(workers, scheduler) as client:
            yield Workers(client.get_executor(), name, max(1, sum(client.nthreads().values())))
    else:
        raise InputError(f"unknown executor {name!r}; accepted: {', '.join(EXECUTORS)}")


@contextmanager
def dask_client(workers: int | None, scheduler: str | None):
    from dask.distributed import Client, LocalCluster

    if scheduler:
        try:
            client = Client(scheduler, timeout=DASK_CONNECT_TIMEOUT)
        except (OSError, TimeoutError, ValueError) as err:
            raise InputError(f"cannot reach the Dask scheduler at '{scheduler}' ({type(err).__name__}); "
                             "accepted: the address of a running scheduler, like tcp://127.0.0.1:8786") from None
        with client:
            yield client
        return
    with LocalCluster(n_workers=workers or default_workers(), threads_per_worker=1, processes=True,
                      host="127.0.0.1", dashboard_address=None, scheduler_kwargs=LOOPBACK_HTTP,
                      preload=list(PRELOAD)) as cluster, \
            Client(cluster) as client:
        yield client


# ------------------------------------------------------------------ one run
def execute(task: RunTask) -> RunResult:
    """Run one task: build the market from its parameters, run it on its own random stream."""
    kind = kind_of(task.protocol)
    out = kind.run(task.params, task.steps, task.rng())
    ids = {"run": task.run, "point": task.point, "seed": task.seed, **task.columns}
    row = pd.DataFrame([{**ids, **out.run}])
    steps = None
    if task.record.steps:
        quantities = task.record.quantities or kind.quantities
        cols = {q: out.steps[q] for q in quantities if q in out.steps}
        table = pd.DataFrame({"step": range(task.steps), **cols})
        table = table.iloc[::task.record.every].reset_index(drop=True)
        steps = pd.concat([pd.DataFrame({k: [v] * len(table) for k, v in ids.items()}), table], axis=1)
    return RunResult(task.run, row, steps)


# ------------------------------------------------------------------ a sweep
@dataclass(frozen=True)
class SweepSummary:
    runs: int
    skipped: int
    computed: int
    seconds: float
    tables: dict[str, Path]


def run_experiment(spec: ExperimentSpec, out: str | Path, executor: Executor, executor_name: str = "custom",
                   workers: int | None = None, in_flight: int | None = None) -> SweepSummary:
    """Run every run of ``spec`` not already in ``out`` on ``executor``; assemble the tables.

    At most ``in_flight`` runs (default 4 per worker) are submitted ahead, so memory stays
    bounded and an interruption loses only those.
    """
    store = ResultsStore.open(out, spec)
    start = time.perf_counter()
    store.begin(executor_name, workers)
    done = store.completed()
    todo = (t for t in spec.tasks() if t.run not in done)
    remaining = spec.runs - len(done)
    limit = in_flight or 4 * (workers or default_workers())
    pending: set[Future] = set()
    bar = progress(None, remaining, spec.name, unit="run")
    try:
        for task in todo:
            pending.add(executor.submit(execute, task))
            if len(pending) >= limit:
                pending = collect(store, pending, bar)
        while pending:
            pending = collect(store, pending, bar)
    finally:
        for f in pending:
            f.cancel()
        bar.close()
    tables = store.consolidate()
    store.finish()
    return SweepSummary(spec.runs, len(done), remaining, time.perf_counter() - start, tables)


def collect(store: ResultsStore, pending: set[Future], bar) -> set[Future]:
    """Wait for at least one run; write every finished one. Returns the runs still in flight."""
    finished, pending = wait(pending, return_when=FIRST_COMPLETED)
    for f in finished:
        store.add(f.result())
        bar.update(1)
    return pending
