"""The equilibrium-selection report's stochastic stability with two intermediaries (Young 1993 adaptive play).

The k-item market of :mod:`agora.market.learning.k_selection` (n = 4 U[0,1] buyers, k = 2 items) with the
seller's price fixed at the intermediary-proof price p_R = E[v(1, 2)] = 2/3 (Definition 7 of
intermediary-proof-mechanisms) is a two-player game between the intermediaries' fees. Its conventions
(strict equilibria of the 31-fee grid) are set beside the equilibrium of the continuous fee game (scipy's
root of the first-order conditions, checked against every fee), the stochastically stable ones found by
Young's tip reduction and minimum-resistance trees, and on a 7-fee grid the reduction against the exact
chain over histories and its eps -> 0 limit.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import to_rgb

from agora.experiments.reproduce.report import Check, Section
from agora.market.k_items.mechanisms import ipm_price
from agora.market.learning.adaptive_play import AdaptivePlay, GameAdaptivePlay, conventions_of
from agora.market.learning.conventions import convention_stability, limit_on_conventions
from agora.market.learning.conventions_n import profile_stability, resistances
from agora.market.learning.k_selection import (
    KItemMarket,
    continuous_equilibrium,
    continuous_regrets,
    settled_equilibrium,
)

UNIFORM = "uniform:0,1"
P_R = ipm_price(UNIFORM, 4, 2)
POINTS, SAMPLE = 31, 30
BLOCKS = ((2, 2), (3, 1))
SOURCE = "scipy root of the fee game's first-order conditions, relative regret <= 1e-9 against every fee"


def fee_game(blocks: tuple[int, int], points: int):
    """The intermediaries' payoffs (first: rows, second: columns) and the fee grid, the seller at p_R."""
    game = KItemMarket("fees", UNIFORM, blocks, 2, points, seller_price=P_R).game()
    return game.payoffs[1][0], game.payoffs[2][0], game.actions[1]


def _market_checks(blocks: tuple[int, int]) -> list[Check]:
    name = f"n = 4, k = 2, blocks {blocks[0]}|{blocks[1]}, seller at p_R, {POINTS} fees, s = {SAMPLE}"
    A, B, fees = fee_game(blocks, POINTS)
    market = KItemMarket("fees", UNIFORM, blocks, 2, POINTS, seller_price=P_R)
    root = continuous_equilibrium(market, (0.1, 0.2))
    regret = max(continuous_regrets(market, root))
    res = convention_stability(A, B, (SAMPLE, SAMPLE), every=True)
    conv = [(round(float(fees[a]), 6), round(float(fees[b]), 6)) for a, b in res.classes]
    stable = [conv[j] for j in res.stable]
    step = float(fees[1] - fees[0])
    near = len(res.classes) == 1 and max(abs(float(fees[i]) - y) for i, y in zip(res.classes[0], root[1:])) \
        <= step * (1 + 1e-9)
    shown = f"({root[1]:.6f}, {root[2]:.6f})"
    return [
        Check("conventions = the fee equilibrium", name, "strict grid equilibria (f_1, f_2)", shown,
              str(conv), near and regret <= 1e-9,
              f"one, within a grid step ({step:.4g}) of the equilibrium", "independent", SOURCE),
        Check("stochastic stability (Young 1993)", name, "stochastically stable conventions", str(conv),
              str(stable), stable == conv and len(conv) == 1, "exact", "independent",
              "Young 1993, Theorem 4: a game with one recurrent class (one convention) selects it"),
    ]


def _exact_chain_check() -> Check:
    A, B, fees = fee_game((2, 2), 7)
    play = AdaptivePlay(A, B, 2, (1, 1))
    exact = play.stability()
    _, exponents = play.limit()
    red = convention_stability(A, B, (1, 1), every=True)
    same = (conventions_of(play, exact.classes) == [tuple(map(int, c)) for c in red.classes]
            and exact.stable == red.stable and float(max(abs(exponents))) < 0.05)
    return Check("tip reduction = exact chain", "blocks 2|2, seller at p_R, 7 fees, m = 2, s = 1",
                 "recurrent classes and stable set", str([tuple(map(int, c)) for c in red.classes]),
                 f"{conventions_of(play, exact.classes)}, limit exponents {[round(float(x), 4) for x in exponents]}",
                 same, "exact; exponents 0.05", "cross-evaluator",
                 f"the exact chain over {play.states} histories: trees, and the stationary masses at "
                 "eps = 1e-3, 1e-4 (sparse LU)")


def k_item_stability() -> Section:
    checks = [c for blocks in BLOCKS for c in _market_checks(blocks)] + [_exact_chain_check()]
    text = f"""
Adaptive play between the two intermediaries of the k-item market (n = 4 U[0,1] buyers, k = 2 items),
the seller's price fixed at p_R = {P_R:.6g}: each samples s = {SAMPLE} of the other's last m fees
(m >= 2s) and best-responds, erring with small probability. The {POINTS}-fee grid game has a single
convention, next to the fee equilibrium of the continuous game, for both splits of the buyers, so it is
the stochastically stable one: unlike the constant-value game of Theorem 5.1 there is no continuum to
select from. The seller learning as well is the next section's three-player game.
"""
    return Section("Stochastic stability with two intermediaries", text, checks)


# ------------------------------------------------------------------ the seller learning too: three players
GRIDS = ((11, 10), (21, 30), (31, 30))  # (prices, sample s of every player); m >= 2s
EXACT_POINTS = 5  # the exact chain: 5^3 profiles, memory 2, samples 1: 15,625 histories


def _conventions(market: KItemMarket, sample: int):
    """The three-player grid game's stability result and its conventions' prices."""
    game = market.game()
    res = profile_stability(game.payoffs, (sample,) * 3)
    prices = [tuple(round(float(game.actions[i][c[i]]), 6) for i in range(3)) for c in res.classes]
    return res, prices


def _three_player_checks(blocks: tuple[int, int], root, regret: float) -> tuple[list[Check], list]:
    """Per grid: the conventions against the continuous equilibrium ``root`` (its largest relative regret
    ``regret``), and the stable ones by trees against the limit of the chain on conventions."""
    checks, found = [], []
    for points, sample in GRIDS:
        market = KItemMarket("k", UNIFORM, blocks, 2, points)
        res, prices = _conventions(market, sample)
        step = market.top / (points - 1)
        name = f"n = 4, k = 2, blocks {blocks[0]}|{blocks[1]}, {points} prices, s = {sample}"
        far = max(abs(x - y) for p in prices for x, y in zip(p, root))
        stable = [prices[j] for j in res.stable]
        exponents = limit_on_conventions(res.resistances, (1e-3, 1e-4)) if len(prices) > 1 else np.zeros(1)
        by_limit = [prices[j] for j in np.flatnonzero(exponents < 0.5)]
        gap = float(np.max(np.abs(exponents - (res.potentials - res.potentials.min()))))
        found.append((points, prices, stable))
        checks += [
            Check("conventions = the price equilibrium", name, "strict grid equilibria (p_s, f_1, f_2)",
                  f"({root[0]:.6f}, {root[1]:.6f}, {root[2]:.6f})", str(prices),
                  far <= step * (1 + 1e-9) and regret <= 1e-9,
                  f"each within a grid step ({step:.4g})", "independent", SOURCE3),
            Check("stochastic stability (Young 1993), three players", name, "stochastically stable conventions",
                  str(by_limit), str(stable), stable == by_limit and gap < 0.01, "exponents 0.01",
                  "cross-evaluator", "the eps -> 0 limit of the chain on conventions (GTH at eps = 1e-3, 1e-4; "
                  "Markov chain tree theorem) against networkx minimum spanning arborescences"),
        ]
    return checks, found


def _exact_three_player_check() -> Check:
    """The 5-price market's reduction against the exact chain over its 15,625 histories (m = 2, s = 1)."""
    game = KItemMarket("k", UNIFORM, (2, 2), 2, EXACT_POINTS).game()
    play = GameAdaptivePlay(game.payoffs, 2, (1, 1, 1))
    exact = play.stability()
    _, exponents = play.limit((1e-2, 1e-3))
    conv, r = resistances(game.payoffs, (1, 1, 1))
    found = conventions_of(play, exact.classes)
    order = [conv.index(c) for c in found] if sorted(found) == sorted(conv) else None
    same = order is not None and np.array_equal(r[np.ix_(order, order)], exact.resistances)
    agree = float(np.max(np.abs(exponents - (exact.potentials - exact.potentials.min())))) < 0.05
    return Check("reduction = exact chain, three players", f"blocks 2|2, {EXACT_POINTS} prices, m = 2, s = 1",
                 "resistances between conventions; stable set", f"{exact.resistances.tolist()}; {exact.stable}",
                 f"{r.tolist()}; limit exponents {[round(float(x), 4) for x in exponents]}", same and agree,
                 "exact; exponents 0.05", "cross-evaluator",
                 f"Dijkstra over the exact chain's {play.states} histories and its stationary masses at eps = "
                 "1e-2, 1e-3 (GMRES)")


def _plane(found: list, root, path: Path) -> None:
    """Conventions of each grid on the (p_s, f_1) plane, the stable ones filled, the continuous equilibrium."""
    fig, ax = plt.subplots(figsize=(4.6, 4.0), dpi=110, layout="constrained")
    for (points, prices, stable), color, size in zip(found, ("tab:blue", "tab:orange", "tab:green"), (16, 11, 6)):
        xs = np.array(prices)
        ax.plot(xs[:, 0], xs[:, 1], "o", mfc="none", color=color, ms=size, mew=2, label=f"{points} prices")
        if stable:
            st = np.array(stable)
            ax.plot(st[:, 0], st[:, 1], "o", color=color, mfc=(*to_rgb(color), 0.35), ms=size, mew=2)
    ax.plot([root[0]], [root[1]], "kx", ms=9, label="continuous equilibrium")
    ax.set(xlabel="seller price p_s", ylabel="first intermediary's fee f_1",
           title="blocks 2|2: conventions (shaded: stable)")
    ax.legend(fontsize=8)
    fig.savefig(path)
    plt.close(fig)


SOURCE3 = "scipy root of the three players' first-order conditions, relative regret <= 1e-9 against every price"


def seller_learning_stability(figures: Path) -> Section:
    """Adaptive play among the pricing seller and the two fee-setting intermediaries (three players)."""
    checks, found_22 = [], None
    for blocks in BLOCKS:
        market = KItemMarket("k", UNIFORM, blocks, 2, 31)
        root, regret = settled_equilibrium(market, (0.3, 0.3, 0.3), 1e-9)
        rows, found = _three_player_checks(blocks, root, regret)
        checks += rows
        if blocks == (2, 2):
            found_22, root_22 = found, root
    checks.append(_exact_three_player_check())
    _plane(found_22, root_22, figures / "k_items_three_player_conventions.png")
    text = f"""
Adaptive play among all three sides of the k-item market (n = 4 U[0,1] buyers, k = 2 items): the seller
samples s of the last m profiles and best-responds to its intermediaries' fees in them, each
intermediary to the seller's price and the other's fee (m >= 2s). Resistances between conventions
(strict equilibria of the grid game) count every mistaken action: k periods of one mistaken profile
by c players cost c k, and every player whose sample holds enough of them may turn at once
(:mod:`agora.market.learning.conventions_n`); the count equals the exact chain's on the {EXACT_POINTS}-price
market. The continuous game has one equilibrium, (p_s, f_1, f_2) = ({root_22[0]:.6f}, {root_22[1]:.6f},
{root_22[2]:.6f}) for blocks 2|2; coarse grids have two conventions on either side of it, and rare
mistakes select the one where the seller's price is higher and the fees lower (on 11 and 21 prices),
the nearer of the two to the continuous equilibrium on 11 prices. On 31 prices for both splits, and on
every grid for blocks 3|1, there is one convention, which is then the stable one.
"""
    extra = "![three-player conventions](k_items_three_player_conventions.png)"
    return Section("Stochastic stability with a learning seller and two intermediaries", text, checks, extra)
