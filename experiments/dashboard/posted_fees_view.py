"""The dashboard's view of the k-item market with two intermediaries that learn (equilibrium selection).

The ``buyers`` (values i.i.d. from the one distribution given, which must have a finite top)
are split into two contiguous blocks (:func:`~agora.experiments.dashboard.posted_menu_view.blocks`:
sizes differ by at most one, the larger first); intermediary j holds block j. Each round the
seller posts a price p_s per item and each intermediary a fee f_j at once; a buyer of block j
asks for an item iff v >= p_s + f_j, and the ``items`` go to the askers by random rationing
(:class:`~agora.protocols.posted_fees.PostedFees`, the market of :mod:`agora.market.learning.k_selection`).

The seller and both intermediaries learn on a grid of ``points`` (default :data:`FEE_POINTS`) linear prices on
[0, top] (:class:`~agora.market.learning.k_selection.KItemMarket`) by the chosen rule, played by
:class:`~agora.agents.learning.KLearning` agents: ``best-response`` (inertia 1 - rate), ``hedge``,
``fictitious-play`` (smoothed) and ``regret-matching``, with the rate mapped as in
:func:`agora.agents.adjustment.grid_rule`; demand learning is left out (it plays two-player markets
only). ``fixed-price`` posts the start prices as given. The seller starts at its start price and
both intermediaries at the intermediary's start price, snapped to the grid.

Series: the seller's revenue p_s x items sold, intermediary j's revenue f_j x items its block
got, welfare (the sum of the values of the buyers served: prices are transfers, and an unsold
item is worth nothing to the seller), and the posted price and fees; columns are numbered as the
network's nodes, ``intermediary_0_*`` for I0 (block 1, fee f_1) and ``intermediary_1_*`` for I1 (f_2).
Reference lines: the continuous equilibrium of :func:`agora.market.learning.k_selection.continuous_equilibrium`
(scipy's root of the three first-order conditions of the exact payoffs, from where best responses
settle: :func:`grid_best_responses`, then :func:`agora.market.learning.k_selection.settled_equilibrium`), verified by
:func:`agora.market.learning.k_selection.continuous_regrets`, with its exact payoffs and expected welfare
(:func:`agora.market.learning.k_selection.expected_welfare`).

Price plane (:func:`fee_plane`): the intermediaries' fees (f_1, f_2) at the seller's equilibrium
price p_s*, with each one's best fee against the other's, the equilibrium's fees, and the fees
played so far.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import pandas as pd

from agora.agents.adjustment import grid_rule
from agora.agents.strategies import FixedPrice
from agora.experiments.dashboard.posted_menu_view import blocks, item_network
from agora.experiments.dashboard.views import (
    COMMON_CONTROLS,
    MarketView,
    Network,
    PricePlane,
    Reference,
    register,
    snap,
)
from agora.market.blas import one_blas_thread
from agora.market.distributions import parse_spec
from agora.market.errors import InputError
from agora.market.learning.k_selection import KItemMarket, expected_welfare, payoff_line, settled_equilibrium
from agora.market.learning.selection import price_levels
from agora.models.learning_models import k_learning_model

FEE_POINTS = 31  # prices per player on the grid [0, top]
VERIFIED = 1e-6  # largest relative gain from any price in [0, top] for the root to count as an equilibrium
SERIES = ("seller_revenue", "intermediary_0_revenue", "intermediary_1_revenue", "welfare", "seller_price",
          "intermediary_0_price", "intermediary_1_price")


def k_market(controls) -> KItemMarket:
    """The k-item market of these controls: the law, two blocks, the items, a grid of ``points`` prices
    (default :data:`FEE_POINTS`) on [0, top]."""
    sizes = tuple(len(b) for b in blocks(controls.buyers, 2))
    return KItemMarket("dashboard", controls.bidders[0], sizes, controls.items, points=controls.points or FEE_POINTS)


class PostedFeesView(MarketView):
    protocol = "posted-fees"
    title = "Posted price and two fees for k items (equilibrium selection, two intermediaries)"
    rules = ("best-response", "hedge", "fictitious-play", "regret-matching", "fixed-price")
    controls = COMMON_CONTROLS + ("rate", "seller_price", "intermediary_price", "intermediaries", "items", "points")
    no_price_game = ("The fee plane is drawn at the seller's equilibrium price, and no verified equilibrium "
                     "was found here (the summary says why).")

    def check(self, controls) -> None:
        if controls.intermediaries != 2:
            raise InputError(f"intermediaries must be 2 for posted-fees (two blocks of buyers, one fee each), "
                             f"got {controls.intermediaries}")
        if len(set(controls.bidders)) != 1:
            raise InputError(f"posted-fees needs identically distributed buyers (one distribution), "
                             f"got {len(set(controls.bidders))}: {'; '.join(controls.bidders)}")
        top = parse_spec(controls.bidders[0]).hi
        if not math.isfinite(top):
            raise InputError(f"posted-fees needs a distribution with a finite top (the price grid is [0, top]), "
                             f"got {controls.bidders[0]}; accepted: uniform:LO,HI, "
                             "beta:A,B,LO,HI, truncnorm:MEAN,SD,LO,HI, point:V or pareto:ALPHA,SCALE,CAP")

    def build(self, controls):
        c = controls
        market = k_market(c)
        game = market.game()
        start = (snap(game.actions[0], c.seller_price), snap(game.actions[1], c.intermediary_price),
                 snap(game.actions[2], c.intermediary_price))
        rule = grid_rule(c.rule, c.rate) if c.rule != "fixed-price" else None
        model = k_learning_model(market, (rule,) * 3, start, None, np.random.SeedSequence(c.seed))
        if rule is None:
            model.seller.strategy = FixedPrice(c.seller_price)
            for m in model.intermediaries:
                m.strategy = FixedPrice(c.intermediary_price)
        model.k_market = market
        return model

    def network(self, model) -> Network:
        return item_network(model, model.protocol.k)

    def series(self, model) -> pd.DataFrame:
        df = model.datacollector.get_model_vars_dataframe()
        if df.empty:
            return pd.DataFrame(columns=SERIES, dtype=float)
        out = pd.DataFrame({
            "seller_revenue": df["seller_revenue"].to_numpy(float),
            "intermediary_0_revenue": (df["first_fee"] * df["first_items"]).to_numpy(float),
            "intermediary_1_revenue": (df["second_fee"] * df["second_items"]).to_numpy(float),
            "welfare": df["welfare"].to_numpy(float),
            "seller_price": df["seller_price"].to_numpy(float),
            "intermediary_0_price": df["first_fee"].to_numpy(float),
            "intermediary_1_price": df["second_fee"].to_numpy(float)})
        out.index = pd.RangeIndex(1, len(out) + 1, name="round")
        return out

    def reference(self, model) -> Reference:
        return equilibrium_reference(model.k_market)

    def price_plane(self, model) -> PricePlane | None:
        return fee_plane(model.k_market)


def grid_best_responses(market: KItemMarket, sweeps: int = 200) -> tuple[float, float, float]:
    """Where best responses on the grid settle, each player in turn, from the grid's third of the top."""
    game = market.game()
    profile = [len(a) // 3 for a in game.actions]
    for _ in range(sweeps):
        before = list(profile)
        for i in range(3):
            profile[i] = int(np.argmax(payoff_line(game, tuple(profile), i)))
        if profile == before:
            break
    return tuple(float(game.actions[i][a]) for i, a in enumerate(profile))


@lru_cache(maxsize=32)
def fee_equilibrium(market: KItemMarket) -> tuple[tuple[float, float, float], float]:
    """The continuous equilibrium settled from where grid best responses settle, and its largest relative
    regret (:func:`agora.market.learning.k_selection.settled_equilibrium`)."""
    return settled_equilibrium(market, grid_best_responses(market), VERIFIED)


@lru_cache(maxsize=32)
def equilibrium_reference(market: KItemMarket) -> Reference:
    """The continuous equilibrium's prices, exact payoffs and expected welfare, as lines."""
    prices, regret = fee_equilibrium(market)
    how = ("continuous equilibrium: scipy root of the three first-order conditions of the exact payoffs "
           "u_s = p_s E[min(D, k)], u_j = f_j E[D_j min(1, k/D)], from where best responses settle "
           "(on the grid, then in continuous prices)")
    if not regret <= VERIFIED:
        return Reference({}, f"no verified equilibrium: {how} ends at {tuple(round(p, 6) for p in prices)}, "
                             f"where a player gains {regret:.2g} (relative) by another price")
    us, u1, u2 = (float(u) for u in market.payoffs(*prices))
    welfare = expected_welfare(market.distribution, market.blocks, market.items, *prices)
    values = {"seller_price": prices[0], "intermediary_0_price": prices[1], "intermediary_1_price": prices[2],
              "seller_revenue": us, "intermediary_0_revenue": u1, "intermediary_1_revenue": u2,
              "welfare": welfare}
    return Reference({k: (float(v), float(v)) for k, v in values.items()},
                     f"{how}; no player gains more than {VERIFIED:g} (relative) by any price in [0, top] "
                     f"(largest {regret:.1g}); welfare sum_j E[v | v >= p_s + f_j] E[items to block j]; "
                     f"blocks of {market.blocks[0]} and {market.blocks[1]} buyers, k = {market.items}")


def plane_fees(points: int) -> int:
    """Fees per side of the fee plane over a grid of ``points`` prices: the grid and nine between each two."""
    return 10 * (points - 1) + 1


@lru_cache(maxsize=32)
@one_blas_thread
def fee_plane(market: KItemMarket) -> PricePlane | None:
    """The intermediaries' (f_1, f_2) plane at the seller's equilibrium price p_s* (None: no verified
    equilibrium). Each intermediary's best fee against the other's is the argmax of its exact payoff
    u_j(p_s*, f_1, f_2) over :func:`plane_fees` fees on [0, top] (the learners' grid and nine fees
    between each two of its prices), so it is within one spacing of the exact best fee; the
    equilibrium's fees are mutual best responses at p_s* (verified against any price)."""
    prices, regret = fee_equilibrium(market)
    if not regret <= VERIFIED:
        return None
    ps, f1, f2 = prices
    fees = plane_fees(market.points)
    grid = price_levels(market.top, fees)
    u1, u2 = (market.payoff(i, ps, grid[:, None], grid[None, :]) for i in (1, 2))  # axes (f_1, f_2)
    return PricePlane(grid, grid[np.argmax(u1, axis=0)], grid[np.argmax(u2, axis=1)], np.array([[f1, f2]]), None,
                      f"best fees on a {fees}-point grid at p_s* = {ps:.6g}; the equilibrium's fees",
                      players=("intermediary_0", "intermediary_1"),
                      columns=("intermediary_0_price", "intermediary_1_price"),
                      labels=("fee f_1 of I0", "fee f_2 of I1"),
                      note=(f"the intermediaries' fees at the seller's equilibrium price p_s* = {ps:.4f}: each "
                            f"one's best fee against the other's ({fees} fees, exact payoffs), the "
                            "equilibrium (verified against any price), and the fees played so far "
                            "(whatever p_s was that round)"))


register(PostedFeesView())
