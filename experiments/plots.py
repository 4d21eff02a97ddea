"""Figures researchers would rather look at than read."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from scipy.optimize import brentq  # noqa: E402

from agora.experiments.output import save_png  # noqa: E402
from agora.market.distributions import ValueDistribution  # noqa: E402
from agora.market.single_item.seller_first import best_seller_price  # noqa: E402
from agora.market.single_item.virtual_law import VirtualMaxLaw  # noqa: E402


def revenue_curves(law: VirtualMaxLaw, prices: np.ndarray) -> dict[str, np.ndarray]:
    """Seller, intermediary and total revenue when the seller posts each price (exact)."""
    seller = prices * law.prob_at_least(prices)
    inter = np.array([law.tail_integral(p).value for p in prices])
    return {"seller": seller, "intermediary": inter, "total": seller + inter}


def price_grid(law: VirtualMaxLaw, points: int, around: float, tail: float = 1e-3
               ) -> tuple[np.ndarray, bool]:
    """Prices to plot, and whether to use a log axis.

    Linear from 0 to where a sale has become unlikely (P[Phi >= p] = ``tail``);
    log-spaced up to the top of a bounded support that spans many decades beyond
    ``around`` (so the atom of F_eps,H at H shows).
    """
    if np.isfinite(law.top) and around > 0 and law.top / around > 1e3:
        return np.geomspace(around / 100.0, law.top, points), True
    hi = 1.0
    while law.prob_at_least(hi) > tail and hi < law.top:
        hi *= 2.0
    upper = min(hi, law.top)
    if law.prob_at_least(upper) < tail:
        upper = brentq(lambda p: float(law.prob_at_least(p)) - tail, 0.0, upper)
    return np.linspace(0.0, upper, points), False


def plot_revenue_vs_price(bidders: Sequence[ValueDistribution | str], path: str | Path,
                          points: int = 300, title: str | None = None) -> Path:
    """:func:`revenue_vs_price_figure` saved as PNG at ``path``."""
    return save_png(revenue_vs_price_figure(bidders, points, title), path)


def revenue_vs_price_figure(bidders: Sequence[ValueDistribution | str], points: int = 300,
                            title: str | None = None):
    """Seller's, intermediary's and total revenue against the seller's posted price.

    OPT (Myerson's revenue with no intermediary) is drawn as a horizontal line
    and the Stackelberg price as a vertical one; the legend sits below the axes.
    """
    law = VirtualMaxLaw.of(bidders)
    best = best_seller_price(law)
    prices, log_axis = price_grid(law, points, best.price)
    curves = revenue_curves(law, prices)
    opt = law.optimal_revenue.value
    fig, ax = plt.subplots(figsize=(7.5, 4.8), dpi=120, layout="constrained")
    ax.plot(prices, curves["seller"], label="seller")
    ax.plot(prices, curves["intermediary"], label="intermediary")
    ax.plot(prices, curves["total"], label="seller + intermediary", color="0.3", ls="--")
    ax.axhline(opt, color="crimson", lw=1.2, label=f"OPT, no intermediary = {opt:.4g}")
    ax.axvline(best.price, color="0.5", lw=0.8, ls=":",
               label=f"Stackelberg price = {best.price:.4g}")
    ax.set_xlabel("seller's posted price p" + (" (log scale)" if log_axis else ""))
    if log_axis:
        ax.set_xscale("log")
    ax.set_ylabel("expected revenue")
    ax.set_title(title or "Seller-first market: " + ", ".join(law.specs), fontsize=10)
    ax.set_ylim(bottom=0.0)
    fig.legend(loc="outside lower center", ncol=3, fontsize=8, frameon=False)
    return fig
