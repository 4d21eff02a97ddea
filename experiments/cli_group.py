"""``agora solve group``: the seller-optimal mechanism for a group with veto power.

    agora solve group --member SPEC [--member SPEC ...] [--cost C] [--transfers pooled|individual]
                      [--export DIR [--points N] [--profile-points K]] [--json]

Prints the voting weights (input order), the optimal profit (with the bound on its
error; a profit within that bound of 0 is printed as 0) and trade probability, the
best unanimous posted price and its profit, and which trivial case of Proposition 1
applies (``never``, ``always`` or null). ``--transfers individual`` solves Section
6.4's model instead, where each member pays its own transfer, and prints it beside
the pooled optimum (each profit with its error) with each member's influence under both. ``--export DIR`` writes the
optimal mechanism's interim rules (each member's types, X_i, M_i, phi_i and weight) to
DIR/interim.csv, .json and .parquet, its ex-post rules (x, the Lemma 1 transfer m, each member's
utility and the seller's profit on a grid of K types per member) to DIR/expost.csv, .json and
.parquet, and the solution to DIR/solution.json. K defaults to the most types per member (up to 21)
whose profiles number at most 100,000; a group too large for two types each gets no ex-post table
unless --profile-points is given (the solution says so).
"""

from __future__ import annotations

import argparse

from agora.experiments.cli import _whole_number
from agora.experiments.limits import (
    COSTS,
    add_limit_options,
    group_cost,
    group_profiles_cost,
    limits_of,
    require_fits,
)
from agora.experiments.output import dumps
from agora.experiments.tables import format_table
from agora.market.errors import InputError
from agora.market.group.specs import GROUP_SPEC_HELP, PROFILE_POINTS, PROFILE_ROWS, TABLE_POINTS, TRANSFERS

FORMATS = (".csv", ".json", ".parquet")


def _cost(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected the seller's cost (a number >= 0), got '{text}'") from None
    if not 0.0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"the seller's cost must be a finite number >= 0, got {text}")
    return value


def _table_points(text: str) -> int:
    return _whole_number(text, 3)


def _profile_points(text: str) -> int:
    return _whole_number(text, 2)


def default_profile_points(members: int) -> int | None:
    """Most types per member (<= PROFILE_POINTS) with at most PROFILE_ROWS profiles; None below two."""
    k = min(PROFILE_POINTS, int(PROFILE_ROWS ** (1.0 / members) + 1e-9))
    return k if k >= 2 else None


def add_parsers(verbs: dict, sub) -> None:
    p = verbs["solve"].add_parser(
        "group", help="sell to a group with veto power: optimal voting weights (selling-to-a-group)",
        description="The seller-optimal collective mechanism (Theorem 1): trade iff the weighted sum of "
                    "members' virtual values is at least the cost, with weights minimizing "
                    "E[(omega . phi - c)+] over the simplex; also the best unanimous posted price "
                    "(Proposition 2). With --transfers individual, Section 6.4's optimum when each member "
                    "pays its own transfer (trade iff sum_i phi_i >= c).")
    p.add_argument("--member", action="append", required=True, metavar="SPEC", help=GROUP_SPEC_HELP)
    p.add_argument("--cost", type=_cost, default=0.0, help="the seller's cost c >= 0 (default 0)")
    p.add_argument("--transfers", choices=TRANSFERS, default="pooled",
                   help="pooled: one collective transfer (the paper's model, default); individual: each "
                        "member pays its own transfer (Section 6.4)")
    p.add_argument("--export", metavar="DIR",
                   help="write the optimal mechanism's interim rules to DIR/interim.csv, .json and .parquet "
                        "(one row per member and type: type, cdf, virtual value, weight, interim probability "
                        "of purchase, interim transfer, interim utility), its ex-post rules to DIR/expost.* (one "
                        "row per type profile: types, trade, transfer, each member's utility, seller's profit) "
                        "and the solution to DIR/solution.json")
    p.add_argument("--points", type=_table_points, metavar="N",
                   help=f"types per member in the --export tables (default {TABLE_POINTS}; half evenly "
                        "spaced, half at evenly spaced quantiles)")
    p.add_argument("--profile-points", type=_profile_points, metavar="K",
                   help="types per member in the --export ex-post table DIR/expost.* (K^N profiles, evenly "
                        f"spaced types; default: the most, up to {PROFILE_POINTS}, with at most "
                        f"{PROFILE_ROWS:,} profiles)")
    p.add_argument("--json", action="store_true", help="print one JSON object and nothing else")
    add_limit_options(p)


def _check_export(args: argparse.Namespace):
    """The --export folder and table size, checked before any work: the folder, or None."""
    from agora.experiments.output import check_out_dir

    if args.export is None:
        for flag, value in (("--points", args.points), ("--profile-points", args.profile_points)):
            if value is not None:
                raise InputError(f"{flag} {value} sets the size of the --export tables; give --export DIR")
        return None
    if args.transfers != "pooled":
        raise InputError("--export writes the pooled mechanism (Theorem 1); accepted with --transfers pooled")
    require_fits("--points", args.points or TABLE_POINTS, COSTS["group_table"], limits_of(args),
                 scale=len(args.member))
    profiles = profile_points(args)
    if profiles is not None:
        require_fits("--profile-points", profiles, group_profiles_cost(len(args.member)), limits_of(args))
    return check_out_dir(args.export, "--export")


def profile_points(args: argparse.Namespace) -> int | None:
    """Types per member of the ex-post table: --profile-points, else the default (None: no table)."""
    return args.profile_points or default_profile_points(len(args.member))


def _export(sol, folder, points: int, profiles: int | None) -> list[str]:
    """Write the optimal mechanism's interim and ex-post tables (CSV, JSON, Parquet) and the solution at once."""
    import pandas as pd

    from agora.experiments.output import staging_dir, write_table, write_text
    from agora.market.group.solver import optimal_mechanism

    mech = optimal_mechanism(sol, table_points=points)
    tables = {"interim": pd.DataFrame(mech.interim_table())}
    if profiles is not None:
        tables["expost"] = pd.DataFrame(mech.ex_post_table(profiles))
    names = [name + ext for name in tables for ext in FORMATS]
    extra = {"table_points": points, "profile_points": profiles}
    if profiles is None:
        extra["ex_post_table"] = (f"not written: 2^{len(sol.members)} profiles exceed {PROFILE_ROWS:,}; "
                                  "give --profile-points to write one")
    with staging_dir(folder) as stage:
        for name, table in tables.items():
            for ext in FORMATS:
                write_table(table, stage / (name + ext))
        write_text(stage / "solution.json", dumps({**sol.to_dict(), **extra}) + "\n")
    return [str(folder / name) for name in (*names, "solution.json")]


def _individual(args: argparse.Namespace) -> int:
    from agora.market.group.individual import solve_individual

    sol = solve_individual(args.member, args.cost)
    d = sol.to_dict()
    if args.json:
        print(dumps(d))
        return 0
    rows = [(k, d[k]) for k in ("profit", "profit_error", "trade_probability", "pooled_profit",
                                "pooled_profit_error", "pooled_trade_probability", "gain_over_pooled",
                                "influence_reversed")]
    print(format_table(["quantity", "value"], rows))
    print()
    print(format_table(["member", "distribution", "expected payment", "influence (individual)",
                        "pooled weight", "influence (pooled)"],
                       [(i + 1, s, p, a, w, b) for i, (s, p, a, w, b) in
                        enumerate(zip(sol.members, sol.payments, sol.influence, sol.pooled_weights,
                                      sol.pooled_influence))]))
    print(f"\nmethod: {sol.method}")
    return 0


def solve_group(args: argparse.Namespace) -> int:
    require_fits("--member count", len(args.member), group_cost(args.member), limits_of(args))
    folder = _check_export(args)
    if args.transfers == "individual":
        return _individual(args)
    from agora.market.group.solver import solve_group as solve

    sol = solve(args.member, args.cost)
    d = sol.to_dict()
    if folder is not None:
        d["exported"] = _export(sol, folder, args.points or TABLE_POINTS, profile_points(args))
    if args.json:
        print(dumps(d))
        return 0
    rows = [(k, d[k]) for k in ("profit", "profit_error", "trade_probability", "posted_price",
                                "posted_price_profit", "price_of_simplicity", "trivial", "dual_bound",
                                "optimality_gap")]
    print(format_table(["quantity", "value"], rows))
    print()
    print(format_table(["member", "distribution", "weight", "E[phi_i x]"],
                       [(i + 1, s, w, g) for i, (s, w, g) in
                        enumerate(zip(sol.members, sol.weights, sol.virtual_moments))]))
    print(f"\nmethod: {sol.method}")
    if folder is not None:
        print("exported: " + ", ".join(d["exported"]))
        if profile_points(args) is None:
            print(f"no ex-post table: 2^{len(sol.members)} profiles exceed {PROFILE_ROWS:,}; give --profile-points")
    return 0


HANDLERS = {("solve", "group"): solve_group}
