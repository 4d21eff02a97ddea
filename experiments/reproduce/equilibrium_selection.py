"""Equilibrium selection in the simultaneous game (monopolist-intermediary, Section 5).

Theorems 5.1 and 5.2 say the simultaneous game has continua of equilibria; this
report shows which of them repeated play reaches, under which learning rule and from
which start, and sets the outcome beside both Stackelberg outcomes and the limit of
the logit QRE branch. Three markets: a constant value, F_eps,H, and two non-identical
uniform bidders; then a k-item market with two intermediaries
(:mod:`agora.experiments.reproduce.selection_k_items`). Every study runs through the experiments
runner (:func:`agora.experiments.selection.run_selection`) on the executor asked for.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd

from agora.experiments.output import dumps, staging_dir, write_table, write_text
from agora.experiments.reproduce import grid_changes as changes
from agora.experiments.reproduce.references import MONOPOLIST_INTERMEDIARY
from agora.experiments.reproduce.report import Check, Report, Section
from agora.experiments.reproduce.selection_k_items import BINDING, k_items
from agora.experiments.reproduce.selection_k_stability import k_item_stability, seller_learning_stability
from agora.experiments.reproduce.selection_qlearning import q_learning
from agora.experiments.reproduce.selection_stability import stochastic_stability
from agora.experiments.runner import make_executor
from agora.experiments.selection import basin_figure, qre_limit, run_selection, stackelberg, start_dependence, summary
from agora.experiments.tables import markdown_table
from agora.market.learning.k_selection import KItemMarket, KStudy, play_k_market
from agora.market.learning.rules import BestResponse, DemandLearning, FictitiousPlay, Hedge, RegretMatching
from agora.market.learning.selection import Market, Study, play_market
from agora.market.single_item.simultaneous import PricingGame, pure_equilibria
from agora.models.learning_models import k_learning_model, learning_model

SOURCE = MONOPOLIST_INTERMEDIARY
EPS, H = 0.2, 1e6
CONSTANT = Market("constant value 1", ("point:1",), 41)
F_MARKET = Market(f"F_{{{EPS:g},{H:g}}}", (f"pareto:{EPS:g},1,{H:g}",), 41, "log")
UNIFORM = Market("U[0,1] and U[0,2]", ("uniform:0,1", "uniform:0,2"), 31)  # 2/3 on the grid
RULES = (BestResponse(), BestResponse(0.5), FictitiousPlay(), FictitiousPlay(0.01), Hedge(5.0),
         RegretMatching(), DemandLearning(0.1, 0.5))
SUMMARY_COLUMNS = ["rule", "starts", "equilibrium", "cycle", "mixed", "none", "no trade", "verified",
                   "seller share (mean, min, max)", "seller revenue", "intermediary revenue"]


def _row(s: dict) -> tuple:
    return (s["rule"], s["starts"], s["equilibrium"], s["cycle"], s["mixed"], s["none"], s["no_trade"],
            s["verified"], f"{s['share_mean']:.3f} ({s['share_min']:.3f}, {s['share_max']:.3f})",
            s["seller_revenue"], s["intermediary_revenue"])


K_STARTS = 4  # starts per side in the k-item studies at most (a cube of them)


class Runner:
    """Runs the studies of the report through the experiments runner, with one executor and one scale."""

    def __init__(self, executor, starts: int, rounds: int, seed: int = 2026):
        self.executor, self.starts, self.rounds, self.seed = executor, starts, rounds, seed

    def study(self, market: Market, rule) -> Study:
        return Study(market, rule, starts_per_side=self.starts, rounds=self.rounds,
                     window=min(200, self.rounds // 4), seed=self.seed)

    def all_rules(self, market: Market, rules=RULES) -> list:
        return [run_selection(self.study(market, r), self.executor) for r in rules]

    def k_rules(self, market: KItemMarket, rules) -> list:
        return [run_selection(KStudy(market, r, starts_per_side=min(self.starts, K_STARTS), rounds=self.rounds,
                                     window=min(200, self.rounds // 4), seed=self.seed), self.executor)
                for r in rules]


def _benchmarks(market: Market, results: list) -> tuple[str, dict, dict]:
    """Markdown comparing the selected outcomes with both Stackelberg outcomes and the QRE limit."""
    st = stackelberg(market.bidders)
    q = qre_limit(market)
    rows = [("seller-first (Stackelberg)", *st["seller_first"]),
            ("intermediary-first (Stackelberg)", *st["intermediary_first"]),
            (f"logit QRE limit (lambda {q['lambda']:.0f}), p = ({q['seller_price']:.6g}, "
             f"{q['intermediary_price']:.6g})", q["seller_revenue"], q["intermediary_revenue"])]
    for r in results:
        s = summary(r)
        rows.append((f"{s['rule']}: mean over trading equilibria reached", s["seller_revenue"],
                     s["intermediary_revenue"]))
    return markdown_table(["outcome", "seller revenue", "intermediary revenue"], rows), st, q


def _section(run: Runner, market: Market, figures: Path, figure: str):
    results = run.all_rules(market)
    basin_figure(results, figures / figure, f"{market.name}: where play ends, by start",
                 by_index=market.grid == "log")
    table = markdown_table(SUMMARY_COLUMNS, [_row(summary(r)) for r in results])
    dep = markdown_table(["rule", "seller starts lower: mean share", "seller starts higher: mean share"],
                         [(summary(r)["rule"], *start_dependence(r)) for r in results])
    bench, st, q = _benchmarks(market, results)
    extra = (f"{table}\n\nHow the split depends on the start:\n\n{dep}\n\n"
             f"Selected outcomes beside the benchmarks:\n\n{bench}\n\n![basins]({figure})")
    return results, st, q, extra


def _verified_checks(name: str, results: list, exact: bool = True) -> list[Check]:
    """Every end reported as an equilibrium passes the grid verifier and, when the market's
    equilibria lie on its grid (``exact``), the exact verifier over all prices too."""
    eq = [e for r in results for e in r.equilibria()]
    bad = sum(1 for e in eq if e.grid_regret > 1e-9 or (exact and not e.verified))
    what = "ends failing the grid or exact verifier" if exact else "ends failing the grid verifier"
    return [Check("every reported equilibrium verified", name, what, 0,
                  bad, bad == 0 and len(eq) > 0, f"{len(eq)} ends; relative regret <= 1e-9",
                  "independent", "grid verifier (and exact verifier over every price)")]


def constant_value(run: Runner, figures: Path) -> tuple[Section, list]:
    results, st, q, extra = _section(run, CONSTANT, figures, "basins_constant_value.png")
    checks = _verified_checks(CONSTANT.name, results)
    traded = [e for r in results for e in r.equilibria() if e.trades]
    gap = max(abs(e.seller_price + e.intermediary_price - 1) for e in traded)
    checks.append(Check("Theorem 5.1", CONSTANT.name, "every trading end is a split p_s + p_I = 1", 0.0, gap,
                        gap <= 1e-12, "1e-12", "paper-formula", "Theorem 5.1"))
    lazy = results[RULES.index(BestResponse(0.5))]
    off_split = [e for e in lazy.equilibria()
                 if e.trades and abs(e.start_seller_price + e.start_intermediary_price - 1) > 1e-12]
    expected = sum(1 for e in off_split if (e.seller_price, e.intermediary_price) in
                   ((e.start_seller_price, 1 - e.start_seller_price),
                    (1 - e.start_intermediary_price, e.start_intermediary_price)))
    checks.append(Check("best response with inertia (derived)", CONSTANT.name,
                        "ends off the start split at (a, 1 - a) or (1 - b, b)", len(off_split), expected,
                        expected == len(off_split) > 0, "exact", "independent",
                        "derivation in the text: the side that did not move keeps its price"))
    checks.append(Check("logit QRE limit (symmetry)", CONSTANT.name, "seller's price at the branch's end", 0.5,
                        q["seller_price"], abs(q["seller_price"] - 0.5) <= 1e-6 and q["top_seller"] > 0.99, "1e-6",
                        "independent", "symmetry of the game"))
    checks.append(Check("Stackelberg (Remarks 3.2, 4.5)", CONSTANT.name, "first mover takes the whole value",
                        "(1, 0) and (0, 1)", f"{st['seller_first']}, {st['intermediary_first']}",
                        abs(st["seller_first"][0] - 1) < 1e-6 and abs(st["intermediary_first"][1] - 1) < 1e-6,
                        "1e-6", "paper-formula", "Remarks 3.2 and 4.5"))
    text = f"""
One bidder with the known value 1: every split p_s + p_I = 1 is an equilibrium (Theorem 5.1).
Each rule was run from {len(results[0].endings)} starting price pairs on a {CONSTANT.points}-price
grid, {run.rounds} rounds each. Simultaneous best responses from (a, b) alternate with
(1 - b, 1 - a) (period 2) unless the start is already a split; with inertia, the first round in
which one side moves alone ends play at (a, 1 - a) or (1 - b, b): the side that did not move
keeps its starting price, so the split is set by the start and by chance. The logit QRE branch
of the symmetric game stays symmetric and selects the equal split; either Stackelberg order gives
the whole value to the first mover.
"""
    return Section("Constant value: which split each rule selects", text, checks, extra), results


def f_market(run: Runner, figures: Path) -> tuple[Section, list]:
    results, st, q, extra = _section(run, F_MARKET, figures, "basins_F.png")
    checks = _verified_checks(F_MARKET.name, results)
    traded = [e for r in results for e in r.equilibria() if e.trades]
    bound = H ** (-EPS / (1 - EPS))
    total = max(abs(e.seller_price + e.intermediary_price - H) / H for e in traded)
    low = min(min(e.seller_price, e.intermediary_price) for e in traded)
    top = max(max(e.seller_revenue, e.intermediary_revenue) for e in traded)
    least = min(*st["seller_first"], *st["intermediary_first"])
    checks += [
        Check("Theorem 5.2", F_MARKET.name, "every trading end prices at p_s + p_I = H (rel. gap)", 0.0, total,
              total <= 1e-12, "1e-12 rel.", "paper-formula", "Theorem 5.2"),
        Check("Theorem 5.2", F_MARKET.name, "both prices >= eps H", EPS * H, low, low >= EPS * H * (1 - 1e-12),
              "1e-12 rel.", "bound", "Theorem 5.2", ">="),
        Check("Theorem 5.2", F_MARKET.name, "each selected revenue <= H^(-eps/(1-eps))", bound, top,
              top <= bound * (1 + 1e-12), "1e-12 rel.", "bound", "Theorem 5.2", "<="),
        Check("Theorem 5.2", F_MARKET.name, "best selected revenue / least Stackelberg revenue <= H^(...) / eps",
              bound / EPS, top / least, top / least <= bound / EPS * (1 + 1e-6), "1e-6 rel.", "bound",
              "Theorem 5.2", "<="),
        Check("logit QRE limit (symmetry)", F_MARKET.name, "modal seller price at the branch's end", H / 2,
              q["modal_seller_price"], q["modal_seller_price"] == H / 2,
              f"exact; mass {q['top_seller']:.3f} at lambda {q['lambda']:.0f}", "independent",
              "symmetry of the game under p -> H - p"),
    ]
    text = f"""
One bidder with F_eps,H, eps = {EPS:g}, H = {H:g} (survival x^(-1/(1-eps)) on [1, H), an atom at H). Every
equilibrium prices at p_s + p_I = H with both prices >= eps H, so each side earns at most
H^(-eps/(1-eps)) = {bound:.4g}, against eps = {EPS:g} and 1 - eps for the two movers of either
Stackelberg order (Theorem 5.2). Prices lie on a {F_MARKET.points}-price grid closed under p -> H - p:
0, geometric from 1 to H/2, and their reflections. Whatever the rule and the start, every equilibrium
reached is one of Theorem 5.2's: learning does not rescue the revenues. Payoffs at these equilibria
are about {bound:.2g} of the best payoff (selling at total 1), so rules whose step is relative to the
best payoff (Hedge, smoothed fictitious play) move slowly here; outcome-only learners see a sale at
total H with probability H^(-1/(1-eps)) = {H ** (-1 / (1 - EPS)):.2g} a round and cannot find these
equilibria within the budget.
"""
    return Section("F_eps,H (Theorem 5.2): every selected equilibrium is bad", text, checks, extra), results


def uniform_bidders(run: Runner, figures: Path) -> tuple[Section, list]:
    results, st, q, extra = _section(run, UNIFORM, figures, "basins_two_uniform.png")
    checks = _verified_checks(UNIFORM.name, results, exact=False)
    step = 2 / (UNIFORM.points - 1)
    solver = pure_equilibria(results[0].study.market.discretized()[0], 301)
    trading = [e for e in solver.equilibria if e.seller_revenue > 0]
    traded = [e for r in results for e in r.equilibria() if e.trades]
    far = max(max(abs(e.seller_price - 2 / 3), abs(e.intermediary_price - 2 / 3)) for e in traded)
    checks += [
        Check("by hand: S(t) = 1 - t/2 on [1, 2], p = (2 - q)/2", UNIFORM.name,
              "trading pure equilibria on a 301-price grid (solver)", "(2/3, 2/3) only",
              str(sorted({(round(e.seller_price, 6), round(e.intermediary_price, 6)) for e in trading})),
              all(abs(e.seller_price - 2 / 3) < 0.01 and abs(e.intermediary_price - 2 / 3) < 0.01 for e in trading),
              "grid step 1/150", "independent", "by hand: best response p = (2 - q)/2"),
        Check("by hand", UNIFORM.name, "every trading end within one grid step of (2/3, 2/3)", 0.0, far,
              far <= step * (1 + 1e-9), f"grid step {step:.4g}", "independent", "by hand: p_s = p_I = 2/3"),
        Check("by hand", UNIFORM.name, "QRE limit prices", 2 / 3, q["seller_price"],
              abs(q["seller_price"] - 2 / 3) <= 1e-3, "1e-3", "independent", "by hand: p_s = p_I = 2/3"),
    ]
    exact_ends = f"{sum(e.verified for e in traded)} of {len(traded)}"
    worst_regret = max(e.continuous_regret for e in traded)
    text = f"""
Two bidders with U[0,1] and U[0,2] values: P[max >= t] = 1 - t^2/2 on [0, 1] and 1 - t/2 on [1, 2].
Against q the best price solves 1 - (p + q)/2 - p/2 = 0, p = (2 - q)/2, so the only trading pure
equilibrium is p_s = p_I = 2/3, each earning 2/9 (the grid of 31 prices contains 2/3). Besides it,
both sides pricing at or above the top value 2 is a no-trade equilibrium. Here selection is about
whether play gets there (or to no trade), not which split: the equilibrium is unique. The grid
game has a few more pure equilibria one step from (2/3, 2/3) (discretization); play can stop
there: {exact_ends} trading ends are exact equilibria (the grid's 2/3), and the largest relative
regret of the others against any price is {worst_regret:.2g}.
"""
    return Section("Two non-identical uniform bidders", text, checks, extra), results


def grid_changes() -> Section:
    """The three single-item markets' pure equilibrium sets against the grid-only candidates: the
    constant value and F_eps,H on as many even prices as their learning grids hold, the two uniform
    bidders on the 301-price grid the uniform section solves."""
    cases = [changes.MarketCase(CONSTANT.name, PricingGame(CONSTANT.bidders), CONSTANT.points,
                                changes.constant_value()),
             changes.MarketCase(F_MARKET.name, PricingGame(F_MARKET.bidders), F_MARKET.points,
                                changes.f_eps_h(EPS, H)),
             changes.MarketCase(UNIFORM.name, PricingGame(UNIFORM.bidders), 301, changes.uniform_one_two())]
    return changes.grid_changes_section(cases)


def sensitivity(run: Runner) -> Section:
    """Learning rate, noise and inertia on the constant-value market."""
    variants = [Hedge(0.5), Hedge(2.0), Hedge(8.0), FictitiousPlay(0.003), FictitiousPlay(0.01),
                FictitiousPlay(0.03), BestResponse(0.2), BestResponse(0.5), BestResponse(0.8),
                DemandLearning(0.02, 0.5), DemandLearning(0.1, 0.5), DemandLearning(0.3, 0.5)]
    results = run.all_rules(CONSTANT, variants)
    rows = []
    for r in results:
        s = summary(r)
        shares = [e.seller_share for e in r.equilibria() if e.trades]
        rows.append((s["rule"], s["equilibrium"], s["cycle"], s["mixed"], s["none"],
                     f"{np.mean(shares):.3f}" if shares else "-", f"{np.std(shares):.3f}" if shares else "-"))
    text = """
The constant-value market, each rule with three settings of its learning rate (Hedge's eta),
noise (smoothed fictitious play's temperature, demand learning's exploration) or inertia.
Rates and temperatures are in units of the best payoff. The spread of the selected seller share
measures how much the split depends on the start and on chance.
"""
    extra = markdown_table(["rule", "equilibrium", "cycle", "mixed", "none", "mean share", "sd share"], rows)
    return Section("Sensitivity to the learning rate and to noise", text, [], extra)


def agents_agree(run: Runner) -> Section:
    """The Mesa market with learning agents posts the array dynamics' prices on the same seed."""
    checks = []
    for market, rule in ((CONSTANT, BestResponse(0.5)), (UNIFORM, Hedge(5.0)), (UNIFORM, DemandLearning(0.1, 0.5))):
        seq, rounds, start = np.random.SeedSequence(run.seed), 200, (1, market.points - 3)
        array = play_market(market, rule, rule, start, rounds, seq)
        model = learning_model(market, rule, rule, start, rounds, seq)
        for _ in range(rounds):
            model.step()
        df = model.datacollector.get_model_vars_dataframe()
        _, mg = market.discretized()
        same = int(np.sum((df["seller_price"].to_numpy(float) == mg.row_actions[array.rows])
                          & (df["intermediary_price"].to_numpy(float) == mg.col_actions[array.cols])
                          & (df["sale"].to_numpy(bool) == array.sold)))
        checks.append(Check("agent-based = array dynamics", f"{market.name}, {rule.label}",
                            "rounds with equal prices and sale", rounds, same, same == rounds, "exact",
                            "cross-evaluator", "the array dynamics, same seed"))
    checks.append(k_agents_agree(run.seed))
    text = """
The same learning rules played by Mesa agents: the seller and the intermediary are agents of the
simultaneous MarketModel, each learning from the model's public round outcome (both prices and
whether the item sold); buyers bid on replayed values. On the same SeedSequence they post the
array dynamics' prices in every round and the market sells in the same rounds. In the k-item
market the seller and both intermediaries are agents of a MarketModel under the PostedFees
protocol (price and fees posted at once, asks, random rationing by replayed priorities): they
post the array dynamics' prices and fees, and each block gets the same items, in every round.
"""
    return Section("Agent-based market against the array dynamics", text, checks)


def k_agents_agree(seed: int, rounds: int = 200) -> Check:
    """The k-item MarketModel with learning agents against the array dynamics, same seed."""
    market, rules, start = BINDING, (Hedge(5.0), RegretMatching(), BestResponse(0.5)), (3, 25, 10)
    seq = np.random.SeedSequence(seed)
    joint, units = play_k_market(market, rules, start, rounds, seq)
    model = k_learning_model(market, rules, start, rounds, seq)
    for _ in range(rounds):
        model.step()
    df = model.datacollector.get_model_vars_dataframe()
    acts = market.game().actions
    same = np.ones(rounds, bool)
    for i, column in enumerate(("seller_price", "first_fee", "second_fee")):
        same &= df[column].to_numpy(float) == acts[i][joint.actions[:, i]]
    same &= (df["first_items"].to_numpy() == units[:, 0]) & (df["second_items"].to_numpy() == units[:, 1])
    return Check("agent-based = array dynamics", f"{market.name}, Hedge / regret matching / best response",
                 "rounds with equal price, fees and items per block", rounds, int(same.sum()),
                 int(same.sum()) == rounds, "exact", "cross-evaluator", "the array dynamics, same seed")


def build(out: Path, executor: str = "process", workers: int | None = None, starts: int = 9,
          rounds: int = 1000) -> Report:
    """Write report.md, results.json, studies.json (summaries), endings.parquet and k_endings.parquet
    (one row per run) and the basin figures to ``out``; the studies run on ``executor`` (serial,
    process or dask) with ``workers`` workers (default: the CPUs available)."""
    report = Report("Equilibrium selection in the simultaneous game: learning, basins, QRE", SOURCE)
    begin = time.perf_counter()
    with make_executor(executor, workers) as pool, staging_dir(out) as stage:
        run = Runner(pool.executor, starts, rounds)
        tables, endings = {}, []
        for build_section in (constant_value, f_market, uniform_bidders):
            section, results = build_section(run, stage)
            report.sections.append(section)
            tables[section.title] = [summary(r) for r in results]
            endings += [r.table().assign(market=r.study.market.name, rule=r.study.seller_rule.label)
                        for r in results]
        report.sections.append(grid_changes())
        section, k_results = k_items(run, stage)
        report.sections.append(section)
        report.sections.append(sensitivity(run))
        report.sections.append(agents_agree(run))
        report.sections.append(stochastic_stability(stage))
        report.sections.append(k_item_stability())
        report.sections.append(seller_learning_stability(stage))
        report.sections.append(q_learning())
        report.sections.append(Section("How the studies ran", f"""
Every study ran through the experiments runner: one run of the `learning` (or `learning-k-items`)
market kind per start, on the {pool.name} executor with {pool.slots} worker(s), each run on its own child
of the study's SeedSequence (seed {run.seed}), so the endings do not depend on the executor or the
number of workers. {starts} starts per side ({min(starts, K_STARTS)} in the k-item studies), {rounds} rounds
per run; {time.perf_counter() - begin:.1f} s in all.
"""))
        report.write(stage)
        write_text(stage / "studies.json", dumps(tables))
        write_table(pd.concat(endings, ignore_index=True), stage / "endings.parquet")
        write_table(pd.concat([r.table().assign(market=r.study.market.name, rule=r.study.seller_rule.label)
                               for r in k_results], ignore_index=True), stage / "k_endings.parquet")
    return report


def reproduce_equilibrium_selection(out: Path, executor: str = "process", workers: int | None = None) -> Report:
    return build(Path(out), executor, workers)
