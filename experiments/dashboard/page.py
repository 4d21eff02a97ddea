"""The page: controls in the sidebar, four panels that redraw after every step.

Panels: the demand network, a summary table (this round, the mean so far and the
exact value of every party's revenue and of welfare), the time series, and the
price plane of pricing games. Every browser session gets a market of its own,
built from the initial controls (a spec file's ``[market]`` table, see
:mod:`agora.experiments.dashboard.controls`); Reset rebuilds it from the sidebar.
"""

from __future__ import annotations

import io
import json
import math
import os
import threading
import time
from html import escape

import solara
from mesa.visualization.utils import force_update, update_counter
from solara.alias import rw

from agora.experiments.dashboard import CONTROLS_ENV, threads
from agora.experiments.dashboard.controls import Controls, controls_from_table
from agora.experiments.dashboard.figures import (
    PNG,
    WIN_COLOUR,
    NetworkPlot,
    PricePlanePlot,
    SeriesPlot,
    plane_legend,
    series_legend,
)
from agora.experiments.dashboard.layout import CARD_INSET, GAP, PageWidth, panel_geometry
from agora.experiments.dashboard.model import MarketDashboard
from agora.experiments.dashboard.play import MAX_BATCH, Pacer
from agora.experiments.dashboard.sidebar import (
    NOTE_STYLE,
    Field,
    MarketControls,
    SpecPanel,
    applied,
    labelled,
    number_slider,
)
from agora.experiments.dashboard.views import money_columns, price_columns

TITLE = "Agora: market dynamics"
#: True while Reset builds a new market (one flag per browser session): the panels show none of the old one
BUILDING = solara.reactive(False)


def initial_controls() -> Controls:
    """The controls `agora viz` passed in the environment (validated there), else the defaults."""
    text = os.environ.get(CONTROLS_ENV)
    return controls_from_table(json.loads(text), CONTROLS_ENV) if text else Controls()


COLUMNS = ("quantity", "this_round", "mean", "exact")


def _cell(x: float | None) -> str:
    return "" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.6f}"


def summary_rows(model: MarketDashboard) -> list[tuple[str, str, str, str]]:
    """(quantity, this round, mean so far, exact) for what each party gets and welfare."""
    s = model.summary()
    bands = model.view.reference(model.market).bands
    rows = []
    for col in money_columns(model.view.series(model.market)):
        lo, hi = bands.get(col, (None, None))
        exact = _cell(lo) if lo == hi else f"{_cell(lo)} to {_cell(hi)}"
        rows.append((col, _cell(s.get(f"{col} this round")), _cell(s.get(f"mean {col}")), exact))
    return rows


def summary_html(model: MarketDashboard) -> str:
    """The summary as an HTML table (plain HTML: solara's Markdown would fetch KaTeX from a CDN)."""
    head = "".join(f"<th>{h}</th>" for h in ("quantity", "this round", "mean so far", "exact"))
    body = "".join("<tr>" + "".join(f'<td data-col="{k}">{escape(x)}</td>' for k, x in zip(COLUMNS, row))
                   + "</tr>" for row in summary_rows(model))
    return (f'<p><b>{escape(model.view.title)}</b>, <span class="round">round {model.rounds}</span></p>'
            f'<table class="summary"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'
            f'<p style="font-size: 80%">exact values: {escape(model.view.reference(model.market).method)}</p>')


def shown(model: MarketDashboard) -> bool:
    """Whether the panels draw ``model``'s market: it has one (while Reset builds the next, :func:`Panels`
    hides them)."""
    return model.market is not None


@solara.component
def SummaryPanel(model: MarketDashboard, picture: int):
    """The summary; once a render pass has drawn this round's panels, it tells Play's loop (which waits
    for it: :class:`~agora.experiments.dashboard.threads.Shown`)."""
    update_counter.get()
    rounds = model.rounds
    solara.use_effect(lambda: model.shown.mark(rounds), [model, rounds])  # effects run after the whole pass
    with solara.Card("Summary"):
        if model.error:
            solara.Error(f"cannot build this market: {model.error}")
            return
        with model.lock:
            html = summary_html(model)
        solara.HTML(tag="div", unsafe_innerHTML=html)


def _key(colour: str, text: str) -> str:
    return f'<span style="color: {colour}; font-weight: bold">&#9644;</span> {escape(text)}'


def key_html(entries: list[tuple[str, str]], note: str) -> str:
    """A legend line drawn by the page (cheaper than a matplotlib legend on every redraw)."""
    return (f'<div style="font-size: 80%">{" &nbsp; ".join(_key(c, t) for c, t in entries)}'
            f"<br>{escape(note)}</div>")


def kept_figure(model: MarketDashboard, name: str, make, picture: int, entries: list[tuple[str, str]],
                note: str):
    """A figure ``picture`` CSS px wide kept for this market (``make(view, market, picture)`` the first time
    and when the width changes), updated to this round, with its legend line below; returns the kept plot."""
    plot = model.kept(name, lambda: make(model.view, model.market, picture), picture)
    Picture(model, name, plot, model.rounds, [picture])
    solara.HTML(tag="div", unsafe_innerHTML=key_html(entries, note))
    return plot


def picture_png(model: MarketDashboard, name: str, plot, rounds: int) -> bytes:
    """The kept ``plot`` updated to round ``rounds`` as a PNG, kept as ``model.pictures[name]``; if the
    market has passed that round (a Step came in while this render pass drew), the last PNG unchanged:
    the pass a Step requests draws the new round, and a stale pass does not hold it up."""
    with model.lock:  # a Step waits for the picture being drawn, not for the whole pass
        if model.rounds == rounds:
            out = io.BytesIO()
            plot.update(model.view, model.market).savefig(out, **PNG)
            model.pictures[name] = out.getvalue()
        return model.pictures.get(name, b"")


@solara.component
def Picture(model: MarketDashboard, name: str, plot, rounds: int, dependencies: list):
    """The kept ``plot`` at round ``rounds`` as a PNG (:func:`picture_png`), made again only when the round
    or ``dependencies`` change."""
    rw.Image(value=solara.use_memo(lambda: picture_png(model, name, plot, rounds), [model, rounds, *dependencies]),
             format="png")


def hidden_html(hidden: list[tuple[tuple[str, str], str]]) -> str:
    """The edge labels the network had no room for, as a list under it."""
    items = "".join(f"<li>{escape(u)} &ndash; {escape(v)}: {escape(text.replace(chr(10), '; '))}</li>"
                    for (u, v), text in hidden)
    return f'<div class="hidden-labels" style="font-size: 80%">not drawn (no room):<ul>{items}</ul></div>'


@solara.component
def NetworkPanel(model: MarketDashboard, picture: int):
    update_counter.get()
    with solara.Card("Demand network"):
        if shown(model):
            plot = kept_figure(model, "network", NetworkPlot, picture, [(WIN_COLOUR, "winner (ringed) and payments")],
                               "buyers (members) coloured by this round's value (type); heavy edges carried this "
                               "round's messages")
            if plot.hidden:
                solara.HTML(tag="div", unsafe_innerHTML=hidden_html(plot.hidden))


@solara.component
def SeriesPanel(model: MarketDashboard, picture: int):
    update_counter.get()
    with solara.Card("Revenue, welfare and prices"):
        if shown(model):
            kept_figure(model, "series", lambda view, market, px: SeriesPlot(view, market, model.controls.window, px),
                        picture, series_legend(model.view, model.market),
                        "top: running means; bottom: posted prices; dashed lines (bands for sets): exact values"
                        if price_columns(model.view.series(model.market)) else
                        "running means; dashed lines: exact values")


ZOOM = 2.0  # a click on the price plane zooms in this many times about the point clicked


@solara.component
def PricePlanePanel(model: MarketDashboard, picture: int):
    update_counter.get()
    with solara.Card("Price plane"):
        if not shown(model):
            return
        plane = model.view.price_plane(model.market)
        if plane is None:
            solara.Text(model.view.no_price_game)
        else:
            InteractivePlane(model, picture)
            solara.HTML(tag="div", unsafe_innerHTML=key_html(plane_legend(model.view, model.market, plane),
                                                            plane.note))


@solara.component
def InteractivePlane(model: MarketDashboard, picture: int):
    """The price plane with its values under the pointer; a click zooms in about the point, the button
    below shows the whole plane again."""
    update_counter.get()
    readout = solara.use_reactive("")
    zooms = solara.use_reactive(0)  # redraws the picture when the axes change between rounds
    plot = model.kept("plane", lambda: PricePlanePlot(model.view, model.market, picture), picture)

    def hover(_widget, _event, data):
        at = plot.at_pixel(data.get("offsetX", -1), data.get("offsetY", -1))
        readout.set(plot.readout(*at) if at else "")

    def click(_widget, _event, data):
        at = plot.at_pixel(data.get("offsetX", -1), data.get("offsetY", -1))
        if at:
            plot.zoom(*at, ZOOM)
            zooms.set(zooms.value + 1)

    def whole():
        plot.whole()
        zooms.set(zooms.value + 1)

    with solara.v.Html(tag="div", class_="agora-plane", style_="cursor: zoom-in") as box:
        Picture(model, "plane", plot, model.rounds, [zooms.value, picture])
    solara.v.use_event(box, "mousemove", hover)
    solara.v.use_event(box, "click", click)
    solara.Text(readout.value or "point at the plane for its values; click to zoom in",
                classes=["agora-plane-readout"], style={"font-size": "12px", "min-height": "2.6em"})
    solara.Button("whole plane", on_click=whole, small=True, text=True, classes=["agora-plane-whole"])


COMPONENTS = [NetworkPanel, SummaryPanel, SeriesPanel, PricePlanePanel]


PLAY_MS = 100  # the pause between rounds under Play at first: 10 rounds per second
SHOWN_SECONDS = 10.0  # Play waits this long at most for a redraw (a page that stopped drawing)


@solara.component
def RunControls(model: solara.Reactive[MarketDashboard], parameters: dict):
    """Reset, Play and Step, the pause between rounds under Play and how many rounds each redraw plays.

    Reset sets :data:`BUILDING` and builds the market from ``parameters`` in a thread (:func:`prepared`),
    so that the page can show that it is at work and no figure of the old market meanwhile. Each Reset is
    numbered (:class:`~agora.experiments.dashboard.threads.Resets`) and starts a build of its own, after the
    one before ends; only the last Reset's build shows its market. Play's loop and the build run in threads
    of their own (:mod:`~agora.experiments.dashboard.threads`): one loop at a time, each stopped by its event
    when Play is toggled, the session closes or the process ends.
    """
    building = BUILDING
    play = solara.use_reactive(PLAY_MS)
    render = solara.use_reactive(1)
    playing = solara.use_reactive(False)
    resets = solara.use_memo(threads.Resets, [])
    reset_number = solara.use_reactive(0)  # the last Reset's number (0: none yet, the first market is built)
    number = reset_number.value

    pacer = solara.use_memo(lambda: Pacer(PLAY_MS / 1000), [])

    def advance():
        play_rounds(model.value, render.value)
        force_update()

    def play_loop(cancel: threading.Event):
        pacer.restart(play.value / 1000, render.value)
        while not cancel.is_set() and playing.value and not building.value:
            pacer.pause, pacer.minimum = play.value / 1000, render.value
            market, rounds, start = model.value, pacer.batch(), time.perf_counter()
            play_rounds(market, rounds)
            stepped = time.perf_counter()
            force_update()  # renders the panels, in this thread unless another is rendering: that one does
            market.shown.wait(market.rounds, cancel, SHOWN_SECONDS)  # drawn, by whichever thread
            cancel.wait(pacer.record(rounds, stepped - start, time.perf_counter() - stepped))

    def rebuild(cancel: threading.Event):
        if number:
            built = prepared(parameters)
            if not cancel.is_set():
                resets.finish(number, lambda: (model.set(built), building.set(False)))

    solara.use_thread(threads.tracked(play_loop), dependencies=[playing.value], intrusive_cancel=False)
    solara.use_thread(threads.tracked(rebuild), dependencies=[number], intrusive_cancel=False)

    def reset():
        playing.set(False)
        resets.start(lambda n: (building.set(True), reset_number.set(n)))

    with solara.Row(justify="space-between"):
        solara.Button(label="Reset", color="primary", on_click=reset, disabled=building.value)
        solara.Button(label="\u275a\u275a" if playing.value else "\u25b6", color="primary",
                      on_click=lambda: playing.set(not playing.value), disabled=building.value)
        solara.Button(label="Step", color="primary", on_click=advance, disabled=playing.value or building.value)
    with labelled("play_interval", "pause between rounds under Play (ms)", ""):
        number_slider(play.value, play.set, Field("", "int", low=10, high=500, step=10))
    with labelled("render_interval", "rounds per redraw (at least)",
                  "Play shows more when a redraw takes longer than the pause allows"):
        number_slider(render.value, render.set, Field("", "int", low=1, high=MAX_BATCH, step=1))
    PaceNote(pacer)


@solara.component
def PaceNote(pacer: Pacer):
    """How the last Play was paced: rounds per redraw, whether they were batched and why, rounds per second."""
    update_counter.get()
    if pacer.redraws:
        solara.Text(pacer.note(), classes=["agora-pace"], style=NOTE_STYLE)


def play_rounds(model: MarketDashboard, rounds: int) -> None:
    """Play ``rounds`` rounds, after the picture being drawn (if any) and before the next."""
    with model.lock:
        for _ in range(rounds):
            model.step()


def prepared(parameters: dict) -> MarketDashboard:
    """The market of ``parameters`` with its exact values and price plane solved (the solvers keep
    them), so that the page draws it at once."""
    model = MarketDashboard(**parameters)
    if model.market is not None:
        model.view.reference(model.market)
        model.view.price_plane(model.market)
    return model


@solara.component
def Building():
    """What the summary shows while Reset builds the market: a progress bar (the other panels show nothing)."""
    with solara.Column(classes=["agora-building"]):
        solara.Text("Building the market", style={"font-weight": "bold"})
        solara.ProgressLinear(True)
        solara.Text("solving its exact values; the figures follow")


def make_page(controls: Controls):
    """A Solara page component whose sessions each start from ``controls``: the sidebar shows them
    all (a control the protocol does not show comes back when a protocol that shows it is chosen), the
    market is built from those its protocol shows (:func:`~agora.experiments.dashboard.sidebar.applied`)."""

    @solara.component
    def Page():
        values = solara.use_reactive(controls.as_page_values())  # what the sidebar holds
        first = solara.use_memo(lambda: MarketDashboard(**applied(values.value)), [])
        model = solara.use_reactive(first)
        with solara.AppBar():
            solara.AppBarTitle(TITLE)
        with solara.Sidebar(), solara.Column():
            with solara.Card("Run"):
                RunControls(model, applied(values.value))
            with solara.Card("Market (takes effect at Reset)"):
                MarketControls(values)
            with solara.Card("This market as a spec file"):
                SpecPanel(model.value.controls)
        Panels(model.value)

    return Page


@solara.component
def Panels(model: MarketDashboard):
    """The panels in a grid sized to the page (:func:`~agora.experiments.dashboard.layout.panel_geometry`).

    While Reset builds, the grid is hidden and a card shows progress: one style change of one element,
    which the browser applies at once (emptying the panels would take several changes, applied in turn).
    The grid of a new market is a new element (keyed by the market), which replaces the hidden one in one
    change of the page, so no picture of the old market comes back into sight."""
    width = solara.use_reactive(0)
    PageWidth.element(width=width.value, on_width=width.set)
    columns, picture = panel_geometry(width.value)
    if BUILDING.value:
        with solara.Card("Summary", style={"max-width": f"{picture + CARD_INSET}px"}):
            Building()
    with solara.Div(classes=["agora-panels"], style={
            "display": "none" if BUILDING.value else "grid", "column-gap": f"{GAP}px", "align-items": "start",
            "grid-template-columns": f"repeat({columns}, {picture + CARD_INSET}px)"}).key(f"panels-{id(model)}"):
        for component in COMPONENTS:
            component(model, picture)
