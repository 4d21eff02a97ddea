"""Vectorized Monte Carlo of seller-first rounds (the second of three evaluators).

Given a matrix of value profiles (rounds x bidders), every round of the
seller-first market is computed at once with array operations: virtual values,
the winner (highest phi, ties broken by a random priority), the menu option the
intermediary takes (Lemma 3.10), delivery by the seller's lottery, and the
winner's Myerson fee (Theorem 3.1). The code shares only the distributions'
phi and phi^-1 with the agent-based model, so the two check each other.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from agora.market.distributions import ValueDistribution, parse_spec
from agora.market.errors import InputError
from agora.market.single_item.right_auctions import RightAuction
from agora.market.single_item.scores import Score, VirtualScore
from agora.market.single_item.seller_mechanisms import Menu

CHUNK_VALUES = 1 << 20  # bidder values per chunk: bounds memory at a few tens of MB

QUANTITIES = ("seller_revenue", "intermediary_revenue", "welfare", "sale", "buyer_utility")


@dataclass(frozen=True)
class Rounds:
    """Per-round outcomes of any single-item protocol; ``winner`` is -1 when nothing was sold."""

    winner: np.ndarray
    delivered: np.ndarray
    seller_revenue: np.ndarray
    intermediary_revenue: np.ndarray
    welfare: np.ndarray

    @property
    def sale(self) -> np.ndarray:
        return self.delivered.astype(float)

    @property
    def buyer_utility(self) -> np.ndarray:
        """Winner's value minus everything it paid (0 for losers, who pay nothing)."""
        return self.welfare - self.seller_revenue - self.intermediary_revenue


def _same_law(bidders: Sequence[ValueDistribution]) -> list[tuple[ValueDistribution, list[int]]]:
    """Bidders grouped by distribution spec, so identical bidders share one phi^-1 call."""
    groups: dict[str, tuple[ValueDistribution, list[int]]] = {}
    for i, b in enumerate(bidders):
        groups.setdefault(b.spec, (b, []))[1].append(i)
    return list(groups.values())


def virtual_matrix(bidders: Sequence[ValueDistribution], values: np.ndarray) -> np.ndarray:
    return np.column_stack([b.virtual_value(values[:, i]) for i, b in enumerate(bidders)])


def top_two(scores: np.ndarray, priority: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per row: the winner (highest score, ties to the highest priority), its score, the best rival score."""
    rows, n = scores.shape
    if priority is None:
        winner = np.argmax(scores, axis=1)
    else:
        top = scores.max(axis=1, keepdims=True)
        winner = np.argmax(np.where(scores == top, priority, -np.inf), axis=1)
    best = scores[np.arange(rows), winner]
    if n == 1:
        rival = np.full(rows, -np.inf)
    elif n == 2:
        rival = scores.min(axis=1)
    else:
        rival = np.partition(scores, n - 2, axis=1)[:, n - 2]
    return winner, best, rival


def seller_first_rounds(bidders: Sequence[ValueDistribution], menu: Menu, values: np.ndarray,
                        priority: np.ndarray | None = None,
                        lottery: np.ndarray | None = None) -> Rounds:
    """Outcomes of seller-first rounds on given values (rounds x bidders).

    ``priority`` (same shape) breaks ties in phi, highest first; ``lottery``
    (one uniform per round) decides delivery of a menu option with x < 1.
    """
    values = np.asarray(values, float)
    rows, n = values.shape
    winner, Phi, rival = top_two(virtual_matrix(bidders, values), priority)
    option = menu.choose(Phi)
    sold = option >= 0
    x = np.where(sold, menu.probabilities()[np.maximum(option, 0)], 0.0)
    price = np.where(sold, menu.prices()[np.maximum(option, 0)], 0.0)
    delivered = sold if lottery is None else sold & (lottery < x)
    v = values[np.arange(rows), winner]
    covered = np.zeros(rows)
    for b, members in _same_law(bidders):
        sel = sold if len(members) == n else sold & np.isin(winner, members)
        if not np.any(sel):
            continue
        for r in menu.regions:
            z_lo = b.virtual_threshold(np.maximum(r.start, rival[sel]))
            z_hi = float(b.virtual_threshold(r.end)) if math.isfinite(r.end) else math.inf
            length = np.minimum(v[sel], z_hi) - z_lo
            covered[sel] += menu.options[r.option].probability * np.maximum(length, 0.0)
    fee = np.where(sold, x * (v - price) - covered, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        fee_on_delivery = np.where(delivered, fee / np.where(x > 0, x, 1.0), 0.0)
    return Rounds(
        winner=np.where(sold, winner, -1),
        delivered=delivered,
        seller_revenue=np.where(delivered, price, 0.0),
        intermediary_revenue=fee_on_delivery,
        welfare=np.where(delivered, v, 0.0),
    )


def intermediary_first_rounds(bidders: Sequence[ValueDistribution], auction: RightAuction, price: float,
                              values: np.ndarray, priority: np.ndarray | None = None) -> Rounds:
    """Outcomes of rounds where the intermediary committed to ``auction`` and the seller posts ``price``.

    Buyers bid v - price for the right (truthful: every class here is dominant-strategy
    truthful); the auction ranks bids by its scores and charges its price or the threshold bid.
    """
    values = np.asarray(values, float)
    rows = values.shape[0]
    bids = values - price
    scores = auction.scores(bidders, 0.0)  # with p = 0 a score's argument is the bid
    winner, best, rival = top_two(np.column_stack([s.score(bids[:, i]) for i, s in enumerate(scores)]),
                                  priority)
    sold = best >= auction.reserve
    pay = np.full(rows, auction.parameter)
    if auction.threshold_payment:
        level = np.maximum(auction.reserve, rival)
        for i, s in enumerate(scores):
            sel = sold & (winner == i)
            pay[sel] = s.threshold(level[sel])
    v = values[np.arange(rows), winner]
    return Rounds(winner=np.where(sold, winner, -1), delivered=sold,
                  seller_revenue=np.where(sold, price, 0.0),
                  intermediary_revenue=np.where(sold, pay, 0.0), welfare=np.where(sold, v, 0.0))


@dataclass(frozen=True)
class MonteCarloEstimate:
    """Sample means and their standard errors over ``rounds`` independent rounds."""

    rounds: int
    mean: dict[str, float]
    stderr: dict[str, float]

    def within(self, name: str, exact: float, sigmas: float = 4.0) -> bool:
        """Is ``exact`` within ``sigmas`` standard errors (plus rounding) of the estimate?"""
        return abs(self.mean[name] - exact) <= sigmas * self.stderr[name] + 1e-12 * max(1.0, abs(exact))


def ties_possible(scores: Sequence[Score]) -> bool:
    """Can two bidders share the highest score with positive probability?"""
    return any(s.ties_possible for s in scores)


def estimate(bidders: Sequence[ValueDistribution], rounds: int, rng: np.random.Generator,
             play) -> MonteCarloEstimate:
    """Means and standard errors over ``rounds`` rounds; ``play(values, rng)`` plays a chunk."""
    if rounds < 1:
        raise InputError(f"Monte Carlo needs rounds >= 1, got {rounds}")
    n = len(bidders)
    sums = dict.fromkeys(QUANTITIES, 0.0)
    squares = dict.fromkeys(QUANTITIES, 0.0)
    chunk = max(1, CHUNK_VALUES // n)
    done = 0
    while done < rounds:
        m = min(chunk, rounds - done)
        out = play(np.column_stack([b.rvs(m, rng) for b in bidders]), rng)
        for q in QUANTITIES:
            a = getattr(out, q)
            sums[q] += float(a.sum())
            squares[q] += float(np.dot(a, a))
        done += m
    mean = {q: sums[q] / rounds for q in QUANTITIES}
    var = {q: max(squares[q] / rounds - mean[q] ** 2, 0.0) for q in QUANTITIES}
    stderr = {q: math.sqrt(var[q] / max(rounds - 1, 1)) for q in QUANTITIES}
    return MonteCarloEstimate(rounds, mean, stderr)


def simulate_seller_first(bidders: Sequence[ValueDistribution | str], menu: Menu, rounds: int,
                          rng: np.random.Generator) -> MonteCarloEstimate:
    """Monte Carlo estimate of every party's expected outcome in the seller-first market."""
    bidders = [parse_spec(b) for b in bidders]
    tie = ties_possible([VirtualScore(b) for b in bidders])
    lottery = not menu.is_posted_price

    def play(values, rng):
        m, n = values.shape
        return seller_first_rounds(bidders, menu, values, priority=rng.random((m, n)) if tie else None,
                                   lottery=rng.random(m) if lottery else None)

    return estimate(bidders, rounds, rng, play)


def simulate_intermediary_first(bidders: Sequence[ValueDistribution | str], auction: RightAuction,
                                price: float, rounds: int, rng: np.random.Generator) -> MonteCarloEstimate:
    """Monte Carlo estimate when the intermediary committed to ``auction`` and the seller posts ``price``."""
    bidders = [parse_spec(b) for b in bidders]
    tie = ties_possible(auction.scores(bidders, price))
    return estimate(bidders, rounds, rng, lambda values, rng: intermediary_first_rounds(
        bidders, auction, price, values, priority=rng.random(values.shape) if tie else None))
