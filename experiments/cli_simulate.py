"""``agora simulate --protocol KIND``: one run of any market kind of ``agora run``.

    agora simulate --protocol KIND [--KEY VALUE ...] [--spec SPEC.toml] [--rounds N] [--seed S]
                   [--out FILE.csv|.json|.parquet] [--json]

KIND is a market kind of :mod:`agora.experiments.markets`; each ``--KEY VALUE`` sets the kind's
parameter KEY (``--evaluator abm|mc`` among them). VALUE is read as a TOML value (a number, true or
false, a "quoted string", an [array] or an {inline table}), otherwise as the text itself; a key given
twice or more is the list of its values. With ``--spec`` the spec's ``[market]`` table is the market,
the command line's keys replacing its own, and its ``steps`` and ``seeds.base`` are the default
rounds and seed; its ``[sweep]`` is validated but not run (``agora run`` sweeps). The parameters are
checked by the kind's own readers, as ``agora run`` checks a spec, before anything runs. The run
draws the random numbers of the first run of ``agora run`` on a one-point spec with
``seeds.base = S``, so its row equals that run's row.
"""

from __future__ import annotations

import argparse
import tomllib
from copy import deepcopy

from agora.experiments.cli import OneLineParser, _nonnegative_int, _positive_int
from agora.experiments.limits import add_limit_options

DEFAULT_ROUNDS = 1000
PARAM_DEST = "param:"


def kind_parameters() -> dict[str, list[str]]:
    """Every parameter name of the registered kinds, with the kinds that take it."""
    from agora.experiments.markets import registry

    names: dict[str, list[str]] = {}
    for kind in registry().values():
        for p in kind.params:
            names.setdefault(p.name, []).append(kind.name)
    return names


def kind_parser(verb: str) -> argparse.ArgumentParser:
    """The parser of ``agora simulate|plot --protocol KIND ...`` (the kinds are imported to list their keys)."""
    from agora.experiments.markets import registry

    p = OneLineParser(prog=f"agora {verb}", allow_abbrev=False, description=DESCRIPTIONS[verb])
    p.set_defaults(command=verb, model=None, rounds=None, seed=None)
    p.add_argument("--protocol", choices=list(registry()), help="the market kind (default: the spec's)")
    p.add_argument("--spec", metavar="SPEC.toml", help="take the market, steps and seeds.base of a spec")
    p.add_argument("--rounds", type=_positive_int, help=f"rounds (default: the spec's steps, else {DEFAULT_ROUNDS})"
                   + ("; plot: of adaptive-play's simulated shares" if verb == "plot" else ""))
    p.add_argument("--seed", type=_nonnegative_int, help="random seed (default: the spec's seeds.base, else 0)")
    if verb == "simulate":
        p.add_argument("--out", metavar="FILE", help="per-round table (.csv, .parquet or .json)")
        p.add_argument("--json", action="store_true", help="print one JSON object and nothing else")
    else:
        p.add_argument("--out", required=True, metavar="FIG.png", help="where to save the PNG")
        p.add_argument("--curve-points", type=_positive_int, default=60, metavar="N",
                       help="values on the curve (default 60; --points is a market parameter)")
    add_limit_options(p)
    params = p.add_argument_group("market parameters (a TOML value or text; repeat a key for a list)")
    for name, kinds in kind_parameters().items():
        flags = dict.fromkeys((f"--{name}", f"--{name.replace('_', '-')}"))
        params.add_argument(*flags, dest=PARAM_DEST + name, action="append", metavar="VALUE",
                            help=f"of {', '.join(kinds)}")
    return p


DESCRIPTIONS = {
    "simulate": "Run one market of any kind of agora run for N rounds and print its run's row "
                "(simulated means beside exact values). Also: agora simulate seller-first --help.",
    "plot": "Draw each party's exact expectation against the kind's main price or parameter "
            "(seller-first, simultaneous: the seller's price; intermediary-first: the price for the right; "
            "posted-menu: the price per item; k-item-auction: the reserve; veto-bargaining: the seller's cost; "
            "robust: the bound on the means; learning, q-learning, q-learning-fees, learning-k-items: the "
            "seller's price on their grid, the others at their best grid prices), the other "
            "parameters fixed; adaptive-play: one run's share of periods at each convention beside its exact "
            "stationary mass; saved as PNG. "
            "Also: agora plot seller-first --help."}


def toml_value(text: str):
    """``text`` as a TOML value if it is one (on one line), else the text itself."""
    if "\n" in text or "\r" in text:
        return text
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def market_table(args, base: dict) -> dict:
    """The ``[market]`` table: ``base`` (the spec's), then --protocol and every --KEY given."""
    market = deepcopy(base)
    if args.protocol is not None:
        market["protocol"] = args.protocol
    for dest, values in vars(args).items():
        if dest.startswith(PARAM_DEST) and values:
            read = [toml_value(v) for v in values]
            market[dest.removeprefix(PARAM_DEST)] = read[0] if len(read) == 1 else read
    return market


def one_point_spec(args, limits):
    """The validated one-point, one-seed spec the command line asks for; the spec file's own
    validation (sweep included) comes first."""
    from agora.experiments.markets import SpecError, shown
    from agora.experiments.spec import load_spec, parse_spec_table

    base, steps, seed = {}, DEFAULT_ROUNDS, 0
    if args.spec is not None:
        spec = load_spec(args.spec, limits)
        base = tomllib.loads(spec.source)["market"]
        steps, seed = spec.steps, spec.seeds.base
    market = market_table(args, base)
    if "protocol" not in market:
        raise SpecError("--protocol is missing; accepted: a market kind, or a --spec naming one")
    data = {"steps": args.rounds or steps, "seeds": {"count": 1, "base": seed if args.seed is None else args.seed},
            "market": market}
    spec = parse_spec_table(data, default_name="simulate", limits=limits)
    if len(spec.points) > 1:  # a value such as partition = "all" stands for one market per point
        key = spec.sweep_keys[0]
        raise SpecError(f"--{key} = {shown(market[key])} stands for {len(spec.points)} markets; accepted: one "
                        f"(agora run sweeps them all)")
    return spec


def run_once(task):
    """The task's market, run once on its own random stream: (kind, RunOutput)."""
    from agora.experiments.markets import kind_of

    kind = kind_of(task.protocol)
    return kind, kind.run(task.params, task.steps, task.rng())


def per_round(kind, out, rounds: int):
    import pandas as pd

    return pd.DataFrame({"round": range(rounds), **{q: out.steps[q] for q in kind.quantities if q in out.steps}})


def simulate_kind(args) -> int:
    """One run of the kind's market; the row printed (or as JSON), the rounds written to --out."""
    from agora.experiments.limits import COSTS, limits_of, require_fits
    from agora.experiments.output import check_out_file, dumps, table_format, write_table
    from agora.experiments.tables import format_table

    if args.out:
        table_format(args.out)
        check_out_file(args.out)
    limits = limits_of(args)
    spec = one_point_spec(args, limits)
    require_fits("--rounds", spec.steps, COSTS["steps"], limits)
    task = next(spec.tasks())
    kind, out = run_once(task)
    if args.out:
        write_table(per_round(kind, out, task.steps), args.out)
    if args.json:
        print(dumps({"protocol": task.protocol, "rounds": task.steps, "seed": spec.seeds.base,
                     "params": task.params, "run": dict(out.run)}))
        return 0
    print(f"{task.protocol} over {task.steps} rounds (seed {spec.seeds.base})"
          + (f", the [market] of {args.spec} (a [sweep] is agora run's)" if args.spec else ""))
    print(format_table(["quantity", "value"], list(out.run.items())))
    if args.out:
        print(f"per-round table: {args.out}")
    return 0


def plot_kind(args) -> int:
    """The kind's curve (:mod:`agora.experiments.kind_curves`) at the command line's market, as PNG."""
    from pathlib import Path

    from agora.experiments.kind_curves import CONVENTIONS, CURVES, SELLER_PRICE, convention_figure, curve_figure
    from agora.experiments.limits import COSTS, limits_of, require_fits
    from agora.experiments.markets import ParamError, bad_value, kind_of
    from agora.experiments.output import check_out_file, save_png
    from agora.market.errors import InputError

    if Path(args.out).suffix.lower() != ".png":
        raise InputError(f"--out '{args.out}' must name a .png file")
    check_out_file(args.out)
    limits = limits_of(args)
    task = next(one_point_spec(args, limits).tasks())
    require_fits("--curve-points", args.curve_points, COSTS["points"], limits)
    if task.protocol in SELLER_PRICE:
        from agora.experiments.markets.single_item import bidders_of
        from agora.experiments.plots import revenue_vs_price_figure

        fig = revenue_vs_price_figure(bidders_of(task.params), args.curve_points)
    elif task.protocol in CONVENTIONS:
        from agora.experiments.markets.adaptive_play import convention_shares

        require_fits("--rounds", task.steps, COSTS["steps"], limits)
        fig = convention_figure(task.protocol, convention_shares(task.params, task.steps, task.rng()))
    else:
        try:
            curve = CURVES[task.protocol](task.params, args.curve_points)
        except ParamError as err:
            accepted = next(p.accepted for p in kind_of(task.protocol).params if p.name == err.key)
            raise bad_value(f"market.{err.key}", task.params[err.key], accepted, str(err)) from None
        fig = curve_figure(task.protocol, curve)
    print(f"figure: {save_png(fig, args.out)}")
    return 0


HANDLERS = {("simulate", None): simulate_kind, ("plot", None): plot_kind}
