"""Scores that threshold auctions rank bidders by, and the law of the highest score.

Every auction in the single-item market ranks bidders by a nondecreasing score
g_i(v_i), sells when the highest score reaches a reserve, and charges the winner
its threshold value tau_i(c) = inf{v : g_i(v) >= c} at the competing score c:

* the seller-first shifted Myerson auction ranks by virtual values phi_i(v_i)
  with reserve p (Theorem 3.1): :class:`VirtualScore`;
* a second-price auction or a posted price for the right to dictate bids ranks
  by values (Section 4): :class:`ValueScore`;
* an intermediary committed to Myerson's auction for an anticipated seller price s
  ranks bids b_i = v_i - p by phi_i(b_i + s): :class:`ShiftedVirtualScore`.

:class:`MaxScoreLaw` holds the law of the highest score,
P[max_i g_i >= c] = 1 - prod_i (1 - P[g_i >= c]), and the tie-aware chance that a
given bidder wins.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from functools import cached_property

import numpy as np

from agora.market.distributions import ValueDistribution
from agora.market.errors import InputError
from agora.market.single_item.law_stacks import ShiftedVirtualTable, SurvivalTable, VirtualTable, prob_any


def _as_array(c) -> np.ndarray:
    return np.asarray(c, dtype=float)


class Score(ABC):
    """A nondecreasing score g(V) of one bidder's value."""

    dist: ValueDistribution

    @abstractmethod
    def score(self, v) -> np.ndarray:
        """g(v)."""

    @abstractmethod
    def threshold(self, c) -> np.ndarray:
        """tau(c) = inf{v : g(v) >= c} (may lie below the support; +inf if never)."""

    @property
    @abstractmethod
    def breakpoints(self) -> tuple[float, ...]:
        """Scores where P[g(V) >= c] is not smooth in c."""

    @property
    @abstractmethod
    def atoms(self) -> tuple[float, ...]:
        """Scores with positive probability."""

    @property
    def ties_possible(self) -> bool:
        return bool(self.atoms)

    @property
    def top(self) -> float:
        """sup of g(V)."""
        return float(self.score(self.dist.hi)) if math.isfinite(self.dist.hi) else math.inf

    def prob_at_least(self, c) -> np.ndarray:
        """P[g(V) >= c]."""
        tau = self.threshold(c)
        return np.where(np.isfinite(tau), self.dist.prob_at_least(tau), 0.0)

    def prob_equal(self, c) -> np.ndarray:
        """P[g(V) = c]: the atom at the top of the support, scored."""
        c = _as_array(c)
        if self.dist.atom == 0.0:
            return np.zeros(c.shape)
        return np.where(c == self.score(self.dist.hi), self.dist.atom, 0.0)


class VirtualScore(Score):
    """g = phi, the bidder's virtual value (Theorem 3.1's ranking)."""

    def __init__(self, dist: ValueDistribution):
        self.dist = dist

    def score(self, v):
        return self.dist.virtual_value(v)

    def threshold(self, c):
        return self.dist.virtual_threshold(c)

    def prob_at_least(self, c):
        return self.dist.prob_virtual_at_least(c)

    def prob_equal(self, c):
        return self.dist.prob_virtual_equal(c)

    @property
    def breakpoints(self):
        return self.dist.virtual_breakpoints

    @property
    def atoms(self):
        return self.dist.virtual_atoms

    @property
    def ties_possible(self):
        return self.dist.ties_possible

    @property
    def top(self):
        return self.dist.hi


class ValueScore(Score):
    """g(v) = v + shift: a bid for the right, v - p, has shift = -p."""

    def __init__(self, dist: ValueDistribution, shift: float = 0.0):
        self.dist, self.shift = dist, float(shift)

    def score(self, v):
        return _as_array(v) + self.shift

    def threshold(self, c):
        return _as_array(c) - self.shift

    @property
    def breakpoints(self):
        return tuple(x + self.shift for x in (self.dist.lo, self.dist.hi) if math.isfinite(x))

    @property
    def atoms(self):
        return (self.dist.hi + self.shift,) if self.dist.atom > 0 else ()


class ShiftedVirtualScore(Score):
    """g(v) = phi^(v + delta): Myerson's ranking for an anticipated price s, seller at p, delta = s - p.

    phi^ extends phi beyond the support with slope 1 (phi^(u) = u above the top,
    phi(lo) - (lo - u) below the bottom), so it stays strictly increasing wherever
    phi is, and a bid outside what the intermediary anticipated is still ranked.
    """

    def __init__(self, dist: ValueDistribution, delta: float):
        if getattr(dist, "alpha", None) == 0.0:
            raise InputError(f"{dist.spec} has a flat virtual value; Myerson-with-shift needs a "
                             "strictly increasing one (use ALPHA > 0)")
        self.dist, self.delta = dist, float(delta)

    def score(self, v):
        u = _as_array(v) + self.delta
        inside = np.clip(u, self.dist.lo, self.dist.hi)
        return self.dist.virtual_value(inside) + (u - inside)

    def threshold(self, c):
        c = _as_array(c)
        d = self.dist
        u = np.where(c > d.hi, c, d.virtual_threshold(np.minimum(c, d.hi)))
        if math.isfinite(d.phi_lo):
            u = np.where(c < d.phi_lo, d.lo - (d.phi_lo - c), u)
        return u - self.delta

    @property
    def breakpoints(self):
        d = self.dist
        ends = [float(self.score(x)) for x in (d.lo, d.hi) if math.isfinite(x)]
        return tuple(x for x in (*ends, d.phi_lo, d.phi_top, d.hi) if math.isfinite(x))

    @property
    def atoms(self):
        return (float(self.score(self.dist.hi)),) if self.dist.atom > 0 else ()


def score_key(s: Score) -> tuple:
    """What makes two scores the same function of the same law: their class, law and shift."""
    return type(s).__name__, s.dist.spec, getattr(s, "shift", None), getattr(s, "delta", None)


SHARED_NODES_FROM = 4  # distinct scores from which win shares evaluate them at distinct nodes only (a sort)


class MaxScoreLaw:
    """Law of the highest score among independent bidders.

    Formulas over bidders are evaluated once per distinct score (:func:`score_key`) and raised
    to its multiplicity: 200 buyers drawing from two laws cost two evaluations, not 200.
    """

    def __init__(self, scores: Sequence[Score]):
        self.scores = tuple(scores)
        first: dict[tuple, int] = {}
        for i, s in enumerate(self.scores):
            first.setdefault(score_key(s), i)
        index = {key: g for g, key in enumerate(first)}
        #: bidder i's score is ``distinct[group[i]]``, shared by ``counts[group[i]]`` bidders
        self.group = np.array([index[score_key(s)] for s in self.scores], int)
        self.distinct = tuple(self.scores[i] for i in first.values())
        self.counts = np.bincount(self.group, minlength=len(self.distinct)).astype(float)
        self._tables = self._stack_tables()

    def _stack_tables(self) -> list[tuple[np.ndarray, Callable[[np.ndarray], np.ndarray]]]:
        """(rows, rows' P[g >= c]) for the distinct virtual, shifted virtual and bid scores, stacked by family
        (:mod:`agora.market.single_item.law_stacks`); the other scores keep their own methods."""
        virtual = [g for g, s in enumerate(self.distinct) if type(s) is VirtualScore]
        value = [g for g, s in enumerate(self.distinct) if type(s) is ValueScore]
        tables = []
        #: the distinct virtual scores' table (welfare reads its value densities too), or None
        self.virtual_table = VirtualTable([self.distinct[g].dist for g in virtual]) if virtual else None
        if virtual:
            tables.append((np.array(virtual), self.virtual_table.prob_virtual_at_least))
        if value:
            table = SurvivalTable([self.distinct[g].dist for g in value], [self.distinct[g].shift for g in value])

            def bids(c, table=table):  # Score.prob_at_least: no chance where the threshold c - shift is not finite
                rows = table.prob_at_least(c)
                rows[:, ~np.isfinite(c)] = 0.0  # shifts are finite prices
                return rows

            tables.append((np.array(value), bids))
        shifted = [g for g, s in enumerate(self.distinct) if type(s) is ShiftedVirtualScore]
        if shifted:
            tables.append((np.array(shifted), ShiftedVirtualTable([self.distinct[g] for g in shifted]).prob_at_least))
        others = [g for g in range(len(self.distinct)) if g not in set(virtual) | set(value) | set(shifted)]
        tables += [(np.array([g]), lambda c, s=self.distinct[g]: s.prob_at_least(c)[None]) for g in others]
        return tables

    @property
    def n(self) -> int:
        return len(self.scores)

    def each_prob_at_least(self, c) -> np.ndarray:
        """P[g_d >= c] for each distinct score d, shape (len(distinct), *c.shape)."""
        c = _as_array(c)
        if len(self._tables) == 1:  # one table holds every distinct score, in order
            return self._tables[0][1](c)
        out = np.empty((len(self.distinct),) + c.shape)
        for rows, prob in self._tables:
            out[rows] = prob(c)
        return out

    def prob_at_least(self, c) -> np.ndarray:
        """P[max_i g_i >= c] = 1 - prod_i (1 - P[g_i >= c]), accurate when small."""
        return prob_any(self.counts, self.each_prob_at_least(c))

    def prob_between(self, c: float, d: float) -> float:
        """P[c <= max score < d]."""
        upper = float(self.prob_at_least(d)) if math.isfinite(d) else 0.0
        return float(self.prob_at_least(c)) - upper

    @cached_property
    def top(self) -> float:
        return max(s.top for s in self.scores)

    @cached_property
    def breakpoints(self) -> tuple[float, ...]:
        return tuple(sorted({p for s in self.scores for p in s.breakpoints if math.isfinite(p)}))

    @cached_property
    def atoms(self) -> tuple[float, ...]:
        return tuple(sorted({a for s in self.scores for a in s.atoms}))

    def win_share(self, owner: np.ndarray, c: np.ndarray) -> np.ndarray:
        """E[1{others' scores <= c} / (1 + #others at c)]: bidder ``owner`` wins with score c.

        Uniform tie-breaking; where ties are possible it integrates
        prod_j (P[g_j < c] + P[g_j = c] z) over z in [0, 1] (Gauss-Legendre, exact).
        The product runs over distinct scores, each raised to how many others hold it.
        """
        tying = [g for g, s in enumerate(self.distinct) if s.ties_possible]
        if not tying:
            return self._share_without_ties(owner, c)
        cols = np.arange(c.size)
        below = 1.0 - self.each_prob_at_least(c)
        others = np.repeat(self.counts[:, None], c.size, axis=1)
        others[self.group[owner], cols] -= 1.0
        share = np.prod(below ** others, axis=0)
        equal = np.zeros_like(below)
        for g in tying:
            equal[g] = self.distinct[g].prob_equal(c)
        tied = np.any((equal > 0) & (others > 0), axis=0)
        if np.any(tied):
            z, w = np.polynomial.legendre.leggauss(self.n // 2 + 1)
            z, w = 0.5 * (z + 1.0), 0.5 * w
            a, e, k = below[:, tied], equal[:, tied], others[:, tied]
            share[tied] = np.einsum("k,kj->j", w, np.prod((a[None] + e[None] * z[:, None, None]) ** k[None], axis=1))
        return share

    def _share_without_ties(self, owner: np.ndarray, c: np.ndarray) -> np.ndarray:
        """prod_{j != owner} P[g_j < c] with no atoms: the law of every score tabulated once per distinct c.

        Owners' quadrature nodes share scores (every bid v - p is cut at the same points), so from
        SHARED_NODES_FROM distinct scores on their chances are evaluated at the distinct c only, and
        bidder i's share is the product over all scores with its own factor taken out, in logs:
        exp(sum_d counts_d log P[g_d < c] - log P[g_i < c]), zero where some other score is sure to reach c.
        """
        if len(self.distinct) < SHARED_NODES_FROM:
            values, where = c.reshape(-1), np.arange(c.size)
        else:
            values, where = np.unique(c, return_inverse=True)
        if self._compiled_rows is not None:
            return self._compiled_share(owner, c, values, where)
        below = 1.0 - self.each_prob_at_least(values)
        sure = below <= 0.0
        with np.errstate(divide="ignore"):
            logs = np.where(sure, 0.0, np.log(np.where(sure, 1.0, below)))
        total, reached = self.counts @ logs, self.counts @ sure
        own, where = self.group[owner].reshape(-1), where.reshape(-1)
        share = np.exp(total[where] - logs[own, where])
        return np.where(reached[where] - sure[own, where] > 0.0, 0.0, share).reshape(c.shape)

    @cached_property
    def _compiled_rows(self) -> np.ndarray | None:
        """The distinct scores as rows of the compiled kernels, or None where some law is not covered
        (numba is imported on first use: the seller-first solver never needs it)."""
        from agora.market.single_item.score_kernels import score_rows

        return score_rows(self.distinct)

    def _compiled_share(self, owner, c, values, where) -> np.ndarray:
        """:meth:`_share_without_ties` by the compiled kernels (:mod:`score_kernels`), one pass per node."""
        from agora.market.single_item.score_kernels import log_below_sums, own_log_below

        rows = self._compiled_rows
        total, reached = np.empty(values.size), np.empty(values.size)
        log_below_sums(rows, self.counts, values, total, reached)
        flat = c.reshape(-1)
        own = self.group[owner].reshape(-1)
        logs, sure = np.empty(flat.size), np.empty(flat.size, bool)
        own_log_below(rows, own, flat, logs, sure)
        where = where.reshape(-1)
        share = np.exp(total[where] - logs)
        return np.where(reached[where] - sure > 0.0, 0.0, share).reshape(c.shape)
