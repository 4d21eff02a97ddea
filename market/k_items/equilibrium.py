"""An equilibrium among several intermediaries holding several buyers in the (k+1)-th-price
auction (intermediary-proof-mechanisms, Section 3).

Each strategic intermediary i has ``samples`` seeded score profiles; its strategy is represented
by its bid vectors on them, and the law of the bids facing i is the empirical law of the rows t:
the other intermediaries' bid vectors at their profile t and the single-buyer intermediaries'
scores at row t (bid iff >= r, dominant by Proposition 1). Ties go to a uniform priority per
bidder and row, as in ``UniformPriceAuction.run``.

With the others' bids ordered o_1 >= o_2 >= ... (value, then priority) and own bids
beta_1 >= ... >= beta_x >= r, the j-th own bid wins iff it beats o_{k+1-j}; wins form a prefix
of length w and the price is max(r, beta_{w+1}, o_{k+1-w}), the (k+1)-th highest bid, so
U(beta; s) = mean over rows of sum_{j <= w} (s_j - price).

Best response: beta_1 = s_1 (given lower bids at most their scores, the top bid only decides
whether any unit is won, and winning then pays at most s_1), lower bids on ``levels`` levels of
[r, top] or at their own score, at most it, every number of bids. Iterated best responses
(one intermediary after another) start from truthful bids and stop when a sweep changes no bid.
Regret: the best utility over every non-increasing vector on a fine grid of [r, top] (any number
of bids) minus the equilibrium bids' utility, on the same representation.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

CHUNK = 1 << 21  # candidates x rows per block


def utilities(cands: np.ndarray, s: np.ndarray, ov: np.ndarray, op: np.ndarray, pi: np.ndarray,
              k: int, r: float) -> np.ndarray:
    """U(beta; s) for each row of ``cands`` (-inf = no bid) against others' top k + 1 bids (module doc)."""
    x = cands.shape[1]
    cum = np.concatenate([[0.0], np.cumsum(s[:x])])
    out = np.empty(cands.shape[0])
    step = max(1, CHUNK // max(1, ov.shape[0]))
    for a in range(0, cands.shape[0], step):
        c = cands[a:a + step]
        alive = np.ones((c.shape[0], ov.shape[0]), bool)
        w = np.zeros(alive.shape, int)
        for j in range(x):
            b, o, p = c[:, j][:, None], ov[None, :, k - 1 - j], op[None, :, k - 1 - j]
            alive &= (b >= r) & ((b > o) | ((b == o) & (pi[None, :] > p)))
            w += alive
        padded = np.concatenate([c, np.full((c.shape[0], 1), -np.inf)], axis=1)
        own_next = np.take_along_axis(padded, w, axis=1)
        other = np.take_along_axis(np.broadcast_to(ov, (c.shape[0],) + ov.shape), (k - w)[..., None], axis=2)[..., 0]
        price = np.maximum(r, np.maximum(own_next, other))
        out[a:a + step] = np.where(w > 0, cum[w] - w * price, 0.0).mean(axis=1)
    return out


def _vectors(levels_per_unit: list[np.ndarray], x: int) -> np.ndarray:
    """Non-increasing vectors of 0..x bids, bid j from ``levels_per_unit[j]``, padded with -inf."""
    rows = [np.full(x, -np.inf)]

    def extend(prefix, j):
        for lv in levels_per_unit[j]:
            if prefix and lv > prefix[-1]:
                continue
            rows.append(np.array(prefix + [lv] + [-np.inf] * (x - j - 1)))
            if j + 1 < x:
                extend(prefix + [lv], j + 1)

    extend([], 0)
    return np.array(rows)


@dataclass
class Equilibrium:
    """Iterated best responses among the strategic intermediaries (module doc)."""

    k: int
    reserve: float
    top: float
    blocks: list[list[int]]          # strategic blocks
    scores: np.ndarray               # samples x n scores
    levels: int = 21
    prio: np.ndarray = field(default=None, repr=False)
    bids: list[np.ndarray] = field(default_factory=list, repr=False)
    sweeps: int = 0
    converged: bool = False

    def __post_init__(self):
        r, k = self.reserve, self.k
        self.grid = np.linspace(r, self.top, self.levels)
        n = self.scores.shape[1]
        held = {b for blk in self.blocks for b in blk}
        self.singles = [i for i in range(n) if i not in held]
        self.bids = []
        for blk in self.blocks:
            s = -np.sort(-self.scores[:, blk], axis=1)[:, :min(len(blk), k)]
            self.bids.append(np.where(s >= r, s, -np.inf))

    def others(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """Values and priorities of the k + 1 highest bids facing strategic intermediary i."""
        sc = self.scores[:, self.singles]
        vals = [np.where(sc >= self.reserve, sc, -np.inf)] + [b for j, b in enumerate(self.bids) if j != i]
        prio = [self.prio[:, self.singles]] + [np.repeat(self.prio[:, [len(self.singles) + j]], b.shape[1], axis=1)
                                               for j, b in enumerate(self.bids) if j != i]
        v, p = np.concatenate(vals, axis=1), np.concatenate(prio, axis=1)
        pad = max(0, self.k + 1 - v.shape[1])
        v = np.concatenate([v, np.full((v.shape[0], pad), -np.inf)], axis=1)
        p = np.concatenate([p, np.zeros((p.shape[0], pad))], axis=1)
        order = np.lexsort((-p, -v), axis=1)[:, :self.k + 1]
        return np.take_along_axis(v, order, axis=1), np.take_along_axis(p, order, axis=1)

    def own_prio(self, i: int) -> np.ndarray:
        return self.prio[:, len(self.singles) + i]

    def best(self, i: int, s: np.ndarray, ov, op) -> np.ndarray:
        """The best response at sorted scores ``s`` (module doc), of equally good ones the first
        in the order: fewer bids, lower bids."""
        x = min(len(self.blocks[i]), self.k)
        if s[0] < self.reserve:
            return np.full(x, -np.inf)
        per = [np.array([s[0]])] + [np.unique(np.append(self.grid[self.grid <= s[j]], s[j])) if s[j] >= self.reserve
                                    else np.array([]) for j in range(1, x)]
        cands = _vectors(per, x)
        u = utilities(cands, s, ov, op, self.own_prio(i), self.k, self.reserve)
        return cands[int(np.argmax(u >= u.max() - 1e-12))]

    def solve(self, max_sweeps: int = 20) -> Equilibrium:
        for self.sweeps in range(1, max_sweeps + 1):
            changed = False
            for i, blk in enumerate(self.blocks):
                ov, op = self.others(i)
                s = -np.sort(-self.scores[:, blk], axis=1)
                new = np.array([self.best(i, row, ov, op) for row in s])
                changed |= not np.array_equal(new, self.bids[i])
                self.bids[i] = new
            if not changed:
                self.converged = True
                break
        return self

    def respond(self, i: int, scores: np.ndarray) -> np.ndarray:
        """Equilibrium bids of intermediary i for rows of its buyers' scores (highest first)."""
        ov, op = self.others(i)
        return np.array([self.best(i, row, ov, op) for row in -np.sort(-np.atleast_2d(scores), axis=1)])

    def regret(self, i: int, scores: np.ndarray, fine: int) -> float:
        """Best utility over every non-increasing vector on a ``fine``-level grid of [r, top] minus the
        equilibrium bids' utility, at sorted ``scores``."""
        s = np.sort(np.asarray(scores, float))[::-1]
        x = min(len(self.blocks[i]), self.k)
        ov, op = self.others(i)
        grid = np.linspace(self.reserve, self.top, fine)
        cands = _vectors([grid] * x, x)
        eq = utilities(self.best(i, s, ov, op)[None, :], s, ov, op, self.own_prio(i), self.k, self.reserve)[0]
        best = utilities(cands, s, ov, op, self.own_prio(i), self.k, self.reserve).max()
        return max(0.0, float(best - eq))


def equilibrium(k: int, reserve: float, top: float, blocks: list[list[int]], scores: np.ndarray,
                rng: np.random.Generator, levels: int = 21, max_sweeps: int = 20) -> Equilibrium:
    """Iterated best responses on ``scores`` (samples x n), priorities drawn from ``rng``."""
    n_bidders = scores.shape[1] - sum(len(b) for b in blocks) + len(blocks)
    eq = Equilibrium(k, reserve, top, blocks, scores, levels, prio=rng.random((scores.shape[0], n_bidders)))
    return eq.solve(max_sweeps)
