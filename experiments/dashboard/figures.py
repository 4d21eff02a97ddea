"""The dashboard's pictures, drawn with matplotlib (object API, no pyplot state) from a market view.

* :class:`NetworkPlot` (:func:`network_figure`): buyers -> intermediaries -> seller;
  buyers coloured by this round's value, winners ringed, edges that carried a message
  drawn heavy and labelled with what they carried (every edge up to
  :data:`LABELLED_BUYERS` buyers, else only a sole winner's and the intermediaries'),
  where the label fits; node labels black or white by contrast, a labelled colour bar;
* :func:`series_figure`: running means of each party's revenue and of welfare, and
  the posted prices, with the solver's values as dashed lines (bands for sets), over
  the last ``window`` rounds (:data:`~agora.experiments.dashboard.controls.WINDOW` by default);
* :func:`price_plane_figure`: both best-response curves, the equilibrium set and the
  path of posted prices so far.

Every figure is as wide as its panel (:data:`PANEL_PX` unless the page says otherwise,
:mod:`~agora.experiments.dashboard.layout`) with :data:`TEXT_PX` text, so that the page shows
it unscaled and its text is :data:`TEXT_PX` CSS px high.
"""

from __future__ import annotations

import textwrap

import networkx as nx
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection, PathCollection
from matplotlib.colors import to_hex, to_rgba_array
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from matplotlib.transforms import Bbox

from agora.experiments.dashboard.controls import WINDOW, check_window
from agora.experiments.dashboard.views import MarketView, Network, PricePlane, Reference, money_columns, price_columns

LABELLED_BUYERS = 10
DPI = 80  # redraw cost grows with pixels; legends are drawn by the page, not by matplotlib (text is slow)
PANEL_PX = 445  # CSS px of a picture at least (the page only ever scales pictures down)
TEXT_PX = 12  # every text's height in CSS px: figures are PANEL_PX wide, so a figure pixel is a CSS pixel
FONT = TEXT_PX * 72 / DPI  # the same in points
MIN_ROUNDS = 10  # the round axis spans at least this many rounds
MIN_SPAN = 0.1  # a y axis spans at least this share of the market's value scale
# (line style, marker) of the k-th series: no two alike, none dashed like the exact values' lines
SERIES_STYLES = (("-", "o"), ("-.", "s"), (":", "^"), ("-", "D"), ("-.", "v"), (":", "P"))
MARKER_GLYPHS = {"o": "\u25cf\u25cb", "s": "\u25a0\u25a1", "^": "\u25b2\u25b3", "D": "\u25c6\u25c7",
                 "v": "\u25bc\u25bd", "P": "\u271a\u271a"}  # each marker filled, then hollow, for the page's key
VALUE_MAP = "viridis"
WIN_COLOUR = "#d62728"
OTHER_FILL = "#cccccc"  # intermediaries, committee and seller
LABEL_PAD = 0.1  # an edge label's white box: this share of the font size around the text
PARTY_COLOURS = {"seller": "#1f77b4", "intermediary": "#ff7f0e", "welfare": "#2ca02c"}
#: How the page encodes a picture: PNG at zlib's fastest level (files about 5% larger than at the default
#: level 6, for less time compressing on every redraw)
PNG = {"format": "png", "pil_kwargs": {"compress_level": 1}}


def _party(column: str) -> str:
    for suffix in ("_revenue", "_utility", "_profit", "_price"):
        column = column.removesuffix(suffix)
    return column


def _colour(column: str, k: int) -> str:
    """The party's colour, or the next of matplotlib's cycle as hex (the page's legend is HTML)."""
    return PARTY_COLOURS.get(_party(column), to_hex(f"C{k + 3}"))


def panel_figure(height_px: float, width_px: int = PANEL_PX) -> Figure:
    """A figure ``width_px`` wide at :data:`DPI`, ``height_px`` high at :data:`PANEL_PX` wide and as much
    higher as it is wider, on an Agg canvas (text can be measured)."""
    height_px = height_px * width_px / PANEL_PX
    figure = Figure(figsize=(width_px / DPI, height_px / DPI), dpi=DPI)
    FigureCanvasAgg(figure)
    return figure


def readable(ax) -> None:
    """Tick labels, offsets, axis labels and title of ``ax`` at :data:`FONT`."""
    ax.tick_params(labelsize=FONT)
    for axis in (ax.xaxis, ax.yaxis):
        axis.offsetText.set_fontsize(FONT)
        axis.label.set_fontsize(FONT)
    ax.title.set_fontsize(FONT)


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


def _arc(p: tuple, q: tuple, rad: float = 0.25, points: int = 16) -> np.ndarray:
    """A quadratic Bezier from p to q bowed sideways by ``rad`` of its length."""
    p, q = np.asarray(p, float), np.asarray(q, float)
    mid, d = (p + q) / 2, q - p
    control = mid + rad * np.array([d[1], -d[0]])
    t = np.linspace(0.0, 1.0, points)[:, None]
    return (1 - t) ** 2 * p + 2 * (1 - t) * t * control + t ** 2 * q


def relative_luminance(colours) -> np.ndarray:
    """WCAG 2 relative luminance of each colour: 0.2126 R + 0.7152 G + 0.0722 B of the linearized sRGB channels."""
    rgb = to_rgba_array(colours)[:, :3]
    linear = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    return linear @ np.array([0.2126, 0.7152, 0.0722])


def label_colours(fills) -> list[str]:
    """Black or white, whichever contrasts more with each fill (WCAG contrast (L1 + 0.05)/(L2 + 0.05)).

    Black's contrast (L + 0.05)/0.05 and white's 1.05/(L + 0.05) multiply to 21, so the better of
    the two is at least sqrt(21) > 4.5, the WCAG minimum for text, whatever the fill.
    """
    lum = relative_luminance(fills)
    return ["black" if (x + 0.05) / 0.05 >= 1.05 / (x + 0.05) else "white" for x in lum]


def node_boxes(ax) -> list[Bbox]:
    """The window extent of every node marker of ``ax``'s scatters (a marker of size s pt^2 is sqrt(s) pt wide)."""
    boxes = []
    for nodes in ax.collections:
        if isinstance(nodes, PathCollection):
            centres = ax.transData.transform(nodes.get_offsets())
            radii = np.broadcast_to(np.sqrt(nodes.get_sizes()) / 2 * ax.figure.dpi / 72, len(centres))
            boxes += [Bbox([c - r, c + r]) for c, r in zip(centres, radii)]
    return boxes


class NetworkPlot:
    """The network figure, kept between redraws: layout, nodes and edges are drawn once per market.

    A round only recolours the buyers (by value; winners ringed; each label black or white,
    whichever contrasts more with its node), re-weights the edges
    (one LineCollection: heavy where a message went), redraws direct payments as
    dashed arcs and replaces the edge labels (every edge up to :data:`LABELLED_BUYERS`
    buyers, else those between intermediaries and the seller, and a sole winner's).
    An edge label is drawn only where it overlaps no node, node label or edge label already
    drawn (those away from the buyers first); :attr:`hidden` lists the others.
    Text is :data:`FONT` high on a :data:`PANEL_PX`-wide figure.
    """

    def __init__(self, view: MarketView, model, width: int = PANEL_PX):
        g = view.network(model).graph  # the structure is fixed for a market
        self.graph, self.pos = g, layered_positions(g)
        self.buyers = [v for v, k in g.nodes(data="kind") if k in ("buyer", "member")]
        others = [v for v in g.nodes if v not in self.buyers]
        self.small = len(self.buyers) <= LABELLED_BUYERS
        self.kind = "members" if g.nodes[self.buyers[0]]["kind"] == "member" else "buyers"
        self.figure = panel_figure(300, width)
        ax = self.ax = self.figure.subplots()
        xy = np.array([self.pos[v] for v in self.buyers])
        self.size = 400 if self.small else max(20, 3000 // len(self.buyers))
        self.nodes = ax.scatter(xy[:, 0], xy[:, 1], s=self.size, c=np.zeros(len(self.buyers)), cmap=VALUE_MAP,
                                edgecolors="#555555", linewidths=0.5, zorder=3)
        oxy = np.array([self.pos[v] for v in others])
        ax.scatter(oxy[:, 0], oxy[:, 1], s=900, c=OTHER_FILL, edgecolors="#333333", zorder=3)
        colour = dict(zip(others, label_colours([OTHER_FILL] * len(others))))
        self.node_labels = {v: ax.text(*self.pos[v], v, ha="center", va="center", fontsize=FONT, zorder=4,
                                       color=colour.get(v, "black"))
                            for v in others + (self.buyers if self.small else [])}
        self.edges = list(g.edges)
        self.lines = LineCollection([[self.pos[u], self.pos[v]] for u, v in self.edges], zorder=1)
        self.direct = LineCollection([], linestyles="dashed", colors=WIN_COLOUR, linewidths=1.0, zorder=2)
        ax.add_collection(self.lines)
        ax.add_collection(self.direct)
        self.colourbar = self.figure.colorbar(self.nodes, ax=ax, shrink=0.8, fraction=0.04, pad=0.01)
        self.colourbar.set_label(f"{self.kind}' {'type' if self.kind == 'members' else 'value'} this round",
                                 fontsize=FONT)
        readable(self.colourbar.ax)
        self.colourbar.ax.set_visible(False)
        self.texts: list = []
        self.hidden: list[tuple[tuple[str, str], str]] = []
        self.fixed: list[Bbox] | None = None  # node markers and node labels: where no edge label may go
        ax.set_xlim(-0.08, 2.08)
        ax.set_ylim(-1.08, 1.08)
        ax.set_axis_off()
        readable(ax)
        self.figure.subplots_adjust(left=0.0, right=0.86, top=0.92, bottom=0.01)  # room for the bar's text

    def _busy(self, net: Network) -> set:
        """Edges that carried a message; with many buyers only those touching a winner or no buyer."""
        busy = {e for e in self.edges if net.messages.get(e) or net.messages.get(e[::-1])}
        if not self.small:
            buyers = set(self.buyers)
            busy = {e for e in busy if set(e) & net.winners or not set(e) & buyers}
        return busy

    def _labels(self, net: Network) -> dict:
        """Edge -> the texts it carried, the edges away from the buyers first (they are labelled first)."""
        g, buyers, labels = self.graph, set(self.buyers), {}
        sole = net.winners if len(net.winners) == 1 else set()  # several winners' labels would pile up
        for (u, v), texts in net.messages.items():
            if self.small or u in sole or v in sole or not ({u, v} & buyers):
                key = (u, v) if g.has_edge(u, v) or not g.has_edge(v, u) else (v, u)
                if g.has_edge(*key):
                    labels.setdefault(key, []).extend(texts)
        return dict(sorted(labels.items(), key=lambda item: bool(set(item[0]) & buyers)))

    def _place(self, labels: dict) -> None:
        """Draw each edge label at its edge's middle unless it overlaps one drawn before (then it is hidden)."""
        for t in self.texts:
            t.remove()
        renderer = self.figure.canvas.get_renderer()
        if self.fixed is None:  # nodes and their labels never move
            self.fixed = [t.get_window_extent(renderer) for t in self.node_labels.values()] + node_boxes(self.ax)
        taken = list(self.fixed)
        self.texts, self.hidden = [], []
        for (u, v), texts in labels.items():
            text = "\n".join(dict.fromkeys(texts))
            t = self.ax.text(*(np.add(self.pos[u], self.pos[v]) / 2), text, fontsize=FONT, ha="center",
                             va="center", zorder=5, bbox=dict(boxstyle="round", fc="white", ec="none", alpha=0.85,
                                                              pad=LABEL_PAD))
            box = t.get_window_extent(renderer).padded(LABEL_PAD * TEXT_PX + 1)  # its white box, a pixel apart
            if any(box.overlaps(other) for other in taken):
                t.remove()
                self.hidden.append(((u, v), text))
            else:
                taken.append(box)
                self.texts.append(t)

    def update(self, view: MarketView, model) -> Figure:
        net = view.network(model)
        values = np.array([net.values.get(v, np.nan) for v in self.buyers], float)
        finite = values[np.isfinite(values)]
        self.nodes.set_array(np.where(np.isfinite(values), values, 0.0))
        if finite.size:
            self.nodes.set_clim(finite.min(), finite.max() + (0.0 if np.ptp(finite) > 0 else 1e-9))
        self.colourbar.ax.set_visible(bool(finite.size))
        fills = self.nodes.to_rgba(self.nodes.get_array())
        for v, colour in zip(self.buyers, label_colours(fills)):
            if v in self.node_labels:
                self.node_labels[v].set_color(colour)
        won = np.array([v in net.winners for v in self.buyers])
        self.nodes.set_edgecolors(np.where(won, WIN_COLOUR, "#555555"))
        self.nodes.set_linewidths(np.where(won, 3.0, 0.5))
        busy = self._busy(net)
        heavy = np.array([e in busy for e in self.edges])
        self.lines.set_linewidths(np.where(heavy, 1.2, 0.3))
        self.lines.set_colors([(0.27, 0.27, 0.27, 1.0) if h else (0.0, 0.0, 0.0, 0.4) for h in heavy])
        g = self.graph
        direct = [e for e in net.messages if not g.has_edge(*e) and not g.has_edge(*e[::-1])]
        self.direct.set_segments([_arc(self.pos[u], self.pos[v]) for u, v in direct])
        self.ax.set_title(self._title(f"{len(self.buyers)} {self.kind}; {net.caption}"), fontsize=FONT)
        self._place(self._labels(net))
        return self.figure


    def _title(self, text: str, lines: int = 1) -> str:
        """``text`` wrapped to the axes' width (0.6 em a character) in at most ``lines`` lines, the rest
        cut with an ellipsis: the room above the network holds one."""
        width_pt = self.ax.get_position().width * self.figure.get_figwidth() * 72
        wrapped = textwrap.wrap(text, max(20, int(width_pt / (0.6 * FONT))))
        if len(wrapped) > lines:
            wrapped = wrapped[:lines]
            wrapped[-1] = wrapped[-1][:-1] + "\u2026"
        return "\n".join(wrapped)


def network_figure(view: MarketView, model) -> Figure:
    """Buyers -> intermediaries -> seller with this round's values, winners and messages."""
    return NetworkPlot(view, model).update(view, model)


def _reference_lines(ax, ref: Reference, column: str, colour: str) -> None:
    if column not in ref.bands:
        return
    lo, hi = ref.bands[column]
    if hi > lo:
        ax.axhspan(lo, hi, color=colour, alpha=0.15)
    else:
        ax.axhline(lo, color=colour, linestyle="--", linewidth=1.0)


def series_style(k: int) -> dict:
    """Line style and marker of the k-th series, so that equal series (the seller's and the intermediary's
    in symmetric play) stay visible one over the other: gaps in the line, hollow markers of growing size."""
    linestyle, marker = SERIES_STYLES[k % len(SERIES_STYLES)]
    return dict(linestyle=linestyle, marker=marker, markersize=4 + 2 * (k % len(SERIES_STYLES)),
                markerfacecolor="none" if k % 2 else None)


def mark_sparsely(lines) -> None:
    """About ten markers per line, the k-th line's shifted by k points (markers of equal series interleave)."""
    for k, line in enumerate(lines):
        step = max(1, len(line.get_xdata()) // 10)
        line.set_markevery((k % step, step))


def rounds_shown(rounds: int, window: int) -> tuple[int, int]:
    """First and last round on the axis: the last ``window`` rounds, at least :data:`MIN_ROUNDS` of axis."""
    first = max(1, rounds - window + 1)
    return first, max(rounds, first + MIN_ROUNDS - 1)


def value_scale(ref: Reference) -> float:
    """The market's value scale: the largest exact value (1 when there is none or all are 0)."""
    return max((abs(x) for band in ref.bands.values() for x in band), default=0.0) or 1.0


def widen(ax, span: float) -> None:
    """Make ``ax``'s y range at least ``span`` wide around its centre (a constant series gets a readable axis)."""
    lo, hi = ax.get_ylim()
    if hi - lo < span:
        mid = (lo + hi) / 2
        ax.set_ylim(mid - span / 2, mid + span / 2, auto=None)  # the next round autoscales again


class SeriesPlot:
    """The series figure, kept between redraws: a new round only updates its lines.

    Most of a redraw's cost is building axes and laying out their text, so the
    figure, the reference lines and one line per column are made once per market.
    The lines show the last ``window`` rounds (the running means are over every round);
    the round axis has integer ticks, and each y axis spans at least :data:`MIN_SPAN`
    of the largest of the market's exact values and the values drawn on it.
    """

    def __init__(self, view: MarketView, model, window: int = WINDOW, width: int = PANEL_PX):
        check_window(window)
        self.window = window
        df, ref = view.series(model), view.reference(model)
        self.scale = value_scale(ref)
        prices = price_columns(df)
        self.figure = panel_figure(400 if prices else 240, width)
        axes = self.figure.subplots(2 if prices else 1, 1, sharex=True, squeeze=False)[:, 0]
        self.money, self.prices = axes[0], axes[-1]
        self.means, self.posted = {}, {}
        for k, col in enumerate(money_columns(df)):
            self.means[col], = self.money.plot([], [], color=_colour(col, k), **series_style(k))
            _reference_lines(self.money, ref, col, _colour(col, k))
        for k, col in enumerate(prices):
            self.posted[col], = self.prices.plot([], [], color=_colour(col, k), **series_style(k))
            _reference_lines(self.prices, ref, col, _colour(col, k))
        self.money.set_ylabel("mean per round")
        self.prices.set_xlabel("round")
        self.prices.xaxis.set_major_locator(MaxNLocator(integer=True))
        if prices:
            self.prices.set_ylabel("posted price")
        for ax in axes:
            readable(ax)
        self.figure.subplots_adjust(left=0.15, right=0.97, top=0.97, bottom=0.11 if prices else 0.18, hspace=0.12)

    def update(self, view: MarketView, model) -> Figure:
        df = view.series(model)
        shown = slice(max(0, len(df) - self.window), None)
        means = df.expanding().mean().iloc[shown]
        for col, line in self.means.items():
            line.set_data(means.index.to_numpy(float), means[col].to_numpy(float))
        for col, line in self.posted.items():
            line.set_data(df.index.to_numpy(float)[shown], df[col].to_numpy(float)[shown])
        mark_sparsely(self.means.values())
        mark_sparsely(self.posted.values())
        first, last = rounds_shown(len(df), self.window)
        self.prices.set_xlim(first - 0.5, last + 0.5)
        for ax in dict.fromkeys((self.money, self.prices)):
            ax.relim()
            ax.autoscale_view(scalex=False)
            drawn = np.abs(np.concatenate([line.get_ydata() for line in ax.get_lines()]))
            widen(ax, MIN_SPAN * max(self.scale, np.nanmax(drawn, initial=0.0)))
        return self.figure


def series_figure(view: MarketView, model) -> Figure:
    """Running means of revenues and welfare, and posted prices, against the exact values."""
    return SeriesPlot(view, model).update(view, model)


def legend(view: MarketView, model) -> list[tuple[str, str]]:
    """(colour, what it shows) for the series and the price plane, drawn by the page."""
    return [(_colour(c, k), _party(c)) for k, c in enumerate(money_columns(view.series(model)))]


def series_legend(view: MarketView, model) -> list[tuple[str, str]]:
    """(colour, marker and party) of each money series as the series figure draws it (filled or hollow)."""
    entries = []
    for k, col in enumerate(money_columns(view.series(model))):
        glyphs = MARKER_GLYPHS[series_style(k)["marker"]]
        entries.append((_colour(col, k), f"{glyphs[k % 2]} {_party(col)}"))
    return entries


def plane_legend(view: MarketView, model, plane: PricePlane) -> list[tuple[str, str]]:
    """(colour, what it shows) for the price plane: each player's best response in its series colour."""
    colours = {party: colour for colour, party in legend(view, model)}
    return [(colours[p], f"{p}'s best response") for p in plane.players] + [
        ("black", "verified equilibria"), (WIN_COLOUR, "path of posted prices")]


class PricePlanePlot:
    """The price plane, kept between redraws: best responses and equilibria drawn once, the path updated.

    The players, axes and path columns are the view's (:class:`PricePlane`), each curve in its
    player's series colour.
    """

    def __init__(self, view: MarketView, model, width: int = PANEL_PX):
        plane = self.plane = view.price_plane(model)
        self.figure = panel_figure(400, width)
        ax = self.figure.subplots()
        g = plane.grid
        (x_colour, _), (y_colour, _) = plane_legend(view, model, plane)[:2]
        ax.plot(plane.x_best, g, color=x_colour)
        ax.plot(g, plane.y_best, color=y_colour)
        if len(plane.equilibria):
            ax.scatter(plane.equilibria[:, 0], plane.equilibria[:, 1], s=14, color="black", zorder=3)
        if plane.continuum:
            (a, b), (c, d) = (plane.continuum[col] for col in plane.columns)
            ax.plot([a, b], [d, c], color="black", linewidth=3, alpha=0.4)
        self.path, = ax.plot([], [], color=WIN_COLOUR, marker="o", markersize=3, linewidth=1)
        self.now, = ax.plot([], [], linestyle="none", marker="o", markersize=9, markerfacecolor="none",
                            markeredgecolor=WIN_COLOUR, zorder=4)
        ax.set_xlabel(plane.labels[0])
        ax.set_ylabel(plane.labels[1])
        ax.set_xlim(0, g[-1])
        ax.set_ylim(0, g[-1])
        readable(ax)
        self.figure.subplots_adjust(left=0.15, right=0.97, top=0.97, bottom=0.11)

    def update(self, view: MarketView, model) -> Figure:
        path = view.series(model)[list(self.plane.columns)].to_numpy(float)
        self.path.set_data(path[:, 0], path[:, 1])
        self.now.set_data(path[-1:, 0], path[-1:, 1])
        return self.figure

    def at_pixel(self, x: float, y: float) -> tuple[float, float] | None:
        """The prices at pixel (x, y) of the picture (from its top left, as the browser counts), None
        outside the axes; the picture is shown at its own size, so a CSS pixel is a figure pixel."""
        ax = self.figure.axes[0]
        display = (x, self.figure.bbox.height - y)
        if not ax.bbox.contains(*display):
            return None
        px, py = ax.transData.inverted().transform(display)
        return float(px), float(py)

    def readout(self, x: float, y: float) -> str:
        """What the plane holds at prices (x, y): the point, each player's best response to the other's
        price there (the curves, interpolated on the grid), and the nearest verified equilibrium."""
        plane = self.plane
        (a, b), (pa, pb) = plane.labels, plane.players
        bx = float(np.interp(y, plane.grid, plane.x_best))
        by = float(np.interp(x, plane.grid, plane.y_best))
        text = f"{a} = {x:.4f}, {b} = {y:.4f}; best responses: {pa} {bx:.4f} (to {y:.4f}), {pb} {by:.4f} (to {x:.4f})"
        if len(plane.equilibria):
            e = plane.equilibria[np.argmin(np.hypot(*(plane.equilibria - (x, y)).T))]
            text += f"; nearest equilibrium ({e[0]:.4f}, {e[1]:.4f})"
        return text

    def zoom(self, x: float, y: float, factor: float) -> None:
        """Axes ``factor`` times narrower (wider for factor < 1) with (x, y) where it was in the picture
        (a map's zoom), no wider than [0, top] and shifted back inside it."""
        top = self.plane.grid[-1]
        ax = self.figure.axes[0]
        for (lo, hi), c, limit in ((ax.get_xlim(), x, ax.set_xlim), (ax.get_ylim(), y, ax.set_ylim)):
            lo, hi = c - (c - lo) / factor, c + (hi - c) / factor
            if hi - lo >= top:
                lo, hi = 0.0, top
            shift = max(0.0, -lo) - max(0.0, hi - top)
            limit(lo + shift, hi + shift)

    def whole(self) -> None:
        """The whole plane, [0, top] on both axes."""
        top = self.plane.grid[-1]
        self.figure.axes[0].set_xlim(0, top)
        self.figure.axes[0].set_ylim(0, top)


def price_plane_figure(view: MarketView, model) -> Figure | None:
    """Both best-response curves, the equilibrium set and the path of posted prices (None: no price game)."""
    return None if view.price_plane(model) is None else PricePlanePlot(view, model).update(view, model)
