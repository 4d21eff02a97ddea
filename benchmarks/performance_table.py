"""The benchmark table of docs/performance.md: each figure beside its baseline, measured in the same run."""

from __future__ import annotations

import platform
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

HEADER = """# Performance

Written by `make bench` (benchmarks/performance_table.py); do not edit by hand. Every figure
is measured in the same run as its baseline, side by side, because these machines are shared
and noisy: read the ratio column, not the absolute numbers. Rates are CPU seconds of the
benchmark process (one core).

Machine: {machine}; numpy {numpy}; written {when} UTC.

| what | figure | baseline (same run) | ratio | target |
|---|---|---|---|---|
"""


@dataclass
class PerformanceTable:
    rows: list[tuple[str, str, str, str, str]] = field(default_factory=list)

    def add(self, what: str, figure: float, unit: str, baseline: float, baseline_name: str,
            target: str) -> None:
        """One row: ``figure`` and ``baseline`` in ``unit``, ratio figure / baseline."""
        self.rows.append((what, f"{_fmt(figure)} {unit}", f"{_fmt(baseline)} {unit} ({baseline_name})",
                          f"{figure / baseline:.2f}x", target))

    def write(self, path: Path) -> None:
        text = HEADER.format(machine=f"{platform.machine()}, {platform.python_implementation()} "
                                     f"{platform.python_version()}",
                             numpy=np.__version__, when=time.strftime("%Y-%m-%d %H:%M", time.gmtime()))
        text += "".join(f"| {' | '.join(row)} |\n" for row in self.rows)
        path.write_text(text)


def _fmt(x: float) -> str:
    if x >= 1e6:
        return f"{x / 1e6:.1f} M"
    if x >= 1e4:
        return f"{x / 1e3:.0f} k"
    return f"{x:.3g}"
