"""An equilibrium among several intermediaries holding several buyers in the (k+1)-th-price
auction (intermediary-proof-mechanisms, Section 3), with exact payoffs and regret.

Each strategic intermediary observes the cell of its buyers' sorted quantiles
(:mod:`agora.market.k_items.cells`, ``bins`` equal bins) and bids a non-increasing vector on a
``levels``-level grid of [r, top]. Single-buyer intermediaries bid their scores (dominant,
Proposition 1). The law of the bids facing each intermediary is then exact
(:mod:`agora.market.k_items.bid_laws`: cell masses, the singles' cells between grid levels, ties
by a uniform priority order), and since its utility is linear in its scores, its expected
utility on a cell is U(beta; m) at the cell's conditional mean scores m: the best response on a
cell maximizes m . P[w >= .] - E[w price] over every vector on the grid.

Play: iterated best responses (one intermediary after another, from truthful-on-the-grid bids);
if they return to an earlier profile (a cycle) or still change a bid after ``sweeps`` sweeps,
fictitious play follows, each in turn
best-responding to the average of the others' past strategies, for ``fictitious`` rounds; the
strategies are then those averages (mixed). Regret, exact: on every cell, the best utility over
every vector on a ``refine``-times finer grid (or on the grid played, the equilibrium's own error)
minus the strategy's utility, against the others' final strategies. Revenue and welfare are exact
under the same strategies.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from agora.market.k_items.bid_laws import (
    EPS,
    Law,
    ahead_probabilities,
    bid_law,
    candidates,
    combine,
    mixture,
    seller_terms,
    unit_terms,
)
from agora.market.k_items.cells import Cells
from agora.market.k_items.mechanisms import UniformPriceAuction

CELL_CHUNK = 1 << 22  # cells x candidates per block


def best_values(means: np.ndarray, win: np.ndarray, pay: np.ndarray, tops: np.ndarray | None = None,
                cand_tops: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Per cell the first candidate within 1e-12 of the best utility m . win - pay, and that utility;
    with ``tops``, only candidates whose top bid is the cell's (or no bid) are allowed."""
    arg, best = np.empty(len(means), int), np.empty(len(means))
    step = max(1, CELL_CHUNK // len(pay))
    for a in range(0, len(means), step):
        u = means[a:a + step] @ win.T - pay[None, :]
        if tops is not None:
            u[(cand_tops[None, :] != tops[a:a + step, None]) & np.isfinite(cand_tops)[None, :]] = -np.inf
        top = u.max(axis=1, keepdims=True)
        arg[a:a + step] = np.argmax(u >= top - 1e-12, axis=1)
        best[a:a + step] = top[:, 0]
    return arg, best


@dataclass
class Player:
    """A strategic intermediary: its cells, conditional mean scores and values, and its strategy
    (the history of its pure choices; their average is played)."""

    block: list[int]
    cells: Cells
    means: np.ndarray
    value_means: np.ndarray
    history: list[np.ndarray] = field(default_factory=list)

    def weights(self, n_cands: int, last: bool = False) -> np.ndarray:
        """P[the intermediary bids candidate c]: the cell masses of its choices (averaged over its history)."""
        played = self.history[-1:] if last else self.history
        return sum(np.bincount(h, weights=self.cells.mass, minlength=n_cands) for h in played) / len(played)


@dataclass
class Equilibrium:
    """Iterated best responses, then fictitious play, among the strategic intermediaries (module doc)."""

    k: int
    reserve: float
    levels: np.ndarray
    fine: np.ndarray
    players: list[Player]
    singles: Law        # the single buyers' law between the levels played
    singles_fine: Law   # and between the fine grid's levels, for the regret
    sweeps: int = 0
    fictitious: int = 0
    converged: bool = False
    cycled: bool = False

    def __post_init__(self):
        self.cands = {x: candidates(self.levels, x) for x in {p.means.shape[1] for p in self.players}}

    def _cands(self, p: Player) -> np.ndarray:
        return self.cands[p.means.shape[1]]

    def facing(self, i: int, last: bool = False, fine: bool = False) -> Law:
        """The exact law of the bids facing player i (the others' strategies, the singles, priorities),
        exact for own bids on the grid played or, with ``fine``, on the fine grid."""
        rivals = [j for j in range(len(self.players)) if j != i]
        laws, probs = [], []
        for flags, prob in ahead_probabilities(len(rivals)).items():
            law = self.singles_fine if fine else self.singles
            for j, ahead in zip(rivals, flags):
                c = self._cands(self.players[j])
                law = combine(law, bid_law(c, self.players[j].weights(len(c), last), self.k, EPS if ahead else -EPS))
            laws.append(law)
            probs.append(prob)
        return mixture(laws, probs)

    def top_bids(self, p: Player) -> np.ndarray:
        """Each cell's top bid: its mean top score rounded down to a level (-inf below the reserve)."""
        m = p.means[:, 0]
        return np.where(m >= self.reserve, self.levels[np.clip(np.searchsorted(self.levels, m, side="right") - 1,
                                                               0, None)], -np.inf)

    def respond(self, i: int, last: bool) -> np.ndarray:
        p = self.players[i]
        c = self._cands(p)
        win, pay = unit_terms(c, self.facing(i, last), self.k, self.reserve)
        return best_values(p.means, win, pay, self.top_bids(p), c[:, 0])[0]

    def start(self) -> None:
        """Truthful on the grid: each bid its score rounded down to a level, none below the reserve."""
        for p in self.players:
            c = self._cands(p)
            down = np.where(p.means >= self.reserve,
                            self.levels[np.clip(np.searchsorted(self.levels, p.means, side="right") - 1, 0, None)],
                            -np.inf)
            lookup = {tuple(row): idx for idx, row in enumerate(c)}
            p.history = [np.array([lookup[tuple(row)] for row in down])]

    def solve(self, sweeps: int = 20, fictitious: int = 20) -> Equilibrium:
        self.start()
        seen = set()
        for self.sweeps in range(1, sweeps + 1):
            changed = False
            for i, p in enumerate(self.players):
                new = self.respond(i, last=True)
                changed |= not np.array_equal(new, p.history[-1])
                p.history = [new]
            if not changed:
                self.converged = True
                return self
            state = b"".join(p.history[-1].tobytes() for p in self.players)
            if state in seen:  # a cycle: best responses will not settle
                self.cycled = True
                break
            seen.add(state)
        for self.fictitious in range(1, fictitious + 1):
            for i, p in enumerate(self.players):
                p.history.append(self.respond(i, last=False))
        return self

    def regret(self, i: int, scores: np.ndarray | None = None, cells: np.ndarray | None = None,
               grid: np.ndarray | None = None) -> np.ndarray:
        """Player i's regret, exact: the best utility over every vector on ``grid`` (default the fine
        grid) minus its strategy's, at each cell's mean scores, or at rows of sorted ``scores`` lying
        in ``cells`` (what knowing the scores themselves would gain)."""
        p = self.players[i]
        law = self.facing(i, fine=True)
        m, cell = (p.means, np.arange(len(p.means))) if scores is None else \
            (np.atleast_2d(scores)[:, :p.means.shape[1]], np.asarray(cells))
        grid = self.fine if grid is None else grid
        _, best = best_values(m, *unit_terms(candidates(grid, m.shape[1]), law, self.k, self.reserve))
        win, pay = unit_terms(self._cands(p), law, self.k, self.reserve)
        played = np.mean([(m * win[h[cell]]).sum(axis=1) - pay[h[cell]] for h in p.history], axis=0)
        return np.maximum(0.0, best - played)

    def seller(self) -> tuple[float, float]:
        """Exact (revenue, welfare): the law of all bids, the players' units won by their best buyers."""
        law = self.singles
        welfare = 0.0
        for p in self.players:
            c = self._cands(p)
            law = combine(law, bid_law(c, p.weights(len(c)), self.k, 0.0))
        for i, p in enumerate(self.players):
            win, _ = unit_terms(self._cands(p), self.facing(i), self.k, self.reserve)
            welfare += np.mean([(p.cells.mass * (p.value_means * win[h]).sum(axis=1)).sum() for h in p.history])
        revenue, singles_worth = seller_terms(law, self.k, self.reserve)
        return revenue, welfare + singles_worth

    def bids(self, i: int, quantiles: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Player i's bids for rows of its buyers' quantiles (a past choice drawn uniformly when mixed)."""
        p = self.players[i]
        cell = p.cells.locate(quantiles)
        pick = rng.integers(len(p.history), size=len(cell))
        return self._cands(p)[np.array(p.history)[pick, cell]]


def singles_law(m: int, k: int, dist, model, fine: np.ndarray) -> Law:
    """The exact law of the k + 1 highest scores of ``m`` single buyers bidding truthfully from the
    reserve (fine[0]) up: their cells on the bins cut at the fine grid's levels (bid_laws doc)."""
    if m == 0:
        return Law.empty(k)
    q = 1.0 - np.asarray(dist.prob_at_least(np.array([model.score_threshold(dist, t) for t in fine])), float)
    gap = fine[1] - fine[0]
    edges = np.concatenate([[0.0], np.clip(q, 0.0, 1.0), [1.0]])
    keys = np.concatenate([[-np.inf], 0.5 * (fine[:-1] + fine[1:]), [fine[-1] + 0.5 * gap]])
    wide = np.diff(edges) > 0
    cells = Cells(edges[np.concatenate([[True], wide])], m)
    keys = keys[wide][cells.bins]
    top = min(m, k + 1)
    placed = np.isfinite(keys[:, :top])
    pad = np.full((len(cells.mass), k + 1), -np.inf)
    key, val, worth = pad.copy(), pad.copy(), np.zeros(pad.shape)
    key[:, :top] = keys[:, :top]
    val[:, :top] = np.where(placed, cells.means(lambda u: model.scores(dist.ppf(u), dist))[:, :top], -np.inf)
    worth[:, :top] = np.where(placed, cells.means(dist.ppf)[:, :top], 0.0)
    return Law(key, val, worth, cells.mass).merged()


def equilibrium(k: int, reserve: float, top: float, blocks: list[list[int]], n: int, dist, model,
                levels: int = 21, bins: int = 20, refine: int = 2, sweeps: int = 20,
                fictitious: int = 20) -> Equilibrium:
    """Solve the structure's strategic ``blocks`` (lists of buyers) among ``n`` buyers (module doc)."""
    grid = np.linspace(reserve, top, levels)
    fine = np.linspace(reserve, top, (levels - 1) * refine + 1)
    score = lambda u: model.scores(dist.ppf(u), dist)  # noqa: E731
    players = []
    for blk in blocks:
        cells = Cells(np.linspace(0.0, 1.0, bins + 1), len(blk))
        x = min(len(blk), k)
        players.append(Player(list(blk), cells, cells.means(score)[:, :x], cells.means(dist.ppf)[:, :x]))
    m = n - sum(len(b) for b in blocks)
    coarse = singles_law(m, k, dist, model, grid)  # the fine one serves the players' regret only
    singles = coarse, singles_law(m, k, dist, model, fine) if players else coarse
    return Equilibrium(k, reserve, grid, fine, players, *singles).solve(sweeps, fictitious)


@dataclass(frozen=True)
class Rounds:
    """Rounds of the auction played on the strategies: fresh values, each strategic player's bid vectors
    (sorted, for its buyers highest first) and the seller's revenue and the welfare per round."""

    quantiles: np.ndarray
    scores: np.ndarray
    responses: list[np.ndarray]
    revenue: np.ndarray
    welfare: np.ndarray


def play(eq: Equilibrium, blocks: list[list[int]], n: int, dist, model, rounds: int,
         rng: np.random.Generator) -> Rounds:
    """Monte Carlo of ``eq`` on fresh draws through ``UniformPriceAuction.run``: single buyers bid their
    scores from the reserve up, players bid their strategies (a past choice drawn when mixed), one
    priority per intermediary; each intermediary hands the units it wins to its best buyers."""
    quantiles = rng.random((rounds, n))
    values = dist.ppf(quantiles)
    scores = model.scores(values, dist)
    bids = np.where(scores >= eq.reserve, scores, -np.inf)
    priority = rng.random((rounds, n))
    responses = []
    for i, p in enumerate(eq.players):
        blk = p.block
        resp = eq.bids(i, quantiles[:, blk], rng)
        ranked = np.asarray(blk)[np.argsort(-scores[:, blk], axis=1, kind="stable")]
        bids[:, blk] = -np.inf
        np.put_along_axis(bids, ranked[:, :resp.shape[1]], resp, axis=1)
        priority[:, blk] = priority[:, [blk[0]]]
        responses.append(resp)
    win, price = UniformPriceAuction(eq.k, eq.reserve).run(bids, priority)
    welfare = np.zeros(rounds)
    for blk in blocks:
        won = win[:, blk].sum(axis=1)
        welfare += np.where(np.arange(len(blk))[None, :] < won[:, None], -np.sort(-values[:, blk], axis=1),
                            0.0).sum(axis=1)
    return Rounds(quantiles, scores, responses, price * win.sum(axis=1), welfare)
