"""Vectorized Monte Carlo of seller-first rounds (the second of three evaluators).

Given a matrix of value profiles (rounds x bidders), every round of the
seller-first market is computed at once with array operations: virtual values,
the winner (highest phi, ties broken by a random priority), the menu option the
intermediary takes (Lemma 3.10), delivery by the seller's lottery, and the
winner's Myerson fee (Theorem 3.1). The code shares only the distributions'
phi and phi^-1 with the agent-based model, so the two check each other.

:func:`simulate_seller_first` runs the same rounds fused (:func:`fused_seller_first`):
each bidder's values are drawn, turned into phi and folded into the round's top two
block by block, in the random stream and with the outcomes of the matrix form, bit for bit.
For the closed-form laws (uniform, exponential, Pareto) the work after numpy's generator is
compiled (:mod:`~agora.market.single_item.fused_kernels`, imported on first use, so that numba
is loaded only by the runs that simulate): one pass per block ends the inverse
CDF in place, takes phi once and folds it into the round's top two, and a posted price is
settled in one more pass per chunk.
Sums of squares are taken with ``einsum`` (single-threaded, so the standard errors do not
depend on a BLAS library's thread count, as ``np.dot``'s did in their last bits).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, fields

import numpy as np

from agora.market.distributions import ValueDistribution, parse_spec
from agora.market.errors import InputError
from agora.market.single_item.inplace_laws import (
    draw_into,
    draws_in_place,
    thresholds_in_closed_form,
    virtual_in_place,
    virtual_into,
)
from agora.market.single_item.right_auctions import RightAuction
from agora.market.single_item.scores import Score, VirtualScore
from agora.market.single_item.seller_mechanisms import Menu

CHUNK_VALUES = 1 << 20  # bidder values per chunk: bounds memory at a few tens of MB
BLOCK = 1 << 15  # values per fused pass: a block's few working arrays stay in the L2 cache (measured best)

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
    winner, Phi, rival = top_two(virtual_matrix(bidders, values), priority)
    v = values[np.arange(values.shape[0]), winner]
    return settle_seller_first(bidders, menu, winner, Phi, rival, v, lottery)


def _rows_by_law(bidders: Sequence[ValueDistribution], winner: np.ndarray,
                 sold: np.ndarray) -> list[tuple[ValueDistribution, np.ndarray]]:
    """The rounds sold to each law's bidders (ascending), one sort instead of a mask per law."""
    groups = _same_law(bidders)
    if len(groups) == 1:
        return [(groups[0][0], np.flatnonzero(sold))]
    law = np.empty(len(bidders), np.intp)
    for g, (_, members) in enumerate(groups):
        law[members] = g
    rows = np.flatnonzero(sold)
    of_row = law[winner[rows]]
    order = np.argsort(of_row, kind="stable")
    ends = np.cumsum(np.bincount(of_row, minlength=len(groups)))
    starts = ends - np.bincount(of_row, minlength=len(groups))
    return [(b, rows[order[s:e]]) for (b, _), s, e in zip(groups, starts, ends)]


def settle_seller_first(bidders: Sequence[ValueDistribution], menu: Menu, winner: np.ndarray,
                        Phi: np.ndarray, rival: np.ndarray, v: np.ndarray,
                        lottery: np.ndarray | None) -> Rounds:
    """Rounds settled from the top of each round: the winner, its phi and value, the best rival phi.

    The intermediary takes the menu option best at ``Phi`` (Lemma 3.10); the seller's lottery
    delivers it; the winner pays the price on delivery and the Myerson fee: x (v - p) minus the
    allocation integrated from its threshold phi^-1(max(region start, rival)) (Theorem 3.1).
    """
    if menu.is_posted_price and lottery is None:
        return _settle_posted(bidders, menu.options[0].price, winner, Phi, rival, v)
    rows = Phi.shape[0]
    option = menu.choose(Phi)
    sold = option >= 0
    x = np.where(sold, menu.probabilities()[np.maximum(option, 0)], 0.0)
    price = np.where(sold, menu.prices()[np.maximum(option, 0)], 0.0)
    delivered = sold if lottery is None else sold & (lottery < x)
    covered = np.zeros(rows)
    for b, sel in _rows_by_law(bidders, winner, sold):
        if sel.size == 0:
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


def _settle_posted(bidders: Sequence[ValueDistribution], price: float, winner: np.ndarray, Phi: np.ndarray,
                   rival: np.ndarray, v: np.ndarray) -> Rounds:
    """:func:`settle_seller_first` for the posted price {(1, price)}: x = 1, so the same numbers with fewer steps.

    The fee is v - price minus (v - phi^-1(max(price, rival))), the Myerson payment less the price.
    """
    sold = Phi >= price
    covered = np.zeros(Phi.shape[0])
    for b, sel in _rows_by_law(bidders, winner, sold):
        if sel.size:
            covered[sel] += np.maximum(v[sel] - b.virtual_threshold(np.maximum(price, rival[sel])), 0.0)
    return Rounds(winner=np.where(sold, winner, -1), delivered=sold,
                  seller_revenue=np.where(sold, price, 0.0),
                  intermediary_revenue=np.where(sold, (v - price) - covered, 0.0),
                  welfare=np.where(sold, v, 0.0))


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
    chunk = max(1, CHUNK_VALUES // n)

    def chunks():
        for done in range(0, rounds, chunk):
            m = min(chunk, rounds - done)
            yield play(np.column_stack([b.rvs(m, rng) for b in bidders]), rng)

    return _moments(chunks(), rounds)


class _TopOfRounds:
    """Per round, the running winner, its phi and the best rival phi, over the bidders so far.

    Bidders arrive one at a time (the order ``rng`` draws them in), each as blocks of rounds:
    a strictly higher phi takes the lead, so equal phis stay with the first bidder, as argmax.
    Leaders come in increasing index order, so the winner is the largest index that led.
    """

    def __init__(self, rounds: int, width: int):
        self.winner = np.zeros(rounds, np.intp)
        self.Phi = np.empty(rounds)
        self.rival = np.empty(rounds)
        self._lead, self._index, self._low = np.empty(width, bool), np.empty(width, np.intp), np.empty(width)

    def reset(self, rounds: int) -> None:
        self.winner[:rounds] = 0
        self.rival[:rounds] = -np.inf

    def add(self, i: int, at: slice, phi: np.ndarray) -> None:
        best, rival = self.Phi[at], self.rival[at]
        if i == 0:
            best[:] = phi
            return
        w = phi.size
        lead, index, low = self._lead[:w], self._index[:w], self._low[:w]
        np.greater(phi, best, out=lead)
        np.minimum(phi, best, out=low)
        np.maximum(rival, low, out=rival)
        np.maximum(best, phi, out=best)
        np.multiply(lead, i, out=index)
        np.maximum(self.winner[at], index, out=self.winner[at])


def priority_rows(rng: np.random.Generator, rows: np.ndarray, m: int, n: int) -> np.ndarray:
    """``rng.random((m, n))[rows]``, leaving ``rng`` exactly where drawing the whole matrix would.

    With a PCG64 generator (numpy's default) and few rows, the rows are read by skipping
    ahead (``advance``: one 64-bit step per double) instead of drawing m * n doubles.
    """
    gen = rng.bit_generator
    if type(gen) not in (np.random.PCG64, np.random.PCG64DXSM) or 16 * rows.size > m:
        return rng.random((m, n))[rows]
    buffered = gen.state  # advance() drops a buffered 32-bit half: put it back afterwards
    out = np.empty((rows.size, n))
    at = 0
    for k, r in enumerate(rows.tolist()):
        gen.advance(r * n - at)
        rng.random(out=out[k])
        at = (r + 1) * n
    gen.advance(m * n - at)
    state = gen.state
    state["has_uint32"], state["uinteger"] = buffered["has_uint32"], buffered["uinteger"]
    gen.state = state
    return out


def _break_ties(bidders, values: np.ndarray, top: _TopOfRounds, m: int, rng) -> None:
    """Rounds where the top phi is shared go to the tied bidder with the highest priority."""
    n = len(bidders)
    rows = np.flatnonzero(top.rival[:m] == top.Phi[:m]) if n > 1 else np.empty(0, np.intp)
    priority = priority_rows(rng, rows, m, n)
    if rows.size == 0:
        return
    scores = np.column_stack([b.virtual_value(values[i, rows]) for i, b in enumerate(bidders)])
    tied = np.where(scores == top.Phi[rows, None], priority, -np.inf)
    top.winner[rows] = np.argmax(tied, axis=1)


def fused_seller_first(bidders: Sequence[ValueDistribution], menu: Menu, rounds: int,
                       rng: np.random.Generator, block: int = BLOCK):
    """Seller-first rounds, chunk by chunk, each bidder's draws transformed and reduced block by block.

    Yields one :class:`Rounds` per chunk of ``CHUNK_VALUES // n`` rounds. The random stream is
    the one of :func:`seller_first_rounds` on ``column_stack([b.rvs(m, rng) for b in bidders])``
    followed by ``rng.random((m, n))`` (ties possible) and ``rng.random(m)`` (a lottery), and the
    outcomes are the same bit for bit; but every value is drawn, turned into phi and folded into
    the round's top two in one pass over a cache-sized block, and priorities are read only for
    the rounds with a tie at the top. The yielded arrays are overwritten by the next chunk.
    """
    from agora.market.single_item.fused_kernels import compiled, draw_head, fold_block, law_table, settle_posted

    n = len(bidders)
    tie = ties_possible([VirtualScore(b) for b in bidders])
    lottery = not menu.is_posted_price
    chunk = max(1, CHUNK_VALUES // n)
    width = min(block, chunk)
    values = np.empty((n, min(chunk, rounds)))
    phi, atom = np.empty(width), np.empty(width, bool)
    top = _TopOfRounds(values.shape[1], width)
    settled = Rounds(np.empty(values.shape[1], np.intp), np.empty(values.shape[1], bool),
                     *(np.empty(values.shape[1]) for _ in range(3)))  # reused by every chunk
    inplace = [draws_in_place(b) for b in bidders]
    closed = [virtual_in_place(b) for b in bidders]
    kernel = [compiled(b) for b in bidders]
    laws = law_table([b for b, k in zip(bidders, kernel) if k])
    row = np.cumsum(kernel) - 1  # each compiled bidder's row of ``laws``
    by_block = all(thresholds_in_closed_form(b) for b in bidders)  # else settle the chunk at once
    posted = menu.is_posted_price and all(kernel)
    done = 0
    while done < rounds:
        m = min(chunk, rounds - done)
        if not kernel[0]:
            top.reset(m)
        for i, b in enumerate(bidders):
            if not inplace[i]:
                values[i, :m] = b.rvs(m, rng)
            for lo in range(0, m, width):
                at = slice(lo, min(lo + width, m))
                w = at.stop - at.start
                v = values[i, at]
                if kernel[i]:
                    draw_head(b, rng, v)
                    fold_block(v, laws[row[i]], i, top.Phi[at], top.rival[at], top.winner[at])
                    continue
                if inplace[i]:
                    draw_into(b, rng, v)
                if closed[i]:
                    virtual_into(b, v, phi[:w], atom[:w])
                else:
                    phi[:w] = b.virtual_value(v)
                top.add(i, at, phi[:w])
        if tie:
            _break_ties(bidders, values, top, m, rng)
        draw = rng.random(m) if lottery else None
        winner, Phi, rival = top.winner[:m], top.Phi[:m], top.rival[:m]
        if posted:
            settle_posted(values, laws, menu.options[0].price, winner, Phi, rival,
                          *(getattr(settled, f.name)[:m] for f in fields(Rounds)))
            yield Rounds(*(getattr(settled, f.name)[:m] for f in fields(Rounds)))
            done += m
            continue
        v = values[winner, np.arange(m)]
        if not by_block:
            yield settle_seller_first(bidders, menu, winner, Phi, rival, v, draw)
        else:
            for lo in range(0, m, width):
                at = slice(lo, min(lo + width, m))
                part = settle_seller_first(bidders, menu, winner[at], Phi[at], rival[at], v[at],
                                           None if draw is None else draw[at])
                for f in fields(Rounds):
                    getattr(settled, f.name)[at] = getattr(part, f.name)
            yield Rounds(*(getattr(settled, f.name)[:m] for f in fields(Rounds)))
        done += m


def _moments(chunks, rounds: int) -> MonteCarloEstimate:
    """Means and standard errors over ``rounds`` rounds delivered as chunks of :class:`Rounds`."""
    sums = dict.fromkeys(QUANTITIES, 0.0)
    squares = dict.fromkeys(QUANTITIES, 0.0)
    for out in chunks:
        for q in QUANTITIES:
            a = getattr(out, q)
            sums[q] += float(a.sum())
            squares[q] += float(np.einsum("i,i->", a, a))
    mean = {q: sums[q] / rounds for q in QUANTITIES}
    var = {q: max(squares[q] / rounds - mean[q] ** 2, 0.0) for q in QUANTITIES}
    stderr = {q: math.sqrt(var[q] / max(rounds - 1, 1)) for q in QUANTITIES}
    return MonteCarloEstimate(rounds, mean, stderr)


def simulate_seller_first(bidders: Sequence[ValueDistribution | str], menu: Menu, rounds: int,
                          rng: np.random.Generator) -> MonteCarloEstimate:
    """Monte Carlo estimate of every party's expected outcome in the seller-first market.

    The same numbers, bit for bit, as :func:`estimate` playing :func:`seller_first_rounds`
    on the same generator; computed by :func:`fused_seller_first`.
    """
    if rounds < 1:
        raise InputError(f"Monte Carlo needs rounds >= 1, got {rounds}")
    bidders = [parse_spec(b) for b in bidders]
    return _moments(fused_seller_first(bidders, menu, rounds, rng), rounds)


def simulate_intermediary_first(bidders: Sequence[ValueDistribution | str], auction: RightAuction,
                                price: float, rounds: int, rng: np.random.Generator) -> MonteCarloEstimate:
    """Monte Carlo estimate when the intermediary committed to ``auction`` and the seller posts ``price``."""
    bidders = [parse_spec(b) for b in bidders]
    tie = ties_possible(auction.scores(bidders, price))
    return estimate(bidders, rounds, rng, lambda values, rng: intermediary_first_rounds(
        bidders, auction, price, values, priority=rng.random(values.shape) if tie else None))
