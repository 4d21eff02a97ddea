"""What each ``agora`` subcommand does (the parser lives in :mod:`agora.experiments.cli`)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from agora.experiments.limits import COSTS, intermediary_first_cost, limits_of, require_fits
from agora.experiments.output import (
    check_out_dir,
    check_out_file,
    dumps,
    progress,
    table_format,
    write_table,
)
from agora.experiments.tables import cell, format_table
from agora.market.distributions import parse_spec
from agora.market.errors import InputError

COMPARED = ("seller_revenue", "intermediary_revenue", "welfare", "sale")


def _print_solution(sol) -> None:
    d = sol.to_dict()
    rows = [(k, d[k]) for k in ("seller_price", "seller_revenue", "intermediary_revenue",
                                "total_revenue", "no_intermediary_optimal_revenue",
                                "seller_share_of_opt", "sale_probability", "welfare")]
    print(format_table(["quantity", "value"], rows))
    print()
    bidders = [(i, spec, reg, r) for i, (spec, reg, r)
               in enumerate(zip(sol.bidders, sol.regularity, sol.reserves))]
    print(format_table(["bidder", "distribution", "regularity", "reserve phi^-1(p)"], bidders))
    print(f"\nmethod: {sol.method}; quadrature error bound {sol.quadrature_error:.1e}")


def solve_seller_first(args) -> int:
    for spec in args.bidder:  # bad input refused before the solver (and scipy) is loaded
        parse_spec(spec)
    from agora.market.single_item.seller_first import solve_seller_first as solve

    sol = solve(args.bidder)
    if args.json:
        print(dumps(sol.to_dict()))
    else:
        _print_solution(sol)
    return 0


def solve_intermediary_first(args) -> int:
    for spec in args.bidder:
        parse_spec(spec)
    require_fits("--bidder count", len(args.bidder), intermediary_first_cost(args.bidder), limits_of(args))
    from agora.market.single_item.intermediary_first import solve_intermediary_first as solve_if
    from agora.market.single_item.right_auctions import RIGHT_AUCTIONS

    sol = solve_if(args.bidder, args.classes or tuple(RIGHT_AUCTIONS))
    if args.json:
        print(dumps(sol.to_dict()))
        return 0
    d = sol.to_dict()
    rows = [(k, d[k]) for k in ("seller_price", "seller_revenue", "intermediary_revenue",
                                "no_intermediary_optimal_revenue", "sale_probability", "welfare")]
    print(f"intermediary's commitment: {cell(d['intermediary_commitment'])}")
    print(format_table(["quantity", "value"], rows))
    print()
    print(format_table(["class", "commitment", "seller price", "seller revenue", "intermediary revenue"],
                       [(c, v["commitment"], v["seller_price"], v["seller_revenue"],
                         v["intermediary_revenue"]) for c, v in d["by_class"].items() if "skipped" not in v]))
    for c, v in d["by_class"].items():
        if "skipped" in v:
            print(f"{c}: {v['skipped']}")
    print(f"\nmethod: {sol.method}; quadrature error bound {sol.quadrature_error:.1e}")
    return 0


def _print_posted_game(pure, points: int) -> None:
    print(f"posted-price game (the intermediary posts a price for the right): {len(pure.equilibria)} pure "
          f"equilibria with trade from a {points} x {points} grid "
          f"over [0, {pure.grid['high']:.6g}] (verified, tolerance {pure.tolerance:.1e}); "
          f"{pure.no_trade} without trade; {pure.rejected} grid points rejected by the verifier; "
          f"{pure.refined} clusters of near-best responses refined off the grid "
          f"({pure.unrefined} without a verified equilibrium)")
    if pure.continuum:
        print("continuum: " + pure.continuum["description"])


def _class_rows(equilibria) -> list:
    shown = equilibria if len(equilibria) <= 12 else \
        [equilibria[i] for i in np.linspace(0, len(equilibria) - 1, 12).astype(int)]
    return [(e.intermediary_class, f"{e.parameter_name} {e.parameter:.10g}", e.seller_price, e.seller_revenue,
             e.intermediary_revenue, e.largest_regret, e.found) for e in shown]


def _rejection(e) -> str:
    """One line: a rejected candidate and the intermediary's deviation (or the seller's) that beats it."""
    head = (f"rejected: {e.intermediary_class} {e.parameter_name} {e.parameter:.6g} against seller price "
            f"{e.seller_price:.6g}")
    best = max(e.deviations.values(), key=lambda d: d["revenue"])
    if e.intermediary_regret >= e.seller_regret:
        name = next(k for k in best if k not in ("class", "revenue"))
        return (f"{head}: {best['class']} {name} {best[name]:.6g} earns the intermediary {best['revenue']:.6g} "
                f"instead of {e.intermediary_revenue:.6g}")
    return f"{head}: the seller's best response earns {e.seller_revenue + e.seller_regret:.6g} " \
           f"instead of {e.seller_revenue:.6g}"


CLASS_COLUMNS = ["intermediary's class", "parameter", "seller price", "seller revenue", "intermediary revenue",
                 "largest regret", "found by"]


MIXED_COLUMNS = ["seller's prices (probability)", "intermediary's prices (probability)", "seller revenue",
                 "intermediary revenue", "grid regret", "regret (any price)", "largest regret",
                 "equilibrium of the continuous game"]


def _mixed_row(e: dict) -> list:
    def strategy(pairs):
        return ", ".join(f"{p:.6g} ({q:.3g})" for p, q in pairs)
    return [strategy(e["seller_strategy"]), strategy(e["intermediary_strategy"]), e["seller_revenue"],
            e["intermediary_revenue"], max(e["seller_regret"], e["intermediary_regret"]),
            max(e["seller_continuous_regret"], e["intermediary_continuous_regret"]), e["largest_regret"],
            "yes" if e["continuous"] else "no"]


def solve_simultaneous(args) -> int:
    require_fits("--grid", args.grid, COSTS["grid"], limits_of(args))
    if args.mixed:
        require_fits("--mixed", args.mixed, COSTS["mixed"], limits_of(args))
        if args.mixed < 2:
            raise InputError(f"--mixed needs at least 2 prices, got {args.mixed}")
    for spec in args.bidder:
        parse_spec(spec)
    from agora.market.single_item.right_auctions import RIGHT_AUCTIONS
    from agora.market.single_item.simultaneous import PricingGame, mixed_equilibria
    from agora.market.single_item.simultaneous_classes import solve_class_game

    classes = tuple(RIGHT_AUCTIONS) if not args.classes or "all" in args.classes else tuple(args.classes)
    game = PricingGame(args.bidder)
    solved = solve_class_game(game, classes, args.grid)
    result = solved.to_dict()
    if args.mixed:
        result["mixed"] = mixed_equilibria(game, args.mixed, found=solved.posted).to_dict()
    if args.json:
        print(dumps(result))
        return 0
    if solved.posted is not None:
        _print_posted_game(solved.posted, args.grid)
    for c, why in solved.skipped.items():
        print(f"{c}: {why}")
    rejected = ", ".join(f"{n} {c}" for c, n in solved.rejected_by_class().items())
    print(f"\nintermediary's classes {', '.join(solved.classes)}: {len(solved.equilibria)} pure equilibria "
          f"with trade (candidates rejected by the verifier: {rejected})")
    if solved.equilibria:
        print(format_table(CLASS_COLUMNS, _class_rows(solved.equilibria)))
    elif solved.best_approximate is not None:
        e = solved.best_approximate
        print(f"no pure equilibrium over these classes; the best approximate one (largest regret "
              f"{e.largest_regret:.3g} of the best deviation's payoff):")
        print(format_table(CLASS_COLUMNS, _class_rows([e])))
    for segment in solved.segments:
        print(f"continuum: {segment['description']}")
    for e in solved.rejected[:6]:
        print(_rejection(e))
    if len(solved.rejected) > 6:
        print(f"... and {len(solved.rejected) - 6} more rejected candidates (--json lists them all)")
    if args.mixed:
        m = result["mixed"]
        print(f"\nmixed (posted prices for the right): {len(m['equilibria'])} distinct equilibria of the "
              f"{m['grid']['points']} x {m['grid']['points']} game on a grid adapted to the market "
              f"({m['failed']} Lemke-Howson paths broke down or cycled, {m['rejected']} rejected by the verifier); "
              "regret against every price:")
        if m["equilibria"]:
            print(format_table(MIXED_COLUMNS, [_mixed_row(e) for e in m["equilibria"]]))
    return 0


def _run_abm(bidders, price, rounds, seed):
    from agora.models.market_model import MarketModel

    model = MarketModel(bidders, seller=price, rng=seed)
    for _ in progress(range(rounds), rounds, "rounds", unit="round"):
        model.step()
    per_round = model.datacollector.get_model_vars_dataframe()
    per_round.insert(0, "round", np.arange(len(per_round)))
    numeric = per_round[list(COMPARED)].astype(float)
    means = numeric.mean().to_dict()
    ses = (numeric.std(ddof=1) / math.sqrt(rounds)).to_dict() if rounds > 1 else \
        dict.fromkeys(COMPARED, math.nan)
    return means, ses, per_round, model.message_log()


def simulate_seller_first(args) -> int:
    require_fits("--rounds", args.rounds, COSTS["rounds" if args.evaluator == "mc" else "abm_rounds"],
                 limits_of(args), scale=len(args.bidder))
    for option, path in (("--out", args.out), ("--messages", args.messages)):
        if path and args.evaluator == "mc":
            raise InputError(f"{option} '{path}' records the rounds of the abm evaluator; --evaluator mc "
                             f"keeps only averages: drop {option} or use --evaluator abm")
        if path:
            table_format(path)
            check_out_file(path, option)
    bidders = [parse_spec(b) for b in args.bidder]
    from agora.market.single_item.montecarlo import simulate_seller_first as monte_carlo
    from agora.market.single_item.seller_first import best_seller_price, evaluate_posted_price
    from agora.market.single_item.seller_mechanisms import Menu
    from agora.market.single_item.virtual_law import VirtualMaxLaw

    law = VirtualMaxLaw(tuple(bidders))
    price = args.price if args.price is not None else best_seller_price(law).price
    exact = evaluate_posted_price(law, price)
    exact_values = {"seller_revenue": exact.seller_revenue,
                    "intermediary_revenue": exact.intermediary_revenue,
                    "welfare": exact.welfare, "sale": exact.sale_probability}
    if args.evaluator == "mc":
        est = monte_carlo(bidders, Menu.posted(price), args.rounds, np.random.default_rng(args.seed))
        means, ses, per_round, log = est.mean, est.stderr, None, None
    else:
        means, ses, per_round, log = _run_abm(bidders, price, args.rounds, args.seed)
        if args.out:
            write_table(per_round, args.out)
        if args.messages:
            write_table(log, args.messages)
    result = {
        "evaluator": args.evaluator, "rounds": args.rounds, "seed": args.seed,
        "seller_price": price, "bidders": [b.spec for b in bidders],
        "simulated": means, "standard_error": ses, "exact": exact_values,
    }
    if args.json:
        print(dumps(result))
        return 0
    rows = [(q, exact_values[q], means[q], ses[q],
             (means[q] - exact_values[q]) / ses[q] if ses[q] > 0 else 0.0) for q in COMPARED]
    print(f"{args.evaluator} over {args.rounds} rounds (seed {args.seed}), seller price {price:.6g}")
    print(format_table(["quantity", "exact", "simulated", "std. error", "z"], rows))
    for what, path in (("per-round table", args.out), ("message log", args.messages)):
        if path and args.evaluator == "abm":
            print(f"{what}: {path}")
    return 0


def plot_seller_first(args) -> int:
    if Path(args.out).suffix.lower() != ".png":
        raise InputError(f"--out '{args.out}' must name a .png file")
    check_out_file(args.out)
    require_fits("--points", args.points, COSTS["points"], limits_of(args), scale=len(args.bidder))
    for spec in args.bidder:
        parse_spec(spec)
    from agora.experiments.plots import plot_revenue_vs_price
    from agora.market.single_item.virtual_law import VirtualMaxLaw

    law = VirtualMaxLaw.of(args.bidder)
    path = plot_revenue_vs_price(law.bidders, args.out, points=args.points)
    print(f"figure: {path}")
    return 0


def reproduce(args) -> int:
    from agora.experiments.reproduce import SCALABLE, load

    scale = {k: v for k, v in (("executor", args.executor), ("workers", args.workers)) if v is not None}
    if scale and args.name not in SCALABLE:
        raise InputError(f"--executor and --workers apply to {', '.join(SCALABLE)}; "
                         f"{args.name} runs in this process")
    out = check_out_dir(args.out or f"results/{args.name}")
    report = load(args.name)(out, **scale)
    print(report.summary())
    print(f"\nreport: {out / 'report.md'}")
    return 0 if report.all_hold else 1
