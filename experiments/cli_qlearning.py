"""``agora solve q-learning``: seller and intermediary as tabular Q-learners in the simultaneous game.

    agora solve q-learning --bidder SPEC [--bidder SPEC ...] [--grid N] [--sessions N] [--alpha A]
                           [--beta B] [--delta D] [--memory K] [--periods T] [--window W]
                           [--seed S] [--impulse step|lowest] [--deviator seller|intermediary]
                           [--json]

Prints the mean converged prices and profits, the profit gain Delta against the grid game's
Nash equilibrium and the integrated monopolist, the share of sessions that converged, with
``--impulse`` the mean price paths after a forced price cut, and how it was computed.
"""

from __future__ import annotations

import argparse

from agora.experiments.cli import SPEC_HELP, _nonnegative_int, _positive_int, _whole_number
from agora.experiments.limits import (
    COSTS,
    Q_PERIOD_OVERHEAD,
    Cost,
    add_limit_options,
    limits_of,
    q_impulse_cost,
    q_memory_cost,
    q_session_bytes,
    require_fits,
)
from agora.experiments.output import dumps, progress
from agora.experiments.tables import format_table


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got '{text}'") from None


def add_parsers(verbs: dict, sub) -> None:
    p = verbs["solve"].add_parser(
        "q-learning",
        help="seller and intermediary as Q-learning pricing agents: prices, profit gain, impulse responses",
        description="Tabular Q-learning (Calvano et al. 2020) by the seller and the intermediary on the "
                    "N-price grid of the simultaneous game, each remembering the last K pairs of prices, "
                    "exploring with probability exp(-beta t); many independent sessions at once. Reports "
                    "the mean converged prices and profits and the profit gain Delta = (profit - Nash) / "
                    "(joint monopoly - Nash) on total profits, with the integrated monopolist as the joint "
                    "optimum and the grid game's pure equilibrium of largest total profit as Nash.")
    p.add_argument("--bidder", action="append", required=True, metavar="SPEC", help=SPEC_HELP)
    p.add_argument("--grid", type=lambda t: _whole_number(t, 2), default=15, help="prices per side, >= 2 (default 15)")
    p.add_argument("--sessions", type=_positive_int, default=100, help="independent sessions (default 100)")
    p.add_argument("--alpha", type=_number, default=0.15, help="learning rate in (0, 1] (default 0.15)")
    p.add_argument("--beta", type=_number, default=4e-6, help="exploration decay > 0 (default 4e-6)")
    p.add_argument("--delta", type=_number, default=0.95, help="discount in [0, 1) (default 0.95)")
    p.add_argument("--memory", type=_positive_int, default=1, metavar="K",
                   help="periods of both prices remembered (default 1)")
    p.add_argument("--periods", type=_positive_int, default=10_000_000, metavar="T",
                   help="the most periods a session runs; it stops once converged (default 10000000)")
    p.add_argument("--window", type=_positive_int, metavar="W",
                   help="converged once no greedy strategy changed for W periods (default min(100000, T))")
    p.add_argument("--seed", type=_nonnegative_int, default=0, help="random seed (default 0)")
    p.add_argument("--impulse", choices=("step", "lowest"),
                   help="also the mean price paths after a one-period price cut: one grid step, or to the lowest")
    p.add_argument("--deviator", choices=("seller", "intermediary"), default="seller",
                   help="whose price is cut with --impulse (default seller)")
    p.add_argument("--impulse-periods", type=_positive_int, default=10, metavar="N",
                   help="periods after the cut (default 10)")
    p.add_argument("--json", action="store_true", help="print one JSON object and nothing else")
    add_limit_options(p)


def _check_sizes(args: argparse.Namespace) -> None:
    """The grid game, one session's Q-tables, all sessions, all periods and, with --impulse, the
    periods of the responses fit the limits."""
    limits = limits_of(args)
    require_fits("--grid", args.grid, COSTS["grid"], limits)
    require_fits("--memory", args.memory, q_memory_cost(args.grid), limits)
    require_fits("--sessions", args.sessions, Cost(q_session_bytes(args.grid, args.memory), 0.0), limits)
    require_fits("--periods", args.periods, COSTS["q_periods"], limits, scale=args.sessions + Q_PERIOD_OVERHEAD)
    if args.impulse is not None:
        require_fits("--impulse-periods", args.impulse_periods, q_impulse_cost(args.sessions, args.grid), limits)


def solve_q_learning(args: argparse.Namespace) -> int:
    from agora.market.learning.qlearning import check_parameters, pricing_sessions, session_seeds

    window = args.window or min(100_000, args.periods)
    check_parameters(args.alpha, args.beta, args.delta, args.memory, args.periods, window)
    _check_sizes(args)
    bar = progress(None, args.periods, "periods", unit="period")
    try:
        d = pricing_sessions(args.bidder, args.grid, session_seeds(args.seed, args.sessions), args.alpha,
                             args.beta, args.delta, args.memory, args.periods, window, args.impulse,
                             args.deviator, args.impulse_periods, tick=bar.update)
    finally:
        bar.close()
    d = {**d, "seed": args.seed}
    if args.json:
        print(dumps(d))
        return 0
    _print(d)
    return 0


def _print(d: dict) -> None:
    n = d["nash"]
    print(format_table(["", "seller price", "intermediary price", "seller profit", "intermediary profit"], [
        ("learned (mean)", d["seller_price"], d["intermediary_price"], d["seller_profit"],
         d["intermediary_profit"]),
        (f"Nash (1 of {n['grid_equilibria']} on the grid)", n["seller_price"], n["intermediary_price"],
         n["seller_profit"], n["intermediary_profit"])]))
    print(f"\nprofit gain Delta = {d['profit_gain']:.4g} (Nash total {d['nash_profit']:.6g}, joint monopoly "
          f"{d['monopoly_profit']:.6g}); converged: {d['converged']:.1%} of {d['sessions']} sessions")
    if "impulse" in d:
        im = d["impulse"]
        print(f"\nimpulse: the {im['deviator']}'s price cut {im['cut']} in period 1 "
              f"({im['sessions_cut']} of {d['sessions']} sessions not already at the lowest price)")
        print(format_table(["period", "seller price", "intermediary price", "seller (no cut)",
                            "intermediary (no cut)"],
                           list(zip(range(len(im["seller_price"])), im["seller_price"], im["intermediary_price"],
                                    im["uncut_seller_price"], im["uncut_intermediary_price"]))))
    print(f"\nmethod: {d['method']}")


HANDLERS = {("solve", "q-learning"): solve_q_learning}
