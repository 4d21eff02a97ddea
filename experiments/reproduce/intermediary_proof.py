"""Reproduce intermediary-proof-mechanisms: Theorem 1 / Corollary 2, Propositions 2-4,
Corollary 1, Theorem 2 and Lemma 6 (the monopsony optimum by linear program beside them), each claim beside
what Agora measures."""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from scipy import stats  # noqa: E402

from agora.experiments.output import save_png, staging_dir  # noqa: E402
from agora.experiments.reproduce.references import INTERMEDIARY_PROOF  # noqa: E402
from agora.experiments.reproduce.report import Check, Report, Section  # noqa: E402
from agora.experiments.tables import markdown_table  # noqa: E402
from agora.market.demand import bell_number, partition_text  # noqa: E402
from agora.market.distributions import parse_spec  # noqa: E402
from agora.market.k_items.mechanisms import (  # noqa: E402
    ItemMenu,
    UniformPriceAuction,
    optimal_welfare,
    price_bundle,
    theorem1_factor,
    theorem2_factor,
)
from agora.market.k_items.monopsony_lp import (  # noqa: E402
    best_bundle,
    best_item_price,
    monopsony_types,
    optimal_mechanism,
    quantile_grid,
)
from agora.market.k_items.montecarlo import simulate_auction, simulate_menu  # noqa: E402
from agora.market.k_items.partition_models import (  # noqa: E402
    CapacityLimited,
    GrowingFee,
    ProportionalDemand,
    posted_revenue,
    sweep_partition_model,
    sweep_space,
)
from agora.market.k_items.solver import (  # noqa: E402
    monopsony_auction_revenue,
    myerson_auction_revenue,
    single_buyer_menu_revenue,
)
from agora.market.k_items.sweep import sweep  # noqa: E402
from agora.market.k_items.utility import BargainingShare, c_lambda, lambda_of  # noqa: E402

SOURCE = INTERMEDIARY_PROOF
LAWS = ["uniform:0,1", "exponential:1", "pareto:0.75,1", "pareto:0.5,1", "pareto:0.3,1"]
SHAPES = [(4, 2), (6, 2), (6, 3), (7, 3), (8, 3)]
BUNDLE_SAMPLES = 200_000
LEVEL = 0.01  # one-sided level of the Monte Carlo tests of lower bounds
LEMMA_6_GRID = 4  # quantile points per buyer in the monopsony LPs of Lemma 6 (C(n + 3, n) types)


def _save(fig, path: Path) -> str:
    save_png(fig, path, dpi=110, bbox_inches="tight")
    return f"![{path.stem}]({path.name})"


def lower_bound_check(result: str, instance: str, quantity: str, bound: float, mean: float, se: float,
                      rounds: int, source: str, level: float = LEVEL) -> Check:
    """A guarantee ``revenue >= bound`` against a Monte Carlo estimate (``mean``, standard error ``se``).

    One-sided z-test of H0: revenue >= bound at ``level``: the guarantee is refuted (the row fails)
    iff the upper confidence bound mean + z_(1-level) se lies below the bound. The row states the
    estimate, its s.e., the margin (mean - bound) / se, and whether the lower confidence bound
    mean - z_(1-level) se clears the bound too (confirmed) or not (not refuted, inconclusive).
    """
    z = float(stats.norm.ppf(1.0 - level))
    refuted = mean + z * se < bound
    margin = f"{(mean - bound) / se:+.1f} s.e." if se > 0 else "exact"
    verdict = "refuted" if refuted else "confirmed" if mean - z * se >= bound else "not refuted, inconclusive"
    tolerance = (f"one-sided z-test, level {level:g}: refuted iff estimate + {z:.3f} s.e. < bound; "
                 f"s.e. {se:.2g} ({rounds} draws), margin {margin}: {verdict}")
    return Check(result, instance, quantity, round(bound, 6), round(mean, 6), not refuted, tolerance, "bound",
                 source, ">=")


def theorem_1(figures: Path) -> Section:
    """Measured revenue / Wel(F) on every partition against tau c(lambda)/2 (1 - 1/e)."""
    checks, rows, points = [], [], []
    for spec in LAWS:
        lam = lambda_of(spec)
        for n, k in SHAPES:
            table = sweep(spec, n, k, "posted")
            for model, rows_m in table.groupby("model"):
                tau = 1.0 if model == "surplus" else c_lambda(lam)
                bound = theorem1_factor(lam, n, k, tau)
                worst = float(rows_m["ratio"].min())
                result = "Corollary 2" if n % k == 0 else "Theorem 1"
                checks.append(Check(result, f"{spec}, n={n}, k={k}, {model}, all {bell_number(n)} partitions",
                                    "min revenue / Wel(F) >= tau c(lambda)/2^[k∤n] (1-1/e)", round(bound, 6),
                                    round(worst, 6), worst >= bound, "exact evaluation", "bound",
                                    "Theorem 1 / Corollary 2 (tau from Lemma 4)", ">="))
                points.append((lam, model, worst, bound))
                rows.append((spec, f"{lam:.2f}", n, k, model, worst, float(rows_m["ratio"].max()), bound))
    fig, ax = plt.subplots(figsize=(6.5, 4))
    for model, marker in (("surplus", "o"), ("monopolist", "s")):
        pts = [(lam, w) for lam, m, w, _ in points if m == model]
        ax.scatter(*zip(*pts), marker=marker, label=f"measured, {model}", alpha=0.7)
    lams = np.linspace(0, 0.8, 100)
    ax.plot(lams, [theorem1_factor(x, 6, 3) for x in lams], "k-", label="bound, surplus (k | n)")
    ax.plot(lams, [theorem1_factor(x, 6, 3, c_lambda(x)) for x in lams], "k--", label="bound, monopolist (k | n)")
    ax.set_xlabel("lambda"), ax.set_ylabel("revenue / Wel(F), worst partition"), ax.legend(fontsize=8)
    ax.set_title("Theorem 1 / Corollary 2: intermediary-proof price")
    extra = _save(fig, figures / "theorem1_ratio_vs_lambda.png") + "\n\n" + markdown_table(
        ["law", "lambda", "n", "k", "model", "min ratio", "max ratio", "bound"], rows)
    text = """
The intermediary-proof price p_R = E[v(1, ceil(n/k))] with random rationing, evaluated exactly on
every partition of the n buyers (Bell(n) structures, solved once per multiset of block sizes),
for surplus-maximizing intermediaries (tau = 1) and monopolist ones (tau = c(lambda), Lemma 4).
lambda is 1 - alpha of each law's regularity report (pareto:A,1 has lambda = 1 - A).
For these two models min = max on every row, as it must be: a buyer is asked for iff v_i >= p
(surplus) or phi(v_i) >= p (monopolist), whoever holds it, so the items asked for are
Binomial(n, q) on every partition. Intermediaries whose demand does depend on the partition are
in the section "Theorem 1 and Corollary 2 with partition-dependent intermediaries".
"""
    return Section("Theorem 1 and Corollary 2: revenue against the guarantee on every partition", text,
                   checks, extra)


def robustness(figures: Path) -> Section:
    """The posted price earns the same on every structure; the competition-optimal auction does not."""
    n, k = 6, 2
    posted = sweep("uniform:0,1", n, k, "posted", ("surplus",))
    auction = sweep("uniform:0,1", n, k, "auction", ("surplus",), rounds=20_000, seed=3)
    fig, ax = plt.subplots(figsize=(6.5, 4))
    for table, label in ((posted, "posted p_R"), (auction, "(k+1)-th price, reserve phi^-1(0)")):
        g = table.groupby("intermediaries")["revenue"]
        ax.plot(g.mean().index, g.mean().values, "o-", label=f"{label}: mean")
        ax.fill_between(g.min().index, g.min().values, g.max().values, alpha=0.2)
    ax.set_xlabel("number of intermediaries (n = 6, k = 2, uniform)"), ax.set_ylabel("seller revenue")
    ax.legend(fontsize=8), ax.set_title("Revenue across all 203 demand structures")
    extra = _save(fig, figures / "robustness_by_structure.png")
    comp = auction[auction.partition == "0|1|2|3|4|5"].iloc[0]
    reserve = parse_spec("uniform:0,1").monopoly_price
    mono = simulate_auction("uniform:0,1", [list(range(n))], UniformPriceAuction.myerson("uniform:0,1", k),
                            "surplus", 20_000, np.random.default_rng(3))
    by_binomial = reserve * sum(min(d, k) * stats.binom.pmf(d, n, 1 - reserve) for d in range(n + 1))
    checks = [
        Check("Proposition 1", "uniform, n=6, k=2, competition", "auction revenue = sum_j E[phi(v(j,n))^+]",
              round(myerson_auction_revenue("uniform:0,1", n, k), 6), round(comp.revenue, 6),
              abs(comp.revenue - myerson_auction_revenue("uniform:0,1", n, k)) <= 4 * comp.revenue_stderr,
              "4 s.e. (20000 rounds)", "cross-evaluator", "quadrature of Proposition 1 against the sweep's auction"),
        Check("Section 3", "uniform, n=6, k=2, monopsony (simulated bids)",
              "auction revenue = r E[min(Bin(n, 1-F(r)), k)]", round(by_binomial, 6), round(mono.mean["revenue"], 6),
              mono.within("revenue", by_binomial), "4 s.e. (20000 rounds)", "paper-formula",
              "Section 3 (scipy.stats.binom) against the simulated auction"),
    ]
    text = """
Every partition of 6 buyers, k = 2, uniform values. In the auction each intermediary bids for the
buyers it chooses, best-responding to the other buyers bidding their values (a surplus maximizer
holding several buyers withholds bids to keep the uniform price down). The band spans the
structures with the same number of intermediaries.
"""
    return Section("Robustness: the posted price against the competition-optimal auction", text, checks, extra)


def propositions_2_3_corollary_1(figures: Path) -> Section:
    """Monopsony, k = n = 4H, equal revenue capped at H: the auction earns n, the bundle ~ n (1 + ln H)."""
    checks, rows, ratios = [], [], []
    caps = [5, 25, 125]
    for i, H in enumerate(caps):
        n = k = 4 * H
        spec = f"pareto:0,1,{H}"
        auction_m = monopsony_auction_revenue(spec, n, k)
        auction_c = myerson_auction_revenue(spec, n, k)
        bundle = price_bundle(spec, n, k, 20_000, i)
        ratios.append(auction_m / bundle.revenue)
        rows.append((spec, n, auction_m, auction_c, bundle.price, bundle.revenue, bundle.stderr,
                     auction_m / bundle.revenue, 1 / (1 + math.log(H))))
        z = float(stats.norm.ppf(1.0 - LEVEL))
        above = bundle.revenue - z * bundle.stderr > auction_c  # the lower confidence bound clears R_C
        checks.append(Check("Corollary 1", f"{spec}, n = k = {n}", "R_M >= bundle revenue > R_C (Myerson)",
                            round(auction_c, 6), round(bundle.revenue, 6), above,
                            f"one-sided, level {LEVEL:g}: holds iff estimate - {z:.3f} s.e. > R_C; s.e. "
                            f"{bundle.stderr:.2g}; {bundle.method}", "bound",
                            "Corollary 1; R_C by quadrature; the bundle at a price fixed before valuing it is a "
                            "mechanism, so its revenue is a lower bound on R_M", ">="))
    checks += [
        Check("Proposition 2", "pareto:0,1,H, n = k = 4H, monopsony", "Rev_M(x_C, p_C) / Rev_M -> 0 as H grows",
              "-> 0", " > ".join(f"{r:.3f}" for r in ratios), all(a > b for a, b in zip(ratios, ratios[1:]))
              and ratios[-1] < 0.25, "decreasing, < 0.25", "paper-formula", "Proposition 2"),
        Check("Proposition 1", "pareto:0,1,5, n = k = 20, competition", "Myerson revenue = n H P[v = H] = n",
              20.0, round(myerson_auction_revenue("pareto:0,1,5", 20, 20), 9),
              abs(myerson_auction_revenue("pareto:0,1,5", 20, 20) - 20.0) < 1e-6, "1e-6", "paper-formula",
              "Proposition 1: phi = 0 below the cap, H on the atom"),
    ]
    for spec in ("uniform:0,1", "exponential:1"):
        bundle = price_bundle(spec, 6, 3, BUNDLE_SAMPLES, 11)
        wel = optimal_welfare(spec, 6, 3)
        checks.append(lower_bound_check("Proposition 3", f"{spec}, n = 6, k = 3, monopsony",
                                        "bundle at phi_G^-1(0) earns >= Wel(F)/e >= Rev_M/e", wel / math.e,
                                        bundle.revenue, bundle.stderr, BUNDLE_SAMPLES,
                                        f"Proposition 3; {bundle.method}"))
    fig, ax = plt.subplots(figsize=(6, 3.6))
    ax.semilogx(caps, ratios, "o-", label="auction / bundle (monopsony)")
    ax.semilogx(caps, [1 / (1 + math.log(H)) for H in caps], "k--", label="1 / (1 + ln H) = n / (n E[v])")
    ax.set_xlabel("cap H of the equal-revenue law (n = k = 4H)"), ax.legend(fontsize=8)
    ax.set_title("Proposition 2: the competition-optimal auction under monopsony")
    extra = _save(fig, figures / "proposition2_collapse.png") + "\n\n" + markdown_table(
        ["law", "n = k", "auction, monopsony", "auction, competition", "bundle price", "bundle revenue", "s.e.",
         "ratio", "1/(1 + ln H)"], rows)
    text = """
The (k+1)-th-price auction with reserve phi^-1(0) is optimal under competition (Proposition 1).
Facing one intermediary holding every buyer it sells each unit at the reserve. Against it, the
bundle of all k = n items at phi_G^-1(0) (G the law of the top-k sum; the price is found on 20000
samples and its revenue estimated on 20000 others, so the estimate is unbiased for that price)
earns close to n E[v] = n (1 + ln H) once n is large against H (here n = 4H): the auction's share of the monopsony
optimum goes to 0 (Proposition 2), and the monopsony earns the seller more than competition
does (Corollary 1, R_M >= bundle > R_C = n). The monopsony optimum R_M itself is not computed
(an open multi-item problem); the bundle is a lower bound on it. Proposition 3's check compares
the bundle with Wel(F)/e, which is at least R_M/e.
"""
    return Section("Propositions 2-3 and Corollary 1: competition's auction under monopsony", text, checks, extra)


def proposition_4() -> Section:
    """Competition against the bundle price n(E[v] - eps), k = n, exponential values: closed forms."""
    eps, gamma, checks, rows, ratios = 0.05, 0.01, [], [], []
    sizes = (4, 8, 12)
    for n in sizes:
        price = n * (1.0 - eps)
        revenue = price * (1 - stats.expon.cdf(price) ** n)  # a unit-demand buyer takes it iff v >= price
        opt = myerson_auction_revenue("exponential:1", n, n)
        ratios.append(revenue / opt)
        rows.append((n, price, revenue, opt, revenue / opt))
        checks.append(Check("Proposition 1", f"exponential:1, k = n = {n}, competition",
                            "Rev_C = n E[(v - 1)^+] = n / e", n / math.e, opt, abs(opt - n / math.e) <= 1e-9 * n,
                            "1e-9 rel.", "paper-formula", "Proposition 1 with phi(v) = v - 1"))
    checks += [
        Check("Proposition 4", f"exponential:1, k = n = {sizes[-1]}, competition",
              f"Rev_C(x_B, p_B^eps) / Rev_C < gamma = {gamma:g}", gamma, ratios[-1], ratios[-1] < gamma,
              "closed form", "bound", "Proposition 4", "<="),
        Check("Proposition 4", f"exponential:1, k = n in {sizes}", "the ratio falls towards 0 with n (and stays > 0)",
              "-> 0", " > ".join(f"{r:.3g}" for r in ratios),
              all(a > b > 0 for a, b in zip(ratios, ratios[1:])), "decreasing", "paper-formula", "Proposition 4"),
    ]
    text = """
With k = n and a buyer per intermediary, the bundle price n(E[v] - eps) (eps = 0.05) is paid only by
a single buyer worth that much to itself: for exponential values that happens with probability about
n e^(-n(1 - eps)), so the bundle's revenue vanishes while Myerson's auction (Proposition 1, quadrature,
checked against n / e) keeps earning.
"""
    return Section("Proposition 4: the bundle under competition", text, checks,
                   markdown_table(["n", "bundle price", "bundle revenue", "Rev_C (Myerson)", "ratio"], rows))


def theorem_2() -> Section:
    """Definition 9's menu on three structures: exact with one buyer per intermediary, else Monte Carlo."""
    checks, rounds = [], 100_000
    weights = [1.0, 0.6, 0.2]
    quantity = "revenue >= (1 - e^(-c/2))(1 - 1/e) Wel(F)"
    parts = ([[i] for i in range(6)], [list(range(6))], [[0, 1], [2, 3, 4], [5]])
    streams = iter(np.random.SeedSequence(17).spawn(3 * len(parts)))  # an independent sample per row
    for spec in ("uniform:0,1", "exponential:1", "pareto:0.6,1"):
        menu = ItemMenu.heterogeneous(spec, 6, weights)
        wel = optimal_welfare(spec, 6, 3, weights)
        bound = theorem2_factor(lambda_of(spec)) * wel
        for part in parts:
            label = partition_text(part)
            instance = f"{spec}, n=6, eta={weights}, {label}"
            est = simulate_menu(spec, part, menu, "surplus", rounds, np.random.default_rng(next(streams)))
            mean, se = est.mean["revenue"], est.stderr["revenue"]
            if len(part) < 6:
                checks.append(lower_bound_check("Theorem 2", instance, quantity, bound, mean, se, rounds,
                                                "Theorem 2; revenue by Monte Carlo on a sample of its own"))
                continue
            exact = single_buyer_menu_revenue(spec, 6, menu)
            checks.append(Check("Theorem 2", instance, quantity, round(bound, 6), round(exact, 9), exact >= bound,
                                "exact", "bound", "Theorem 2; revenue exact (Markov chain on the items left, F's "
                                "CDF between the envelope's crossings)", ">="))
            checks.append(Check("Definition 9", instance, "exact revenue = Monte Carlo revenue", round(exact, 9),
                                round(mean, 6), abs(mean - exact) <= 4 * se, f"4 s.e. = {4 * se:.2g} ({rounds} rounds)",
                                "cross-evaluator", "exact single-buyer evaluator against the vectorized simulation"))
    text = """
Prices r_j = r_{j+1} + u_j (eta_j - eta_{j+1}), u_j = E[v(1, ceil(n/j))]; surplus-maximizing
intermediaries arrive in a random order and buy the items Lemma 5 picks from what is left.
With one buyer per intermediary the revenue is exact (values are iid, so the order does not
matter and the items left form a Markov chain); on the other structures it is estimated on a
sample drawn for that row alone, and the guarantee counts as refuted only when the upper
one-sided confidence bound of the estimate falls below it.
"""
    return Section("Theorem 2: heterogeneous items", text, checks)


def _best_item_pricing(dist, n: int) -> float:
    """max over 400 item prices p in [1, H] of n p P[v >= p] (monopsony, k = n: every buyer worth p buys)."""
    prices = np.geomspace(dist.lo, dist.hi, 400)
    return float(np.max(n * prices * dist.prob_at_least(prices)))


def lemma_6(figures: Path) -> Section:
    """Monopsony, k = n, equal revenue capped at n^2: item pricing earns n, the bundle Theta(n ln n)."""
    rows, gaps, items = [], [], []
    sizes = (4, 16, 64, 256, 1024)
    for n in sizes:
        spec = f"pareto:0,1,{n * n}"
        item = _best_item_pricing(parse_spec(spec), n)
        items.append(item)
        bundle = price_bundle(spec, n, n, 20_000, n).revenue
        gaps.append(bundle / item)
        rows.append((n, item, bundle, bundle / item, math.log(n)))
    per_log = [g / math.log(n) for g, n in zip(gaps, sizes)]
    checks = [Check("Lemma 6", f"pareto:0,1,n^2, k = n = {n}, monopsony", "best item pricing earns n (p P[v >= p] = 1)",
                    float(n), item, abs(item - n) <= 1e-9 * n, "1e-9 rel.", "paper-formula",
                    "Lemma 6 (equal revenue: p P[v >= p] = 1); measured: the best of 400 prices on [1, H]")
              for n, item in zip(sizes, items)]
    checks.append(Check("Lemma 6", "pareto:0,1,n^2, k = n, monopsony", "bundle / item pricing = Theta(ln n)",
                        "increasing, / ln n in [1/2, 2]", " , ".join(f"{g:.3f}" for g in per_log),
                        all(a < b for a, b in zip(gaps, gaps[1:])) and all(0.5 <= g <= 2.0 for g in per_log),
                        "MC: price on 20000 samples, revenue on 20000 others", "paper-formula", "Lemma 6"))
    checks.append(ln_rate_check(sizes[2:], gaps[2:]))  # n >= 64, where gap / ln n has settled
    line = stats.linregress(np.log(sizes), gaps)
    fig, ax = plt.subplots(figsize=(6, 3.6))
    ax.semilogx(sizes, gaps, "o-", label="bundle / item pricing")
    ax.semilogx(sizes, [math.log(n) for n in sizes], "k--", label="ln n")
    ax.set_xlabel("n = k"), ax.legend(), ax.set_title("Lemma 6: a regular law (equal revenue, cap n^2)")
    extra = _save(fig, figures / "lemma6_bundle_gap.png") + "\n\n" + markdown_table(
        ["n", "best item pricing", "bundle (priced on one sample, valued on another)", "gap", "ln n"], rows)
    text = f"""
Equal-revenue values capped at H = n^2 (regular, lambda = 1): any item price p earns p P[v >= p] = 1
per buyer, so item pricing earns n whatever the structure; a bundle priced for the sum of n values
earns about n ln n times a constant. Least squares (scipy.stats.linregress) over n = 4..1024:
gap = {line.intercept:.3f} + {line.slope:.3f} ln n (slope s.e. {line.stderr:.2g}, r = {line.rvalue:.4f}).
"""
    return Section("Lemma 6: item pricing against the bundle for a regular law", text, checks, extra)


def ln_rate_check(sizes, gaps, tolerance: float = 0.1) -> Check:
    """Lemma 6's rate: the bundle's gap over item pricing is Theta(ln n), so ln gap = c + e ln ln n with
    exponent e = 1; e fitted by scipy.stats.linregress, held iff within ``tolerance`` of 1 (a power n^a
    has local exponent a ln n, 1.4 for a = 1/4 over n = 64..1024; ln^2 n has 2)."""
    fit = stats.linregress(np.log(np.log(sizes)), np.log(gaps))
    return Check("Lemma 6", f"pareto:0,1,n^2, k = n in {[int(n) for n in sizes]}, monopsony",
                 "exponent e of ln n in bundle / item pricing (ln gap on ln ln n, least squares)", 1.0,
                 round(float(fit.slope), 4), abs(fit.slope - 1.0) <= tolerance,
                 f"{tolerance:g} (slope s.e. {fit.stderr:.2g})", "paper-formula",
                 "Lemma 6: the gap is Theta(ln n), exponent 1")


def _lp(spec: str, grid: int, n: int, k: int, position: str = "mid"):
    types = monopsony_types(quantile_grid(spec, grid, position), n, k)
    return types, optimal_mechanism(types)


def posted_price_brackets(grids=(16, 64, 256)) -> tuple[list[Check], list[tuple]]:
    """k = 1, n = 3 uniform buyers: the LP optimum on the grid laws below and above F brackets
    Myerson's posted price revenue r (1 - r^n), r^n = 1 / (n + 1) (for one item the revenue is
    monotone in first-order dominance)."""
    checks, rows = [], []
    n, r = 3, 0.25 ** (1 / 3)
    myerson = r * (1 - r ** n)
    for grid in grids:
        low, high = (_lp("uniform:0,1", grid, n, 1, pos)[1].revenue for pos in ("lower", "upper"))
        rows.append((grid, low, high, high - low, myerson))
        checks.append(Check("Proposition 3 (k = 1)", f"uniform:0,1, n = 3, k = 1, grid {grid}",
                            "LP on the lower grid <= r (1 - r^n) <= LP on the upper grid", round(myerson, 6),
                            f"[{low:.6f}, {high:.6f}]", low <= myerson <= high, f"bracket width {high - low:.2g}",
                            "paper-formula", "Myerson's posted price for one item ([40], Section 6); the "
                            "linear program (HiGHS) on laws dominated by / dominating F brackets it"))
    return checks, rows


def footnote_17(instance: str, types, optimum: float) -> Check:
    """Footnote 17 under monopsony: item prices or the bundle, each with probability 1/2, earn at
    least half the optimum (item price and bundle price: the best on the grid)."""
    mixed = 0.5 * (best_item_price(types).revenue + best_bundle(types).revenue)
    return Check("Footnote 17", instance, "1/2 item pricing + 1/2 bundle >= optimum / 2", round(optimum / 2, 6),
                 round(mixed, 6), mixed >= optimum / 2, f"exact; ratio to the optimum {mixed / optimum:.4f}",
                 "bound", "linear program (HiGHS) on the grid law", ">=")


def proposition_5(instance: str, spec: str, types, optimum: float) -> Check:
    """Proposition 5 for the uniform item price under monopsony, k = n, surplus intermediaries:
    beta = 1 (each buyer worth the price is served whatever the structure), tau = 1, and gamma =
    its share of the competition optimum, which for k = n is n max_p p P[v >= p] (no buyer competes
    for an item), so gamma = 1 for the best grid price."""
    law = types.law
    item = best_item_price(types).revenue
    competition = types.n * max(p * law.probs[law.points >= p].sum() for p in law.points)
    gamma = item / competition
    bound = gamma * c_lambda(lambda_of(spec)) / 2 * (1 - 1 / math.e) * optimum
    return Check("Proposition 5", instance, "item pricing >= beta gamma tau c(lambda)/2 (1 - 1/e) Rev_M",
                 round(bound, 6), round(item, 6), item >= bound,
                 f"exact; beta = tau = 1, gamma = {gamma:.4f}, lambda = {lambda_of(spec):g}", "bound",
                 "linear program (HiGHS) for Rev_M on the grid law; lambda of F (the grid law is discrete)", ">=")


def monopsony_optimum() -> Section:
    """The monopsony's optimal revenue by linear program (HiGHS) against Propositions 1-3 and Lemma 6."""
    checks, brackets = posted_price_brackets()
    bundles, pricing = [], []
    z = float(stats.norm.ppf(1.0 - LEVEL))
    for m in (2, 3, 4):
        types, opt = _lp("uniform:0,1", 6, m, m, "upper")
        bundle_grid = best_bundle(types).revenue
        bundle = price_bundle("uniform:0,1", m, m, BUNDLE_SAMPLES, 17 + m)
        bundles.append((m, bundle.revenue, bundle.stderr, bundle_grid, opt.revenue, opt.pairs))
        checks.append(Check("Proposition 3", f"uniform:0,1, n = k = {m}, monopsony",
                            "bundle at phi_G^-1(0) under F <= optimum on the upper 6-point grid",
                            round(opt.revenue, 6), round(bundle.revenue, 6), bundle.revenue <= opt.revenue,
                            f"s.e. {bundle.stderr:.2g} ({z:.2f} s.e. = {z * bundle.stderr:.2g}); slack "
                            "0 by dominance", "bound", "linear program (HiGHS): the grid law dominates F, "
                            "so a bundle earns at least as much on it, and the LP optimum at least that", "<="))
        checks.append(Check("Proposition 3", f"uniform 6-point grid, n = k = {m}, monopsony",
                            "best bundle >= optimum / e", round(opt.revenue / math.e, 6), round(bundle_grid, 6),
                            bundle_grid >= opt.revenue / math.e, "exact (both on the grid)", "bound",
                            "linear program (HiGHS) on the grid law (discrete, not MHR: the claim "
                            "is evaluated beside its hypothesis)", ">="))
        checks.append(footnote_17(f"uniform 6-point upper grid, n = k = {m}, monopsony", types, opt.revenue))
        checks.append(proposition_5(f"uniform 6-point upper grid, n = k = {m}, monopsony", "uniform:0,1", types,
                                    opt.revenue))
    sizes, ratios = tuple(range(1, 10)), []
    for m in sizes:
        types, opt = _lp("pareto:0,1,100", LEMMA_6_GRID, m, m)
        item = best_item_price(types).revenue
        ratios.append(opt.revenue / item)
        pricing.append((m, item, best_bundle(types).revenue, opt.revenue, opt.revenue / item, math.log(m)))
        checks.append(footnote_17(f"equal revenue (cap 100), {LEMMA_6_GRID}-point grid, n = k = {m}, monopsony",
                                  types, opt.revenue))
    fit = stats.linregress(np.log(sizes), ratios)
    law = quantile_grid("pareto:0,1,100", LEMMA_6_GRID)
    ceiling = float(law.points @ law.probs) / max(p * law.probs[law.points >= p].sum() for p in law.points)
    checks.append(Check("Lemma 6", f"equal revenue (cap 100), {LEMMA_6_GRID}-point grid, n = k = 1..9, monopsony",
                        "optimum / best item pricing = a + b ln n, b > 0", "b > 0",
                        f"b = {fit.slope:.4f} +- {fit.stderr:.4f} (a = {fit.intercept:.4f})",
                        fit.slope - z * fit.stderr > 0, f"one-sided, level {LEVEL:g}: b - {z:.2f} s.e. > 0",
                        "bound", "linear program (HiGHS) for the optimum; least squares in ln n (scipy)", ">="))
    extra = "\n\n".join([
        markdown_table(["grid", "LP, lower grid", "LP, upper grid", "width", "r (1 - r^n)"], brackets),
        markdown_table(["n = k", "bundle under F (MC)", "s.e.", "best bundle, upper grid", "LP optimum, upper grid",
                        "IC pairs in the LP"], bundles),
        markdown_table(["n = k", "best item price (grid)", "best bundle (grid)", "LP optimum (grid)",
                        "optimum / item pricing", "ln n"], pricing)])
    text = f"""
The monopsony's optimal revenue, computed: a linear program (HiGHS) over every incentive-compatible,
individually rational mechanism (a lottery over the number of items and a payment per type) for one
surplus-maximizing intermediary, whose type is the sorted top-k profile of its n buyers' values on
an equal-probability quantile grid. For k = 1 the optimum is a posted price on the highest value
(closed form r (1 - r^n), r^n = 1/(n+1) for uniform values); the LP on the grid law below F and on
the one above it brackets it, the bracket closing like 1/grid. Proposition 3's bundle, valued under F by
Monte Carlo, is below the optimum on the upper grid (a law dominating F, so the inequality holds
with no discretization slack). Lemma 6: with equal-revenue values the optimum's ratio to the best
item pricing grows with n; the least-squares slope on ln n over n = 1..9 is {fit.slope:.3f} +-
{fit.stderr:.3f}. This is a small-n measurement: on a fixed {LEMMA_6_GRID}-point grid the ratio is 1 for n <= 2
and bounded by E[v] / max p P[v >= p] = {ceiling:.2f} for every n, so the grid would have to grow
with n for the ln n rate itself to show, and the LP's size (C(grid + n - 1, n) types) forbids it here.
Footnote 17's coin between item prices and the bundle is held to half the optimum on each instance,
and Proposition 5's bound for the uniform item price to the optimum itself (uniform values, lambda =
0; for the equal-revenue law lambda = 1 and c(1) = 0 leaves nothing to check).
"""
    return Section("The monopsony's optimum by linear program: Proposition 3 and Lemma 6", text, checks, extra)


def lemma_1() -> Section:
    """Rev <= Wel(F) for equal and unequal item weights; equal weights as identical items."""
    from agora.market.k_items.solver import solve_ipm

    checks = []
    for eta in (0.5, 2.0):
        same, weighted = solve_ipm(6, 3, "uniform:0,1"), solve_ipm(6, 3, "uniform:0,1", [eta] * 3)
        checks.append(Check("Lemma 1", f"uniform:0,1, n=6, k=3, eta={eta} on every item, competition",
                            "revenue / Wel(F) <= 1", 1.0, round(weighted.ratio, 9), weighted.ratio <= 1.0,
                            "exact", provenance="bound", source="Lemma 1 (Section 2): Rev(F, m, pi) <= Wel(F)"))
        checks.append(Check("Section 5", f"uniform:0,1, n=6, k=3, eta={eta} on every item",
                            "ratio with equal weights = identical items' ratio", round(same.ratio, 12),
                            round(weighted.ratio, 12), abs(weighted.ratio - same.ratio) <= 1e-12, "1e-12",
                            provenance="independent",
                            source="exact evaluator at unit weights (price p_R, no weights involved)"))
    rounds, weights = 100_000, [1.0, 0.6, 0.2]
    for spec in ("uniform:0,1", "pareto:0.6,1"):
        wel = optimal_welfare(spec, 6, 3, weights)
        menu = ItemMenu.heterogeneous(spec, 6, weights)
        exact = single_buyer_menu_revenue(spec, 6, menu) / wel
        checks.append(Check("Lemma 1", f"{spec}, n=6, eta={weights}, 0|1|2|3|4|5", "revenue / Wel(F) <= 1", 1.0,
                            round(exact, 9), exact <= 1.0, "exact (Markov chain on the items left)",
                            provenance="bound", source="Lemma 1 (Section 2): Rev(F, m, pi) <= Wel(F)"))
        est = simulate_menu(spec, [[0, 1], [2, 3, 4], [5]], menu, "surplus", rounds, np.random.default_rng(19))
        ratio, se = est.mean["revenue"] / wel, est.stderr["revenue"] / wel
        checks.append(Check("Lemma 1", f"{spec}, n=6, eta={weights}, 0,1|2,3,4|5", "revenue / Wel(F) <= 1", 1.0,
                            round(ratio, 6), ratio <= 1.0, f"s.e. {se:.1g} ({rounds} rounds)",
                            provenance="bound", source="Lemma 1 (Section 2): Rev(F, m, pi) <= Wel(F)"))
    text = """
Lemma 1 on Definition 9's menu: with equal weights eta the menu posts eta p_R on every item and a
buyer's score scales by eta, so the ratio is the identical-items one; with unequal weights (Monte
Carlo) the revenue stays below Wel(F) = sum_j eta_j E[v(j, n)].
"""
    return Section("Lemma 1: revenue at most welfare, every weight vector", text, checks)


def auction_bidding() -> Section:
    """Section 3's auction with an intermediary holding several buyers: exact best responses."""
    from agora.market.k_items.bidding import TruthfulRivals, best_response, expected_utility
    from agora.market.k_items.k_auction import solve_k_auction
    from agora.market.k_items.utility import utility_model

    dist = parse_spec("uniform:0,1")
    r, v1, v2 = 0.5, 0.9, 0.8
    checks = []
    for m in (1, 3):
        rivals = TruthfulRivals(dist, utility_model("surplus", dist), m, 2, r)
        br = best_response(rivals, (v1, v2))
        gain = br.utility - expected_utility(rivals, (v1, v2), (v1,))
        checks.append(Check("Section 3", f"uniform:0,1, k=2, r=1/2, values (0.9, 0.8) vs {m} truthful rival(s)",
                            "best response gain over bidding v1 alone >= r^m (v2 - r)", round(r ** m * (v2 - r), 9),
                            round(gain, 9), gain >= r ** m * (v2 - r) - 1e-12, "1e-12",
                            provenance="independent",
                            source="closed form: both units sell at r iff every rival is below r"))
        checks.append(Check("Section 3", f"same, {m} rival(s)", "regret of the best response on a 61-level grid",
                            0.0, round(br.regret, 12), br.regret <= 1e-9, "1e-9", provenance="independent",
                            source="exhaustive search over non-increasing bid vectors on a finer grid"))
    rounds = 200
    sol = solve_k_auction(5, 2, "uniform:0,1", [[0, 1], [2], [3], [4]], "surplus", rounds=rounds, seed=23,
                          regret_profiles=10)
    comp = myerson_auction_revenue("uniform:0,1", 5, 2)
    checks.append(Check("Proposition 1", "uniform:0,1, n=5, k=2, structure (2,1,1,1), equilibrium",
                        "largest regret over 10 profiles (41-level grid)", 0.0, round(sol.max_regret, 12),
                        sol.max_regret <= 1e-9, "1e-9", provenance="independent",
                        source="exhaustive search over non-increasing bid vectors on a fine grid"))
    text = f"""
An intermediary holding two buyers among single-buyer ones (which bid truthfully, a dominant strategy)
best-responds over full bid vectors, exactly against the rivals' binomial laws. With values (0.9, 0.8)
it bids its top value and the reserve for the second unit. Equilibrium bid shapes over {rounds} rounds of
structure (2,1,1,1): {sol.bid_shapes}; seller revenue {sol.revenue:.4f} (s.e. {sol.revenue_stderr:.2g},
Monte Carlo) beside {comp:.4f} when every buyer is on its own (Proposition 1, exact).
"""
    return Section("Section 3: best responses in the (k+1)-th-price auction", text, checks)


def _size_partitions(n: int, largest: int | None = None) -> list[tuple[int, ...]]:
    """Every multiset of block sizes summing to n, largest block first."""
    largest = n if largest is None else largest
    if n == 0:
        return [()]
    return [(b, *rest) for b in range(min(n, largest), 0, -1) for rest in _size_partitions(n - b, b)]


def section_3_structures(n: int = 6, k: int = 3, rounds: int = 40_000) -> Section:
    """The (k+1)-th-price auction with reserve phi^-1(0) (optimal under competition, Proposition 1) on every
    demand structure of n buyers: exact equilibrium revenue among the intermediaries holding several buyers."""
    from agora.market.k_items.equilibrium import equilibrium, play
    from agora.market.k_items.utility import utility_model

    spec = "uniform:0,1"
    dist = parse_spec(spec)
    model, r, wel = utility_model("surplus", dist), dist.monopoly_price, optimal_welfare(spec, n, k)
    competition = myerson_auction_revenue(spec, n, k)
    checks, rows = [], []
    for sizes in _size_partitions(n):
        cuts = np.cumsum((0,) + sizes)
        blocks = [list(range(a, b)) for a, b in zip(cuts[:-1], cuts[1:])]
        strategic = [b for b in blocks if len(b) > 1]
        bins = 20 if max(sizes) <= 4 else 10  # cells of 5 or 6 buyers on 20 bins: 10^5 cells
        eq = equilibrium(k, r, 1.0, strategic, n, dist, model, bins=bins)
        exact, exact_wel = eq.seller()
        mc = play(eq, blocks, n, dist, model, rounds, np.random.default_rng([29, *sizes]))
        mean, se = float(mc.revenue.mean()), float(mc.revenue.std(ddof=1) / math.sqrt(rounds))
        name = "(" + ",".join(map(str, sizes)) + ")"
        instance = f"{spec}, n={n}, k={k}, r=1/2, structure {name}, surplus intermediaries"
        checks.append(Check("Section 3", instance, "exact equilibrium revenue against Monte Carlo of its strategies",
                            round(mean, 6), round(exact, 6), abs(exact - mean) <= 4 * se,
                            f"4 s.e. = {4 * se:.2g} ({rounds} fresh rounds)", provenance="independent",
                            source="UniformPriceAuction.run on fresh values, bids drawn from the strategies"))
        checks.append(Check("Lemma 1", instance, "revenue <= Wel(F)", round(wel, 6), round(exact, 6), exact <= wel,
                            "exact", provenance="bound", source="Lemma 1: Rev <= Wel(F) = sum_{j<=3} E[v(j, 6)]",
                            sense="<="))
        regret = max((float(eq.regret(i).max()) for i in range(len(strategic))), default=0.0)
        if strategic:
            checks.append(Check("Section 3", instance, "largest regret of the equilibrium (41-level grid, every cell)",
                                0.0, round(regret, 6), regret <= 1e-2, "1e-2 (below the 21-level grid's step 0.025: "
                                "bids between its levels)", provenance="independent",
                                source="exhaustive search over every non-increasing bid vector on the fine grid, "
                                       "exact payoffs"))
        if len(strategic) == 0:
            checks.append(Check("Proposition 1", instance, "revenue under competition", round(competition, 9),
                                round(exact, 9), abs(exact - competition) <= 1e-9, "1e-9", provenance="independent",
                                source="sum_{j<=k} E[max(phi(v(j, n)), 0)] by quadrature over the Beta law of v(j, n)"))
        if sizes == (n,):
            want = monopsony_auction_revenue(spec, n, k)
            checks.append(Check("Proposition 2", instance, "monopsony revenue r E[min(D, k)]", round(want, 9),
                                round(exact, 9), abs(exact - want) <= 1e-9, "1e-9", provenance="independent",
                                source="one bid at r per buyer served at r, D ~ Binomial(n, 1/2)"))
        play_text = ("truthful" if not strategic else f"best responses, {eq.sweeps} sweeps" if eq.converged
                     else f"fictitious play ({eq.sweeps} sweeps, then {eq.fictitious} rounds)")
        rows.append((name, play_text, f"{exact:.4f}", f"{mean:.4f} +- {se:.4f}", f"{exact_wel:.4f}",
                     f"{regret:.1e}", f"{exact / competition:.3f}"))
    table = markdown_table(["structure", "play", "revenue (exact)", "Monte Carlo", "welfare (exact)",
                            "largest regret", "revenue / competition"], rows)
    text = f"""
The seller runs the auction that is optimal under competition (Proposition 1: (k+1)-th price, reserve
phi^-1(0) = 1/2) on every demand structure of {n} buyers, k = {k}, uniform values. Intermediaries holding
several buyers bid on a 21-level grid knowing the cell of their buyers' quantiles, with exact payoffs
(agora.market.k_items.equilibrium); single buyers bid their values (dominant). Revenue and welfare are
exact under the strategies found; the Monte Carlo column plays them on fresh draws. Wel(F) = {wel:.4f}.

{table}
"""
    return Section("Section 3: the competition-optimal auction on every demand structure", text, checks)


PARTITION_SHAPES = [(4, 2), (6, 2), (6, 3), (8, 2), (8, 4), (7, 3), (8, 3)]  # Corollary 2 (k | n) first
SCALE_FREE = ["uniform:0,1", "exponential:1"]  # the laws GrowingFee is solved on exactly
SEARCH_MAX_N = 8
FEE_ROUNDS = 100_000


def _partition_models(spec: str):
    models = [ProportionalDemand(0.5), CapacityLimited(1)]
    return models + [GrowingFee()] if spec in SCALE_FREE else models


def theorem_1_partition_models() -> Section:
    """Theorem 1 / Corollary 2 with intermediaries whose demand depends on the partition."""
    checks, rows = [], []
    for spec in LAWS:
        for n, k in PARTITION_SHAPES:
            for model in _partition_models(spec):
                sw = sweep_partition_model(spec, n, k, model)
                low, worst = sw.tightest, sw.worst
                checks.append(Check(sw.result, f"{spec}, n={n}, k={k}, {sw.model}, all {sw.structures} partitions",
                                    "revenue / Wel(F) on the partition of least slack >= tau c(lambda)/2^[k∤n] "
                                    "(1-1/e), its own tau", round(low.guarantee, 6), round(low.ratio, 6),
                                    low.slack >= 0.0, f"exact; slack {low.slack:.4f} at sizes {low.sizes}",
                                    "bound", f"{sw.result}, tau = min_l tau_l, tau_l = min_d E[g(d)]/d "
                                    "(Condition 3), exact", ">="))
                rows.append((spec, n, k, sw.model, sw.min_ratio, sw.max_ratio, str(worst.sizes), worst.tau,
                             worst.guarantee, low.slack, str(low.sizes)))
    checks += _growing_fee_cross_checks()
    table = markdown_table(["law", "n", "k", "intermediaries", "min ratio", "max ratio", "partition of the min",
                            "tau there", "guarantee there", "least slack", "at"], rows)
    text = f"""
Intermediaries that buy for ceil(D/2) of the D buyers worth the price, serve at most one buyer, or hold
a fee contract of Equation 1 whose share 1/(1 + x) falls with the items x bought (GrowingFee, solved
exactly on {' and '.join(SCALE_FREE)}). Their revenue depends on the partition (ceil and min do not
add over blocks; the fee contract's demand depends on the spacings of a block's values), so min and max
over all Bell(n) partitions differ. Each partition is held to the guarantee with its own
tau = min_l tau_l, tau_l = min over 1 <= d <= |block| of E[g | D = d] / d (Condition 3); the 1/2 is
dropped when k divides n (Corollary 2). Exact: the pmf of each block's demand pushed forward from the
binomial, convolved over blocks (checked in tests against a brute-force enumeration of every set
partition and every set of buyers above the price, n <= 8, and against the agents' own demand rule).
"slack" is ratio - guarantee, least over the partitions.

{table}
"""
    return Section("Theorem 1 and Corollary 2 with partition-dependent intermediaries", text, checks)


def _growing_fee_cross_checks() -> list[Check]:
    """GrowingFee's exact revenue against the agents' argmax of V / (1 + x), simulated."""
    menu, out = ItemMenu.intermediary_proof("uniform:0,1", 6, 3), []
    share = BargainingShare(lambda v, x, p: np.full(v.shape[0], 1.0 / (1.0 + x)))
    for seed, sizes in enumerate([(6,), (3, 2, 1), (2, 2, 2)]):
        exact = posted_revenue("uniform:0,1", sizes, 3, menu.unit_price, GrowingFee())
        mc = simulate_menu("uniform:0,1", _blocks(sizes), menu, share, FEE_ROUNDS, np.random.default_rng(seed))
        out.append(Check("Equation 1", f"uniform:0,1, n=6, k=3, alpha = 1/(1+x), sizes {sizes}", "revenue at p_R",
                         round(exact, 6), round(mc.mean["revenue"], 6), mc.within("revenue", exact),
                         f"4 s.e. (s.e. {mc.stderr['revenue']:.2g}, {FEE_ROUNDS} rounds)", "cross-evaluator",
                         "exact GrowingFee (order-statistic quadrature) against Monte Carlo of the argmax of alpha V"))
    return out


def _blocks(sizes) -> list[list[int]]:
    starts = np.cumsum((0, *sizes))
    return [list(range(a, b)) for a, b in zip(starts[:-1], starts[1:])]


def fee_contracts() -> Section:
    """Equation 1 with a share free of the deal: the same revenue on every partition."""
    n, k, spec = 6, 3, "uniform:0,1"
    menu = ItemMenu.intermediary_proof(spec, n, k)
    q = float(parse_spec(spec).prob_at_least(menu.unit_price))
    closed = menu.unit_price * float(np.dot(stats.binom.pmf(np.arange(n + 1), n, q), np.minimum(np.arange(n + 1), k)))
    share = BargainingShare(lambda v, x, p: 1.0 / (1.0 + v.sum(axis=1)))
    checks = []
    for seed, sizes in enumerate([(6,), (4, 2), (3, 2, 1), (1,) * 6]):
        mc = simulate_menu(spec, _blocks(sizes), menu, share, FEE_ROUNDS, np.random.default_rng(10 + seed))
        checks.append(Check("Equation 1", f"{spec}, n={n}, k={k}, alpha = 1/(1 + sum v), sizes {sizes}",
                            "revenue at p_R", round(closed, 6), round(mc.mean["revenue"], 6),
                            mc.within("revenue", closed), f"4 s.e. (s.e. {mc.stderr['revenue']:.2g}, "
                            f"{FEE_ROUNDS} rounds)", "independent",
                            "p E[min(Binomial(n, q), k)] (scipy.stats.binom): every block asks for its D_l"))
    text = f"""
Equation 1, U_l = alpha_l V, with a share that does not vary with the deal (x, P) -- a bargaining power
or an auditing fee taken as a share of the surplus, constant or a function of the buyers' values:
at a uniform price p, V(x, x p) rises strictly up to D_l = #(buyers of l worth at least p) and falls
strictly after, and alpha_l > 0 keeps the argmax, so each intermediary asks for exactly D_l
(tau_l = 1, as the paper says). The total asked, #(v_i >= p) ~ Binomial(n, q), and so the revenue
p E[min(Binomial(n, q), k)] = {closed:.6f} (n = {n}, k = {k}, q = {q:.4f}), cannot depend on the partition.
Tested here by the agents' own demand rule (argmax over x of alpha V, alpha = 1/(1 + sum of the block's
values)) on four partitions, and in tests by enumeration of every value profile of a three-point law on
all 52 partitions of 5 buyers. A share that falls with x is partition-dependent (GrowingFee, section above).
"""
    return Section("Equation 1: fee contracts free of the deal earn the same on every partition", text, checks)


def tightest_instance() -> Section:
    """The least slack ratio - guarantee over n, k, the law (lambda) and the intermediaries' model."""
    models = [ProportionalDemand(t) for t in (0.25, 1 / 3, 0.5, 2 / 3, 0.75, 1.0)] + \
        [CapacityLimited(c) for c in (1, 2, 3)]
    sweeps = sweep_space(LAWS, SEARCH_MAX_N, models) + sweep_space(SCALE_FREE, SEARCH_MAX_N, [GrowingFee()])
    ranked = sorted(sweeps, key=lambda s: s.tightest.slack)
    best, relative = ranked[0], min(sweeps, key=lambda s: s.tightest.ratio / s.tightest.guarantee)
    rows = [(sw.distribution, f"{sw.lam:.2f}", sw.n, sw.k, sw.model, str(sw.tightest.sizes), sw.tightest.tau,
             sw.tightest.ratio, sw.tightest.guarantee, sw.tightest.slack) for sw in ranked[:12]]
    low = best.tightest
    check = Check(best.result, f"{best.distribution}, n={best.n}, k={best.k}, {best.model}, sizes {low.sizes}: "
                  f"least slack of {len(sweeps)} sweeps", "revenue / Wel(F) >= tau c(lambda)/2^[k∤n] (1-1/e)",
                  round(low.guarantee, 6), round(low.ratio, 6), low.slack >= 0.0, f"exact; slack {low.slack:.4f}",
                  "bound", f"{best.result}, tau = min_l tau_l (Condition 3), exact", ">=")
    rel = relative.tightest
    text = f"""
Search space: laws {', '.join(LAWS)} (lambda 0, 0, 0.25, 0.5, 0.7); 1 <= k <= n <= {SEARCH_MAX_N}; intermediaries
buying ceil(tau D) for tau in 1/4, 1/3, 1/2, 2/3, 3/4, 1 (tau = 1 is the surplus maximizer), serving at most
1, 2 or 3 buyers, and the fee contract alpha = 1/(1 + x) on {' and '.join(SCALE_FREE)}; every partition of
each market ({len(sweeps)} sweeps). Slack = revenue / Wel(F) - tau c(lambda)/2^[k∤n] (1-1/e), tau that of
the partition. Tightest: {best.distribution}, n = {best.n}, k = {best.k}, {best.model}, partition sizes
{low.sizes}: ratio {low.ratio:.4f} against the guarantee {low.guarantee:.4f} (slack {low.slack:.4f},
ratio / guarantee {low.ratio / low.guarantee:.3f}). Relative to the guarantee the tightest is {relative.distribution},
n = {relative.n}, k = {relative.k}, {relative.model}, sizes {rel.sizes}: {rel.ratio:.4f} against {rel.guarantee:.4f}
(ratio / guarantee {rel.ratio / rel.guarantee:.3f}). The guarantee is nowhere within a factor
{rel.ratio / rel.guarantee:.2f} of binding on this space. The 12 least slacks:

{markdown_table(["law", "lambda", "n", "k", "intermediaries", "partition", "tau", "ratio", "guarantee", "slack"],
                rows)}
"""
    return Section("Theorem 1 / Corollary 2: the tightest instance searched", text, [check])


def reproduce_intermediary_proof(out: Path) -> Report:
    out = Path(out)
    with staging_dir(out) as stage:
        report = Report("intermediary-proof-mechanisms: paper vs measured", SOURCE, [
            theorem_1(stage), robustness(stage), propositions_2_3_corollary_1(stage), proposition_4(),
            theorem_2(), lemma_6(stage), monopsony_optimum(), lemma_1(), auction_bidding(),
            section_3_structures(), theorem_1_partition_models(), fee_contracts(),
            tightest_instance()])
        report.write(stage)
    return report
