"""The single-item markets of monopolist-intermediary as experiment kinds (Sections 3-5).

Three protocols, each run either by the agent-based model (``evaluator = "abm"``:
:class:`agora.models.market_model.MarketModel`, Mesa agents exchanging messages, one round per step) or
by the vectorized Monte Carlo rounds of :mod:`agora.market.single_item.montecarlo` (``evaluator = "mc"``, the
same market with the same strategies, every step at once). With ``exact = true`` the per-run
row also holds the exact expected outcome (quadrature) at the prices played in the last step,
so a simulated mean can be read beside its expectation.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from functools import lru_cache
from types import MappingProxyType

import numpy as np

from agora.agents import BestCommitment, BestResponseDynamics
from agora.experiments.markets import (
    MarketKind,
    Param,
    ParamError,
    RunOutput,
    read_bool,
    read_choice,
    read_int,
    read_number,
)
from agora.market.demand import DemandError, competition, from_partition, monopsony, parse_partition
from agora.market.distributions import ACCEPTED_SPECS, parse_spec
from agora.market.single_item.intermediary_first import best_commitment, evaluate_right_auction, seller_best_response
from agora.market.single_item.montecarlo import Rounds, intermediary_first_rounds, seller_first_rounds, ties_possible
from agora.market.single_item.right_auctions import RIGHT_AUCTIONS, PostedRightPrice, RightAuction
from agora.market.single_item.scores import VirtualScore
from agora.market.single_item.seller_first import best_seller_price, evaluate_posted_price
from agora.market.single_item.seller_mechanisms import Menu
from agora.market.single_item.simultaneous import PricingGame
from agora.market.single_item.virtual_law import VirtualMaxLaw
from agora.models.market_model import MarketModel
from agora.protocols.seller_first import ProtocolError

QUANTITIES = ("seller_price", "intermediary_price", "seller_revenue", "intermediary_revenue",
              "total_revenue", "welfare", "sale", "winner")
AVERAGED = ("seller_revenue", "intermediary_revenue", "total_revenue", "welfare", "sale")
EXACT = ("seller_revenue", "intermediary_revenue", "welfare", "sale")


# ------------------------------------------------------------------ parameter readers
def read_bidders(value) -> list[str]:
    """One spec string, or a list of them; each read by :func:`parse_spec` and regular (no ironing)."""
    specs = [value] if isinstance(value, str) else value
    if not isinstance(specs, list) or not specs or not all(isinstance(s, str) for s in specs):
        raise ValueError("not a spec string or a nonempty list of them")
    laws = [parse_spec(s) for s in specs]
    for law in laws:
        law.require_regular()
    return [law.spec for law in laws]


def read_n(value):
    return None if value is None else read_int(1)(value)


def read_demand(value) -> str:
    if value in ("monopsony", "competition"):
        return value
    if not isinstance(value, str):
        raise ValueError("not a string")
    parse_partition(value)
    return value


def read_seller_first_seller(value):
    return value if value == "stackelberg" else read_number(value)


def read_commitment(value):
    """'best', a posted price for the right, or {class = NAME, parameter = X}."""
    if value == "best":
        return value
    if isinstance(value, dict):
        if set(value) != {"class", "parameter"} or value["class"] not in RIGHT_AUCTIONS:
            raise ValueError("a table needs exactly class (a commitment class) and parameter")
        return {"class": value["class"], "parameter": read_number(value["parameter"])}
    return read_number(value)


def read_classes(value) -> list[str]:
    if not isinstance(value, list) or not value or any(c not in RIGHT_AUCTIONS for c in value):
        raise ValueError("not a nonempty list of commitment classes")
    return list(value)


def read_dynamics_price(value):
    return value if value == "best-response" else read_number(value)


def common_params() -> tuple[Param, ...]:
    return (
        Param("bidders", f"a regular law's spec string or a list of them ({ACCEPTED_SPECS})", read_bidders),
        Param("n", "a whole number >= 1 of bidders; with it, bidders is one spec (repeated) or n specs",
              read_n, None),
        Param("demand", "\"monopsony\", \"competition\" or a partition like \"0,1|2\"", read_demand,
              "monopsony"),
        Param("evaluator", "\"abm\" (Mesa agents) or \"mc\" (vectorized Monte Carlo)",
              read_choice("abm", "mc"), "abm"),
        Param("exact", "true or false (add exact expectations at the last step's prices)", read_bool, True),
    )


# ------------------------------------------------------------------ building blocks
def bidders_of(params: Mapping) -> list[str]:
    """The bidders' specs, with ``n`` applied."""
    specs, n = params["bidders"], params["n"]
    if n is None:
        return list(specs)
    if len(specs) == 1:
        return specs * n
    if len(specs) != n:
        raise ParamError("n", f"n = {n} but {len(specs)} bidder specs were given; give one spec or n")
    return list(specs)


def demand_of(params: Mapping, n: int):
    demand = params["demand"]
    if demand == "monopsony":
        return monopsony(n)
    if demand == "competition":
        return competition(n)
    return from_partition(parse_partition(demand, n), n)


def right_auction(value) -> RightAuction:
    if isinstance(value, dict):
        return RIGHT_AUCTIONS[value["class"]](value["parameter"])
    return PostedRightPrice(float(value))


def model_arguments(protocol: str, params: Mapping) -> dict:
    """Keyword arguments of :class:`MarketModel` for validated ``params``."""
    bidders = bidders_of(params)
    kwargs = {"bidders": bidders, "protocol": protocol, "demand": demand_of(params, len(bidders))}
    if protocol == "seller-first":
        kwargs["seller"] = params["seller"]
    elif protocol == "intermediary-first":
        c = params["intermediary"]
        kwargs["intermediary"] = BestCommitment(params["classes"]) if c == "best" else right_auction(c)
    else:
        for side in ("seller", "intermediary"):
            kwargs[side] = BestResponseDynamics(params["start"]) if params[side] == "best-response" else params[side]
    return kwargs


def checker(protocol: str):
    """Build the market once (no step): the model rejects what it cannot run."""
    def check(params: Mapping) -> None:
        try:
            demand_of(params, len(bidders_of(params)))
            MarketModel(**model_arguments(protocol, params), rng=0)
        except (DemandError, ProtocolError) as err:
            raise ParamError("demand", str(err)) from None
    return check


def run_row(steps: Mapping[str, np.ndarray], exact: Mapping[str, float] | None) -> dict:
    """Means over the steps, the last step's prices, and the exact expectations if asked."""
    row = {"steps": len(steps["sale"]),
           "seller_price": float(steps["seller_price"][-1]),
           "intermediary_price": float(steps["intermediary_price"][-1])}
    row.update({q: float(np.mean(steps[q])) for q in AVERAGED})
    if exact is not None:
        row.update({f"exact_{q}": float(exact[q]) for q in EXACT})
        row["exact_total_revenue"] = row["exact_seller_revenue"] + row["exact_intermediary_revenue"]
    return row


def from_rounds(r: Rounds, seller_price, intermediary_price) -> dict[str, np.ndarray]:
    steps = len(r.winner)
    return {"seller_price": np.broadcast_to(np.asarray(seller_price, float), steps).copy(),
            "intermediary_price": np.broadcast_to(np.asarray(intermediary_price, float), steps).copy(),
            "seller_revenue": r.seller_revenue, "intermediary_revenue": r.intermediary_revenue,
            "total_revenue": r.seller_revenue + r.intermediary_revenue, "welfare": r.welfare,
            "sale": r.delivered.astype(bool), "winner": r.winner.astype(np.int64)}


def draw_values(bidders, steps: int, rng: np.random.Generator) -> np.ndarray:
    return np.column_stack([b.rvs(steps, rng) for b in bidders])


# ------------------------------------------------------------------ exact expectations
# Kept per process, keyed by the bidders' specs and the prices: the seeds of a sweep point, which a
# worker runs one after another in a batch, share one quadrature (the same numbers, computed once).
@lru_cache(maxsize=256)
def exact_seller_first(specs: tuple[str, ...], price: float) -> Mapping[str, float]:
    """Every party's expectation when the seller posts ``price`` (Theorem 3.1, by quadrature)."""
    sol = evaluate_posted_price(VirtualMaxLaw(tuple(parse_spec(s) for s in specs)), price)
    return MappingProxyType({"seller_revenue": sol.seller_revenue, "intermediary_revenue": sol.intermediary_revenue,
                             "welfare": sol.welfare, "sale": sol.sale_probability})


@lru_cache(maxsize=256)
def exact_right_sale(specs: tuple[str, ...], auction: RightAuction, price: float) -> Mapping[str, float]:
    """Every party's expectation when the right is sold by ``auction`` and the seller posts ``price``."""
    out = evaluate_right_auction([parse_spec(s) for s in specs], auction, price)
    return MappingProxyType({"seller_revenue": out.seller_revenue, "intermediary_revenue": out.intermediary_revenue,
                             "welfare": out.welfare, "sale": out.sale_probability})


@lru_cache(maxsize=64)
def stackelberg_price(specs: tuple[str, ...]) -> float:
    """The seller's Stackelberg price against the shifted Myerson auction (Section 3), once per market."""
    return best_seller_price(VirtualMaxLaw(tuple(parse_spec(s) for s in specs))).price


# ------------------------------------------------------------------ agent-based runs
def run_abm(protocol: str, params: Mapping, steps: int, rng: np.random.Generator) -> RunOutput:
    """Step :class:`MarketModel` ``steps`` times; its DataCollector gives the per-step rows."""
    model = MarketModel(**model_arguments(protocol, params), rng=rng)
    for _ in range(steps):
        model.step()
    df = model.datacollector.get_model_vars_dataframe()
    cols = {q: df[q].to_numpy(float) for q in QUANTITIES if q not in ("sale", "winner")}
    cols["sale"] = df["sale"].to_numpy(bool)
    cols["winner"] = df["winner"].fillna(-1).to_numpy(np.int64)
    exact = None
    if params["exact"]:
        specs = tuple(bidders_of(params))
        price = float(cols["seller_price"][-1])
        exact = (exact_seller_first(specs, price) if protocol == "seller-first"
                 else exact_right_sale(specs, model.intermediaries[0].auction, price))
    return RunOutput(cols, run_row(cols, exact))


# ------------------------------------------------------------------ Monte Carlo runs
def mc_seller_first(params: Mapping, steps: int, rng: np.random.Generator) -> RunOutput:
    """Seller-first rounds at the seller's price (fixed, or Stackelberg), all steps at once."""
    specs = tuple(bidders_of(params))
    bidders = [parse_spec(b) for b in specs]
    price = stackelberg_price(specs) if params["seller"] == "stackelberg" else params["seller"]
    values = draw_values(bidders, steps, rng)
    tie = ties_possible([VirtualScore(b) for b in bidders])
    rounds = seller_first_rounds(bidders, Menu.posted(price), values,
                                 priority=rng.random(values.shape) if tie else None)
    cols = from_rounds(rounds, price, math.nan)
    exact = exact_seller_first(specs, price) if params["exact"] else None
    return RunOutput(cols, run_row(cols, exact))


def right_sale_steps(bidders, pairs: list[tuple[float, RightAuction]], rng) -> dict[str, np.ndarray]:
    """Vectorized right-sale rounds, step t at seller price and commitment ``pairs[t]``."""
    values = draw_values(bidders, len(pairs), rng)
    priority = rng.random(values.shape)
    parts = {}
    for pair in dict.fromkeys(pairs):
        rows = np.array([i for i, p in enumerate(pairs) if p == pair])
        price, auction = pair
        tie = ties_possible(auction.scores(bidders, price))
        r = intermediary_first_rounds(bidders, auction, price, values[rows],
                                      priority=priority[rows] if tie else None)
        parts[pair] = (rows, from_rounds(r, price, auction.parameter))
    cols = {}
    for q in QUANTITIES:
        first = next(iter(parts.values()))[1][q]
        out = np.empty(len(pairs), dtype=first.dtype)
        for rows, c in parts.values():
            out[rows] = c[q]
        cols[q] = out
    return cols


def mc_intermediary_first(params: Mapping, steps: int, rng: np.random.Generator) -> RunOutput:
    """Right-sale rounds under the commitment (fixed, or best within the classes) and the
    seller's best response to it (Theorem 4.1), all steps at once."""
    bidders = [parse_spec(b) for b in bidders_of(params)]
    if params["intermediary"] == "best":
        optima = [best_commitment(bidders, RIGHT_AUCTIONS[c]) for c in params["classes"]]
        auction = max(optima, key=lambda o: o.outcome.intermediary_revenue).commitment
    else:
        auction = right_auction(params["intermediary"])
    price = seller_best_response(bidders, auction).price
    cols = right_sale_steps(bidders, [(price, auction)] * steps, rng)
    exact = exact_right_sale(tuple(bidders_of(params)), auction, price) if params["exact"] else None
    return RunOutput(cols, run_row(cols, exact))


def price_path(params: Mapping, steps: int, bidders) -> list[tuple[float, float]]:
    """Simultaneous play: (seller, intermediary) prices per step, each side best-responding
    to the other's price of the step before (``start`` before the first), as the agents do."""

    game = PricingGame(bidders)
    best = {}

    def respond(setting, other):
        if setting != "best-response":
            return setting
        if other not in best:
            best[other] = game.best_response(other).price
        return best[other]

    ps, pi = respond(params["seller"], params["start"]), respond(params["intermediary"], params["start"])
    path = [(ps, pi)]
    for _ in range(steps - 1):
        ps, pi = respond(params["seller"], pi), respond(params["intermediary"], ps)
        path.append((ps, pi))
    return path


def mc_simultaneous(params: Mapping, steps: int, rng: np.random.Generator) -> RunOutput:
    bidders = [parse_spec(b) for b in bidders_of(params)]
    path = price_path(params, steps, bidders)
    cols = right_sale_steps(bidders, [(ps, PostedRightPrice(pi)) for ps, pi in path], rng)
    ps, pi = path[-1]
    exact = exact_right_sale(tuple(bidders_of(params)), PostedRightPrice(pi), ps) if params["exact"] else None
    return RunOutput(cols, run_row(cols, exact))


MONTE_CARLO = {"seller-first": mc_seller_first, "intermediary-first": mc_intermediary_first,
               "simultaneous": mc_simultaneous}


def runner(protocol: str):
    def run(params: Mapping, steps: int, rng: np.random.Generator) -> RunOutput:
        if params["evaluator"] == "mc":
            return MONTE_CARLO[protocol](params, steps, rng)
        return run_abm(protocol, params, steps, rng)
    return run


def kind(protocol: str, description: str, own: tuple[Param, ...]) -> MarketKind:
    return MarketKind(protocol, description, common_params() + own, QUANTITIES, runner(protocol),
                      checker(protocol))


MARKETS = {
    "seller-first": kind(
        "seller-first",
        "the seller posts a price; the intermediary best-responds with the shifted Myerson auction (Section 3)",
        (Param("seller", "\"stackelberg\" or a posted price >= 0", read_seller_first_seller, "stackelberg"),)),
    "intermediary-first": kind(
        "intermediary-first",
        "the intermediary commits to an auction for the right; the seller best-responds (Section 4)",
        (Param("intermediary", "\"best\", a posted price >= 0 for the right, or {class = "
               f"one of {', '.join(RIGHT_AUCTIONS)}, parameter = X >= 0}}", read_commitment, "best"),
         Param("classes", f"a nonempty list of {', '.join(RIGHT_AUCTIONS)} (searched when intermediary "
               "is \"best\")", read_classes, ["posted_price"]))),
    "simultaneous": kind(
        "simultaneous",
        "both post prices at once, each best-responding to the other's last price or fixed (Section 5)",
        (Param("seller", "\"best-response\" or a posted price >= 0", read_dynamics_price, "best-response"),
         Param("intermediary", "\"best-response\" or a price >= 0 for the right", read_dynamics_price,
               "best-response"),
         Param("start", "a price >= 0 each side assumes the other posted before the first step",
               read_number, 0.0))),
}
