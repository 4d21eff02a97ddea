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

This module holds the round-by-round rule the agents run: every bidder's virtual
value in one numpy expression where phi is affine (App. D), the reserves
phi_i^-1 at the menu's region ends once per auction. The vectorized Monte Carlo
in :mod:`agora.market.single_item.montecarlo` is written separately (the two
share only the table of affine closed forms, :mod:`agora.market.single_item.inplace_laws`).
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from agora.market.distributions import ValueDistribution
from agora.market.single_item.inplace_laws import affine_virtual, threshold_of, thresholds_in_closed_form
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

    @cached_property
    def _affine(self) -> tuple[np.ndarray, ...]:
        """Bidders with phi = slope v - shift (index, slope, shift, LO, HI-, HI), as arrays."""
        rows = [(i, *a, b.lo, b._hi_minus, b.hi) for i, b in enumerate(self.bidders)
                if (a := affine_virtual(b)) is not None]
        index, *columns = (np.array(c) for c in zip(*rows)) if rows else (np.array([], int),) * 6
        return (index.astype(int), *columns)

    @cached_property
    def _others(self) -> tuple[int, ...]:
        """Bidders whose phi has no affine closed form (evaluated by their own law)."""
        affine = set(self._affine[0].tolist())
        return tuple(i for i in range(len(self.bidders)) if i not in affine)

    def virtual_values(self, bids: Sequence[float]) -> np.ndarray:
        """phi_i(b_i) for every bidder, bit for bit ``bidders[i].virtual_value(b_i)`` (Theorem 3.1's ranking).

        Affine laws in one expression: HI at or above HI, else slope clip(b, LO, HI-) - shift.
        """
        b = np.asarray(bids, float)
        index, slope, shift, lo, hi_minus, hi = self._affine
        if not self._others:  # every law affine: index is 0, 1, ..., n - 1
            return np.where(b >= hi, hi, slope * np.minimum(np.maximum(b, lo), hi_minus) - shift)
        phi = np.empty(b.shape)
        x = b[index]
        phi[index] = np.where(x >= hi, hi, slope * np.minimum(np.maximum(x, lo), hi_minus) - shift)
        for i in self._others:
            phi[i] = self.bidders[i].virtual_value(b[i])
        return phi

    @cached_property
    def _region_starts(self) -> tuple[float, ...]:
        return tuple(r.start for r in self.menu.regions)

    @cached_property
    def _region_reserves(self) -> tuple[tuple[tuple[float, float], ...], ...]:
        """phi_i^-1 at each region's start and end (end +inf: +inf), per bidder, per region."""
        def at(b, t):
            return float(b.virtual_threshold(t)) if math.isfinite(t) else math.inf
        return tuple(tuple((at(b, r.start), at(b, r.end)) for r in self.menu.regions) for b in self.bidders)

    def run(self, bids: Sequence[float], priority: Sequence[float]) -> AuctionResult:
        """One auction on truthful bids; ties in phi go to the highest ``priority``."""
        phi = self.virtual_values(bids).tolist()
        top = max(phi)
        if phi.count(top) == 1:
            winner = phi.index(top)
        else:
            winner = max((i for i, x in enumerate(phi) if x == top), key=priority.__getitem__)
        region = bisect_right(self._region_starts, top) - 1
        if region < 0:
            return AuctionResult(None, None, 0.0, tuple(phi))
        option = self.menu.regions[region].option
        rival = max(phi[:winner] + phi[winner + 1:], default=-math.inf)
        fee = self._expected_fee(winner, bids[winner], rival, option)
        return AuctionResult(winner, option, fee / self.menu.options[option].probability, tuple(phi))

    def _threshold(self, i: int, t: float) -> float:
        """phi_i^-1(t) at a rival's virtual value t."""
        b = self.bidders[i]
        return threshold_of(b, t) if thresholds_in_closed_form(b) else float(b.virtual_threshold(t))

    def _expected_fee(self, i: int, value: float, rival: float, option: int) -> float:
        """x_k (v - p_k) minus the integral of the interim allocation below v."""
        covered = 0.0
        for r, (z_start, z_hi) in zip(self.menu.regions, self._region_reserves[i]):
            if r.end <= rival:
                continue
            z_lo = z_start if rival <= r.start else self._threshold(i, rival)
            length = min(value, z_hi) - z_lo
            if length > 0:
                covered += self.menu.options[r.option].probability * length
        o = self.menu.options[option]
        return o.probability * (value - o.price) - covered
