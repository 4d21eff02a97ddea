"""``agora solve stochastic-stability``: which splits adaptive play with rare mistakes selects.

    agora solve stochastic-stability --bidder SPEC [--bidder SPEC ...] [--grid N] [--sample S]
                                     [--sample-intermediary S2] [--memory M] [--json]
                                     [--max-memory BYTES] [--max-seconds S]

Prints the stochastically stable conventions of the discretized simultaneous game
(``stable``: seller_price and intermediary_price), every convention's resistance to the
others, the potentials, and how they were computed.
"""

from __future__ import annotations

import argparse

from agora.experiments.cli import SPEC_HELP, _positive_int
from agora.experiments.limits import (
    COSTS,
    add_limit_options,
    conventions_cost,
    history_cost,
    limits_of,
    require_fits,
    tip_cost,
)
from agora.experiments.output import dumps
from agora.experiments.tables import format_table


def add_parsers(verbs: dict, sub) -> None:
    p = verbs["solve"].add_parser(
        "stochastic-stability",
        help="the splits adaptive play with rare mistakes selects (Young 1993; Theorem 5.1 continua)",
        description="Young's adaptive play between seller and intermediary on the N-price grid of "
                    "the simultaneous game: each samples S (S2) of the other's last M prices and "
                    "best-responds, erring with a small probability. The stochastically stable "
                    "conventions have the least stochastic potential (minimum-resistance trees). "
                    "With --memory M and a small grid the exact chain over histories is used; "
                    "otherwise the conventions, by Young's tip reduction (M >= 2 S assumed).")
    p.add_argument("--bidder", action="append", required=True, metavar="SPEC", help=SPEC_HELP)
    p.add_argument("--grid", type=_positive_int, default=11, help="prices per side (default 11)")
    p.add_argument("--sample", type=_positive_int, default=30,
                   help="the seller's sample size (default 30)")
    p.add_argument("--sample-intermediary", type=_positive_int, metavar="S2",
                   help="the intermediary's sample size (default: --sample)")
    p.add_argument("--memory", type=_positive_int, metavar="M",
                   help="plays remembered (default: any M >= 2 x the larger sample)")
    p.add_argument("--json", action="store_true", help="print one JSON object and nothing else")
    add_limit_options(p)


def solve_stochastic_stability(args: argparse.Namespace) -> int:
    """Sizes held to the limits before work: the grid game, then the exact chain or the tips of
    one convention, then (once the game is built) the tip reduction on its conventions."""
    from agora.market.learning.pricing_stability import exact_chain, pricing_stability

    limits = limits_of(args)
    samples = (args.sample, args.sample_intermediary or args.sample)
    require_fits("--grid", args.grid, COSTS["stability_grid"], limits)
    if exact_chain(args.grid, args.memory):
        require_fits("--grid", args.grid, history_cost(args.memory), limits)
    else:
        require_fits("--sample", max(samples), tip_cost(args.grid), limits)

    def fits(conventions: int) -> None:
        require_fits(f"conventions (strict equilibria) on --grid {args.grid}", conventions,
                     conventions_cost(args.grid, max(samples)), limits)

    d = pricing_stability(args.bidder, args.grid, samples, args.memory, fits=fits)
    if args.json:
        print(dumps(d))
        return 0
    print("stochastically stable: " + ", ".join(
        f"(p_s, p_I) = ({s['seller_price']:.6g}, {s['intermediary_price']:.6g})" if "seller_price" in s
        else f"a class of {s['states']} histories" for s in d["stable"]))
    rows = [(c.get("seller_price"), c.get("intermediary_price"), min(x for x in r if x > 0) if len(r) > 1
             else None, c["potential"]) for c, r in zip(d["conventions"], d["resistances"])]
    print(format_table(["seller price", "intermediary price", "cheapest exit", "potential"], rows))
    print(f"\nmethod: {d['method']}")
    return 0


HANDLERS = {("solve", "stochastic-stability"): solve_stochastic_stability}
