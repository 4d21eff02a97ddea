"""What every protocol returns: the outcome of one round."""

from __future__ import annotations

from dataclasses import dataclass

from agora.protocols.messages import Message, Payment


@dataclass(frozen=True)
class RoundOutcome:
    """One round of a market: values, who won, what was paid, and the message log.

    ``buyer_payments`` and ``values`` are in buyer index order; ``welfare`` is
    the value of the item to whoever received it (0 when it was not delivered).
    """

    round: int
    values: tuple[float, ...]
    seller_price: float
    intermediary_price: float  # the parameter of its auction for the right; nan in seller-first
    winner: int | None
    delivered: bool
    seller_revenue: float
    intermediary_revenue: float
    buyer_payments: tuple[float, ...]
    welfare: float
    messages: tuple[Message, ...]

    @property
    def sale(self) -> bool:
        return self.delivered

    @property
    def total_revenue(self) -> float:
        return self.seller_revenue + self.intermediary_revenue

    def buyer_utility(self, i: int) -> float:
        received = self.values[i] if self.delivered and self.winner == i else 0.0
        return received - self.buyer_payments[i]


def pay(round_: int, buyer, seller, intermediary, to_seller: float, to_intermediary: float) -> list:
    """The winner pays both sides: Payment messages, revenues collected, the payment recorded."""
    seller.collect(to_seller)
    intermediary.collect(to_intermediary)
    return [Payment(round_, buyer.unique_id, seller.unique_id, amount=to_seller),
            Payment(round_, buyer.unique_id, intermediary.unique_id, amount=to_intermediary)]


def settle(buyers, winner: int | None, payments: list[float]) -> None:
    """Every buyer's payoff this round: the item's value to the winner, minus what each paid."""
    for b in buyers:
        b.settle(b.value if b.index == winner else 0.0, payments[b.index])
