"""Posted prices for k items as an experiment kind (intermediary-proof-mechanisms, Definition 7).

``posted-menu``: ``buyers`` buyers with i.i.d. values (``distribution``) are held by intermediaries
as ``partition`` says (a named family or an explicit partition); each intermediary asks for the
items its ``utility`` model wants at the seller's price per item, and excess demand for the
``items`` identical items is rationed at random. The price (``menu``) is the intermediary-proof
price p_R = E[v(1, ceil(n/k))] (Definition 7, no knowledge of the partition), the best price on
this partition (``"best"``: p maximizing p E[min(D(p), k)]), or a given price. One step is one
round, played by Mesa agents (``evaluator = "abm"``: :class:`agora.models.market_model.MarketModel`
under :class:`agora.protocols.posted_menu.PostedMenu`) or drawn with every other round at once
(``"mc"``: :func:`agora.market.k_items.montecarlo.menu_rounds`). Each step records the price,
the revenue, the items sold and the realized welfare; the run's row holds their means and
standard errors beside the exact expectations of
:func:`agora.market.k_items.solver.evaluate_posted` (convolution of the blocks' binomial demands)
and, for the intermediary-proof price, the paper's revenue guarantee and the optimal welfare.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from agora.experiments.markets import (
    MarketKind,
    Param,
    ParamError,
    RunOutput,
    read_choice,
    read_int,
    read_number,
    shown,
)
from agora.experiments.markets.selection import read_spec
from agora.market.demand import DemandError, Partition, from_partition, parse_partition, validate_partition
from agora.market.distributions import ACCEPTED_SPECS, parse_spec
from agora.market.k_items.mechanisms import ItemMenu, guarantee, ipm_price
from agora.market.k_items.montecarlo import menu_rounds
from agora.market.k_items.solver import best_posted_price, evaluate_posted
from agora.market.k_items.utility import utility_model
from agora.market.names import UTILITY_MODELS
from agora.models.market_model import MarketModel
from agora.protocols.posted_menu import PostedMenu

QUANTITIES = ("seller_price", "seller_revenue", "items_sold", "welfare")
AVERAGED = ("seller_revenue", "items_sold", "welfare")


def read_partition(value) -> str:
    """A named family (checked against ``buyers`` later) or a partition like "0,1|2"."""
    if not isinstance(value, str):
        raise ValueError("not a string")
    if value in ("monopsony", "competition"):
        return value
    if value.startswith("even:"):
        if not value[5:].isdigit() or int(value[5:]) < 1:
            raise ValueError("even:M needs a whole number M >= 1 of blocks")
        return value
    parse_partition(value)
    return value


def read_menu(value):
    if value in ("intermediary-proof", "best"):
        return value
    return read_number(value)


def blocks_of(params: Mapping) -> Partition:
    """The partition of buyers 0..n-1: one block (monopsony), singletons (competition), m contiguous
    blocks whose sizes differ by at most one, larger first (even:m), or the one given."""
    n, family = params["buyers"], params["partition"]
    if family == "monopsony":
        return validate_partition([range(n)], n)
    if family == "competition":
        return validate_partition([[i] for i in range(n)], n)
    if family.startswith("even:"):
        m = int(family[5:])
        if m > n:
            raise ParamError("partition", f"{m} blocks of {n} buyers; at most {n}")
        return validate_partition([part.tolist() for part in np.array_split(np.arange(n), m)], n)
    try:
        return parse_partition(family, n)
    except DemandError as err:
        raise ParamError("partition", str(err)) from None


def check(params: Mapping) -> None:
    blocks_of(params)
    utility_model(params["utility"], parse_spec(params["distribution"]))


def price_of(params: Mapping, blocks: Partition) -> float:
    """The seller's price per item (module doc)."""
    menu, dist, k = params["menu"], params["distribution"], params["items"]
    if menu == "intermediary-proof":
        return ipm_price(dist, params["buyers"], k)
    if menu == "best":
        return best_posted_price(dist, [len(b) for b in blocks], k, params["utility"]).price
    return float(menu)


def menu_model(params: Mapping, blocks: Partition, price: float, rng) -> MarketModel:
    """The Mesa market of ``params``: buyers, one intermediary per block, the seller posting ``price``."""
    n = params["buyers"]
    return MarketModel([params["distribution"]] * n, protocol=PostedMenu(ItemMenu.posted(price, params["items"])),
                       demand=from_partition(blocks, n), utility=params["utility"], rng=rng)


def abm_steps(params: Mapping, blocks: Partition, price: float, steps: int, rng) -> dict[str, np.ndarray]:
    model = menu_model(params, blocks, price, rng)
    for _ in range(steps):
        model.step()
    df = model.rounds()
    return {"seller_revenue": df["seller_revenue"].to_numpy(float), "items_sold": df["sale"].to_numpy(float),
            "welfare": df["welfare"].to_numpy(float)}


def mc_steps(params: Mapping, blocks: Partition, price: float, steps: int, rng) -> dict[str, np.ndarray]:
    dist = parse_spec(params["distribution"])
    model = utility_model(params["utility"], dist)
    r = menu_rounds(dist.rvs((steps, params["buyers"]), rng), blocks, ItemMenu.posted(price, params["items"]),
                    model, dist, rng)
    return {"seller_revenue": r.revenue, "items_sold": r.items_sold, "welfare": r.welfare}


def run(params: Mapping, steps: int, rng: np.random.Generator) -> RunOutput:
    blocks = blocks_of(params)
    price = price_of(params, blocks)
    play = abm_steps if params["evaluator"] == "abm" else mc_steps
    cols = play(params, blocks, price, steps, rng)
    exact = evaluate_posted(params["distribution"], blocks, params["items"], price, params["utility"])
    row = {"steps": steps, "seller_price": price, "intermediaries": len(blocks),
           **{q: float(np.mean(cols[q])) for q in AVERAGED},
           **{f"{q}_stderr": float(np.std(cols[q], ddof=1) / math.sqrt(steps)) if steps > 1 else math.nan
              for q in AVERAGED},
           "exact_seller_revenue": exact.revenue, "exact_items_sold": exact.items_sold,
           "exact_welfare": exact.realized_welfare}
    if params["menu"] == "intermediary-proof":
        row |= ipm_bound(params)
    return RunOutput({"seller_price": np.full(steps, price), **cols}, row)


def ipm_bound(params: Mapping) -> dict:
    """What the intermediary-proof price is guaranteed to earn on every partition: tau c(lambda) (1 - 1/e)
    times the optimal welfare, halved unless k divides n (Theorem 1, Corollary 2), with tau the
    utility model's bound (1 for surplus-maximizing, c(lambda) for monopolist intermediaries)."""
    dist = parse_spec(params["distribution"])
    tau = utility_model(params["utility"], dist).tau_bound(dist)
    bound = guarantee(dist, params["buyers"], params["items"], tau)
    return {"guarantee": bound["guarantee"], "optimal_welfare": bound["welfare"]}


MARKETS = {
    "posted-menu": MarketKind(
        "posted-menu",
        "the seller posts one price per item for k identical items to intermediaries holding the buyers; "
        "excess demand rationed at random (intermediary-proof-mechanisms, Definition 7)",
        (Param("distribution", f"a regular law's spec string, every buyer's ({ACCEPTED_SPECS})", read_spec),
         Param("buyers", "a whole number >= 1 of buyers", read_int(1)),
         Param("items", "a whole number >= 1 of identical items", read_int(1)),
         Param("partition", "\"monopsony\", \"competition\", \"even:M\" (M contiguous blocks of sizes "
               "differing by at most one) or a partition of buyers 0..n-1 like \"0,1|2\"", read_partition,
               "monopsony"),
         Param("utility", f"the intermediaries' utility model: {', '.join(map(shown, UTILITY_MODELS))}",
               read_choice(*UTILITY_MODELS), "surplus"),
         Param("menu", "\"intermediary-proof\" (p_R = E[v(1, ceil(n/k))]), \"best\" (the best price on this "
               "partition) or a price >= 0", read_menu, "intermediary-proof"),
         Param("evaluator", "\"abm\" (Mesa agents) or \"mc\" (vectorized Monte Carlo)",
               read_choice("abm", "mc"), "abm")),
        QUANTITIES, run, check),
}
