"""Selection runs as experiment kinds: one run is repeated play from one start, classified at its end.

* ``learning``: the simultaneous pricing game of monopolist-intermediary, Section 5
  (:mod:`agora.market.learning.selection`): ``bidders``, a price grid (``points``, ``grid``), a rule per side,
  the starting grid indices;
* ``learning-k-items``: k items, two intermediaries (:mod:`agora.market.learning.k_selection`):
  ``distribution``, ``blocks``, ``items``, the grid (``points``, ``upper``), a fixed
  ``seller_price`` or none, a rule for the seller and one for both intermediaries, the starts.

A rule is a table: ``{rule = "hedge", eta = 5.0}`` (names: :data:`agora.market.learning.rules.RULES`;
the other keys are the rule's parameters). The spec's ``steps`` are the rounds. Each run's
random numbers come from its own ``SeedSequence`` (the spec's seeds), split exactly as a
study splits them, so a sweep over the starts with one seed per point and ``seeds.base`` =
the study's seed gives the study's endings (:func:`agora.experiments.selection.run_selection`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, fields

import numpy as np

from agora.experiments.limits import Cost
from agora.experiments.markets import (
    MarketKind,
    Param,
    ParamError,
    RunOutput,
    Size,
    read_choice,
    read_int,
    read_number,
    read_positive,
)
from agora.experiments.markets.single_item import read_bidders
from agora.market.distributions import ACCEPTED_SPECS, parse_spec
from agora.market.learning.dynamics import Joint, Play
from agora.market.learning.k_selection import KItemMarket, KTask, run_k_task
from agora.market.learning.k_selection import classify as k_classify
from agora.market.learning.rules import RULES
from agora.market.learning.selection import GRID_KINDS, Market, Task, classify, run_play

RULE_NAMES = {cls: name for name, cls in RULES.items()}
RULE_ACCEPTED = ("a table {rule = NAME, PARAMETER = VALUE, ...} with NAME one of "
                 f"{', '.join(RULES)} and that rule's parameters")


def read_rule(value) -> dict:
    """A rule table, checked by building the rule; returned as a plain dict with every parameter."""
    if not isinstance(value, dict) or value.get("rule") not in RULES:
        raise ValueError("not a table naming a known rule")
    cls = RULES[value["rule"]]
    known = [f.name for f in fields(cls)]
    extra = sorted(set(value) - {"rule", *known})
    if extra:
        raise ValueError(f"unknown parameter {extra[0]!r} of {value['rule']}; accepted: "
                         f"{', '.join(known) or 'none'}")
    return rule_table(cls(**{k: v for k, v in value.items() if k != "rule"}))


def rule_table(rule) -> dict:
    """The table that names ``rule`` in a spec."""
    return {"rule": RULE_NAMES[type(rule)], **asdict(rule)}


def make_rule(table: Mapping):
    return RULES[table["rule"]](**{k: v for k, v in table.items() if k != "rule"})


def read_maybe_rule(value):
    return None if value == "same" else read_rule(value)


def read_blocks(value) -> list[int]:
    if not isinstance(value, list) or len(value) != 2 or not all(isinstance(b, int) and not isinstance(b, bool)
                                                                 and b >= 1 for b in value):
        raise ValueError("not two whole numbers >= 1")
    return list(value)


def read_spec(value) -> str:
    if not isinstance(value, str):
        raise ValueError("not a spec string")
    law = parse_spec(value)
    law.require_regular()
    return law.spec


def read_optional_price(value):
    return None if value == "learn" else read_number(value)


def read_fraction(value) -> float:
    x = read_number(value)
    if not 0 < x < 1:
        raise ValueError("not in (0, 1)")
    return x


def study_params() -> tuple[Param, ...]:
    return (Param("evaluator", "\"array\" (the array dynamics) or \"abm\" (Mesa learning agents; the same "
                  "prices round for round, slower)", read_choice("array", "abm"), "array"),
            Param("window", "a whole number >= 1 of final rounds that decide the ending", read_int(1), 200),
            Param("mixed_tol", "a number in (0, 1): relative regret up to which play counts as mixed",
                  read_fraction, 0.02))


# ------------------------------------------------------------------ single item, two sides
def single_market(params: Mapping) -> Market:
    return Market("spec", tuple(params["bidders"]), params["points"], params["grid"])


#: Peak bytes per cell of the points x points payoff tables (tracemalloc, 801-price grids): 57 for
#: uniform, exponential, pareto and point laws, 71 with a beta law among the bidders, 91 with one
#: truncated normal and 107 with three (their density and survival from scipy.special, 202 through
#: scipy.stats' generic truncnorm); seconds per cell at most 1.3e-6 (three truncated normals).
CELL_BYTES = {"truncnorm": 120.0, "beta": 80.0}
OTHER_CELL_BYTES = 64.0
CELL_SECONDS = 2e-6


def single_sizes(params: Mapping, steps: int) -> tuple[Size, Size]:
    """The grid (:func:`agora.market.learning.selection.discretize` holds points x points tables) and
    the run's steps (each bidder's value and the prices per step: 40 + 16 bidders bytes measured)."""
    per = max(CELL_BYTES.get(spec.split(":")[0], OTHER_CELL_BYTES) for spec in params["bidders"])
    shared = ("learning", tuple(params["bidders"]), params["points"], params["grid"])
    return (Size("points", params["points"], Cost(per, CELL_SECONDS, lambda n: n * n), low=3, shared=shared),
            step_size(steps, 64.0 + 24.0 * len(params["bidders"])))


def step_size(steps: int, per_step: float) -> Size:
    """One run's per-step arrays (memory only: the spec's runs x steps bound the time)."""
    return Size("steps", steps, Cost(per_step, 0.0), in_market=False)


def check_single(params: Mapping) -> None:
    for key in ("start_seller", "start_intermediary"):
        if params[key] >= params["points"]:
            raise ParamError(key, f"a grid index must be below points = {params['points']}")
    single_market(params).prices()


def agents_play(market: Market, seller, other, start, steps: int, seq) -> Play:
    """The run played by Mesa learning agents (:func:`agora.agents.learning.learning_model`), read back as a Play."""
    from agora.models.learning_models import learning_model

    model = learning_model(market, seller, other, start, steps, seq)
    for _ in range(steps):
        model.step()
    df = model.datacollector.get_model_vars_dataframe()
    _, mg = market.discretized()
    return Play(np.searchsorted(mg.row_actions, df["seller_price"].to_numpy(float)),
                np.searchsorted(mg.col_actions, df["intermediary_price"].to_numpy(float)),
                df["sale"].to_numpy(bool), model.seller.strategy.learner, model.intermediaries[0].strategy.learner)


def run_single(params: Mapping, steps: int, rng: np.random.Generator) -> RunOutput:
    """One run of the pricing game; per step both prices and the sale; the run's row is its Ending.
    ``evaluator = "abm"`` plays it with Mesa agents (the same prices, round for round)."""
    market = single_market(params)
    seller = make_rule(params["seller"])
    other = make_rule(params["intermediary"]) if params["intermediary"] is not None else seller
    start = (params["start_seller"], params["start_intermediary"])
    game, mg = market.discretized()
    seq = rng.bit_generator.seed_seq
    if params["evaluator"] == "abm":
        p = agents_play(market, seller, other, start, steps, seq)
        ending = classify(p, game, mg, start, params["window"], params["mixed_tol"])
    else:
        ending, p = run_play(Task(market, seller, other, start, steps, params["window"], params["mixed_tol"], seq))
    return RunOutput({"seller_price": mg.row_actions[p.rows], "intermediary_price": mg.col_actions[p.cols],
                      "sale": p.sold}, asdict(ending))


# ------------------------------------------------------------------ k items, two intermediaries
def k_market(params: Mapping) -> KItemMarket:
    return KItemMarket("spec", params["distribution"], tuple(params["blocks"]), params["items"],
                       params["points"], params["upper"], params["seller_price"])


#: Seconds per float of :func:`k_words` (measured at most 3e-8 on 11- to 161-price grids).
WORD_SECONDS = 1e-7


def k_words(points: int, blocks, fixed: bool) -> float:
    """Peak floats held by :func:`agora.market.learning.k_selection.k_item_game` (measured by tracemalloc
    at 0.35 to 0.79 of this on 5- to 81-price grids with blocks of 1 to 3000 buyers): the S x P x P
    payoffs and a (b_2 + 1)-deep form (S = 1 with a fixed seller price, else P), each block's demand
    pmf on S x P prices, six (b_1 + 1) x (b_2 + 1) weight matrices, and a fixed part."""
    b1, b2 = blocks
    s = 1 if fixed else points
    return s * points * points * max(6, b2 + 4) + 16 * s * points * (b1 + b2 + 2) + 6 * (b1 + 1) * (b2 + 1) + 16384


def k_sizes(params: Mapping, steps: int) -> tuple[Size, Size, Size]:
    """The grid and the larger block, each with the other held fixed, and the run's steps (each buyer's
    value and priority per step, and what they make: 100 + 48 buyers bytes measured)."""
    points, blocks, fixed = params["points"], params["blocks"], params["seller_price"] is not None
    big = int(blocks[1] >= blocks[0])

    def widened(b: int) -> list[int]:
        return [b if i == big else x for i, x in enumerate(blocks)]

    shared = ("learning-k-items", params["distribution"], tuple(blocks), params["items"], points,
              params["upper"], params["seller_price"])
    return (Size("points", points, Cost(8.0, WORD_SECONDS, lambda n: k_words(n, blocks, fixed)), low=3,
                 shared=shared),
            Size("blocks", blocks[big], Cost(8.0, WORD_SECONDS, lambda b: k_words(points, widened(b), fixed)),
                 note=f"[{big}]", shared=shared),
            step_size(steps, 128.0 + 64.0 * sum(blocks)))


def check_k(params: Mapping) -> None:
    for key in ("start_seller", "start_first", "start_second"):
        if params[key] >= params["points"]:
            raise ParamError(key, f"a grid index must be below points = {params['points']}")
    if params["seller_price"] is not None and params["start_seller"] != 0:
        raise ParamError("start_seller", "with a fixed seller_price the seller has one price: start_seller = 0")
    k_market(params)


def k_agents_play(market: KItemMarket, rules, start, steps: int, seq) -> tuple[Joint, np.ndarray]:
    """The run played by Mesa learning agents under PostedFees (:func:`agora.agents.learning.k_learning_model`)."""
    from agora.models.learning_models import k_learning_model

    model = k_learning_model(market, rules, start, steps, seq)
    for _ in range(steps):
        model.step()
    df = model.datacollector.get_model_vars_dataframe()
    acts = market.game().actions
    columns = ("seller_price", "first_fee", "second_fee")
    actions = np.column_stack([np.searchsorted(acts[i], df[c].to_numpy(float)) for i, c in enumerate(columns)])
    units = df[["first_items", "second_items"]].to_numpy(np.int64)
    learners = [model.seller.strategy.learner, *(m.strategy.learner for m in model.intermediaries)]
    return Joint(actions, units.sum(axis=1) > 0, learners), units


def run_k(params: Mapping, steps: int, rng: np.random.Generator) -> RunOutput:
    """One run of the k-item game; per step the three prices and the items each block got."""
    market = k_market(params)
    seller = make_rule(params["seller"])
    other = make_rule(params["intermediaries"]) if params["intermediaries"] is not None else seller
    start = (params["start_seller"], params["start_first"], params["start_second"])
    seq, acts = rng.bit_generator.seed_seq, market.game().actions
    if params["evaluator"] == "abm":
        joint, units = k_agents_play(market, (seller, other, other), start, steps, seq)
        ending = k_classify(market, joint, units, start, params["window"], params["mixed_tol"])
    else:
        ending, joint, units = run_k_task(KTask(market, (seller, other, other), start, steps, params["window"],
                                                params["mixed_tol"], seq))
    return RunOutput({"seller_price": acts[0][joint.actions[:, 0]], "first_fee": acts[1][joint.actions[:, 1]],
                      "second_fee": acts[2][joint.actions[:, 2]], "first_items": units[:, 0],
                      "second_items": units[:, 1]}, asdict(ending))


GRID_POINTS = "a whole number >= 3 of prices on the grid"
MARKETS = {
    "learning": MarketKind(
        "learning",
        "the simultaneous pricing game played by learning rules from one start; the run's row says where "
        "play ended (monopolist-intermediary, Section 5)",
        (Param("bidders", f"a regular law's spec string or a list of them ({ACCEPTED_SPECS})", read_bidders),
         Param("points", GRID_POINTS, read_int(3), 41),
         Param("grid", f"one of {', '.join(GRID_KINDS)}", read_choice(*GRID_KINDS), "linear"),
         Param("seller", RULE_ACCEPTED, read_rule),
         Param("intermediary", f"\"same\" (the seller's rule) or {RULE_ACCEPTED}", read_maybe_rule, None),
         Param("start_seller", "a grid index >= 0 of the seller's first price", read_int(0), 0),
         Param("start_intermediary", "a grid index >= 0 of the intermediary's first price", read_int(0), 0),
         *study_params()),
        ("seller_price", "intermediary_price", "sale"), run_single, check_single, single_sizes),
    "learning-k-items": MarketKind(
        "learning-k-items",
        "k items, buyers in two blocks, one intermediary per block posting a fee on the seller's per-item "
        "price, random rationing; learning rules from one start (intermediary-proof-mechanisms)",
        (Param("distribution", f"a regular law's spec string ({ACCEPTED_SPECS})", read_spec),
         Param("blocks", "two whole numbers >= 1: buyers per intermediary", read_blocks),
         Param("items", "a whole number >= 1 of items", read_int(1)),
         Param("points", GRID_POINTS, read_int(3), 31),
         Param("upper", "the grid's top price (a number > 0); default: the top of the support",
               read_positive, None),
         Param("seller_price", "\"learn\" or a fixed seller price >= 0", read_optional_price, None),
         Param("seller", RULE_ACCEPTED, read_rule),
         Param("intermediaries", f"\"same\" (the seller's rule) or {RULE_ACCEPTED}", read_maybe_rule, None),
         Param("start_seller", "a grid index >= 0 of the seller's first price (0 if fixed)", read_int(0), 0),
         Param("start_first", "a grid index >= 0 of the first intermediary's first fee", read_int(0), 0),
         Param("start_second", "a grid index >= 0 of the second intermediary's first fee", read_int(0), 0),
         *study_params()),
        ("seller_price", "first_fee", "second_fee", "first_items", "second_items"), run_k, check_k, k_sizes),
}
