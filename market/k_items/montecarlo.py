"""Vectorized Monte Carlo of k-item markets with intermediaries (the second evaluator).

Every round of a batch at once, for any partition of the buyers:

* :func:`menu_rounds` -- posted prices. With random rationing (``order="random"``) every
  intermediary asks for the items its model wants; each asked-for unit gets a uniform
  key and the k lowest keys are served; an intermediary gives its units to its best
  buyers. With a sequential order (random per round, or fixed) intermediaries buy in
  turn from what is left: identical items by the model's demand, heterogeneous items
  by the assignment of Lemma 5 (dynamic programming over items and ranked buyers).
* :func:`auction_rounds` -- the (k+1)-th-price auction, each intermediary bidding by
  :class:`~agora.market.k_items.auction.QuantityBestResponse`.

Shares with the agent-based model only the intermediaries' demand and bidding rules.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from agora.market.demand import Partition, validate_partition
from agora.market.distributions import ValueDistribution, parse_spec
from agora.market.errors import InputError
from agora.market.k_items.auction import QuantityBestResponse
from agora.market.k_items.mechanisms import ItemMenu, UniformPriceAuction
from agora.market.k_items.utility import UtilityModel, model_demand, utility_model
from agora.market.single_item.montecarlo import MonteCarloEstimate

QUANTITIES = ("revenue", "items_sold", "welfare")
CHUNK_VALUES = 1 << 20


@dataclass(frozen=True)
class KRounds:
    """Per-round outcomes: ``item`` (rounds x buyers) is the item a buyer got, -1 for none."""

    item: np.ndarray
    revenue: np.ndarray
    welfare: np.ndarray

    @property
    def items_sold(self) -> np.ndarray:
        return (self.item >= 0).sum(axis=1).astype(float)


def _ranks(values: np.ndarray) -> np.ndarray:
    """Rank of each column within its row, 0 = highest value."""
    return np.argsort(np.argsort(-values, axis=1, kind="stable"), axis=1, kind="stable")


def random_rationing(values: np.ndarray, blocks: Partition, menu: ItemMenu, model: UtilityModel,
                     dist: ValueDistribution, keys: np.ndarray) -> KRounds:
    """Identical items at one price; asked-for units served by lottery (Definition 7)."""
    rows, n = values.shape
    price, k = menu.prices[0], menu.k
    asks = np.zeros((rows, n), bool)
    ranks = np.zeros((rows, n), int)
    for block in blocks:
        cols = list(block)
        v = values[:, cols]
        ranks[:, cols] = _ranks(v)
        asks[:, cols] = ranks[:, cols] < model_demand(model, v, menu.unit_price, dist)[:, None]
    lottery = np.where(asks, keys, np.inf)
    served = asks & (_ranks(-lottery) < k)
    item = np.full((rows, n), -1)
    for block in blocks:
        cols = list(block)
        units = served[:, cols].sum(axis=1)
        item[:, cols] = np.where(ranks[:, cols] < units[:, None], 0, -1)
    welfare = menu.weights[0] * np.where(item >= 0, values, 0.0).sum(axis=1)
    return KRounds(item, price * (item >= 0).sum(axis=1), welfare)


def best_items(scores: np.ndarray, weights: Sequence[float], prices: Sequence[float],
               available: np.ndarray) -> np.ndarray:
    """Lemma 5's choice for many rounds: rows x b item index per buyer (-1 none).

    Maximizes sum_t eta_(j_t) s_(t) - r_(j_t) over sets of available items, the t-th best
    buyer getting the t-th best item bought (weights are non-increasing). Dynamic programme
    over the ranked buyers, every item at once: f_t(j), the best utility of serving the top t
    buyers from items < j, is a running maximum over j of f_(t-1)(j') + eta_j' s_(t) - r_j'.
    On ties it serves the fewest buyers and, among equal items, takes the lowest index.
    """
    rows, b = scores.shape
    k = len(weights)
    if b == 1:  # one buyer: the available item of largest utility, if it is positive
        cand = np.where(available, np.asarray(weights, float) * scores - np.asarray(prices, float), -np.inf)
        j = np.argmax(cand, axis=1)
        return np.where(np.take_along_axis(cand, j[:, None], axis=1)[:, 0] > 0.0, j, -1)[:, None]
    order = np.argsort(-scores, axis=1, kind="stable")
    s = np.take_along_axis(scores, order, axis=1)
    eta, r = np.asarray(weights, float)[None, :], np.asarray(prices, float)[None, :]
    served = min(b, k)
    prev = np.zeros((rows, k))  # f_(t-1)(j) for j = 0..k-1
    cands, totals = [], [np.zeros(rows)]
    for t in range(served):
        cand = np.where(available, prev + eta * s[:, t:t + 1] - r, -np.inf)  # item j to the t-th buyer
        best = np.maximum.accumulate(cand, axis=1)  # f_t(j + 1)
        cands.append(cand)
        totals.append(best[:, -1])
        prev = np.concatenate([np.full((rows, 1), -np.inf), best[:, :-1]], axis=1)
    count = np.argmax(np.stack(totals, axis=1), axis=1)  # buyers served
    sorted_item = np.full((rows, b), -1)
    limit = np.full(rows, k)  # the t-th buyer's item is below the (t+1)-th's
    items = np.arange(k)[None, :]
    for t in range(served, 0, -1):
        active = count >= t
        j = np.argmax(np.where(items < limit[:, None], cands[t - 1], -np.inf), axis=1)
        sorted_item[active, t - 1] = j[active]
        limit = np.where(active, j, limit)
    item = np.full((rows, b), -1)
    np.put_along_axis(item, order, sorted_item, axis=1)
    return item


def _size_groups(blocks: Partition) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """Per block size s: (slot of each intermediary within its size, -1 for another size;
    its blocks' columns, one row per block of size s)."""
    m = len(blocks)
    groups = {}
    for size in sorted({len(b) for b in blocks}):
        owners = [i for i, b in enumerate(blocks) if len(b) == size]
        slot = np.full(m, -1)
        slot[owners] = np.arange(len(owners))
        groups[size] = (slot, np.array([list(blocks[i]) for i in owners], dtype=int))
    return groups


def _choices(model: UtilityModel, menu: ItemMenu, v: np.ndarray, av: np.ndarray,
             dist: ValueDistribution) -> np.ndarray:
    """The item each of an intermediary's buyers (columns of ``v``) gets from the available ones."""
    k = menu.k
    if menu.uniform:
        want = np.minimum(model_demand(model, v, menu.unit_price, dist), av.sum(axis=1))
        free = np.argsort(~av, axis=1, kind="stable")  # available items first, lowest index first
        rank = _ranks(v)
        return np.where(rank < want[:, None], np.take_along_axis(free, np.minimum(rank, k - 1), axis=1), -1)
    if not getattr(model, "linear", False):
        raise InputError("heterogeneous menus need a linear intermediary model "
                         f"(surplus, monopolist); got {model.describe()}")
    return best_items(model.scores(v, dist), menu.weights, menu.prices, av)


def sequential(values: np.ndarray, blocks: Partition, menu: ItemMenu, model: UtilityModel,
               dist: ValueDistribution, arrival: np.ndarray) -> KRounds:
    """Intermediaries buy in turn from what is left (Definition 9); ``arrival`` is rounds x m.

    At each position of the order every round's arriving intermediary buys at once, one
    vectorized call per block size, so the work is linear in the number of intermediaries.
    """
    rows, n = values.shape
    k = menu.k
    available = np.ones((rows, k), bool)
    item = np.full((rows, n), -1)
    groups = _size_groups(blocks)
    for pos in range(len(blocks)):
        owner = arrival[:, pos]
        for slot, cols in groups.values():
            sel = np.nonzero(slot[owner] >= 0)[0] if len(groups) > 1 else np.arange(rows)
            if not sel.size:
                continue
            c = cols[slot[owner[sel]]]  # the arriving block's columns, per selected round
            chosen = _choices(model, menu, values[sel[:, None], c], available[sel], dist)
            item[sel[:, None], c] = chosen
            got, unit = np.nonzero(chosen >= 0)
            available[sel[got], chosen[got, unit]] = False
    prices = np.asarray(menu.prices)
    weights = np.asarray(menu.weights)
    got = item >= 0
    revenue = np.where(got, prices[np.maximum(item, 0)], 0.0).sum(axis=1)
    welfare = np.where(got, weights[np.maximum(item, 0)] * values, 0.0).sum(axis=1)
    return KRounds(item, revenue, welfare)


def menu_rounds(values: np.ndarray, blocks: Partition, menu: ItemMenu, model: UtilityModel,
                dist: ValueDistribution, rng: np.random.Generator) -> KRounds:
    """Outcomes of a posted menu on given values (rounds x buyers), per ``menu.order``."""
    values = np.asarray(values, float)
    rows = values.shape[0]
    if menu.order == "random" and menu.uniform:
        return random_rationing(values, blocks, menu, model, dist, rng.random(values.shape))
    m = len(blocks)
    if menu.order in ("random", "sequential"):
        arrival = np.argsort(rng.random((rows, m)), axis=1)
    else:
        if sorted(menu.order) != list(range(m)):
            raise InputError(f"an arrival order must list intermediaries 0..{m - 1} once each, got {menu.order}")
        arrival = np.broadcast_to(np.asarray(menu.order), (rows, m))
    return sequential(values, blocks, menu, model, dist, arrival)


def responders(dist: ValueDistribution, blocks: Partition, auction: UniformPriceAuction,
               model: UtilityModel, samples: int = 400) -> dict[int, QuantityBestResponse]:
    """One bidding rule per block size."""
    n = sum(len(b) for b in blocks)
    return {b: QuantityBestResponse(dist, model, b, n, auction, samples)
            for b in sorted({len(b) for b in blocks})}


def auction_rounds(values: np.ndarray, blocks: Partition, auction: UniformPriceAuction,
                   model: UtilityModel, dist: ValueDistribution, rng: np.random.Generator,
                   rules: dict[int, QuantityBestResponse] | None = None) -> KRounds:
    """Outcomes of the (k+1)-th-price auction; intermediaries bid by their best responses."""
    values = np.asarray(values, float)
    rows, n = values.shape
    rules = rules or responders(dist, blocks, auction, model)
    bids = np.full((rows, n), -np.inf)
    for size in sorted({len(b) for b in blocks}):  # blocks of one size share a rule: one call
        same = [list(b) for b in blocks if len(b) == size]
        stacked = rules[size].bids(np.concatenate([values[:, cols] for cols in same], axis=0))
        for i, cols in enumerate(same):
            bids[:, cols] = stacked[i * rows:(i + 1) * rows]
    win, price = auction.run(bids, rng.random((rows, n)))
    item = np.where(win, 0, -1)
    return KRounds(item, price * win.sum(axis=1), np.where(win, values, 0.0).sum(axis=1))


def estimate(dist: ValueDistribution, n: int, rounds: int, rng: np.random.Generator, play) -> MonteCarloEstimate:
    """Means and standard errors of ``play(values, rng)`` over ``rounds`` rounds, in chunks."""
    if rounds < 2:
        raise InputError(f"Monte Carlo needs rounds >= 2, got {rounds}")
    sums = dict.fromkeys(QUANTITIES, 0.0)
    squares = dict.fromkeys(QUANTITIES, 0.0)
    chunk, done = max(1, CHUNK_VALUES // n), 0
    while done < rounds:
        m = min(chunk, rounds - done)
        out = play(dist.rvs((m, n), rng), rng)
        for q in QUANTITIES:
            a = np.asarray(getattr(out, q), float)
            sums[q] += float(a.sum())
            squares[q] += float(np.dot(a, a))
        done += m
    mean = {q: sums[q] / rounds for q in QUANTITIES}
    stderr = {q: math.sqrt(max(squares[q] / rounds - mean[q] ** 2, 0.0) / (rounds - 1)) for q in QUANTITIES}
    return MonteCarloEstimate(rounds, mean, stderr)


def simulate_menu(dist: ValueDistribution | str, partition: Partition, menu: ItemMenu,
                  model: UtilityModel | str, rounds: int, rng: np.random.Generator) -> MonteCarloEstimate:
    """Monte Carlo estimate of revenue, items sold and welfare of a posted menu."""
    dist = parse_spec(dist)
    model = utility_model(model, dist)
    blocks = validate_partition(partition)
    n = sum(len(b) for b in blocks)
    return estimate(dist, n, rounds, rng, lambda v, r: menu_rounds(v, blocks, menu, model, dist, r))


def simulate_auction(dist: ValueDistribution | str, partition: Partition, auction: UniformPriceAuction,
                     model: UtilityModel | str, rounds: int, rng: np.random.Generator,
                     samples: int = 400) -> MonteCarloEstimate:
    """Monte Carlo estimate of the (k+1)-th-price auction with best-responding intermediaries."""
    dist = parse_spec(dist)
    model = utility_model(model, dist)
    blocks = validate_partition(partition)
    n = sum(len(b) for b in blocks)
    rules = responders(dist, blocks, auction, model, samples)
    return estimate(dist, n, rounds, rng, lambda v, r: auction_rounds(v, blocks, auction, model, dist, r, rules))
