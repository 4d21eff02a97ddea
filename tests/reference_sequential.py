"""Definition 9's sequential sales one intermediary at a time: the plain loop that
``agora.market.k_items.montecarlo.sequential`` vectorizes.

At every arrival position it visits each intermediary in turn, picks the rounds where that
intermediary arrives, and lets it buy from the items those rounds have left, so its work
grows with the square of the number of intermediaries. Kept as the reference the vectorized
rounds must equal bit for bit, and as the baseline of their benchmark.
"""

from __future__ import annotations

import numpy as np

from agora.market.k_items.montecarlo import KRounds, _choices


def sequential_per_intermediary(values, blocks, menu, model, dist, arrival) -> KRounds:
    """Outcomes of sequential sales (``arrival`` is rounds x intermediaries), one block per call."""
    rows, n = values.shape
    k = menu.k
    available = np.ones((rows, k), bool)
    item = np.full((rows, n), -1)
    for pos in range(len(blocks)):
        for owner, block in enumerate(blocks):
            sel = arrival[:, pos] == owner
            if not np.any(sel):
                continue
            cols = list(block)
            chosen = _choices(model, menu, values[np.ix_(sel, cols)], available[sel], dist)
            sub = item[sel]
            sub[:, cols] = chosen
            item[sel] = sub
            av = available[sel]
            for j in range(k):
                av[:, j] &= ~(chosen == j).any(axis=1)
            available[sel] = av
    prices = np.asarray(menu.prices)
    weights = np.asarray(menu.weights)
    got = item >= 0
    revenue = np.where(got, prices[np.maximum(item, 0)], 0.0).sum(axis=1)
    welfare = np.where(got, weights[np.maximum(item, 0)] * values, 0.0).sum(axis=1)
    return KRounds(item, revenue, welfare)
