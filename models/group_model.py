"""GroupModel: the Mesa world of selling to a group with veto power, one round per step.

The third evaluator of a collective mechanism: member agents vote, report and
pay through a committee under the :class:`~agora.protocols.veto.VetoBargaining`
protocol, and a DataCollector keeps the per-round series (profit, trade,
transfer, vetoes) and every member's type and payoff.
"""

from __future__ import annotations

from collections.abc import Sequence

import mesa
import numpy as np

from agora.agents.group import Committee, GroupMember, GroupSeller
from agora.market.distributions import ValueDistribution
from agora.market.errors import InputError
from agora.market.group.mechanisms import CollectiveMechanism, PostedPriceRule
from agora.market.group.solver import optimal_mechanism, parse_members, solve_group
from agora.market.group.variants import check_shares, types_from_shares
from agora.models.round_model import RoundModel
from agora.protocols.messages import LOG_COLUMNS
from agora.protocols.veto import VetoBargaining

ACCEPTED_MECHANISMS = "'optimal' (Theorem 1), 'posted' (Proposition 2), or a CollectiveMechanism"


def seller_mechanism(choice, members: tuple[ValueDistribution, ...], cost: float) -> CollectiveMechanism:
    """What a user gives for the seller's proposal, as a mechanism."""
    if isinstance(choice, CollectiveMechanism):
        return choice
    if choice == "optimal":
        return optimal_mechanism(solve_group(members, cost), members=members)
    if choice == "posted":
        return PostedPriceRule(members, cost, solve_group(members, cost).posted_price)
    raise InputError(f"cannot use {choice!r} as the seller's proposal: give {ACCEPTED_MECHANISMS}")


class GroupModel(RoundModel):
    """A seller and a committee of members with vetoes.

    Args:
        members: laws of the members' types (spec strings or objects); with ``shares``
            they are the laws of the members' values v_i, and types are v_i / sigma_i.
        cost: the seller's cost c.
        mechanism: the seller's proposal (see :func:`seller_mechanism`).
        protocol: a :class:`VetoBargaining` (default: every member holds a veto).
        shares: fixed cost shares sigma_i (Section 6.3); default: none (collective money).
        replay: optional (rounds x members) array of types to use instead of draws.
        rng: seed or numpy Generator (Mesa's ``rng``).
    """

    def __init__(self, members: Sequence[str | ValueDistribution] = ("uniform:0,2", "uniform:0,3"),
                 cost: float = 0.0, mechanism="optimal", protocol: VetoBargaining | None = None,
                 shares: Sequence[float] | None = None, replay: np.ndarray | None = None, rng=None):
        super().__init__(rng=rng)
        laws = types_from_shares(members, shares) if shares is not None else members
        self.laws = parse_members(laws)
        n = len(self.laws)
        self.shares = check_shares(shares, n) if shares is not None else np.ones(n)
        self.cost = float(cost)
        self.replay = None if replay is None else np.asarray(replay, float)
        self.round = 0
        self.protocol = protocol or VetoBargaining()
        self.members = list(GroupMember.create_agents(self, n, distribution=list(self.laws),
                                                      index=list(range(n)), share=list(self.shares)))
        self.committee = Committee(self, self.members)
        self.seller = GroupSeller(self, seller_mechanism(mechanism, self.laws, self.cost), self.cost)
        self.protocol.check(self)
        self.last = None
        self.datacollector = mesa.DataCollector(
            model_reporters={"profit": lambda m: m.last.profit, "trade": lambda m: m.last.trade,
                             "transfer": lambda m: m.last.transfer, "accepted": lambda m: m.last.accepted,
                             "vetoes": lambda m: m.last.vetoes},
            agenttype_reporters={GroupMember: {"type": "type", "payoff": "payoff", "vetoed": "vetoed"}},
            tables={"messages": list(LOG_COLUMNS)},
        )

    def replayed_type(self, index: int) -> float | None:
        if self.replay is None:
            return None
        if self.round >= len(self.replay):
            raise IndexError(f"replay has {len(self.replay)} rounds; round {self.round} asked for")
        return float(self.replay[self.round, index])
