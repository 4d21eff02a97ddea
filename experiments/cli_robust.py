"""``agora solve robust``: a seller who knows only the range and a mean bound of values."""

from __future__ import annotations

import argparse
import math

from agora.experiments.cli import _positive_int
from agora.experiments.limits import add_limit_options, limits_of, require_fits, robust_cost
from agora.experiments.output import dumps
from agora.experiments.tables import format_table


def _number(text: str, what: str = "the mean bound") -> float:
    """A finite number (the mean bound MU)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got '{text}'") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{what} must be a finite number, got {text}")
    return value


def _upper(text: str) -> float:
    """The upper end VBAR of the value range: a finite number > 0."""
    value = _number(text, "the upper bound of values")
    if value <= 0:
        raise argparse.ArgumentTypeError(f"the upper bound of values must be a finite number > 0, got {text}")
    return value


def add_parsers(verbs: dict, sub) -> None:
    p = verbs["solve"].add_parser(
        "robust", help="best mechanisms when only the range and a mean bound of values are known",
        description="Against every joint distribution of I bidders' values on [0, VBAR]^I whose "
                    "means are >= MU (correlations allowed): the best second-price auction's "
                    "reserve and worst-case revenue (Theorem 1.5.2), the optimal highest-bidder "
                    "lottery's sigma and worst-case revenue (Theorem 1.5.3), and the bound "
                    "min(MU, r(2 - r)) VBAR on any mechanism (Lemma 1.7.15).")
    p.add_argument("--bidders", type=_positive_int, required=True, metavar="I", help="bidders (>= 2)")
    p.add_argument("--mean", type=_number, required=True, metavar="MU",
                   help="lower bound on every bidder's mean value, 0 < MU < VBAR")
    p.add_argument("--upper", type=_upper, default=1.0, metavar="VBAR",
                   help="upper end of the value range (default 1)")
    p.add_argument("--grid", type=_positive_int, metavar="N",
                   help="also solve the worst-case LPs (1.7)/(1.8) on an N-point grid")
    p.add_argument("--design-grid", type=_positive_int, metavar="N",
                   help="also solve the mechanism-design LP (1.11) on an N-point grid, over all mechanisms "
                        "and over highest-bidder lotteries (an upper bound on the best worst-case revenue)")
    p.add_argument("--json", action="store_true", help="print one JSON object and nothing else")
    add_limit_options(p)


def solve_robust(args) -> int:
    from agora.market.robust.solver import solve_robust as solve

    if args.grid is not None:
        require_fits("--grid", args.grid, robust_cost(args.bidders), limits_of(args))
    sol = solve(args.bidders, args.mean, args.upper, grid=args.grid, design_grid=args.design_grid)
    d = sol.to_dict()
    if args.json:
        print(dumps(d))
        return 0
    keys = ["spa_reserve", "spa_revenue", "spa_reserve_region", "mean_region", "hbl_sigma",
            "hbl_threshold", "hbl_revenue", "upper_bound", "spa_share_of_hbl"]
    print(format_table(["quantity", "value"], [(k, d[k]) for k in keys]))
    if sol.lp is not None:
        print()
        print(format_table(["LP on grid", "value"], [(k, v) for k, v in sol.lp.items() if k != "method"]))
    if sol.design_lp is not None:
        print()
        print(format_table(["design LP (1.11)", "value"],
                           [(k, v) for k, v in sol.design_lp.items() if k != "method"]))
    print(f"\nmethod: {sol.method}")
    return 0


HANDLERS = {("solve", "robust"): solve_robust}
