"""Shared markets for the benchmarks."""

from pathlib import Path

import numpy as np
import pytest

from benchmarks.performance_table import PerformanceTable

DOCS = Path(__file__).resolve().parent.parent / "docs"


def mixed_market(n: int, seed: int = 0) -> list[str]:
    """n non-identical bidders: uniforms, exponentials and capped Paretos with random parameters."""
    rng = np.random.default_rng(seed)
    specs = []
    for i in range(n):
        kind = i % 3
        if kind == 0:
            specs.append(f"uniform:0,{rng.uniform(0.5, 3):.4f}")
        elif kind == 1:
            specs.append(f"exponential:{rng.uniform(0.5, 2):.4f}")
        else:
            specs.append(f"pareto:{rng.uniform(0.3, 0.9):.4f},{rng.uniform(0.5, 1.5):.4f},"
                         f"{rng.uniform(5, 50):.4f}")
    return specs


@pytest.fixture
def market100():
    return mixed_market(100)


@pytest.fixture(scope="session")
def performance_table():
    """This run's rows for docs/performance.md, merged into it at the session's end."""
    table = PerformanceTable()
    yield table
    if table.rows:
        table.write(DOCS / "performance.md")


@pytest.fixture
def performance(performance_table, request):
    """``add(what, figure, unit, baseline, baseline_name, target)``: a row of this benchmark in docs/performance.md."""
    return performance_table.recorder(request.node.nodeid)
