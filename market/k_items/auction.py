"""How an intermediary bids in the (k+1)-th-price auction when it controls several bids.

A uniform-price auction is not truthful for a bidder with several units: winning one
more unit can raise the price of every unit it wins (demand reduction). An intermediary
holding b buyers submits bids for some of them. Here it best-responds to every other
buyer bidding its value (what single-buyer intermediaries do, since for them the
auction is dominant-strategy truthful, Proposition 1), within the strategies that bid
the scores (values for a surplus maximizer, phi(v) for a monopolist) of its x best
buyers and nothing for the rest; x is chosen, given its own values, to maximize

    E[ sum_{j <= w} s_(j) - w * price ],   w = units won, price = max(reserve, highest losing bid),

the expectation over the other buyers' values, estimated on ``samples`` fixed draws
(common to every round, so the rule is a deterministic function of the own values).

Given the others' sorted bids o_(1) >= o_(2) >= ..., the own j-th bid wins iff it is at
least the reserve and beats o_(k+1-j); wins form a prefix, so w = min(x, W) with W the
longest such prefix, and the highest losing bid is max(s_(w+1) if w < x, o_(k-w+1)).
With no rivals (monopsony) it bids for the buyers it would serve at the reserve, up to k,
and pays the reserve (the collapse behind Proposition 2).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from agora.market.distributions import ValueDistribution
from agora.market.errors import InputError
from agora.market.k_items.mechanisms import UniformPriceAuction
from agora.market.k_items.utility import UtilityModel

CHUNK = 1 << 22  # rows x samples per chunk


@dataclass
class QuantityBestResponse:
    """The best number of bids for an intermediary with ``block`` buyers among ``n`` (module doc)."""

    dist: ValueDistribution
    model: UtilityModel
    block: int
    n: int
    auction: UniformPriceAuction
    samples: int = 400
    seed: int = 20240
    _others: np.ndarray = field(init=False, repr=False)

    def __post_init__(self):
        if not getattr(self.model, "linear", False):
            raise InputError(f"bidding in the auction needs a linear intermediary model; got "
                             f"{self.model.describe()}")
        rng = np.random.default_rng([self.seed, self.block, self.n, self.auction.k])
        rivals = self.n - self.block
        others = -np.sort(-self.dist.rvs((self.samples, rivals), rng), axis=1) if rivals else \
            np.zeros((self.samples, 0))
        k = self.auction.k
        # column m (0..k) holds o_(m) with o_(0) = +inf and o_(m) = -inf past the last rival
        ext = np.full((self.samples, k + 2), -np.inf)
        ext[:, 0] = np.inf
        m = min(rivals, k + 1)
        ext[:, 1:m + 1] = others[:, :m]
        self._others = ext

    def scores(self, values: np.ndarray) -> np.ndarray:
        """The own buyers' scores, highest first (rows x block)."""
        return -np.sort(-self.model.scores(np.atleast_2d(values), self.dist), axis=1)

    def expected_utilities(self, values: np.ndarray) -> np.ndarray:
        """rows x (top + 1): expected utility of bidding for the x best buyers, x = 0..top."""
        s = self.scores(values)
        step = max(1, CHUNK // self.samples)
        return np.concatenate([self._utilities(s[i:i + step]) for i in range(0, max(s.shape[0], 1), step)],
                              axis=0)

    def _utilities(self, s: np.ndarray) -> np.ndarray:
        k, r = self.auction.k, self.auction.reserve
        top = min(self.block, k + 1)
        o = self._others  # S x (k+2)
        rows = s.shape[0]
        ok = np.ones((rows, self.samples), bool)
        W = np.zeros((rows, self.samples), int)
        for j in range(1, min(self.block, k) + 1):
            sj = s[:, j - 1][:, None]
            ok &= (sj >= r) & (sj > o[None, :, k + 1 - j])
            W += ok
        cum = np.concatenate([np.zeros((rows, 1)), np.cumsum(s, axis=1)], axis=1)
        padded = np.concatenate([s, np.full((rows, 1), -np.inf)], axis=1)
        util = np.zeros((rows, top + 1))
        for x in range(1, top + 1):
            w = np.minimum(W, x)
            own_loser = np.where(w < x, np.take_along_axis(padded, w, axis=1), -np.inf)
            other_loser = self._others[np.arange(self.samples)[None, :], k - w + 1]
            price = np.maximum(r, np.maximum(own_loser, other_loser))
            gain = np.take_along_axis(cum, w, axis=1) - w * price
            util[:, x] = np.where(w > 0, gain, 0.0).mean(axis=1)
        return util

    def choose(self, values: np.ndarray) -> np.ndarray:
        """x per row: the fewest bids achieving the best expected utility.

        A single buyer's intermediary faces a truthful auction: it bids iff its score
        reaches the reserve; a monopsony wins every bid up to k at the reserve
        (neither needs sampling).
        """
        if self.block == 1:
            return (self.scores(values)[:, 0] >= self.auction.reserve).astype(int)
        if self.block == self.n:  # no rivals: every bid up to k wins at the reserve
            return np.minimum((self.scores(values) >= self.auction.reserve).sum(axis=1), self.auction.k)
        util = self.expected_utilities(values)
        best = util.max(axis=1, keepdims=True)
        return np.argmax(util >= best - 1e-12 * np.maximum(1.0, np.abs(best)), axis=1)

    def bids(self, values: np.ndarray) -> np.ndarray:
        """rows x block bids in the order of ``values``' columns: score for the x best buyers, else -inf."""
        values = np.atleast_2d(values)
        x = self.choose(values)
        sc = self.model.scores(values, self.dist)
        rank = np.argsort(np.argsort(-sc, axis=1, kind="stable"), axis=1, kind="stable")
        return np.where(rank < x[:, None], sc, -np.inf)
