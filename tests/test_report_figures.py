"""``agora report`` figures (experiments/report_figures.py) on every shipped spec, shrunk to a few steps.

What is drawn is checked against the runs table itself: line heights against the pandas mean of
each point's runs, bands against scipy's Student-t interval, basin cells against each start's
outcome and verification flag. Legends are checked from the figure's artists (Agg renderer):
no data-line point, nor any sample along a segment, lies in a legend's box, and no legend
meets an axes' data area.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest
from cli_run import run_cli
from matplotlib.collections import PolyCollection
from matplotlib.colors import to_rgba
from matplotlib.image import AxesImage
from matplotlib.ticker import AutoLocator
from scipy import stats

from agora.experiments.report_figures import OUTCOME_COLOURS, WIDTH, report_figures
from agora.experiments.runner import SerialExecutor, run_experiment
from agora.experiments.spec import parse_spec_table
from agora.experiments.summaries import summary_table

matplotlib.use("Agg")
SPECS = Path(__file__).resolve().parents[1] / "experiments" / "specs"
SHIPPED = sorted(p.stem for p in SPECS.glob("*.toml"))
#: What each shipped spec sweeps decides its figures: one price -> a line figure; two starts of a
#: selection study -> a basin map and a heat map per party; three starts -> a basin map alone.
EXPECTED = {
    "intermediary-first": {"revenue_vs_intermediary"},
    "k-item-auction": {"revenue_by_partition"},  # one named sweep: a point per partition
    "robust": {"revenue_vs_mean"},  # a mean bound and a mechanism's name: a line per mechanism
    "posted-menu": {"seller_revenue_by_partition_and_utility"},  # two named sweeps: a heat map
    "q-learning": {"revenue_vs_alpha"},  # the learning rate: a line per side's profit per session
    "veto-bargaining": {"revenue_vs_cost"},
    "adaptive-play": {"shares_vs_sample_row"},  # shares of periods, not payoffs: a line per share
    "q-learning-fees": {"revenue_vs_alpha"},  # a cost and a mechanism's name: a line per mechanism
    "selection-basins": {"basin_map", "seller_revenue_by_start_seller_and_start_intermediary",
                         "intermediary_revenue_by_start_seller_and_start_intermediary"},
    "selection-k-items": {"basin_map"},
    "seller-first": {"revenue_vs_seller"},
    "simultaneous": {"revenue_vs_n"},
}
MAGIC = {"png": b"\x89PNG\r\n\x1a\n", "pdf": b"%PDF-"}


def shrunk_run(name: str, folder: Path, seeds: int = 2, steps: int = 20) -> Path:
    """The shipped spec ``name`` with ``steps`` steps and at most ``seeds`` seeds, run serially in ``folder``."""
    data = tomllib.loads((SPECS / f"{name}.toml").read_text())
    data["steps"] = steps
    data["seeds"]["count"] = min(data["seeds"]["count"], seeds)
    run_experiment(parse_spec_table(data, name), folder, SerialExecutor(), "serial", 1)
    return folder


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> dict[str, Path]:
    return {name: shrunk_run(name, tmp_path_factory.mktemp(name)) for name in SHIPPED}


def drawn(folder: Path) -> tuple[pd.DataFrame, list]:
    runs = pd.read_parquet(folder / "runs.parquet")
    keys = [k.removeprefix("market.") for k in json.loads((folder / "manifest.json").read_text())["spec"]["sweep_keys"]]
    figures = report_figures(runs, summary_table(runs, keys), keys)
    for f in figures:
        f.figure.canvas.draw()
    return runs, figures


def legend_overlaps(fig) -> list[str]:
    """Why any legend of ``fig`` covers data: a line's point or segment sample in its box, or an axes' data area."""
    renderer = fig.canvas.get_renderer()
    legends = [*fig.legends, *(ax.get_legend() for ax in fig.axes if ax.get_legend())]
    found = []
    for legend in legends:
        box = legend.get_window_extent(renderer)
        for ax in fig.axes:
            if ax.get_label() == "<colorbar>":
                continue
            if box.overlaps(ax.get_window_extent(renderer)):
                found.append(f"legend meets the data area of {ax.get_title() or 'an axes'}")
            for line in ax.get_lines():
                xy = np.column_stack([line.get_xdata(), line.get_ydata()]).astype(float)
                if len(xy) == 0:
                    continue
                pts = ax.transData.transform(xy)
                t = np.linspace(0.0, 1.0, 25)[:, None, None]
                samples = (pts[:-1] + t * (pts[1:] - pts[:-1])).reshape(-1, 2) if len(pts) > 1 else pts
                inside = ((samples[:, 0] > box.x0) & (samples[:, 0] < box.x1)
                          & (samples[:, 1] > box.y0) & (samples[:, 1] < box.y1))
                if inside.any():
                    found.append(f"legend covers line {line.get_label()}")
    return found


def test_the_overlap_check_sees_a_legend_on_a_line():
    fig, ax = matplotlib.pyplot.subplots()
    ax.plot([0, 1], [0, 1], label="diagonal")
    ax.legend(loc="center")
    fig.canvas.draw()
    assert any("covers line diagonal" in why for why in legend_overlaps(fig))
    matplotlib.pyplot.close(fig)


@pytest.mark.parametrize("name", SHIPPED)
def test_report_writes_png_svg_pdf_per_figure_and_embeds_them(name, results, capsys):
    folder = results[name]
    code, out, err = run_cli(capsys, "report", str(folder))
    assert code == 0, err
    written = {p.stem for p in (folder / "figures").iterdir()} if (folder / "figures").is_dir() else set()
    assert written == EXPECTED[name]
    report = (folder / "report.md").read_text()
    for stem in written:
        for fmt in ("png", "svg", "pdf"):
            path = folder / "figures" / f"{stem}.{fmt}"
            head = path.read_bytes()[:200]
            assert head.startswith(MAGIC[fmt]) if fmt in MAGIC else b"<svg" in head, path
            assert f"wrote {path}" in out
        assert f"](figures/{stem}.png)" in report and f"(figures/{stem}.pdf)" in report
    # the numbers: each point's mean seller revenue over its runs (pandas, from runs.parquet), 6 digits
    runs = pd.read_parquet(folder / "runs.parquet")
    q = next(c for c in ("seller_revenue", "profit", "seller_profit", "stable_share_simulated") if c in runs)
    for mean in runs.groupby("point")[q].mean():
        assert f"| {mean + 0.0:.6g}" in report  # + 0.0: a mean of -0.0 reads 0
    if f"exact_{q}" in runs:
        for exact in runs.groupby("point")[f"exact_{q}"].first():
            assert f"| {exact:.6g} |" in report


@pytest.mark.parametrize("name", SHIPPED)
def test_no_legend_covers_data_and_text_is_readable_at_a_column(name, results):
    _, figures = drawn(results[name])
    for f in figures:
        assert legend_overlaps(f.figure) == [], f.stem
        assert f.figure.get_size_inches()[0] == pytest.approx(WIDTH)
        texts = [t for t in f.figure.findobj(matplotlib.text.Text) if t.get_text() and t.get_visible()]
        assert min(t.get_fontsize() for t in texts) >= 8, f.stem
        matplotlib.pyplot.close(f.figure)


def test_an_integer_sweep_gets_integer_ticks(results):
    _, figures = drawn(results["simultaneous"])
    (f,) = figures
    ax = f.figure.axes[0]
    lo, hi = ax.get_xlim()
    ticks = [t for t in ax.get_xticks() if lo <= t <= hi]
    assert len(ticks) >= 2 and all(float(t).is_integer() for t in ticks), ticks
    assert ax.get_xlabel() == "number of bidders"
    default = AutoLocator().tick_values(lo, hi)  # what matplotlib would have put there: 1.5 among them
    assert not all(float(t).is_integer() for t in default if lo <= t <= hi)
    matplotlib.pyplot.close(f.figure)


@pytest.mark.parametrize("seeds", [1, 3])
def test_a_band_only_with_two_seeds_or_more(seeds, tmp_path):
    runs, (f,) = drawn(shrunk_run("seller-first", tmp_path, seeds=seeds))
    ax = f.figure.axes[0]
    bands = [c for c in ax.collections if isinstance(c, PolyCollection)]
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert ax.get_xlabel() == "seller's posted price"
    for q in ("seller", "intermediary"):  # each line's height: the mean of its point's runs
        means = runs.groupby("seller")[f"{q}_revenue"].mean()
        assert lines[q].get_ydata() == pytest.approx(means.to_numpy(), abs=1e-12)
    if seeds == 1:
        assert bands == [] and "95%" not in ax.get_title() and ax.get_title() == "one seed"
        return
    assert len(bands) == 3 and ax.get_title() == "mean of 3 seeds, 95% band"
    x = runs.groupby("seller")["seller_revenue"]
    lo, hi = zip(*(stats.t.interval(0.95, len(v) - 1, loc=v.mean(), scale=stats.sem(v)) for _, v in x))
    ys = bands[0].get_paths()[0].vertices[:, 1]
    for bound in (*lo, *hi):
        assert np.min(np.abs(ys - bound)) < 1e-9


def test_basin_map_cells_are_each_starts_outcome(results):
    runs, figures = drawn(results["selection-basins"])
    (basin,) = [f for f in figures if f.stem == "basin_map"]
    ax = basin.figure.axes[0]
    (image,) = [a for a in ax.get_children() if isinstance(a, AxesImage)]
    xs, ys = sorted(runs["start_seller"].unique()), sorted(runs["start_intermediary"].unique())
    cells = image.get_array()
    crosses = {(int(round(x)), int(round(y))) for line in ax.get_lines()
               for x, y in zip(line.get_xdata(), line.get_ydata())}
    written = {(int(round(t.get_position()[0])), int(round(t.get_position()[1]))): t.get_text() for t in ax.texts}
    ending = []
    for _, r in runs.iterrows():
        i, j = ys.index(r["start_intermediary"]), xs.index(r["start_seller"])
        colour = image.cmap(image.norm(cells[i, j]))
        ending.append(r["outcome"] if r["outcome"] != "equilibrium" or r["trades"] else "equilibrium, no trade")
        assert colour == pytest.approx(to_rgba(OUTCOME_COLOURS[ending[-1]]))
        assert ((j, i) in crosses) == (not r["verified"])
        assert float(written[j, i]) == pytest.approx(r["seller_price"], rel=0.05, abs=1e-9)  # two digits
    labels = [t.get_text() for t in basin.figure.legends[0].get_texts()]
    assert set(labels) - {"not verified"} == set(ending)
    matplotlib.pyplot.close(basin.figure)


def test_report_on_the_selection_study_lists_outcomes(results, capsys):
    folder = results["selection-k-items"]
    assert run_cli(capsys, "report", str(folder))[0] == 0
    report = (folder / "report.md").read_text()
    runs = pd.read_parquet(folder / "runs.parquet")
    rows = [line for line in report.splitlines() if line.startswith("| ") and line[2].isdigit()]
    assert len(rows) == len(runs)
    for row, (_, r) in zip(rows, runs.sort_values("point").iterrows()):
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert cells[-2:] == [r["outcome"], "yes" if r["verified"] else "no"]


def test_a_numeric_and_a_named_sweep_give_a_line_per_name_and_party():
    """Profit and utilities (no *_revenue columns) over cost x mechanism: 2 mechanisms x 2 payoffs."""
    rng = np.random.default_rng(5)
    rows = [{"run": 6 * p + r, "point": p, "seed": r, "cost": cost, "mechanism": mech, "steps": 10,
             "profit": rng.normal(1 - cost), "utility_0": rng.normal(0.3), "utility_1": np.nan,
             "exact_profit": 1 - cost}
            for p, (cost, mech) in enumerate((c, m) for c in (0.0, 0.5, 1.0) for m in ("optimal", "posted-price"))
            for r in range(2)]
    runs = pd.DataFrame(rows)
    (f,) = report_figures(runs, summary_table(runs, ["cost", "mechanism"]), ["cost", "mechanism"])
    f.figure.canvas.draw()
    ax = f.figure.axes[0]
    labels = {line.get_label() for line in ax.get_lines()} - {"exact expectation"}
    drawn_lines = {lab for lab in labels if not lab.startswith("_")}
    assert drawn_lines == {f"{who} (mechanism = {m})" for who in ("seller's profit", "member 1's utility")
                           for m in ("optimal", "posted-price")}
    assert ax.get_xlabel() == "seller's cost" and ax.get_ylabel() == "payoff per step"
    assert legend_overlaps(f.figure) == []
    matplotlib.pyplot.close(f.figure)


def test_the_seller_first_plot_keeps_its_legend_off_the_curves_and_opt():
    from agora.experiments.plots import revenue_vs_price_figure

    fig = revenue_vs_price_figure(["uniform:0,1", "uniform:0,2"], points=60)
    fig.canvas.draw()
    assert len(fig.legends) == 1 and legend_overlaps(fig) == []
    matplotlib.pyplot.close(fig)


def test_report_rows_carry_the_exact_seller_revenue_of_the_virtual_value_formula(results, capsys):
    """Seller-first with U[0,1] and U[0,2] bidders: the seller posting p sells when the highest virtual
    value phi_i(v) = 2v - top_i reaches p, so E[revenue] = p (1 - min(1, (1+p)/2) min(1, (2+p)/4))
    (monopolist-intermediary, Section 3: the intermediary runs Myerson's auction shifted by p)."""
    folder = results["seller-first"]
    assert run_cli(capsys, "report", str(folder))[0] == 0
    rows = [line for line in (folder / "report.md").read_text().splitlines()
            if line.startswith("| ") and line[2].isdigit()]
    assert len(rows) == 5
    for row in rows:
        cells = [c.strip() for c in row.strip("|").split("|")]
        p, exact = float(cells[1]), float(cells[4])
        assert exact == pytest.approx(p * (1 - min(1, (1 + p) / 2) * min(1, (2 + p) / 4)), rel=1e-5)


def test_three_swept_parameters_give_a_line_figure_per_parameter():
    """a x b x c on a 2 x 2 x 2 grid, two runs each: against each key, a line per value pair of the others."""
    rng = np.random.default_rng(9)
    grid = [(a, b, c) for a in (1, 2) for b in (0.1, 0.2) for c in (3, 5)]
    runs = pd.DataFrame([{"run": 2 * p + r, "point": p, "seed": r, "a": a, "b": b, "c": c, "steps": 5,
                          "seller_revenue": rng.normal(a + b + c)} for p, (a, b, c) in enumerate(grid)
                         for r in range(2)])
    figures = report_figures(runs, summary_table(runs, ["a", "b", "c"]), ["a", "b", "c"])
    assert [f.stem for f in figures] == ["revenue_vs_a", "revenue_vs_b", "revenue_vs_c"]
    for f, key in zip(figures, "abc"):
        f.figure.canvas.draw()
        ax = f.figure.axes[0]
        lines = [line for line in ax.get_lines() if not line.get_label().startswith("_")]
        assert len(lines) == 4
        for line in lines:  # each line: the pandas mean of its runs at each value of key
            fixed = dict(part.split(" = ") for part in line.get_label()[len("seller ("):-1].split(", "))
            sel = np.logical_and.reduce([np.isclose(runs[k], float(v)) for k, v in fixed.items()])
            means = runs[sel].groupby(key)["seller_revenue"].mean()
            assert line.get_ydata() == pytest.approx(means.to_numpy(), abs=1e-12)
        assert legend_overlaps(f.figure) == []
        if key in "ac":
            lo, hi = ax.get_xlim()
            assert all(float(t).is_integer() for t in ax.get_xticks() if lo <= t <= hi)
        matplotlib.pyplot.close(f.figure)


def test_shares_of_periods_are_drawn_with_their_exact_masses_and_tabulated():
    """Adaptive play's rows carry shares of periods, not payoffs: a line per share against the swept
    integer, the exact stationary mass dashed at its own values, and both in the numbers table."""
    from agora.experiments.summaries import numbers_table

    runs = pd.DataFrame({"point": [0, 0, 1, 1], "run": range(4), "seed": [0, 1, 0, 1], "sample_row": [2, 2, 3, 3],
                         "stable_share_simulated": [0.5, 0.7, 0.2, 0.4],
                         "stable_share_exact": [0.61, 0.61, 0.33, 0.33]})
    summary = summary_table(runs, ["sample_row"])
    (fig,) = report_figures(runs, summary, ["sample_row"])
    assert fig.stem == "shares_vs_sample_row"
    ax = fig.figure.axes[0]
    drawn_lines = [ln for ln in ax.get_lines() if len(ln.get_xdata())]
    solid, dashed = ([ln for ln in drawn_lines if ln.get_linestyle() == ls] for ls in ("-", "--"))
    assert [list(ln.get_ydata()) for ln in solid] == [pytest.approx([0.6, 0.3])]
    assert [list(ln.get_ydata()) for ln in dashed] == [pytest.approx([0.61, 0.33])]
    table = numbers_table(runs, summary, ["sample_row"])
    assert "stable share exact" in table and "| 0.61 |" in table and "| 0.33 |" in table
    matplotlib.pyplot.close(fig.figure)
