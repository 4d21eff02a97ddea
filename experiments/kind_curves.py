"""Exact revenue curves of the market kinds: each party's expectation against the kind's main price.

A curve holds the kind's other parameters fixed and moves one: the seller's posted price
(seller-first, Theorem 3.1; simultaneous, Section 5, with the intermediary best-responding), the
intermediary's posted price for the right with the seller best-responding (intermediary-first,
Theorem 4.1), the seller's price per item (posted-menu, Definition 7's rationed demand by
convolution), the seller's cost (veto-bargaining, Theorem 1 or Proposition 2) or, for a robust
seller, the bound on the means (its worst-case revenue in closed form), or the reserve of the
(k+1)-th-price auction (k-item-auction, under competition or monopsony, where its revenue has a closed
form). The learners of Section 5's game (learning, q-learning) get the game on their own price grid,
each seller price against the intermediary's best grid price; the Q-learners of the k-item posted fees
(q-learning-fees) the same on the fee game's grid; the k-item game of three learners (learning-k-items)
each seller grid price against a pure grid equilibrium of the two intermediaries' fees, the game's pure
grid equilibria marked. Adaptive play (adaptive-play) has no price to move: :func:`convention_figure`
draws one run's share of periods at each convention beside the exact stationary mass.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np

from agora.experiments.markets import ParamError


@dataclass(frozen=True)
class Curve:
    """Series of exact expectations over ``x`` (the values of ``key``, labelled ``label``)."""

    key: str
    label: str
    x: np.ndarray
    series: dict[str, np.ndarray]
    #: Points drawn as markers: a name and the (x, y) arrays of its points.
    marks: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)


def top(law, tail: float = 1e-3) -> float:
    """The top of the law's support, or its 1 - ``tail`` quantile if unbounded."""
    high = float(law.ppf(1.0))
    return high if math.isfinite(high) else float(law.ppf(1.0 - tail))


def intermediary_first(params: Mapping, points: int) -> Curve:
    """Theorem 4.1: for each posted price x for the right, the seller's best response p*(x) and every
    party's expectation at (x, p*(x))."""
    from agora.experiments.markets.single_item import bidders_of, exact_right_sale
    from agora.market.distributions import parse_spec
    from agora.market.single_item.intermediary_first import seller_best_response
    from agora.market.single_item.right_auctions import PostedRightPrice

    specs = tuple(bidders_of(params))
    bidders = [parse_spec(b) for b in specs]
    x = np.linspace(0.0, max(top(b) for b in bidders), points)
    rows = []
    for price in x:
        auction = PostedRightPrice(float(price))
        rows.append(exact_right_sale(specs, auction, seller_best_response(bidders, auction).price))
    return Curve("intermediary", "intermediary's posted price for the right", x,
                 {"seller": np.array([r["seller_revenue"] for r in rows]),
                  "intermediary": np.array([r["intermediary_revenue"] for r in rows])})


def simultaneous(params: Mapping, points: int) -> Curve:
    """Section 5's game at every seller price p with the intermediary best-responding, its posted price
    for the right the seller's problem against p (the game is symmetric, Theorem 4.1): each side's
    revenue price x P[max_i v_i >= p + q*(p)]."""
    from agora.experiments.markets.single_item import bidders_of
    from agora.market.single_item.simultaneous import PricingGame

    game = PricingGame(bidders_of(params))
    x = np.linspace(0.0, game.upper, points)
    pairs = [game.payoffs(float(p), game.best_response(float(p)).price) for p in x]
    return Curve("seller", "seller's posted price (the intermediary best-responding)", x,
                 {"seller": np.array([float(a) for a, _ in pairs]),
                  "intermediary": np.array([float(b) for _, b in pairs])})


def posted_menu(params: Mapping, points: int) -> Curve:
    """Definition 7's market at every price per item: revenue p E[min(D(p), k)] and realized welfare."""
    from agora.experiments.markets.k_items import blocks_of
    from agora.market.distributions import parse_spec
    from agora.market.k_items.solver import evaluate_posted

    blocks = blocks_of(params)
    x = np.linspace(0.0, top(parse_spec(params["distribution"])), points)
    rows = [evaluate_posted(params["distribution"], blocks, params["items"], float(p), params["utility"])
            for p in x]
    return Curve("menu", "seller's price per item", x,
                 {"seller": np.array([r.revenue for r in rows]),
                  "welfare": np.array([r.realized_welfare for r in rows])})


def k_item_auction(params: Mapping, points: int) -> Curve:
    """The (k+1)-th-price auction's revenue at every reserve r: under competition with surplus-maximizing
    intermediaries (every buyer bids its value) from its payments
    (:func:`agora.market.k_items.solver.competition_auction_revenue`); under monopsony r E[min(D, k)], the
    intermediary bidding r for each buyer it serves (Proposition 2's argument, at any reserve)."""
    from agora.experiments.markets.k_items import blocks_of
    from agora.market.distributions import parse_spec
    from agora.market.k_items.solver import competition_auction_revenue, evaluate_posted

    dist, n, k = params["distribution"], params["buyers"], params["items"]
    blocks = blocks_of(params)
    x = np.linspace(0.0, top(parse_spec(dist)), points)
    if len(blocks) == n and params["utility"] == "surplus":
        revenue = [competition_auction_revenue(dist, n, k, float(r)) for r in x]
    elif len(blocks) == 1:
        revenue = [evaluate_posted(dist, (n,), k, float(r), params["utility"], welfare=False).revenue for r in x]
    else:
        raise ParamError("partition", "the curve is drawn where the revenue has a closed form; accepted: "
                         "\"monopsony\", or \"competition\" with utility \"surplus\"")
    return Curve("reserve", "reserve of the (k+1)-th-price auction", x, {"seller": np.array(revenue)})


def grid_curve(grid: np.ndarray, A: np.ndarray, B: np.ndarray) -> Curve:
    """The grid game (seller's payoffs ``A``, intermediary's ``B``, rows the seller's prices) at every seller
    price on the grid, the intermediary at its lowest best grid price against it (ties within 1e-9 of the
    largest payoff: the grid's payoffs are quadratures)."""
    best = np.argmax(B >= B.max(axis=1, keepdims=True) - 1e-9 * np.abs(B).max(), axis=1)
    rows = np.arange(len(grid))
    return Curve("seller", "seller's grid price (the intermediary's best grid price against it)",
                 np.asarray(grid, float), {"seller": A[rows, best], "intermediary": B[rows, best]})


def learning(params: Mapping, points: int) -> Curve:
    """Section 5's game on the learners' ``points``-price grid (linear or log, as the kind's ``grid``)."""
    from agora.experiments.markets.selection import single_market

    _, game = single_market(params).discretized()
    return grid_curve(game.row_actions, game.A, game.B)


def q_learning(params: Mapping, points: int) -> Curve:
    """Section 5's game on the Q-learners' ``points``-price grid (the kind's grid game)."""
    from agora.market.single_item.simultaneous import PricingGame, grid_game

    grid, A, B = grid_game(PricingGame(params["bidders"]), params["points"])
    return grid_curve(grid, A, B)


def q_learning_fees(params: Mapping, points: int) -> Curve:
    """The k-item posted-fees game on the Q-learners' ``points``-price grid
    (:func:`agora.market.learning.fee_game.fee_game`): seller's price against the intermediary's fee."""
    from agora.market.learning.fee_game import fee_game

    grid, A, B = fee_game(params["distribution"], params["buyers"], params["items"], params["points"],
                          params["upper"])
    return grid_curve(grid, A, B)


def best_masks(game, tol: float = 1e-9) -> tuple[np.ndarray, ...]:
    """Per player of the k-item grid game (axes seller, first, second), where its action is a best grid
    reply to the others' (within ``tol`` of the largest payoff, the payoffs being sums of pmfs)."""
    scale = max(float(np.abs(u).max()) for u in game.payoffs) or 1.0
    return tuple(u >= u.max(axis=i, keepdims=True) - tol * scale for i, u in enumerate(game.payoffs))


def fee_equilibrium(first: np.ndarray, second: np.ndarray) -> tuple[int, int] | None:
    """The pure equilibrium (f_1, f_2) of the two fee setters' grid game, given each one's best-reply
    mask on (f_1, f_2): the lowest total fee, then the lowest f_1; None if there is none."""
    cells = np.argwhere(first & second)
    if not len(cells):
        return None
    i, j = min(map(tuple, cells), key=lambda c: (c[0] + c[1], c[0]))
    return int(i), int(j)


def learning_k_items(params: Mapping, points: int) -> Curve:
    """The k-item game of the three learners on their grid (:func:`agora.market.learning.k_selection.
    k_item_game`): at every seller grid price (or, with a fixed seller price, every first fee) the
    others at a pure grid equilibrium of what is left (:func:`fee_equilibrium`; the second fee at its
    lowest best reply when the seller's price is fixed), each party's expected payoff; the pure grid
    equilibria of the whole game marked at the payoff of the party on the x axis."""
    from agora.experiments.markets.selection import k_market

    game = k_market(params).game()
    seller_best, first_best, second_best = best_masks(game)
    prices, fees, _ = game.actions
    if len(prices) == 1:
        j = np.argmax(second_best[0], axis=1)
        picks = [(0, i, int(j[i])) for i in range(len(fees))]
        key, label, x, at = "first", "first intermediary's grid fee (the second's best grid fee)", fees, 1
    else:
        picks = [(s, *ij) if (ij := fee_equilibrium(first_best[s], second_best[s])) else None
                 for s in range(len(prices))]
        key, label, x, at = "seller", "seller's grid price (the fees at a pure grid equilibrium)", prices, 0
    names = ("seller", "first intermediary", "second intermediary")
    series = {n: np.array([u[c] if c else np.nan for c in picks]) for n, u in zip(names, game.payoffs)}
    eq = np.argwhere(seller_best & first_best & second_best)
    marks = {f"pure grid equilibria ({len(eq)}), {names[at]}'s payoff":
             (np.array([game.actions[at][c[at]] for c in eq]), np.array([game.payoffs[at][tuple(c)] for c in eq]))}
    return Curve(key, label, np.asarray(x, float), series, marks)


def veto_bargaining(params: Mapping, points: int) -> Curve:
    """The seller's expected profit and each member's expected utility as the seller's cost rises
    (Theorem 1's optimal vote, or Proposition 2's best unanimous price), one collective transfer."""
    from agora.experiments.markets.group import mechanism_of
    from agora.market.group.solver import parse_members

    if params["transfers"] != "pooled":
        raise ParamError("transfers", "the curve is drawn for one collective transfer; accepted: \"pooled\"")
    laws = parse_members(params["members"])
    x = np.linspace(0.0, sum(top(law) for law in laws), points)
    rows = [mechanism_of({**params, "cost": float(c)})[1] for c in x]
    series = {"seller's profit": np.array([r["exact_seller_profit"] for r in rows])}
    series |= {f"member {i}": np.array([r[f"exact_utility_{i}"] for r in rows]) for i in range(len(laws))}
    return Curve("cost", "seller's cost", x, series)


def robust(params: Mapping, points: int) -> Curve:
    """The mechanism's worst-case revenue over every law within the seller's knowledge as the bound on
    the means moves through (0, upper): Theorem 1.5.3 for the highest-bidder lottery, Propositions
    1.5.5-1.5.7 for the best second-price reserve (each re-chosen for its mean bound)."""
    from agora.experiments.markets.robust import mechanism_of, worst_case
    from agora.market.robust.solver import NEEDS_MEAN

    if params["mechanism"] not in NEEDS_MEAN:
        raise ParamError("mechanism", f"the curve is drawn against the mean bound; accepted: {', '.join(NEEDS_MEAN)}")
    x = np.linspace(0.0, params["upper"], points + 2)[1:-1]
    values = []
    for mean in x:
        at = {**params, "mean": float(mean)}
        values.append(worst_case(at, mechanism_of(at))[1])
    return Curve("mean", "bound on every bidder's mean", x, {"worst-case revenue": np.array(values)})


CURVES: dict[str, Callable[[Mapping, int], Curve]] = {
    "intermediary-first": intermediary_first, "posted-menu": posted_menu, "k-item-auction": k_item_auction,
    "veto-bargaining": veto_bargaining, "robust": robust, "simultaneous": simultaneous, "learning": learning,
    "q-learning": q_learning, "q-learning-fees": q_learning_fees, "learning-k-items": learning_k_items}
#: Kinds plotted by :func:`convention_figure` (one run's shares beside the exact stationary masses).
CONVENTIONS = ("adaptive-play",)
#: Kinds plotted by :func:`agora.experiments.plots.revenue_vs_price_figure` (the seller's posted price).
SELLER_PRICE = ("seller-first",)


def curve_figure(protocol: str, curve: Curve):
    """The curve's series against its parameter; the legend below the axes, off the data."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.5, 4.8), dpi=120, layout="constrained")
    for name, y in curve.series.items():
        ax.plot(curve.x, y, label=name)
    for name, (mx, my) in curve.marks.items():
        ax.plot(mx, my, "o", mfc="none", color="black", label=name)
    ax.set_xlabel(curve.label)
    ax.set_ylabel("expected value (exact)")
    ax.set_title(f"{protocol}: against the {curve.label}", fontsize=10)
    fig.legend(loc="outside lower center", ncol=min(4, len(curve.series) + len(curve.marks)), fontsize=8, frameon=False)
    return fig


def convention_label(pair, grid) -> str:
    """A convention (a, b) by its prices on the grid, else by its action indices."""
    a, b = pair
    return f"({a}, {b})" if grid is None else f"({grid[a]:.3g}, {grid[b]:.3g})"


def convention_figure(protocol: str, shares: Mapping):
    """Adaptive play (Young 1993): per convention the simulated share of periods at it beside its exact
    stationary mass at the run's mistake rates (:func:`agora.experiments.markets.adaptive_play.
    convention_shares`; no exact bar beyond its chain size), the stochastically stable ones starred."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pairs, grid = shares["pairs"], shares["grid"]
    x = np.arange(len(pairs))
    fig, ax = plt.subplots(figsize=(7.5, 4.8), dpi=120, layout="constrained")
    width = 0.4 if shares["exact"] else 0.8
    ax.bar(x - (width / 2 if shares["exact"] else 0.0), shares["visits"], width, label="simulated share")
    if shares["exact"]:
        ax.bar(x + width / 2, shares["masses"], width, label="exact stationary mass")
    ax.set_xticks(x, [convention_label(c, grid) + ("*" if c in shares["stable"] else "") for c in pairs],
                  rotation=45 if len(pairs) > 6 else 0, fontsize=8)
    ax.set_xlabel("convention (row, column)" + ("" if grid is None else " prices") + "; * stochastically stable")
    ax.set_ylabel("share of periods")
    ax.set_title(f"{protocol}: time at each convention" + ("" if shares["exact"] else
                 " (no exact stationary masses: the chain over histories is too large)"), fontsize=10)
    fig.legend(loc="outside lower center", ncol=2, fontsize=8, frameon=False)
    return fig
