"""Typed messages exchanged by agents during a round (frozen dataclasses).

Every message names its sender and recipient by agent id (the seller,
intermediaries and buyers are Mesa agents) and the round it belongs to.
A protocol decides who sends what, and when; the log of one round is the
ordered tuple of its messages.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from functools import cache
from typing import Any

ALL = -1  # recipient id meaning "every agent the protocol addresses"

LOG_COLUMNS = ("round", "kind", "sender", "recipient", "amount", "detail")


@dataclass(frozen=True, slots=True)
class Message:
    round: int
    sender: int
    recipient: int

    @property
    def kind(self) -> str:
        return type(self).__name__

    def to_dict(self) -> dict[str, Any]:
        d = {"kind": self.kind}
        for name in _field_names(type(self)):
            value = getattr(self, name)
            d[name] = value.describe() if hasattr(value, "describe") else value
        return d

    def log_row(self) -> dict[str, Any]:
        """A flat row for the message-log table (columns ``LOG_COLUMNS``)."""
        d = self.to_dict()
        head = {k: d.pop(k) for k in ("round", "kind", "sender", "recipient")}
        amount = d.pop("amount", None)
        return {**head, "amount": amount, "detail": json.dumps(d) if d else ""}


@cache
def _field_names(kind: type) -> tuple[str, ...]:
    """A message class's field names, in declaration order (looked up once per class)."""
    return tuple(f.name for f in fields(kind))


@cache
def _detail_names(kind: type) -> tuple[str, ...]:
    """The fields a message class's log row keeps in ``detail`` (all but the head and ``amount``)."""
    return tuple(n for n in _field_names(kind) if n not in ("round", "sender", "recipient", "amount"))


PLAIN = (int, str, bool, type(None))  # compared by value when memoizing details; anything else by identity


def log_columns(messages) -> dict[str, list]:
    """The message-log table (``LOG_COLUMNS``) of ``messages``, column by column: row i is
    ``messages[i].log_row()``. A detail is encoded once per message class and field values
    (plain values compared by value, others by identity, which the messages hold alive)."""
    memo: dict[tuple, str] = {}

    def detail(m: Message) -> str:
        values = [getattr(m, n) for n in _detail_names(type(m))]
        key = (type(m), *[(type(v), v) if type(v) in PLAIN else id(v) for v in values])
        if key not in memo:
            memo[key] = m.log_row()["detail"]
        return memo[key]

    return {"round": [m.round for m in messages], "kind": [type(m).__name__ for m in messages],
            "sender": [m.sender for m in messages], "recipient": [m.recipient for m in messages],
            "amount": [getattr(m, "amount", None) for m in messages],
            "detail": [detail(m) if _detail_names(type(m)) else "" for m in messages]}


@dataclass(frozen=True, slots=True)
class Commit(Message):
    """A mechanism committed to before the other side moves."""

    mechanism: Any = None  # a DeterministicMechanism or a Menu (both have describe())


@dataclass(frozen=True, slots=True)
class Offer(Message):
    """The intermediary's auction for the right to dictate forwarded bids, as offered to buyers."""

    auction: Any = None  # the intermediary's mechanism (has describe())
    seller_price: float | None = None  # known when buyers bid for the right itself


@dataclass(frozen=True, slots=True)
class Bid(Message):
    amount: float = 0.0


@dataclass(frozen=True, slots=True)
class Forward(Message):
    """Bids forwarded to the seller, dictated by ``on_behalf_of`` (Assumption 2.1)."""

    on_behalf_of: int = ALL
    bids: tuple[float, ...] = ()
    option: int = 0


@dataclass(frozen=True, slots=True)
class Allocation(Message):
    """The seller's decision: the item goes to ``recipient`` (or to nobody)."""

    delivered: bool = False
    probability: float = 0.0


@dataclass(frozen=True, slots=True)
class Payment(Message):
    amount: float = 0.0


@dataclass(frozen=True, slots=True)
class Request(Message):
    """Items an intermediary asks the seller for (indices into the seller's menu; repeats allowed
    for identical items) or, in an auction, its bids (``amounts``)."""

    items: tuple[int, ...] = ()
    amounts: tuple[float, ...] = ()


@dataclass(frozen=True, slots=True)
class Award(Message):
    """Items the seller gives an intermediary, and the total it owes for them."""

    items: tuple[int, ...] = ()
    amount: float = 0.0
