"""Checks every experiment kind's tests share: executors that agree to the byte, a resumed run that
finishes to the same bytes, and a bad parameter refused in one line before anything is written."""

from __future__ import annotations

from pathlib import Path

from cli_run import run_cli

from agora.experiments.runner import make_executor, run_experiment
from agora.experiments.spec import load_spec
from agora.experiments.store import ResultsStore

TABLES = ("runs.parquet", "steps.parquet")


def _run(spec, folder: Path, executor: str, workers: int | None):
    with make_executor(executor, workers) as pool:
        return run_experiment(spec, folder, pool.executor, executor, pool.slots)


def lose(folder: Path, runs: set[int]) -> set[int]:
    """Delete the parts of ``folder`` that hold any of ``runs`` (a part holds a batch); the runs lost."""
    lost = set()
    for part, held in ResultsStore(folder, None, None).part_runs().items():
        if runs & set(held):
            for f in part.iterdir():
                f.unlink()
            part.rmdir()
            lost |= set(held)
    return lost


def assert_executors_and_resume_agree(spec_text: str, folder: Path, runs: int, lost: tuple[int, ...] = ()) -> None:
    """Serial and 2-worker runs of ``spec_text`` compute ``runs`` runs and write identical tables; then,
    with the parts holding the runs ``lost`` deleted and no tables assembled, a serial resume computes
    only the runs of those parts and writes the same bytes."""
    path = folder / "spec.toml"
    path.write_text(spec_text)
    spec = load_spec(path)
    tables = {}
    for name, workers in (("serial", None), ("process", 2)):
        assert _run(spec, folder / name, name, workers).computed == runs
        tables[name] = {t: (folder / name / t).read_bytes() for t in TABLES}
    assert tables["serial"] == tables["process"]
    if not lost:
        return
    cut = folder / "process"
    gone = lose(cut, set(lost))
    for t in TABLES:
        (cut / t).unlink()
    summary = _run(spec, cut, "serial", None)
    assert (summary.skipped, summary.computed) == (runs - len(gone), len(gone))
    assert {t: (cut / t).read_bytes() for t in TABLES} == tables["serial"]


def assert_refused(capsys, folder: Path, protocol: str, market: dict[str, str], line: str, says: str,
                   steps: int = 10) -> None:
    """``agora run`` on a spec whose ``[market]`` is ``market`` (key -> TOML line) with ``line`` put in
    place of its key: exit 2, nothing on stdout, one line on stderr that contains ``says``, no results."""
    market = {**market, line.split(" =")[0]: line}
    path = folder / "bad.toml"
    head = ['name = "bad"', f"steps = {steps}", "[seeds]", "count = 1", "base = 1", "[market]",
            f'protocol = "{protocol}"']
    path.write_text("\n".join([*head, *market.values()]) + "\n")
    out = folder / "results"
    code, stdout, stderr = run_cli(capsys, "run", str(path), "--out", str(out), "--executor", "serial")
    assert (code, stdout) == (2, "")
    assert stderr.startswith("agora: error: ") and stderr.count("\n") == 1, stderr
    assert says in stderr, stderr
    assert not out.exists()
