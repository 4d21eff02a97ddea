"""The intermediary's best response to a seller: the shifted Myerson auction.

Theorem 3.1 (and Lemma 3.10 for menus): the intermediary sells the right to
dictate forwarded bids to the bidder with the highest virtual value phi_i(v_i),
provided it reaches the menu's sale threshold (for a posted price p: the
personalized reserve phi_i^-1(p)). The winner takes the menu option maximizing
x_k (phi - p_k). Its fee is Myerson's payment for the interim allocation
z -> x(z) it faces given the others' bids,

    fee = x_k (v - p_k) - integral_{lo}^{v} x(z) dz,

charged on delivery as fee / x_k (so the winner is never left worse off ex
post). With a posted price this is the threshold phi_i^-1(max(p, phi_2nd)) - p.

This module holds the round-by-round rule the agents run; the vectorized Monte
Carlo in :mod:`agora.market.single_item.montecarlo` is written independently.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

from agora.market.distributions import ValueDistribution
from agora.market.single_item.seller_mechanisms import Menu


@dataclass(frozen=True)
class AuctionResult:
    """Who won the right to dictate bids, which menu option, and the fee on delivery."""

    winner: int | None
    option: int | None
    fee_on_delivery: float
    virtual_values: tuple[float, ...]


@dataclass(frozen=True)
class ShiftedMyerson:
    """Myerson's auction shifted by the seller's menu (Theorem 3.1, Lemma 3.10)."""

    bidders: tuple[ValueDistribution, ...]
    menu: Menu

    @cached_property
    def reserves(self) -> tuple[float, ...]:
        """Personalized reserves phi_i^-1(sale threshold); inf where a bidder can never win."""
        t = self.menu.sale_threshold
        return tuple(float(b.virtual_threshold(t)) for b in self.bidders)

    def describe(self) -> dict:
        return {"class": "shifted_myerson", "reserves": list(self.reserves),
                "sale_threshold": self.menu.sale_threshold}

    def run(self, bids: Sequence[float], priority: Sequence[float]) -> AuctionResult:
        """One auction on truthful bids; ties in phi go to the highest ``priority``."""
        phis = tuple(float(b.virtual_value(x)) for b, x in zip(self.bidders, bids))
        winner = None
        for i, phi in enumerate(phis):
            if winner is None or (phi, priority[i]) > (phis[winner], priority[winner]):
                winner = i
        option = int(self.menu.choose(phis[winner])) if winner is not None else -1
        if option < 0:
            return AuctionResult(None, None, 0.0, phis)
        rival = max((p for i, p in enumerate(phis) if i != winner), default=-math.inf)
        fee = self._expected_fee(winner, bids[winner], rival, option)
        return AuctionResult(winner, option, fee / self.menu.options[option].probability, phis)

    def _expected_fee(self, i: int, value: float, rival: float, option: int) -> float:
        """x_k (v - p_k) minus the integral of the interim allocation below v."""
        dist = self.bidders[i]
        covered = 0.0
        for r in self.menu.regions:
            if r.end <= rival:
                continue
            z_lo = float(dist.virtual_threshold(max(r.start, rival)))
            z_hi = float(dist.virtual_threshold(r.end)) if math.isfinite(r.end) else math.inf
            length = min(value, z_hi) - z_lo
            if length > 0:
                covered += self.menu.options[r.option].probability * length
        o = self.menu.options[option]
        return o.probability * (value - o.price) - covered
