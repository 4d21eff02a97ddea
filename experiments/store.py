"""The results store of an experiment: tidy Parquet tables and a JSON manifest in one folder.

    DIR/manifest.json          spec (as written and as validated), seeds, package versions,
                               git commit, start and end times, one entry per session
    DIR/parts/run-000040-000059/  a finished batch of consecutive runs (run-000042/ for one run):
                               run.parquet (their rows) and steps.parquet; staged in
                               parts/.tmp-* and renamed into place, so a batch is either
                               wholly there or not at all
    DIR/runs.parquet           one row per run, sorted by run id   (written when all runs are done)
    DIR/steps.parquet          one row per run x recorded step     (idem)

A folder belongs to one spec (its SHA-256 is in the manifest): running the same spec again
skips the runs already in ``parts/``; a different spec there is an error.
"""

from __future__ import annotations

import fcntl
import json
import os
import platform
import re
import shutil
import subprocess
import time
import uuid
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

import pandas as pd

from agora.experiments.markets import SpecError
from agora.experiments.output import dumps, write_table, write_text
from agora.experiments.spec import ExperimentSpec

PART = re.compile(r"run-(\d+)(?:-(\d+))?")
PACKAGES = ("agora", "numpy", "scipy", "pandas", "pyarrow", "mesa", "networkx", "dask", "distributed")
RUNS, STEPS, MANIFEST = "runs.parquet", "steps.parquet", "manifest.json"


@dataclass(frozen=True)
class BatchResult:
    """Finished consecutive runs: their rows and steps, each table in run order (steps None if not recorded)."""

    runs: tuple[int, ...]
    row: pd.DataFrame
    steps: pd.DataFrame | None

    @property
    def name(self) -> str:
        first, last = self.runs[0], self.runs[-1]
        return f"run-{first:06d}" if first == last else f"run-{first:06d}-{last:06d}"


@dataclass(frozen=True)
class RunResult:
    """One finished run: its row in runs.parquet and its rows in steps.parquet (None if not recorded)."""

    run: int
    row: pd.DataFrame
    steps: pd.DataFrame | None


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def package_versions() -> dict[str, str | None]:
    versions = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def git_commit() -> dict[str, str | bool | None]:
    """The commit of the working tree Agora runs from, and whether tracked files differ from it."""
    root = Path(__file__).resolve().parents[1]

    def git(*args):
        try:
            out = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return out.stdout.strip() if out.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    status = git("status", "--porcelain", "--untracked-files=no") if commit else None
    return {"commit": commit, "dirty": None if status is None else bool(status)}


def read_manifest(path: Path) -> dict:
    """The manifest of a results folder; :class:`SpecError` naming the file if it is damaged."""
    accepted = "accepted: a manifest.json written by `agora run`"
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise SpecError(f"'{path}' cannot be read ({err.strerror}); {accepted}") from None
    except UnicodeDecodeError:
        raise SpecError(f"'{path}' is not UTF-8 text; {accepted}") from None
    except (json.JSONDecodeError, RecursionError) as err:
        raise SpecError(f"'{path}' is not valid JSON ({getattr(err, 'msg', 'nested too deeply')}); "
                        f"{accepted}") from None
    if not isinstance(manifest, dict):
        raise SpecError(f"'{path}' holds a JSON {type(manifest).__name__}, not an object; {accepted}")
    spec = manifest.get("spec")
    if not (isinstance(spec, dict) and isinstance(spec.get("name"), str)
            and isinstance(spec.get("sweep_keys"), list)):
        raise SpecError(f"'{path}' has no valid 'spec' entry (name and sweep_keys); {accepted}")
    return manifest


def lock_path(out: Path) -> Path:
    """The lock of a results folder: beside it, so that the folder itself stays as the spec left it."""
    out = Path(out).absolute()
    return out.parent / f".{out.name}.lock"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _holder(path: Path) -> dict | None:
    """Who holds the lock (pid, host, started); None if it is stale (its process on this host is gone)."""
    try:
        holder = json.loads(path.read_text(encoding="utf-8"))
        pid, host = int(holder["pid"]), str(holder["host"])
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError):
        return {"pid": "?", "host": "?", "started": "?"}  # unreadable: never taken over blindly
    if host == platform.node() and not _alive(pid):
        return None
    return holder


@contextmanager
def _guard(folder: Path):
    """Hold the lock of the folder the results lock lives in while one process checks and takes it.

    A kernel lock (``flock`` on the folder itself): released when its holder exits, however it
    exits, so a taker killed halfway never blocks the others, and no file is left behind.
    """
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError as err:
        raise _unlockable(folder, err) from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
        except OSError as err:
            raise _unlockable(folder, err) from None
        yield
    finally:
        os.close(fd)  # closing drops the flock


def _unlockable(folder: Path, err: OSError) -> SpecError:
    return SpecError(f"cannot lock '{folder}' for the run ({err.strerror}); accepted: an --out in a folder "
                     "you can read, write and lock")


def _take(path: Path, mine: str) -> dict | None:
    """Take the lock at ``path`` (free, or stale: its run was killed) and return None, or return its holder.

    Under :func:`_guard`, so that of two runs finding the same stale lock exactly one removes it and
    puts its own in place; the other then finds the winner's lock, alive. The new lock is written
    beside it and linked into place (``link`` never replaces a file), so it is never seen half-written.
    """
    with _guard(path.parent):
        holder = _holder(path)
        if holder is not None:
            return holder
        staged = path.with_name(f"{path.name}.{os.getpid()}")
        try:
            staged.write_text(mine, encoding="utf-8")
            with suppress(FileNotFoundError):
                os.remove(path)  # stale: its run was killed
            os.link(staged, path)
        except OSError as err:  # a file system without hard links, say
            raise _unlockable(path.parent, err) from None
        finally:
            with suppress(FileNotFoundError):
                staged.unlink()
    return None


@contextmanager
def run_lock(out: str | Path, wait: bool = False, poll: float = 0.5):
    """Hold the lock of ``out`` (a file with this process's PID and host) while the block runs.

    A lock whose process is gone (a killed run on this host) is taken over, by one run only when
    several find it at once (:func:`_take`); a live one makes this raise :class:`SpecError` in
    one line, or with ``wait`` waits until it is released.
    """
    path = lock_path(out)
    mine = json.dumps({"pid": os.getpid(), "host": platform.node(), "started": now()})
    path.parent.mkdir(parents=True, exist_ok=True)
    while (holder := _take(path, mine)) is not None:
        if not wait:
            raise SpecError(f"'{out}' is in use by another agora run (pid {holder.get('pid')} on "
                            f"{holder.get('host')}, since {holder.get('started')}; lock {path}); "
                            "accepted: wait for it, or pass --wait")
        time.sleep(poll)
    try:
        yield path
    finally:
        with suppress(FileNotFoundError):
            if path.read_text(encoding="utf-8") == mine:
                os.remove(path)


class ResultsStore:
    """The folder of one experiment; :meth:`open` checks it belongs to ``spec`` and writes nothing."""

    def __init__(self, out: Path, spec: ExperimentSpec, manifest: dict | None):
        self.out = out
        self.spec = spec
        self.manifest = manifest
        self.parts = out / "parts"

    @classmethod
    def open(cls, out: str | Path, spec: ExperimentSpec) -> ResultsStore:
        out = Path(out)
        if out.exists() and not out.is_dir():
            raise SpecError(f"--out '{out}' is a file; accepted: a new or empty folder, or one this spec wrote")
        manifest_path = out / MANIFEST
        if manifest_path.exists():
            manifest = read_manifest(manifest_path)
            if manifest.get("spec_sha256") != spec.sha256:
                raise SpecError(f"'{out}' holds results of another spec ({manifest['spec']['name']!r}, "
                                f"sha256 {str(manifest.get('spec_sha256'))[:12]}); accepted: a new or empty "
                                "folder, or one written by this same spec (which resumes it)")
            if not isinstance(manifest.get("sessions"), list):
                raise SpecError(f"'{manifest_path}' has no list of sessions; accepted: a manifest.json "
                                "written by `agora run`")
            for name in (RUNS, STEPS, "parts"):
                if (out / name).exists() and (out / name).is_dir() != (name == "parts"):
                    raise SpecError(f"'{out / name}' is a {'file' if name == 'parts' else 'folder'}; "
                                    "accepted: a results folder as `agora run` writes it")
            return cls(out, spec, manifest)
        if out.exists() and any(out.iterdir()):
            raise SpecError(f"'{out}' is not empty and has no {MANIFEST}; accepted: a new or empty folder")
        return cls(out, spec, None)

    # ------------------------------------------------------------------ runs
    def completed(self) -> set[int]:
        """Runs whose part is in place (their rows are final)."""
        return {run for runs in self.part_runs().values() for run in runs}

    def part_runs(self) -> dict[Path, range]:
        """Each part in place and the runs it holds, in run order."""
        if not self.parts.is_dir():
            return {}
        found = [(p, m) for p in self.parts.iterdir() if (m := PART.fullmatch(p.name))]
        runs = {p: range(int(m.group(1)), int(m.group(2) or m.group(1)) + 1) for p, m in found}
        return dict(sorted(runs.items(), key=lambda item: item[1].start))

    def begin(self, executor: str, workers: int | None) -> None:
        """Write (or extend) the manifest and clear what a killed session left half-staged."""
        self.parts.mkdir(parents=True, exist_ok=True)
        for stale in self.parts.glob(".tmp-*"):
            shutil.rmtree(stale, ignore_errors=True)
        session = {"started": now(), "finished": None, "executor": executor, "workers": workers,
                   "skipped": len(self.completed()), "computed": 0}
        if self.manifest is None:
            self.manifest = self.new_manifest()
        self.manifest["finished"] = None
        self.manifest["sessions"].append(session)
        self.write_manifest()

    def new_manifest(self) -> dict:
        spec = self.spec
        return {
            "spec": spec.canonical(), "spec_sha256": spec.sha256, "spec_toml": spec.source,
            "runs": spec.runs,
            "seeds": {"base": spec.seeds.base, "count": spec.seeds.count, "common": spec.seeds.common,
                      "scheme": "run r draws from numpy.random.SeedSequence(base, spawn_key=k), "
                                "k = (seed,) if common else (r,)",
                      "runs": [{"run": t.run, "point": t.point, "seed": t.seed, "spawn_key": list(t.spawn_key)}
                               for t in spec.tasks()]},
            "packages": package_versions(), "git": git_commit(),
            "started": now(), "finished": None, "sessions": [],
        }

    def write_manifest(self) -> None:
        write_text(self.out / MANIFEST, dumps(self.manifest) + "\n")

    def add(self, result: BatchResult) -> None:
        """Write one finished batch atomically: staged, then renamed into ``parts/run-FIRST-LAST``."""
        final = self.parts / result.name
        if final.exists():
            return
        stage = self.parts / f".tmp-{uuid.uuid4().hex}"
        stage.mkdir()
        try:
            result.row.to_parquet(stage / "run.parquet", index=False)
            if result.steps is not None:
                result.steps.to_parquet(stage / "steps.parquet", index=False)
            try:
                os.rename(stage, final)
            except OSError:
                if not final.exists():
                    raise
                return  # another runner on this folder finished the same runs first: keep its part
        finally:
            shutil.rmtree(stage, ignore_errors=True)
        self.manifest["sessions"][-1]["computed"] += len(result.runs)

    # ------------------------------------------------------------------ tables
    def consolidate(self) -> dict[str, Path]:
        """runs.parquet and steps.parquet from every part, in run order (deterministic bytes)."""
        parts = self.part_runs()
        missing = self.spec.runs - sum(len(r) for r in parts.values())
        if missing:
            raise RuntimeError(f"{missing} runs are not finished; run the same command again to resume")
        written = {"runs": write_table(self._concat(parts, "run.parquet"), self.out / RUNS)}
        if self.spec.record.steps:
            written["steps"] = write_table(self._concat(parts, "steps.parquet"), self.out / STEPS)
        return written

    @staticmethod
    def _concat(parts: dict[Path, range], name: str) -> pd.DataFrame:
        frames = [pd.read_parquet(p / name) for p in parts]
        return pd.concat(frames, ignore_index=True)

    def finish(self) -> None:
        self.manifest["sessions"][-1]["finished"] = self.manifest["finished"] = now()
        self.write_manifest()
