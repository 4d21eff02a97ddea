"""What every protocol returns: the outcome of one round."""

from __future__ import annotations

from dataclasses import dataclass

from protocols.messages import Message


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
