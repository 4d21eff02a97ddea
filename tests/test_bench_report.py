"""docs/performance.md is merged benchmark by benchmark: a run replaces only the rows of the benchmarks that ran."""

import os
from pathlib import Path

import pytest

from benchmarks.performance_table import PerformanceTable, read_rows

A, B, C = "benchmarks/test_a.py::test_a", "benchmarks/test_b.py::test_b", "benchmarks/test_c.py::test_c"


def _table(*rows):
    table = PerformanceTable()
    for benchmark, what, figure, baseline in rows:
        table.recorder(benchmark).add(what, figure, "values/s", baseline, "base", "")
    return table


def test_updating_one_benchmark_keeps_the_others_rows(tmp_path):
    path = tmp_path / "performance.md"
    _table((A, "a one", 3e6, 1.5e6), (B, "b old", 10.0, 20.0), (A, "a two", 2.0, 4.0),
           (C, "c", 5.0, 5.0)).write(path)
    before = read_rows(path)
    # a benchmark's rows stay together, benchmarks in the order they first added one
    assert [(r[0], r[3], r[5]) for r in before] == [("a one", "2.00x", A), ("a two", "0.50x", A),
                                                  ("b old", "0.50x", B), ("c", "1.00x", C)]
    _table((A, "a new", 9.0, 3.0)).write(path)
    after = read_rows(path)
    # A's two rows become its one new row, where its first row was; B's and C's rows are untouched
    assert after == [("a new", "9 values/s", "3 values/s (base)", "3.00x", "", A), before[2], before[3]]
    _table((C, "c new", 1.0, 4.0), ("benchmarks/test_d.py::test_d", "d", 1.0, 1.0)).write(path)
    assert [r[0] for r in read_rows(path)] == ["a new", "b old", "c new", "d"]
    assert sorted(os.listdir(tmp_path)) == ["performance.md"]  # no temporary file left behind


def test_a_failed_write_leaves_the_old_table(tmp_path, monkeypatch):
    path = tmp_path / "performance.md"
    _table((A, "a", 1.0, 1.0)).write(path)
    text = path.read_text()

    def fail(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError, match="disk full"):
        _table((A, "a again", 2.0, 1.0)).write(path)
    assert path.read_text() == text
    assert sorted(os.listdir(tmp_path)) == ["performance.md"]


def test_the_shipped_table_is_keyed_by_benchmark():
    rows = read_rows(Path(__file__).resolve().parent.parent / "docs" / "performance.md")
    assert rows and all(r[5].startswith("benchmarks/test_bench_") and "::test_" in r[5] for r in rows)
