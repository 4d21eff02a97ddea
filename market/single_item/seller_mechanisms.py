"""Seller mechanisms facing a monopolist intermediary (monopolist-intermediary §2-3).

A deterministic seller mechanism is, to a bidder who dictates every forwarded
bid, a posted price: the least payment with which some dictated bid vector
wins the item (Definition 2.2, Theorem 2.3). Each mechanism here knows that
minimum payment and the bid vector achieving it; :func:`minimum_payment_by_search`
finds it by brute force for any mechanism, so the reductions can be checked.

A randomized seller mechanism is a :class:`Menu` of options (x_k, p_k): the
item with probability x_k, for p_k paid on delivery (Lemma 3.10). A
deterministic mechanism is the one-option menu {(1, p)}.
"""

from __future__ import annotations

import itertools
import math
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from agora.market.errors import InputError


class MechanismError(InputError):
    """A mechanism with parameters outside what it accepts."""


@dataclass(frozen=True)
class MenuOption:
    """Receive the item with probability ``probability``; pay ``price`` if it is delivered."""

    probability: float
    price: float

    def __post_init__(self):
        if not 0.0 < self.probability <= 1.0:
            raise MechanismError(f"menu option probability must be in (0, 1], got {self.probability}")
        if not 0.0 <= self.price < math.inf:
            raise MechanismError(f"menu option price must be >= 0, got {self.price}")


@dataclass(frozen=True)
class Region:
    """Virtual values in [start, end) take option ``option`` of the menu."""

    start: float
    end: float
    option: int


@dataclass(frozen=True)
class Menu:
    """A seller's randomized mechanism as the menu it induces (Lemma 3.10).

    Facing it, a best-responding intermediary gives the bidder with the highest
    virtual value phi the option maximizing x_k (phi - p_k) when that is >= 0;
    ties go to the larger probability (and so to a sale).
    """

    options: tuple[MenuOption, ...]

    def __post_init__(self):
        if not self.options:
            raise MechanismError("a menu needs at least one option")

    @classmethod
    def of(cls, pairs: Sequence[tuple[float, float]]) -> Menu:
        """Menu from (probability, price) pairs."""
        return cls(tuple(MenuOption(float(x), float(p)) for x, p in pairs))

    @classmethod
    def posted(cls, price: float) -> Menu:
        """The deterministic posted price: {(1, price)}."""
        return cls((MenuOption(1.0, float(price)),))

    def describe(self) -> dict:
        if self.is_posted_price:
            return {"class": "posted_price", "price": self.options[0].price,
                    "minimum_payment": self.options[0].price}
        return {"class": "menu", "options": [[o.probability, o.price] for o in self.options]}

    @property
    def is_posted_price(self) -> bool:
        return len(self.options) == 1 and self.options[0].probability == 1.0

    def utility(self, k: int, phi):
        o = self.options[k]
        return o.probability * (np.asarray(phi, float) - o.price)

    def _best(self, phi: float) -> int | None:
        """The chosen option at one virtual value (ties: larger probability, then lower price)."""
        best, key = None, (0.0, -math.inf, -math.inf)
        for k, o in enumerate(self.options):
            cand = (float(self.utility(k, phi)), o.probability, -o.price)
            if cand[0] >= 0.0 and (best is None or cand > key):
                best, key = k, cand
        return best

    @cached_property
    def regions(self) -> tuple[Region, ...]:
        """The upper envelope of the options' utility lines, as sale regions in phi.

        Breakpoints are the zero crossings p_k and the pairwise crossings of the
        lines; between two breakpoints the choice is constant. Regions are
        contiguous and run to +inf (utility only grows with phi).
        """
        pts = {o.price for o in self.options}
        for a, b in itertools.combinations(self.options, 2):
            if a.probability != b.probability:
                pts.add((a.probability * a.price - b.probability * b.price)
                        / (a.probability - b.probability))
        cuts = sorted(pts)
        regions: list[Region] = []
        for i, c in enumerate(cuts):
            probe = c + 1.0 if i + 1 == len(cuts) else 0.5 * (c + cuts[i + 1])
            k = self._best(probe)
            if k is None:
                continue
            if regions and regions[-1].option == k:
                continue
            if regions:
                regions[-1] = Region(regions[-1].start, c, regions[-1].option)
            regions.append(Region(c, math.inf, k))
        return tuple(regions)

    @property
    def sale_threshold(self) -> float:
        """The least virtual value at which the intermediary buys some option."""
        return self.regions[0].start

    def choose(self, phi) -> np.ndarray:
        """Option index chosen at each virtual value (-1: no sale). Vectorized."""
        starts = np.array([r.start for r in self.regions])
        opts = np.array([r.option for r in self.regions])
        idx = np.searchsorted(starts, np.asarray(phi, float), side="right") - 1
        return np.where(idx >= 0, opts[np.maximum(idx, 0)], -1)

    def probabilities(self) -> np.ndarray:
        return np.array([o.probability for o in self.options])

    def prices(self) -> np.ndarray:
        return np.array([o.price for o in self.options])


class DeterministicMechanism(ABC):
    """A deterministic seller auction over the forwarded bids."""

    name: str

    @abstractmethod
    def outcome(self, bids: Sequence[float]) -> tuple[int | None, float]:
        """(winning slot or None, payment) for a vector of forwarded bids."""

    @property
    @abstractmethod
    def minimum_payment(self) -> float:
        """p(M): the least payment with which a dictated bid vector wins (Definition 2.2)."""

    def cheapest_winning_bids(self, n_slots: int) -> tuple[float, ...]:
        """A dictated bid vector that wins at the minimum payment: one bid at p(M)."""
        return (self.minimum_payment,) + (0.0,) * (n_slots - 1)

    def menu(self) -> Menu:
        """Theorem 2.3: the mechanism acts as the posted price p(M)."""
        return Menu.posted(self.minimum_payment)

    def describe(self) -> dict:
        return {"class": self.name, "minimum_payment": self.minimum_payment}


def _nonnegative(value: float, what: str) -> float:
    value = float(value)
    if not 0.0 <= value < math.inf:
        raise MechanismError(f"{what} must be a number >= 0, got {value}")
    return value


@dataclass(frozen=True)
class PostedPrice(DeterministicMechanism):
    """Sell to the first forwarded bid at or above ``price``, for ``price``."""

    price: float
    name = "posted_price"

    def __post_init__(self):
        _nonnegative(self.price, "a posted price")

    def outcome(self, bids):
        for slot, b in enumerate(bids):
            if b >= self.price:
                return slot, self.price
        return None, 0.0

    @property
    def minimum_payment(self):
        return self.price

    def describe(self):
        return {"class": self.name, "price": self.price, "minimum_payment": self.price}


@dataclass(frozen=True)
class _ReserveAuction(DeterministicMechanism):
    """A highest-bid auction with a reserve: the highest bid at or above it wins.

    A bidder dictating every bid wins by bidding the reserve alone, paying it,
    so p(M) = reserve (Definition 2.2).
    """

    reserve: float = 0.0

    def __post_init__(self):
        _nonnegative(self.reserve, "a reserve")

    def outcome(self, bids):
        bids = list(bids)
        if not bids or max(bids) < self.reserve:
            return None, 0.0
        slot = int(np.argmax(bids))
        return slot, self.payment(bids, slot)

    @abstractmethod
    def payment(self, bids: list[float], slot: int) -> float:
        """What the winner in ``slot`` pays."""

    @property
    def minimum_payment(self):
        return self.reserve

    def describe(self):
        return {"class": self.name, "reserve": self.reserve, "minimum_payment": self.reserve}


@dataclass(frozen=True)
class SecondPriceAuction(_ReserveAuction):
    """Highest bid at or above ``reserve`` wins and pays max(reserve, second bid)."""

    name = "second_price_auction"

    def payment(self, bids, slot):
        return max([self.reserve] + bids[:slot] + bids[slot + 1:])


@dataclass(frozen=True)
class FirstPriceAuction(_ReserveAuction):
    """Highest bid at or above ``reserve`` wins and pays its bid."""

    name = "first_price_auction"

    def payment(self, bids, slot):
        return bids[slot]


def minimum_payment_by_search(mechanism: DeterministicMechanism, n_slots: int,
                              grid: Sequence[float]) -> tuple[float, tuple[float, ...]]:
    """Least payment over all dictated bid vectors in ``grid``^n_slots that win (Definition 2.2).

    Brute force, for mechanisms without a known reduction and to check those
    that have one. Returns (payment, bid vector); raises if no vector wins.
    """
    best: tuple[float, tuple[float, ...]] | None = None
    for bids in itertools.product(grid, repeat=n_slots):
        slot, pay = mechanism.outcome(bids)
        if slot is not None and (best is None or pay < best[0]):
            best = (pay, tuple(bids))
    if best is None:
        raise MechanismError(f"no bid vector on the grid wins in {mechanism!r}")
    return best
