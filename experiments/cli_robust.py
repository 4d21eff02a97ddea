"""``agora solve robust``: a seller who knows only the range (and a mean bound) of values.

    agora solve robust --bidders I --mean MU [--upper VBAR] [--grid N] [--design-grid N] [--json]
    agora solve robust --costs C1,...,CJ [--upper VBAR | VBAR1,...,VBARJ] [--design-grid N] [--json]

The first form is Chapter 1 (I bidders, revenue); the second Chapter 2 (one
buyer of J items with costs c_j, minimax regret).
"""

from __future__ import annotations

import argparse
import math

from agora.experiments.cli import _positive_int, _whole_number
from agora.experiments.limits import (
    Cost,
    add_limit_options,
    human_bytes,
    largest,
    limits_of,
    require_fits,
    robust_cost,
)
from agora.experiments.output import dumps
from agora.experiments.tables import format_table
from agora.market.errors import InputError


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


def _uppers(text: str) -> tuple[float, ...]:
    """VBAR or VBAR1,...,VBARJ: finite numbers > 0."""
    return tuple(_upper(x) for x in text.split(","))


def _costs(text: str) -> tuple[float, ...]:
    """C1,...,CJ: the seller's cost of each item, finite numbers >= 0."""
    costs = tuple(_number(x, "a cost") for x in text.split(","))
    bad = [c for c in costs if c < 0]
    if bad:
        raise argparse.ArgumentTypeError(f"a cost must be a finite number >= 0, got {bad[0]:g} in '{text}'")
    return costs


def _design_points(text: str) -> int:
    """--design-grid N: a grid of N >= 2 values per bidder or item."""
    return _whole_number(text, 2)


def _require_design_fits(args) -> None:
    """--design-grid within the library's LP size and within --max-memory and --max-seconds (estimated from
    that size), before work."""
    from agora.market.robust import design

    def bounded(size: int) -> float:  # n^I grows past a float's range for many bidders
        return size if size < 1e300 else math.inf

    if args.costs is None:
        bidders = args.bidders
        design.require_revenue_design_size(args.design_grid, bidders)
        cost = Cost(design.DESIGN_BYTES_PER_VARIABLE, design.DESIGN_SECONDS_PER_VARIABLE,
                    lambda n: bounded(design.revenue_design_variables(n, bidders)))
    else:
        items = len(args.costs)
        design.require_pricing_design_size(args.design_grid, items)
        cost = Cost(design.DESIGN_BYTES_PER_CONSTRAINT, design.DESIGN_SECONDS_PER_CONSTRAINT,
                    lambda n: bounded(design.pricing_design_constraints(n, items)))
    limits = limits_of(args)
    if largest(cost, limits) < 2:
        who = f"{args.bidders} bidders" if args.costs is None else f"{len(args.costs)} items"
        raise InputError(f"--design-grid = {args.design_grid}: not even the smallest grid (2 points) fits "
                         f"--max-memory {human_bytes(limits.memory)} and --max-seconds {limits.seconds:g} "
                         f"with {who}; accepted: fewer {who.split()[1]} or no --design-grid")
    require_fits("--design-grid", args.design_grid, cost, limits)


def add_parsers(verbs: dict, sub) -> None:
    p = verbs["solve"].add_parser(
        "robust", help="best mechanisms when only the range and a mean bound of values are known",
        description="Against every joint distribution of I bidders' values on [0, VBAR]^I whose "
                    "means are >= MU (correlations allowed): the best second-price auction's "
                    "reserve and worst-case revenue (Theorem 1.5.2), the optimal highest-bidder "
                    "lottery's sigma and worst-case revenue (Theorem 1.5.3), and the bound "
                    "min(MU, r(2 - r)) VBAR on any mechanism (Lemma 1.7.15). With --costs instead "
                    "of --bidders and --mean: one buyer of J items with values in [0, VBAR_j], "
                    "the random posted price per item and its worst-case regret "
                    "(1/e) sum (VBAR_j - C_j)^+ (Theorem 2.3.1; an item with C_j >= VBAR_j is "
                    "never sold, Remark 2.3.1).")
    p.add_argument("--bidders", type=_positive_int, metavar="I", help="bidders (>= 2)")
    p.add_argument("--mean", type=_number, metavar="MU",
                   help="lower bound on every bidder's mean value, 0 < MU < VBAR")
    p.add_argument("--costs", type=_costs, metavar="C1,...,CJ",
                   help="one buyer of J items: the seller's cost of each (finite, >= 0)")
    p.add_argument("--upper", type=_uppers, default=(1.0,), metavar="VBAR",
                   help="upper end of the value range (default 1); with --costs, one for every item "
                        "or one per item, VBAR1,...,VBARJ")
    p.add_argument("--grid", type=_positive_int, metavar="N",
                   help="also solve the worst-case LPs (1.7)/(1.8) on an N-point grid")
    p.add_argument("--design-grid", type=_design_points, metavar="N",
                   help="also solve the mechanism-design LP (1.11) on an N-point grid, over all mechanisms, "
                        "highest-bidder lotteries and efficient mechanisms (upper bounds on their best "
                        "worst-case revenues); "
                        "with --costs, the LP (2.6) on N points per item (a lower bound on the regret)")
    p.add_argument("--json", action="store_true", help="print one JSON object and nothing else")
    add_limit_options(p)


def _check_form(args) -> None:
    """Either --bidders and --mean (Chapter 1) or --costs (Chapter 2), before any work."""
    if args.costs is not None:
        given = [o for o, v in (("--bidders", args.bidders), ("--mean", args.mean), ("--grid", args.grid))
                 if v is not None]
        if given:
            raise InputError(f"--costs (one buyer of several items) does not take {', '.join(given)}")
        if len(args.upper) not in (1, len(args.costs)):
            raise InputError(f"--costs lists {len(args.costs)} items but --upper lists {len(args.upper)} "
                             f"upper bounds; accepted: one upper bound or {len(args.costs)}")
        return
    missing = [o for o, v in (("--bidders", args.bidders), ("--mean", args.mean)) if v is None]
    if missing:
        raise InputError(f"missing {' and '.join(missing)}; accepted: --bidders I --mean MU, "
                         "or --costs C1,...,CJ for one buyer of several items")
    if len(args.upper) != 1:
        raise InputError(f"--upper takes one value for bidders, got {len(args.upper)}; "
                         "several are for --costs")


def solve_pricing(args) -> int:
    from agora.market.robust.solver import solve_pricing as solve

    sol = solve(args.upper, args.costs, design_grid=args.design_grid)
    d = sol.to_dict()
    if args.json:
        print(dumps(d))
        return 0
    columns = ["item", "upper", "cost", "on_sale", "lowest_price", "regret", "source"]
    print(format_table(columns, [[row[k] for k in columns] for row in d["items"]]))
    print()
    print(format_table(["quantity", "value"], [("worst_case_regret", d["worst_case_regret"])]))
    if sol.design_lp is not None:
        print()
        print(format_table(["design LP (2.6)", "value"],
                           [(k, v) for k, v in sol.design_lp.items() if k not in ("method", "source")]))
        print(f"design LP: {sol.design_lp['source']}")
    print(f"\nmethod: {d['method']}")
    return 0


def solve_robust(args) -> int:
    from agora.market.robust.solver import solve_robust as solve

    _check_form(args)
    if args.design_grid is not None:
        _require_design_fits(args)
    if args.costs is not None:
        return solve_pricing(args)
    if args.grid is not None:
        require_fits("--grid", args.grid, robust_cost(args.bidders), limits_of(args))
    sol = solve(args.bidders, args.mean, args.upper[0], grid=args.grid, design_grid=args.design_grid)
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
