"""The benchmark table of docs/performance.md: each figure beside its baseline, measured in the same run.

The table is keyed by benchmark (its pytest node id, the last column): a run replaces the rows
of the benchmarks that ran, in place, and keeps every other benchmark's rows as they were.
The file is written to a temporary file beside it and moved over it (``os.replace``), so a
reader never sees it half-written.
"""

from __future__ import annotations

import os
import platform
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

HEADER = """# Performance

Written by `make bench` (benchmarks/performance_table.py); do not edit by hand. Every figure
is measured in the same run as its baseline, side by side, because these machines are shared
and noisy: read the ratio column, not the absolute numbers. Rates are CPU seconds of the
benchmark process (one core). A run of some benchmarks rewrites only their own rows.

Machine: {machine}; numpy {numpy}; last written {when} UTC.

| what | figure | baseline (same run) | ratio | target | benchmark |
|---|---|---|---|---|---|
"""

Row = tuple[str, str, str, str, str, str]


@dataclass
class PerformanceTable:
    """Rows added by the benchmarks of one run (a benchmark that failed before adding one keeps its old rows)."""

    rows: list[Row] = field(default_factory=list)

    def recorder(self, benchmark: str) -> Recorder:
        """The ``add`` of one benchmark: its rows are tagged with ``benchmark`` (a pytest node id)."""
        return Recorder(self, benchmark)

    def write(self, path: Path) -> None:
        """Merge this run's rows into the table at ``path`` (see the module notes), atomically."""
        new: dict[str, list[Row]] = {}
        for row in self.rows:
            new.setdefault(row[-1], []).append(row)
        merged: list[Row] = []
        placed: set[str] = set()
        for row in read_rows(path):
            name = row[-1]
            if name not in new:
                merged.append(row)
            elif name not in placed:
                merged.extend(new[name])
                placed.add(name)
        for name, rows in new.items():
            if name not in placed:
                merged.extend(rows)
        text = HEADER.format(machine=f"{platform.machine()}, {platform.python_implementation()} "
                                     f"{platform.python_version()}",
                             numpy=np.__version__, when=time.strftime("%Y-%m-%d %H:%M", time.gmtime()))
        text += "".join(f"| {' | '.join(row)} |\n" for row in merged)
        _replace(path, text)


@dataclass(frozen=True)
class Recorder:
    table: PerformanceTable
    benchmark: str

    def add(self, what: str, figure: float, unit: str, baseline: float, baseline_name: str,
            target: str) -> None:
        """One row: ``figure`` and ``baseline`` in ``unit``, ratio figure / baseline."""
        self.table.rows.append((what, f"{_fmt(figure)} {unit}", f"{_fmt(baseline)} {unit} ({baseline_name})",
                                f"{figure / baseline:.2f}x", target, self.benchmark))


def read_rows(path: Path) -> list[Row]:
    """The table rows of a file written by :meth:`PerformanceTable.write` (none if there is no file)."""
    if not path.exists():
        return []
    lines = [line for line in path.read_text().splitlines() if line.startswith("| ")]
    rows = [tuple(cell.strip() for cell in line[2:-2].split(" | ")) for line in lines[1:]]
    return [row for row in rows if len(row) == 6]


def _replace(path: Path, text: str) -> None:
    """Write ``text`` to a temporary file in ``path``'s folder, then move it over ``path``."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o644)
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def _fmt(x: float) -> str:
    if x >= 1e6:
        return f"{x / 1e6:.1f} M"
    if x >= 1e4:
        return f"{x / 1e3:.0f} k"
    return f"{x:.3g}"
