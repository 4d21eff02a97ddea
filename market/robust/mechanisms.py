"""Mechanisms for sellers who do not know the value distribution.

From the distributionally-robust-mechanism-design thesis:

* Chapter 1 (I >= 2 bidders, values in [0, v̄], Markov ambiguity set "every
  bidder's mean is >= μ", correlations allowed): the second-price auction with
  reserve r, its worst-case revenue by region (Propositions 1.5.5-1.5.7) and
  the best reserve (Theorem 1.5.2); the optimal highest-bidder lottery
  (Theorem 1.5.3) with its upfront and pay-on-win payments; the upper bound
  min(μ, r(2 - r)) on any mechanism (Proposition 1.5.3, Lemma 1.7.15).
* Chapter 2 (one buyer, J items, values in [0, v̄_j], costs c_j, minimax
  regret): the random posted price with density 1/(p - c_j) (Theorem 2.3.1)
  and the best deterministic price (v̄_j + c_j)/2 (Theorem 2.4.1).
* Chapter 3 (I bidders, J items, minimax regret): the second-price auction
  with a random reserve of density 1/x on [v̄_j/e, v̄_j] (Proposition 3.3.2).

The thesis normalizes Chapter 1 to v̄ = 1; here every quantity scales with
v̄ (values, reserve, revenue; σ* and allocation probabilities are scale free).
All evaluations are vectorized over rows of value profiles.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq
from scipy.special import lambertw

from agora.market.errors import InputError


class RobustInputError(InputError):
    """An ambiguity set or mechanism parameter outside what the thesis covers."""


# ---------------------------------------------------------------- ambiguity set

@dataclass(frozen=True)
class MarkovSet:
    """Values in [0, upper]^I with E[v_i] >= mean for every bidder (thesis (1.6)).

    The thesis assumes I >= 2 and 0 < μ < v̄ (μ = 0 or μ = v̄ are trivial).
    """

    bidders: int
    mean: float
    upper: float = 1.0

    def __post_init__(self):
        if isinstance(self.bidders, bool) or int(self.bidders) != self.bidders or self.bidders < 2:
            raise RobustInputError(f"the Markov set needs a whole number of bidders >= 2, got {self.bidders}")
        if not 0.0 < self.upper < math.inf:
            raise RobustInputError(f"the upper bound of values must be > 0, got {self.upper}")
        if not 0.0 < self.mean < self.upper:
            raise RobustInputError(f"the mean bound must lie strictly between 0 and the upper bound "
                                   f"{self.upper}, got {self.mean}")

    @property
    def mu(self) -> float:
        """μ on the thesis' unit scale (μ / v̄)."""
        return self.mean / self.upper


def _as_profiles(values, bidders: int | None = None) -> np.ndarray:
    v = np.atleast_2d(np.asarray(values, float))
    if bidders is not None and v.shape[1] != bidders:
        raise RobustInputError(f"value profiles must have {bidders} columns, got {v.shape[1]}")
    return v


def _highest_and_second(v: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(index of the highest bidder (lowest index among ties), highest value, second value)."""
    winner = np.argmax(v, axis=1)
    part = np.sort(v, axis=1)
    return winner, part[:, -1], part[:, -2] if v.shape[1] > 1 else np.zeros(len(v))


@dataclass(frozen=True)
class Realized:
    """Realized outcomes of an auction on rows of value profiles (one draw of its randomness each).

    ``winner`` is the bidder who receives the item (-1: nobody); ``payments``
    holds what each bidder pays (an upfront fee may be paid without delivery).
    """

    winner: np.ndarray
    payments: np.ndarray

    @property
    def delivered(self) -> np.ndarray:
        return self.winner >= 0

    @property
    def revenue(self) -> np.ndarray:
        return self.payments.sum(axis=1)


def _realized(v: np.ndarray, candidate: np.ndarray, delivered: np.ndarray, paid: np.ndarray) -> Realized:
    payments = np.zeros_like(v)
    payments[np.arange(len(v)), candidate] = paid
    return Realized(np.where(delivered, candidate, -1), payments)


# ------------------------------------------------------- second-price auction

@dataclass(frozen=True)
class SecondPriceReserve:
    """Second-price auction with reserve r: highest bid >= r wins, pays max(second bid, r)."""

    reserve: float = 0.0

    def __post_init__(self):
        if not 0.0 <= self.reserve < math.inf:
            raise RobustInputError(f"a reserve must be a number >= 0, got {self.reserve}")

    symmetric = True

    def allocation(self, values) -> np.ndarray:
        v = _as_profiles(values)
        winner, top, _ = _highest_and_second(v)
        q = np.zeros_like(v)
        rows = np.flatnonzero(top >= self.reserve)
        q[rows, winner[rows]] = 1.0
        return q

    def payments(self, values) -> np.ndarray:
        v = _as_profiles(values)
        winner, top, second = _highest_and_second(v)
        m = np.zeros_like(v)
        rows = np.flatnonzero(top >= self.reserve)
        m[rows, winner[rows]] = np.maximum(second[rows], self.reserve)
        return m

    def revenue(self, values) -> np.ndarray:
        """Seller revenue (sum of payments) per value profile, equation (1.9)."""
        v = _as_profiles(values)
        _, top, second = _highest_and_second(v)
        return np.where(top >= self.reserve, np.maximum(second, self.reserve), 0.0)

    def breakpoints(self) -> tuple[float, ...]:
        """Values where revenue jumps: worst cases sit just below them."""
        return (self.reserve,)

    def describe(self) -> dict:
        return {"class": "second_price_reserve", "reserve": self.reserve}

    def draw(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """No randomness: the auction is deterministic."""
        return np.zeros(size)

    def outcome(self, values, noise=None) -> Realized:
        v = _as_profiles(values)
        winner, top, second = _highest_and_second(v)
        sold = top >= self.reserve
        return _realized(v, winner, sold, np.where(sold, np.maximum(second, self.reserve), 0.0))


def spa_region(reserve: float, ambiguity: MarkovSet) -> str:
    """Which of R1, R2, R3 (or "above_mean") the reserve lies in (Section 1.5.2)."""
    r, mu, n = reserve / ambiguity.upper, ambiguity.mu, ambiguity.bidders
    a = (n * mu - 1.0) / (n - 1.0)
    if r > mu:
        return "above_mean"
    if r <= min(1.0 / n, a):
        return "R1"
    if r <= min(mu, 1.0 / n):
        return "R2"
    return "R3"


def spa_worst_case_revenue(reserve: float, ambiguity: MarkovSet) -> float:
    """Worst-case expected revenue of the second-price auction with reserve r.

    0 above the mean; (Iμ - 1)/(I - 1) in R1 (Proposition 1.5.5);
    I r (μ - r)/(1 - r) in R2 (Proposition 1.5.6); (μ - r)/(1 - r) in R3
    (Proposition 1.5.7); all on the unit scale, times v̄.
    """
    if not 0.0 <= reserve < math.inf:
        raise RobustInputError(f"a reserve must be a number >= 0, got {reserve}")
    r, mu, n = reserve / ambiguity.upper, ambiguity.mu, ambiguity.bidders
    region = spa_region(reserve, ambiguity)
    unit = {"above_mean": lambda: 0.0,
            "R1": lambda: (n * mu - 1.0) / (n - 1.0),
            "R2": lambda: n * r * (mu - r) / (1.0 - r),
            "R3": lambda: (mu - r) / (1.0 - r)}[region]()
    return ambiguity.upper * unit


@dataclass(frozen=True)
class BestReserve:
    """The best reserve against a Markov set and its worst-case revenue (Theorem 1.5.2)."""

    reserve: float
    revenue: float
    mean_region: str  # M1, M2 or M3
    method: str = "closed form, Theorem 1.5.2"

    def mechanism(self) -> SecondPriceReserve:
        return SecondPriceReserve(self.reserve)


def mean_region(ambiguity: MarkovSet) -> str:
    """M1 (μ <= 1/I), M2 (μ <= (2I - 1)/I²) or M3 (Section 1.5.2)."""
    mu, n = ambiguity.mu, ambiguity.bidders
    if mu <= 1.0 / n:
        return "M1"
    return "M2" if mu <= (2.0 * n - 1.0) / n**2 else "M3"


def best_reserve(ambiguity: MarkovSet) -> BestReserve:
    """r* = 1 - sqrt(1 - μ), z* = I r*² in M1 ∪ M2; r* = 0 (any r in R1), z* = (Iμ-1)/(I-1) in M3.

    r* is evaluated as μ / (1 + sqrt(1 - μ)), the same number without the
    cancellation of 1 - sqrt(1 - μ) (which is 0 in floating point for μ < 1e-16).
    """
    mu, n, vbar = ambiguity.mu, ambiguity.bidders, ambiguity.upper
    region = mean_region(ambiguity)
    if region == "M3":
        return BestReserve(0.0, vbar * (n * mu - 1.0) / (n - 1.0), region)
    r = mu / (1.0 + math.sqrt(1.0 - mu))
    return BestReserve(vbar * r, vbar * n * r * r, region)


@dataclass(frozen=True)
class Atoms:
    """A discrete distribution of value profiles: rows of ``points`` with ``probabilities``."""

    points: np.ndarray
    probabilities: np.ndarray

    def mean(self) -> np.ndarray:
        return self.probabilities @ self.points

    def expect(self, f) -> float:
        return float(self.probabilities @ np.asarray(f(self.points), float))

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        idx = rng.choice(len(self.probabilities), size=size, p=self.probabilities)
        return self.points[idx]


def spa_extremal_distribution(reserve: float, ambiguity: MarkovSet, eps: float = 1e-9) -> Atoms:
    """The worst-case distribution Q^(1), Q_ε^(2) or Q_ε^(3) of Propositions 1.5.5-1.5.7.

    Above the mean it is the point mass at μe. For R2 and R3 the infimum is
    approached as ε -> 0 with atoms just below the reserve: at r(1 - ε) in R2
    (relative, so a reserve far below ε keeps its atoms below it) and at r - ε
    in R3 (where r > 1/I), ε = ``eps`` on the unit scale.
    """
    mu, n, vbar = ambiguity.mu, ambiguity.bidders, ambiguity.upper
    r = reserve / vbar
    region = spa_region(reserve, ambiguity)
    eye, ones = np.eye(n), np.ones(n)
    if region == "above_mean":
        pts, probs = [mu * ones], [1.0]
    elif region == "R1":
        w = (mu - 1.0) / ((n - 1.0) * (r - 1.0))
        pts = [ones] + [eye[i] + r * (ones - eye[i]) for i in range(n)]
        probs = [1.0 - n * w] + [w] * n
    elif region == "R2":
        x = r * (1.0 - eps)
        w = (mu - x) / (1.0 - x)
        pts = [x * ones] + [eye[i] + x * (ones - eye[i]) for i in range(n)]
        probs = [1.0 - n * w] + [w] * n
    else:
        x = r - eps
        w = (1.0 - mu) / (1.0 - x)
        pts, probs = [ones, x * ones], [1.0 - w, w]
    probs = np.clip(np.array(probs), 0.0, None)
    return Atoms(vbar * np.array(pts), probs / probs.sum())


# ------------------------------------------------------ highest-bidder lottery

def _sigma_equation(sigma: float, bidders: int, mu: float) -> float:
    """Lemma 1.7.8 in logs: ln((1 + σ)/(Iσ)) + I - 1 - 1/σ - ln μ, increasing on (0, 1/(I-1))."""
    return math.log((1.0 + sigma) / (bidders * sigma)) + bidders - 1.0 - 1.0 / sigma - math.log(mu)


def _log_threshold_equation(x: float, bidders: int, log_mu: float) -> float:
    """(1.30) in x = ln r = I - 1 - 1/σ: x + ln(1 - x/I) - ln μ, increasing for x < 0.

    With 1/σ = I - 1 - x, (1 + σ)/(Iσ) = 1 - x/I, so (1.30) reads
    r (1 - ln(r)/I) = μ; its root has r < μ for every I (the bound of
    Proposition 1.5.3), and no quantity of size I is ever subtracted.
    """
    return x + math.log1p(-x / bidders) - log_mu


def hbl_log_threshold(bidders: int, mu: float) -> float:
    """ln r for the optimal highest-bidder lottery (Theorem 1.5.3), stable for any I >= 2.

    Brackets the root of :func:`_log_threshold_equation` on (x_lo, ln μ):
    the function is positive at ln μ and tends to -inf as x -> -inf.
    """
    log_mu = math.log(mu)
    hi = log_mu
    lo = log_mu - 1.0
    while _log_threshold_equation(lo, bidders, log_mu) > 0.0:
        lo = 2.0 * lo - 1.0
    return float(brentq(_log_threshold_equation, lo, hi, args=(bidders, log_mu),
                        xtol=1e-300, rtol=4 * np.finfo(float).eps, maxiter=500))


def hbl_sigma(bidders: int, mu: float, method: str = "auto") -> tuple[float, str]:
    """σ* = -1/(W₋₁(-μ I e^{-I}) + 1) (Theorem 1.5.3), and how it was computed.

    ``method="auto"`` uses the lower Lambert-W branch while -μ I e^{-I} is
    representable and the result solves (1.30) to 1e-9, and otherwise
    brackets the root of (1.30) written in x = ln r (:func:`hbl_log_threshold`)
    and returns σ = 1/(I - 1 - x), accurate to rounding for any I;
    ``"lambertw"`` or ``"bracket"`` force one of the two.
    """
    if method not in ("auto", "lambertw", "bracket"):
        raise RobustInputError(f"unknown method {method!r} for sigma*; accepted: auto, lambertw, bracket")
    if method != "bracket":
        arg = -mu * bidders * math.exp(-bidders)
        w = lambertw(arg, k=-1) if arg < -1e-300 else complex(math.nan)
        sigma = -1.0 / (w.real + 1.0) if np.isfinite(w) and abs(w.imag) < 1e-12 else math.nan
        if 0.0 < sigma < 1.0 / (bidders - 1) and abs(_sigma_equation(sigma, bidders, mu)) < 1e-9:
            return float(sigma), "lambertw W_-1"
        if method == "lambertw":
            raise RobustInputError(f"Lambert W cannot give sigma* for I={bidders}, mu={mu} "
                                   "(its argument underflows); use method='bracket'")
    x = hbl_log_threshold(bidders, mu)
    return 1.0 / (bidders - 1.0 - x), "bracketing root of (1.30) in ln r (brentq)"


@dataclass(frozen=True)
class HighestBidderLottery:
    """The optimal highest-bidder lottery of Theorem 1.5.3 for a Markov set.

    Only the highest bidder i (lowest index among ties) may win; with s the
    second-highest value and r the threshold (unit scale):
    q = σ ln(v_i/s) + Iσ - σr/s if s >= r; σ ln v_i + 1 if v_i >= r > s;
    (I - 1)σ if v_i < r (1.12). Upfront payment (1.13):
    σ(v_i + (I - 1)s - r) if v_i >= r, (I - 1)σ s otherwise. The pay-on-win
    variant draws u ~ U[0,1], delivers iff u <= q and then charges m/q.
    The worst-case revenue is r v̄.
    """

    ambiguity: MarkovSet
    sigma: float
    threshold: float  # r on the unit scale
    method: str
    pay_on_win: bool = False

    symmetric = True

    @classmethod
    def optimal(cls, ambiguity: MarkovSet, pay_on_win: bool = False) -> HighestBidderLottery:
        """σ* from :func:`hbl_sigma`; r = e^x with x = ln r from :func:`hbl_log_threshold`, not
        e^{I - 1 - 1/σ*}, whose exponent cancels catastrophically for large I."""
        sigma, method = hbl_sigma(ambiguity.bidders, ambiguity.mu)
        threshold = math.exp(hbl_log_threshold(ambiguity.bidders, ambiguity.mu))
        return cls(ambiguity, sigma, threshold, method, pay_on_win)

    def draw(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """The lottery's uniform draws u; the highest bidder receives the item iff u <= q."""
        return rng.random(size)

    def outcome(self, values, noise) -> Realized:
        """Upfront: the highest bidder pays m whether or not he wins; pay-on-win: m/q on delivery."""
        v, winner, _, _ = self._parts(values)
        q = self.winner_probability(values)
        won = np.asarray(noise, float) <= q
        m = self.winner_payment(values)
        paid = np.where(won, m / np.where(q > 0, q, 1.0), 0.0) if self.pay_on_win else m
        return _realized(v, winner, won, paid)

    @property
    def worst_case_revenue(self) -> float:
        return self.ambiguity.upper * self.threshold

    @property
    def upper_bound(self) -> float:
        """min(μ, r(2 - r)) v̄ bounds every mechanism's worst-case revenue (Prop. 1.5.3, Lemma 1.7.15)."""
        r = self.threshold
        return self.ambiguity.upper * min(self.ambiguity.mu, r * (2.0 - r))

    def _parts(self, values):
        v = _as_profiles(values, self.ambiguity.bidders) / self.ambiguity.upper
        winner, top, second = _highest_and_second(v)
        return v, winner, top, second

    def winner_probability(self, values) -> np.ndarray:
        """q of the highest bidder per profile (1.12a-c)."""
        _, _, top, s = self._parts(values)
        sig, r, n = self.sigma, self.threshold, self.ambiguity.bidders
        s_ok = np.where(s >= r, s, 1.0)  # (1.12a) only where s >= r > 0
        both = sig * np.log(np.maximum(top, s_ok) / s_ok) + n * sig - sig * r / s_ok
        alone = sig * np.log(np.where(top >= r, top, 1.0)) + 1.0
        return np.where(s >= r, both, np.where(top >= r, alone, (n - 1) * sig))

    def winner_payment(self, values) -> np.ndarray:
        """Upfront payment of the highest bidder per profile (1.13), in value units."""
        _, _, top, s = self._parts(values)
        sig, r, n = self.sigma, self.threshold, self.ambiguity.bidders
        unit = np.where(top >= r, sig * (top + (n - 1) * s - r), (n - 1) * sig * s)
        return self.ambiguity.upper * unit

    def pay_on_win_price(self, values) -> np.ndarray:
        """Price charged on delivery in the pay-on-win variant: m/q (Section 1.5.3)."""
        return self.winner_payment(values) / self.winner_probability(values)

    def allocation(self, values) -> np.ndarray:
        v, winner, _, _ = self._parts(values)
        q = np.zeros_like(v)
        q[np.arange(len(v)), winner] = self.winner_probability(values)
        return q

    def payments(self, values) -> np.ndarray:
        v, winner, _, _ = self._parts(values)
        m = np.zeros_like(v)
        m[np.arange(len(v)), winner] = self.winner_payment(values)
        return m

    def revenue(self, values) -> np.ndarray:
        return self.winner_payment(values)

    def breakpoints(self) -> tuple[float, ...]:
        return ()

    def describe(self) -> dict:
        return {"class": "highest_bidder_lottery", "sigma": self.sigma,
                "threshold": self.threshold * self.ambiguity.upper, "pay_on_win": self.pay_on_win}


def lottery_beats_auction_gap(ambiguity: MarkovSet) -> float:
    """Relative gap (HBL - best SPA)/HBL of worst-case revenues (Figure 1.4b)."""
    hbl = HighestBidderLottery.optimal(ambiguity).worst_case_revenue
    return (hbl - best_reserve(ambiguity).revenue) / hbl


def extra_bidders_needed(bidders: int, mu: float, limit: int = 100_000) -> int:
    """Δ(I): the least Δ with best-SPA(I + Δ) >= HBL(I) worst-case revenue (Figure 1.5)."""
    target = HighestBidderLottery.optimal(MarkovSet(bidders, mu)).threshold
    for delta in range(limit + 1):
        if best_reserve(MarkovSet(bidders + delta, mu)).revenue >= target:
            return delta
    raise RobustInputError(f"no Δ <= {limit} makes the best auction beat the lottery at I={bidders}, μ={mu}")


# -------------------------------------------------- Chapters 2 and 3: regret

def _items(upper, cost=None, costs_above: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Upper bounds and costs; ``costs_above`` admits c_j >= v̄_j (Remark 2.3.1)."""
    vbar = np.atleast_1d(np.asarray(upper, float))
    c = np.zeros_like(vbar) if cost is None else np.broadcast_to(np.asarray(cost, float), vbar.shape).copy()
    if np.any(~np.isfinite(vbar)) or np.any(vbar <= 0.0):
        raise RobustInputError(f"upper bounds of values must be > 0, got {vbar.tolist()}")
    if np.any(~np.isfinite(c)) or np.any(c < 0.0) or (not costs_above and np.any(c >= vbar)):
        accepted = "finite c >= 0" if costs_above else "0 <= c < upper bound"
        raise RobustInputError(f"costs must satisfy {accepted}, got costs {c.tolist()} "
                               f"for upper bounds {vbar.tolist()}")
    return vbar, c


@dataclass(frozen=True)
class RandomPostedPrice:
    """Minimax-regret selling to one buyer (Theorem 2.3.1), one random price per item.

    Item j's price has CDF 1 + ln((p - c_j)/(v̄_j - c_j)) on
    [c_j + (v̄_j - c_j)/e, v̄_j] (density 1/(p - c_j)); the buyer buys item j
    iff the price is at most his value. Averaged over prices this is the
    direct mechanism (2.3); its worst-case regret is Σ (v̄_j - c_j)/e.
    Items with c_j >= v̄_j get the trivial mechanism (0, 0) (never sold), and
    the regret is (1/e) Σ (v̄_j - c_j)^+ (Remark 2.3.1).
    """

    upper: tuple[float, ...]
    cost: tuple[float, ...]

    @classmethod
    def of(cls, upper, cost=None) -> RandomPostedPrice:
        vbar, c = _items(upper, cost, costs_above=True)
        return cls(tuple(vbar.tolist()), tuple(c.tolist()))

    @property
    def on_sale(self) -> np.ndarray:
        """Items with c_j < v̄_j; the others get the trivial mechanism (Remark 2.3.1)."""
        return np.array(self.cost) < np.array(self.upper)

    @property
    def lowest_price(self) -> np.ndarray:
        """c_j + (v̄_j - c_j)/e, or +inf for an item not on sale."""
        vbar, c = np.array(self.upper), np.array(self.cost)
        return np.where(self.on_sale, c + (vbar - c) / math.e, np.inf)

    def cdf(self, price) -> np.ndarray:
        """P[price_j <= p] per item (columns)."""
        vbar, c = np.array(self.upper), np.array(self.cost)
        p = np.atleast_2d(np.asarray(price, float))
        with np.errstate(divide="ignore", invalid="ignore"):
            f = 1.0 + np.log((p - c) / (vbar - c))
        return np.clip(np.where((p - c > 0) & self.on_sale, f, 0.0), 0.0, 1.0)

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """Prices (size x J) by inversion: p = c + (v̄ - c) e^{u - 1}; +inf off sale."""
        vbar, c = np.array(self.upper), np.array(self.cost)
        return np.where(self.on_sale, c + (vbar - c) * np.exp(rng.random((size, len(vbar))) - 1.0), np.inf)

    def draw(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return self.sample(rng, size)

    def sold(self, values, prices) -> np.ndarray:
        """Item j is bought iff its price is at most the buyer's value for it."""
        return np.asarray(prices, float) <= _as_profiles(values, len(self.upper))

    def expected_profit(self, values) -> np.ndarray:
        """E over prices of Σ_j (p_j - c_j) 1{p_j <= v_j} = m(v) - q(v)·c from (2.3)."""
        vbar, c = np.array(self.upper), np.array(self.cost)
        v = _as_profiles(values, len(vbar))
        return np.where(v >= self.lowest_price, v - c - (vbar - c) / math.e, 0.0).sum(axis=1)

    def regret(self, values) -> np.ndarray:
        """Expected ex-post regret Σ (v_j - c_j)^+ minus expected profit."""
        vbar, c = np.array(self.upper), np.array(self.cost)
        v = _as_profiles(values, len(vbar))
        return np.clip(v - c, 0.0, None).sum(axis=1) - self.expected_profit(v)

    @property
    def worst_case_regret(self) -> float:
        return float(np.sum(np.clip(np.array(self.upper) - np.array(self.cost), 0.0, None)) / math.e)

    def describe(self) -> dict:
        return {"class": "random_posted_price", "upper": list(self.upper), "cost": list(self.cost)}


@dataclass(frozen=True)
class DeterministicPrices:
    """Posted prices p_j; the minimax-regret choice is (v̄_j + c_j)/2 (Theorem 2.4.1)."""

    prices: tuple[float, ...]
    cost: tuple[float, ...]

    @classmethod
    def best(cls, upper, cost=None) -> DeterministicPrices:
        vbar, c = _items(upper, cost)
        return cls(tuple(((vbar + c) / 2.0).tolist()), tuple(c.tolist()))

    def draw(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """No randomness: the same prices every time."""
        return np.broadcast_to(np.array(self.prices), (size, len(self.prices))).copy()

    def sold(self, values, prices) -> np.ndarray:
        return np.asarray(prices, float) <= _as_profiles(values, len(self.prices))

    def regret(self, values) -> np.ndarray:
        p, c = np.array(self.prices), np.array(self.cost)
        v = _as_profiles(values, len(p))
        return (np.clip(v - c, 0.0, None) - np.where(v >= p, p - c, 0.0)).sum(axis=1)

    def worst_case_regret_of(self, upper) -> float:
        """sup over [0, v̄] per item: max(p - c (value just below p), v̄ - p); separable."""
        p, c = np.array(self.prices), np.array(self.cost)
        return float(np.sum(np.maximum(p - c, np.asarray(upper, float) - p)))

    def describe(self) -> dict:
        return {"class": "posted_prices", "prices": list(self.prices), "cost": list(self.cost)}


@dataclass(frozen=True)
class RandomReserveAuction:
    """Second-price auction per item with a random reserve of density 1/x on [v̄/e, v̄] (Chapter 3).

    Averaged over the reserve it is the mechanism (3.2); its worst-case regret
    is v̄_j/e per item whatever the number of bidders (Proposition 3.3.2).
    Values are arrays (rows x bidders) for one item of upper bound ``upper``.
    """

    upper: float = 1.0

    symmetric = True

    def __post_init__(self):
        if not 0.0 < self.upper < math.inf:
            raise RobustInputError(f"the upper bound of values must be > 0, got {self.upper}")

    def sample_reserve(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return self.upper * np.exp(rng.random(size) - 1.0)

    def draw(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return self.sample_reserve(rng, size)

    def outcome(self, values, reserve) -> Realized:
        """Second-price auction with the drawn reserve (3.3): pay max(second bid, reserve) if won."""
        v = _as_profiles(values)
        winner, top, second = _highest_and_second(v)
        reserve = np.asarray(reserve, float)
        sold = top >= reserve
        return _realized(v, winner, sold, np.where(sold, np.maximum(second, reserve), 0.0))

    def winner_probability(self, values) -> np.ndarray:
        _, top, _ = _highest_and_second(_as_profiles(values))
        with np.errstate(divide="ignore"):
            q = 1.0 + np.log(top / self.upper)
        return np.where(top >= self.upper / math.e, q, 0.0)

    def revenue(self, values) -> np.ndarray:
        """Expected payment of the winner (3.2b)."""
        _, top, s = _highest_and_second(_as_profiles(values))
        lo = self.upper / math.e
        with np.errstate(divide="ignore", invalid="ignore"):
            both = top + s * np.log(s / self.upper)
        return np.where(top < lo, 0.0, np.where(s >= lo, both, top - lo))

    def regret(self, values) -> np.ndarray:
        _, top, _ = _highest_and_second(_as_profiles(values))
        return top - self.revenue(values)

    @property
    def worst_case_regret(self) -> float:
        return self.upper / math.e

    def breakpoints(self) -> tuple[float, ...]:
        return ()

    def describe(self) -> dict:
        return {"class": "random_reserve_auction", "upper": self.upper}
