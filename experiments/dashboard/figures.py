"""The dashboard's pictures, drawn with matplotlib (object API, no pyplot state) from a market view.

* :func:`network_figure`: buyers -> intermediaries -> seller; buyers coloured by this
  round's value, the winner ringed, edges that carried a message drawn heavy and
  labelled with what they carried (every edge up to :data:`LABELLED_BUYERS` buyers,
  else only the winner's);
* :func:`series_figure`: running means of each party's revenue and of welfare, and
  the posted prices, with the solver's values as dashed lines (bands for sets);
* :func:`price_plane_figure`: both best-response curves, the equilibrium set and the
  path of posted prices so far.
"""

from __future__ import annotations

import networkx as nx
import numpy as np
from matplotlib.colors import Normalize, to_hex
from matplotlib.figure import Figure

from experiments.dashboard.views import MarketView, Network, PricePlane, Reference, money_columns, price_columns

LABELLED_BUYERS = 10
DPI = 80  # redraw cost grows with pixels; legends are drawn by the page, not by matplotlib (text is slow)
VALUE_MAP = "viridis"
WIN_COLOUR = "#d62728"
PARTY_COLOURS = {"seller": "#1f77b4", "intermediary": "#ff7f0e", "welfare": "#2ca02c"}


def _party(column: str) -> str:
    for suffix in ("_revenue", "_utility", "_profit", "_price"):
        column = column.removesuffix(suffix)
    return column


def _colour(column: str, k: int) -> str:
    """The party's colour, or the next of matplotlib's cycle as hex (the page's legend is HTML)."""
    return PARTY_COLOURS.get(_party(column), to_hex(f"C{k + 3}"))


def layered_positions(graph: nx.DiGraph) -> dict:
    """Columns by ``layer`` (buyers left, seller right), nodes spread evenly in each column."""
    columns: dict[int, list] = {}
    for v, layer in graph.nodes(data="layer"):
        columns.setdefault(layer, []).append(v)
    pos = {}
    for layer, nodes in columns.items():
        nodes.sort(key=lambda v: graph.nodes[v].get("index", 0))
        ys = np.linspace(1.0, -1.0, len(nodes) + 2)[1:-1]
        pos |= {v: (float(layer), float(y)) for v, y in zip(nodes, ys)}
    return pos


def draw_network(net: Network, ax) -> None:
    g = net.graph
    pos = layered_positions(g)
    buyers = [v for v, k in g.nodes(data="kind") if k in ("buyer", "member")]
    others = [v for v in g.nodes if v not in buyers]
    small = len(buyers) <= LABELLED_BUYERS
    values = [net.values.get(v, np.nan) for v in buyers]
    finite = [x for x in values if np.isfinite(x)]
    norm = Normalize(min(finite, default=0.0), max(finite, default=1.0) + (0.0 if len(set(finite)) > 1 else 1e-9))
    size = 300 if small else max(20, 3000 // len(buyers))
    nodes = nx.draw_networkx_nodes(g, pos, nodelist=buyers, node_color=[0.0 if not np.isfinite(x) else x
                                                                       for x in values],
                                   cmap=VALUE_MAP, vmin=norm.vmin, vmax=norm.vmax, node_size=size, ax=ax,
                                   edgecolors=[WIN_COLOUR if v in net.winners else "#555555" for v in buyers],
                                   linewidths=[3.0 if v in net.winners else 0.5 for v in buyers])
    nx.draw_networkx_nodes(g, pos, nodelist=others, node_color="#cccccc", node_size=900, ax=ax,
                           edgecolors="#333333")
    nx.draw_networkx_labels(g, pos, labels={v: v for v in others}, font_size=9, ax=ax)
    if small:
        nx.draw_networkx_labels(g, pos, labels={v: v for v in buyers}, font_size=7, ax=ax)
    busy = {e for e in g.edges if net.messages.get(e) or net.messages.get(e[::-1])}
    if not small:  # every buyer bids: with many, only the winner's edge stands out
        busy = {e for e in busy if set(e) & net.winners or not set(e) & set(buyers)}
    quiet = [e for e in g.edges if e not in busy]
    nx.draw_networkx_edges(g, pos, edgelist=quiet, width=0.3, alpha=0.4, arrows=False, ax=ax)
    nx.draw_networkx_edges(g, pos, edgelist=sorted(busy), width=1.2, edge_color="#444444", arrows=small,
                           ax=ax, node_size=size)
    direct = [e for e in net.messages if not g.has_edge(*e) and not g.has_edge(*e[::-1])]
    if direct:
        nx.draw_networkx_edges(g, pos, edgelist=direct, style="dashed", edge_color=WIN_COLOUR, width=1.0,
                               connectionstyle="arc3,rad=0.25", arrows=True, ax=ax, node_size=size)
    labels = {}
    for (u, v), texts in net.messages.items():
        if small or u in net.winners or v in net.winners or not ({u, v} & set(buyers)):
            key = (u, v) if g.has_edge(u, v) or not g.has_edge(v, u) else (v, u)
            labels.setdefault(key, []).extend(texts)
    nx.draw_networkx_edge_labels(g, pos, edge_labels={e: "\n".join(dict.fromkeys(t)) for e, t in labels.items()
                                                      if g.has_edge(*e)},
                                 font_size=6, ax=ax, rotate=False)
    if nodes is not None and finite:
        ax.figure.colorbar(nodes, ax=ax, shrink=0.7, pad=0.01).ax.tick_params(labelsize=7)
    ax.set_title(f"{len(buyers)} {'members' if g.nodes[buyers[0]]['kind'] == 'member' else 'buyers'}; "
                 f"{net.caption}", fontsize=9)
    ax.set_axis_off()


def network_figure(view: MarketView, model) -> Figure:
    fig = Figure(figsize=(6.4, 3.8), dpi=DPI)
    draw_network(view.network(model), fig.subplots())
    fig.subplots_adjust(left=0.01, right=0.99, top=0.93, bottom=0.01)
    return fig


def _reference_lines(ax, ref: Reference, column: str, colour: str) -> None:
    if column not in ref.bands:
        return
    lo, hi = ref.bands[column]
    if hi > lo:
        ax.axhspan(lo, hi, color=colour, alpha=0.15)
    else:
        ax.axhline(lo, color=colour, linestyle="--", linewidth=1.0)


class SeriesPlot:
    """The series figure, kept between redraws: a new round only updates its lines.

    Most of a redraw's cost is building axes and laying out their text, so the
    figure, the reference lines and one line per column are made once per market.
    """

    def __init__(self, view: MarketView, model):
        df, ref = view.series(model), view.reference(model)
        prices = price_columns(df)
        self.figure = Figure(figsize=(6.4, 5.0 if prices else 3.0), dpi=DPI)
        axes = self.figure.subplots(2 if prices else 1, 1, sharex=True, squeeze=False)[:, 0]
        self.money, self.prices = axes[0], axes[-1]
        self.means, self.posted = {}, {}
        for k, col in enumerate(money_columns(df)):
            self.means[col], = self.money.plot([], [], color=_colour(col, k))
            _reference_lines(self.money, ref, col, _colour(col, k))
        for k, col in enumerate(prices):
            self.posted[col], = self.prices.plot([], [], color=_colour(col, k), marker=".")
            _reference_lines(self.prices, ref, col, _colour(col, k))
        self.money.set_ylabel("mean per round")
        self.prices.set_xlabel("round")
        if prices:
            self.prices.set_ylabel("posted price")
        self.figure.subplots_adjust(left=0.12, right=0.97, top=0.97, bottom=0.1 if prices else 0.16, hspace=0.12)

    def update(self, view: MarketView, model) -> Figure:
        df = view.series(model)
        means = df.expanding().mean()
        for col, line in self.means.items():
            line.set_data(means.index.to_numpy(float), means[col].to_numpy(float))
        for col, line in self.posted.items():
            line.set_data(df.index.to_numpy(float), df[col].to_numpy(float))
        for ax in {self.money, self.prices}:
            ax.relim()
            ax.autoscale_view()
        return self.figure


def series_figure(view: MarketView, model) -> Figure:
    """Running means of revenues and welfare, and posted prices, against the exact values."""
    return SeriesPlot(view, model).update(view, model)


def legend(view: MarketView, model) -> list[tuple[str, str]]:
    """(colour, what it shows) for the series and the price plane, drawn by the page."""
    return [(_colour(c, k), _party(c)) for k, c in enumerate(money_columns(view.series(model)))]


class PricePlanePlot:
    """The price plane, kept between redraws: best responses and equilibria drawn once, the path updated."""

    def __init__(self, plane: PricePlane):
        self.figure = Figure(figsize=(5.6, 5.0), dpi=DPI)
        ax = self.figure.subplots()
        g = plane.grid
        ax.plot(plane.seller_best, g, color=PARTY_COLOURS["seller"])
        ax.plot(g, plane.intermediary_best, color=PARTY_COLOURS["intermediary"])
        if len(plane.equilibria):
            ax.scatter(plane.equilibria[:, 0], plane.equilibria[:, 1], s=14, color="black", zorder=3)
        if plane.continuum:
            (a, b), (c, d) = plane.continuum["seller_price"], plane.continuum["intermediary_price"]
            ax.plot([a, b], [d, c], color="black", linewidth=3, alpha=0.4)
        self.path, = ax.plot([], [], color=WIN_COLOUR, marker="o", markersize=3, linewidth=1)
        self.now, = ax.plot([], [], linestyle="none", marker="o", markersize=9, markerfacecolor="none",
                            markeredgecolor=WIN_COLOUR, zorder=4)
        ax.set_xlabel("seller price p_s")
        ax.set_ylabel("intermediary price p_I")
        ax.set_xlim(0, g[-1])
        ax.set_ylim(0, g[-1])
        self.figure.subplots_adjust(left=0.13, right=0.97, top=0.97, bottom=0.1)

    def update(self, view: MarketView, model) -> Figure:
        df = view.series(model)
        path = df[["seller_price", "intermediary_price"]].to_numpy(float)
        self.path.set_data(path[:, 0], path[:, 1])
        self.now.set_data(path[-1:, 0], path[-1:, 1])
        return self.figure


def price_plane_figure(view: MarketView, model) -> Figure | None:
    """Both best-response curves, the equilibrium set and the path of posted prices (None: no price game)."""
    plane = view.price_plane(model)
    return None if plane is None else PricePlanePlot(plane).update(view, model)
