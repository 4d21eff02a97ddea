"""Selling to a group with veto power as an experiment kind (selling-to-a-group, Sections 2 and 6.2).

``veto-bargaining``: a seller with cost ``cost`` proposes one collective mechanism to a committee
whose members have independent types (``members``, one law each), every member holding a veto;
the group pays one collective transfer. The mechanism is the optimal weighted vote of Theorem 1
(``mechanism = "optimal"``) or the best unanimous posted price of Proposition 2
(``"posted-price"``). One step is one round, played by the agent-based committee
(``evaluator = "abm"``: :class:`agora.models.group_model.GroupModel`, members voting and reporting
under :class:`agora.protocols.veto.VetoBargaining`) or drawn with every other round at once
(``"mc"``: the mechanism's ex-post rules on vectorized type draws). Each step records ``trade``, the
seller's profit ``seller_profit`` (m - c x), its revenue ``seller_revenue`` (the group's transfer m)
and each member's payoff ``utility_i`` (theta_i x - m, 0-based); the run's row holds
their means and standard errors beside the exact expectations: the solver's profit and trade
probability (Theorem 1, or Proposition 2's closed form), and each member's expected utility
E[theta_i X_i - M_i] from the mechanism's interim rules; the optimal vote's weights ``weight_i``,
or the posted ``price``.

``transfers = "individual"``: each member pays its own transfer (Section 6.4), the seller trading iff
sum_i phi_i >= c and charging each member its threshold type (:func:`agora.market.group.individual.individual_rounds`);
drawn by the vectorized evaluator for the optimal mechanism, each step also records ``payment_i``,
and the row's exact values are :func:`agora.market.group.individual.solve_individual`'s profit, trade
probability and payments E[phi_i x].
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
    read_number,
    rounds_output,
)
from agora.market.group.individual import individual_rounds, solve_individual
from agora.market.group.mechanisms import CollectiveMechanism, PostedPriceRule
from agora.market.group.montecarlo import draw_types, group_rounds
from agora.market.group.solver import best_posted_price, optimal_mechanism, parse_members, solve_group
from agora.market.group.specs import GROUP_SPECS, TRANSFERS
from agora.models.group_model import GroupModel

MAX_MEMBERS = 8  # one utility column per member is declared below
MECHANISMS = ("optimal", "posted-price")
UTILITIES = tuple(f"utility_{i}" for i in range(MAX_MEMBERS))
PAYMENTS = tuple(f"payment_{i}" for i in range(MAX_MEMBERS))
NAMES = {"profit": "seller_profit", "trade": "trade", "transfer": "seller_revenue"}  # the rounds' series, as recorded


def read_members(value) -> list[str]:
    """A nonempty list of at most MAX_MEMBERS law specs, each a law a group member may have (Section 2)."""
    if not isinstance(value, list) or not value or not all(isinstance(s, str) for s in value):
        raise ValueError("not a nonempty list of spec strings")
    if len(value) > MAX_MEMBERS:
        raise ValueError(f"{len(value)} members, more than {MAX_MEMBERS}")
    return [d.spec for d in parse_members(value)]


def mechanism_of(params: Mapping) -> tuple[CollectiveMechanism, dict]:
    """The seller's proposal and its exact expectations (profit, trade, transfer, each member's utility)."""
    laws, cost = parse_members(params["members"]), params["cost"]
    if params["mechanism"] == "optimal":
        sol = solve_group(laws, cost)
        mech = optimal_mechanism(sol, members=laws)
        profit, trade, price = sol.profit, sol.trade_probability, math.nan
        weights = {f"weight_{i}": w for i, w in enumerate(sol.weights)}
    else:
        price, profit = best_posted_price(laws, cost)
        mech = PostedPriceRule(laws, cost, price)
        trade = float(np.prod([d.prob_at_least(price) for d in laws]))
        weights = {}
    exact = {"seller_profit": profit, "trade": trade, "seller_revenue": profit + cost * trade}
    exact |= {f"utility_{i}": mech.expected_utility(i) for i in range(len(laws))}
    return mech, {"price": price, **weights, **{f"exact_{k}": float(v) for k, v in exact.items()}}


def individual_run(params: Mapping, steps: int, rng) -> tuple[dict[str, np.ndarray], dict]:
    """Section 6.4: trade iff sum_i phi_i >= c, each member paying its threshold type; vectorized draws.
    Exact: the solver's profit E[(sum_i phi_i - c)+], trade probability and payments E[phi_i x]."""
    laws, cost = parse_members(params["members"]), params["cost"]
    sol = solve_individual(laws, cost)
    theta = np.column_stack([d.rvs(steps, rng) for d in laws])
    cols = {NAMES.get(q, q): v for q, v in individual_rounds(laws, cost, theta).items()}
    exact = {"seller_profit": sol.profit, "trade": sol.trade_probability,
             "seller_revenue": sol.profit + cost * sol.trade_probability}
    exact |= {f"payment_{i}": p for i, p in enumerate(sol.payments)}
    return cols, {"price": math.nan, **{f"exact_{k}": float(v) for k, v in exact.items()}}


def check(params: Mapping) -> None:
    if params["transfers"] == "individual":
        for key, want in (("mechanism", "optimal"), ("evaluator", "mc")):
            if params[key] != want:
                raise ParamError(key, f"individual transfers (Section 6.4) are solved for the optimal mechanism "
                                 f"and drawn by the vectorized evaluator; accepted: \"{want}\"")


def group_model(params: Mapping, mech: CollectiveMechanism, rng) -> GroupModel:
    """The committee of ``params`` facing ``mech``, every member holding a veto."""
    return GroupModel(params["members"], params["cost"], mechanism=mech, rng=rng)


def abm_steps(params: Mapping, mech: CollectiveMechanism, steps: int, rng) -> dict[str, np.ndarray]:
    """``steps`` rounds of the agent-based committee, one per model step."""
    model = group_model(params, mech, rng)
    utilities = []
    for _ in range(steps):
        model.step()
        utilities.append(model.last.utilities)
    df = model.rounds()
    cols = {name: df[q].to_numpy(float) for q, name in NAMES.items()}
    u = np.asarray(utilities, float).reshape(steps, len(params["members"]))
    return cols | {f"utility_{i}": u[:, i] for i in range(u.shape[1])}


def mc_steps(mech: CollectiveMechanism, steps: int, rng) -> dict[str, np.ndarray]:
    """``steps`` rounds at once: independent type profiles through the mechanism's ex-post rules."""
    return {NAMES.get(q, q): v for q, v in group_rounds(mech, draw_types(mech, steps, rng)).items()}


def run(params: Mapping, steps: int, rng: np.random.Generator) -> RunOutput:
    if params["transfers"] == "individual":
        cols, row = individual_run(params, steps, rng)
    else:
        mech, row = mechanism_of(params)
        cols = abm_steps(params, mech, steps, rng) if params["evaluator"] == "abm" else mc_steps(mech, steps, rng)
    return rounds_output(cols, steps, row)


MARKETS = {
    "veto-bargaining": MarketKind(
        "veto-bargaining",
        "a seller proposes a mechanism to a committee whose every member holds a veto; one collective "
        "transfer or one per member (selling-to-a-group, Theorem 1, Proposition 2, Section 6.4)",
        (Param("members", f"a list of 1 to {MAX_MEMBERS} member type laws ({GROUP_SPECS})", read_members),
         Param("cost", "the seller's cost, a finite number >= 0", read_number, 0.0),
         Param("mechanism", "\"optimal\" (the weighted vote of Theorem 1) or \"posted-price\" (the best "
               "unanimous posted price, Proposition 2)", read_choice(*MECHANISMS), "optimal"),
         Param("transfers", "\"pooled\" (one collective transfer) or \"individual\" (each member pays its "
               "own, Section 6.4; with mechanism \"optimal\" and evaluator \"mc\")", read_choice(*TRANSFERS),
               "pooled"),
         Param("evaluator", "\"abm\" (Mesa committee) or \"mc\" (vectorized type draws)",
               read_choice("abm", "mc"), "abm")),
        (*NAMES.values(), *UTILITIES, *PAYMENTS), run, check),
}
