"""The equilibrium-selection report's k-item section: a seller and two intermediaries learn.

The market of :mod:`agora.market.learning.k_selection` (intermediary-proof-mechanisms' k items, unit-demand
buyers split between two intermediaries, random rationing), with the seller's per-item price
and each intermediary's fee posted at once. Three instances, U[0,1] values, n = 4 buyers:

* k = 4, blocks 3|1: rationing never binds; the unique trading equilibrium, by hand, is
  p_s = f_1 = f_2 = 1/3 (the module's docstring), whatever the blocks;
* k = 2, blocks 2|2: rationing binds; its equilibrium is found by scipy's root of the
  first-order conditions and compared with the intermediary-proof price p_R = E[v(1, 2)] = 2/3
  and with the seller's best price against no fees;
* the same with the seller fixed at p_R: a game between the intermediaries.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from scipy.optimize import brentq, minimize_scalar

from agora.experiments.reproduce.report import Check, Section
from agora.experiments.selection import k_end_figure
from agora.experiments.tables import markdown_table
from agora.market.k_items.mechanisms import guarantee, ipm_price
from agora.market.k_items.solver import evaluate_posted
from agora.market.learning.k_selection import (
    KItemMarket,
    continuous_equilibrium,
    continuous_regrets,
    k_item_rounds,
    market_draws,
    seller_first,
)
from agora.market.learning.rules import BestResponse, FictitiousPlay, Hedge, RegretMatching

UNIFORM = "uniform:0,1"
P_R = ipm_price(UNIFORM, 4, 2)  # E[max of 2 U[0,1]] = 2/3
FREE = KItemMarket("n = 4, k = 4, blocks 3|1 (no rationing)", UNIFORM, (3, 1), 4, 31)
BINDING = KItemMarket("n = 4, k = 2, blocks 2|2", UNIFORM, (2, 2), 2, 31)
FIXED = KItemMarket("n = 4, k = 2, blocks 2|2, seller at p_R", UNIFORM, (2, 2), 2, 31, seller_price=P_R)
K_RULES = (BestResponse(0.5), FictitiousPlay(), Hedge(5.0), RegretMatching())
MC_ROUNDS = 200_000
COLUMNS = ["rule", "starts", "equilibrium", "cycle", "mixed", "none", "no trade", "verified",
           "within a step of the equilibrium", "mean end (p_s, f_1, f_2)", "seller revenue", "intermediaries' revenue"]


def near(e, target, step: float) -> bool:
    return max(abs(a - b) for a, b in zip(e.prices, target)) <= step * (1 + 1e-9)


def trading(result) -> list:
    return [e for e in result.equilibria() if e.trades]


def _row(result, target, step) -> tuple:
    eq, c = trading(result), result.counts
    mean = tuple(np.mean([e.prices for e in eq], axis=0)) if eq else (math.nan,) * 3
    return (result.study.seller_rule.label, len(result.endings), *(c.get(k, 0) for k in ("equilibrium", "cycle",
            "mixed", "none")), sum(not e.trades for e in result.equilibria()), sum(e.verified for e in eq),
            sum(near(e, target, step) for e in eq), "(" + ", ".join(f"{x:.4f}" for x in mean) + ")",
            float(np.mean([e.seller_revenue for e in eq])) if eq else math.nan,
            float(np.mean([e.first_revenue + e.second_revenue for e in eq])) if eq else math.nan)


def best_price_without_fees() -> tuple[float, float, float]:
    """The seller's best price against no fees (n = 4, k = 2): numerically on the exact revenue, and by
    hand: R(p) = p E[min(Bin(4, 1 - p), 2)] = 2p - 4p^4 + 2p^5, R'(p) = 2 - 16p^3 + 10p^4 = 0."""
    res = minimize_scalar(lambda p: -evaluate_posted(UNIFORM, (2, 2), 2, p, welfare=False).revenue,
                          bounds=(0.0, 1.0), method="bounded", options={"xatol": 1e-12})
    by_hand = brentq(lambda p: 2 - 16 * p ** 3 + 10 * p ** 4, 0.0, 1.0, xtol=1e-15)
    return float(res.x), -float(res.fun), by_hand


def monte_carlo(market: KItemMarket, prices, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean revenues (seller, first, second) over MC_ROUNDS drawn rounds at ``prices``, and standard errors."""
    values, priority = market_draws(market, MC_ROUNDS, np.random.SeedSequence(seed))
    units = k_item_rounds(market, values, priority, *prices)
    paid = np.column_stack([prices[0] * units.sum(axis=1), prices[1] * units[:, 0], prices[2] * units[:, 1]])
    return paid.mean(axis=0), paid.std(axis=0, ddof=1) / math.sqrt(MC_ROUNDS)


def _verified_checks(results_by_market: dict) -> list[Check]:
    checks = []
    for name, results in results_by_market.items():
        eq = [e for r in results for e in r.equilibria()]
        bad = sum(e.grid_regret > 1e-9 for e in eq)
        checks.append(Check("every reported equilibrium verified", name, "ends failing the N-player grid verifier",
                            0, bad, bad == 0 and len(eq) > 0, f"{len(eq)} ends; relative regret <= 1e-9",
                            "independent", "N-player grid verifier"))
    return checks


def _equilibrium_checks(name: str, market: KItemMarket, target, results, guess_note: str) -> list[Check]:
    step = market.top / (market.points - 1)
    regret = max(continuous_regrets(market, target))
    eq = [e for r in results for e in trading(r)]
    far = max((max(abs(a - b) for a, b in zip(e.prices, target)) for e in eq), default=math.inf)
    return [Check("equilibrium (scipy root of the first-order conditions)", name,
                  f"largest relative regret against any price at {fmt(target)}", 0.0, regret, regret <= 1e-9,
                  f"1e-9; {guess_note}", "independent", "regret against every price (continuous verifier)"),
            Check("learning reaches it", name, "largest distance of a trading equilibrium end from it", 0.0, far,
                  far <= step * (1 + 1e-9), f"one grid step {step:.4g}", "independent",
                  "scipy root of the first-order conditions")]


def fmt(prices) -> str:
    return "(" + ", ".join(f"{x:.6g}" for x in prices) + ")"


def k_items(run, figures: Path) -> tuple[Section, list]:
    """The section: studies of the three markets, the derived equilibria and the paper's prices beside them,
    and a figure of where the runs ended (``figures``/k_items_ends.png)."""
    studies = {m.name: run.k_rules(m, K_RULES) for m in (FREE, BINDING, FIXED)}
    checks = _verified_checks(studies)
    step = FREE.top / (FREE.points - 1)
    # k >= n: by hand (1/3, 1/3, 1/3)
    third = (1 / 3, 1 / 3, 1 / 3)
    root_free = continuous_equilibrium(FREE, (0.2, 0.4, 0.25))
    hits = [e for r in studies[FREE.name] for e in trading(r) if e.verified]
    g = float(FREE.game().actions[0][10])  # 1/3 on the grid
    exact = sum(e.prices == (g, g, g) for e in hits) if abs(g - 1 / 3) <= 1e-15 else 0
    checks += [
        Check("by hand: f_j = (1 - p_s)/2, p_s = (1 - mean fee)/2", FREE.name, "the equilibrium by scipy's root",
              "(1/3, 1/3, 1/3)", fmt(root_free), max(abs(a - b) for a, b in zip(root_free, third)) <= 1e-8, "1e-8",
              "independent", "by hand: f_j = (1 - p_s)/2, p_s = (1 - mean fee)/2"),
        Check("by hand (Lemma 3's threshold phi^-1(p_s))", FREE.name, "best fee against p_s = 0.2 and 0.5",
              "0.4, 0.25", fmt([best_fee(FREE, p) for p in (0.2, 0.5)]),
              max(abs(best_fee(FREE, p) - (1 - p) / 2) for p in (0.2, 0.5)) <= 1e-7, "1e-7 (Brent)",
              "independent", "by hand: (1 - p_s)/2"),
        Check("by hand", FREE.name, "trading ends that pass the continuous verifier, and at (1/3, 1/3, 1/3)",
              "all", f"{len(hits)}, {exact}", len(hits) > 0 and exact == len(hits), "exact", "independent",
              "by hand: (1/3, 1/3, 1/3) on the grid"),
        *_equilibrium_checks(FREE.name, FREE, root_free, studies[FREE.name], "blocks 3|1, fees equal"),
    ]
    # k = 2 < n: rationing binds
    root_bind = continuous_equilibrium(BINDING, (0.35, 0.30, 0.34))
    checks += _equilibrium_checks(BINDING.name, BINDING, root_bind, studies[BINDING.name],
                                  "from an asymmetric guess")
    checks.append(Check("symmetric blocks give symmetric fees", BINDING.name, "|f_1 - f_2| at the equilibrium",
                        0.0, abs(root_bind[1] - root_bind[2]), abs(root_bind[1] - root_bind[2]) <= 1e-8, "1e-8",
                        "independent", "symmetry of the blocks (root found from an asymmetric guess)"))
    best_p, best_rev, by_hand = best_price_without_fees()
    checks += [
        Check("Definition 7: p_R = E[v(1, ceil(n/k))]", BINDING.name, "p_R for n = 4, k = 2 (E[max of 2 U[0,1]])",
              2 / 3, P_R, abs(P_R - 2 / 3) <= 1e-12, "1e-12", "paper-formula",
              "intermediary-proof-mechanisms, Definition 7"),
        Check("by hand: 2 - 16p^3 + 10p^4 = 0", BINDING.name, "seller's best price against no fees", by_hand,
              best_p, abs(best_p - by_hand) <= 1e-7, "1e-7 (Brent)", "independent",
              "brentq on the hand-derived first-order condition"),
    ]
    # the seller first: it commits, the intermediaries answer with their fee equilibrium
    first_free, first_free_rev = seller_first(FREE)
    first_bind, first_bind_rev = seller_first(BINDING)
    simultaneous_rev = float(BINDING.payoffs(*root_bind)[0])
    checks += [
        Check("by hand: max 2p(1 - p) against f_j = (1 - p)/2", FREE.name,
              "seller first (Stackelberg): prices and the seller's revenue", "(1/2, 1/4, 1/4), 1/2",
              f"{fmt(first_free)}, {first_free_rev:.10g}",
              max(abs(a - b) for a, b in zip(first_free, (0.5, 0.25, 0.25))) <= 1e-6
              and abs(first_free_rev - 0.5) <= 1e-9, "prices 1e-6 (Brent on a flat top), revenue 1e-9",
              "independent", "by hand: max 2p(1 - p)"),
        Check("derived: committing first cannot hurt", BINDING.name,
              "seller-first revenue against the simultaneous equilibrium's", simultaneous_rev,
              first_bind_rev, first_bind_rev >= simultaneous_rev, "exact", "bound",
              "derived: the leader can commit to the simultaneous price", ">="),
    ]
    # the seller fixed at p_R
    root_fixed = continuous_equilibrium(FIXED, (0.1, 0.2))
    checks += _equilibrium_checks(FIXED.name, FIXED, root_fixed, studies[FIXED.name], "from an asymmetric guess")
    q_tau = min(float((1 - P_R - f) / (1 - P_R)) for f in root_fixed[1:])
    bound = guarantee(UNIFORM, 4, 2, q_tau)
    rev_fixed = float(FIXED.payoffs(*root_fixed)[0])
    checks.append(Check(f"{bound['result']} with tau measured at the selected fees", FIXED.name,
                        "seller's revenue at p_R with the intermediaries' equilibrium fees",
                        bound["guarantee"], rev_fixed, rev_fixed >= bound["guarantee"],
                        f"tau = P[v >= p_R + f]/P[v >= p_R] = {q_tau:.4f}", "bound",
                        f"intermediary-proof-mechanisms, {bound['result']}", ">="))
    # exact against Monte Carlo at the binding market's grid point nearest its equilibrium
    grid = BINDING.game().actions[1]
    point = tuple(float(grid[np.argmin(np.abs(grid - x))]) for x in root_bind)
    mean, se = monte_carlo(BINDING, point, run.seed)
    exact_pay = np.array([float(x) for x in BINDING.payoffs(*point)])
    z = np.abs(mean - exact_pay) / se
    checks.append(Check("exact = Monte Carlo of the rounds", BINDING.name,
                        f"revenues at {fmt(point)}: exact vs {MC_ROUNDS} drawn rounds (z-scores)",
                        fmt(exact_pay), f"{fmt(mean)}, z = {fmt(z)}", bool(np.all(z <= 4)), "4 standard errors",
                        "cross-evaluator", "exact payoffs of the k-item market"))
    text = _text(root_bind, root_fixed, best_p, best_rev, rev_fixed, first_bind, first_bind_rev)
    tables = [f"**{name}**\n\n" + markdown_table(COLUMNS, [_row(r, target, step) for r in studies[name]])
              for name, target in ((FREE.name, root_free), (BINDING.name, root_bind), (FIXED.name, root_fixed))]
    compare = markdown_table(
        ["outcome", "seller price", "fees", "buyer's price", "seller revenue", "each intermediary's revenue"],
        [("equilibrium, k = 4 (by hand 1/3 each)", root_free[0], fmt(root_free[1:]), root_free[0] + root_free[1],
          float(FREE.payoffs(*root_free)[0]), fmt(FREE.payoffs(*root_free)[1:])),
         ("equilibrium, k = 2", root_bind[0], fmt(root_bind[1:]), root_bind[0] + root_bind[1],
          float(BINDING.payoffs(*root_bind)[0]), fmt(BINDING.payoffs(*root_bind)[1:])),
         ("seller at p_R, fees in equilibrium", P_R, fmt(root_fixed[1:]), P_R + root_fixed[1], rev_fixed,
          fmt(FIXED.payoffs(*root_fixed)[1:])),
         ("seller first (Stackelberg), k = 4 (by hand 1/2, 1/4, 1/4)", first_free[0], fmt(first_free[1:]),
          first_free[0] + first_free[1], first_free_rev, fmt(FREE.payoffs(*first_free)[1:])),
         ("seller first (Stackelberg), k = 2", first_bind[0], fmt(first_bind[1:]), first_bind[0] + first_bind[1],
          first_bind_rev, fmt(BINDING.payoffs(*first_bind)[1:])),
         ("p_R, no fees (Definition 7)", P_R, "(0, 0)", P_R,
          float(BINDING.payoffs(P_R, 0.0, 0.0)[0]), "(0, 0)"),
         ("seller's best price, no fees", best_p, "(0, 0)", best_p, best_rev, "(0, 0)")])
    k_end_figure([(m.name, studies[m.name], target) for m, target in
                  ((FREE, root_free), (BINDING, root_bind), (FIXED, root_fixed))],
                 figures / "k_items_ends.png", "k items, two intermediaries: where learning ends", P_R)
    extra = ("\n\n".join(tables) + "\n\nThe selected outcomes beside the intermediary-proof price:\n\n" + compare
             + "\n\n![where runs end](k_items_ends.png)")
    return Section("k items and two intermediaries", text, checks, extra), [r for v in studies.values() for r in v]


def best_fee(market: KItemMarket, ps: float) -> float:
    """The first intermediary's best fee against ``ps`` (the second's fee 0), by scipy's bounded Brent search."""
    res = minimize_scalar(lambda f: -float(market.payoffs(ps, f, 0.0)[1]), bounds=(0.0, market.top - ps),
                          method="bounded", options={"xatol": 1e-12})
    return float(res.x)


def _text(root_bind, root_fixed, best_p, best_rev, rev_fixed, first_bind, first_bind_rev) -> str:
    return f"""
The k-item market of intermediary-proof-mechanisms with two intermediaries, as a game: n = 4
buyers with U[0,1] values in two blocks, one intermediary per block. The seller posts a price p_s
per item and intermediary j a fee f_j, at once; a buyer of block j asks for an item iff
v >= p_s + f_j; the k items go to the asking buyers by random rationing. Block j asks for
D_j ~ Binomial(b_j, 1 - p_s - f_j) items; the seller earns p_s E[min(D_1 + D_2, k)] and
intermediary j earns f_j E[D_j min(1, k / (D_1 + D_2))] (given D = D_1 + D_2 > k, block j gets a
hypergeometric number of items with mean k D_j / D). These payoffs are exact (per-block binomial
pmfs as in the intermediary-proof evaluator); the rounds drawn by Monte Carlo agree with them.
Rules: {', '.join(r.label for r in K_RULES)}, each playing the seller and both intermediaries,
on a 31-price grid (step 1/30) from a cube of starting profiles. Demand learning is for
two-player markets (it estimates the sale against one total price) and is left out here;
fictitious play keeps beliefs over the joint profile of the other two.

With k >= n rationing never binds and each block is a posted-price market of its own. The best
fee against p_s sets the buyer's price t where f = S(t)/f(t), i.e. phi(t) = p_s: the
fee-posting intermediary buys exactly when phi(v) >= p_s, Lemma 3's monopolist. For U[0,1],
f_j = (1 - p_s)/2, and the seller's best price solves sum_j b_j (1 - 2 p_s - f_j) = 0, so the only
trading equilibrium is p_s = f_1 = f_2 = 1/3 whatever the blocks (3|1 here); the grid holds it.
The grid game also has weak equilibria one step away, (0.3, 0.3667, 0.3667) and
(0.3667, 0.3, 0.3), where a continuous best response falls exactly halfway between two grid
prices (a tie); the continuous verifier rejects them and they are counted as not verified.

With k = 2 the fees also change who gets the items. The equilibrium is p_s = {root_bind[0]:.6f},
f = {root_bind[1]:.6f} each (buyers pay {root_bind[0] + root_bind[1]:.4f}, just above p_R = 2/3): the
seller earns {float(BINDING.payoffs(*root_bind)[0]):.4f}, against {best_rev:.4f} at its best price
{best_p:.4f} with no fees and {float(BINDING.payoffs(P_R, 0.0, 0.0)[0]):.4f} at p_R with no fees. Fixing the
seller at p_R, the intermediaries' equilibrium fees are {root_fixed[1]:.6f} each and the seller earns
{rev_fixed:.4f}, above Corollary 2's guarantee with tau measured at those fees. Learning ends on
the grid points next to these equilibria (the grid does not hold them).

Against both Stackelberg orders' seller-first side: a seller who commits first and lets the
intermediaries answer with their fee equilibrium posts 1/2 when k >= n (fees 1/4, revenue 1/2
against 4/9 at the simultaneous equilibrium: double marginalization) and {first_bind[0]:.4f} when
k = 2 (fees {first_bind[1]:.4f}, revenue {first_bind_rev:.4f}).
"""
