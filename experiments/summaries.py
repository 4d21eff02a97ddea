"""What a finished experiment says: means with 95% intervals per parameter point, figures, report.md.

The interval is Student's t over the runs (seeds) of a point: mean +- t_{0.975, k-1} s / sqrt(k),
each run contributing one number (its mean over steps), so runs are the independent units.
The figures are chosen by what was swept (:mod:`agora.experiments.report_figures`); report.md
embeds them beside the numbers, the exact expectation next to each simulated mean.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
from pyarrow import ArrowException
from scipy import stats

from agora.experiments.output import check_out_dir, check_out_file, save_figure, write_table, write_text
from agora.experiments.report_figures import (
    ReportFigure,
    exact_of,
    is_numeric,
    report_figures,
    revenue_parties,
    share_columns,
)
from agora.experiments.spec import ID_COLUMNS
from agora.experiments.store import MANIFEST, RUNS, read_manifest
from agora.market.errors import InputError

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


def cell(mean: float, lo: float, hi: float, digits: int = 4) -> str:
    """'mean [lo, hi]', or the mean alone when there is no interval (one run)."""
    if math.isnan(lo):
        return f"{mean:.{digits}g}"
    return f"{mean:.{digits}g} [{lo:.{digits}g}, {hi:.{digits}g}]"


def numbers_table(runs: pd.DataFrame, summary: pd.DataFrame, sweep_keys: list[str]) -> str:
    """Markdown table: each point's swept values, runs, each party's revenue with its interval and the
    exact expectation beside it, and for selection studies the outcome(s) and whether all were verified."""
    parties = revenue_parties(summary) or share_columns(summary)
    exact = {q: exact_of(q, summary) for q in parties}
    headers = ["point", *sweep_keys, "runs"]
    for q in parties:
        headers.append(f"{q.replace('_', ' ')} [95%]")
        if exact[q]:
            headers.append(exact[q].replace("_", " "))
    selection = "outcome" in runs and "verified" in runs
    if selection:
        headers += ["outcome", "verified"]
        ends = runs.groupby("point").agg(outcome=("outcome", lambda o: "/".join(sorted(set(o)))),
                                         verified=("verified", "all"))
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    for _, r in summary.iterrows():
        cells = [str(int(r["point"])), *(f"{r[k]:.6g}" if is_numeric(summary[k]) else str(r[k])
                                         for k in sweep_keys), str(int(r["runs"]))]
        for q in parties:
            cells.append(cell(r[f"{q}_mean"], r[f"{q}_lo"], r[f"{q}_hi"], 6))
            if exact[q]:
                cells.append(f"{r[f'{exact[q]}_mean']:.6g}")
        if selection:
            end = ends.loc[r["point"]]
            cells += [end["outcome"], "yes" if end["verified"] else "no"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def report_markdown(spec: dict, runs: pd.DataFrame, summary: pd.DataFrame, sweep_keys: list[str],
                    figures: list[ReportFigure]) -> str:
    """report.md: what was run, each figure (PNG embedded, SVG and PDF linked) and the numbers."""
    points, counts = len(summary), sorted(set(summary["runs"].astype(int)))
    text = [f"# {spec['name']}", ""]
    if spec.get("description"):
        text += [spec["description"], ""]
    text += [f"{len(runs)} runs: {points} parameter point(s) x {'/'.join(map(str, counts))} seed(s), "
             f"{spec['steps']} steps each. Each run contributes its mean over steps; a point's interval is "
             "Student's t over its runs (mean +- t_0.975,k-1 s / sqrt(k)), shown where it has two runs "
             "or more. Exact values are the expectations the market kind computes at the point "
             "(`exact_*` columns of runs.parquet).", ""]
    for f in figures:
        text += [f"![{f.caption}](figures/{f.stem}.png)", "",
                 f"{f.caption} ([SVG](figures/{f.stem}.svg), [PDF](figures/{f.stem}.pdf))", ""]
    text += ["## Numbers", "", numbers_table(runs, summary, sweep_keys), "",
             "Every numeric quantity with its interval: summary.csv.", ""]
    return "\n".join(text)


def write_report(folder: str | Path) -> tuple[pd.DataFrame, list[str], list[Path]]:
    """summary.csv, report.md and figures/ (PNG, SVG, PDF) in ``folder``; returns the summary, the
    sweep keys and the files written."""
    folder = Path(folder)
    runs, manifest = load_results(folder)
    check_out_file(folder / "summary.csv", "DIR")
    check_out_file(folder / "report.md", "DIR")
    check_out_dir(folder / "figures", "DIR")
    spec = manifest["spec"]
    sweep_keys = [k.removeprefix("market.") for k in spec["sweep_keys"]]
    summary = summary_table(runs, sweep_keys)
    figures = report_figures(runs, summary, sweep_keys)
    text = report_markdown(spec, runs, summary, sweep_keys, figures)
    files = [write_table(summary, folder / "summary.csv")]
    for f in figures:
        files += save_figure(f.figure, folder / "figures" / f.stem)
    files.append(write_text(folder / "report.md", text))
    return summary, sweep_keys, files


def summary_rows(summary: pd.DataFrame, sweep_keys: list[str], shown: list[str]) -> tuple[list[str], list[list]]:
    """Headers and rows for printing: swept values, runs, and 'mean [lo, hi]' per shown quantity."""
    headers = ["point", *sweep_keys, "runs", *shown]
    rows = []
    for _, r in summary.iterrows():
        cells = [int(r["point"]), *(r[k] for k in sweep_keys), int(r["runs"])]
        for q in shown:
            m, lo, hi = r[f"{q}_mean"], r[f"{q}_lo"], r[f"{q}_hi"]
            cells.append(cell(m, lo, hi))
        rows.append(cells)
    return headers, rows
