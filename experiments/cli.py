"""The ``agora`` command line.

    agora solve seller-first --bidder SPEC [--bidder SPEC ...] [--json]
    agora solve intermediary-first --bidder SPEC ... [--class CLASS ...] [--json]
    agora solve simultaneous --bidder SPEC ... [--class CLASS ...] [--grid N] [--mixed K] [--json]
    agora simulate seller-first --bidder SPEC ... [--rounds N] [--seed S] [--price P]
                   [--evaluator abm|mc] [--out FILE.csv|.parquet|.json] [--messages FILE] [--json]
    agora simulate --protocol KIND [--KEY VALUE ...] [--spec SPEC.toml] [--rounds N] [--seed S]
                   [--out FILE.csv|.parquet|.json] [--json]      (any kind of agora run)
    agora plot seller-first --bidder SPEC ... --out FIG.png
    agora plot --protocol KIND [--KEY VALUE ...] [--spec SPEC.toml] --out FIG.png [--points N]
    agora reproduce NAME [--out DIR] [--executor serial|process|dask] [--workers N]

Bad input gives one line on stderr and exit status 2; nothing is written.
"""

from __future__ import annotations

import argparse
import re
import signal
import sys
from collections.abc import Sequence
from importlib import import_module

from agora.experiments.limits import add_limit_options
from agora.market.errors import InputError
from agora.market.names import ACCEPTED_SPECS, RIGHT_AUCTION_NAMES

SPEC_HELP = f"a value distribution, one per bidder; accepted: {ACCEPTED_SPECS}"


def one_line(text: str) -> str:
    """``text`` with every unprintable character (newlines, separators, controls) escaped."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


class OneLineParser(argparse.ArgumentParser):
    """argparse that reports a usage error in one line (exit status 2)."""

    def error(self, message):
        option = re.fullmatch(r"argument (--[\w-]+)(?:/-\w)?: expected one argument", message)
        if option:
            # argparse reads a value that starts with '-' (like -inf or -1|0,1) as an option
            message += f"; a value that starts with '-' is written with '=', like {option[1]}=-1"
        self.exit(2, f"{self.prog}: error: {one_line(message)} (see --help)\n")


def _whole_number(text: str, least: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number >= {least}, got '{text}'") from None
    if value < least:
        raise argparse.ArgumentTypeError(f"expected a number >= {least}, got {value}")
    return value


def _nonnegative_int(text: str) -> int:
    return _whole_number(text, 0)


def _positive_int(text: str) -> int:
    return _whole_number(text, 1)


def _price(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a price (a number >= 0), got '{text}'") from None
    if not 0.0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"a price must be a finite number >= 0, got {text}")
    return value


def _add_bidders(p: argparse.ArgumentParser) -> None:
    p.add_argument("--bidder", action="append", required=True, metavar="SPEC", help=SPEC_HELP)


#: Modules that add subcommands. Each defines ``add_parsers(verbs, sub)`` (``verbs`` maps
#: solve/simulate/plot to their subparser groups; ``sub`` is the top-level group) and
#: ``HANDLERS``, a dict from ``(command, model)`` (model None for a top-level command)
#: to a function of the parsed arguments that returns an exit status.
EXTENSIONS: tuple[str, ...] = (
    "agora.experiments.cli_experiments",
    "agora.experiments.cli_ipm",
    "agora.experiments.cli_monopsony",
    "agora.experiments.cli_group",
    "agora.experiments.cli_robust",
    "agora.experiments.cli_viz",
    "agora.experiments.cli_learning",
    "agora.experiments.cli_qlearning",
)

VERBS = {
    "solve": "solve a market exactly (quadrature and closed forms)",
    "simulate": "simulate rounds of a market (agent-based or Monte Carlo); --protocol KIND: any kind of agora run",
    "plot": "draw a figure of a market; --protocol KIND: a kind's revenue against its main price",
}


def _model(verbs: dict, verb: str, name: str, help: str, description: str) -> argparse.ArgumentParser:
    """A ``agora VERB NAME`` parser taking --bidder SPEC (repeatable)."""
    p = verbs[verb].add_parser(name, help=help, description=description)
    _add_bidders(p)
    return p


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="agora",
        description="Agora: markets with intermediaries, solved exactly, simulated, and reproduced "
                    "from the papers.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=OneLineParser)
    verbs = {verb: sub.add_parser(verb, help=text).add_subparsers(
        dest="model", required=True, parser_class=OneLineParser) for verb, text in VERBS.items()}

    sf = _model(verbs, "solve", "seller-first",
                "seller commits first; the intermediary best-responds (Section 3)",
                "The seller posts the price that is best against a monopolist intermediary "
                "running the shifted Myerson auction (monopolist-intermediary, Theorem 3.1). "
                "Prints every party's expected revenue, the no-intermediary optimum and the "
                "per-bidder reserves phi_i^-1(p).")
    sf.add_argument("--json", action="store_true", help="print one JSON object and nothing else")

    fi = _model(verbs, "solve", "intermediary-first",
                "the intermediary commits first; the seller best-responds (Section 4)",
                "The intermediary commits to an auction for the right to dictate bids, anticipating "
                "the seller's best-responding price (Theorem 4.1); its best commitment is solved "
                "within each class (bilevel) and the best class is reported.")
    fi.add_argument("--class", dest="classes", action="append", choices=sorted(RIGHT_AUCTION_NAMES),
                    help="commitment class to search (repeatable; default: all)")
    fi.add_argument("--json", action="store_true", help="print one JSON object and nothing else")
    add_limit_options(fi)

    sim = _model(verbs, "solve", "simultaneous",
                 "both post prices at once: Nash equilibria and continua (Section 5)",
                 "Pure Nash equilibria of the simultaneous game: the seller posts a price while the "
                 "intermediary picks a commitment class and its parameter (Section 4's classes). Each is "
                 "verified against the seller's deviation to any price and the intermediary's best "
                 "parameter in every class; a continuum (Theorem 5.1) is described. "
                 "With --mixed K, also the equilibria nashpy finds in the discretized game on at most K "
                 "prices placed where best responses lie (log-spaced for heavy tails), each with its "
                 "regret against every price.")
    sim.add_argument("--class", dest="classes", action="append", choices=[*sorted(RIGHT_AUCTION_NAMES), "all"],
                     help="the intermediary's commitment class (repeatable; default: all): its equilibria are "
                          "checked against the best parameter of every class given")
    sim.add_argument("--grid", type=_positive_int, default=1001, help="prices per side (default 1001)")
    sim.add_argument("--mixed", type=_positive_int, metavar="K",
                     help="also report mixed equilibria of the game on at most K prices adapted to the market "
                          "(nashpy Lemke-Howson), each with its regret against every price")
    sim.add_argument("--json", action="store_true", help="print one JSON object and nothing else")
    add_limit_options(sim)

    ss = _model(verbs, "simulate", "seller-first", "simulate the seller-first market round by round",
                "Run the market for N rounds with Mesa agents exchanging messages (abm) or "
                "with vectorized Monte Carlo (mc), and compare the averages with the exact "
                "values. The seller posts the Stackelberg price unless --price is given.")
    ss.add_argument("--rounds", type=_positive_int, default=10_000, help="rounds (default 10000)")
    ss.add_argument("--seed", type=_nonnegative_int, default=0, help="random seed (default 0)")
    ss.add_argument("--price", type=_price, help="a fixed posted price instead of the Stackelberg one")
    ss.add_argument("--evaluator", choices=("abm", "mc"), default="abm",
                    help="abm: Mesa agents (default); mc: vectorized Monte Carlo")
    ss.add_argument("--out", metavar="FILE", help="per-round table (.csv, .parquet or .json; abm)")
    ss.add_argument("--messages", metavar="FILE", help="message log table (.csv, .parquet or .json; abm)")
    ss.add_argument("--json", action="store_true", help="print one JSON object and nothing else")
    add_limit_options(ss)

    ps = _model(verbs, "plot", "seller-first", "revenue of each party against the seller's posted price",
                "Seller's, intermediary's and total revenue against the seller's posted price, "
                "with OPT (no intermediary) as a line; saved as PNG.")
    ps.add_argument("--out", required=True, metavar="FIG.png", help="where to save the PNG")
    ps.add_argument("--points", type=_positive_int, default=300, help="prices on the curve (default 300)")
    add_limit_options(ps)

    from agora.experiments.reproduce import REPRODUCTIONS, SCALABLE

    rep = sub.add_parser("reproduce", help="reproduce a paper's results: paper vs measured",
                         description="Writes report.md, results.json and figures to --out. "
                                     f"Available: {', '.join(REPRODUCTIONS)}.")
    rep.add_argument("name", choices=sorted(REPRODUCTIONS), help="which reproduction")
    rep.add_argument("--out", default=None, metavar="DIR", help="output folder (default results/NAME)")
    rep.add_argument("--executor", choices=("serial", "process", "dask"),
                     help="where the runs execute, for reproductions that run through the experiments runner "
                          f"({', '.join(SCALABLE)}): this process, a local process pool (default), or a local "
                          "Dask cluster")
    rep.add_argument("--workers", type=_positive_int, metavar="N",
                     help="worker processes for process/dask (default: the CPUs available)")
    for name in EXTENSIONS:
        import_module(name).add_parsers(verbs, sub)
    return parser


def parse_arguments(argv: list[str]) -> argparse.Namespace:
    """``agora simulate|plot --protocol KIND ...`` (options, not a model, after the verb) has its own parser,
    which imports every market kind to list their keys; every other command, :func:`build_parser`."""
    if len(argv) > 1 and argv[0] in ("simulate", "plot") and argv[1].startswith("-"):
        from agora.experiments.cli_simulate import kind_parser

        return kind_parser(argv[0]).parse_args(argv[1:])
    return build_parser().parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    if argv is None:  # as a command: a closed pipe (agora ... | head) ends quietly
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parse_arguments(argv)
    from agora.experiments import commands
    from agora.experiments.cli_simulate import HANDLERS as KIND_HANDLERS

    handler = {
        ("solve", "seller-first"): commands.solve_seller_first,
        ("solve", "intermediary-first"): commands.solve_intermediary_first,
        ("solve", "simultaneous"): commands.solve_simultaneous,
        ("simulate", "seller-first"): commands.simulate_seller_first,
        ("plot", "seller-first"): commands.plot_seller_first,
        ("reproduce", None): commands.reproduce,
        **KIND_HANDLERS,
    }
    for name in EXTENSIONS:
        handler.update(import_module(name).HANDLERS)
    handler = handler[(args.command, getattr(args, "model", None))]
    try:
        return handler(args) or 0
    except InputError as err:
        print(f"agora: error: {one_line(str(err))}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
