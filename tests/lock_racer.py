"""Runs racing for one stale results lock, each in its own forked process.

    python lock_racer.py OUT DEAD_PID TRIALS

For each trial: write a lock of OUT held by DEAD_PID (a process gone on this host), let two
processes try to take it at the same moment, and print the trial's outcomes ("won" or "lost")
as one JSON list per line. Run as a program of its own so that it forks from a process with one
thread (a test runner has more).
"""

import json
import multiprocessing
import platform
import sys
from pathlib import Path

from agora.experiments.markets import SpecError
from agora.experiments.store import lock_path, run_lock


def take_over(out, barrier, release, results) -> None:
    """At the barrier, try the lock of ``out``; report "won" or "lost"; hold it until ``release``."""
    barrier.wait()
    try:
        with run_lock(out):
            results.put("won")
            release.wait(30)
    except SpecError:
        results.put("lost")


def race(out: Path, dead: int) -> list[str]:
    lock_path(out).write_text(json.dumps({"pid": dead, "host": platform.node(), "started": "earlier"}))
    ctx = multiprocessing.get_context("fork")
    barrier, release, results = ctx.Barrier(2), ctx.Event(), ctx.Queue()
    racers = [ctx.Process(target=take_over, args=(out, barrier, release, results), daemon=True) for _ in range(2)]
    for p in racers:
        p.start()
    outcomes = sorted(results.get(timeout=30) for _ in racers)
    release.set()
    for p in racers:
        p.join(30)
    return outcomes


if __name__ == "__main__":
    out, dead, trials = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    for _ in range(trials):
        print(json.dumps(race(out, dead)), flush=True)
