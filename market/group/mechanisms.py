"""Collective selling mechanisms for a group (selling-to-a-group, Definition 1).

A collective mechanism maps reported type profiles to a trade probability
``x(theta)`` and one transfer ``m(theta)`` paid by the whole group; member i's
payoff is ``theta_i x - m``, the seller's ``m - c x``. Every mechanism here
gives its ex-post rule on arrays of profiles (rows) and its interim rules
``X_i(theta_i) = E[x | theta_i]`` and ``M_i(theta_i) = E[m | theta_i]``, which
members use to decide whether to veto (interim IR) and what to report.

* :class:`VotingMechanism`: the weighted voting rule ``1{omega . phi >= c}``
  of Theorem 1 with Myerson interim transfers (Lemma 2, equation (1)) and the
  nonnegative ex-post transfers of Lemma 1.
* :class:`PostedPriceRule`: trade at price p when at least ``quota`` of the
  consulted members have type >= p (Definition 8; unanimous when every member
  is consulted and the quota is all of them; Section 6.2's n-approval price).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Sequence

import numpy as np
from scipy import integrate
from scipy.integrate import cumulative_trapezoid

from agora.market.distributions import ValueDistribution
from agora.market.errors import InputError
from agora.market.group.expectations import GroupIntegrator
from agora.market.group.specs import TABLE_POINTS

GAUSS_NODES = 8  # per cell of a tabulation grid, for members' expected utilities


class CollectiveMechanism(ABC):
    """A collective mechanism: ex-post allocation and transfer on profiles, interim rules per member."""

    members: tuple[ValueDistribution, ...]
    cost: float

    @abstractmethod
    def allocation(self, theta: np.ndarray) -> np.ndarray:
        """Trade probability for each profile (rows of ``theta``, one column per member)."""

    @abstractmethod
    def transfer(self, theta: np.ndarray) -> np.ndarray:
        """The group's transfer to the seller for each profile."""

    @abstractmethod
    def interim(self, i: int, types) -> tuple[np.ndarray, np.ndarray]:
        """(X_i, M_i) at member i's types: expected trade and transfer given only theta_i."""

    @abstractmethod
    def describe(self) -> dict:
        """A JSON-ready description."""

    def ex_post_table(self, points: int) -> dict[str, np.ndarray]:
        """The ex-post rules on the profile grid of ``points`` evenly spaced types per member (:func:`type_grid`).

        One row per profile (the last member's type varying fastest): ``theta_1 .. theta_N``,
        ``allocation`` x(theta), ``transfer`` m(theta) (the group's payment; Lemma 1 for the
        voting rule), ``utility_1 .. utility_N`` theta_i x - m (ex post; Proposition 4 is about
        their signs and best replies) and ``seller_profit`` m - c x.
        """
        grids = [type_grid(d, points) for d in self.members]
        mesh = np.meshgrid(*grids, indexing="ij")
        theta = np.column_stack([m.ravel() for m in mesh])
        x, m = self.allocation(theta), self.transfer(theta)
        n = len(self.members)
        table = {f"theta_{i + 1}": theta[:, i] for i in range(n)}
        table |= {"allocation": x, "transfer": m}
        table |= {f"utility_{i + 1}": theta[:, i] * x - m for i in range(n)}
        table["seller_profit"] = m - self.cost * x
        return table

    def interim_utility(self, i: int, types) -> np.ndarray:
        """theta_i X_i(theta_i) - M_i(theta_i): what member i expects from taking part truthfully."""
        types = np.atleast_1d(np.asarray(types, float))
        x, m = self.interim(i, types)
        return types * x - m


def _profiles(theta) -> np.ndarray:
    return np.atleast_2d(np.asarray(theta, float))


def type_grid(dist: ValueDistribution, points: int) -> np.ndarray:
    """Evenly spaced types over the support (up to the 1 - 1e-9 quantile when it is unbounded)."""
    top = dist.hi if math.isfinite(dist.hi) else float(dist.ppf(1.0 - 1e-9))
    return np.linspace(dist.lo, top, points)


def table_grid(dist: ValueDistribution, points: int) -> np.ndarray:
    """Types on which interim rules are tabulated: half evenly spaced, half at evenly spaced quantiles.

    Evenly spaced types alone leave a heavy-tailed law (Pareto: the 1 - 1e-9 quantile of
    pareto:0.5,1 is 31623) with almost no point where its mass is, so the tabulated M_i
    would misstate E[M_i] and the Lemma 1 transfers of the others would lose IC; the
    quantile half puts points where the law is, the even half covers the range.
    """
    even = type_grid(dist, points - points // 2)
    quantiles = dist.ppf(np.linspace(0.0, 1.0 - 1e-9, points // 2))
    return np.unique(np.concatenate([even, np.clip(quantiles, even[0], even[-1])]))


class VotingMechanism(CollectiveMechanism):
    """The omega-voting rule with revenue-maximizing transfers (Theorem 1, Lemmas 1 and 2).

    Interim transfers (Lemma 2, equation (1)):
    ``M_i(t) = X_i(t) t - int_lo^t X_i - U_i`` with ``U_i = g_i - min_j g_j``,
    ``g_i = E[phi_i x]``, so IR binds at the lowest type of a member minimizing g.
    Ex-post transfers (Lemma 1): ``m = m0 + prod_i (M_i(theta_i) - m0) / (mbar - m0)^(N-1)``,
    ``mbar = E[M_i]``, ``m0 = 0`` (``-1`` when ``mbar = 0``): nonnegative when every M_i is.
    X_i is computed by the group integrator and tabulated on ``table_points`` types
    (:func:`table_grid`);
    ``moments`` (the g_i of the solver that chose the weights) fixes the floors U_i, so
    that IR binds exactly where the solver's Theorem 1 condition says it does.
    """

    def __init__(self, members: Sequence[ValueDistribution], cost: float, weights,
                 integrator: GroupIntegrator | None = None, table_points: int = TABLE_POINTS,
                 moments=None):
        self.members = tuple(members)
        self.cost = float(cost)
        self.weights = np.asarray(weights, float)
        if self.weights.shape != (len(self.members),) or np.any(self.weights < 0) \
                or not math.isclose(self.weights.sum(), 1.0, abs_tol=1e-9):
            raise InputError(f"voting weights must be {len(self.members)} numbers >= 0 summing to 1, "
                             f"got {list(weights)}")
        self.integrator = integrator or GroupIntegrator(self.members, self.cost)
        n = len(self.members)
        full = self.integrator.moments(self.weights, np.zeros(1), range(n))
        self.moments = full.upper[0] if moments is None else np.asarray(moments, float)  # g_i
        self.trade_probability = float(full.trade[0])
        self.floor = self.moments - self.moments.min()  # U_i: the lowest type's interim utility
        self.grids = [table_grid(d, table_points) for d in self.members]
        self.tables = [self._table(i) for i in range(n)]
        self.mean_transfer = float(self.moments.min())  # mbar = E[M_i] = min_j g_j
        self.m0 = 0.0 if self.mean_transfer > 0 else -1.0

    def _virtual_sum(self, theta: np.ndarray) -> np.ndarray:
        phi = np.column_stack([d.virtual_value(theta[:, i]) for i, d in enumerate(self.members)])
        return phi @ self.weights

    def allocation(self, theta):
        return (self._virtual_sum(_profiles(theta)) >= self.cost).astype(float)

    def interim_allocation(self, i: int, types) -> np.ndarray:
        """X_i(t) = P[sum_{j != i} w_j phi_j >= c - w_i phi_i(t)], by the group integrator."""
        types = np.atleast_1d(np.asarray(types, float))
        offset = self.weights[i] * self.members[i].virtual_value(types)
        others = [j for j in range(len(self.members)) if j != i]
        return self.integrator.trade(self.weights, offset, others)

    def _table(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """X_i on the grid and the running integral of its piecewise-linear interpolant."""
        grid = self.grids[i]
        x = np.maximum.accumulate(np.clip(self.interim_allocation(i, grid), 0.0, 1.0))
        return x, cumulative_trapezoid(x, grid, initial=0.0)

    def interim(self, i, types):
        """X_i by linear interpolation and M_i(t) = X_i(t) t - int_lo^t X_i - U_i, integrated exactly.

        Integrating the same interpolant that gives X_i makes the tabulated mechanism
        exactly interim IC: truth maximizes t X_i(r) - M_i(r) over r.
        """
        types = np.asarray(types, float)
        grid = self.grids[i]
        x_tab, area_tab = self.tables[i]
        t = np.clip(types, grid[0], grid[-1])
        x = np.interp(t, grid, x_tab)
        j = np.clip(np.searchsorted(grid, t, side="right") - 1, 0, grid.size - 2)
        area = area_tab[j] + (t - grid[j]) * (x_tab[j] + x) / 2 + (types - t) * x  # flat beyond the grid
        return x, x * types - area - self.floor[i]

    def interim_table(self) -> dict[str, np.ndarray]:
        """Each member's interim rules on its table grid, one row per (member, type), as columns.

        ``member`` (1-based), ``distribution``, ``weight`` omega_i, ``type`` t, ``cdf`` F_i(t),
        ``virtual_value`` phi_i(t), ``interim_probability`` X_i(t), ``interim_transfer`` M_i(t)
        (Lemma 2, equation (1)) and ``interim_utility`` t X_i(t) - M_i(t), which equals U_i >= 0
        at the lowest type (interim IR) and 0 there for a member minimizing g_i.
        """
        parts = []
        for i, (d, grid) in enumerate(zip(self.members, self.grids)):
            x, m = self.interim(i, grid)
            parts.append({"member": np.full(grid.size, i + 1), "distribution": np.full(grid.size, d.spec),
                          "weight": np.full(grid.size, self.weights[i]), "type": grid,
                          "cdf": np.asarray(d.cdf(grid), float), "virtual_value": d.virtual_value(grid),
                          "interim_probability": x, "interim_transfer": m, "interim_utility": grid * x - m})
        return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}

    def expected_utility(self, i: int) -> float:
        """E[theta X_i(theta) - M_i(theta)] over member i's type, integrated in its quantiles.

        Gauss-Legendre with GAUSS_NODES nodes on the quantile cell of every interval of the grid on
        which X_i is tabulated (within a cell the tabulated utility is a quadratic in the type, so
        the rule is exact up to the smoothness of the quantile function), in one vectorized call of
        the interim rule; adaptive quadrature over the quantiles beyond the grid's top (unbounded laws).
        """
        law = self.members[i]
        edges = np.asarray(law.cdf(self.grids[i]), float)
        nodes, weights = np.polynomial.legendre.leggauss(GAUSS_NODES)
        lo, hi = edges[:-1, None], edges[1:, None]
        u = lo + (hi - lo) * (nodes + 1.0) / 2.0
        utility = self.interim_utility(i, law.ppf(u.ravel())).reshape(u.shape)
        total = float(np.sum((hi - lo) / 2.0 * weights * utility))
        if edges[-1] < 1.0:
            tail, _ = integrate.quad(lambda q: float(self.interim_utility(i, np.array([float(law.ppf(q))]))[0]),
                                     float(edges[-1]), 1.0, limit=200, epsabs=1e-12, epsrel=1e-10)
            total += tail
        return total

    def transfer(self, theta):
        theta = _profiles(theta)
        n = len(self.members)
        factors = np.column_stack([self.interim(i, theta[:, i])[1] - self.m0 for i in range(n)])
        return self.m0 + np.prod(factors, axis=1) / (self.mean_transfer - self.m0) ** (n - 1)

    def describe(self):
        return {"mechanism": "weighted voting (Theorem 1) with Lemma 1 transfers",
                "weights": self.weights.tolist(), "cost": self.cost}


def at_least_probability(probs: np.ndarray, quota: np.ndarray | int) -> np.ndarray:
    """P[at least ``quota`` successes] among independent trials with success probabilities ``probs``.

    ``probs`` has shape (..., n); Poisson-binomial by dynamic programming over trials.
    """
    probs = np.asarray(probs, float)
    dist = np.zeros((*probs.shape[:-1], probs.shape[-1] + 1))
    dist[..., 0] = 1.0
    for t in range(probs.shape[-1]):
        p = probs[..., t, None]
        dist = dist * (1 - p) + np.concatenate([np.zeros_like(dist[..., :1]), dist[..., :-1]], axis=-1) * p
    counts = np.arange(dist.shape[-1])
    quota = np.asarray(quota)[..., None]
    return np.sum(np.where(counts >= quota, dist, 0.0), axis=-1)


class PostedPriceRule(CollectiveMechanism):
    """Collective posted price p: trade iff at least ``quota`` consulted members have type >= p; m = p x.

    ``consulted=None`` consults everyone; ``quota=None`` asks all consulted members
    (the unanimous posted price of Definition 8 and Proposition 2). A quota below the
    number consulted is the n-approval price of Section 6.2; consulting one member is
    a take-it-or-leave-it offer to that member.
    """

    def __init__(self, members: Sequence[ValueDistribution], cost: float, price: float,
                 quota: int | None = None, consulted: Sequence[int] | None = None):
        self.members = tuple(members)
        self.cost = float(cost)
        if not 0.0 <= price < math.inf:
            raise InputError(f"a posted price must be a number >= 0, got {price}")
        self.price = float(price)
        self.consulted = tuple(range(len(self.members))) if consulted is None else tuple(consulted)
        if not self.consulted or any(not 0 <= j < len(self.members) for j in self.consulted):
            raise InputError(f"consulted members must be indices 0..{len(self.members) - 1}, "
                             f"got {list(self.consulted)}")
        self.quota = len(self.consulted) if quota is None else int(quota)
        if not 1 <= self.quota <= len(self.consulted):
            raise InputError(f"the quota must be between 1 and {len(self.consulted)} (members consulted), "
                             f"got {quota}")
        self._tails: dict[int, np.ndarray] = {}

    @property
    def unanimous(self) -> bool:
        return self.quota == len(self.consulted) == len(self.members)

    def allocation(self, theta):
        theta = _profiles(theta)
        yes = np.sum(theta[:, list(self.consulted)] >= self.price, axis=1)
        return (yes >= self.quota).astype(float)

    def transfer(self, theta):
        return self.price * self.allocation(theta)

    def _others_at_least(self, i: int) -> np.ndarray:
        """P[at least q of the other consulted members accept p], q = 0..quota: computed once per member."""
        if i not in self._tails:
            others = [j for j in self.consulted if j != i]
            probs = np.array([float(self.members[j].prob_at_least(self.price)) for j in others])
            levels = np.arange(self.quota + 1)
            self._tails[i] = at_least_probability(probs[None, :], levels)  # one trial distribution, every tail
        return self._tails[i]

    def interim(self, i, types):
        types = np.atleast_1d(np.asarray(types, float))
        need = self.quota - ((types >= self.price) & (i in self.consulted))
        x = self._others_at_least(i)[need]
        return x, self.price * x

    def expected_utility(self, i: int) -> float:
        """E[(theta_i - p) X_i(theta_i)]: the interim rule is a step at p, so member i gets
        (E[theta_i; theta_i >= p] - p P_i) X_i(above p) + (E[theta_i; theta_i < p] - p (1 - P_i)) X_i(below p),
        with the partial means by quadrature over the quantiles."""
        law = self.members[i]
        split = 1.0 - float(law.prob_at_least(self.price))
        total = 0.0
        for lo, hi, t in ((split, 1.0, self.price), (0.0, split, law.lo)):
            if hi > lo:
                part, _ = integrate.quad(lambda u: float(law.ppf(u)) - self.price, lo, hi, limit=200,
                                         epsabs=1e-12, epsrel=1e-10)
                total += part * float(self.interim(i, [t])[0][0])
        return total

    def expected_profit(self) -> float:
        probs = np.array([float(self.members[j].prob_at_least(self.price)) for j in self.consulted])
        return float((self.price - self.cost) * at_least_probability(probs, self.quota))

    def describe(self):
        return {"mechanism": "collective posted price", "price": self.price, "quota": self.quota,
                "consulted": list(self.consulted), "cost": self.cost}


class ConsultedMechanism(CollectiveMechanism):
    """A mechanism for a fixed consulted set of members that ignores everyone else (Section 6.2).

    ``inner`` is a mechanism over the consulted members' types only; the others'
    reports change nothing, and their interim rules are the inner mechanism's means.
    """

    def __init__(self, members: Sequence[ValueDistribution], inner: CollectiveMechanism,
                 consulted: Sequence[int]):
        self.members = tuple(members)
        self.inner = inner
        self.consulted = tuple(consulted)
        if len(self.consulted) != len(inner.members) or \
                any(not 0 <= j < len(self.members) for j in self.consulted):
            raise InputError(f"consulted members must be {len(inner.members)} indices in "
                             f"0..{len(self.members) - 1}, got {list(self.consulted)}")
        self.cost = inner.cost

    def allocation(self, theta):
        return self.inner.allocation(_profiles(theta)[:, list(self.consulted)])

    def transfer(self, theta):
        return self.inner.transfer(_profiles(theta)[:, list(self.consulted)])

    def interim(self, i, types):
        types = np.atleast_1d(np.asarray(types, float))
        if i in self.consulted:
            return self.inner.interim(self.consulted.index(i), types)
        # E[x] and E[m] as means of the first consulted member's interim rules (midpoint quantiles)
        first = self.inner.members[0]
        x, m = self.inner.interim(0, first.ppf((np.arange(4096) + 0.5) / 4096))
        return np.full(types.shape, x.mean()), np.full(types.shape, m.mean())

    def describe(self):
        return {"mechanism": "consulted set", "consulted": list(self.consulted), "inner": self.inner.describe()}
