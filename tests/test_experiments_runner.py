"""The sweep runner and its results store (experiments/runner.py, experiments/store.py).

What must hold: the same spec gives byte-identical tables with the serial executor, a process
pool of 2 workers and a Dask LocalCluster on loopback (one cluster shared by this module); a
runner killed with SIGKILL mid-sweep and run again yields the same tables as an uninterrupted
run, with no row twice; a folder of another spec is refused.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from cli_run import run_cli
from kind_checks import lose

from agora.experiments.runner import LOOPBACK_HTTP, Batcher, make_executor, run_experiment
from agora.experiments.spec import load_spec
from agora.experiments.store import ResultsStore

ROOT = Path(__file__).resolve().parents[1]
TABLES = ("runs.parquet", "steps.parquet")

# Four points over the three protocols and both evaluators, 2 seeds each.
MIXED = """
name = "mixed"
steps = 25
[seeds]
count = 2
base = 11
[market]
protocol = "seller-first"
bidders = ["uniform:0,1", "uniform:0,2"]
[[sweep.points]]
"market.seller" = 0.5
[[sweep.points]]
"market.seller" = 0.8
"market.evaluator" = "mc"
[[sweep.points]]
"market.protocol" = "intermediary-first"
"market.intermediary" = 0.2
[[sweep.points]]
"market.protocol" = "simultaneous"
"market.evaluator" = "mc"
"""

# Long enough that a kill lands mid-sweep: 16 agent-based runs of 300 rounds.
LONG = """
name = "long"
steps = 300
[seeds]
count = 4
base = 5
[market]
protocol = "seller-first"
bidders = ["uniform:0,1", "exponential:1"]
exact = false
[sweep.grid]
"market.seller" = [0.3, 0.6, 0.9, 1.2]
[record]
every = 2
"""


# Runs of several seconds each, so that a kill lands while both workers are busy.
BUSY = """
name = "busy"
steps = 200000
[seeds]
count = 4
base = 5
[market]
protocol = "learning"
bidders = "uniform:0,1"
points = 21
seller = { rule = "hedge", eta = 5.0 }
[record]
steps = false
"""


def tables(folder: Path) -> dict[str, bytes]:
    return {name: (folder / name).read_bytes() for name in TABLES}


def run_with(spec_path: Path, out: Path, executor: str, workers: int | None = None, batch: int | None = None):
    spec = load_spec(spec_path)
    with make_executor(executor, workers) as pool:
        assert pool.slots == (workers or 1)
        return run_experiment(spec, out, pool.executor, executor, pool.slots, batch=batch)


def runs_done(folder: Path) -> int:
    return len(ResultsStore(folder, None, None).completed())


@pytest.fixture(scope="module")
def mixed(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("spec") / "mixed.toml"
    path.write_text(MIXED)
    return path


@pytest.fixture(scope="module")
def serial(mixed, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("serial") / "out"
    summary = run_with(mixed, out, "serial")
    assert (summary.runs, summary.skipped, summary.computed) == (8, 0, 8)
    return out


@pytest.fixture(scope="module")
def dask_cluster():
    from dask.distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None, scheduler_kwargs=LOOPBACK_HTTP) as cluster:
        yield cluster


# ------------------------------------------------------------------ tables
def test_tables_are_tidy(serial):
    runs = pd.read_parquet(serial / "runs.parquet")
    steps = pd.read_parquet(serial / "steps.parquet")
    assert runs["run"].tolist() == list(range(8))
    assert runs[["point", "seed"]].values.tolist() == [[p, s] for p in range(4) for s in range(2)]
    assert len(steps) == 8 * 25 and not steps.duplicated(["run", "step"]).any()
    assert steps.groupby("run")["step"].apply(list).tolist() == [list(range(25))] * 8
    # each run's row is the mean of its steps
    means = steps.groupby("run")["seller_revenue"].mean()
    pd.testing.assert_series_equal(means, runs.set_index("run")["seller_revenue"], check_names=False,
                                   rtol=0, atol=1e-15)
    assert runs["protocol"].tolist() == ["seller-first"] * 4 + ["intermediary-first"] * 2 + ["simultaneous"] * 2
    assert runs["seller"].tolist() == ["0.5"] * 2 + ["0.8"] * 2 + ["null"] * 4  # mixed types: JSON text


def test_manifest_records_spec_seeds_versions_and_times(serial, mixed):
    m = json.loads((serial / "manifest.json").read_text())
    spec = load_spec(mixed)
    assert m["spec_sha256"] == spec.sha256 and m["spec"] == json.loads(json.dumps(spec.canonical()))
    assert m["spec_toml"] == MIXED and m["runs"] == 8
    assert m["seeds"]["base"] == 11 and [r["spawn_key"] for r in m["seeds"]["runs"]] == [[r] for r in range(8)]
    assert m["packages"]["numpy"] and m["packages"]["mesa"].startswith("3.5")
    assert "commit" in m["git"]
    assert m["started"] <= m["finished"] and len(m["sessions"]) == 1
    assert m["sessions"][0]["computed"] == 8


def test_process_pool_with_two_workers_gives_identical_bytes(serial, mixed, tmp_path):
    run_with(mixed, tmp_path / "out", "process", workers=2)
    assert tables(tmp_path / "out") == tables(serial)


def test_dask_local_cluster_gives_identical_bytes(serial, mixed, tmp_path, dask_cluster):
    from dask.distributed import Client

    with Client(dask_cluster) as client:
        summary = run_experiment(load_spec(mixed), tmp_path / "out", client.get_executor(), "dask", 2)
    assert summary.computed == 8
    assert tables(tmp_path / "out") == tables(serial)


def test_cli_on_a_running_scheduler(serial, mixed, tmp_path, dask_cluster, capsys):
    code, out, err = run_cli(capsys, "run", str(mixed), "--out", str(tmp_path / "out"),
                             "--scheduler", dask_cluster.scheduler_address)
    assert code == 0, err
    assert "8 runs (0 already done, 8 run now)" in out and "on dask" in out
    assert tables(tmp_path / "out") == tables(serial)


# ------------------------------------------------------------------ resuming
def test_rerun_skips_everything_and_keeps_bytes(serial, mixed, tmp_path, capsys):
    out = tmp_path / "out"
    for _ in range(2):
        code, text, err = run_cli(capsys, "run", str(mixed), "--out", str(out), "--executor", "serial")
        assert code == 0, err
    assert "8 runs (8 already done, 0 run now)" in text
    assert tables(out) == tables(serial)
    assert len(json.loads((out / "manifest.json").read_text())["sessions"]) == 2


def test_lost_parts_are_recomputed_and_half_staged_ones_cleared(serial, mixed, tmp_path):
    out = tmp_path / "out"
    run_with(mixed, out, "serial", batch=1)
    assert lose(out, {1, 6}) == {1, 6}
    (out / "parts" / ".tmp-deadbeef").mkdir()
    (out / "parts" / ".tmp-deadbeef" / "run.parquet").write_bytes(b"half")
    for t in TABLES:
        (out / t).unlink()
    summary = run_with(mixed, out, "serial")
    assert (summary.skipped, summary.computed) == (6, 2)
    assert not list((out / "parts").glob(".tmp-*"))
    assert tables(out) == tables(serial)


# ------------------------------------------------------------------ batches
@pytest.mark.parametrize(("executor", "workers", "batch"), [("serial", None, 1), ("serial", None, 3),
                                                            ("serial", None, 8), ("process", 2, 3)])
def test_any_batching_gives_identical_bytes(serial, mixed, tmp_path, executor, workers, batch):
    """Batches of 1, 3 (across points of different protocols) and all 8 runs write the bytes of the
    sized batches of the serial reference; a part holds exactly its batch's runs."""
    out = tmp_path / "out"
    summary = run_with(mixed, out, executor, workers, batch)
    assert 0 < summary.worker_seconds <= (workers or 1) * summary.seconds  # the workers' own timing
    assert tables(out) == tables(serial)
    held = [list(r) for r in ResultsStore(out, None, None).part_runs().values()]
    assert held == [list(range(i, min(i + batch, 8))) for i in range(0, 8, batch)]


def test_resume_with_other_batches_gives_identical_bytes(serial, mixed, tmp_path):
    """Parts of batches of 3 with the middle one lost, resumed in batches of 2 (and one part of another
    session's size in between): the lost runs only are computed, and the bytes are the reference's."""
    out = tmp_path / "out"
    run_with(mixed, out, "serial", batch=3)
    assert lose(out, {4}) == {3, 4, 5}
    for t in TABLES:
        (out / t).unlink()
    summary = run_with(mixed, out, "serial", batch=2)
    assert (summary.skipped, summary.computed) == (5, 3)
    held = [list(r) for r in ResultsStore(out, None, None).part_runs().values()]
    assert held == [[0, 1, 2], [3, 4], [5], [6, 7]]
    assert tables(out) == tables(serial)


class _Task:
    def __init__(self, run: int):
        self.run = run


def test_batches_grow_to_a_second_of_work_and_shrink_at_the_end():
    """One run per batch until a cost is known; then about BATCH_SECONDS of runs, at most a
    1 / (AHEAD * slots) share of what is left, never across a run done before."""
    runs = [*range(0, 100), *range(150, 1000)]
    batcher = Batcher([_Task(r) for r in runs], slots=2)
    assert [len(batcher.take()) for _ in range(3)] == [1, 1, 1]
    batcher.observe(runs=4, seconds=0.04)  # 10 ms a run: 100 runs a second
    first = batcher.take()
    assert [t.run for t in first] == list(range(3, 99 + 1))  # 100 wanted; the gap after run 99 cuts it
    assert len(batcher.take()) == 100
    batcher.observe(runs=1, seconds=2.0)  # runs of 2 s: one a batch
    assert len(batcher.take()) == 1
    batcher.observe(runs=100, seconds=0.001)  # cheap runs: a quarter of what is left
    left = len(runs) - batcher.next
    assert len(batcher.take()) == -(-left // 4)
    sizes = []
    while batch := batcher.take():
        sizes.append(len(batch))
    assert sizes == sorted(sizes, reverse=True) and sizes[-1] == 1
    assert batcher.next == len(runs)


def test_another_spec_in_the_same_folder_is_refused(serial, tmp_path, capsys):
    other = tmp_path / "other.toml"
    other.write_text(MIXED.replace("base = 11", "base = 12"))
    before = {p: p.read_bytes() for p in serial.rglob("*") if p.is_file()}
    code, out, err = run_cli(capsys, "run", str(other), "--out", str(serial), "--executor", "serial")
    assert code == 2 and out == "" and err.count("\n") == 1
    assert "holds results of another spec ('mixed'" in err
    assert {p: p.read_bytes() for p in serial.rglob("*") if p.is_file()} == before


def test_a_folder_with_other_files_is_refused(mixed, tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("mine")
    code, _, err = run_cli(capsys, "run", str(mixed), "--out", str(tmp_path), "--executor", "serial")
    assert code == 2 and "is not empty and has no manifest.json" in err
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


def test_killed_runner_resumes_to_the_uninterrupted_tables(tmp_path, capsys):
    """SIGKILL to the runner and its pool mid-sweep; the same command again finishes the job."""
    spec = tmp_path / "long.toml"
    spec.write_text(LONG)
    killed, whole = tmp_path / "killed", tmp_path / "whole"
    cmd = [sys.executable, "-m", "agora.experiments.cli", "run", str(spec), "--out", str(killed),
           "--executor", "process", "--workers", "2"]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            if (killed / "parts").is_dir() and runs_done(killed) >= 3:
                break
            time.sleep(0.02)
        assert proc.poll() is None, proc.stderr.read().decode()
        os.killpg(proc.pid, signal.SIGKILL)  # the runner and the pool it started
    finally:
        proc.wait(timeout=30)
    print(f"killed after {time.monotonic() - deadline + 120:.1f} s")
    done = runs_done(killed)
    assert 3 <= done < 16
    assert not (killed / "runs.parquet").exists()

    code, out, err = run_cli(capsys, "run", str(spec), "--out", str(killed), "--executor", "serial")
    assert code == 0, err
    assert f"16 runs ({done} already done, {16 - done} run now)" in out
    run_with(spec, whole, "serial")
    assert tables(killed) == tables(whole)
    steps = pd.read_parquet(killed / "steps.parquet")
    assert len(steps) == 16 * 150 and not steps.duplicated(["run", "step"]).any()
    assert steps["step"].unique().tolist() == list(range(0, 300, 2))


def test_a_killed_runner_leaves_no_process_behind(tmp_path):
    """SIGKILL to `agora run` alone (not its process group) while its two workers are busy: within
    10 s none of the processes it started (fork server, resource tracker, workers) is alive."""
    import psutil

    spec = tmp_path / "busy.toml"
    spec.write_text(BUSY)
    cmd = [sys.executable, "-m", "agora.experiments.cli", "run", str(spec), "--out", str(tmp_path / "out"),
           "--executor", "process", "--workers", "2"]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    runner = psutil.Process(proc.pid)
    started: list[psutil.Process] = []
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            started = runner.children(recursive=True)
            if len(started) >= 4:  # resource tracker, fork server, two workers
                break
            time.sleep(0.1)
        assert proc.poll() is None and len(started) >= 4, (started, proc.stderr.read().decode())
        time.sleep(1.0)  # both workers inside a run
        proc.kill()
        proc.wait(timeout=30)
        _, alive = psutil.wait_procs(started, timeout=10)
        alive = [p for p in alive if p.status() != psutil.STATUS_ZOMBIE]  # exited, not yet reaped
        assert alive == [], [(p.pid, p.cmdline()[-1][:60]) for p in alive]
    finally:
        for p in started:
            with contextlib.suppress(psutil.NoSuchProcess):
                p.kill()


@pytest.mark.slow
def test_cli_starts_its_own_local_cluster(serial, mixed, tmp_path, capsys):
    """--executor dask with no --scheduler: a LocalCluster on loopback, started and shut down by the run."""
    code, out, err = run_cli(capsys, "run", str(mixed), "--out", str(tmp_path / "out"), "--executor", "dask",
                             "--workers", "1")
    assert code == 0, err
    assert tables(tmp_path / "out") == tables(serial)


@contextlib.contextmanager
def loopback_cluster(folder: Path, workers: int):
    """A `dask scheduler` and ``workers`` single-threaded `dask worker` processes on 127.0.0.1, each its
    own process started from the command line; yields the scheduler's address."""
    from dask.distributed import Client

    dask = str(Path(sys.executable).with_name("dask"))
    address_file = folder / "scheduler.json"
    common = ["--no-dashboard", "--host", "127.0.0.1"]
    procs = [subprocess.Popen([dask, "scheduler", "--port", "0", "--scheduler-file", str(address_file), *common],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    try:
        deadline = time.monotonic() + 60
        address = None
        while address is None and time.monotonic() < deadline:
            with contextlib.suppress(OSError, ValueError, KeyError):  # not yet written, or half-written
                address = json.loads(address_file.read_text())["address"]
            time.sleep(0.1)
        assert address, "the scheduler wrote no address within 60 s"
        procs += [subprocess.Popen([dask, "worker", address, "--nthreads", "1", "--no-nanny", "--death-timeout", "60",
                                    *common], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                  for _ in range(workers)]
        with Client(address, timeout="30s") as client:
            client.wait_for_workers(workers, timeout=60)
        yield address
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:  # a worker still closing gracefully
                p.kill()
                p.wait(timeout=10)


@pytest.mark.slow
def test_scale_out_to_a_scheduler_and_two_worker_processes(tmp_path):
    """`agora run --scheduler` against `dask scheduler` and two `dask worker` processes on loopback:
    the run counts both workers' slots, writes several batches, and its tables are the serial reference's bytes."""
    spec = tmp_path / "long.toml"
    spec.write_text(LONG)
    run_with(spec, tmp_path / "serial", "serial")
    with loopback_cluster(tmp_path, 2) as address:
        cmd = [sys.executable, "-m", "agora.experiments.cli", "run", str(spec), "--out", str(tmp_path / "out"),
               "--scheduler", address]
        done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "16 runs (0 already done, 16 run now)" in done.stdout and "on dask" in done.stdout
    assert json.loads((tmp_path / "out" / "manifest.json").read_text())["sessions"][-1]["workers"] == 2
    assert len(ResultsStore(tmp_path / "out", None, None).part_runs()) > 2
    assert tables(tmp_path / "out") == tables(tmp_path / "serial")
