"""The model the dashboard steps: the chosen protocol's market, built from the page's controls.

The page's Reset rebuilds the model by calling its class with the controls as
keywords (:func:`agora.experiments.dashboard.page.prepared`), so :class:`MarketDashboard` takes exactly the page's
controls, asks the protocol's view to build the market, and forwards ``step()``.
Controls that do not make a market (a bad distribution spec, say) leave the
market empty and the one-line reason in :attr:`MarketDashboard.error`.
"""

from __future__ import annotations

import threading

import mesa

from agora.experiments.dashboard.controls import (
    Controls,
    parse_mean,
    parse_points,
    parse_price,
    parse_seed,
    split_bidders,
)
from agora.experiments.dashboard.threads import Shown
from agora.experiments.dashboard.views import VIEWS, money_columns
from agora.market.errors import InputError


class MarketDashboard(mesa.Model):
    """A market under one protocol, with the view that draws it."""

    def __init__(self, protocol: str = Controls.protocol, bidders: str = "; ".join(Controls.bidders),
                 buyers: int = Controls.buyers, rule: str = Controls.rule, rate: float = Controls.rate,
                 seller_price: float = Controls.seller_price,
                 intermediary_price: float = Controls.intermediary_price, seed: int | str = Controls.seed,
                 intermediaries: int = Controls.intermediaries, items: int = Controls.items,
                 utility: str = Controls.utility, points: int | str | None = Controls.points,
                 window: int = Controls.window, mean: float | str | None = Controls.mean,
                 upper: float | str = Controls.upper, adversary: str = Controls.adversary,
                 beta: float | str = Controls.beta, delta: float = Controls.delta, memory: int = Controls.memory,
                 sample_row: int = Controls.sample_row, sample_column: int = Controls.sample_column,
                 eps_row: float = Controls.eps_row, eps_column: float = Controls.eps_column):
        super().__init__()
        self.controls = None
        self.market = None
        self.error = None
        self._kept = {}
        #: held while a round is played or a picture drawn: a Step waits for the picture being drawn
        self.lock = threading.RLock()
        self.pictures: dict[str, bytes] = {}  # each picture's last PNG
        self.shown = Shown()  # the last round the page drew
        try:
            self.controls = Controls(protocol, split_bidders(bidders), int(buyers), rule, float(rate),
                                     parse_price("seller_price", seller_price),
                                     parse_price("intermediary_price", intermediary_price), parse_seed(seed),
                                     int(intermediaries), int(items), utility, parse_points(points),
                                     int(window), parse_mean(mean), parse_price("upper", upper, "a number > 0"),
                                     adversary, parse_price("beta", beta, "a number > 0"), float(delta), int(memory),
                                     int(sample_row), int(sample_column), float(eps_row), float(eps_column))
            self.view = VIEWS[protocol]
            self.market = self.view.build(self.controls)
        except InputError as err:
            self.error = str(err)
            self.view = VIEWS.get(protocol)

    def step(self) -> None:
        if self.market is not None:
            self.market.step()

    def kept(self, name: str, make, size=None):
        """A drawing kept for this market between redraws, made by ``make()`` the first time and again
        when its ``size`` changes."""
        if name not in self._kept or self._kept[name][0] != size:
            self._kept[name] = (size, make())
        return self._kept[name][1]

    @property
    def rounds(self) -> int:
        return 0 if self.market is None else self.market.round

    def summary(self) -> dict[str, float]:
        """This round's amounts (revenues, utilities, profit) and welfare, and their means so far."""
        df = self.view.series(self.market)
        if df.empty:
            return {}
        cols = money_columns(df)
        last, mean = df[cols].iloc[-1], df[cols].mean()
        return {**{f"{c} this round": float(last[c]) for c in cols},
                **{f"mean {c}": float(mean[c]) for c in cols}}
