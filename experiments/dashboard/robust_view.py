"""The dashboard's view of selling without knowing the value distribution (robust mechanisms thesis).

The seller knows only that values lie in [0, ``upper``] and, with a ``mean`` bound, that every
bidder's mean is at least that (Chapter 1, correlations allowed). It runs the mechanism its rule
names (:data:`agora.market.robust.solver.AUCTION_RULES` to ``buyers`` >= 2 bidders, or
:data:`~agora.market.robust.solver.PRICING_RULES` to one buyer, Chapter 2); nature draws each round's
values: the thesis' worst case for that mechanism (``adversary`` ``worst-case``:
:func:`agora.models.robust_model.worst_nature`) or independent draws from the distributions
(``distributions``), which must lie within the seller's knowledge. The market is the runner's
``robust`` kind as Mesa agents (:func:`agora.experiments.markets.robust.robust_model`).

Exact values against the worst case: the expected revenue and regret over nature's law
(:func:`agora.market.robust.evaluation.exact`); the summary also states the mechanism's worst-case
guarantee over the seller's knowledge in closed form
(:func:`agora.experiments.markets.robust.worst_case`: Theorem 1.5.3 for the lottery, Propositions
1.5.5-1.5.7 for a second-price reserve, Proposition 3.3.2, Theorems 2.3.1 and 2.4.1).
"""

from __future__ import annotations

from functools import lru_cache

import networkx as nx
import numpy as np
import pandas as pd

from agora.experiments.dashboard.views import COMMON_CONTROLS, MarketView, Network, Reference, add_messages, register
from agora.experiments.markets import ParamError
from agora.experiments.markets.robust import (
    WORST_CASE,
    check,
    mechanism_of,
    nature_of,
    robust_model,
    worst_case,
)
from agora.market.demand import SELLER, buyer_node
from agora.market.errors import InputError
from agora.market.robust.evaluation import exact
from agora.market.robust.solver import AUCTION_RULES, PRICING_RULES
from agora.models.robust_model import RobustMarketModel

#: The runner's parameter -> the control that sets it
CONTROL_OF = {"bidders": "buyers", "mechanism": "rule", "adversary": "bidders", "mean": "mean", "upper": "upper"}
SERIES = ("seller_revenue", "regret", "welfare")


def runner_params(controls) -> dict:
    """The controls as the runner's ``robust`` parameters (one item at cost 0, Mesa agents)."""
    c = controls
    return {"bidders": c.buyers, "mean": c.mean, "costs": None, "upper": c.upper, "mechanism": c.rule,
            "adversary": WORST_CASE if c.adversary == "worst-case" else list(c.specs), "evaluator": "abm"}


class RobustView(MarketView):
    protocol = "robust"
    title = "Selling without knowing the distribution (robust mechanisms thesis)"
    # the rules that need no mean bound first: the default controls make a market
    rules = ("random-reserve", "vickrey", *(r for r in AUCTION_RULES if r not in ("random-reserve", "vickrey")),
             *PRICING_RULES)
    controls = COMMON_CONTROLS + ("mean", "upper", "adversary")
    no_price_game = "No price game in this protocol: the seller commits to a robust mechanism and nature moves."

    def check(self, controls) -> None:
        try:
            check(runner_params(controls))
        except ParamError as err:
            key = CONTROL_OF[err.key]
            raise InputError(f"{key} = {getattr(controls, key)!r}: {err}") from None

    def build(self, controls) -> RobustMarketModel:
        params = runner_params(controls)
        model = robust_model(params, nature_of(params, mechanism_of(params)), controls.seed)
        model.params = params  # what the market was built from: the reference solves for it
        return model

    def network(self, model: RobustMarketModel) -> Network:
        g = nx.DiGraph()
        g.add_node(SELLER, kind="seller", layer=2)
        for b in model.buyers:
            g.add_node(buyer_node(b.index), kind="buyer", layer=0, index=b.index)
            g.add_edge(buyer_node(b.index), SELLER)
        net = Network(g)
        if model.last is None:
            return net
        last = model.last
        net.values = {buyer_node(i): v for i, v in enumerate(last.values)}
        if last.winner is not None:
            net.winners = {buyer_node(last.winner)}
        net.caption = (f"item to {buyer_node(last.winner)}, revenue {last.revenue:.3g}" if last.winner is not None
                       else f"no sale, revenue {last.revenue:.3g}")
        node = {b.unique_id: buyer_node(b.index) for b in model.buyers} | {model.seller.unique_id: SELLER}
        add_messages(net, last.messages, node)
        return net

    def series(self, model: RobustMarketModel) -> pd.DataFrame:
        pricing = model.seller.sells_by_price
        cols = [*SERIES, "seller_price"] if pricing else list(SERIES)
        df = model.rounds()
        if df.empty:
            return pd.DataFrame(columns=cols, dtype=float)
        out = pd.DataFrame({"seller_revenue": df["revenue"].to_numpy(float), "regret": df["regret"].to_numpy(float),
                            "welfare": df["welfare"].to_numpy(float)})
        if pricing:
            out["seller_price"] = df["price"].to_numpy(float)
        out.index = pd.RangeIndex(1, len(out) + 1, name="round")
        return out

    def reference(self, model: RobustMarketModel) -> Reference:
        p = model.params
        return _reference(p["mechanism"], p["bidders"], p["mean"], p["upper"], p["adversary"] == WORST_CASE)


@lru_cache(maxsize=32)
def _reference(rule: str, bidders: int, mean: float | None, upper: float, worst: bool) -> Reference:
    """Exact revenue and regret against nature's worst case, and the worst-case guarantee in the method."""
    params = {"bidders": bidders, "mean": mean, "costs": None, "upper": upper, "mechanism": rule,
              "adversary": WORST_CASE}
    mechanism = mechanism_of(params)
    objective, value = worst_case(params, mechanism)
    guarantee = f"worst-case {objective} over the seller's knowledge {value:.6g} (closed form)"
    if not worst:
        return Reference({}, f"nature draws independent laws: no exact value; {guarantee}")
    known = exact(mechanism, nature_of(params, mechanism))
    bands = {"seller_revenue": float(known["revenue"]), "regret": float(known["regret"])}
    return Reference({k: (v, v) for k, v in bands.items() if np.isfinite(v)},
                     f"nature's worst case for {rule}: expectations over its law; {guarantee}")


register(RobustView())
