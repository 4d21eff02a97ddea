"""Equilibrium selection in a k-item market with two intermediaries (intermediary-proof-mechanisms).

The market: k identical items, n unit-demand buyers with i.i.d. values from F, split into
two blocks of b_1 and b_2 buyers; intermediary j represents block j. The seller posts a
price p_s per item and intermediary j a fee f_j, at once; a buyer of block j asks for an
item iff v >= p_s + f_j, and the k items go to the asking buyers by random rationing
(Definition 7's rule: when more ask than there are items, k of them uniformly at random).
The seller earns p_s per item sold, intermediary j earns f_j per item its block gets.

Exact payoffs. Block j asks for D_j ~ Binomial(b_j, S(p_s + f_j)) items, S(t) = P[v >= t],
independently (:func:`agora.market.k_items.solver.demand_pmf`). With D = D_1 + D_2, the seller
sells min(D, k); given D > k, block j gets X_j ~ Hypergeometric(D, D_j, k) items, whose
mean is k D_j / D, so

    u_s = p_s E[min(D, k)],     u_j = f_j E[D_j min(1, k / D)].

With k >= n rationing never binds and each block is a posted-price market of its own:
u_j = f_j b_j S(p_s + f_j), whose best fee sets the buyer's price t = p_s + f_j where
f_j = S(t) / f(t), i.e. phi(t) = p_s: the fee-posting intermediary buys exactly when
phi(v) >= p_s, the monopolist intermediary of Lemma 3. For U[0,1] values, f_j = (1 - p_s)/2
and the seller's best price against fees f_1, f_2 solves sum_j b_j (1 - 2 p_s - f_j) = 0;
the unique trading equilibrium is p_s = f_1 = f_2 = 1/3, whatever the blocks.

A variant fixes the seller's price (at the intermediary-proof price p_R = E[v(1, ceil(n/k))],
say): the seller's action set is that one price, and the game is between the intermediaries.

The study runs the three-player game (:class:`agora.market.learning.dynamics.Game`) from a grid of starting
profiles; ends are classified as in :mod:`agora.market.learning.selection`, with the N-player verifier:
no player gains more than REGRET_RTOL (relative) by another grid price, and, against any
price in [0, upper], by scipy's bounded optimization of the exact payoff
(:func:`continuous_regrets`).
"""

from __future__ import annotations

import math
import time
from collections import Counter
from dataclasses import asdict, dataclass, field, replace
from functools import lru_cache

import numpy as np
from scipy.integrate import quad
from scipy.optimize import minimize_scalar, root

from agora.market.blas import one_blas_thread
from agora.market.distributions import parse_spec
from agora.market.errors import InputError
from agora.market.k_items.solver import demand_pmf
from agora.market.learning.dynamics import MARKET, Game, Joint, child, children, play_game
from agora.market.learning.selection import SETTLED_SHARE, check_budget, period, price_levels, start_indices
from agora.market.single_item.simultaneous import REGRET_RTOL, acceptable

SELLER, FIRST, SECOND = 0, 1, 2
PLAYERS = ("seller", "first intermediary", "second intermediary")
SCAN = 2001  # prices scanned per player before scipy refines the best (continuous verifier)


@dataclass(frozen=True)
class KItemMarket:
    """k items, two blocks of buyers with values from ``distribution``, one price grid for every side.

    ``upper``: the grid's top price (default: the top of the support). ``seller_price``: a
    fixed seller price (the two-intermediary variant), or None: the seller learns too.
    """

    name: str
    distribution: str
    blocks: tuple[int, int]
    items: int
    points: int = 31
    upper: float | None = None
    seller_price: float | None = None

    def __post_init__(self):
        dist = parse_spec(self.distribution)
        if len(self.blocks) != 2 or any(not isinstance(b, int) or b < 1 for b in self.blocks):
            raise InputError(f"blocks must be two whole numbers >= 1 (buyers per intermediary), got {self.blocks}")
        if not isinstance(self.items, int) or self.items < 1:
            raise InputError(f"items must be a whole number >= 1, got {self.items}")
        if self.points < 3:
            raise InputError(f"a price grid needs at least 3 points, got {self.points}")
        top = self.upper if self.upper is not None else dist.hi
        if not 0 < top < math.inf:
            raise InputError(f"the grid's upper price must be positive and finite, got {top} "
                             "(give upper for a law without a finite top)")
        if self.seller_price is not None and not 0 <= self.seller_price < math.inf:
            raise InputError(f"a fixed seller price must be >= 0, got {self.seller_price}")

    @property
    def buyers(self) -> int:
        return sum(self.blocks)

    @property
    def top(self) -> float:
        return float(self.upper if self.upper is not None else law(self.distribution).hi)

    def game(self) -> Game:
        return k_item_game(self.distribution, self.blocks, self.items, self.points, self.top, self.seller_price)

    def payoffs(self, ps, f1, f2) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Exact expected payoffs (seller, first, second) at prices that broadcast together."""
        return expected_payoffs(self.distribution, self.blocks, self.items, ps, f1, f2)

    def payoff(self, i: int, ps, f1, f2) -> np.ndarray:
        """Player i's exact expected payoff alone (entry i of :meth:`payoffs`)."""
        return expected_payoff(self.distribution, self.blocks, self.items, i, ps, f1, f2)


def expected_items(distribution: str, blocks: tuple[int, int], k: int, ps, f1, f2):
    """E[min(D, k)] items sold and E[D_j min(1, k/D)] items to each block, vectorized over prices.

    Each is a bilinear form pmf_1 W pmf_2 in the two blocks' demand pmfs (never the joint pmf
    at every price profile, so memory stays linear in the number of buyers); block j's pmf is
    computed on the shape of p_s + f_j only (a price grid's axes broadcast in the form).
    """
    pmf1, pmf2 = block_pmfs(distribution, blocks, ps, f1, f2)
    return tuple(bilinear(pmf1, w, pmf2) for w in rationing_weights(blocks, k))


def block_pmfs(distribution: str, blocks: tuple[int, int], ps, f1, f2) -> tuple[np.ndarray, np.ndarray]:
    """Each block's demand pmf P[D_j = d], d = 0..b_j, on the shape of p_s + f_j (along a new last axis)."""
    dist = law(distribution)
    ps, f1, f2 = (np.asarray(x, float) for x in (ps, f1, f2))
    return (demand_pmf(blocks[0], dist.prob_at_least(ps + f1)),
            demand_pmf(blocks[1], dist.prob_at_least(ps + f2)))


@lru_cache(maxsize=64)
def rationing_weights(blocks: tuple[int, int], k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """W[d_1, d_2] of the seller's and each block's items: min(d_1 + d_2, k), then d_j min(1, k / (d_1 + d_2))
    (each ask's chance of an item under random rationing), d_j = 0..b_j; kept read-only per market."""
    d, e = np.arange(blocks[0] + 1)[:, None], np.arange(blocks[1] + 1)[None, :]
    total = d + e
    share = np.minimum(1.0, k / np.maximum(total, 1))  # each ask's chance of an item
    out = (np.minimum(total, k).astype(float), d * share, e * share)
    for w in out:
        w.flags.writeable = False
    return out


def bilinear(pmf1: np.ndarray, w: np.ndarray, pmf2: np.ndarray) -> np.ndarray:
    """sum_{d_1, d_2} pmf_1[d_1] W[d_1, d_2] pmf_2[d_2], over the pmfs' last axes."""
    return np.sum((pmf1 @ w) * pmf2, axis=-1)


@lru_cache(maxsize=64)
def law(distribution: str):
    """The value law of a spec string, parsed once (payoffs are evaluated many times per market)."""
    return parse_spec(distribution)


def expected_payoffs(distribution: str, blocks: tuple[int, int], k: int, ps, f1, f2):
    """u_s = p_s E[min(D, k)], u_j = f_j E[D_j min(1, k/D)] (the module's docstring), vectorized."""
    sold, got1, got2 = expected_items(distribution, blocks, k, ps, f1, f2)
    ps, f1, f2 = np.broadcast_arrays(*(np.asarray(x, float) for x in (ps, f1, f2)))
    return ps * sold, f1 * got1, f2 * got2


def expected_payoff(distribution: str, blocks: tuple[int, int], k: int, i: int, ps, f1, f2) -> np.ndarray:
    """Player i's payoff alone: entry i of :func:`expected_payoffs`, computed as there (one form of three)."""
    pmf1, pmf2 = block_pmfs(distribution, blocks, ps, f1, f2)
    got = bilinear(pmf1, rationing_weights(blocks, k)[i], pmf2)
    return np.broadcast_arrays(*(np.asarray(x, float) for x in (ps, f1, f2)))[i] * got


def expected_welfare(distribution: str, blocks: tuple[int, int], k: int, ps: float, f1: float, f2: float) -> float:
    """E[sum of the served buyers' values] = sum_j E[v | v >= p_s + f_j] E[items to block j].

    Random rationing serves asking buyers regardless of their values, and the values of a
    block's askers are i.i.d. given that they ask, so each served buyer of block j is worth
    E[v | v >= p_s + f_j] in expectation (scipy's ``expect`` on the law's tail).
    """
    dist = law(distribution)
    _, got1, got2 = expected_items(distribution, blocks, k, ps, f1, f2)
    out = 0.0
    for got, t in ((float(got1), ps + f1), (float(got2), ps + f2)):
        if got > 0:
            out += got * tail_mean(dist, t)
    return out


def tail_mean(dist, t: float) -> float:
    """E[v | v >= t] = t + (integral of P[v > x] over [t, top]) / P[v >= t], for t >= lo (atoms at the top
    included), by scipy's quad."""
    t = max(float(t), float(dist.lo))
    area, _ = quad(lambda x: float(dist.sf(x)), t, float(dist.hi), limit=200)
    return t + area / float(dist.prob_at_least(t))


@lru_cache(maxsize=32)
@one_blas_thread
def k_item_game(distribution: str, blocks: tuple[int, int], k: int, points: int, top: float,
                seller_price: float | None) -> Game:
    """The market on a price grid: axes (seller, first, second); the seller's grid is one price if fixed."""
    fees = price_levels(top, points)
    prices = fees if seller_price is None else np.array([float(seller_price)])
    payoffs = expected_payoffs(distribution, blocks, k, prices[:, None, None], fees[None, :, None],
                               fees[None, None, :])
    return Game(tuple(np.ascontiguousarray(p) for p in payoffs), (prices, fees, fees))


# ------------------------------------------------------------------ rounds
def market_draws(market: KItemMarket, rounds: int, seq: np.random.SeedSequence) -> tuple[np.ndarray, np.ndarray]:
    """Each round's buyer values and rationing priorities (rounds x buyers), from the market child."""
    rng = np.random.default_rng(child(seq, MARKET))
    values = parse_spec(market.distribution).rvs((rounds, market.buyers), rng)
    return values, rng.random((rounds, market.buyers))


def k_item_rounds(market: KItemMarket, values: np.ndarray, priority: np.ndarray, ps, f1, f2) -> np.ndarray:
    """Items each block gets in each round (rounds x 2), at per-round prices: a buyer of block j asks
    iff v >= p_s + f_j; of the askers, the k with the smallest priority get an item (random rationing)."""
    block = np.repeat([0, 1], market.blocks)
    ps, f1, f2 = (np.broadcast_to(np.asarray(x, float), values.shape[:1]) for x in (ps, f1, f2))
    threshold = ps[:, None] + np.stack([f1, f2], axis=1)[:, block]
    ask = values >= threshold
    rank = np.argsort(np.argsort(np.where(ask, priority, np.inf), axis=1), axis=1)
    got = ask & (rank < market.items)
    return np.stack([got[:, block == j].sum(axis=1) for j in (0, 1)], axis=1)


def play_k_market(market: KItemMarket, rules, start: tuple[int, int, int], rounds: int,
                  seq: np.random.SeedSequence) -> tuple[Joint, np.ndarray]:
    """Repeated play of the three-player game; returns the play and the items each block got per round.

    The rules here know the game (their payoffs are the exact ones); the rounds' sales are
    drawn from the run's market child after play, at the prices played.
    """
    game = market.game()
    joint = play_game(game, rules, start, rounds, seq)
    prices = [game.actions[i][joint.actions[:, i]] for i in range(3)]
    units = k_item_rounds(market, *market_draws(market, rounds, seq), *prices)
    joint.sold = units.sum(axis=1) > 0
    return joint, units


# ------------------------------------------------------------------ the N-player verifier
def payoff_line(game: Game, profile: tuple[int, ...], i: int) -> np.ndarray:
    """Player i's payoffs from each of its grid actions, the others' actions as in ``profile``."""
    return game.payoffs[i][profile[:i] + (slice(None),) + profile[i + 1:]]


def grid_regrets(game: Game, profile: tuple[int, ...]) -> list[float]:
    """Each player's gain from its best other grid action at ``profile``, relative to that action's payoff."""
    out = []
    for i in range(game.players):
        line = payoff_line(game, profile, i)
        best = float(np.max(line))
        out.append((best - float(line[profile[i]])) / best if best > 0 else 0.0)
    return out


def grid_equilibrium(game: Game, profile: tuple[int, ...]) -> bool:
    """No player gains more than REGRET_RTOL of its best grid deviation's payoff."""
    return all(acceptable(float(np.max(line)) - float(line[profile[i]]), float(np.max(line)))
               for i, line in ((i, payoff_line(game, profile, i)) for i in range(game.players)))


def best_response(market: KItemMarket, prices, i: int, points: int = SCAN) -> tuple[float, float]:
    """Player i's best price in [0, upper] against the others' ``prices`` and its payoff: the best of
    ``points`` equally spaced prices, then scipy's bounded Brent search within a spacing of it (exact payoffs)."""
    grid = np.linspace(0.0, market.top, points)
    step = grid[1] - grid[0]

    def u(x):
        p = list(prices)
        p[i] = x
        return market.payoff(i, *p)

    scan = u(grid)
    x0 = float(grid[int(np.argmax(scan))])
    res = minimize_scalar(lambda x: -float(u(x)), bounds=(max(0.0, x0 - step), min(market.top, x0 + step)),
                          method="bounded", options={"xatol": 1e-12})
    return (float(res.x), -float(res.fun)) if -float(res.fun) > float(np.max(scan)) else (x0, float(np.max(scan)))


@one_blas_thread
def continuous_regrets(market: KItemMarket, prices: tuple[float, float, float]) -> list[float]:
    """Each deciding player's relative gain from its best price in [0, upper] against the others' prices
    (:func:`best_response` on SCAN prices)."""
    out = []
    for i in range(3):
        if i not in deciding(market):
            out.append(0.0)
            continue
        _, best = best_response(market, prices, i)
        now = float(market.payoff(i, *prices))
        out.append(max(0.0, best - now) / best if best > 0 else 0.0)
    return out


def settle(market: KItemMarket, start, tol: float, points: int = 201, sweeps: int = 200) -> tuple[float, ...]:
    """Best responses in continuous prices, each deciding player in turn (:func:`best_response` on ``points``
    prices), from ``start`` (all three prices) until no price moves by more than ``tol`` (or ``sweeps`` rounds)."""
    prices = [float(x) for x in start]
    for _ in range(sweeps):
        before = list(prices)
        for i in deciding(market):
            prices[i] = best_response(market, prices, i, points)[0]
        if max(abs(a - b) for a, b in zip(prices, before)) <= tol:
            break
    return tuple(prices)


def deciding(market: KItemMarket) -> tuple[int, ...]:
    """The players who choose a price (the seller only when its price is not fixed)."""
    return (FIRST, SECOND) if market.seller_price is not None else (SELLER, FIRST, SECOND)


def continuous_equilibrium(market: KItemMarket, guess) -> tuple[float, float, float]:
    """An interior equilibrium in continuous prices: scipy's root of every deciding player's
    first-order condition d u_i / d x_i = 0 (central differences), from ``guess`` (the deciding
    players' prices). Check it with :func:`continuous_regrets`."""
    players = deciding(market)
    h = 1e-6 * market.top

    def full(y):
        x = [market.seller_price or 0.0, 0.0, 0.0]
        for i, v in zip(players, y):
            x[i] = float(v)
        return x

    def foc(y):
        out = []
        for i in players:
            up, down = full(y), full(y)
            up[i] += h
            down[i] -= h
            out.append((market.payoff(i, *up) - market.payoff(i, *down)) / (2 * h))
        return np.array(out, float)

    res = root(foc, np.asarray(guess, float), tol=1e-14)
    return tuple(full(res.x))


@one_blas_thread
def settled_equilibrium(market: KItemMarket, start, rtol: float,
                        tols: tuple[float, ...] = (1e-2, 1e-4, 1e-6)) -> tuple[tuple[float, float, float], float]:
    """A continuous equilibrium near ``start`` (all three prices) and its largest relative regret.

    Newton's steps from far away can leave the region where buyers ask (every first-order
    condition is 0 there too), so best responses settle first (:func:`settle`, to within each
    of ``tols`` in turn) and the root of :func:`continuous_equilibrium` from there must pass
    :func:`continuous_regrets` (no player gains more than ``rtol``); the last root is returned
    whether or not it passes.
    """
    prices, regret = tuple(start), math.inf
    for tol in tols:
        prices = settle(market, prices, tol)
        found = continuous_equilibrium(market, [prices[i] for i in deciding(market)])
        regret = max(continuous_regrets(market, found))
        if regret <= rtol:
            break
    return found, regret


def against(u: np.ndarray, marginals: list[np.ndarray], keep: int | None = None) -> np.ndarray:
    """The payoff array ``u`` averaged over independent mixed play (``marginals``), except player ``keep``'s axis."""
    for k in reversed(range(u.ndim)):
        if k != keep:
            u = np.tensordot(u, marginals[k], axes=([k], [0]))
    return u


@one_blas_thread
def seller_first(market: KItemMarket) -> tuple[tuple[float, float, float], float]:
    """The seller's Stackelberg outcome: it commits to p_s, the intermediaries then play their fee
    equilibrium (:func:`continuous_equilibrium` at that price); the p_s best for the seller (scipy's
    bounded Brent search). Returns the prices and the seller's revenue."""
    def outcome(p: float) -> tuple[float, float, float]:
        room = (market.top - p) / 3  # a guess inside the region where buyers ask
        return continuous_equilibrium(replace(market, seller_price=float(p)), (room, room))

    res = minimize_scalar(lambda p: -float(market.payoffs(*outcome(p))[SELLER]), bounds=(0.0, market.top),
                          method="bounded", options={"xatol": 1e-10})
    prices = outcome(float(res.x))
    return prices, float(market.payoffs(*prices)[SELLER])


def mixed_regret(game: Game, marginals: list[np.ndarray]) -> float:
    """The largest relative gain of a player from its best grid action against the others' independent
    mixed play (the product of ``marginals``)."""
    worst = 0.0
    for i in range(game.players):
        u = against(game.payoffs[i], marginals, keep=i)
        best = float(np.max(u))
        worst = max(worst, (best - float(marginals[i] @ u)) / max(best, 1e-300))
    return worst


# ------------------------------------------------------------------ endings
@dataclass(frozen=True)
class KEnding:
    """Where one run ended (prices: seller, first intermediary's fee, second's), and how it was checked."""

    start_seller_price: float
    start_first_fee: float
    start_second_fee: float
    outcome: str
    seller_price: float  # cycle and mixed: mean over the window / second half
    first_fee: float
    second_fee: float
    seller_revenue: float  # expected at the end point (mixed: under the empirical marginals)
    first_revenue: float
    second_revenue: float
    period: int = 0
    grid_regret: float = math.nan
    continuous_regret: float = math.nan
    verified: bool = False  # every player's continuous regret <= REGRET_RTOL
    trades: bool = True
    realized_seller_revenue: float = math.nan  # mean over the last window, from the drawn rounds
    realized_first_revenue: float = math.nan
    realized_second_revenue: float = math.nan

    @property
    def prices(self) -> tuple[float, float, float]:
        return self.seller_price, self.first_fee, self.second_fee


def classify(market: KItemMarket, joint: Joint, units: np.ndarray, start: tuple[int, int, int], window: int,
             mixed_tol: float) -> KEnding:
    """Classify the end of a run as :func:`~agora.market.learning.selection.classify` does, with the N-player
    verifier."""
    game = market.game()
    acts = game.actions
    rounds = len(joint.actions)
    window = min(window, rounds)
    last = joint.actions[-window:]
    flat = np.ravel_multi_index(last.T, game.shape)
    paid = [acts[SELLER][last[:, 0]] * units[-window:].sum(axis=1),
            acts[FIRST][last[:, 1]] * units[-window:, 0], acts[SECOND][last[:, 2]] * units[-window:, 1]]
    realized = dict(zip(("realized_seller_revenue", "realized_first_revenue", "realized_second_revenue"),
                        (float(np.mean(x)) for x in paid)))
    base = dict(zip(("start_seller_price", "start_first_fee", "start_second_fee"),
                    (float(acts[i][start[i]]) for i in range(3))))
    names = ("seller_price", "first_fee", "second_fee")
    revenue_names = ("seller_revenue", "first_revenue", "second_revenue")
    per = period(flat)
    modal, share = Counter(flat.tolist()).most_common(1)[0]
    if per == 1 or (per is None and share >= SETTLED_SHARE * window):
        profile = tuple(int(a) for a in np.unravel_index(modal, game.shape))
        if grid_equilibrium(game, profile):
            prices = tuple(float(acts[i][profile[i]]) for i in range(3))
            cont = continuous_regrets(market, prices)
            pays = [float(game.payoffs[i][profile]) for i in range(3)]
            return KEnding(**base, outcome="equilibrium", **dict(zip(names, prices)),
                           **dict(zip(revenue_names, pays)), grid_regret=max(grid_regrets(game, profile)),
                           continuous_regret=max(cont), verified=all(acceptable(r, 1.0) for r in cont),
                           trades=trading(market, prices),
                           **realized)
    means = {n: float(np.mean(acts[i][last[:, i]])) for i, n in enumerate(names)}
    if per is not None and per >= 2:
        pays = {n: float(np.mean(game.payoffs[i][tuple(last.T)])) for i, n in enumerate(revenue_names)}
        return KEnding(**base, outcome="cycle", period=per, **means, **pays, **realized)
    second = joint.actions[rounds // 2:]
    marg = [np.bincount(second[:, i], minlength=game.shape[i]) / len(second) for i in range(3)]
    rel = mixed_regret(game, marg)
    pays = {n: float(against(game.payoffs[i], marg)) for i, n in enumerate(revenue_names)}
    return KEnding(**base, outcome="mixed" if rel <= mixed_tol else "none",
                   **{n: float(marg[i] @ acts[i]) for i, n in enumerate(names)}, **pays, grid_regret=rel,
                   **realized)


def trading(market: KItemMarket, prices: tuple[float, float, float]) -> bool:
    """Does some buyer ask with positive probability at these prices?"""
    dist = parse_spec(market.distribution)
    return bool(max(dist.prob_at_least(prices[SELLER] + prices[FIRST]),
                    dist.prob_at_least(prices[SELLER] + prices[SECOND])) > 0)


# ------------------------------------------------------------------ studies
@dataclass(frozen=True)
class KTask:
    """One run of a k-item study (picklable)."""

    market: KItemMarket
    rules: tuple
    start: tuple[int, int, int]
    rounds: int
    window: int
    mixed_tol: float
    seq: np.random.SeedSequence


def run_k_task(task: KTask) -> tuple[KEnding, Joint, np.ndarray]:
    """Play one run and classify its end; also returns the play and the items per block per round."""
    joint, units = play_k_market(task.market, task.rules, task.start, task.rounds, task.seq)
    return classify(task.market, joint, units, task.start, task.window, task.mixed_tol), joint, units


@dataclass(frozen=True)
class KStudy:
    """A selection study of a k-item market: one rule for the seller, one for both intermediaries,
    a cube of starting profiles (``starts_per_side`` per side; one for a fixed seller)."""

    market: KItemMarket
    seller_rule: object
    intermediary_rule: object | None = None  # None: the seller's rule
    starts_per_side: int = 5
    rounds: int = 1000
    window: int = 200
    mixed_tol: float = 0.02
    seed: int = 0

    def __post_init__(self):
        check_budget(self)

    @property
    def rules(self) -> tuple:
        other = self.intermediary_rule or self.seller_rule
        return self.seller_rule, other, other

    def starts(self) -> list[tuple[int, int, int]]:
        fees = start_indices(self.market.points, self.starts_per_side)
        sellers = [0] if self.market.seller_price is not None else fees
        return [(s, a, b) for s in sellers for a in fees for b in fees]

    def tasks(self) -> list[KTask]:
        starts = self.starts()
        seqs = children(np.random.SeedSequence(self.seed), len(starts))
        return [KTask(self.market, self.rules, st, self.rounds, self.window, self.mixed_tol, q)
                for st, q in zip(starts, seqs)]


@dataclass
class KStudyResult:
    """Every run's ending, in start order."""

    study: KStudy
    endings: list[KEnding]
    method: str
    seconds: float
    counts: dict = field(default_factory=dict)

    def table(self):
        import pandas as pd

        return pd.DataFrame([asdict(e) for e in self.endings])

    def equilibria(self) -> list[KEnding]:
        return [e for e in self.endings if e.outcome == "equilibrium"]


def k_result(study: KStudy, endings: list[KEnding], seconds: float) -> KStudyResult:
    s, i, _ = study.rules
    method = (f"{s.label} (seller) vs {i.label} (both intermediaries), {len(endings)} starts, "
              f"{study.rounds} rounds each, window {study.window}; equilibria verified on the "
              f"{study.market.points}-price grid (relative regret <= {REGRET_RTOL:g}) and against any price "
              "(scan and bounded Brent search of the exact payoffs)")
    return KStudyResult(study, endings, method, seconds, dict(Counter(e.outcome for e in endings)))


def run_k_study(study: KStudy, executor=None) -> KStudyResult:
    """Run every start of ``study`` (``executor``: any concurrent.futures.Executor; None: serial)."""
    begin = time.perf_counter()
    tasks = study.tasks()
    runs = executor.map(run_k_task, tasks, chunksize=4) if executor is not None else map(run_k_task, tasks)
    return k_result(study, [r[0] for r in runs], time.perf_counter() - begin)
