"""Selection studies through the experiments runner; summaries, benchmarks and basin figures for reports.

A study (:mod:`agora.market.learning.selection`, :mod:`agora.market.learning.k_selection`) says where repeated play ends
from each start. :func:`run_selection` runs it as an experiment: one run of the
``learning`` (or ``learning-k-items``) market kind per start, executed by
:func:`agora.experiments.runner.execute` on any executor (serial, a process pool, Dask), each on
the study's own child ``SeedSequence``, so the endings are the study's whatever the executor
and the number of workers. Here the endings are also summarized per rule, set beside both
Stackelberg outcomes and the limit of the logit QRE branch, and drawn as basins of
attraction in the (p_s, p_I) plane.
"""

from __future__ import annotations

import math
import time
from dataclasses import fields
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from agora.experiments.markets.selection import rule_table  # noqa: E402
from agora.experiments.output import save_png  # noqa: E402
from agora.experiments.spec import ExperimentSpec, parse_spec_table  # noqa: E402
from agora.market.learning.k_selection import KEnding, KStudy, KStudyResult, k_result  # noqa: E402
from agora.market.learning.qre import trace_logit_qre  # noqa: E402
from agora.market.learning.selection import Ending, Market, Study, StudyResult, relative_mixed_regret, study_result  # noqa: E402
from agora.market.single_item.intermediary_first import solve_intermediary_first  # noqa: E402
from agora.market.single_item.seller_first import solve_seller_first  # noqa: E402


# ------------------------------------------------------------------ through the runner
def study_spec(study: Study | KStudy) -> ExperimentSpec:
    """The study as an experiment: one point per start (in the study's order), one seed per point,
    ``seeds.base`` = the study's seed; per-step rows are not kept."""
    s, i = study.rules[:2]
    other = "same" if study.intermediary_rule is None else rule_table(i)
    common = {"seller": rule_table(s), "window": study.window, "mixed_tol": study.mixed_tol}
    m = study.market
    if isinstance(study, KStudy):
        market = {"protocol": "learning-k-items", "distribution": m.distribution, "blocks": list(m.blocks),
                  "items": m.items, "points": m.points, "upper": m.top,
                  "seller_price": "learn" if m.seller_price is None else m.seller_price,
                  "intermediaries": other, **common}
        keys = ("start_seller", "start_first", "start_second")
        starts = study.starts()
    else:
        market = {"protocol": "learning", "bidders": list(m.bidders), "points": m.points, "grid": m.grid,
                  "intermediary": other, **common}
        keys = ("start_seller", "start_intermediary")
        starts = [t.start for t in study.tasks()]
    points = [{f"market.{k}": int(v) for k, v in zip(keys, st)} for st in starts]
    return parse_spec_table({"name": "selection", "steps": study.rounds, "seeds": {"count": 1, "base": study.seed},
                             "market": market, "sweep": {"points": points}, "record": {"steps": False}})


CASTS = {"float": float, "int": int, "bool": bool, "str": str}


def ending_of(cls, row: dict):
    """An ending (``cls``: Ending or KEnding) from its row in the runner's table."""
    return cls(**{f.name: CASTS[f.type](row[f.name]) for f in fields(cls)})


def run_selection(study: Study | KStudy, executor) -> StudyResult | KStudyResult:
    """Run ``study`` through the experiments runner's :func:`~agora.experiments.runner.execute` on ``executor``
    (any concurrent.futures.Executor, e.g. from :func:`agora.experiments.runner.make_executor`)."""
    from agora.experiments.runner import execute

    begin = time.perf_counter()
    rows = [r.row.iloc[0].to_dict() for r in executor.map(execute, list(study_spec(study).tasks()))]
    seconds = time.perf_counter() - begin
    if isinstance(study, KStudy):
        return k_result(study, [ending_of(KEnding, r) for r in rows], seconds)
    return study_result(study, [ending_of(Ending, r) for r in rows], seconds)


# ------------------------------------------------------------------ summaries
def summary(result: StudyResult) -> dict:
    """Counts by outcome and, over the trading equilibria reached, the seller's share and revenues."""
    eq = [e for e in result.equilibria() if e.trades]
    shares = np.array([e.seller_share for e in eq]) if eq else np.array([math.nan])
    s, i = result.study.rules
    return {
        "rule": s.label if s is i else f"{s.label} / {i.label}",
        "starts": len(result.endings),
        **{k: result.counts.get(k, 0) for k in ("equilibrium", "cycle", "mixed", "none")},
        "no_trade": sum(1 for e in result.equilibria() if not e.trades),
        "verified": sum(e.verified for e in result.equilibria()),
        "share_mean": float(np.mean(shares)), "share_min": float(np.min(shares)),
        "share_max": float(np.max(shares)),
        "seller_revenue": float(np.mean([e.seller_revenue for e in eq])) if eq else math.nan,
        "intermediary_revenue": float(np.mean([e.intermediary_revenue for e in eq])) if eq else math.nan,
        "seconds": result.seconds,
    }


def start_dependence(result: StudyResult) -> tuple[float, float]:
    """Mean selected seller share over trading equilibria reached from starts where the seller
    priced below, and above, the intermediary."""
    eq = [e for e in result.equilibria() if e.trades]
    lo = [e.seller_share for e in eq if e.start_seller_price < e.start_intermediary_price]
    hi = [e.seller_share for e in eq if e.start_seller_price > e.start_intermediary_price]
    return (float(np.mean(lo)) if lo else math.nan, float(np.mean(hi)) if hi else math.nan)


def stackelberg(bidders: tuple[str, ...]) -> dict:
    """Both Stackelberg outcomes (monopolist-intermediary, Sections 3 and 4)."""
    sf = solve_seller_first(bidders)
    fi = solve_intermediary_first(bidders)
    return {"seller_first": (sf.seller_revenue, sf.intermediary_revenue),
            "intermediary_first": (fi.seller_revenue, fi.intermediary_revenue),
            "seller_first_price": sf.seller_price, "intermediary_first_commitment": fi.intermediary_commitment}


def qre_limit(market: Market, lam_max: float = 2000.0) -> dict:
    """The end of the principal logit QRE branch on the market's grid: mean prices, revenues, regret."""
    _, mg = market.discretized()
    branch = trace_logit_qre(mg.A, mg.B, lam_max=lam_max)
    lam, x, y = branch.last
    return {"lambda": lam, "seller_price": float(x @ mg.row_actions), "intermediary_price": float(y @ mg.col_actions),
            "seller_revenue": float(x @ mg.A @ y), "intermediary_revenue": float(x @ mg.B @ y),
            "relative_regret": relative_mixed_regret(mg, x, y),
            "top_seller": float(np.max(x)), "top_intermediary": float(np.max(y)),
            "modal_seller_price": float(mg.row_actions[np.argmax(x)]),
            "steps": branch.steps, "seconds": branch.seconds, "method": branch.method, "notes": branch.notes}


MARKERS = {"cycle": ("x", "0.4"), "mixed": ("^", "tab:orange"), "none": ("s", "black")}


def basin_figure(results: list[StudyResult], path: Path, title: str, by_index: bool = False) -> None:
    """One panel per rule: each start coloured by the seller's share at the equilibrium reached.

    ``by_index``: place starts by their position on the price grid (for log grids), with
    price labels on the ticks.
    """
    cols = min(4, len(results))
    rows = math.ceil(len(results) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.4 * cols + 1.0, 3.3 * rows + 0.4), dpi=110, squeeze=False,
                             layout="constrained")
    levels = results[0].study.market.discretized()[1].row_actions

    def xy(ends):
        xs = np.array([e.start_seller_price for e in ends])
        ys = np.array([e.start_intermediary_price for e in ends])
        if by_index:
            return np.searchsorted(levels, xs), np.searchsorted(levels, ys)
        return xs, ys

    sc = None
    for ax, res in zip(axes.flat, results):
        eq = [e for e in res.endings if e.outcome == "equilibrium" and e.trades]
        sc = ax.scatter(*xy(eq), c=[e.seller_share for e in eq], cmap="viridis", vmin=0, vmax=1, s=22)
        dead = [e for e in res.endings if e.outcome == "equilibrium" and not e.trades]
        if dead:
            ax.scatter(*xy(dead), facecolors="none", edgecolors="crimson", s=22, label="no-trade equilibrium")
        for kind, (marker, colour) in MARKERS.items():
            pts = [e for e in res.endings if e.outcome == kind]
            if pts:
                ax.scatter(*xy(pts), marker=marker, color=colour, s=18, label=kind)
        if by_index:
            ticks = np.linspace(0, len(levels) - 1, 5).round().astype(int)
            labels = [f"{levels[k]:.3g}" for k in ticks]
            ax.set_xticks(ticks, labels, rotation=30)
            ax.set_yticks(ticks, labels)
        ax.set_title(res.study.seller_rule.label.replace(" (", "\n("), fontsize=8)
        ax.set_xlabel("start p_s", fontsize=8)
        ax.set_ylabel("start p_I", fontsize=8)
        ax.tick_params(labelsize=7)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=6, loc="upper right", framealpha=0.6)
    for ax in list(axes.flat)[len(results):]:
        ax.axis("off")
    if sc is not None:
        fig.colorbar(sc, ax=axes, shrink=0.6, label="seller's share p_s / (p_s + p_I) at the end")
    fig.suptitle(title, fontsize=10)
    save_png(fig, path)


RULE_MARKERS = ("o", "s", "^", "D", "v", "P", "X")


def k_end_figure(panels: list[tuple[str, list, tuple]], path: Path, title: str, p_r: float | None = None) -> None:
    """One panel per k-item market: where the trading runs ended, one marker per rule, its area growing
    with the number of runs ending there; the market's equilibrium (``panels``: name, study results,
    equilibrium prices) as a star. Axes: the seller's price and the mean fee, or both fees when the
    seller's price is fixed."""
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels) + 0.6, 4.0), dpi=110, squeeze=False,
                             layout="constrained")
    for ax, (name, results, target) in zip(axes.flat, panels):
        fixed = results[0].study.market.seller_price is not None

        def where(p):
            return (p[1], p[2]) if fixed else (p[0], (p[1] + p[2]) / 2)

        for marker, res in zip(RULE_MARKERS, results):
            ends = [tuple(round(x, 12) for x in where(e.prices)) for e in res.endings if e.trades]
            points, counts = np.unique(np.array(ends).reshape(-1, 2), axis=0, return_counts=True)
            ax.scatter(points[:, 0], points[:, 1], marker=marker, s=10 + 8 * counts, alpha=0.45,
                       label=res.study.seller_rule.label)
        ax.scatter(*([v] for v in where(target)), marker="*", s=260, facecolors="none", edgecolors="crimson",
                   linewidths=1.5, zorder=5, label="equilibrium (continuous prices)")
        if p_r is not None and not fixed:
            ax.axvline(p_r, color="0.5", linestyle="--", linewidth=1, label="p_R")
        m = results[0].study.market
        step = 1.5 * m.top / (m.points - 1)  # show at least the grid points around the equilibrium
        for get, put, centre in ((ax.get_xlim, ax.set_xlim, where(target)[0]),
                                 (ax.get_ylim, ax.set_ylim, where(target)[1])):
            lo, hi = get()
            put(min(lo, centre - step), max(hi, centre + step))
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("first fee at the end" if fixed else "seller's price at the end", fontsize=8)
        ax.set_ylabel("second fee at the end" if fixed else "mean fee at the end", fontsize=8)
        ax.tick_params(labelsize=7)
    axes.flat[0].legend(fontsize=6, loc="best", framealpha=0.6)
    fig.suptitle(title, fontsize=10)
    save_png(fig, path)
