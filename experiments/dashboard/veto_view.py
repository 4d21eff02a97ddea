"""The dashboard's view of veto bargaining (selling-to-a-group, Sections 2 and 6.2).

The ``buyers`` are the members of a committee (member i's type law is the i-th
distribution, repeated in turn), every member holds a veto, the seller's cost is 0 and
the group pays one collective transfer: a member of type theta gets theta x - m, the
seller m (:class:`~agora.protocols.veto.VetoBargaining` in a :class:`~agora.models.group_model.GroupModel`).

The seller's proposal by learning rule: ``best-response`` is the optimal mechanism, the
weighted vote of Theorem 1 (solved for up to :data:`MAX_OPTIMAL_MEMBERS` members);
``best-posted-price`` the best unanimous posted price (Proposition 2); ``fixed-price`` the
unanimous posted price at the seller's start price. Exact values: the solver's profit
(:func:`agora.market.group.solver.solve_group`), each member's expected utility E[theta X_i(theta)
- M_i(theta)] over its own type, and welfare, the seller's profit plus the members' utilities.
"""

from __future__ import annotations

from functools import lru_cache

import networkx as nx
import numpy as np
import pandas as pd

from agora.experiments.dashboard.views import COMMON_CONTROLS, MarketView, Network, Reference, add_messages, register
from agora.market.errors import InputError
from agora.market.group.mechanisms import PostedPriceRule
from agora.market.group.solver import best_posted_price, optimal_mechanism, parse_members, solve_group
from agora.models.group_model import GroupModel

MAX_OPTIMAL_MEMBERS = 12  # Theorem 1's mechanism tabulates every member's interim rule (Reset of 12: about 0.4 s)
PER_PARTY = 4  # up to this many members get a series each; more are summed
COMMITTEE, SELLER = "C", "S"
QMC = {"qmc_points": 1 << 12, "qmc_scramblings": 4}  # groups of four or more: randomized QMC


def member_node(i: int) -> str:
    return f"M{i}"


def utility_columns(n: int) -> list[str]:
    return [f"member_{i}_utility" for i in range(n)] if n <= PER_PARTY else ["members_utility"]


class VetoMarket(GroupModel):
    """A GroupModel that keeps every round's profit, members' payoffs and the proposal's price (if posted)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.history: list[tuple[float, tuple[float, ...]]] = []

    def step(self) -> None:
        super().step()
        self.history.append((self.last.profit, self.last.utilities))


class VetoView(MarketView):
    protocol = "veto-bargaining"
    title = "Selling to a group with veto power (selling-to-a-group, Theorem 1)"
    rules = ("best-response", "best-posted-price", "fixed-price")
    controls = COMMON_CONTROLS + ("seller_price",)  # the posted price of fixed-price
    no_price_game = "No price game in this protocol: the seller proposes one mechanism and every member may veto it."

    def check(self, controls) -> None:
        if controls.intermediaries != 1:
            raise InputError(f"intermediaries must be 1 for {self.protocol} (one committee), "
                             f"got {controls.intermediaries}")
        if controls.items != 1:
            raise InputError(f"items must be 1 for {self.protocol} (one public good), got {controls.items}")
        if controls.rule == "best-response" and controls.buyers > MAX_OPTIMAL_MEMBERS:
            raise InputError(f"buyers must be at most {MAX_OPTIMAL_MEMBERS} for {self.protocol} with rule "
                             f"best-response (Theorem 1's mechanism), got {controls.buyers}; "
                             "rules best-posted-price and fixed-price take any number")
        parse_members(controls.specs)

    def build(self, controls) -> VetoMarket:
        specs = controls.specs
        if controls.rule == "best-response":
            mechanism = _optimal(specs)[0]
        else:
            laws = parse_members(specs)
            price = _best_posted(specs) if controls.rule == "best-posted-price" else controls.seller_price
            mechanism = PostedPriceRule(laws, 0.0, price)
        return VetoMarket(specs, mechanism=mechanism, rng=controls.seed)

    def network(self, model: VetoMarket) -> Network:
        g = nx.DiGraph()
        g.add_node(SELLER, kind="seller", layer=2)
        g.add_node(COMMITTEE, kind="committee", layer=1)
        g.add_edge(COMMITTEE, SELLER)
        for m in model.members:
            g.add_node(member_node(m.index), kind="member", layer=0, index=m.index)
            g.add_edge(member_node(m.index), COMMITTEE)
        net = Network(g)
        if model.last is None:
            return net
        net.values = {member_node(i): t for i, t in enumerate(model.last.types)}
        if model.last.trade >= 1.0:
            net.winners = {member_node(m.index) for m in model.members}
        verdict = "vetoed" if not model.last.accepted else ("sold" if model.last.trade >= 1.0 else "no sale")
        net.caption = f"{verdict}; transfer {model.last.transfer:.3g}"
        node = {m.unique_id: member_node(m.index) for m in model.members}
        node |= {model.committee.unique_id: COMMITTEE, model.seller.unique_id: SELLER}
        # members vote and report to the seller through their committee; proposals reach it the same way
        via = {member_node(m.index): COMMITTEE for m in model.members} | {SELLER: COMMITTEE}
        add_messages(net, model.last.messages, node, via)
        return net

    def series(self, model: VetoMarket) -> pd.DataFrame:
        n = len(model.members)
        cols = ["seller_profit", *utility_columns(n), "welfare"]
        if not model.history:
            return pd.DataFrame(columns=cols, dtype=float)
        profit = np.array([h[0] for h in model.history], float)
        u = np.array([h[1] for h in model.history], float)
        out = pd.DataFrame({"seller_profit": profit})
        if n <= PER_PARTY:
            for i in range(n):
                out[f"member_{i}_utility"] = u[:, i]
        else:
            out["members_utility"] = u.sum(axis=1)
        out["welfare"] = profit + u.sum(axis=1)
        out.index = pd.RangeIndex(1, len(out) + 1, name="round")
        return out

    def reference(self, model: VetoMarket) -> Reference:
        specs = tuple(d.spec for d in model.laws)
        mech = model.seller.mechanism
        if isinstance(mech, PostedPriceRule):
            return _posted_reference(specs, mech.price)
        return _optimal(specs)[1]


@lru_cache(maxsize=16)
def _best_posted(specs: tuple[str, ...]) -> float:
    return best_posted_price(parse_members(specs), 0.0)[0]


def _bands(profit: float, utilities: list[float]) -> dict[str, tuple[float, float]]:
    values = {"seller_profit": profit, "welfare": profit + sum(utilities)}
    parts = utilities if len(utilities) <= PER_PARTY else [sum(utilities)]
    values |= dict(zip(utility_columns(len(utilities)), parts))
    return {k: (float(v), float(v)) for k, v in values.items()}


@lru_cache(maxsize=16)
def _optimal(specs: tuple[str, ...]):
    """Theorem 1's mechanism and its exact values: the solver's profit, members' utilities by quadrature."""
    sol = solve_group(specs, 0.0, **QMC)
    mech = optimal_mechanism(sol, members=specs)
    utilities = [mech.expected_utility(i) for i in range(len(specs))]
    method = (f"optimal weighted vote (Theorem 1): {sol.method}; members' utilities: Gauss-Legendre "
              "quadrature of theta X_i - M_i over each member's quantiles, cell by cell of its table")
    return mech, Reference(_bands(sol.profit, utilities), method)


@lru_cache(maxsize=16)
def _posted_reference(specs: tuple[str, ...], price: float) -> Reference:
    """Unanimous price p: profit p prod_j P_j, member i gets (E[theta_i; theta_i >= p] - p P_i) prod_{j != i} P_j
    (once per distinct law: members drawing from one law get the same)."""
    mech = PostedPriceRule(parse_members(specs), 0.0, price)
    first = {spec: i for i, spec in reversed(list(enumerate(specs)))}  # members of one law get the same
    by_law = {spec: mech.expected_utility(i) for spec, i in first.items()}
    utilities = [by_law[spec] for spec in specs]
    probs = np.array([float(d.prob_at_least(price)) for d in mech.members])
    profit = price * float(np.prod(probs))
    return Reference(_bands(profit, utilities), f"unanimous posted price {price:.6g}: closed form "
                                                "(Proposition 2's profit), members' utilities by quadrature")


register(VetoView())
