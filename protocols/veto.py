"""Veto bargaining between a seller and a committee (selling-to-a-group, Sections 2 and 6.2).

One round: members learn their types; the seller proposes a collective
mechanism (Proposal); every member with a veto accepts or vetoes it (Vote),
accepting iff its interim expected utility is >= 0 (interim IR); if enough
accept (all of them under veto bargaining; at least ``approvals`` under the
n-approval arrangement of Section 6.2), members report types (Report), the
mechanism decides trade (Allocation) and the committee pays the collective
transfer (Payment, split by the committee's cost shares of Section 6.3).
A vetoed proposal means no trade and no transfer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from agora.market.errors import InputError
from agora.protocols.messages import Allocation, Message


@dataclass(frozen=True, slots=True)
class Proposal(Message):
    """The seller's collective mechanism, proposed to every member."""

    mechanism: Any = None  # a CollectiveMechanism (has describe())


@dataclass(frozen=True, slots=True)
class Vote(Message):
    """A member accepts (True) or vetoes (False) the proposal; ``utility`` is its interim expectation."""

    accept: bool = True
    utility: float = 0.0


@dataclass(frozen=True, slots=True)
class Report(Message):
    """A member's reported type."""

    amount: float = 0.0


@dataclass(frozen=True)
class GroupRound:
    """One round of veto bargaining."""

    round: int
    types: tuple[float, ...]
    reports: tuple[float, ...]
    accepted: bool
    vetoes: int
    trade: float
    transfer: float
    profit: float
    utilities: tuple[float, ...]
    messages: tuple[Message, ...]


class VetoBargaining:
    """Veto bargaining (every member holds a veto) and its Section 6.2 relaxations.

    Args:
        approvals: how many accepting members let the proposal go ahead (default: all
            veto holders).
        veto_holders: the members consulted (default: all); the others cannot veto and
            are not asked to report (the fixed consulted set of Section 6.2).
    """

    name = "veto-bargaining"

    def __init__(self, approvals: int | None = None, veto_holders: Sequence[int] | None = None):
        self.approvals = approvals
        self.veto_holders = None if veto_holders is None else tuple(veto_holders)

    def check(self, model) -> None:
        n = len(model.members)
        holders = self.holders(model)
        if not holders or any(not 0 <= i < n for i in holders):
            raise InputError(f"veto holders must be member indices 0..{n - 1}, got {list(holders)}")
        if self.approvals is not None and not 1 <= self.approvals <= len(holders):
            raise InputError(f"approvals must be between 1 and {len(holders)} (veto holders), "
                             f"got {self.approvals}")

    def holders(self, model) -> tuple[int, ...]:
        return tuple(range(len(model.members))) if self.veto_holders is None else self.veto_holders

    def play_round(self, model) -> GroupRound:
        r = model.round
        seller, committee, members = model.seller, model.committee, model.members
        types = tuple(m.draw_type() for m in members)
        proposal = seller.propose(r)
        holders = [members[i] for i in self.holders(model)]
        votes = [m.vote(proposal) for m in holders]
        log: list[Message] = [proposal, *votes]
        need = len(holders) if self.approvals is None else self.approvals
        accepted = sum(v.accept for v in votes) >= need
        reports = tuple(types)
        trade = transfer = 0.0
        if accepted:
            sent = [m.report(proposal) for m in members]
            reports = tuple(s.amount for s in sent)
            trade, transfer = seller.decide(reports)
            log += sent
            log.append(Allocation(r, seller.unique_id, committee.unique_id, delivered=bool(trade >= 1.0),
                                  probability=trade))
            log += committee.pay(r, seller, transfer)
        utilities = tuple(m.settle(trade, transfer) for m in members)
        profit = seller.settle(trade, transfer)
        return GroupRound(round=r, types=types, reports=reports, accepted=accepted,
                          vetoes=sum(not v.accept for v in votes), trade=trade, transfer=transfer,
                          profit=profit, utilities=utilities, messages=tuple(log))
