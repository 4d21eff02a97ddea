"""What a finished experiment says: means with 95% intervals per parameter point, and plots.

The interval is Student's t over the runs (seeds) of a point: mean +- t_{0.975, k-1} s / sqrt(k),
each run contributing one number (its mean over steps), so runs are the independent units.
Plots show the revenue of each party (every ``*_revenue`` column) against each numeric swept
parameter, with the exact expectation dashed where the runs table has ``exact_*`` columns, and
the distribution of each revenue across seeds at every point.
"""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from pyarrow import ArrowException  # noqa: E402
from scipy import stats  # noqa: E402

from agora.experiments.output import check_out_dir, check_out_file, save_png, write_table  # noqa: E402
from agora.experiments.spec import ID_COLUMNS  # noqa: E402
from agora.experiments.store import MANIFEST, RUNS, read_manifest  # noqa: E402
from agora.market.errors import InputError  # noqa: E402

LEVEL = 0.95


def load_results(folder: str | Path) -> tuple[pd.DataFrame, dict]:
    """runs.parquet and the manifest of a finished experiment folder; one-line InputError if damaged."""
    folder = Path(folder)
    runs, manifest_path = folder / RUNS, folder / MANIFEST
    accepted = f"accepted: a folder written by `agora run SPEC --out DIR`, with {RUNS} and {MANIFEST}"
    if folder.exists() and not folder.is_dir():
        raise InputError(f"'{folder}' is a file, not a folder; {accepted}")
    manifest = read_manifest(manifest_path) if manifest_path.exists() else None
    if not runs.exists() or not (manifest or {}).get("finished"):
        hint = (" (the run did not finish: run the same `agora run` command again to resume it)"
                if (folder / "parts").is_dir() else "")
        raise InputError(f"'{folder}' has no finished experiment{hint}; {accepted}")
    try:
        table = pd.read_parquet(runs)
    except (OSError, ValueError, ArrowException) as err:
        raise InputError(f"'{runs}' cannot be read as a Parquet table ({str(err).splitlines()[0][:80]}); "
                         f"{accepted}") from None
    needed = ["point", *(k.removeprefix("market.") for k in manifest["spec"]["sweep_keys"])]
    missing = [c for c in needed if c not in table.columns]
    if missing:
        raise InputError(f"'{runs}' lacks the column(s) {', '.join(missing)} its manifest names; {accepted}")
    return table, manifest


def quantities(runs: pd.DataFrame, sweep_keys: list[str]) -> list[str]:
    """Numeric per-run outcomes (everything but ids, swept parameters and the step count)."""
    skip = set(ID_COLUMNS) | set(sweep_keys) | {"steps"}
    return [c for c in runs.columns if c not in skip and pd.api.types.is_numeric_dtype(runs[c])
            and not pd.api.types.is_bool_dtype(runs[c])]


def interval(values: np.ndarray) -> tuple[float, float, float]:
    """Mean and the 95% Student-t interval of the mean; nan bounds with fewer than two runs."""
    values = values[~np.isnan(values)]
    if values.size == 0:
        return math.nan, math.nan, math.nan
    mean = float(values.mean())
    if values.size < 2:
        return mean, math.nan, math.nan
    half = float(stats.t.ppf(0.5 + LEVEL / 2, values.size - 1) * values.std(ddof=1) / math.sqrt(values.size))
    return mean, mean - half, mean + half


def summary_table(runs: pd.DataFrame, sweep_keys: list[str]) -> pd.DataFrame:
    """One row per parameter point: its swept values, the number of runs, and mean/lo/hi per quantity."""
    rows = []
    for point, group in runs.groupby("point", sort=True):
        row = {"point": point, **{k: group[k].iloc[0] for k in sweep_keys}, "runs": len(group)}
        for q in quantities(runs, sweep_keys):
            row[f"{q}_mean"], row[f"{q}_lo"], row[f"{q}_hi"] = interval(group[q].to_numpy(float))
        rows.append(row)
    return pd.DataFrame(rows)


def revenues(runs: pd.DataFrame, sweep_keys: list[str]) -> list[str]:
    return [q for q in quantities(runs, sweep_keys) if q.endswith("_revenue") and not q.startswith("exact_")]


def point_labels(summary: pd.DataFrame, sweep_keys: list[str]) -> list[str]:
    if not sweep_keys:
        return [f"point {p}" for p in summary["point"]]
    return [", ".join(f"{k}={_short(r[k])}" for k in sweep_keys) for _, r in summary.iterrows()]


def _short(v) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def plot_against(summary: pd.DataFrame, sweep_keys: list[str], key: str, parties: list[str],
                 path: Path, title: str) -> Path:
    """Mean revenue of each party against ``key`` with 95% bands; one line per value of the other keys."""
    others = [k for k in sweep_keys if k != key]
    groups = summary.groupby(others, sort=True) if others else [((), summary)]
    fig, ax = plt.subplots(figsize=(7.5, 4.5), dpi=120)
    for name, g in groups:
        g = g.sort_values(key)
        suffix = "" if not others else " (" + ", ".join(
            f"{k}={_short(v)}" for k, v in zip(others, name if isinstance(name, tuple) else (name,))) + ")"
        for q in parties:
            x = g[key].to_numpy(float)
            line, = ax.plot(x, g[f"{q}_mean"], marker="o", ms=3, label=q.removesuffix("_revenue") + suffix)
            ax.fill_between(x, g[f"{q}_lo"], g[f"{q}_hi"], color=line.get_color(), alpha=0.2, lw=0)
            if f"exact_{q}_mean" in g:
                ax.plot(x, g[f"exact_{q}_mean"], color=line.get_color(), ls="--", lw=1)
    ax.set_xlabel(key)
    ax.set_ylabel("revenue per step")
    ax.set_title(f"{title}: mean over seeds with 95% band; dashed: exact", fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return save_png(fig, path)


def plot_distribution(runs: pd.DataFrame, summary: pd.DataFrame, sweep_keys: list[str], parties: list[str],
                      path: Path, title: str) -> Path:
    """Each party's revenue across seeds at every point: box plots with the runs as dots."""
    labels = point_labels(summary, sweep_keys)
    fig, axes = plt.subplots(len(parties), 1, figsize=(max(6.0, 0.9 * len(labels) + 2), 2.6 * len(parties)),
                             dpi=120, squeeze=False)
    points = summary["point"].tolist()
    for ax, q in zip(axes[:, 0], parties):
        data = [runs.loc[runs["point"] == p, q].to_numpy(float) for p in points]
        ax.boxplot(data, showfliers=False)
        for i, d in enumerate(data, start=1):
            ax.plot(np.full(d.size, i) + np.linspace(-0.15, 0.15, d.size), d, ".", color="0.3", ms=4)
        ax.set_ylabel(q.replace("_", " "))
        ax.set_xticks(range(1, len(labels) + 1), labels, rotation=30 if len(labels) > 4 else 0,
                      ha="right" if len(labels) > 4 else "center", fontsize=8)
    axes[0, 0].set_title(title, fontsize=10)
    fig.tight_layout()
    return save_png(fig, path)


def write_report(folder: str | Path) -> tuple[pd.DataFrame, list[str], list[Path]]:
    """summary.csv and figures/ in ``folder``; returns the summary, the sweep keys and the files."""
    folder = Path(folder)
    runs, manifest = load_results(folder)
    check_out_file(folder / "summary.csv", "DIR")
    check_out_dir(folder / "figures", "DIR")
    spec = manifest["spec"]
    sweep_keys = [k.removeprefix("market.") for k in spec["sweep_keys"]]
    summary = summary_table(runs, sweep_keys)
    files = [write_table(summary, folder / "summary.csv")]
    parties = revenues(runs, sweep_keys)
    if parties:
        numeric = [k for k in sweep_keys if pd.api.types.is_numeric_dtype(summary[k])
                   and not pd.api.types.is_bool_dtype(summary[k]) and summary[k].nunique() > 1]
        for key in numeric:
            files.append(plot_against(summary, sweep_keys, key, parties,
                                      folder / "figures" / f"revenue_vs_{key}.png", spec["name"]))
        files.append(plot_distribution(runs, summary, sweep_keys, parties,
                                       folder / "figures" / "revenue_by_seed.png", spec["name"]))
    return summary, sweep_keys, files


def summary_rows(summary: pd.DataFrame, sweep_keys: list[str], shown: list[str]) -> tuple[list[str], list[list]]:
    """Headers and rows for printing: swept values, runs, and 'mean [lo, hi]' per shown quantity."""
    headers = ["point", *sweep_keys, "runs", *shown]
    rows = []
    for _, r in summary.iterrows():
        cells = [int(r["point"]), *(r[k] for k in sweep_keys), int(r["runs"])]
        for q in shown:
            m, lo, hi = r[f"{q}_mean"], r[f"{q}_lo"], r[f"{q}_hi"]
            cells.append(f"{m:.4g}" if math.isnan(lo) else f"{m:.4g} [{lo:.4g}, {hi:.4g}]")
        rows.append(cells)
    return headers, rows
