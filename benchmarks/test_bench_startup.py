"""Start-up of the ``agora`` command (pytest-benchmark; run with `make bench`).

Wall time of ``agora --help`` and of ``agora solve seller-first --bidder uniform:0,1 --json``
as ratios to ``python -c "import numpy"``, all three measured in the same run, interleaved
(these machines are noisy) and summarized by their medians. Targets: at most 3x for
``--help`` and 6x for the solve.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

AGORA = str(Path(sys.executable).with_name("agora"))
COMMANDS = {
    "import numpy": [sys.executable, "-c", "import numpy"],
    "agora --help": [AGORA, "--help"],
    "agora solve seller-first": [AGORA, "solve", "seller-first", "--bidder", "uniform:0,1", "--json"],
}


def _wall(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    return time.perf_counter() - start


def median_walls(repeats: int = 9) -> dict[str, float]:
    times = {name: [] for name in COMMANDS}
    for _ in range(repeats):
        for name, cmd in COMMANDS.items():
            times[name].append(_wall(cmd))
    return {name: statistics.median(t) for name, t in times.items()}


def test_start_up_against_importing_numpy(benchmark):
    walls = median_walls()
    base = walls["import numpy"]
    ratios = {name: wall / base for name, wall in walls.items() if name != "import numpy"}
    benchmark.extra_info.update({f"{name} seconds": w for name, w in walls.items()})
    benchmark.extra_info.update({f"{name} / import numpy": r for name, r in ratios.items()})
    print(f"\nimport numpy {base:.3f} s; " + "; ".join(
        f"{name} {walls[name]:.3f} s = {r:.1f}x" for name, r in ratios.items()) + " (targets 3x, 6x)")
    benchmark.pedantic(_wall, args=(COMMANDS["agora --help"],), rounds=3, iterations=1)
