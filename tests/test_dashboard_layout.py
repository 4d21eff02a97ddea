"""Panels sized to the page (experiments/dashboard/layout.py): columns and picture width by brute force."""

from __future__ import annotations

import pytest

from agora.experiments.dashboard.figures import PANEL_PX
from agora.experiments.dashboard.layout import CARD_INSET, GAP, panel_geometry


def _fits(width: int, columns: int, picture: int) -> bool:
    """``columns`` cards of ``picture`` px content, their insets and the gaps between them, within ``width``."""
    return columns * (picture + CARD_INSET) + (columns - 1) * GAP <= width


@pytest.mark.parametrize("width", [560, 900, 1033, 1034, 1035, 1016, 1496, 2400])
def test_the_widest_pictures_that_fit_two_columns_when_each_gets_panel_px(width):
    columns, picture = panel_geometry(width)
    widest = {c: max(p for p in range(100, width) if _fits(width, c, p)) for c in (1, 2)}
    assert columns == (2 if widest[2] >= PANEL_PX else 1)
    assert picture == widest[columns]


def test_a_1440_px_page_has_two_columns_of_452_px_and_an_unknown_width_the_default():
    assert panel_geometry(1016) == (2, 452)  # the main area of a 1440 px page (the sidebar takes the rest)
    assert panel_geometry(0) == (2, PANEL_PX)
