"""Equilibrium selection in the simultaneous pricing game (monopolist-intermediary, Section 5).

The simultaneous game has continua of Nash equilibria (Theorem 5.1: every split of a
constant value; Theorem 5.2: every split of H with both prices >= eps H under
F_eps,H). Which one a market reaches depends on how the two sides learn and where
they start. A *study* runs the repeated game on a price grid from a grid of starting
price pairs, one run per start, and classifies where each run ends:

* ``equilibrium``: play settles on one price pair (constant over the last ``window``
  rounds, or held in at least :data:`SETTLED_SHARE` of them) that passes the
  verifier on the discretized game (no grid deviation gains more than REGRET_RTOL of
  its payoff); the pair's regret in the continuous game (deviations to any price,
  exact best responses) is recorded beside it, with ``verified`` when it passes
  :func:`agora.market.single_item.simultaneous.is_equilibrium` too;
* ``cycle``: play over the last ``window`` rounds is exactly periodic, period >= 2;
* ``mixed``: the empirical frequencies of the second half of the run form an
  approximate mixed equilibrium of the discretized game (relative regret <= ``mixed_tol``);
* ``none``: none of these within the budget of rounds.

Runs are independent tasks mapped over any :class:`concurrent.futures.Executor`;
each start has its own child of the study's :class:`numpy.random.SeedSequence`, so
results do not depend on the executor or the number of workers.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from functools import lru_cache

import numpy as np

from agora.market.errors import InputError
from agora.market.learning.dynamics import MARKET, MatrixGame, Play, child, children, play
from agora.market.single_item.simultaneous import REGRET_RTOL, PricingGame, acceptable, is_equilibrium, mixed_regret

GRID_KINDS = ("linear", "log")
SETTLED_SHARE = 0.8  # the modal price pair holds this share of the last window: play has settled
OUTCOMES = ("equilibrium", "cycle", "mixed", "none")


def price_levels(upper: float, points: int, kind: str = "linear", low: float | None = None) -> np.ndarray:
    """``points`` prices in [0, upper], closed under p -> upper - p exactly (no rounding).

    ``linear``: equally spaced. ``log``: 0, then geometrically spaced from ``low`` to
    upper / 2, and their reflections (for laws spanning many orders of magnitude,
    e.g. F_eps,H). Prices below upper / 2 are rounded to multiples of the spacing of
    floats at ``upper``, so reflection is exact both ways: every split of ``upper`` is on
    the grid and ``upper - p_s >= p_I`` holds at it with no rounding.
    """
    if kind not in GRID_KINDS:
        raise InputError(f"unknown price grid {kind!r}; accepted: {', '.join(GRID_KINDS)}")
    if points < 3:
        raise InputError(f"a price grid needs at least 3 points, got {points}")
    if not 0 < upper < math.inf:
        raise InputError(f"the grid's upper price must be positive and finite, got {upper}")
    half = points // 2  # prices strictly below upper / 2
    if kind == "linear":
        lower = upper * np.arange(half) / (points - 1)
    else:
        if low is None or not 0 < low < upper / 2:
            raise InputError(f"a log grid needs 0 < low < upper / 2, got low = {low}, upper = {upper}")
        lower = np.concatenate([[0.0], np.geomspace(low, upper / 2, half)[:-1]])
    quantum = np.spacing(upper)  # on multiples of it, upper - p is exact both ways
    lower = np.round(lower / quantum) * quantum
    mid = [upper * 0.5] if points % 2 == 1 else []
    return np.concatenate([lower, mid, (upper - lower)[::-1]])


@dataclass(frozen=True)
class Market:
    """A market for a study: bidders' value laws, and the price grid both sides choose from."""

    name: str
    bidders: tuple[str, ...]
    points: int = 41
    grid: str = "linear"

    def __post_init__(self):
        if self.grid not in GRID_KINDS:
            raise InputError(f"unknown price grid {self.grid!r}; accepted: {', '.join(GRID_KINDS)}")
        if self.points < 3:
            raise InputError(f"a price grid needs at least 3 points, got {self.points}")
        if not self.bidders:
            raise InputError("a market needs at least one bidder (n >= 1), got none")

    def discretized(self) -> tuple[PricingGame, MatrixGame]:
        return discretize(self.bidders, self.points, self.grid)

    def prices(self) -> np.ndarray:
        """The grid alone (no payoff tables): checks that this market can be discretized."""
        return grid_prices(PricingGame(self.bidders), self.points, self.grid)


def grid_prices(game: PricingGame, points: int, kind: str) -> np.ndarray:
    """Both sides' prices: ``points`` levels up to the game's top price (a log grid starts from the
    lowest positive bottom of the value laws)."""
    low = min((b.lo for b in game.bidders if b.lo > 0), default=None)
    return price_levels(game.upper, points, kind, low)


@lru_cache(maxsize=32)
def discretize(bidders: tuple[str, ...], points: int, kind: str) -> tuple[PricingGame, MatrixGame]:
    """The pricing game and its restriction to a price grid (rows: seller, columns: intermediary)."""
    game = PricingGame(bidders)
    levels = grid_prices(game, points, kind)
    A, B = game.payoffs(levels[:, None], levels[None, :])
    return game, MatrixGame(np.asarray(A, float), np.asarray(B, float), levels, levels)


def market_values(game: PricingGame, rounds: int, seq: np.random.SeedSequence) -> np.ndarray:
    """Each round's bidder values (rounds x bidders), from the run's market child of ``seq``."""
    rng = np.random.default_rng(child(seq, MARKET))
    return np.column_stack([b.rvs(rounds, rng) for b in game.bidders])


def play_market(market: Market, seller_rule, intermediary_rule, start: tuple[int, int], rounds: int,
                seq: np.random.SeedSequence) -> Play:
    """Repeated simultaneous pricing: a sale when some bidder's value less p_s reaches p_I."""
    game, mg = market.discretized()
    values = market_values(game, rounds, seq)
    ps, pi = mg.row_actions, mg.col_actions

    def sale(t: int, i: int, j: int) -> bool:
        return bool(np.max(values[t] - ps[i]) >= pi[j])

    return play(mg, seller_rule, intermediary_rule, start, rounds, seq, sale)


def grid_regret(mg: MatrixGame, i: int, j: int) -> tuple[float, float]:
    """Each side's best gain from another grid price at (i, j), relative to that deviation's payoff."""
    bs, bi = float(np.max(mg.A[:, j])), float(np.max(mg.B[i, :]))
    rs, ri = bs - float(mg.A[i, j]), bi - float(mg.B[i, j])
    return rs / bs if bs > 0 else 0.0, ri / bi if bi > 0 else 0.0


def grid_equilibrium(mg: MatrixGame, i: int, j: int) -> bool:
    """The verifier on the discretized game: no grid deviation gains more than REGRET_RTOL."""
    bs, bi = float(np.max(mg.A[:, j])), float(np.max(mg.B[i, :]))
    return acceptable(bs - float(mg.A[i, j]), bs) and acceptable(bi - float(mg.B[i, j]), bi)


def relative_mixed_regret(mg: MatrixGame, x: np.ndarray, y: np.ndarray) -> float:
    """The larger side's gain from its best grid deviation against mixed play (x, y), relative."""
    rs, ri = mixed_regret(mg.A, mg.B, x, y)
    return max(rs / max(float(np.max(mg.A @ y)), 1e-300), ri / max(float(np.max(x @ mg.B)), 1e-300))


def continuous_regret(game: PricingGame, ps: float, pi: float) -> float:
    """The larger side's gain from deviating to any price, relative to the best deviation's payoff."""
    us, ui = game.payoffs(ps, pi)
    rs, ri = game.regret(ps, pi)
    return max(rs / (float(us) + rs) if rs > 0 else 0.0, ri / (float(ui) + ri) if ri > 0 else 0.0)


def period(profiles: np.ndarray) -> int | None:
    """The smallest period of an exactly periodic sequence (at most half its length), else None."""
    for p in range(1, len(profiles) // 2 + 1):
        if np.array_equal(profiles[p:], profiles[:-p]):
            return p
    return None


@dataclass(frozen=True)
class Ending:
    """Where one run from (start prices) ended, and how that was checked."""

    start_seller_price: float
    start_intermediary_price: float
    outcome: str
    seller_price: float  # the end price; for cycle and mixed, the mean price over the window
    intermediary_price: float
    seller_revenue: float  # expected, at the end point (mixed: under the empirical frequencies)
    intermediary_revenue: float
    period: int = 0
    grid_regret: float = math.nan  # relative, larger side, on the discretized game
    continuous_regret: float = math.nan  # relative, larger side, deviations to any price (pure ends)
    verified: bool = False  # passes is_equilibrium on the continuous game (pure ends)
    trades: bool = True  # the end point sells with positive probability
    realized_seller_revenue: float = math.nan  # mean over the last window, from the realized sales
    realized_intermediary_revenue: float = math.nan

    @property
    def seller_share(self) -> float:
        total = self.seller_price + self.intermediary_price
        return self.seller_price / total if total > 0 else math.nan


def classify(p: Play, game: PricingGame, mg: MatrixGame, start: tuple[int, int], window: int,
             mixed_tol: float) -> Ending:
    """Classify the end of a run (see the module's docstring)."""
    rounds = len(p.rows)
    window = min(window, rounds)
    m = len(mg.col_actions)
    R, C = p.rows[-window:], p.cols[-window:]
    profiles = R * m + C
    ps, pi = mg.row_actions, mg.col_actions
    realized = dict(realized_seller_revenue=float(np.mean(ps[R] * p.sold[-window:])),
                    realized_intermediary_revenue=float(np.mean(pi[C] * p.sold[-window:])))
    base = dict(start_seller_price=float(ps[start[0]]), start_intermediary_price=float(pi[start[1]]))
    per = period(profiles)
    counts = Counter(profiles.tolist())
    modal, share = counts.most_common(1)[0]
    if per == 1 or (per is None and share >= SETTLED_SHARE * window):
        i, j = divmod(modal, m)
        if grid_equilibrium(mg, i, j):
            return Ending(**base, outcome="equilibrium", seller_price=float(ps[i]), intermediary_price=float(pi[j]),
                          seller_revenue=float(mg.A[i, j]), intermediary_revenue=float(mg.B[i, j]),
                          grid_regret=max(grid_regret(mg, i, j)),
                          continuous_regret=continuous_regret(game, float(ps[i]), float(pi[j])),
                          verified=is_equilibrium(game, float(ps[i]), float(pi[j])),
                          trades=bool(game.sale(ps[i] + pi[j]) > 0), **realized)
    means = dict(seller_price=float(np.mean(ps[R])), intermediary_price=float(np.mean(pi[C])))
    if per is not None and per >= 2:
        return Ending(**base, outcome="cycle", period=per, seller_revenue=float(np.mean(mg.A[R, C])),
                      intermediary_revenue=float(np.mean(mg.B[R, C])), **means, **realized)
    x, y = p.frequencies(rounds // 2)
    rel = relative_mixed_regret(mg, x, y)
    outcome = "mixed" if rel <= mixed_tol else "none"
    return Ending(**base, outcome=outcome, seller_price=float(x @ ps), intermediary_price=float(y @ pi),
                  seller_revenue=float(x @ mg.A @ y), intermediary_revenue=float(x @ mg.B @ y),
                  grid_regret=rel, **realized)


@dataclass(frozen=True)
class Task:
    """One run of a study: everything a worker needs (picklable)."""

    market: Market
    seller_rule: object
    intermediary_rule: object
    start: tuple[int, int]
    rounds: int
    window: int
    mixed_tol: float
    seq: np.random.SeedSequence


def run_play(task: Task) -> tuple[Ending, Play]:
    """Play one run and classify its end; also returns the play."""
    game, mg = task.market.discretized()
    p = play_market(task.market, task.seller_rule, task.intermediary_rule, task.start, task.rounds, task.seq)
    return classify(p, game, mg, task.start, task.window, task.mixed_tol), p


def run_task(task: Task) -> Ending:
    return run_play(task)[0]


def start_indices(points: int, per_side: int) -> list[int]:
    """``per_side`` grid indices spread evenly from the lowest price to the highest."""
    if not 1 <= per_side <= points:
        raise InputError(f"starts per side must be in [1, {points}] (the grid), got {per_side}")
    return sorted({int(round(k)) for k in np.linspace(0, points - 1, per_side)})


def check_budget(study) -> None:
    """A study's rounds, window, mixed tolerance and starts per side, each in range (one-line errors)."""
    if study.rounds < 1 or study.window < 1:
        raise InputError(f"rounds and window must be >= 1, got {study.rounds} and {study.window}")
    if not 0 < study.mixed_tol < 1:
        raise InputError(f"mixed_tol must be in (0, 1), got {study.mixed_tol}")
    start_indices(study.market.points, study.starts_per_side)


@dataclass(frozen=True)
class Study:
    """A selection study: one market, one rule per side, a square grid of starting price pairs."""

    market: Market
    seller_rule: object
    intermediary_rule: object | None = None  # None: the same rule as the seller
    starts_per_side: int = 11
    rounds: int = 1500
    window: int = 200
    mixed_tol: float = 0.02
    seed: int = 0

    def __post_init__(self):
        check_budget(self)

    @property
    def rules(self) -> tuple[object, object]:
        return self.seller_rule, self.intermediary_rule or self.seller_rule

    def tasks(self) -> list[Task]:
        idx = start_indices(self.market.points, self.starts_per_side)
        starts = [(i, j) for i in idx for j in idx]
        seqs = children(np.random.SeedSequence(self.seed), len(starts))
        s, r = self.rules
        return [Task(self.market, s, r, st, self.rounds, self.window, self.mixed_tol, q)
                for st, q in zip(starts, seqs)]


@dataclass
class StudyResult:
    """Every run's ending, in start order, with how they were computed."""

    study: Study
    endings: list[Ending]
    method: str
    seconds: float
    counts: dict = field(default_factory=dict)

    def table(self):
        import pandas as pd

        rows = [asdict(e) | {"seller_share": e.seller_share} for e in self.endings]
        return pd.DataFrame(rows)

    def equilibria(self) -> list[Ending]:
        return [e for e in self.endings if e.outcome == "equilibrium"]


def study_result(study: Study, endings: list[Ending], seconds: float) -> StudyResult:
    """The result of ``study`` from its endings in start order."""
    s, r = study.rules
    method = (f"{s.label} (seller) vs {r.label} (intermediary), {len(endings)} starts, "
              f"{study.rounds} rounds each, window {study.window}; equilibria verified on the "
              f"{study.market.points}-price {study.market.grid} grid (relative regret <= {REGRET_RTOL:g}) "
              "and checked against any price")
    return StudyResult(study, endings, method, seconds, dict(Counter(e.outcome for e in endings)))


def run_study(study: Study, executor=None) -> StudyResult:
    """Run every start of ``study``; ``executor``: any concurrent.futures.Executor (None: serial).

    The experiments runner runs the same tasks as runs of the ``learning`` market kind
    (:func:`agora.experiments.selection.run_selection`), with the same endings.
    """
    begin = time.perf_counter()
    tasks = study.tasks()
    endings = list(executor.map(run_task, tasks, chunksize=4) if executor is not None else map(run_task, tasks))
    return study_result(study, endings, time.perf_counter() - begin)
