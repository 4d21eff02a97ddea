"""The price plane's pointer read-out and zoom, against the picture's own pixels and closed forms.

Market: one U[0,1] buyer, simultaneous prices. A sale happens when v >= p_s + p_I, so each side
earns p (1 - p_s - p_I) and best-responds with (1 - other)/2; the equilibrium is p_s = p_I = 1/3.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from agora.experiments.dashboard.figures import PricePlanePlot
from agora.experiments.dashboard.model import MarketDashboard


@pytest.fixture(scope="module")
def plot():
    m = MarketDashboard(protocol="simultaneous", bidders="uniform:0,1", buyers=1, rate=0.5, seed=1)
    plot = PricePlanePlot(m.view, m.market)
    plot.update(m.view, m.market)  # round 0: no path drawn over the equilibrium
    return plot


def _equilibrium_pixel(plot) -> tuple[float, float]:
    """The centre of the black equilibrium dot in the rendered picture (column, row from the top left),
    found from the pixels alone: the only black inside the axes' frame."""
    fig = plot.figure
    fig.canvas.draw()
    rgb = np.asarray(fig.canvas.buffer_rgba())[:, :, :3].astype(int)
    x0, y0, x1, y1 = fig.axes[0].bbox.extents  # display: y up from the bottom
    rows, cols = np.nonzero(rgb.max(axis=2) < 40)
    height = rgb.shape[0]
    inside = (cols > x0 + 3) & (cols < x1 - 3) & (height - rows > y0 + 3) & (height - rows < y1 - 3)
    assert inside.sum() >= 4, "no equilibrium dot found"
    return cols[inside].mean() + 0.5, rows[inside].mean() + 0.5


def _numbers(text: str) -> list[float]:
    return [float(x) for x in re.findall(r"\d+\.\d+", text)]


def test_the_equilibrium_is_one_third_each(plot):
    np.testing.assert_allclose(plot.plane.equilibria, [[1 / 3, 1 / 3]], atol=1e-6)
    assert plot.plane.grid[-1] == 1.0


@pytest.mark.parametrize("zoom", [None, (1 / 3, 1 / 3, 4.0), (0.3, 0.4, 2.0)])
def test_a_pixel_of_the_picture_reads_back_its_prices(plot, zoom):
    """The dot's pixel, read back through at_pixel, is (1/3, 1/3) to within a pixel, zoomed or not."""
    plot.whole()
    if zoom:
        plot.zoom(*zoom)
    col, row = _equilibrium_pixel(plot)
    x, y = plot.at_pixel(col, row)
    ax = plot.figure.axes[0]
    pixel = (ax.get_xlim()[1] - ax.get_xlim()[0]) / ax.bbox.width  # prices per pixel
    assert abs(x - 1 / 3) <= pixel and abs(y - 1 / 3) <= pixel, (x, y, pixel)
    assert plot.at_pixel(1.0, 1.0) is None  # the figure's corner is outside the axes
    plot.whole()


@pytest.mark.parametrize("x, y", [(0.2, 0.5), (0.7, 0.1), (1 / 3, 1 / 3), (0.0, 1.0)])
def test_the_readout_gives_both_best_responses(plot, x, y):
    """Best responses (1 - other)/2 to within the 201-point grid's step, the nearest equilibrium 1/3."""
    shown = _numbers(plot.readout(x, y))
    px, py, bx, to_y, by, to_x, ex, ey = shown
    assert (px, py, to_y, to_x) == pytest.approx((x, y, y, x), abs=5e-5)
    step = plot.plane.grid[1] - plot.plane.grid[0]
    assert bx == pytest.approx((1 - y) / 2, abs=step) and by == pytest.approx((1 - x) / 2, abs=step)
    assert (ex, ey) == pytest.approx((1 / 3, 1 / 3), abs=5e-5)


def test_zoom_keeps_the_point_in_place_inside_the_plane_and_whole_restores_it(plot):
    ax = plot.figure.axes[0]
    plot.whole()
    plot.zoom(0.9, 0.1, 2.0)  # 0.9 stays 9/10 of the way along x, 0.1 a tenth of the way along y
    assert ax.get_xlim() == pytest.approx((0.45, 0.95)) and ax.get_ylim() == pytest.approx((0.05, 0.55))
    plot.zoom(0.5, 0.3, 0.5)  # out, about (0.5, 0.3): as wide as the plane, so the plane
    assert ax.get_xlim() == pytest.approx((0.0, 1.0)) and ax.get_ylim() == pytest.approx((0.0, 1.0))
    plot.zoom(0.75, 0.5, 2.0)
    assert ax.get_xlim() == pytest.approx((0.375, 0.875))
    plot.zoom(0.85, 0.5, 0.6)  # (0.85 - 0.475/0.6, 0.85 + 0.025/0.6) = (0.0583, 0.8917): inside
    assert ax.get_xlim() == pytest.approx((0.85 - 0.475 / 0.6, 0.85 + 0.025 / 0.6))
    ax.set_xlim(0.5, 1.0)
    plot.zoom(0.99, 0.5, 0.6)  # (0.1733, 1.0067) would leave the plane: shifted back by 1/150
    assert ax.get_xlim() == pytest.approx((0.99 - 0.49 / 0.6 - 1 / 150, 1.0))
    plot.whole()
    assert ax.get_xlim() == (0.0, 1.0) and ax.get_ylim() == (0.0, 1.0)
