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

from agora.experiments.reproduce.report import Check, Section
from agora.market.k_items.mechanisms import ipm_price
from agora.market.learning.adaptive_play import AdaptivePlay, conventions_of
from agora.market.learning.conventions import convention_stability
from agora.market.learning.k_selection import KItemMarket, continuous_equilibrium, continuous_regrets

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
select from. With the seller learning as well the game has three players; adaptive play here is
two-player, so that case is not computed.
"""
    return Section("Stochastic stability with two intermediaries", text, checks)
