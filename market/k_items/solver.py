"""Exact evaluation of k-item mechanisms on any demand structure (intermediary-proof-mechanisms).

Posted prices with random rationing (Definition 7). A linear intermediary model
(surplus-maximizing, monopolist, constant bargaining share) holding b buyers asks for
D ~ Binomial(b, q) items, q = P[v >= t], where t is the value at which a buyer's score
reaches the price (t = p for surplus, phi^-1(p) for a monopolist). Blocks are independent,
so the total demand is the convolution of the blocks' binomials and

    revenue = p * E[min(D_1 + ... + D_m, k)].

When demand exceeds supply the k items go to k of the D asked-for units uniformly at
random: block l gets X_l ~ Hypergeometric(D, D_l, k) units and gives them to its X_l
highest buyers, so the welfare realized is

    sum_l sum_{d, e} P[D_l = d] P[D_{-l} = e] E[T(X_l, d)],  T(x, d) = E[top x of d draws | v >= t],

which does depend on the partition (the revenue does not).
The auction's exact revenues cover competition (Myerson, Proposition 1) and monopsony.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass

import numpy as np
from scipy import integrate, stats

from agora.market.demand import Partition, validate_partition
from agora.market.distributions import ValueDistribution, parse_spec
from agora.market.errors import InputError
from agora.market.k_items.mechanisms import (
    ItemMenu,
    check_market,
    check_weights,
    guarantee,
    ipm_price,
    optimal_welfare,
)
from agora.market.k_items.utility import UtilityModel, utility_model

QUAD = dict(limit=400, epsabs=1e-13, epsrel=1e-11)


class NoExactFormError(InputError):
    """The exact evaluator has no closed form for this model or mechanism."""


def block_sizes(partition: Partition) -> tuple[int, ...]:
    """The multiset of block sizes, largest first: all a symmetric market's revenue depends on."""
    return tuple(sorted((len(b) for b in partition), reverse=True))


def threshold_of(model: UtilityModel, dist: ValueDistribution, price: float) -> float:
    """The value from which a linear model buys for a buyer at ``price``."""
    if not getattr(model, "linear", False):
        raise NoExactFormError(f"the exact evaluator needs a linear intermediary model (surplus, monopolist, "
                               f"constant bargaining share); {model.describe()} is evaluated by Monte Carlo")
    return model.score_threshold(dist, price)


def demand_pmf(b: int, q) -> np.ndarray:
    """P[D = d], d = 0..b, for a block of b buyers each asking with probability q
    (an array of q gives one pmf per entry, along a new last axis)."""
    return stats.binom.pmf(np.arange(b + 1), b, np.asarray(q, float)[..., None])


def convolve_all(pmfs: Iterable[np.ndarray]) -> np.ndarray:
    out = np.array([1.0])
    for p in pmfs:
        out = np.convolve(out, p)
    return out


def expected_min(pmf: np.ndarray, k: int) -> float:
    """E[min(D, k)] for D with the given pmf."""
    return float(np.dot(pmf, np.minimum(np.arange(pmf.size), k)))


def served_at_least(own: np.ndarray, rest: np.ndarray, k: int) -> np.ndarray:
    """P[D_l = d and X_l >= r] for d = 0..b (rows) and r = 0..b (columns).

    Block l asks for D_l units, the others for D_-l (pmfs ``own`` and ``rest``); with
    D = D_l + D_-l units asked the block gets X_l ~ Hypergeometric(D, D_l, min(k, D)).
    """
    b = own.size - 1
    e = np.arange(rest.size)
    out = np.zeros((b + 1, b + 1))
    for d in range(1, b + 1):
        total = d + e
        tail = stats.hypergeom.sf(np.arange(b + 1)[:, None] - 1, total[None, :], d,
                                  np.minimum(k, total)[None, :])  # P[X >= r | d, e]
        out[d] = own[d] * (tail @ rest)
    return out


def _served_scores(dist: ValueDistribution, t: float, weights: np.ndarray, score: str) -> float:
    """sum_{d, r <= d} weights[d, r] E[score of the r-th highest of d draws from F given v >= t].

    The r-th highest of d draws sits at quantile u ~ Beta(d - r + 1, r) of F given v >= t,
    so the whole sum is one integral over u of score(Q(u)) against a mixture of beta densities.
    A heavy tail, Q(u) ~ (1 - u)^(-gamma), is integrated in s with 1 - u = s^m, m = 1/(1 - gamma),
    where the integrand stays bounded as s -> 0.
    """
    d, r = np.nonzero(weights > 1e-300)
    keep = r >= 1
    d, r = d[keep], r[keep]
    if not d.size:
        return 0.0
    c = weights[d, r]
    q = float(dist.prob_at_least(t))
    m = 1.0 / (1.0 - dist.quantile_tail)

    def integrand(s):
        tail = s ** m  # 1 - u
        u = 1.0 - tail
        v = dist.isf(q * tail)
        x = float(dist.virtual_value(v) if score == "virtual" else v)
        return x * float(np.dot(c, stats.beta.pdf(u, d - r + 1, r))) * m * s ** (m - 1.0)

    jump = (dist.atom / q) ** (1.0 / m)  # s where the quantile function jumps to an atom at the top, if any
    val, _ = integrate.quad(integrand, 0.0, 1.0, points=[jump] if 0.0 < jump < 1.0 else None, **QUAD)
    return val


def block_shares(dist: ValueDistribution, sizes: Sequence[int], k: int, t: float,
                 score: str = "value") -> dict[int, tuple[float, float]]:
    """Per block size b: (E[sum of the scores of the block's served buyers], E[items it gets]).

    Random rationing (module doc): block l asks for D_l units, gets X_l of them and serves its
    X_l highest buyers, whose values are the top order statistics of D_l draws given v >= t:
    E[served scores] = sum_{d, r} P[D_l = d, X_l >= r] E[score(v(r, d)) | v >= t] and
    E[X_l] = sum_r P[X_l >= r]. ``score`` is ``"value"`` or ``"virtual"`` (phi, increasing).
    """
    n = sum(sizes)
    q = float(dist.prob_at_least(t))
    out = {}
    for b in set(sizes):
        if q == 0.0:
            out[b] = (0.0, 0.0)
            continue
        weights = served_at_least(demand_pmf(b, q), demand_pmf(n - b, q), k)
        out[b] = (_served_scores(dist, t, weights, score), float(weights[:, 1:].sum()))
    return out


def realized_welfare(dist: ValueDistribution, sizes: Sequence[int], k: int, t: float) -> float:
    """Expected value of the buyers who end up with an item under random rationing (module doc)."""
    shares = block_shares(dist, sizes, k, t)
    return sum(shares[b][0] for b in sizes)


@dataclass(frozen=True)
class PostedOutcome:
    """Expected outcome of a uniform posted price on one demand structure."""

    price: float
    revenue: float
    items_sold: float
    realized_welfare: float | None
    sizes: tuple[int, ...]
    method: str


def evaluate_posted(dist: ValueDistribution | str, partition: Partition | Sequence[int], k: int,
                    price: float, model: UtilityModel | str = "surplus",
                    welfare: bool = True, weight: float = 1.0) -> PostedOutcome:
    """Exact revenue (and realized welfare) of ``price`` per item with random rationing.

    ``partition`` is a partition of buyers or just the block sizes. Every item is worth
    ``weight`` v to a buyer of value v (Section 5 with eta_1 = ... = eta_k): a linear model's
    score scales by the weight, so it buys where its unit-weight score reaches price / weight.
    """
    dist = parse_spec(dist)
    model = utility_model(model, dist)
    sizes = _sizes(partition)
    check_market(sum(sizes), k)
    if not 0.0 <= price < math.inf:
        raise InputError(f"a posted price must be >= 0, got {price}")
    if not 0.0 < weight < math.inf:
        raise InputError(f"an item weight must be > 0 and finite, got {weight}")
    t = threshold_of(model, dist, price / weight)
    q = float(dist.prob_at_least(t)) if math.isfinite(t) else 0.0
    pmf = convolve_all(demand_pmf(b, q) for b in sizes)
    sold = expected_min(pmf, k)
    wel = weight * float(realized_welfare(dist, sizes, k, t)) if welfare and math.isfinite(t) else \
        (0.0 if welfare else None)
    return PostedOutcome(float(price), float(price) * sold, sold, wel, sizes,
                         "exact: convolution of per-block binomial demands; quadrature for welfare (1e-11)")


def _sizes(partition) -> tuple[int, ...]:
    items = list(partition)
    if items and all(isinstance(b, (int, np.integer)) for b in items):
        if any(b < 1 for b in items):
            raise InputError(f"block sizes must be >= 1, got {items}")
        return tuple(sorted((int(b) for b in items), reverse=True))
    return block_sizes(validate_partition(items))


def myerson_auction_revenue(dist: ValueDistribution | str, n: int, k: int) -> float:
    """sum_{j <= k} E[max(phi(v(j, n)), 0)]: the (k+1)-th-price auction with reserve phi^-1(0)
    under competition, the optimal revenue there (Proposition 1)."""
    dist = parse_spec(dist)
    dist.require_regular("buyer")
    check_market(n, k)
    top = 1.0 - dist.atom  # quantiles above this are the atom at hi, where phi = hi
    total = 0.0
    for j in range(1, min(k, n) + 1):
        w = stats.beta(n - j + 1, j)
        val = 0.0
        if top > 0.0:
            val, _ = integrate.quad(lambda u: max(float(dist.virtual_value(dist.ppf(u))), 0.0) * w.pdf(u),
                                    0.0, top, **QUAD)
        total += val + max(dist.hi, 0.0) * float(w.sf(top)) if dist.atom > 0 else val
    return total


def competition_auction_revenue(dist: ValueDistribution | str, n: int, k: int, reserve: float) -> float:
    """The (k+1)-th-price auction with reserve r under competition (every buyer bids its value), from its
    payments: when v(k+1, n) >= r all k winners pay it, k E[v(k+1, n); v(k+1, n) >= r], the quantile of
    v(k+1, n) being Beta(n - k, k + 1); otherwise the D ~ Bin(n, P[v >= r]) buyers at or above r (at
    most k) pay r each, r E[D; D <= k]. At r = phi^-1(0) it is Proposition 1's revenue."""
    dist = parse_spec(dist)
    check_market(n, k)
    s = float(dist.prob_at_least(reserve))
    d = np.arange(min(k, n) + 1)
    below = reserve * float((d * stats.binom.pmf(d, n, s)).sum())
    if k >= n or s == 0.0:
        return below
    w = stats.beta(n - k, k + 1)
    above, _ = integrate.quad(lambda u: float(dist.ppf(u)) * w.pdf(u), 1.0 - s, 1.0, **QUAD)
    return k * above + below


def monopsony_auction_revenue(dist: ValueDistribution | str, n: int, k: int,
                              model: UtilityModel | str = "surplus") -> float:
    """The (k+1)-th-price auction with reserve r = phi^-1(0) facing one intermediary holding all n:
    it places one bid at r for each buyer it serves at r (up to k) and nothing else, so the
    uniform price is r and the revenue is r E[min(D, k)] (Proposition 2's mechanism)."""
    dist = parse_spec(dist)
    return evaluate_posted(dist, (n,), k, dist.monopoly_price, model, welfare=False).revenue


@dataclass(frozen=True)
class IPMSolution:
    """``agora solve ipm``: the intermediary-proof mechanism on one instance."""

    buyers: int
    items: int
    distribution: str
    intermediary: str
    partition: list[list[int]]
    price: float | None
    prices: list[float] | None
    revenue: float
    revenue_stderr: float
    welfare: float
    ratio: float
    guarantee: float
    guarantee_result: str
    guarantee_factor: float
    tau: float
    lam: float
    c_lambda: float
    realized_welfare: float | None
    items_sold: float | None
    beats_guarantee: bool  # revenue >= guarantee, with no allowance for Monte Carlo error
    guarantee_margin_se: float | None  # (revenue - guarantee) / standard error; None when exact
    method: str

    def to_dict(self) -> dict:
        return asdict(self)


def solve_ipm(n: int, k: int, dist: ValueDistribution | str, weights: Sequence[float] | None = None,
              intermediary: UtilityModel | str = "surplus", partition: Partition | None = None,
              rounds: int = 200_000, seed: int = 0) -> IPMSolution:
    """The intermediary-proof mechanism on one instance: price(s), revenue, Wel(F), the bound.

    Identical items: exact (:func:`evaluate_posted`). Heterogeneous weights: the menu of
    Definition 9 bought by surplus-maximizing intermediaries in a random order, by
    vectorized Monte Carlo with ``rounds`` rounds (its standard error is reported).
    """
    from agora.market.k_items.montecarlo import simulate_menu

    dist = parse_spec(dist)
    dist.require_regular("buyer")
    check_market(n, k)
    model = utility_model(intermediary, dist)
    partition = validate_partition(partition if partition is not None else [[i] for i in range(n)], n)
    eta = check_weights(weights, k)
    if not any(eta):
        raise InputError(f"--weights must not all be 0 (then Wel(F) = 0 and nothing is worth selling), got {eta}")
    heterogeneous = len(set(eta)) > 1
    tau = model.tau_bound(dist)
    if tau is None:
        raise InputError(f"no known tau for {model.describe()}; measure it with measure_tau")
    bound = guarantee(dist, n, k, tau, eta)
    if heterogeneous:
        if model.name != "surplus":
            raise InputError("the heterogeneous menu (Theorem 2) assumes surplus-maximizing intermediaries; "
                             f"got --intermediary {model.name}")
        menu = ItemMenu.heterogeneous(dist, n, weights)
        est = simulate_menu(dist, partition, menu, model, rounds, np.random.default_rng(seed))
        revenue, se = est.mean["revenue"], est.stderr["revenue"]
        price, prices, sold, wel_real = None, list(menu.prices), est.mean["items_sold"], est.mean["welfare"]
        method = f"vectorized Monte Carlo, {rounds} rounds, seed {seed}; intermediaries in a random order"
    else:
        price = eta[0] * ipm_price(dist, n, k)  # Definition 9 with equal weights: r_j = eta u_k = eta p_R
        out = evaluate_posted(dist, partition, k, price, model, weight=eta[0])
        revenue, se, prices, sold, wel_real = out.revenue, 0.0, None, out.items_sold, out.realized_welfare
        method = out.method
    wel = optimal_welfare(dist, n, k, eta)
    return IPMSolution(
        buyers=n, items=k, distribution=dist.spec, intermediary=model.describe(),
        partition=[list(b) for b in partition], price=price, prices=prices, revenue=revenue,
        revenue_stderr=se, welfare=wel, ratio=revenue / wel if wel > 0 else math.nan,
        guarantee=bound["guarantee"], guarantee_result=bound["result"], guarantee_factor=bound["factor"],
        tau=tau, lam=bound["lambda"], c_lambda=bound["c_lambda"], realized_welfare=wel_real,
        items_sold=sold, beats_guarantee=revenue >= bound["guarantee"],
        guarantee_margin_se=(revenue - bound["guarantee"]) / se if se > 0 else None, method=method)


@dataclass(frozen=True)
class BestPostedPrice:
    price: float
    revenue: float
    method: str


def best_posted_price(dist: ValueDistribution | str, partition: Partition | Sequence[int], k: int,
                      model: UtilityModel | str = "surplus", points: int = 201) -> BestPostedPrice:
    """The uniform price maximizing p E[min(D(p), k)] when the seller knows the demand structure.

    Revenue is exact at every price (:func:`evaluate_posted`); a scan of ``points`` quantiles
    of F mapped to prices through the intermediaries' score (p = score at the quantile) is
    refined by bounded Brent between the best point's neighbours.
    """
    from scipy.optimize import minimize_scalar

    dist = parse_spec(dist)
    model = utility_model(model, dist)
    sizes = _sizes(partition)
    check_market(sum(sizes), k)
    values = dist.ppf(np.linspace(0.0, 1.0, points + 1)[:-1] * (1.0 - dist.atom))
    scores = model.scores(values[None, :], dist)[0] if getattr(model, "linear", False) else values
    grid = np.unique(np.clip(scores[np.isfinite(scores)], 0.0, None))

    def revenue(p: float) -> float:
        return evaluate_posted(dist, sizes, k, float(p), model, welfare=False).revenue

    rev = np.array([revenue(p) for p in grid])
    i = int(np.argmax(rev))
    best_p, best_r = float(grid[i]), float(rev[i])
    lo, hi = grid[max(i - 1, 0)], grid[min(i + 1, grid.size - 1)]
    if hi > lo:
        res = minimize_scalar(lambda p: -revenue(p), bounds=(lo, hi), method="bounded",
                              options={"xatol": 1e-12 * max(1.0, hi)})
        if -res.fun > best_r:
            best_p, best_r = float(res.x), float(-res.fun)
    return BestPostedPrice(best_p, best_r, f"scan of {grid.size} prices (exact revenue), bounded Brent "
                                           "between the best one's neighbours")


MAX_MENU_ITEMS = 16  # the exact single-buyer evaluator walks the 2^k sets of items left


def _choice(weights: np.ndarray, prices: np.ndarray, left: np.ndarray, v: float) -> int:
    """The item a surplus-maximizing buyer of value ``v`` takes from the ``left`` ones, -1 for none:
    the largest eta_j v - r_j if positive, the lowest index on ties (as Monte Carlo's Lemma 5 choice)."""
    cand = np.where(left, weights * v - prices, -np.inf)
    j = int(np.argmax(cand))
    return j if cand[j] > 0.0 else -1


def _choice_probabilities(dist: ValueDistribution, weights: np.ndarray, prices: np.ndarray,
                          left: np.ndarray) -> dict[int, float]:
    """P[a buyer takes item j] for every j (-1 for none) when the items ``left`` remain.

    The choice is the upper envelope of the lines eta_j v - r_j and 0, constant between their
    crossings; each piece [a, b) has probability P[V >= a] - P[V >= b], the atom at ``hi`` its own.
    """
    idx = np.nonzero(left)[0]
    cuts = [prices[j] / weights[j] for j in idx if weights[j] > 0.0]
    cuts += [(prices[i] - prices[j]) / (weights[i] - weights[j]) for i in idx for j in idx
             if i < j and weights[i] != weights[j]]
    lo, hi = float(dist.lo), float(dist.hi)
    edges = [lo, *sorted({c for c in cuts if lo < c < hi}), hi]
    out: dict[int, float] = {}
    for a, b in zip(edges, edges[1:]):
        mid = 0.5 * (a + b) if math.isfinite(b) else max(2.0 * a, a + 1.0)
        j = _choice(weights, prices, left, mid)
        out[j] = out.get(j, 0.0) + float(dist.prob_at_least(a)) - float(dist.prob_at_least(b) if
                                                                          math.isfinite(b) else 0.0)
    if dist.atom > 0.0 and math.isfinite(hi):
        j = _choice(weights, prices, left, hi)
        out[j] = out.get(j, 0.0) + dist.atom
    return out


def single_buyer_menu_revenue(dist: ValueDistribution | str, n: int, menu: ItemMenu) -> float:
    """Exact revenue of a posted menu offered in turn to n single-buyer surplus-maximizing
    intermediaries (Definition 9 on the structure with one buyer per intermediary).

    Values are iid, so the arrival order does not matter: the set of items left after each
    buyer is a Markov chain on the 2^k subsets, whose steps are the envelope probabilities of
    :func:`_choice_probabilities`, and revenue = sum over steps of P[item j taken] r_j.
    """
    dist = parse_spec(dist)
    check_market(n, menu.k)
    if menu.k > MAX_MENU_ITEMS:
        raise InputError(f"the exact menu evaluator takes k <= {MAX_MENU_ITEMS} items, got k = {menu.k}")
    weights, prices = np.asarray(menu.weights, float), np.asarray(menu.prices, float)
    full = (1 << menu.k) - 1
    steps: dict[int, dict[int, float]] = {}
    states, revenue = {full: 1.0}, 0.0
    for _ in range(n):
        after: dict[int, float] = {}
        for mask, p in states.items():
            if mask not in steps:
                left = np.array([(mask >> j) & 1 for j in range(menu.k)], bool)
                steps[mask] = _choice_probabilities(dist, weights, prices, left)
            for j, pj in steps[mask].items():
                nxt = mask if j < 0 else mask & ~(1 << j)
                after[nxt] = after.get(nxt, 0.0) + p * pj
                revenue += p * pj * (prices[j] if j >= 0 else 0.0)
        states = after
    return float(revenue)
