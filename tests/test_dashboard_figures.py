"""The dashboard's figures as drawn (Agg, no browser): round ticks, y ranges, series styles and windows,
label contrast, the colour bar, text sizes and edge labels."""

from __future__ import annotations

import unicodedata

import numpy as np
import pytest
from matplotlib.colors import to_rgb
from matplotlib.text import Text
from matplotlib.transforms import Bbox

from agora.experiments.dashboard.figures import (
    FONT,
    LABEL_PAD,
    PANEL_PX,
    NetworkPlot,
    PricePlanePlot,
    SeriesPlot,
    series_legend,
)
from agora.experiments.dashboard.model import MarketDashboard
from agora.experiments.dashboard.views import VIEWS
from agora.market.errors import InputError
from tests.dashboard_checks import rule_and_knowledge


def _market(protocol: str, rounds: int, **kw) -> MarketDashboard:
    one_law = protocol in ("posted-menu", "posted-fees", "k-item-auction", "robust", "q-learning-fees")
    kw = {"bidders": "uniform:0,1" if one_law else "uniform:0,1; exponential:1", "buyers": 3,
          "intermediaries": 2 if protocol == "posted-fees" else 1, **rule_and_knowledge(protocol, kw.get("rule")),
          **kw}
    m = MarketDashboard(protocol=protocol, **kw)
    assert m.error is None, m.error
    for _ in range(rounds):
        m.step()
    return m


def _series(m: MarketDashboard, **kw) -> SeriesPlot:
    """The series figure of ``m`` updated to its last round and drawn."""
    plot = SeriesPlot(m.view, m.market, **kw)
    plot.update(m.view, m.market).canvas.draw()
    return plot


# ---- the round axis ------------------------------------------------------------------------------

@pytest.mark.parametrize("protocol", list(VIEWS))
@pytest.mark.parametrize("rounds", [0, 1, 37])
def test_round_ticks_are_whole_rounds(protocol, rounds):
    m = _market(protocol, rounds)
    ax = _series(m).figure.axes[-1]
    lo, hi = ax.get_xlim()
    ticks = [t for t in ax.xaxis.get_major_locator()() if lo <= t <= hi]
    assert len(ticks) >= 2
    assert all(float(t).is_integer() for t in ticks), ticks
    # at least ten rounds of axis, never a round before the first: no -0.04 .. 0.04 at round 0
    assert lo == 0.5 and hi == max(rounds, 10) + 0.5


# ---- y ranges ------------------------------------------------------------------------------------

def test_a_constant_price_gets_an_axis_on_the_markets_scale():
    """A fixed posted price of 0.05 (constant, equal to its exact line): the price axis spans at least
    10% of the largest exact value drawn (the market's scale, welfare here), not 10% of 0.05."""
    m = _market("posted-menu", 3, buyers=6, intermediaries=2, items=2, rule="fixed-price", seller_price=0.05)
    plot = _series(m)
    fig = plot.figure
    money, prices = fig.axes
    posted = prices.lines[0]
    np.testing.assert_array_equal(posted.get_ydata(), [0.05] * 3)
    series = {*plot.means.values(), *plot.posted.values()}
    exact = [abs(y) for ax in fig.axes for line in ax.lines if line not in series for y in line.get_ydata()]
    lo, hi = prices.get_ylim()
    assert hi - lo >= 0.1 * max(exact) > 0.05
    assert lo < 0.05 < hi


def test_a_point_mass_market_keeps_every_line_inside_its_axes():
    """Value 1 surely, seller first: the seller posts 1 and takes 1 each round, the intermediary 0."""
    m = _market("seller-first", 4, bidders="point:1", buyers=1)
    plot = _series(m)
    fig = plot.figure
    for ax in fig.axes:
        lo, hi = ax.get_ylim()
        ys = np.concatenate([line.get_ydata() for line in ax.lines])
        assert lo < np.nanmin(ys) and np.nanmax(ys) < hi
        assert hi - lo >= 0.1 * np.nanmax(np.abs(ys))
    np.testing.assert_allclose(fig.axes[1].lines[0].get_ydata(), 1.0, atol=1e-9)


@pytest.mark.parametrize("protocol", list(VIEWS))
def test_a_kept_series_figure_follows_the_rounds(protocol):
    """The page keeps one figure from round 0 and updates it: every round, all it draws is inside its axes."""
    m = _market(protocol, 0, rate=0.5, seller_price=0.05, intermediary_price=0.05)
    plot = SeriesPlot(m.view, m.market)
    for _ in range(12):
        plot.update(m.view, m.market)
        m.step()
        fig = plot.update(m.view, m.market)
        for ax in fig.axes:
            lo, hi = ax.get_ylim()
            ys = np.concatenate([line.get_ydata() for line in ax.lines])
            assert lo <= np.nanmin(ys) and np.nanmax(ys) <= hi, (m.rounds, ax.get_ylabel(), lo, hi)


# ---- equal series stay visible -------------------------------------------------------------------

def _symmetric() -> MarketDashboard:
    """One uniform:0,1 buyer, both sides starting at 0.2: the game is symmetric, so the seller's and the
    intermediary's prices and revenues are equal every round."""
    return _market("simultaneous", 40, bidders="uniform:0,1", buyers=1, seller_price=0.2, intermediary_price=0.2,
                   rate=0.3)


def _pixels_near(rgba: np.ndarray, colour: str, tol: float = 40.0) -> int:
    return int((np.linalg.norm(rgba[..., :3].astype(float) - np.array(to_rgb(colour)) * 255, axis=-1) < tol).sum())


def test_equal_series_are_drawn_distinguishably():
    m = _symmetric()
    plot = _series(m)
    fig = plot.figure
    seller, intermediary = plot.means["seller_revenue"], plot.means["intermediary_revenue"]
    np.testing.assert_array_equal(seller.get_ydata(), intermediary.get_ydata())  # equal, one over the other
    for lines in (plot.means, plot.posted):
        styles = [(line.get_linestyle(), line.get_marker()) for line in lines.values()]
        assert len(set(styles)) == len(styles) >= 2, styles
        assert all(style != "--" for style, _ in styles)  # dashed lines are the exact values
    # both colours show inside the revenue axes although the lines coincide (the exact lines coincide too)
    rgba = np.asarray(fig.canvas.buffer_rgba())
    box = fig.axes[0].get_window_extent()
    height = rgba.shape[0]
    inside = rgba[int(height - box.y1) + 2:int(height - box.y0) - 2, int(box.x0) + 2:int(box.x1) - 2]
    assert _pixels_near(inside, seller.get_color()) >= 20
    assert _pixels_near(inside, intermediary.get_color()) >= 20


SHAPES = {"o": "CIRCLE", "s": "SQUARE", "^": "UP-POINTING TRIANGLE", "D": "DIAMOND", "v": "DOWN-POINTING TRIANGLE",
          "P": "CROSS"}


def test_the_pages_key_shows_each_series_marker():
    """The key under the figure names each series with its line's colour and a glyph of its marker, filled
    (Unicode BLACK ...) or hollow (WHITE ...) as drawn."""
    m = _market("posted-fees", 3, buyers=6)
    plot = _series(m)
    key = series_legend(m.view, m.market)
    assert len(key) == len(plot.means) >= 4
    for (colour, text), (col, line) in zip(key, plot.means.items()):
        glyph, party = text.split(" ", 1)
        assert col.startswith(party) and colour == line.get_color()
        name = unicodedata.name(glyph)
        assert SHAPES[line.get_marker()] in name
        if line.get_marker() != "P":
            hollow = str(line.get_markerfacecolor()) == "none"
            assert name.startswith("WHITE" if hollow else "BLACK"), (name, line.get_markerfacecolor())
    assert len({text.split(" ")[0] for _, text in key}) == len(key)


# ---- long runs: a moving window ------------------------------------------------------------------

def test_the_window_shows_the_last_rounds_of_the_running_means():
    m = _market("seller-first", 30, seed=6)
    plot = _series(m, window=10)
    fig = plot.figure
    df = m.view.series(m.market)
    rounds = np.arange(21, 31)
    revenue = df["seller_revenue"].to_numpy()
    running = np.cumsum(revenue) / np.arange(1, 31)  # over every round, not only the window's
    line = plot.means["seller_revenue"]
    np.testing.assert_array_equal(line.get_xdata(), rounds)
    np.testing.assert_allclose(line.get_ydata(), running[20:], rtol=1e-12)
    np.testing.assert_array_equal(plot.posted["seller_price"].get_ydata(), df["seller_price"].to_numpy()[20:])
    assert fig.axes[-1].get_xlim() == (20.5, 30.5)


@pytest.mark.parametrize("window", [0, -3, 2.5, True, "10"])
def test_a_bad_window_is_one_line_naming_it(window):
    m = _market("seller-first", 0)
    with pytest.raises(InputError) as err:
        SeriesPlot(m.view, m.market, window=window)
    text = str(err.value)
    assert "\n" not in text and "window" in text and ">= 1" in text and repr(window) in text


# ---- the network: contrast, colour bar, text size, edge labels ------------------------------------

def _wcag_contrast(a, b) -> float:
    """WCAG 2.0 contrast ratio of two sRGB colours, from the definition (its 0.03928 linearization knee)."""
    def lum(c):
        r, g, b_ = (x / 12.92 if x <= 0.03928 else ((x + 0.055) / 1.055) ** 2.4 for x in to_rgb(c))
        return 0.2126 * r + 0.7152 * g + 0.0722 * b_
    hi, lo = sorted((lum(a), lum(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


NETWORKS = {  # small markets label every node; four intermediaries pile edge labels up
    "seller-first, 5 buyers": ("seller-first", {"buyers": 5}),
    "posted menu, 8 buyers, 4 intermediaries": ("posted-menu", {"buyers": 8, "intermediaries": 4, "items": 3}),
    "posted menu, 200 buyers, 4 intermediaries": ("posted-menu", {"buyers": 200, "intermediaries": 4, "items": 20}),
    "posted fees, 6 buyers": ("posted-fees", {"buyers": 6}),
    "veto, 3 members": ("veto-bargaining", {"buyers": 3}),
}


def _networks(rounds: int = 3):
    """(market, network plot drawn after each round) for every market of NETWORKS."""
    for protocol, kw in NETWORKS.values():
        m = _market(protocol, 0, seed=4, **kw)
        plot = NetworkPlot(m.view, m.market)
        for _ in range(rounds):
            m.step()
            plot.update(m.view, m.market).canvas.draw()
            yield m, plot


def test_node_labels_contrast_with_their_fill():
    checked = 0
    for _, plot in _networks():
        ax = plot.figure.axes[0]
        points = [(tuple(xy), colour) for c in ax.collections[:2]  # buyers, then the other nodes (one fill)
                  for xy, colour in zip(c.get_offsets(), np.broadcast_to(c.get_facecolors(),
                                                                          (len(c.get_offsets()), 4)))]
        for text in plot.node_labels.values():
            fill = next(colour for xy, colour in points if np.allclose(xy, text.get_position()))
            assert _wcag_contrast(text.get_color(), fill) >= 4.5, (text.get_text(), text.get_color(), fill)
            checked += 1
    assert checked > 100


def test_the_colour_bar_says_what_the_colours_are():
    for m, plot in _networks(1):
        bar = plot.colourbar
        assert bar.ax.get_visible()
        label = bar.ax.get_ylabel()
        assert label == ("members' type this round" if m.view.protocol == "veto-bargaining"
                         else "buyers' value this round")
        assert bar.ax.yaxis.label.get_fontsize() * plot.figure.dpi / 72 >= 11


def _figures(m: MarketDashboard):
    plots = [NetworkPlot(m.view, m.market), SeriesPlot(m.view, m.market)]
    if m.view.price_plane(m.market) is not None:
        plots.append(PricePlanePlot(m.view, m.market))
    for plot in plots:
        fig = plot.update(m.view, m.market)
        fig.canvas.draw()
        yield fig


@pytest.mark.parametrize("protocol", list(VIEWS))
def test_every_text_is_at_least_11_css_px(protocol):
    """The page shows a picture at its own size when it fits the panel (PANEL_PX, measured in the browser
    test), so a figure pixel is a CSS pixel: every drawn text is at least 11 of them high."""
    m = _market(protocol, 2, buyers=6)
    for fig in _figures(m):
        assert fig.get_figwidth() * fig.dpi <= PANEL_PX + 1e-9
        drawn = [t for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()
                 and (t.axes is None or t.axes.get_visible())]
        assert drawn
        small = [(t.get_text(), t.get_fontsize() * fig.dpi / 72) for t in drawn if t.get_fontsize() * fig.dpi / 72 < 11]
        assert not small, small
        # nothing drawn is cut off at the picture's edge (half a pixel of slack)
        box, slack = fig.get_tightbbox(fig.canvas.get_renderer()), 0.5 / fig.dpi  # inches
        assert box.x0 >= -slack and box.y0 >= -slack
        assert box.x1 <= fig.get_figwidth() + slack and box.y1 <= fig.get_figheight() + slack


def _edge_labels(net, graph) -> int:
    """Graph edges that carried a message this round, either way (every one is labelled in a small market)."""
    return len({(u, v) if graph.has_edge(u, v) else (v, u) for u, v in net.messages
                if graph.has_edge(u, v) or graph.has_edge(v, u)})


def _markers(plot) -> list[Bbox]:
    """Node markers' squares: scatter size s is the marker's area in pt^2 (side sqrt(s) pt, dpi/72 px a pt)."""
    ax, boxes = plot.ax, []
    for nodes in ax.collections[:2]:
        side = np.sqrt(nodes.get_sizes()[0]) * plot.figure.dpi / 72
        for x, y in ax.transData.transform(nodes.get_offsets()):
            boxes.append(Bbox.from_bounds(x - side / 2, y - side / 2, side, side))
    return boxes


def test_edge_labels_never_overlap_and_only_crowded_ones_are_hidden():
    hidden = 0
    for m, plot in _networks():
        renderer = plot.figure.canvas.get_renderer()
        texts = [t.get_window_extent(renderer) for t in plot.texts]
        boxes = [t.get_bbox_patch().get_window_extent(renderer) for t in plot.texts]  # their white boxes, as drawn
        nodes = [t.get_window_extent(renderer) for t in plot.node_labels.values()] + _markers(plot)
        for i, (a, box) in enumerate(zip(texts, boxes)):
            assert not any(a.overlaps(b) for b in texts[i + 1:] + nodes), plot.texts[i].get_text()
            assert not any(box.overlaps(b) for b in boxes[i + 1:] + nodes), plot.texts[i].get_text()
        for (u, v), text in plot.hidden:  # at its edge's middle it would overlap a label or node (2 px slack)
            probe = plot.ax.text(*(np.add(plot.pos[u], plot.pos[v]) / 2), text, fontsize=FONT,
                                 ha="center", va="center", bbox=dict(boxstyle="round", pad=LABEL_PAD))
            probe.draw(renderer)
            box = probe.get_bbox_patch().get_window_extent(renderer).padded(2)
            probe.remove()
            assert any(box.overlaps(b) for b in boxes + nodes), text
        if plot.small:
            net = m.view.network(m.market)
            assert len(plot.texts) + len(plot.hidden) == _edge_labels(net, plot.graph)
        hidden += len(plot.hidden)
    assert hidden > 0  # four intermediaries do pile up


def test_the_page_lists_the_edge_labels_not_drawn():
    from agora.experiments.dashboard.page import hidden_html

    m = _market("posted-menu", 2, buyers=8, intermediaries=4, items=3, seed=4)
    plot = NetworkPlot(m.view, m.market)
    plot.update(m.view, m.market)
    assert plot.hidden
    html = hidden_html(plot.hidden)
    assert html.count("<li>") == len(plot.hidden)
    for (u, v), text in plot.hidden:
        assert f"{u} &ndash; {v}: {'; '.join(text.splitlines())}" in html


def test_the_window_is_a_control_of_the_spec_file_and_the_page(tmp_path):
    from agora.experiments.dashboard.controls import load_spec
    from agora.experiments.dashboard.sidebar import applied

    spec = tmp_path / "market.toml"
    spec.write_text('[market]\nwindow = 30\n')
    c = load_spec(spec)
    assert c.window == 30
    assert applied(c.as_page_values())["window"] == 30  # every protocol shows it
    assert MarketDashboard(**c.as_page_values()).controls.window == 30
    assert "window" in MarketDashboard(window=0).error
