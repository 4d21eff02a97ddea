"""Group agents (selling-to-a-group): members with a veto, their committee, and the seller.

A :class:`GroupMember` knows its own type only. Offered a collective mechanism it
accepts iff its interim expected utility ``theta X_i(theta) - M_i(theta)`` is >= 0
(interim IR, Section 2), and it reports the type that maximizes its interim
utility, the truth whenever the truth is a best response (interim IC). With a
cost share sigma (Section 6.3) its value is v = sigma theta and it pays sigma m.
"""

from __future__ import annotations

import math

import mesa
import numpy as np

from agora.market.distributions import ValueDistribution
from agora.market.group.mechanisms import CollectiveMechanism, type_grid
from agora.protocols.messages import ALL, Payment
from agora.protocols.veto import Proposal, Report, Vote

REPORT_GRID = 201  # reports a member compares with the truth
INDIFFERENCE = 1e-9  # utility differences below this are ties (rounding of tabulated rules)


class GroupMember(mesa.Agent):
    """A member with private type theta ~ ``distribution`` (redrawn every round) and a veto.

    ``distribution`` is the law of the type theta (value per unit of the group's money).
    """

    def __init__(self, model: mesa.Model, distribution: ValueDistribution, index: int, share: float = 1.0):
        super().__init__(model)
        self.distribution = distribution
        self.index = index
        self.share = share
        self.type = math.nan
        self.payoff = 0.0
        self.cumulative_payoff = 0.0
        self.vetoed = False

    def draw_type(self) -> float:
        replay = self.model.replayed_type(self.index)
        self.type = replay if replay is not None else float(self.distribution.rvs(1, self.model.rng)[0])
        return self.type

    @property
    def value(self) -> float:
        """v = sigma theta: the member's value of the good in money."""
        return self.share * self.type

    def expected_utility(self, mechanism: CollectiveMechanism, report: float | None = None) -> float:
        """theta X_i(r) - M_i(r) at report r (the truth by default), in units of the group's money."""
        x, m = mechanism.interim(self.index, np.array([self.type if report is None else report]))
        return float(self.type * x[0] - m[0])

    def vote(self, proposal: Proposal) -> Vote:
        """Accept iff taking part (and reporting its best report) is worth at least the outside option 0."""
        best = self._best_report(proposal.mechanism)
        utility = self.expected_utility(proposal.mechanism, best)
        self.vetoed = utility < -INDIFFERENCE
        return Vote(proposal.round, self.unique_id, proposal.sender, accept=not self.vetoed, utility=utility)

    def _best_report(self, mechanism: CollectiveMechanism) -> float:
        reports = type_grid(self.distribution, REPORT_GRID)
        x, m = mechanism.interim(self.index, reports)
        util = self.type * x - m
        truth = self.expected_utility(mechanism)
        best = int(np.argmax(util))
        return self.type if util[best] <= truth + INDIFFERENCE else float(reports[best])

    def report(self, proposal: Proposal) -> Report:
        return Report(proposal.round, self.unique_id, proposal.sender, amount=self._best_report(proposal.mechanism))

    def settle(self, trade: float, transfer: float) -> float:
        """This round's payoff in money: v x - sigma m."""
        self.payoff = self.share * (self.type * trade - transfer)
        self.cumulative_payoff += self.payoff
        return self.payoff


class Committee(mesa.Agent):
    """The group: pays one collective transfer, split among members by fixed shares (Section 6.3)."""

    def __init__(self, model: mesa.Model, members: list[GroupMember]):
        super().__init__(model)
        self.members = members
        self.paid = 0.0

    def pay(self, round_: int, seller, transfer: float) -> list[Payment]:
        self.paid += transfer
        seller.collect(transfer)
        return [Payment(round_, self.unique_id, seller.unique_id, amount=transfer)]


class GroupSeller(mesa.Agent):
    """The seller: proposes a collective mechanism and runs it on the members' reports."""

    def __init__(self, model: mesa.Model, mechanism: CollectiveMechanism, cost: float):
        super().__init__(model)
        self.mechanism = mechanism
        self.cost = cost
        self.revenue = 0.0
        self.cumulative_profit = 0.0

    def propose(self, round_: int) -> Proposal:
        self.revenue = 0.0
        return Proposal(round_, self.unique_id, ALL, mechanism=self.mechanism)

    def decide(self, reports) -> tuple[float, float]:
        """(trade probability, transfer) at the reported profile; a lottery is drawn."""
        profile = np.asarray(reports, float)[None, :]
        x = float(self.mechanism.allocation(profile)[0])
        if 0.0 < x < 1.0:
            x = float(self.model.rng.random() < x)
        return x, float(self.mechanism.transfer(profile)[0])

    def collect(self, amount: float) -> None:
        self.revenue += amount

    def settle(self, trade: float, transfer: float) -> float:
        profit = transfer - self.cost * trade
        self.cumulative_profit += profit
        return profit
