"""Nature's value generators: the adversarial distributions of the robust-mechanism thesis.

Each generator draws value profiles (rows; one column per bidder, or per item
for a single buyer of several items) and knows the exact expectation of a
function of the profile, so that simulated averages can be compared with
exact values:

* :func:`extremal` - Q^(1), Q_ε^(2), Q_ε^(3) of Propositions 1.5.5-1.5.7, the
  worst cases of a second-price auction with reserve against a Markov set
  (or the point mass at μe for reserves above the mean, which is also the
  worst case of the optimal highest-bidder lottery);
* :class:`EqualRevenueLimit` - nature's equilibrium strategy P* of Chapter 2
  (2.10): P[v <= x] = 1 - (v̄ - c)/(e (x - c)) on [c + (v̄ - c)/e, v̄), an
  atom 1/e at v̄, comonotone across items;
* :class:`OneRandomHigh` - nature's strategy P* of Chapter 3 (3.6): a bidder
  chosen uniformly draws from the equal-revenue limit, the others value 0;
* :func:`from_worst_case` - the distribution an LP (1.7) found for any mechanism;
* :class:`Independent` - honest independent draws from value distributions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.integrate import quad

from agora.market.distributions import parse_spec
from agora.market.errors import InputError
from agora.market.robust.mechanisms import Atoms, MarkovSet, _items, spa_extremal_distribution, spa_region

REGION_NAMES = {"R1": "Q1", "R2": "Q2", "R3": "Q3", "above_mean": "point mass at the mean"}


@dataclass(frozen=True)
class AtomGenerator:
    """Nature draws from finitely many profiles; expectations are exact sums."""

    atoms: Atoms
    name: str

    @property
    def columns(self) -> int:
        return self.atoms.points.shape[1]

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return self.atoms.sample(rng, size)

    def expect(self, f) -> float:
        return self.atoms.expect(f)

    def describe(self) -> dict:
        return {"generator": self.name, "atoms": self.atoms.points.tolist(),
                "probabilities": self.atoms.probabilities.tolist()}


def extremal(reserve: float, ambiguity: MarkovSet, eps: float = 1e-9) -> AtomGenerator:
    """The thesis' worst case for a second-price auction with this reserve (Q1, Q2 or Q3)."""
    return AtomGenerator(spa_extremal_distribution(reserve, ambiguity, eps),
                         REGION_NAMES[spa_region(reserve, ambiguity)])


def point_mass(profile) -> AtomGenerator:
    """Every round the same profile (e.g. μe, the lottery's worst case; a value just below a price)."""
    p = np.atleast_2d(np.asarray(profile, float))
    if p.shape[0] != 1 or np.any(p < 0) or not np.all(np.isfinite(p)):
        raise InputError(f"a point mass needs one profile of values >= 0, got {profile!r}")
    return AtomGenerator(Atoms(p, np.array([1.0])), "point mass")


def from_worst_case(worst) -> AtomGenerator:
    """Nature plays the distribution that an LP (1.7) found (:class:`WorstCase`)."""
    pts, probs = worst.atoms()
    return AtomGenerator(Atoms(pts, probs / probs.sum()), "LP worst case")


@dataclass(frozen=True)
class EqualRevenueLimit:
    """Chapter 2's P* (2.10), comonotone over ``len(upper)`` items (columns)."""

    upper: tuple[float, ...]
    cost: tuple[float, ...]

    @classmethod
    def of(cls, upper, cost=None) -> EqualRevenueLimit:
        """Items with c_j >= v̄_j are admitted (Remark 2.3.1); only non-finite or negative costs are refused."""
        vbar, c = _items(upper, cost, costs_above=True)
        return cls(tuple(vbar.tolist()), tuple(c.tolist()))

    name = "equal-revenue limit"

    @property
    def columns(self) -> int:
        return len(self.upper)

    def _at(self, s) -> np.ndarray:
        """The profile c + s (v̄ - c) at the common scale s in [1/e, 1].

        An item with c_j >= v̄_j (Remark 2.3.1) is valued at v̄_j: no price at
        or above its cost sells it, so nature's choice of its value does not matter.
        """
        vbar, c = np.array(self.upper), np.array(self.cost)
        on_sale = c < vbar
        return np.where(on_sale, c + np.asarray(s, float)[:, None] * (vbar - c), vbar)

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """s = 1/(e (1 - u)) capped at 1, one u per profile (comonotone)."""
        u = rng.random(size)
        return self._at(np.minimum(1.0, 1.0 / (math.e * (1.0 - u))))

    def expect(self, f) -> float:
        """∫ f over the density 1/(e s²) on [1/e, 1) plus f at v̄ with mass 1/e (quadrature, 1e-10)."""
        def g(s):
            return float(np.asarray(f(self._at(np.array([s]))), float)[0]) / (math.e * s * s)
        body = quad(g, 1.0 / math.e, 1.0, limit=200, epsabs=1e-12, epsrel=1e-10)[0]
        return body + float(np.asarray(f(self._at(np.array([1.0]))), float)[0]) / math.e

    def describe(self) -> dict:
        return {"generator": self.name, "upper": list(self.upper), "cost": list(self.cost)}


@dataclass(frozen=True)
class OneRandomHigh:
    """Chapter 3's P* (3.6): one bidder, chosen uniformly, draws from the equal-revenue limit; the rest 0."""

    upper: float
    bidders: int

    name = "one random bidder high, the rest zero"

    def __post_init__(self):
        if self.bidders < 1 or not 0 < self.upper < math.inf:
            raise InputError(f"need bidders >= 1 and upper > 0, got {self.bidders}, {self.upper}")

    @property
    def columns(self) -> int:
        return self.bidders

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        out = np.zeros((size, self.bidders))
        high = EqualRevenueLimit.of([self.upper]).sample(rng, size)[:, 0]
        out[np.arange(size), rng.integers(0, self.bidders, size)] = high
        return out

    def expect(self, f) -> float:
        """Average over who is high (exact) of the equal-revenue expectation (quadrature)."""
        lim = EqualRevenueLimit.of([self.upper])
        total = 0.0
        for i in range(self.bidders):
            def on_i(v, i=i):
                prof = np.zeros((len(v), self.bidders))
                prof[:, i] = v[:, 0]
                return f(prof)
            total += lim.expect(on_i)
        return total / self.bidders

    def describe(self) -> dict:
        return {"generator": self.name, "upper": self.upper, "bidders": self.bidders}


@dataclass(frozen=True)
class Independent:
    """Honest nature: independent draws from value distributions (spec strings), one per column."""

    specs: tuple[str, ...]

    name = "independent draws"

    @property
    def columns(self) -> int:
        return len(self.specs)

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return np.column_stack([parse_spec(s).rvs(size, rng) for s in self.specs])

    def describe(self) -> dict:
        return {"generator": self.name, "specs": list(self.specs)}
