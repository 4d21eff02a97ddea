"""``agora report DIR`` (experiments/summaries.py): the summary table and the standard plots.

The 95% interval is checked against scipy's own Student-t interval computed from the runs
table (an independent route to the same number, to 1e-12).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from cli_run import run_cli
from scipy import stats

from agora.experiments.runner import SerialExecutor, run_experiment
from agora.experiments.spec import load_spec

PNG = b"\x89PNG\r\n\x1a\n"
GRID = """
name = "grid"
steps = 100
[seeds]
count = 3
base = 3
[market]
protocol = "seller-first"
bidders = "uniform:0,1"
evaluator = "mc"
[sweep.grid]
"market.seller" = [0.3, 0.6, 0.9]
"market.n" = [1, 2]
"""



def finished(tmp_path: Path, text: str) -> Path:
    spec = tmp_path / "spec.toml"
    spec.write_text(text)
    out = tmp_path / "out"
    run_experiment(load_spec(spec), out, SerialExecutor(), "serial", 1)
    return out


@pytest.fixture(scope="module")
def grid(tmp_path_factory) -> Path:
    return finished(tmp_path_factory.mktemp("grid"), GRID)


def test_report_prints_one_row_per_point_and_writes_plots(grid, capsys):
    code, out, err = run_cli(capsys, "report", str(grid))
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == "mean [95% interval over seeds] per parameter point"
    assert lines[1].split()[:4] == ["point", "seller", "n", "runs"]
    assert "seller_revenue" in lines[1] and "intermediary_revenue" in lines[1]
    assert len([line for line in lines[3:] if line and line[0].isdigit()]) == 6
    # two swept parameters: a heat map of each party's mean revenue, no box plots
    for party in ("seller", "intermediary", "total"):
        name = f"figures/{party}_revenue_by_seller_and_n.png"
        assert (grid / name).read_bytes()[:8] == PNG
        assert f"wrote {grid / name}" in out
    assert not (grid / "figures" / "revenue_by_seed.png").exists()


def test_summary_matches_scipy_t_interval(grid, capsys):
    run_cli(capsys, "report", str(grid))
    runs = pd.read_parquet(grid / "runs.parquet")
    summary = pd.read_csv(grid / "summary.csv")
    assert len(summary) == 6 and summary["runs"].tolist() == [3] * 6
    for point, group in runs.groupby("point"):
        row = summary.loc[summary["point"] == point].iloc[0]
        assert (row["seller"], row["n"]) == (group["seller"].iloc[0], group["n"].iloc[0])
        for q in ("seller_revenue", "intermediary_revenue", "welfare"):
            x = group[q].to_numpy()
            lo, hi = stats.t.interval(0.95, len(x) - 1, loc=x.mean(), scale=stats.sem(x))
            assert row[f"{q}_mean"] == pytest.approx(x.mean(), abs=1e-12)
            assert (row[f"{q}_lo"], row[f"{q}_hi"]) == pytest.approx((lo, hi), abs=1e-12)
    # the exact expectation at each point lies inside most 95% intervals (not asserted per point)
    inside = ((summary["exact_seller_revenue_mean"] >= summary["seller_revenue_lo"])
              & (summary["exact_seller_revenue_mean"] <= summary["seller_revenue_hi"]))
    assert inside.sum() >= 3


def test_one_seed_gives_means_without_intervals(tmp_path, capsys):
    out = finished(tmp_path, GRID.replace("count = 3", "count = 1"))
    code, text, err = run_cli(capsys, "report", str(out))
    assert code == 0, err
    summary = pd.read_csv(out / "summary.csv")
    assert summary["seller_revenue_lo"].isna().all() and np.isfinite(summary["seller_revenue_mean"]).all()
    assert "[" not in text.splitlines()[3]


def test_report_on_a_folder_without_results(tmp_path, capsys):
    code, out, err = run_cli(capsys, "report", str(tmp_path / "nothing"))
    assert code == 2 and out == "" and err.count("\n") == 1 and "has no finished experiment" in err
    (tmp_path / "half" / "parts").mkdir(parents=True)
    code, _, err = run_cli(capsys, "report", str(tmp_path / "half"))
    assert code == 2 and "run the same `agora run` command again" in err


def test_interval_formula():
    from agora.experiments.summaries import interval

    mean, lo, hi = interval(np.array([1.0, 2.0, 3.0, 4.0]))
    half = stats.t.ppf(0.975, 3) * math.sqrt(5 / 3) / 2
    assert (mean, lo, hi) == pytest.approx((2.5, 2.5 - half, 2.5 + half), abs=1e-12)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["seller-first", "intermediary-first", "simultaneous", "veto-bargaining",
                                  "posted-menu", "robust", "k-item-auction"])
def test_example_spec_runs_and_reports(name, tmp_path, capsys):
    spec = Path(__file__).resolve().parents[1] / "experiments" / "specs" / f"{name}.toml"
    code, out, err = run_cli(capsys, "run", str(spec), "--out", str(tmp_path / "out"), "--workers", "2")
    assert code == 0, err
    code, out, err = run_cli(capsys, "report", str(tmp_path / "out"))
    assert code == 0, err
    key = {"seller-first": "seller", "intermediary-first": "intermediary", "simultaneous": "n"}[name]
    assert (tmp_path / "out" / "figures" / f"revenue_vs_{key}.png").read_bytes()[:8] == PNG
