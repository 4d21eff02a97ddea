"""The sweep runner: every run of a spec on any ``concurrent.futures.Executor``.

A run is one :class:`~agora.experiments.spec.RunTask` executed by :func:`execute` wherever the
executor puts it (this process, a local process pool, a Dask cluster); its random numbers come
from its own ``SeedSequence``, so a run's rows do not depend on where or beside what it ran.
Runs travel in batches of consecutive runs (:func:`execute_batch`, sized by :class:`Batcher`);
each finished batch comes back to this process, which writes it atomically to the results
store as one part; the tables are assembled from the parts in run order, the same bytes for
any batching. Killing the runner loses only the batches in flight; running the same spec
again into the same folder resumes.
"""

from __future__ import annotations

import math
import multiprocessing
import multiprocessing.connection
import os
import threading
import time
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ProcessPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import import_module
from pathlib import Path

import pandas as pd

from agora.experiments.markets import MARKET_MODULES, kind_of
from agora.experiments.output import progress
from agora.experiments.spec import ExperimentSpec, RunTask
from agora.experiments.store import BatchResult, ResultsStore, RunResult
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
            client.run(warm)
            yield client
        return
    with LocalCluster(n_workers=workers or default_workers(), threads_per_worker=1, processes=True,
                      host="127.0.0.1", dashboard_address=None, scheduler_kwargs=LOOPBACK_HTTP,
                      preload=list(PRELOAD)) as cluster, \
            Client(cluster) as client:
        yield client


def warm() -> None:
    """Import the runner and every market kind: run on each worker of a running Dask cluster before
    its first batch (a LocalCluster's workers preload them as they start)."""
    for module in PRELOAD:
        import_module(module)


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
        steps = steps_table(ids, {q: out.steps[q] for q in quantities if q in out.steps}, task.steps,
                            task.record.every)
    return RunResult(task.run, row, steps)


def steps_table(ids: dict, cols: dict, steps: int, every: int) -> pd.DataFrame:
    """A run's recorded steps: its ids repeated, the step and each quantity, every ``every``-th step.

    Built as one frame; a quantity named like an id column keeps both columns, side by side.
    """
    if ids.keys() & {"step", *cols}:
        table = pd.DataFrame({"step": range(steps), **cols}).iloc[::every].reset_index(drop=True)
        return pd.concat([pd.DataFrame({k: [v] * len(table) for k, v in ids.items()}), table], axis=1)
    table = pd.DataFrame({**{k: [v] * steps for k, v in ids.items()}, "step": range(steps), **cols})
    return table if every == 1 else table.iloc[::every].reset_index(drop=True)


def execute_batch(tasks: list[RunTask]) -> tuple[BatchResult, float]:
    """Run consecutive tasks in one worker call; their rows joined in run order, and the seconds it took.

    The joined tables are what the per-run tables concatenate to, so a sweep's bytes do not depend
    on how its runs were batched.
    """
    start = time.perf_counter()
    results = [execute(t) for t in tasks]
    steps = [r.steps for r in results if r.steps is not None]
    batch = BatchResult(tuple(r.run for r in results), join([r.row for r in results]),
                        join(steps) if steps else None)
    return batch, time.perf_counter() - start


def join(frames: list[pd.DataFrame]) -> pd.DataFrame:
    return frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)


# ------------------------------------------------------------------ a sweep
#: Seconds of computing a batch of runs aims at: long enough that a worker's round trip (pickling,
#: the store's writes, Dask's scheduling) is a small part of it, short enough that a kill loses little.
BATCH_SECONDS = 1.0
#: Batches kept submitted ahead per worker, so that none waits for the runner between two batches.
AHEAD = 2


@dataclass(frozen=True)
class SweepSummary:
    """What a sweep did: its runs, those found done and those computed, its wall seconds, the seconds
    its workers spent in batches (their own timing) and the tables written."""

    runs: int
    skipped: int
    computed: int
    seconds: float
    tables: dict[str, Path]
    worker_seconds: float = 0.0


class Batcher:
    """Cuts the runs still to do into batches of consecutive runs worth about ``BATCH_SECONDS`` each.

    The cost of a run is estimated from the batches already back (their workers' own timing); until
    the first is back, batches hold one run. A batch never holds more than a ``1 / (AHEAD * slots)``
    share of what is left, so that the last batches are small and the workers finish together.
    """

    def __init__(self, tasks: list[RunTask], slots: int, size: int | None = None):
        self.tasks = tasks
        self.slots = slots
        self.fixed = size
        self.next = 0
        self.per_run: float | None = None
        self.busy = 0.0

    def observe(self, runs: int, seconds: float) -> None:
        """A batch of ``runs`` runs came back after ``seconds`` of computing."""
        self.per_run = seconds / runs
        self.busy += seconds

    def size(self) -> int:
        if self.fixed:
            return self.fixed
        if self.per_run is None:
            return 1
        left = len(self.tasks) - self.next
        share = math.ceil(left / (AHEAD * self.slots))
        return max(1, min(share, round(BATCH_SECONDS / max(self.per_run, 1e-9))))

    def take(self) -> list[RunTask]:
        """The next batch (empty when none is left); it stops before a run done in an earlier session."""
        batch = self.tasks[self.next:self.next + self.size()]
        for i in range(1, len(batch)):
            if batch[i].run != batch[i - 1].run + 1:
                batch = batch[:i]
                break
        self.next += len(batch)
        return batch


def run_experiment(spec: ExperimentSpec, out: str | Path, executor: Executor, executor_name: str = "custom",
                   workers: int | None = None, batch: int | None = None) -> SweepSummary:
    """Run every run of ``spec`` not already in ``out`` on ``executor``; assemble the tables.

    Runs go out in batches (``batch`` runs each, or sized by :class:`Batcher`), at most
    ``AHEAD`` batches per worker at once, so memory stays bounded and an interruption loses
    only those; each batch is written to the store as it comes back.
    """
    store = ResultsStore.open(out, spec)
    start = time.perf_counter()
    store.begin(executor_name, workers)
    done = store.completed()
    todo = [t for t in spec.tasks() if t.run not in done]
    slots = workers or default_workers()
    batcher = Batcher(todo, slots, batch)
    pending: set[Future] = set()
    bar = progress(None, len(todo), spec.name, unit="run")
    try:
        while True:
            while len(pending) < AHEAD * slots and (tasks := batcher.take()):
                pending.add(executor.submit(execute_batch, tasks))
            if not pending:
                break
            pending = collect(store, pending, bar, batcher)
    finally:
        for f in pending:
            f.cancel()
        bar.close()
    tables = store.consolidate()
    store.finish()
    return SweepSummary(spec.runs, len(done), len(todo), time.perf_counter() - start, tables, batcher.busy)


def collect(store: ResultsStore, pending: set[Future], bar, batcher: Batcher) -> set[Future]:
    """Wait for at least one batch; write every finished one. Returns the batches still in flight."""
    finished, pending = wait(pending, return_when=FIRST_COMPLETED)
    for f in finished:
        result, seconds = f.result()
        store.add(result)
        batcher.observe(len(result.runs), seconds)
        bar.update(len(result.runs))
    return pending
