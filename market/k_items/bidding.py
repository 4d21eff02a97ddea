"""Best responses over full bid vectors in the (k+1)-th-price auction (intermediary-proof-mechanisms,
Section 3, the auction of Proposition 1 facing intermediaries).

An intermediary whose buyers have scores s_1 >= ... >= s_b (values for a surplus maximizer,
phi(v) for a monopolist) submits bids beta_1 >= ... >= beta_x >= r, x <= min(b, k), any
amounts. Rivals are buyers held by single-buyer intermediaries: the auction is truthful for
them (Proposition 1), so each of the m rival buyers bids its score when it reaches r, and the
count of rival bids at or above t is N(t) ~ Binomial(m, G(t)), G(t) = P[score >= t].

With continuous scores, the own j-th bid wins iff N(beta_j) <= k - j (wins form a prefix), so

    P[w >= j] = P[N(beta_j) <= k - j],
    E[price 1{w >= j}] = r P[w >= j] + int_r^{beta_j} P[N(p) >= k + 1 - n(p), N(beta_j) <= k - j] dp,

n(p) = #{i : beta_i > p}: the uniform price max(r, (k+1)-th highest bid) exceeds p iff at least
k + 1 bids do. The joint law is exact: given N(beta_j) = a, N(p) - a ~ Binomial(m - a,
(G(p) - G(beta_j)) / (1 - G(beta_j))). The expected utility is
U(beta; s) = sum_j s_j P[w >= j] - E[price 1{w >= j}], integrated by Gauss-Legendre on each
interval between consecutive bids (polynomial, hence exact, for uniform values).

The best response is a search over non-increasing bid vectors on a grid of levels in
[r, s_1] (every number of bids), refined off the grid by bounded Brent on one bid at a time;
its regret is the best utility on a finer grid (up to the top of the score range) minus its own.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy import optimize

from agora.market.distributions import ValueDistribution
from agora.market.errors import InputError
from agora.market.k_items.utility import UtilityModel

NODES, WEIGHTS = np.polynomial.legendre.leggauss(48)


@dataclass(frozen=True)
class TruthfulRivals:
    """m rival buyers, each bidding its score when it reaches the reserve (Proposition 1)."""

    dist: ValueDistribution
    model: UtilityModel
    m: int
    k: int
    reserve: float

    def __post_init__(self):
        if not getattr(self.model, "linear", False):
            raise InputError(f"bidding in the auction needs a linear intermediary model; got {self.model.describe()}")
        object.__setattr__(self, "_survival", lru_cache(maxsize=1 << 16)(self._g))

    def _g(self, t: float) -> float:
        if t <= self.reserve:
            t = self.reserve
        return float(self.dist.prob_at_least(self.model.score_threshold(self.dist, t)))

    def survival(self, t) -> np.ndarray:
        """G(t) = P[a rival's score >= t] (bids below the reserve are not placed)."""
        t = np.maximum(np.atleast_1d(np.asarray(t, float)), self.reserve)
        if self.model.name == "surplus":
            return np.asarray(self.dist.prob_at_least(t), float)
        return np.array([self._survival(float(x)) for x in t])

    def top_score(self) -> float:
        """The score of the 1 - 1e-9 quantile: the top of the bid range searched for regret."""
        return float(self.model.scores(np.array([[float(self.dist.ppf(1.0 - 1e-9))]]), self.dist)[0, 0])


def _binom_pmf(n: int, g: np.ndarray) -> np.ndarray:
    """P[Binomial(n, g) = a], a = 0..n, one row per entry of g."""
    a = np.arange(n + 1)
    coef = np.array([math.comb(n, i) for i in a], float)
    g = np.asarray(g, float)[:, None]
    return coef * g ** a * (1.0 - g) ** (n - a)


def _binom_sf(n: int, g: np.ndarray, c: np.ndarray) -> np.ndarray:
    """P[Binomial(n, g) >= c] for rows g and thresholds c (same length)."""
    tail = np.concatenate([np.cumsum(_binom_pmf(n, g)[:, ::-1], axis=1)[:, ::-1],
                           np.zeros((len(g), 1))], axis=1)  # column a: P[X >= a], a = 0..n+1
    return np.take_along_axis(tail, np.clip(c, 0, n + 1)[:, None], axis=1)[:, 0]


def _win_pmf(rivals: TruthfulRivals, beta: float, top: int) -> np.ndarray:
    """P[N(beta) = a], a = 0..top."""
    return _binom_pmf(rivals.m, rivals.survival(beta))[0, :top + 1]


def _price_tail(rivals: TruthfulRivals, bids: np.ndarray, j: int, p: np.ndarray) -> np.ndarray:
    """P[N(p) >= k + 1 - n(p), N(beta_j) <= k - j] at the points p (all < beta_j)."""
    k, m = rivals.k, rivals.m
    gb = rivals.survival(bids[j - 1])[0]
    gp = rivals.survival(p)
    own = (bids[None, :] > p[:, None]).sum(axis=1)
    need = k + 1 - own  # rival bids >= p needed for the price to exceed p
    pa = _binom_pmf(m, np.array([gb]))[0]
    cond = np.clip((gp - gb) / (1.0 - gb), 0.0, 1.0) if gb < 1.0 else np.zeros_like(gp)
    out = np.zeros(p.size)
    for a in range(min(k - j, m) + 1):
        out += pa[a] * _binom_sf(m - a, cond, need - a)
    return out


def unit_terms(rivals: TruthfulRivals, bids) -> tuple[np.ndarray, np.ndarray]:
    """(P[w >= j], E[price 1{w >= j}]) for j = 1..x (module doc)."""
    bids = np.asarray(bids, float)
    k, r = rivals.k, rivals.reserve
    x = bids.size
    if x > k or np.any(bids < r) or np.any(np.diff(bids) > 0):
        raise InputError(f"bids must be non-increasing, at least the reserve {r} and at most k = {k}; got {bids}")
    win = np.zeros(x)
    pay = np.zeros(x)
    for j in range(1, x + 1):
        win[j - 1] = _win_pmf(rivals, bids[j - 1], k - j).sum()
        cuts = np.unique(np.concatenate([[r], bids[bids < bids[j - 1]], [bids[j - 1]]]))
        integral = 0.0
        for lo, hi in itertools.pairwise(cuts):
            p = 0.5 * (hi - lo) * NODES + 0.5 * (hi + lo)
            integral += 0.5 * (hi - lo) * float(WEIGHTS @ _price_tail(rivals, bids, j, p))
        pay[j - 1] = r * win[j - 1] + integral
    return win, pay


def expected_utility(rivals: TruthfulRivals, scores, bids) -> float:
    """U(beta; s) = sum_j s_j P[w >= j] - E[price 1{w >= j}] (module doc); ``scores`` highest first."""
    bids = np.asarray(bids, float)
    if bids.size == 0:
        return 0.0
    s = np.sort(np.asarray(scores, float))[::-1][:bids.size]
    if s.size < bids.size:
        raise InputError(f"an intermediary with {s.size} buyers places at most {s.size} bids, got {bids.size}")
    win, pay = unit_terms(rivals, bids)
    return float(s @ win - pay.sum())


@dataclass(frozen=True)
class BestResponse:
    """The best bid vector for one score profile, its expected utility and its regret on a finer grid."""

    scores: tuple[float, ...]
    bids: tuple[float, ...]
    utility: float
    regret: float
    grid_points: int

    def shape(self, reserve: float, tol: float = 1e-6) -> tuple[str, ...]:
        """Per own unit: 'truthful' (bid = score), 'reserve', 'shaded' (in between) or 'none'."""
        out = []
        for j, s in enumerate(self.scores):
            if j >= len(self.bids):
                out.append("none")
            elif abs(self.bids[j] - s) <= tol * max(1.0, abs(s)):
                out.append("truthful")
            elif abs(self.bids[j] - reserve) <= tol * max(1.0, reserve):
                out.append("reserve")
            else:
                out.append("shaded" if self.bids[j] < s else "above score")
        return tuple(out)


def _grid_best(rivals: TruthfulRivals, s: np.ndarray, levels: np.ndarray) -> tuple[float, tuple[float, ...]]:
    """The best non-increasing bid vector with entries in ``levels`` (every number of bids; of
    equally good ones, the fewest and lowest bids)."""
    best, arg = 0.0, ()
    for x in range(1, min(s.size, rivals.k) + 1):
        for combo in itertools.combinations_with_replacement(np.sort(levels), x):
            combo = combo[::-1]
            u = expected_utility(rivals, s, combo)
            if u > best:
                best, arg = u, combo
    return best, tuple(float(b) for b in arg)


def _refine(rivals: TruthfulRivals, s: np.ndarray, bids: tuple[float, ...], hi: float) -> tuple[float, tuple]:
    """Bounded Brent on one bid at a time, within its neighbours, three sweeps."""
    b = list(bids)
    best = expected_utility(rivals, s, b)
    for _ in range(3):
        for j in range(len(b)):
            lo_j = b[j + 1] if j + 1 < len(b) else rivals.reserve
            hi_j = b[j - 1] if j > 0 else hi
            if hi_j <= lo_j:
                continue

            def neg(t, j=j):
                trial = b[:j] + [t] + b[j + 1:]
                return -expected_utility(rivals, s, trial)

            res = optimize.minimize_scalar(neg, bounds=(lo_j, hi_j), method="bounded",
                                           options={"xatol": 1e-10 * max(1.0, hi_j)})
            for t, u in ((float(res.x), -float(res.fun)), (lo_j, -neg(lo_j)), (hi_j, -neg(hi_j))):
                if u > best + 1e-15:
                    best, b[j] = u, t
    return best, tuple(b)


def best_response(rivals: TruthfulRivals, scores, points: int = 21,
                  regret_points: int | None = 61) -> BestResponse:
    """The intermediary's best bid vector given its buyers' ``scores`` (module doc); with
    ``regret_points`` None the regret is not measured (reported as nan)."""
    s = np.sort(np.asarray(scores, float))[::-1]
    r = rivals.reserve
    if points < 2 or (regret_points is not None and regret_points < 2):
        raise InputError(f"bid grids need at least 2 points, got {points} and {regret_points}")
    if s.size == 0 or s[0] < r:  # no score reaches the reserve: bidding can only lose money
        return BestResponse(tuple(float(v) for v in s), (), 0.0, 0.0, regret_points or 0)
    coarse = np.unique(np.concatenate([np.linspace(r, s[0], points), s[s >= r]]))
    _, bids = _grid_best(rivals, s, coarse)
    utility, bids = _refine(rivals, s, bids, s[0]) if bids else (0.0, ())
    regret = math.nan
    if regret_points is not None:
        fine = np.linspace(r, max(s[0], rivals.top_score()), regret_points)
        regret = max(0.0, _grid_best(rivals, s, fine)[0] - utility)
    return BestResponse(tuple(float(v) for v in s), bids, utility, regret, regret_points or 0)

