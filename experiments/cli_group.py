"""``agora solve group``: the seller-optimal mechanism for a group with veto power.

    agora solve group --member SPEC [--member SPEC ...] [--cost C] [--json]

Prints the voting weights (input order), the optimal profit and trade
probability, the best unanimous posted price and its profit, and which trivial
case of Proposition 1 applies (``never``, ``always`` or null).
"""

from __future__ import annotations

import argparse

from agora.experiments.cli import SPEC_HELP, _price
from agora.experiments.output import dumps
from agora.experiments.tables import format_table


def add_parsers(verbs: dict, sub) -> None:
    p = verbs["solve"].add_parser(
        "group", help="sell to a group with veto power: optimal voting weights (selling-to-a-group)",
        description="The seller-optimal collective mechanism (Theorem 1): trade iff the weighted sum of "
                    "members' virtual values is at least the cost, with weights minimizing "
                    "E[(omega . phi - c)+] over the simplex; also the best unanimous posted price "
                    "(Proposition 2).")
    p.add_argument("--member", action="append", required=True, metavar="SPEC",
                   help=SPEC_HELP.replace("per bidder", "per member"))
    p.add_argument("--cost", type=_price, default=0.0, help="the seller's cost c >= 0 (default 0)")
    p.add_argument("--json", action="store_true", help="print one JSON object and nothing else")


def solve_group(args: argparse.Namespace) -> int:
    from agora.market.group.solver import solve_group as solve

    sol = solve(args.member, args.cost)
    d = sol.to_dict()
    if args.json:
        print(dumps(d))
        return 0
    rows = [(k, d[k]) for k in ("profit", "trade_probability", "posted_price", "posted_price_profit",
                                "price_of_simplicity", "trivial", "dual_bound", "optimality_gap")]
    print(format_table(["quantity", "value"], rows))
    print()
    print(format_table(["member", "distribution", "weight", "E[phi_i x]"],
                       [(i + 1, s, w, g) for i, (s, w, g) in
                        enumerate(zip(sol.members, sol.weights, sol.virtual_moments))]))
    print(f"\nmethod: {sol.method}")
    return 0


HANDLERS = {("solve", "group"): solve_group}
