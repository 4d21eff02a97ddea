"""Figures of a finished experiment, chosen by what was swept, readable at a column's width.

- a selection study (the runs table has each start's ``outcome`` and whether it was ``verified``):
  a basin map, each start's cell coloured by the outcome its play ended in (the outcomes of
  :mod:`agora.market.learning.selection`, an equilibrium without trade apart), the seller's price
  where play ends written in, crossed where the outcome was not verified; one panel per value of
  a third start;
- one numeric swept parameter: each party's mean revenue against it, one line per party, the 95%
  Student-t band only where points have two runs or more, the exact expectation dashed where the
  runs carry ``exact_*`` columns;
- one named swept parameter (a partition, a mechanism): each party's mean revenue per name, with
  its 95% interval where points have two runs or more; more than :data:`MAX_NAMES` partitions (such
  as ``partition = "all"``) are pooled by their block sizes, which make the same market for
  identically distributed buyers, one point per shape;
- two swept parameters, both numbers or both names (not a selection study): a heat map of each
  party's mean revenue (one number and one name: a line per name);
- three or more: each party's mean revenue against each numeric parameter, one line per value of
  the others;
- a study of shares rather than payoffs (adaptive play: the share of periods spent at the
  stochastically stable classes and at any convention, ``*_share_simulated``) with one numeric swept
  parameter: each share against it, the exact stationary mass (``*_share_exact``) dashed where the
  chain was solved.

Every figure is 3.5 in wide with text of 8 pt or more, keeps its legend outside the axes, and
puts integer ticks on integer parameters (:class:`matplotlib.ticker.MaxNLocator`).
"""

from __future__ import annotations

from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.colors import ListedColormap  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from agora.market.learning.selection import OUTCOMES  # noqa: E402

WIDTH = 3.5  # inches: one column of a two-column page
FONT = 8.0  # points, the smallest text drawn
STYLE = {"font.size": FONT, "axes.titlesize": FONT, "axes.labelsize": FONT, "xtick.labelsize": FONT,
         "ytick.labelsize": FONT, "legend.fontsize": FONT, "figure.titlesize": FONT,
         "legend.title_fontsize": FONT}
MAX_NAMES = 12  # names on one axis that stay readable at a column's width
#: One marker per party, so parties whose lines coincide (symmetric play) stay told apart.
MARKERS = ("o", "s", "^", "D", "v", "P")
NO_TRADE = "equilibrium, no trade"
OUTCOME_COLOURS = dict(zip(OUTCOMES, ("tab:blue", "tab:orange", "tab:green", "0.55"))) | {NO_TRADE: "tab:red"}
ENDINGS = (OUTCOMES[0], NO_TRADE, *OUTCOMES[1:])
#: Axis labels of the parameters the shipped market kinds sweep: the quantity, in words.
LABELS = {
    "seller": "seller's posted price",
    "intermediary": "intermediary's price for the right",
    "n": "number of bidders",
    "buyers": "number of buyers",
    "items": "number of items",
    "cost": "seller's cost",
    "mechanism": "seller's mechanism",
    "members": "committee members",
    "start_seller": "seller's starting price",
    "start_intermediary": "intermediary's starting price",
    "start_first": "first intermediary's starting fee",
    "start_second": "second intermediary's starting fee",
    "alpha": "learning rate alpha",
    "beta": "exploration decay beta",
    "block_sizes": "sizes of the intermediaries' blocks",
}


@dataclass
class ReportFigure:
    """A drawn figure, the file stem it is saved under (in figures/), and what it shows."""

    stem: str
    figure: Figure
    caption: str


def label(key: str) -> str:
    return LABELS.get(key, key.replace("_", " "))


def party(quantity: str) -> str:
    """Whose payoff a column is: 'first_revenue' -> 'first', 'profit' -> "seller's profit",
    'utility_0' -> "member 1's utility"."""
    if quantity == "profit":
        return "seller's profit"
    if quantity.startswith("utility_") and quantity[8:].isdigit():
        return f"member {int(quantity[8:]) + 1}'s utility"
    return quantity.removesuffix("_revenue").replace("_", " ")


def quantity_label(quantity: str, per: str) -> str:
    """'seller_revenue' -> 'seller revenue per step'; 'profit' -> "seller's profit per step"."""
    return party(quantity) + (" revenue" if quantity.endswith("_revenue") else "") + f" {per}"


def shown(value) -> str:
    return f"{value:.4g}" if isinstance(value, (float, np.floating)) else str(value)


def is_integer(values: pd.Series) -> bool:
    return pd.api.types.is_integer_dtype(values) and not pd.api.types.is_bool_dtype(values)


def is_numeric(values: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)


def new_figure(panels: int = 1, height: float = 2.6) -> tuple[Figure, np.ndarray]:
    fig, axes = plt.subplots(1, panels, figsize=(WIDTH, height), dpi=150, squeeze=False,
                             layout="constrained", sharey=True)
    return fig, axes[0]


def seeds_title(runs_per_point: int, band: bool) -> str:
    """What a line figure draws: the mean of so many seeds, and the band only if there is one."""
    if runs_per_point == 1:
        return "one seed"
    return f"mean of {runs_per_point} seeds" + (", 95% band" if band else "")


def outside_legend(fig: Figure, handles: list, ncol: int | None = None) -> None:
    """The legend below the axes (never on the data)."""
    fig.legend(handles=handles, loc="outside lower center", ncol=ncol or min(3, len(handles)),
               frameon=False, fontsize=FONT, handlelength=1.6, columnspacing=1.0)


def line_figure(summary: pd.DataFrame, key: str, others: list[str], parties: list[str]) -> ReportFigure:
    """Mean revenue of each party against ``key``; a line per party (and per value of ``others``)."""
    fig, (ax,) = new_figure(height=2.9)
    what = "revenue" if all(q.endswith("_revenue") for q in parties) else "payoff"
    runs = int(summary["runs"].min())
    band = runs >= 2
    groups = list(summary.groupby(others, sort=True)) if others else [((), summary)]
    handles, exact = [], False
    for name, g in groups:
        g = g.sort_values(key)
        x = g[key].to_numpy(float)
        values = name if isinstance(name, tuple) else (name,)
        suffix = ", ".join(f"{k} = {shown(v)}" for k, v in zip(others, values))
        for q, marker in zip(parties, MARKERS * len(parties)):
            line, = ax.plot(x, g[f"{q}_mean"], marker=marker, ms=4, lw=1.2, mfc="none",
                            label=party(q) + (f" ({suffix})" if suffix else ""))
            handles.append(line)
            if band:
                ax.fill_between(x, g[f"{q}_lo"], g[f"{q}_hi"], color=line.get_color(), alpha=0.2, lw=0)
            if f"exact_{q}_mean" in g:
                ax.plot(x, g[f"exact_{q}_mean"], color=line.get_color(), ls="--", lw=1)
                exact = True
    if exact:
        handles.append(ax.plot([], [], color="0.3", ls="--", lw=1, label="exact expectation")[0])
    ax.set_xlabel(label(key))
    ax.set_ylabel(f"{what} per step")
    if is_integer(summary[key]):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_title(seeds_title(runs, band))
    outside_legend(fig, handles, ncol=1 if others else 2)
    caption = (f"Mean {what} per step of each party against {label(key)}"
               + (", 95% Student-t band over seeds" if band else "")
               + ("; dashed: the exact expectation" if exact else "") + ".")
    return ReportFigure(f"revenue_vs_{key}", fig, caption)


def named_figure(summary: pd.DataFrame, key: str, parties: list[str], title: str | None = None) -> ReportFigure:
    """Mean revenue of each party for each value of one named parameter (a partition, a mechanism):
    a point per value with its 95% Student-t interval over seeds, the exact expectation as a dash;
    ``title`` replaces the count of seeds when a point pools several."""
    fig, (ax,) = new_figure(height=2.9)
    what = "revenue" if all(q.endswith("_revenue") for q in parties) else "payoff"
    runs = int(summary["runs"].min())
    band = runs >= 2
    names = [shown(v) for v in summary[key]]
    x = np.arange(len(names), dtype=float)
    width = 0.6 / max(len(parties), 1)
    handles, exact = [], False
    for i, (q, marker) in enumerate(zip(parties, MARKERS * len(parties))):
        at = x + (i - (len(parties) - 1) / 2) * width
        mean = summary[f"{q}_mean"].to_numpy(float)
        err = (np.vstack([mean - summary[f"{q}_lo"], summary[f"{q}_hi"] - mean]) if band else None)
        handles.append(ax.errorbar(at, mean, yerr=err, fmt=marker, ms=4, mfc="none", capsize=2,
                                   lw=1.2, label=party(q)))
        if f"exact_{q}_mean" in summary and summary[f"exact_{q}_mean"].notna().any():
            ax.hlines(summary[f"exact_{q}_mean"], at - width / 2, at + width / 2, colors="0.3", lw=1,
                      linestyles="--")
            exact = True
    if exact:
        handles.append(ax.plot([], [], color="0.3", ls="--", lw=1, label="exact expectation")[0])
    ax.set_xticks(x, names, rotation=20 if max(len(n) for n in names) > 8 else 0, ha="right")
    ax.set_xlabel(label(key))
    ax.set_ylabel(f"{what} per step")
    ax.set_title(title or seeds_title(runs, band))
    outside_legend(fig, handles, ncol=2)
    caption = (f"Mean {what} per step of each party for each {label(key)}"
               + (", 95% Student-t interval over seeds" if band else "")
               + ("; dashed: the exact expectation" if exact else "") + ".")
    return ReportFigure(f"revenue_by_{key}", fig, caption)


def block_sizes(partition: str) -> str:
    """``"0,1|2"`` -> ``"2+1"``: a partition's block sizes, largest first."""
    return "+".join(map(str, sorted((len(b.split(",")) for b in partition.split("|")), reverse=True)))


def by_block_sizes(runs: pd.DataFrame, parties: list[str]) -> ReportFigure:
    """:func:`named_figure` over the partitions' shapes: every run of every partition with the same block
    sizes pooled (identically distributed buyers: the same market), fewest blocks first."""
    from agora.experiments.summaries import summary_table

    shapes = runs["partition"].map(block_sizes)
    order = sorted(set(shapes), key=lambda s: (s.count("+"), [-int(n) for n in s.split("+")]))
    pooled = runs.assign(block_sizes=shapes, point=shapes.map({s: i for i, s in enumerate(order)}))
    summary = summary_table(pooled, ["block_sizes"])
    band = int(summary["runs"].min()) >= 2
    title = f"mean of every partition's runs ({int(summary['runs'].min())} to {int(summary['runs'].max())})"
    return named_figure(summary, "block_sizes", parties, title + (", 95% band" if band else ""))


def heat_map(runs: pd.DataFrame, summary: pd.DataFrame, keys: list[str], quantity: str,
             per: str = "per step") -> ReportFigure:
    """Mean of ``quantity`` over the grid of two swept parameters, each cell written in; ``per``
    says what a value is taken over, for the colour bar."""
    x_key, y_key = keys
    xt, yt = start_ticks(runs, x_key), start_ticks(runs, y_key)
    grid = summary.pivot_table(index=y_key, columns=x_key, values=f"{quantity}_mean", aggfunc="first")
    fig, (ax,) = new_figure(height=3.0)
    image = ax.imshow(grid.to_numpy(float), origin="lower", aspect="auto", cmap="viridis")
    ax.set_xticks(range(grid.shape[1]), [shown(xt[v]) for v in grid.columns])
    ax.set_yticks(range(grid.shape[0]), [shown(yt[v]) for v in grid.index])
    if grid.size <= 36:
        mid = np.nanmean(grid.to_numpy(float))
        for (i, j), v in np.ndenumerate(grid.to_numpy(float)):
            ax.text(j, i, f"{v:.3g}", ha="center", va="center", fontsize=FONT,
                    color="white" if v < mid else "black")
    ax.set_xlabel(label(x_key))
    ax.set_ylabel(label(y_key))
    runs = int(summary["runs"].min())
    ax.set_title(f"{party(quantity)}: {seeds_title(runs, False)}")
    fig.colorbar(image, ax=ax, label=quantity_label(quantity, per))
    caption = f"Mean {quantity_label(quantity, per)} over {label(x_key)} and {label(y_key)}."
    return ReportFigure(f"{quantity}_by_{x_key}_and_{y_key}", fig, caption)


def compact(value: float) -> str:
    """Two significant digits, no leading zero: 0.32 -> '.32', 1 -> '1' (fits a narrow cell)."""
    text = f"{value:.2g}"
    return text.replace("0.", ".", 1) if text.startswith(("0.", "-0.")) else text


def start_ticks(runs: pd.DataFrame, key: str) -> dict:
    """Each swept value -> the value to print on its tick: a start's price or fee (the runs table's
    ``start_*_price`` or ``start_*_fee`` column, the start being a grid index), else itself."""
    for suffix in ("_price", "_fee"):
        if f"{key}{suffix}" in runs:
            pairs = runs[[key, f"{key}{suffix}"]].drop_duplicates(key)
            return dict(zip(pairs[key], pairs[f"{key}{suffix}"]))
    return {v: v for v in runs[key].unique()}


def endings(runs: pd.DataFrame) -> pd.Series:
    """Each run's outcome, an equilibrium without trade told apart (``trades`` false)."""
    if "trades" not in runs:
        return runs["outcome"]
    return runs["outcome"].where((runs["outcome"] != "equilibrium") | runs["trades"].astype(bool), NO_TRADE)


def modal_outcomes(runs: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Per start: the most frequent ending (ties to the first in ENDINGS), whether every run was
    verified, and the mean seller's price where play ended."""
    rank = {o: i for i, o in enumerate(ENDINGS)}

    def mode(outcomes: pd.Series) -> str:
        counts = outcomes.value_counts()
        return min(counts.index[counts == counts.max()], key=lambda o: rank.get(o, len(rank)))

    table = runs.assign(outcome=endings(runs))
    price = ("seller_price", "mean") if "seller_price" in runs else ("outcome", lambda o: np.nan)
    return table.groupby(keys, sort=True).agg(outcome=("outcome", mode), verified=("verified", "all"),
                                              seller_price=price).reset_index()


def basin_map(runs: pd.DataFrame, keys: list[str]) -> ReportFigure:
    """Where play from each start ends: a cell per start, coloured by outcome, the seller's end price
    written in (up to 49 cells a panel), crossed in its corner if not verified.

    The first two swept starts are the axes; a third (if any) makes one panel per value.
    """
    x_key, y_key, *rest = keys
    cells = modal_outcomes(runs, keys)
    present = [o for o in ENDINGS if o in set(cells["outcome"])]
    present += sorted(set(cells["outcome"]) - set(present))
    code = {o: i for i, o in enumerate(present)}
    cmap = ListedColormap([OUTCOME_COLOURS.get(o, "0.8") for o in present])
    panels = list(cells.groupby(rest[0], sort=True)) if rest else [(None, cells)]
    fig, axes = new_figure(len(panels), height=2.6 if len(panels) == 1 else 2.4)
    xt, yt = start_ticks(runs, x_key), start_ticks(runs, y_key)
    xs, ys = sorted(cells[x_key].unique()), sorted(cells[y_key].unique())
    crossed = False
    for ax, (value, panel) in zip(axes, panels):
        grid = np.full((len(ys), len(xs)), np.nan)
        for _, r in panel.iterrows():
            i, j = ys.index(r[y_key]), xs.index(r[x_key])
            grid[i, j] = code[r["outcome"]]
            if len(panel) <= 49 and np.isfinite(r["seller_price"]):
                ax.text(j, i, compact(r["seller_price"]), ha="center", va="center", color="white")
            if not r["verified"]:
                ax.plot(j + 0.3, i + 0.3, marker="x", color="black", ms=4, ls="none")
                crossed = True
        ax.imshow(grid, origin="lower", cmap=cmap, vmin=-0.5, vmax=len(present) - 0.5, aspect="auto")
        ax.set_xticks(range(len(xs)), [f"{xt[v]:.3g}" for v in xs])
        ax.set_yticks(range(len(ys)), [f"{yt[v]:.3g}" for v in ys])
        ax.set_xlabel(label(x_key) if len(panels) == 1 else label(x_key).replace(" starting ", "\nstarting "))
        if rest:
            ax.set_title(f"{start_ticks(runs, rest[0])[value]:.3g}")
    axes[0].set_ylabel(label(y_key))
    if rest:
        fig.suptitle(label(rest[0]))
    handles = [Patch(color=OUTCOME_COLOURS.get(o, "0.8"), label=o) for o in present]
    if crossed:
        handles.append(plt.Line2D([], [], marker="x", color="black", ls="none", label="not verified"))
    outside_legend(fig, handles, ncol=min(3, len(handles)))
    caption = ("Outcome of play from each start (equilibrium, cycle, mixed or none); in each cell the "
               "seller's price where play ends" + ("; x: not verified" if crossed else "") + ".")
    return ReportFigure("basin_map", fig, caption)


def revenue_parties(summary: pd.DataFrame) -> list[str]:
    """The parties' simulated payoff columns: each ``*_revenue`` (not exact or realized), else the
    seller's ``profit``, each side's ``*_profit`` and each member's ``utility_i``; columns with no
    value at all are left out."""
    means = [c.removesuffix("_mean") for c in summary.columns if c.endswith("_mean")
             and not c.startswith(("exact_", "realized_")) and summary[c].notna().any()]
    revenues = [q for q in means if q.endswith("_revenue")]
    return revenues or [q for q in means if q == "profit" or q.endswith("_profit") or q.startswith("utility_")]


def share_columns(summary: pd.DataFrame) -> list[str]:
    """The simulated shares of periods a run reports (``*_share_simulated``) that have a value."""
    return [c.removesuffix("_mean") for c in summary.columns if c.endswith("_share_simulated_mean")
            and summary[c].notna().any()]


def exact_of(quantity: str, summary: pd.DataFrame) -> str | None:
    """The summary's exact counterpart of ``quantity``: ``exact_q`` where the summary has it, or for a
    simulated share its ``*_exact`` mass where that has a value (the chain was solved)."""
    if f"exact_{quantity}_mean" in summary:
        return f"exact_{quantity}"
    if quantity.endswith("_share_simulated"):
        name = quantity.removesuffix("_simulated") + "_exact"
        if f"{name}_mean" in summary and summary[f"{name}_mean"].notna().any():
            return name
    return None


def shares_figure(summary: pd.DataFrame, key: str, shares: list[str]) -> ReportFigure:
    """Each share of periods against ``key``, with its band over seeds and the exact mass dashed."""
    fig, (ax,) = new_figure(height=2.9)
    runs = int(summary["runs"].min())
    band = runs >= 2
    g = summary.sort_values(key)
    x = g[key].to_numpy(float)
    handles, exact = [], False
    for q, marker in zip(shares, MARKERS * len(shares)):
        line, = ax.plot(x, g[f"{q}_mean"], marker=marker, ms=4, lw=1.2, mfc="none",
                        label=q.removesuffix("_share_simulated").replace("_", " ") + " share")
        handles.append(line)
        if band:
            ax.fill_between(x, g[f"{q}_lo"], g[f"{q}_hi"], color=line.get_color(), alpha=0.2, lw=0)
        if (e := exact_of(q, summary)) is not None:
            ax.plot(x, g[f"{e}_mean"], color=line.get_color(), ls="--", lw=1)
            exact = True
    if exact:
        handles.append(ax.plot([], [], color="0.3", ls="--", lw=1, label="exact stationary mass")[0])
    ax.set_xlabel(label(key))
    ax.set_ylabel("share of periods")
    if is_integer(summary[key]):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_title(seeds_title(runs, band))
    outside_legend(fig, handles, ncol=2)
    caption = (f"Share of periods at each kind of state against {label(key)}"
               + (", 95% Student-t band over seeds" if band else "")
               + ("; dashed: the exact stationary mass" if exact else "") + ".")
    return ReportFigure(f"shares_vs_{key}", fig, caption)


def report_figures(runs: pd.DataFrame, summary: pd.DataFrame, sweep_keys: list[str]) -> list[ReportFigure]:
    """The figures that fit what was swept (module docstring), drawn in the report's style."""
    with plt.rc_context(STYLE):
        return chosen_figures(runs, summary, sweep_keys)


def chosen_figures(runs: pd.DataFrame, summary: pd.DataFrame, sweep_keys: list[str]) -> list[ReportFigure]:
    swept = [k for k in sweep_keys if summary[k].nunique() > 1]
    numeric = [k for k in swept if is_numeric(summary[k])]
    parties = revenue_parties(summary)
    figures = []
    selection = "outcome" in runs and "verified" in runs and len(swept) >= 2
    if selection:
        figures.append(basin_map(runs, swept[:3]))
    if not parties:
        shares = share_columns(summary)
        if shares and len(numeric) == 1:
            figures.append(shares_figure(summary, numeric[0], shares))
        return figures
    if len(numeric) == 1:
        figures.append(line_figure(summary, numeric[0], [k for k in swept if k != numeric[0]], parties))
    elif len(swept) == 1 and swept[0] == "partition" and summary["partition"].nunique() > MAX_NAMES:
        figures.append(by_block_sizes(runs, parties))
    elif len(swept) == 1:  # one named parameter
        figures.append(named_figure(summary.sort_values(swept[0], key=lambda c: c.map(shown)), swept[0], parties))
    elif len(swept) == 2 and len(numeric) != 1:  # two numbers, or two names (a partition and a model)
        per = "where play ends" if selection else "per step"
        figures.extend(heat_map(runs, summary, swept, q, per) for q in parties)
    elif not selection:
        figures.extend(line_figure(summary, k, [o for o in swept if o != k], parties) for k in numeric)
    return figures
