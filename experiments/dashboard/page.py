"""The SolaraViz page: controls in the sidebar, four panels that redraw after every step.

Panels: the demand network, a summary table (this round, the mean so far and the
exact value of every party's revenue and of welfare), the time series, and the
price plane of pricing games. Every browser session gets a market of its own,
built from the initial controls (a spec file's ``[market]`` table, see
:mod:`experiments.dashboard.controls`); Reset rebuilds it from the sidebar.
"""

from __future__ import annotations

import json
import math
import os

import solara
from mesa.visualization import SolaraViz
from mesa.visualization.utils import update_counter

from agents.learning import LEARNING_RULES
from experiments.dashboard.controls import Controls, controls_from_table
from experiments.dashboard.figures import network_figure, price_plane_figure, series_figure
from experiments.dashboard.model import MarketDashboard
from experiments.dashboard.views import VIEWS

CONTROLS_ENV = "AGORA_VIZ_CONTROLS"  # JSON of the [market] table `agora viz` was given
TITLE = "Agora: market dynamics"


def initial_controls() -> Controls:
    """The controls `agora viz` passed in the environment (validated there), else the defaults."""
    text = os.environ.get(CONTROLS_ENV)
    return controls_from_table(json.loads(text), CONTROLS_ENV) if text else Controls()


def model_params(c: Controls) -> dict:
    """SolaraViz's sidebar inputs, starting from ``c``; Reset builds MarketDashboard(**values)."""
    return {
        "protocol": {"type": "Select", "value": c.protocol, "values": list(VIEWS), "label": "protocol"},
        "bidders": {"type": "InputText", "value": "; ".join(c.bidders),
                    "label": "distributions (specs separated by ';', repeated to fill the buyers)"},
        "buyers": {"type": "SliderInt", "value": c.buyers, "min": 1, "max": max(200, c.buyers), "step": 1,
                   "label": "number of buyers"},
        "rule": {"type": "Select", "value": c.rule, "values": list(LEARNING_RULES), "label": "learning rule"},
        "rate": {"type": "SliderFloat", "value": c.rate, "min": min(0.05, c.rate), "max": 1.0, "step": 0.05,
                 "label": "learning rate"},
        "seller_price": {"type": "InputText", "value": f"{c.seller_price:g}",
                         "label": "seller's start (or fixed) price"},
        "intermediary_price": {"type": "InputText", "value": f"{c.intermediary_price:g}",
                               "label": "intermediary's start (or fixed) price"},
        "seed": {"type": "InputText", "value": str(c.seed), "label": "seed"},
    }


def _cell(x: float | None) -> str:
    return "" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.6f}"


def summary_rows(model: MarketDashboard) -> list[tuple[str, str, str, str]]:
    """(quantity, this round, mean so far, exact) for each party's revenue and welfare."""
    s = model.summary()
    bands = model.view.reference(model.market).bands
    rows = []
    for col in [c for c in model.view.series(model.market).columns if c.endswith("_revenue")] + ["welfare"]:
        lo, hi = bands.get(col, (None, None))
        exact = _cell(lo) if lo == hi else f"{_cell(lo)} to {_cell(hi)}"
        rows.append((col, _cell(s.get(f"{col} this round")), _cell(s.get(f"mean {col}")), exact))
    return rows


@solara.component
def SummaryPanel(model: MarketDashboard):
    update_counter.get()
    with solara.Card("Summary"):
        if model.error:
            solara.Error(f"cannot build this market: {model.error}")
            return
        lines = [f"**{model.view.title}**, round {model.rounds}", "",
                 "| quantity | this round | mean so far | exact |", "|---|---|---|---|"]
        lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in summary_rows(model)]
        lines += ["", f"exact values: {model.view.reference(model.market).method}"]
        solara.Markdown("\n".join(lines))


@solara.component
def NetworkPanel(model: MarketDashboard):
    update_counter.get()
    with solara.Card("Demand network"):
        if model.market is not None:
            solara.FigureMatplotlib(network_figure(model.view, model.market), format="png")


@solara.component
def SeriesPanel(model: MarketDashboard):
    update_counter.get()
    with solara.Card("Revenue, welfare and prices"):
        if model.market is not None:
            solara.FigureMatplotlib(series_figure(model.view, model.market), format="png")


@solara.component
def PricePlanePanel(model: MarketDashboard):
    update_counter.get()
    with solara.Card("Price plane"):
        if model.market is None:
            return
        fig = price_plane_figure(model.view, model.market)
        if fig is None:
            solara.Text("No price game in this protocol: the intermediary answers the seller's "
                        "commitment with the shifted Myerson auction.")
        else:
            solara.FigureMatplotlib(fig, format="png")


COMPONENTS = [NetworkPanel, SummaryPanel, SeriesPanel, PricePlanePanel]


def make_page(controls: Controls):
    """A Solara page component whose sessions each start from ``controls``."""

    @solara.component
    def Page():
        model = solara.use_memo(lambda: MarketDashboard(**controls.as_page_values()), [])
        SolaraViz(model, components=COMPONENTS, model_params=model_params(controls), name=TITLE,
                  play_interval=300)

    return Page
