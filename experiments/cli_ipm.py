"""``agora solve ipm``: the intermediary-proof mechanism for k items (intermediary-proof-mechanisms).

    agora solve ipm --buyers N --items K --dist SPEC [--weights ETA1,...,ETAK]
                    [--intermediary surplus|monopolist] [--partition 0,1|2|3,4] [--json]
    agora solve k-auction --buyers N --items K --dist SPEC --partition P
                    --utility surplus|monopolist [--reserve R] [--json]
"""

from __future__ import annotations

import argparse
import math

from agora.experiments.cli import SPEC_HELP, _nonnegative_int, _positive_int, _price
from agora.experiments.limits import (
    COSTS,
    Cost,
    add_limit_options,
    k_auction_cost,
    k_auction_regret_cost,
    k_equilibrium_seconds,
    limits_of,
    require_fits,
)
from agora.experiments.output import dumps
from agora.experiments.tables import format_table
from agora.market.errors import InputError
from agora.market.names import UTILITY_MODELS as MODELS


def _weights(text: str) -> tuple[float, ...]:
    try:
        weights = tuple(float(x) for x in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected weights like '1,0.5,0.2', got '{text}'") from None
    if not all(math.isfinite(w) for w in weights):
        raise argparse.ArgumentTypeError(f"expected finite weights like '1,0.5,0.2', got '{text}'")
    return weights


def partition_of_buyers(text: str, buyers: int):
    """``--partition``: at most one block per buyer (checked before the text is read), every buyer once."""
    from agora.market.demand import parse_partition

    blocks, entries = text.count("|") + 1, text.count(",") + text.count("|") + 1
    if blocks > buyers or entries > buyers:
        raise InputError(f"--partition '{text:.40}' has {blocks} blocks and {entries} buyer entries for "
                         f"{buyers} buyers; accepted: each of buyers 0..{buyers - 1} in exactly one block")
    return parse_partition(text, buyers)


def add_parsers(verbs: dict, sub) -> None:
    p = verbs["solve"].add_parser(
        "ipm", help="k items sold through intermediaries: the intermediary-proof mechanism",
        description="The intermediary-proof posted price p_R = E[v(1, ceil(n/k))] with random rationing "
                    "(Definition 7), or with --weights the heterogeneous menu of Definition 9. Prints the "
                    "price(s), the seller's revenue on the given demand structure (default: every buyer on "
                    "its own), Wel(F), their ratio and the paper's guarantee (Theorem 1, Corollary 2 or "
                    "Theorem 2).")
    p.add_argument("--buyers", type=_positive_int, required=True, metavar="N", help="number of buyers n")
    p.add_argument("--items", type=_positive_int, required=True, metavar="K", help="number of items k")
    p.add_argument("--dist", required=True, metavar="SPEC", help=SPEC_HELP.replace(", one per bidder", ""))
    p.add_argument("--weights", type=_weights, metavar="ETA1,...,ETAK",
                   help="item weights eta_1 >= ... >= eta_k >= 0 (heterogeneous items)")
    p.add_argument("--intermediary", choices=MODELS, default="surplus",
                   help="what intermediaries maximize (default surplus)")
    p.add_argument("--partition", metavar="0,1|2|3,4",
                   help="which buyers each intermediary holds (default: one intermediary per buyer); "
                        "a value that starts with '-' is written --partition=VALUE")
    p.add_argument("--rounds", type=_positive_int, default=200_000,
                   help="Monte Carlo rounds for a heterogeneous menu (default 200000)")
    p.add_argument("--seed", type=_nonnegative_int, default=0, help="random seed (default 0)")
    p.add_argument("--json", action="store_true", help="print one JSON object and nothing else")
    add_limit_options(p)
    _add_k_auction(verbs)


def _add_k_auction(verbs: dict) -> None:
    p = verbs["solve"].add_parser(
        "k-auction", help="k items in the (k+1)-th-price auction: intermediaries' equilibrium bids",
        description="The (k+1)-th-price auction with a reserve (default phi^-1(0), Proposition 1) on one demand "
                    "structure. Single-buyer intermediaries bid their buyer's score (dominant); an intermediary "
                    "holding several buyers best-responds over full bid vectors: exactly against truthful rivals when "
                    "it is the only one; several bid on a grid knowing the cell of their buyers' quantiles, with exact "
                    "payoffs (iterated best responses, fictitious play if those cycle). "
                    "Prints the equilibrium bids' shape, the seller's revenue, welfare and the largest regret.")
    p.add_argument("--buyers", type=_positive_int, required=True, metavar="N", help="number of buyers n")
    p.add_argument("--items", type=_positive_int, required=True, metavar="K", help="number of items k")
    p.add_argument("--dist", required=True, metavar="SPEC", help=SPEC_HELP.replace(", one per bidder", ""))
    p.add_argument("--partition", required=True, metavar="0,1|2|3,4",
                   help="which buyers each intermediary holds")
    p.add_argument("--utility", choices=MODELS, required=True, help="what intermediaries maximize")
    p.add_argument("--reserve", type=_price, metavar="R", help="reserve price (default phi^-1(0))")
    p.add_argument("--rounds", type=_positive_int, default=200, help="Monte Carlo rounds (default 200)")
    p.add_argument("--regret-profiles", type=_nonnegative_int, default=5,
                   help="rounds whose best response is checked on the fine grid (default 5)")
    p.add_argument("--seed", type=_nonnegative_int, default=0, help="random seed (default 0)")
    p.add_argument("--json", action="store_true", help="print one JSON object and nothing else")
    add_limit_options(p)


def solve_k_auction(args) -> int:
    """The partition read (at most one entry per buyer), then the rounds held to the limits with the
    intermediary holding the most buyers."""
    from agora.market.k_items.k_auction import solve_k_auction as solve

    partition = partition_of_buyers(args.partition, args.buyers)
    block = max(len(b) for b in partition)
    limits = limits_of(args)
    several = [len(b) for b in partition if len(b) > 1]
    if len(several) > 1:  # the equilibrium's cost is fixed; each round only draws values and runs the auction
        per = k_auction_cost(args.buyers, args.items, 1)
        fixed = k_equilibrium_seconds(several, args.buyers - sum(several), args.items)
        require_fits("--rounds", args.rounds, Cost(per.bytes, per.seconds, fixed_seconds=fixed), limits)
    else:
        require_fits("--regret-profiles", args.regret_profiles, k_auction_regret_cost(args.items, block), limits)
        require_fits("--rounds", args.rounds, k_auction_cost(args.buyers, args.items, block), limits)
    sol = solve(args.buyers, args.items, args.dist, partition, args.utility,
                args.reserve, rounds=args.rounds, seed=args.seed, regret_profiles=args.regret_profiles)
    d = sol.to_dict()
    if args.json:
        print(dumps(d))
        return 0
    keys = ("reserve", "revenue", "revenue_stderr", "welfare", "welfare_stderr", "exact_revenue", "exact_welfare",
            "max_regret")
    print(format_table(["quantity", "value"], [(k, d[k]) for k in keys if d[k] is not None]))
    shapes = list(sol.bid_shapes.items()) or [("(every intermediary holds one buyer: truthful)", sol.rounds)]
    print(format_table(["bids of the intermediary holding several buyers (per unit)", "rounds"], shapes))
    print(f"\n{sol.buyers} buyers, {sol.items} items, {sol.distribution}, {sol.utility} intermediaries, "
          f"partition {sol.partition}\nmethod: {sol.method}")
    return 0


def solve_ipm(args) -> int:
    from agora.market.k_items.solver import solve_ipm as solve

    limits = limits_of(args)
    big, small = (("--buyers", args.buyers), args.items) if args.buyers >= args.items else \
        (("--items", args.items), args.buyers)
    require_fits(*big, COSTS["ipm"], limits, scale=small)
    if args.weights is not None:
        require_fits("--rounds", args.rounds, COSTS["rounds"], limits, scale=args.buyers)
    partition = partition_of_buyers(args.partition, args.buyers) if args.partition is not None else None
    if args.rounds < 2:
        raise InputError(f"--rounds must be >= 2, got {args.rounds}")
    sol = solve(args.buyers, args.items, args.dist, args.weights, args.intermediary, partition,
                rounds=args.rounds, seed=args.seed)
    d = sol.to_dict()
    if args.json:
        print(dumps(d))
        return 0
    keys = ("price", "prices", "revenue", "revenue_stderr", "welfare", "ratio", "guarantee",
            "guarantee_result", "guarantee_factor", "beats_guarantee", "guarantee_margin_se", "tau", "lam", "c_lambda",
            "realized_welfare", "items_sold")
    print(format_table(["quantity", "value"], [(k, d[k]) for k in keys if d[k] is not None]))
    print(f"\n{sol.buyers} buyers, {sol.items} items, {sol.distribution}, {sol.intermediary} intermediaries, "
          f"partition {sol.partition}\nmethod: {sol.method}")
    return 0


HANDLERS = {("solve", "ipm"): solve_ipm, ("solve", "k-auction"): solve_k_auction}
