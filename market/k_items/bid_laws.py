"""Exact laws of the bids facing an intermediary in the (k+1)-th-price auction
(intermediary-proof-mechanisms, Section 3), and its exact payoff terms against them.

A law is a finite list of atoms: the k + 1 highest bids other than the own, each with a ranking
key, a value (what the price becomes when it is the (k+1)-th bid) and a worth (the conditional
mean value of a single buyer's bid, for welfare; 0 for an intermediary's), with their mass.
Intermediaries bid on a grid: a rival ahead of the own intermediary in the random priority
(ties at one level, as in ``UniformPriceAuction.run``) has key = bid + EPS, one behind key = bid - EPS.
A single-buyer intermediary bids its buyer's score (Proposition 1), a continuous law: the singles'
cells (:mod:`agora.market.k_items.cells`, bins cut at the grid's levels) fix where each bid falls
between levels (key: inside the gap, never tied with a grid bid) and, given the cell, the mean of
the score that sets the price, exactly.

Own bids beta_1 >= ... >= beta_x on the grid against an atom o_1 >= ... >= o_{k+1} (by key): the
j-th wins iff beta_j > key(o_{k+1-j}); wins form a prefix of length w and the price is
max(r, beta_{w+1}, o_{k+1-w}), the (k+1)-th highest bid. Given the atom w and the price are fixed,
so P[w >= j] and E[w price] are finite sums, exact; the utility at scores s is linear in s:
U(beta; s) = sum_j s_j P[w >= j] - E[w price].
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

EPS = 1e-9
CHUNK = 1 << 21  # candidates x atoms per block


@dataclass(frozen=True)
class Law:
    """Atoms of the k + 1 highest rival bids (module doc); columns highest first, -inf pads."""

    keys: np.ndarray
    vals: np.ndarray
    worth: np.ndarray
    mass: np.ndarray

    @classmethod
    def empty(cls, k: int) -> Law:
        pad = np.full((1, k + 1), -np.inf)
        return cls(pad, pad.copy(), np.zeros((1, k + 1)), np.ones(1))

    def merged(self) -> Law:
        """Equal atoms summed, atoms of zero mass dropped."""
        rows = np.concatenate([self.keys, self.vals, self.worth], axis=1)
        uniq, inv = np.unique(rows, axis=0, return_inverse=True)
        mass = np.bincount(inv.ravel(), weights=self.mass, minlength=len(uniq))
        keep = mass > 0
        c = self.keys.shape[1]
        return Law(uniq[keep, :c], uniq[keep, c:2 * c], uniq[keep, 2 * c:], mass[keep])


def combine(a: Law, b: Law) -> Law:
    """The law of the k + 1 highest bids of two independent sources."""
    c = a.keys.shape[1]
    na, nb = len(a.mass), len(b.mass)

    def pair(x, y):
        return np.concatenate([np.repeat(x, nb, axis=0), np.tile(y, (na, 1))], axis=1)

    keys, vals, worth = pair(a.keys, b.keys), pair(a.vals, b.vals), pair(a.worth, b.worth)
    order = np.lexsort((-vals, -keys), axis=1)[:, :c]
    take = lambda z: np.take_along_axis(z, order, axis=1)  # noqa: E731
    return Law(take(keys), take(vals), take(worth), np.outer(a.mass, b.mass).ravel()).merged()


def mixture(laws: list[Law], weights) -> Law:
    """The law drawn from ``laws`` with probabilities ``weights``."""
    return Law(np.concatenate([law.keys for law in laws]), np.concatenate([law.vals for law in laws]),
               np.concatenate([law.worth for law in laws]),
               np.concatenate([w * law.mass for law, w in zip(laws, weights)])).merged()


def bid_law(cands: np.ndarray, weights: np.ndarray, k: int, shift: float) -> Law:
    """The law of an intermediary bidding row c of ``cands`` with probability ``weights[c]``, its keys
    shifted by ``shift`` (ahead of or behind the own intermediary at ties)."""
    keep = weights > 0
    v = np.full((int(keep.sum()), k + 1), -np.inf)
    v[:, :cands.shape[1]] = cands[keep]
    return Law(v + shift, v, np.zeros(v.shape), weights[keep]).merged()


def ahead_probabilities(rivals: int) -> dict[tuple[bool, ...], float]:
    """P[exactly the rivals flagged are ahead of the own intermediary in a uniform priority order]:
    |S|! (O - |S|)! / (O + 1)! for a set S of the O rivals."""
    return {flags: math.factorial(sum(flags)) * math.factorial(rivals - sum(flags)) / math.factorial(rivals + 1)
            for flags in itertools.product((False, True), repeat=rivals)}


def candidates(levels: np.ndarray, x: int) -> np.ndarray:
    """Every non-increasing vector of 0..x bids on ``levels`` (-inf pads): fewer bids first, then lower."""
    rows = [np.full(x, -np.inf)]
    for c in range(1, x + 1):
        for combo in itertools.combinations_with_replacement(np.sort(levels), c):
            rows.append(np.concatenate([combo[::-1], np.full(x - c, -np.inf)]))
    return np.array(rows).reshape(-1, x)


def unit_terms(cands: np.ndarray, law: Law, k: int, r: float) -> tuple[np.ndarray, np.ndarray]:
    """(P[w >= j] for j = 1..x, E[w price]) for each row of ``cands`` against ``law`` (module doc)."""
    x = cands.shape[1]
    win, pay = np.zeros(cands.shape), np.zeros(cands.shape[0])
    step = max(1, CHUNK // len(law.mass))
    for a in range(0, cands.shape[0], step):
        c = cands[a:a + step]
        alive = np.ones((c.shape[0], len(law.mass)), bool)
        w = np.zeros(alive.shape, int)
        for j in range(x):
            alive &= c[:, j][:, None] > law.keys[None, :, k - 1 - j]
            win[a:a + step, j] = alive @ law.mass
            w += alive
        padded = np.concatenate([c, np.full((c.shape[0], 1), -np.inf)], axis=1)
        own_next = np.take_along_axis(padded, w, axis=1)
        other = np.take_along_axis(np.broadcast_to(law.vals, (c.shape[0],) + law.vals.shape),
                                   (k - w)[..., None], axis=2)[..., 0]
        pay[a:a + step] = (w * np.maximum(r, np.maximum(own_next, other))) @ law.mass
    return win, pay


def seller_terms(law: Law, k: int, r: float) -> tuple[float, float]:
    """(E[revenue], E[worth of the singles among the k winners]) from the law of all bids."""
    placed = np.isfinite(law.keys).sum(axis=1)
    revenue = np.minimum(placed, k) * np.maximum(r, law.vals[:, k])
    return float(revenue @ law.mass), float(law.worth[:, :k].sum(axis=1) @ law.mass)
