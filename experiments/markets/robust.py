"""Selling without knowing the value distribution as an experiment kind (robust mechanisms thesis).

``robust``: a seller knows only that values lie in [0, ``upper``] and, in Chapter 1, that every
bidder's mean is at least ``mean`` (correlations allowed); in Chapter 2 it sells one buyer one item
per entry of ``costs`` at those costs. It runs ``mechanism`` (a rule of
:func:`agora.market.robust.solver.choose_mechanism`: the optimal highest-bidder lottery of
Theorem 1.5.3, paid upfront or on winning, the best second-price reserve of Theorem 1.5.2, the
random-reserve auction of Chapter 3, Vickrey, the random posted price of Theorem 2.3.1 or the
deterministic price of Theorem 2.4.1). Nature (``adversary``) draws every step's values: the
thesis' worst case for that mechanism (``"worst-case"``: :func:`agora.models.robust_model.worst_nature`)
or independent draws from a named law per bidder (or item) within the seller's knowledge.

One step is one round, played by Mesa agents (``evaluator = "abm"``:
:class:`agora.models.robust_model.RobustMarketModel`) or drawn with every other round at once
(``"mc"``: :func:`agora.market.robust.evaluation.monte_carlo`'s vectorized rounds). Each step
records the seller's revenue ``seller_revenue``, the ``regret`` (full-information profit minus profit) and
whether it sold (``sale``); the run's row holds their means and standard errors beside the
mechanism's worst-case value in closed form (``revenue_worst_case`` with a mean bound,
``regret_worst_case`` otherwise; the ``objective`` says which) and, against the worst-case
adversary, the exact expectations ``exact_seller_revenue`` and ``exact_regret`` integrated over nature's
law (:func:`agora.market.robust.evaluation.exact`).
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
    rounds_output,
    stepped_columns,
)
from agora.market.distributions import parse_spec
from agora.market.names import ACCEPTED_SPECS
from agora.market.robust.adversaries import Independent
from agora.market.robust.evaluation import exact, is_pricing
from agora.market.robust.mechanisms import (
    DeterministicPrices,
    HighestBidderLottery,
    MarkovSet,
    RandomPostedPrice,
    RandomReserveAuction,
    SecondPriceReserve,
    spa_worst_case_revenue,
)
from agora.market.robust.solver import AUCTION_RULES, NEEDS_MEAN, PRICING_RULES, Knowledge, choose_mechanism
from agora.models.robust_model import RobustMarketModel, worst_nature

QUANTITIES = ("seller_revenue", "regret", "sale")
WORST_CASE = "worst-case"
MAX_COLUMNS = 16  # bidders, or items of one buyer


def read_optional_number(value) -> float | None:
    """None (not given) or a finite number >= 0."""
    return None if value is None else read_number(value)


def read_costs(value) -> list[float] | None:
    """A nonempty list of at most MAX_COLUMNS finite costs >= 0, one per item (Chapter 2)."""
    if not isinstance(value, list) or not value or len(value) > MAX_COLUMNS:
        raise ValueError(f"not a list of 1 to {MAX_COLUMNS} costs")
    return [read_number(c) for c in value]


def read_upper(value) -> float:
    upper = read_number(value)
    if upper <= 0:
        raise ValueError("not a finite number > 0")
    return upper


def read_adversary(value):
    """``"worst-case"`` or a list of value laws, one per bidder (or item)."""
    if value == WORST_CASE:
        return value
    if not isinstance(value, list) or not value or not all(isinstance(s, str) for s in value):
        raise ValueError(f"not \"{WORST_CASE}\" nor a nonempty list of spec strings")
    return [parse_spec(s).spec for s in value]


def bidders_of(params: Mapping) -> int:
    """The bidders given, or by default 1 for a posted price and 2 for an auction."""
    if params["bidders"] is not None:
        return params["bidders"]
    return 1 if params["mechanism"] in PRICING_RULES else 2


def columns_of(params: Mapping) -> int:
    """Values per round: one per bidder in an auction, one per item selling to one buyer."""
    if params["mechanism"] in PRICING_RULES:
        return len(params["costs"] or [0.0])
    return bidders_of(params)


def check(params: Mapping) -> None:
    mech, mean, upper, costs = params["mechanism"], params["mean"], params["upper"], params["costs"]
    pricing = mech in PRICING_RULES
    if pricing and bidders_of(params) != 1:
        raise ParamError("bidders", f"{mech!r} sells to one buyer (Chapter 2); accepted: 1")
    if not pricing and bidders_of(params) < 2:
        raise ParamError("bidders", f"{mech!r} is an auction; accepted: a whole number >= 2")
    if pricing and mean is not None:
        raise ParamError("mean", f"{mech!r} (Chapter 2) knows only the range; accepted: no mean")
    if mech == "random-reserve" and mean is not None:  # Chapter 3: its worst case (3.6) puts the others at 0
        raise ParamError("mean", f"{mech!r} (Chapter 3) knows only the range; accepted: no mean")
    if not pricing and costs is not None:
        raise ParamError("costs", f"{mech!r} is an auction without costs; accepted: no costs, or a mechanism "
                         f"among {', '.join(PRICING_RULES)}")
    if mech in NEEDS_MEAN and mean is None:
        raise ParamError("mean", f"{mech!r} needs a bound on the mean value; accepted: 0 < mean < upper")
    if mean is not None and not 0 < mean < upper:
        raise ParamError("mean", f"not strictly between 0 and upper = {upper:g}")
    if params["evaluator"] == "abm" and pricing and len(costs or [0.0]) > 1:
        raise ParamError("evaluator", "the Mesa seller sells one item; accepted: \"mc\" for several costs")
    check_adversary(params)


def check_adversary(params: Mapping) -> None:
    """A named law per column, each supported in [0, upper] with mean >= the mean bound (within the
    seller's knowledge, so the worst-case value bounds what it yields)."""
    laws = params["adversary"]
    if laws == WORST_CASE:
        return
    if len(laws) != columns_of(params):
        raise ParamError("adversary", f"{len(laws)} laws for {columns_of(params)} values per round; "
                         f"accepted: \"{WORST_CASE}\" or {columns_of(params)} laws")
    for spec in laws:
        law = parse_spec(spec)
        low, high = float(law.ppf(0.0)), float(law.ppf(1.0))
        if low < 0 or high > params["upper"]:
            raise ParamError("adversary", f"{spec} is not supported in [0, upper = {params['upper']:g}]")
        if params["mean"] is not None and law.mean < params["mean"]:
            raise ParamError("adversary", f"{spec} has mean {law.mean:g} < mean = {params['mean']:g}")


def knowledge_of(params: Mapping) -> Knowledge:
    costs = params["costs"] or [0.0]
    return Knowledge(params["upper"], params["mean"], costs[0])


def mechanism_of(params: Mapping):
    """The seller's mechanism; several items get the per-item rule of Theorems 2.3.1 / 2.4.1."""
    costs = params["costs"] or [0.0]
    if len(costs) > 1:
        upper = [params["upper"]] * len(costs)
        if params["mechanism"] == "random-price":
            return RandomPostedPrice.of(upper, costs)
        return DeterministicPrices.best(upper, costs)
    return choose_mechanism(knowledge_of(params), params["mechanism"], bidders_of(params))


def nature_of(params: Mapping, mechanism):
    if params["adversary"] == WORST_CASE:
        return worst_nature(mechanism, knowledge_of(params), columns_of(params))
    return Independent(tuple(params["adversary"]))


def worst_case(params: Mapping, mechanism) -> tuple[str, float]:
    """The objective and the mechanism's worst-case value over the seller's knowledge, in closed form:
    revenue with a mean bound (Theorem 1.5.3 for the lottery, Propositions 1.5.5-1.5.7 for a second-price
    reserve), regret with only the range (v̄/e for the random reserve, Proposition 3.3.2; v̄ for Vickrey,
    one bidder at v̄ the rest at 0; (1/e) sum (v̄_j - c_j)+, Theorem 2.3.1; max(p - c, v̄ - p) per item,
    Theorem 2.4.1)."""
    upper = params["upper"]
    if params["mean"] is not None:
        if isinstance(mechanism, HighestBidderLottery):
            return "revenue", mechanism.worst_case_revenue
        ambiguity = MarkovSet(bidders_of(params), params["mean"], upper)
        return "revenue", spa_worst_case_revenue(mechanism.reserve, ambiguity)
    if isinstance(mechanism, (RandomReserveAuction, RandomPostedPrice)):
        return "regret", mechanism.worst_case_regret
    if isinstance(mechanism, SecondPriceReserve):
        return "regret", upper
    return "regret", mechanism.worst_case_regret_of([upper] * len(mechanism.prices))


def robust_model(params: Mapping, nature, rng) -> RobustMarketModel:
    """The Mesa market of ``params``: the robust seller, its bidders (or one buyer) and ``nature``."""
    protocol = "seller-first" if params["mechanism"] in PRICING_RULES else "auction"
    return RobustMarketModel(protocol, bidders_of(params), knowledge_of(params), params["mechanism"], nature,
                             rng=rng)


def abm_steps(params: Mapping, nature, steps: int, rng) -> dict[str, np.ndarray]:
    """``steps`` rounds of the Mesa market: the robust seller, its bidders (or buyer) and nature."""
    return stepped_columns(robust_model(params, nature, rng), steps,
                           {"seller_revenue": "revenue", "regret": "regret", "sale": "sale"})


def mc_steps(mechanism, nature, steps: int, rng) -> dict[str, np.ndarray]:
    """``steps`` rounds at once: nature's profiles and the mechanism's randomness, vectorized."""
    values = nature.sample(rng, steps)
    noise = mechanism.draw(rng, steps)
    if is_pricing(mechanism):
        c = np.array(mechanism.cost)
        sold = mechanism.sold(values, noise)
        revenue = np.where(sold, noise, 0.0).sum(axis=1)
        profit = revenue - (sold * c).sum(axis=1)
        return {"seller_revenue": revenue, "regret": np.clip(values - c, 0.0, None).sum(axis=1) - profit,
                "sale": sold.any(axis=1).astype(float)}
    out = mechanism.outcome(values, noise)
    return {"seller_revenue": out.revenue, "regret": values.max(axis=1) - out.revenue,
            "sale": np.asarray(out.delivered, float)}


def run(params: Mapping, steps: int, rng: np.random.Generator) -> RunOutput:
    mechanism = mechanism_of(params)
    nature = nature_of(params, mechanism)
    objective, value = worst_case(params, mechanism)
    known = exact(mechanism, nature) if params["adversary"] == WORST_CASE else {}
    cols = (abm_steps(params, nature, steps, rng) if params["evaluator"] == "abm"
            else mc_steps(mechanism, nature, steps, rng))

    row = {"objective": objective, "revenue_worst_case": value if objective == "revenue" else math.nan,
           "regret_worst_case": value if objective == "regret" else math.nan,
           "exact_seller_revenue": float(known.get("revenue", math.nan)),
           "exact_regret": float(known.get("regret", math.nan)), "adversary_law": nature.name}
    return rounds_output(cols, steps, row)


MARKETS = {
    "robust": MarketKind(
        "robust",
        "a seller who knows only the range of values (and maybe a bound on their means) runs a robust "
        "mechanism against nature's worst case or a named law (robust mechanisms thesis, Chapters 1-3)",
        (Param("bidders", "a whole number: >= 2 for an auction (default 2), 1 for a posted price (the default)",
               read_int(1), None),
         Param("mean", "a bound on every bidder's mean, 0 < mean < upper (Chapter 1); none for Chapter 2",
               read_optional_number, None),
         Param("costs", f"a list of 1 to {MAX_COLUMNS} item costs >= 0, one buyer (Chapter 2)", read_costs, None),
         Param("upper", "the upper end of the value range, a number > 0", read_upper, 1.0),
         Param("mechanism", f"one of {', '.join(AUCTION_RULES + PRICING_RULES)}",
               read_choice(*AUCTION_RULES, *PRICING_RULES), "lottery"),
         Param("adversary", f"\"{WORST_CASE}\" (the thesis' worst case for the mechanism) or a list of laws, "
               f"one per bidder or item ({ACCEPTED_SPECS})", read_adversary, WORST_CASE),
         Param("evaluator", "\"abm\" (Mesa seller, bidders and nature) or \"mc\" (vectorized rounds)",
               read_choice("abm", "mc"), "abm")),
        QUANTITIES, run, check),
}
