"""What an intermediary holding several buyers wants (intermediary-proof-mechanisms, Section 2).

Intermediary l holds buyers pi(l) with values v_l. Given x items for a total payment
P its utility is U_l(x, P; v_l); every model here satisfies the paper's conditions:

1. individual rationality: U_l(0, 0; v_l) = 0;
2. it does not create value: U_l <= V(x, P; v_l) = (sum of the x highest values) - P;
3. buyer-disconnectability: at a uniform price r per item it wants at least
   tau_l * |{i in pi(l): v_i >= r}| items in expectation.

Models:

* :class:`SurplusMaximizing` -- U = V (tau = 1);
* :class:`Monopolist` -- the intermediary only knows the prior and runs Myerson's
  auction against a unit cost p: it buys for buyer i iff phi(v_i) >= p; its expected
  utility is the virtual surplus, sum of phi over the served buyers minus P
  (Lemmas 3 and 4: tau >= c(lambda));
* :class:`BargainingShare` -- U = alpha(v, x, P) * V (Equation 1), alpha in (0, 1];
* :class:`CustomUtility` -- any user function, checked against Conditions 1-3 by
  :func:`check_conditions`.

Every model answers ``demand(values, price)``: how many items it asks for at a uniform
per-item price, for many rounds at once (``values`` is rounds x buyers). Linear models
(surplus, monopolist, a constant share) also give per-buyer ``scores``: the intermediary
buys for the buyers whose score is at least the price, and a heterogeneous menu is
bought by assigning higher-weight items to higher scores (Lemma 5).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from agora.market.distributions import ValueDistribution, parse_spec
from agora.market.errors import InputError
from agora.market.names import UTILITY_MODELS as MODELS

TIE = 1e-12  # utilities within this of the best count as best; ties buy more items


def c_lambda(lam: float) -> float:
    """c(lambda) = (1 - lambda)^(1/lambda), c(0) = 1/e (Definition 6)."""
    if not 0.0 <= lam <= 1.0:
        raise InputError(f"lambda must be in [0, 1], got {lam}")
    if lam == 0.0:
        return math.exp(-1.0)
    return (1.0 - lam) ** (1.0 / lam)


def lambda_of(dist: ValueDistribution | str) -> float:
    """The lambda-regularity of a law (lambda = 1 - alpha of its regularity report)."""
    dist = parse_spec(dist)
    dist.require_regular("buyer")
    return float(dist.regularity.lam)


def top_sums(values: np.ndarray) -> np.ndarray:
    """rounds x (b + 1) array: column x is the sum of the x highest values of each row."""
    values = np.atleast_2d(np.asarray(values, float))
    ordered = -np.sort(-values, axis=1)
    return np.concatenate([np.zeros((values.shape[0], 1)), np.cumsum(ordered, axis=1)], axis=1)


def surplus(values: np.ndarray, x: int, payment) -> np.ndarray:
    """V(x, P; v): the x highest values minus the payment (Condition 2's bound)."""
    return top_sums(values)[:, x] - np.asarray(payment, float)


class UtilityModel:
    """An intermediary's utility over (items, payment) given its buyers' values."""

    name = "utility"
    linear = False  # does it buy item by item for buyers whose score reaches the price?

    def utility(self, values: np.ndarray, x: int, payment) -> np.ndarray:
        """U(x, P; v) for each row of ``values`` (rounds x buyers)."""
        raise NotImplementedError

    def demand(self, values: np.ndarray, price: float, available: int | None = None) -> np.ndarray:
        """Items wanted at ``price`` each: argmax over x of U(x, x * price; v), ties to more items."""
        values = np.atleast_2d(np.asarray(values, float))
        top = values.shape[1] if available is None else min(values.shape[1], available)
        table = np.column_stack([self.utility(values, x, x * price) for x in range(top + 1)])
        best = table.max(axis=1, keepdims=True)
        ok = table >= best - TIE * np.maximum(1.0, np.abs(best))
        return top - np.argmax(ok[:, ::-1], axis=1)

    def tau_bound(self, dist: ValueDistribution) -> float | None:
        """The paper's lower bound on tau for this model, if it gives one."""
        return None

    def describe(self) -> str:
        return self.name


class LinearUtility(UtilityModel):
    """Buys one item per buyer whose score is at least the price: U = sum of served scores - P."""

    linear = True

    def scores(self, values: np.ndarray, dist: ValueDistribution) -> np.ndarray:
        raise NotImplementedError

    def score_threshold(self, dist: ValueDistribution, price: float) -> float:
        """inf{v : score(v) >= price}: the buyers with values above it are served."""
        raise NotImplementedError

    def demand_for(self, values: np.ndarray, price: float, dist: ValueDistribution,
                   available: int | None = None) -> np.ndarray:
        count = (self.scores(np.atleast_2d(values), dist) >= price).sum(axis=1)
        return count if available is None else np.minimum(count, available)


class SurplusMaximizing(LinearUtility):
    """U = V: the intermediary maximizes its buyers' surplus (Condition 3 with tau = 1)."""

    name = "surplus"

    def utility(self, values, x, payment):
        return surplus(values, x, payment)

    def demand(self, values, price, available=None):
        count = (np.atleast_2d(values) >= price).sum(axis=1)
        return count if available is None else np.minimum(count, available)

    def scores(self, values, dist):
        return np.asarray(values, float)

    def score_threshold(self, dist, price):
        return float(price)

    def tau_bound(self, dist):
        return 1.0


@dataclass(frozen=True)
class Monopolist(LinearUtility):
    """A profit-maximizing intermediary that knows only the prior (Lemmas 3-4).

    Facing a unit cost p it runs Myerson's auction among its buyers: buyer i is
    served iff phi(v_i) >= p, and its expected profit is the virtual surplus
    sum of phi(v_i) over the served buyers minus what it pays the seller.
    Conditions 1-2 hold since phi(v) <= v; tau_l = inf_p P[phi(v) >= p | v >= p] >= c(lambda).
    """

    dist: ValueDistribution

    name = "monopolist"

    def __init__(self, dist: ValueDistribution | str):
        d = parse_spec(dist)
        d.require_regular("buyer")
        object.__setattr__(self, "dist", d)

    def utility(self, values, x, payment):
        return top_sums(self.dist.virtual_value(np.atleast_2d(values)))[:, x] - np.asarray(payment, float)

    def demand(self, values, price, available=None):
        return self.demand_for(values, price, self.dist, available)

    def scores(self, values, dist):
        return self.dist.virtual_value(np.asarray(values, float))

    def score_threshold(self, dist, price):
        return float(self.dist.virtual_threshold(price))

    def tau_bound(self, dist):
        return c_lambda(lambda_of(self.dist))

    def describe(self):
        return f"monopolist ({self.dist.spec})"


@dataclass(frozen=True)
class BargainingShare(UtilityModel):
    """U = alpha(v, x, P) * V(x, P; v) (Equation 1): a bargaining share or an auditing fee.

    ``alpha`` is a constant in (0, 1] or a function ``alpha(values, x, payment)`` of
    arrays (rounds x buyers, int, rounds) returning shares in (0, 1]. With a constant
    share the intermediary buys exactly what its buyers' surplus asks (tau = 1).
    """

    alpha: float | Callable = 1.0

    name = "bargaining"

    def __post_init__(self):
        if not callable(self.alpha) and not 0.0 < float(self.alpha) <= 1.0:
            raise InputError(f"a bargaining share alpha must be in (0, 1], got {self.alpha}")

    @property
    def linear(self) -> bool:
        return not callable(self.alpha)

    def share(self, values, x, payment) -> np.ndarray:
        if not callable(self.alpha):
            return np.full(np.atleast_2d(values).shape[0], float(self.alpha))
        a = np.asarray(self.alpha(np.atleast_2d(values), x, np.asarray(payment, float)), float)
        if np.any((a <= 0.0) | (a > 1.0)):
            raise InputError(f"the bargaining share alpha(v, x, P) must lie in (0, 1]; got values in "
                             f"[{a.min():.3g}, {a.max():.3g}] for x = {x}")
        return a

    def utility(self, values, x, payment):
        return self.share(values, x, payment) * surplus(values, x, payment)

    def scores(self, values, dist):
        return np.asarray(values, float)

    def score_threshold(self, dist, price):
        return float(price)

    def demand_for(self, values, price, dist, available=None):
        return SurplusMaximizing.demand(SurplusMaximizing(), values, price, available)

    def tau_bound(self, dist):
        return 1.0 if not callable(self.alpha) else None

    def describe(self):
        return f"bargaining share ({'alpha(v, x, P)' if callable(self.alpha) else self.alpha})"


@dataclass(frozen=True)
class CustomUtility(UtilityModel):
    """A user's utility ``func(values, x, payment)`` (arrays: rounds x buyers, int, rounds).

    Use :func:`check_conditions` to test Conditions 1-3 on a law before relying on it.
    """

    func: Callable
    label: str = "custom"

    name = "custom"

    def utility(self, values, x, payment):
        out = np.asarray(self.func(np.atleast_2d(np.asarray(values, float)), x,
                                   np.broadcast_to(np.asarray(payment, float),
                                                   (np.atleast_2d(values).shape[0],))), float)
        return np.broadcast_to(out, (np.atleast_2d(values).shape[0],))

    def describe(self):
        return self.label




def utility_model(name: str | UtilityModel, dist: ValueDistribution | str) -> UtilityModel:
    """A model by name (``surplus`` or ``monopolist``) or the model itself."""
    if isinstance(name, UtilityModel):
        return name
    if name == "surplus":
        return SurplusMaximizing()
    if name == "monopolist":
        return Monopolist(dist)
    raise InputError(f"unknown intermediary model {name!r}; accepted: {', '.join(MODELS)} "
                     "(or a UtilityModel object)")


def model_demand(model: UtilityModel, values: np.ndarray, price: float, dist: ValueDistribution,
                 available: int | None = None) -> np.ndarray:
    """Items a model asks for at a uniform ``price`` (fast path for linear models)."""
    if isinstance(model, LinearUtility) or (isinstance(model, BargainingShare) and model.linear):
        return model.demand_for(values, price, dist, available)
    return model.demand(values, price, available)


@dataclass(frozen=True)
class TauMeasurement:
    """Empirical buyer-disconnectability of a model (Condition 3).

    ``tau`` = min over prices and counts q >= 1 of E[items wanted | q buyers value >= price] / q,
    over counts seen at least ``min_count`` times; ``ratio`` = E[items] / E[q] pooled.
    """

    tau: float
    ratio: float
    stderr: float
    rounds: int
    block: int
    prices: tuple[float, ...]
    method: str


def measure_tau(model: UtilityModel | str, dist: ValueDistribution | str, block: int,
                prices, rounds: int = 20_000, rng=None, min_count: int = 200) -> TauMeasurement:
    """Measure tau_l of a model holding ``block`` buyers by simulation at each price (Condition 3)."""
    dist = parse_spec(dist)
    model = utility_model(model, dist)
    if block < 1:
        raise InputError(f"an intermediary needs at least one buyer, got {block}")
    rng = np.random.default_rng(rng)
    prices = tuple(float(p) for p in np.atleast_1d(prices))
    worst, worst_se, pooled_d, pooled_q = math.inf, 0.0, 0.0, 0.0
    for p in prices:
        values = dist.rvs((rounds, block), rng)
        q = (values >= p).sum(axis=1)
        d = model_demand(model, values, p, dist)
        pooled_d += d.sum()
        pooled_q += q.sum()
        for count in range(1, block + 1):
            sel = q == count
            if sel.sum() < min_count:
                continue
            r = d[sel] / count
            if r.mean() < worst:
                worst, worst_se = float(r.mean()), float(r.std(ddof=1) / math.sqrt(sel.sum()))
    if not math.isfinite(worst):
        raise InputError(f"no price in {prices} left {min_count} rounds with a buyer above it; "
                         "use lower prices or more rounds")
    return TauMeasurement(worst, float(pooled_d / pooled_q) if pooled_q else math.nan, worst_se,
                          rounds, block, prices, f"Monte Carlo, {rounds} rounds per price")


@dataclass(frozen=True)
class ConditionsReport:
    """Conditions 1-3 of Section 2 tested on sampled values, items and payments.

    Condition 2 is tested on deals its buyers gain from (V >= 0): Equation 1's
    alpha V exceeds V whenever V < 0 and alpha < 1, so on losing deals it fails as
    written; ``worst_excess_any`` reports that case too.
    """

    individually_rational: bool
    creates_no_value: bool
    tau: TauMeasurement
    worst_excess: float  # max of U - V over sampled deals with V >= 0 (<= 0 when Condition 2 holds)
    worst_excess_any: float  # the same over every sampled deal

    @property
    def holds(self) -> bool:
        return self.individually_rational and self.creates_no_value and self.tau.tau > 0


def check_conditions(model: UtilityModel | str, dist: ValueDistribution | str, block: int,
                     prices, rounds: int = 5_000, rng=None) -> ConditionsReport:
    """Test a utility model against Conditions 1-3 on ``rounds`` sampled value profiles."""
    dist = parse_spec(dist)
    model = utility_model(model, dist)
    rng = np.random.default_rng(rng)
    values = dist.rvs((rounds, block), rng)
    ir = bool(np.all(np.abs(model.utility(values, 0, np.zeros(rounds))) <= TIE))
    excess = excess_any = -math.inf
    scale = max(1.0, float(np.max(values)))
    for x in range(block + 1):
        payment = rng.uniform(0.0, scale * max(x, 1), rounds)
        v = surplus(values, x, payment)
        gap = model.utility(values, x, payment) - v
        excess_any = max(excess_any, float(np.max(gap)))
        if np.any(v >= 0):
            excess = max(excess, float(np.max(gap[v >= 0])))
    tau = measure_tau(model, dist, block, prices, rounds, rng)
    return ConditionsReport(ir, excess <= TIE * scale, tau, excess, excess_any)
