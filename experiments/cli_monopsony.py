"""``agora solve monopsony``: the revenue-optimal mechanism for one intermediary holding every buyer
(intermediary-proof-mechanisms, Section 3.2), a linear program on a quantile grid.

    agora solve monopsony --buyers N --items K --dist SPEC --grid G [--points mid|lower|upper] [--json]
"""

from __future__ import annotations

from math import comb

from agora.experiments.cli import SPEC_HELP, _positive_int
from agora.experiments.limits import add_limit_options, limits_of, require_fits
from agora.experiments.output import dumps
from agora.experiments.tables import format_table
from agora.market.errors import InputError

POINTS = ("mid", "lower", "upper")


class LPCost:
    """The LP of ``--grid G``: T = C(G + k - 1, k) types; time T^3 (measured on 2 cores under load:
    126 types in 2.6 s, 252 in 16.5 s, about T^2.7), memory the T x T utility and gain tables and up
    to T^2 IC rows of 2k + 2 entries (the interface of :class:`agora.experiments.limits.Cost`)."""

    def __init__(self, items: int):
        self.items = items

    def estimate(self, grid: int) -> tuple[float, float]:
        # past 1000 of both, C(G + k - 1, k) >= C(2000, 1000) > 10^100 (and exact comb would not finish)
        small = min(self.items, grid - 1) <= 1000
        types = float(min(comb(grid + self.items - 1, self.items), 10 ** 100) if small else 10 ** 100)
        return (32.0 + 16.0 * (2 * self.items + 2)) * types ** 2, 1.05e-6 * types ** 3


def add_parsers(verbs: dict, sub) -> None:
    p = verbs["solve"].add_parser(
        "monopsony", help="k items sold to one intermediary holding all n buyers: the optimal mechanism",
        description="The revenue-optimal mechanism for a surplus-maximizing intermediary holding every buyer: a "
                    "linear program (HiGHS) over a lottery on the number of items and a payment per type (the "
                    "sorted top-k values on an equal-probability quantile grid), IC between every pair of types "
                    "and IR. Prints the optimum beside the best bundle, the best item price and the welfare on "
                    "the grid, and the largest IC gain of the solution.")
    p.add_argument("--buyers", type=_positive_int, required=True, metavar="N", help="number of buyers n")
    p.add_argument("--items", type=_positive_int, required=True, metavar="K", help="number of items k <= n")
    p.add_argument("--dist", required=True, metavar="SPEC", help=SPEC_HELP.replace(", one per bidder", ""))
    p.add_argument("--grid", type=_positive_int, required=True, metavar="G", help="quantile points per buyer")
    p.add_argument("--points", choices=POINTS, default="mid",
                   help="F^-1((i + 1/2)/G) (mid, default), F^-1(i/G) (lower: a law below F) or "
                        "F^-1((i + 1)/G) (upper: a law above F, bounded support)")
    p.add_argument("--json", action="store_true", help="print one JSON object and nothing else")
    add_limit_options(p)


def solve_monopsony(args) -> int:
    from agora.market.distributions import parse_spec
    from agora.market.k_items import monopsony_lp as lp

    if args.items > args.buyers:
        raise InputError(f"--items {args.items} must be at most --buyers {args.buyers} (unit-demand buyers: "
                         "no more items are worth selling than there are buyers)")
    dist = parse_spec(args.dist)
    require_fits("--grid", args.grid, LPCost(args.items), limits_of(args))
    types = lp.monopsony_types(lp.quantile_grid(dist, args.grid, args.points), args.buyers, args.items)
    opt = lp.optimal_mechanism(types)
    d = {"buyers": args.buyers, "items": args.items, "distribution": args.dist, "grid": args.grid,
         "points": args.points, "types": types.size, "revenue": opt.revenue,
         "bundle_revenue": lp.best_bundle(types).revenue, "item_price_revenue": lp.best_item_price(types).revenue,
         "welfare": float(types.probs @ types.values[:, -1]), "max_ic_gain": opt.violation.gain,
         "ic_pairs": opt.pairs, "method": "linear program (HiGHS), IC pairs added where violated, "
                                          "then checked on every pair"}
    if args.json:
        print(dumps(d))
        return 0
    keys = ("types", "revenue", "bundle_revenue", "item_price_revenue", "welfare", "max_ic_gain", "ic_pairs")
    print(format_table(["quantity", "value"], [(k, d[k]) for k in keys]))
    print(f"\n{args.buyers} buyers, {args.items} items, {args.dist}, {args.grid} {args.points} quantile points\n"
          f"method: {d['method']}")
    return 0


HANDLERS = {("solve", "monopsony"): solve_monopsony}
