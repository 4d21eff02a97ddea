"""The page's panels sized to the page: two columns where two fit, each picture as wide as its panel.

:class:`PageWidth` reports the width of the page's main area in CSS px (a ResizeObserver in the
browser); :func:`panel_geometry` turns it into columns and a picture width, so that a picture is
shown at its own size (a figure pixel is a CSS pixel, its text :data:`~agora.experiments.dashboard.figures.TEXT_PX`
CSS px) and fills its panel. Until the width is known the pictures are
:data:`~agora.experiments.dashboard.figures.PANEL_PX` wide.
"""

from __future__ import annotations

import ipyvue
import traitlets

from agora.experiments.dashboard.figures import PANEL_PX

GAP = 16  # CSS px between panels
CARD_INSET = 2 * 8 + 2 * 16  # a card's margin (vuetify ma-2) and its text's padding, both sides
MAX_COLUMNS = 2


def panel_geometry(width: int) -> tuple[int, int]:
    """(columns, picture width in CSS px) for a main area ``width`` CSS px wide: as many columns (up to
    :data:`MAX_COLUMNS`) as leave each picture at least :data:`PANEL_PX`, else one."""
    if width <= 0:
        return MAX_COLUMNS, PANEL_PX
    for columns in range(MAX_COLUMNS, 0, -1):
        picture = (width - (columns - 1) * GAP) // columns - CARD_INSET
        if picture >= PANEL_PX or columns == 1:
            return columns, max(picture, 100)
    raise AssertionError("unreachable")


class PageWidth(ipyvue.VueTemplate):
    """An empty block as wide as its container; ``width`` follows it (CSS px, after resizing settles)."""

    width = traitlets.Int(0).tag(sync=True)
    template = traitlets.Unicode("""<template><div class="agora-page-width" style="width: 100%; height: 0"></div>
</template>
<script>
module.exports = {
  mounted() {
    const report = () => {
      const w = Math.floor(this.$el.clientWidth);
      if (w > 0 && w !== this.width) { this.width = w; }
    };
    this.observer = new ResizeObserver(() => { clearTimeout(this.pending); this.pending = setTimeout(report, 150); });
    this.observer.observe(this.$el);
    report();
  },
  destroyed() { if (this.observer) { this.observer.disconnect(); } },
}
</script>""").tag(sync=True)
