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

``k-item-auction``: the same buyers and intermediaries face the (k+1)-th-price auction with a reserve
(``reserve``: Myerson's phi^-1(0) or a given one); single-buyer intermediaries bid their buyer's
score, one holding several best-responds in its number of bids
(:class:`agora.market.k_items.auction.QuantityBestResponse`). Played by Mesa agents under
:class:`agora.protocols.posted_menu.KItemAuction` or by
:func:`agora.market.k_items.montecarlo.auction_rounds`; the row holds the mean revenue and units sold
beside the exact revenue where the paper gives it (competition, Proposition 1; monopsony,
Proposition 2) and Myerson's revenue under competition.
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
    means_and_errors,
    read_choice,
    read_int,
    read_number,
    shown,
)
from agora.experiments.markets.selection import read_spec
from agora.market.demand import DemandError, Partition, from_partition, parse_partition, validate_partition
from agora.market.distributions import ACCEPTED_SPECS, parse_spec
from agora.market.k_items.mechanisms import ItemMenu, UniformPriceAuction, guarantee, ipm_price
from agora.market.k_items.montecarlo import auction_rounds, menu_rounds
from agora.market.k_items.solver import (
    best_posted_price,
    evaluate_posted,
    monopsony_auction_revenue,
    myerson_auction_revenue,
)
from agora.market.k_items.utility import utility_model
from agora.market.names import UTILITY_MODELS
from agora.models.market_model import MarketModel
from agora.protocols.posted_menu import KItemAuction, PostedMenu

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
           **means_and_errors(cols, AVERAGED),
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


def read_reserve(value):
    return value if value == "myerson" else read_number(value)


def auction_of(params: Mapping) -> UniformPriceAuction:
    """The (k+1)-th-price auction with reserve phi^-1(0) (``"myerson"``, Proposition 1) or the one given."""
    if params["reserve"] == "myerson":
        return UniformPriceAuction.myerson(params["distribution"], params["items"])
    return UniformPriceAuction(params["items"], params["reserve"])


def auction_exact(params: Mapping, blocks: Partition) -> float:
    """The revenue of Myerson's reserve where the paper gives it: under competition (every block one
    buyer, surplus-maximizing) sum_{j <= k} E[max(phi(v(j, n)), 0)] (Proposition 1); under monopsony
    r E[min(D, k)] (Proposition 2); nan on other structures, reserves or utility models."""
    if params["reserve"] != "myerson":
        return math.nan
    dist, n, k = params["distribution"], params["buyers"], params["items"]
    if len(blocks) == n and params["utility"] == "surplus":
        return myerson_auction_revenue(dist, n, k)
    if len(blocks) == 1:
        return monopsony_auction_revenue(dist, n, k, params["utility"])
    return math.nan


def auction_abm_steps(params: Mapping, blocks: Partition, auction: UniformPriceAuction, steps: int,
                      rng) -> dict[str, np.ndarray]:
    """Mesa buyers and intermediaries under :class:`KItemAuction`, one round per step."""
    n = params["buyers"]
    model = MarketModel([params["distribution"]] * n, protocol=KItemAuction(auction),
                        demand=from_partition(blocks, n), utility=params["utility"], rng=rng)
    for _ in range(steps):
        model.step()
    df = model.rounds()
    return {"seller_revenue": df["seller_revenue"].to_numpy(float), "items_sold": df["sale"].to_numpy(float),
            "seller_price": df["seller_price"].to_numpy(float)}


def auction_mc_steps(params: Mapping, blocks: Partition, auction: UniformPriceAuction, steps: int,
                     rng) -> dict[str, np.ndarray]:
    """Every round at once: the intermediaries' best-response bids on vectorized value draws."""
    dist = parse_spec(params["distribution"])
    r = auction_rounds(dist.rvs((steps, params["buyers"]), rng), blocks, auction,
                       utility_model(params["utility"], dist), dist, rng)
    sold = r.items_sold
    return {"seller_revenue": r.revenue, "items_sold": sold,
            "seller_price": np.divide(r.revenue, sold, out=np.zeros(steps), where=sold > 0)}


def auction_run(params: Mapping, steps: int, rng: np.random.Generator) -> RunOutput:
    blocks = blocks_of(params)
    auction = auction_of(params)
    play = auction_abm_steps if params["evaluator"] == "abm" else auction_mc_steps
    cols = play(params, blocks, auction, steps, rng)
    averaged = ("seller_revenue", "items_sold")
    row = {"steps": steps, "reserve": auction.reserve, "intermediaries": len(blocks),
           **means_and_errors(cols, averaged),
           "exact_seller_revenue": auction_exact(params, blocks),
           "revenue_under_competition": myerson_auction_revenue(params["distribution"], params["buyers"],
                                                                params["items"])}
    return RunOutput(cols, row)


_SHARED = (Param("distribution", f"a regular law's spec string, every buyer's ({ACCEPTED_SPECS})", read_spec),
           Param("buyers", "a whole number >= 1 of buyers", read_int(1)),
           Param("items", "a whole number >= 1 of identical items", read_int(1)),
           Param("partition", "\"monopsony\", \"competition\", \"even:M\" (M contiguous blocks of sizes "
                 "differing by at most one) or a partition of buyers 0..n-1 like \"0,1|2\"", read_partition,
                 "monopsony"),
           Param("utility", f"the intermediaries' utility model: {', '.join(map(shown, UTILITY_MODELS))}",
                 read_choice(*UTILITY_MODELS), "surplus"))
_EVALUATOR = Param("evaluator", "\"abm\" (Mesa agents) or \"mc\" (vectorized Monte Carlo)",
                   read_choice("abm", "mc"), "abm")

MARKETS = {
    "posted-menu": MarketKind(
        "posted-menu",
        "the seller posts one price per item for k identical items to intermediaries holding the buyers; "
        "excess demand rationed at random (intermediary-proof-mechanisms, Definition 7)",
        (*_SHARED,
         Param("menu", "\"intermediary-proof\" (p_R = E[v(1, ceil(n/k))]), \"best\" (the best price on this "
               "partition) or a price >= 0", read_menu, "intermediary-proof"),
         _EVALUATOR),
        QUANTITIES, run, check),
    "k-item-auction": MarketKind(
        "k-item-auction",
        "the (k+1)-th-price auction with a reserve for k identical items, intermediaries holding several "
        "buyers best-responding in the number of bids (intermediary-proof-mechanisms, Propositions 1-2)",
        (*_SHARED,
         Param("reserve", "\"myerson\" (phi^-1(0), Proposition 1) or a reserve >= 0", read_reserve, "myerson"),
         _EVALUATOR),
        ("seller_price", "seller_revenue", "items_sold"), auction_run, check),
}
