"""Deterministic menus with a bundle price for two items (thesis Section 2.4).

A menu posts p_{1}, p_{2} and p_{12} for the two single items and the bundle,
with p_∅ = 0 (Lemma 2.4.1); the buyer of type v takes a bundle S maximizing
1_S·v - p_S (Definition 2.2.3). Ties are broken in the seller's favour, as in
problem (2.15): the leader picks among the follower's optimal bundles
(Remark 2.4.1). The seller's regret at v under bundle S is

    R_S(v) = Σ_j (v_j - c_j)^+ - (p_S - 1_S·c),

and Theorem 2.4.1 says that the separate prices (2.17), p_S = ½ 1_S·(v̄ + c),
minimize the worst case sup_v R_{s(v)}(v) over all such menus, with value
½ Σ_j (v̄_j - c_j).

Where nature's worst case lies: the regions V_S(p, 0) where S is a best
bundle are polygons cut from the box [0, v̄_1] x [0, v̄_2] by the indifference
lines (1_S - 1_S')·v = p_S - p_S'. Every profile lies in a region with
non-empty interior (the regions cover the box, and those of zero area have
none), where the seller cannot break ties in her favour on a set with
interior, so the worst case is the largest max_{V_S} R_S over the regions of
positive area; it is a supremum, approached from inside the region. R_S is
convex, so its maximum over a polygon is at a vertex, and every vertex is the
crossing of two of the box edges and indifference lines.
:meth:`BundleMenu.worst_case` enumerates these crossings exactly.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize

from agora.market.robust.mechanisms import RobustInputError, _items

#: The bundles ∅, {1}, {2}, {1, 2} (items numbered as in the thesis) and their incidence vectors 1_S.
BUNDLES = ((), (1,), (2,), (1, 2))
INCIDENCE = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
#: Relative tolerance (of v̄_1 + v̄_2) for ties, membership of a region and a region's width.
TIE_TOL = 1e-12


def _two_items(upper, cost) -> tuple[np.ndarray, np.ndarray]:
    vbar, c = _items(upper, cost)
    if len(vbar) != 2:
        raise RobustInputError(f"bundle menus are for exactly 2 items, got {len(vbar)} upper bounds")
    return vbar, c


def _whole(value, least: int, what: str) -> int:
    """A count given as a whole number >= least, or one line naming it and what is accepted."""
    if (isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating))
            or int(value) != value or value < least):
        raise RobustInputError(f"{what} must be a whole number >= {least}, got {value}")
    return int(value)


@dataclass(frozen=True)
class WorstCase:
    """Nature's worst case for a menu: the regret, the profile and the bundle bought there."""

    value: float
    profile: tuple[float, float]
    bundle: tuple[int, ...]


@dataclass(frozen=True)
class BundleMenu:
    """Posted prices for item 1, item 2 and the bundle {1, 2}; p_∅ = 0 (problem (2.15))."""

    upper: tuple[float, float]
    cost: tuple[float, float]
    prices: tuple[float, float, float]

    @classmethod
    def of(cls, upper, cost, p1: float, p2: float, bundle: float) -> BundleMenu:
        vbar, c = _two_items(upper, cost)
        prices = np.array([p1, p2, bundle], float)
        if not np.all(np.isfinite(prices)):
            raise RobustInputError(f"menu prices (p1, p2, p12) must be finite numbers, got {prices.tolist()}")
        return cls(tuple(vbar.tolist()), tuple(c.tolist()), tuple(prices.tolist()))

    @classmethod
    def separate(cls, upper, cost=None, prices=None) -> BundleMenu:
        """p_12 = p_1 + p_2; by default p_j = (v̄_j + c_j)/2, the optimal menu p* of (2.17)."""
        vbar, c = _two_items(upper, cost)
        p = (vbar + c) / 2.0 if prices is None else np.asarray(prices, float)
        if p.shape != (2,):
            raise RobustInputError(f"separate prices need one price per item (2), got {np.ravel(prices).tolist()}")
        return cls.of(vbar, c, p[0], p[1], p[0] + p[1])

    @property
    def price_vector(self) -> np.ndarray:
        """(p_∅, p_1, p_2, p_12) in the order of :data:`BUNDLES`."""
        return np.concatenate([[0.0], self.prices])

    @property
    def _tol(self) -> float:
        return TIE_TOL * float(np.sum(self.upper))

    def _profits(self) -> np.ndarray:
        """The seller's profit p_S - 1_S·c per bundle."""
        return self.price_vector - INCIDENCE @ np.array(self.cost)

    def regrets(self, values) -> np.ndarray:
        """R_S(v) for every profile (rows) and bundle (columns)."""
        v = np.atleast_2d(np.asarray(values, float))
        first_best = np.clip(v - np.array(self.cost), 0.0, None).sum(axis=1)
        return first_best[:, None] - self._profits()[None, :]

    def utilities(self, values) -> np.ndarray:
        """The buyer's utility 1_S·v - p_S for every profile (rows) and bundle (columns)."""
        return np.atleast_2d(np.asarray(values, float)) @ INCIDENCE.T - self.price_vector

    def choice(self, values) -> np.ndarray:
        """Index into :data:`BUNDLES` of the bundle bought: a utility maximizer, ties to the seller (2.15)."""
        u = self.utilities(values)
        tied = u >= u.max(axis=1, keepdims=True) - self._tol
        return np.argmax(np.where(tied, self._profits()[None, :], -np.inf), axis=1)

    def regret(self, values) -> np.ndarray:
        """Ex-post regret of the seller at each profile."""
        r = self.regrets(values)
        return r[np.arange(len(r)), self.choice(values)]

    def _crossings(self) -> np.ndarray:
        """All crossings of two box edges or indifference lines (candidate vertices of the regions)."""
        normals = [np.array([1.0, 0.0])] * 2 + [np.array([0.0, 1.0])] * 2
        offsets = [0.0, self.upper[0], 0.0, self.upper[1]]
        p = self.price_vector
        for s, t in itertools.combinations(range(len(BUNDLES)), 2):
            normals.append(INCIDENCE[s] - INCIDENCE[t])
            offsets.append(p[s] - p[t])
        a, b = np.array(normals), np.array(offsets)
        pairs = np.array(list(itertools.combinations(range(len(a)), 2)))
        mats = a[pairs]  # (pairs, 2 lines, 2 coordinates)
        regular = np.abs(np.linalg.det(mats)) > 0.5  # normals have entries in {-1, 0, 1}: det in {0, ±1, ±2}
        return np.linalg.solve(mats[regular], b[pairs[regular]][..., None])[..., 0]

    def worst_by_bundle(self) -> dict[tuple[int, ...], WorstCase | None]:
        """max of R_S over V_S(p, 0) per bundle S, or None where that region has no interior.

        The maximum of the convex R_S over the polygon V_S(p, 0) is at one of its
        vertices (module docstring); a region has interior iff its vertices do
        not lie on one line (their second singular value exceeds the tolerance).
        """
        pts, tol = self._crossings(), self._tol
        inside = np.all((pts >= -tol) & (pts <= np.array(self.upper) + tol), axis=1)
        u, r = self.utilities(pts), self.regrets(pts)
        out: dict[tuple[int, ...], WorstCase | None] = {}
        for k, bundle in enumerate(BUNDLES):
            member = inside & np.all(u[:, [k]] >= u - tol, axis=1)
            region = pts[member]
            if len(region) < 3 or np.linalg.svd(region - region.mean(axis=0), compute_uv=False)[-1] <= tol:
                out[bundle] = None
                continue
            best = int(np.argmax(r[member, k]))
            out[bundle] = WorstCase(float(r[member, k][best]), tuple(region[best].tolist()), bundle)
        return out

    def worst_case(self) -> WorstCase:
        """sup over v in [0, v̄_1] x [0, v̄_2] of the regret: the largest regional maximum."""
        cases = [w for w in self.worst_by_bundle().values() if w is not None]
        return max(cases, key=lambda w: w.value)

    def brute_force(self, points: int = 201) -> WorstCase:
        """The largest regret over a points x points grid of the box (a lower bound on :meth:`worst_case`)."""
        points = _whole(points, 2, "the number of value grid points")
        axes = [np.linspace(0.0, u, points) for u in self.upper]
        grid = np.stack(np.meshgrid(*axes, indexing="ij"), -1).reshape(-1, 2)
        regret, bought = self.regret(grid), self.choice(grid)
        k = int(np.argmax(regret))
        return WorstCase(float(regret[k]), tuple(grid[k].tolist()), BUNDLES[bought[k]])


def separate_optimum(upper, cost=None) -> float:
    """Theorem 2.4.1: the optimal value of (2.15), ½ Σ_j (v̄_j - c_j)."""
    vbar, c = _two_items(upper, cost)
    return float(np.sum(vbar - c) / 2.0)


@dataclass(frozen=True)
class MenuSearch:
    """The best menu found over a grid of (p_1, p_2, p_12), refined by Nelder-Mead from the best grid menus."""

    best: BundleMenu
    value: float
    grid_value: float
    grid_menus: int
    evaluations: int
    method: str = "grid over (p1, p2, p12), then scipy.optimize.minimize Nelder-Mead, exact worst cases"


def _refine(worst, x0: np.ndarray, step: np.ndarray, restarts: int) -> tuple[np.ndarray, float]:
    """Nelder-Mead from x0, restarted with a simplex a quarter the size while the value improves."""
    x, v = x0, worst(x0)
    for k in range(restarts + 1):
        res = minimize(worst, x, method="Nelder-Mead",
                       options={"initial_simplex": np.vstack([x, x + np.diag(step / 4.0 ** k)]),
                                "xatol": 1e-11, "fatol": 1e-13, "maxiter": 4000})
        if res.fun >= v - 1e-13:
            break
        x, v = res.x, float(res.fun)
    return x, v


def search_menus(upper, cost=None, points=(11, 11, 21), starts: int = 3, restarts: int = 5) -> MenuSearch:
    """Minimize the exact worst-case regret over menus (p_1, p_2, p_12) (problem (2.15) for J = 2).

    The grid takes p_j in [0, v̄_j] and p_12 in [0, v̄_1 + v̄_2] (``points``
    values each; a price at v̄_j or above never sells its item on a set with
    interior). Nelder-Mead starts from the ``starts`` best grid menus with a
    simplex of one grid step, and is restarted from its result (at most
    ``restarts`` times) while that improves the value, since a simplex
    collapsing on the kinks of the worst case may stop short of the minimum.
    """
    vbar, c = _two_items(upper, cost)
    if np.shape(points) != (3,):
        raise RobustInputError(f"the menu grid needs 3 sizes (p1, p2, p12), got {points!r}")
    sizes = [_whole(n, 2, "a menu grid size") for n in points]
    starts, restarts = _whole(starts, 1, "the number of starts"), _whole(restarts, 0, "the number of restarts")
    axes = [np.linspace(0.0, hi, n) for hi, n in zip((vbar[0], vbar[1], vbar.sum()), sizes)]
    step = np.array([a[1] - a[0] for a in axes])
    evaluations = 0

    def worst(x) -> float:
        nonlocal evaluations
        evaluations += 1
        return BundleMenu.of(vbar, c, *x).worst_case().value

    menus = np.stack(np.meshgrid(*axes, indexing="ij"), -1).reshape(-1, 3)
    values = np.array([worst(x) for x in menus])
    order = np.argsort(values, kind="stable")[:starts]
    best_x, best_v = menus[order[0]], float(values[order[0]])
    for x0 in menus[order]:
        x, v = _refine(worst, x0, step, restarts)
        if v < best_v:
            best_x, best_v = x, v
    return MenuSearch(BundleMenu.of(vbar, c, *best_x), best_v, float(values[order[0]]), len(menus), evaluations)
