"""``agora simulate --protocol KIND``: one run of every market kind of ``agora run`` from the command line.

Each kind's market is given twice: as command-line strings (``--KEY VALUE``) and as a TOML
``[market]`` table run by :func:`agora.experiments.runner.run_experiment` on a one-point spec with
``seeds.base`` = the seed. The two code paths must give the same run row, bit for bit; the
per-round table written by ``--out`` must average to the row's means.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest
from cli_run import run_cli

from agora.experiments.runner import SerialExecutor, run_experiment
from agora.experiments.spec import load_spec

SEED = 7
ROUNDS = 24
SPECS = Path(__file__).resolve().parents[1] / "experiments" / "specs"

#: kind -> (command-line parameters, the same market as TOML, a per-round quantity the row averages or None)
KINDS = {
    "seller-first": (["--bidders", "uniform:0,1", "--bidders", "uniform:0,2", "--seller", "0.5"],
                     'bidders = ["uniform:0,1", "uniform:0,2"]\nseller = 0.5', "seller_revenue"),
    "intermediary-first": (["--bidders", "uniform:0,1", "--n", "2", "--intermediary", "0.2", "--evaluator", "mc"],
                           'bidders = "uniform:0,1"\nn = 2\nintermediary = 0.2\nevaluator = "mc"',
                           "intermediary_revenue"),
    "simultaneous": (["--bidders", "uniform:0,1", "--n", "2"], 'bidders = "uniform:0,1"\nn = 2', "welfare"),
    "learning": (["--bidders", "point:1", "--points", "5", "--window", "5",
                  "--seller", '{rule = "best-response", inertia = 0.5}', "--start-seller", "4"],
                 'bidders = "point:1"\npoints = 5\nwindow = 5\nstart_seller = 4\n'
                 'seller = { rule = "best-response", inertia = 0.5 }', None),
    "learning-k-items": (["--distribution", "uniform:0,1", "--blocks", "1", "--blocks", "2", "--items", "1",
                          "--points", "5", "--window", "5", "--seller", '{rule = "hedge", eta = 5.0}'],
                         'distribution = "uniform:0,1"\nblocks = [1, 2]\nitems = 1\npoints = 5\nwindow = 5\n'
                         'seller = { rule = "hedge", eta = 5.0 }', None),
    "veto-bargaining": (["--members", "uniform:0,2", "--members", "uniform:0,3", "--cost", "0.5"],
                        'members = ["uniform:0,2", "uniform:0,3"]\ncost = 0.5', "seller_profit"),
    "posted-menu": (["--distribution", "uniform:0,1", "--buyers", "4", "--items", "2", "--partition", "0,1|2,3"],
                    'distribution = "uniform:0,1"\nbuyers = 4\nitems = 2\npartition = "0,1|2,3"', "seller_revenue"),
    "k-item-auction": (["--distribution", "uniform:0,1", "--buyers", "4", "--items", "2", "--partition", "0,1|2|3",
                        "--evaluator", "mc"],
                       'distribution = "uniform:0,1"\nbuyers = 4\nitems = 2\npartition = "0,1|2|3"\nevaluator = "mc"',
                       "items_sold"),
    "robust": (["--mean", "0.5", "--mechanism", "best-reserve"], 'mean = 0.5\nmechanism = "best-reserve"', "regret"),
    "q-learning": (["--bidders", "uniform:0,1", "--points", "7", "--beta", "2e-3", "--periods", "6000",
                    "--window", "500"],
                   'bidders = "uniform:0,1"\npoints = 7\nbeta = 2e-3\nperiods = 6000\nwindow = 500', "profit_gain"),
}


def runner_row(tmp_path: Path, protocol: str, market: str, steps: int, seed: int) -> dict:
    """The run row of ``agora run``'s runner on a one-point, one-seed spec of this market."""
    spec = tmp_path / f"{protocol}.toml"
    spec.write_text(f'steps = {steps}\n[seeds]\ncount = 1\nbase = {seed}\n[market]\nprotocol = "{protocol}"\n'
                    + market + "\n")
    summary = run_experiment(load_spec(spec), tmp_path / "runs", SerialExecutor(), "serial", 1)
    return pd.read_parquet(summary.tables["runs"]).iloc[0].to_dict()


def same(cli, runner) -> bool:
    """A JSON value (null for nan) equal to the runner's value."""
    if cli is None:
        return isinstance(runner, float) and math.isnan(runner)
    return cli == (runner.item() if hasattr(runner, "item") else runner)


@pytest.mark.parametrize("protocol", list(KINDS))
def test_simulate_equals_the_runners_row(capsys, tmp_path, protocol):
    """CLI strings and a TOML spec through run_experiment give the same row; --out averages to it."""
    argv, market, averaged = KINDS[protocol]
    table = tmp_path / "rounds.parquet"
    code, out, err = run_cli(capsys, "simulate", "--protocol", protocol, *argv, "--rounds", str(ROUNDS),
                             "--seed", str(SEED), "--out", str(table), "--json")
    assert code == 0, err
    d = json.loads(out)
    expected = runner_row(tmp_path, protocol, market, ROUNDS, SEED)
    assert d["run"].keys() == expected.keys() - {"run", "point", "seed"}
    assert all(same(v, expected[k]) for k, v in d["run"].items()), (d["run"], expected)
    rounds = pd.read_parquet(table)
    assert list(rounds["round"]) == list(range(ROUNDS))
    if averaged is not None:
        assert rounds[averaged].astype(float).mean() == pytest.approx(d["run"][averaged], rel=1e-12, abs=1e-15)


def test_a_spec_gives_the_market_rounds_and_seed(capsys, tmp_path):
    """--spec takes the shipped spec's [market] (without its sweep), steps and seeds.base; a command-line
    key replaces the spec's: the row equals the runner's on that market with that seed."""
    code, out, err = run_cli(capsys, "simulate", "--spec", str(SPECS / "veto-bargaining.toml"), "--rounds", "30",
                             "--evaluator", "mc", "--json")
    assert code == 0, err
    d = json.loads(out)
    assert d["seed"] == 20240607 and d["rounds"] == 30
    expected = runner_row(tmp_path, "veto-bargaining", 'members = ["uniform:0,2", "uniform:0,3"]\n'
                          'evaluator = "mc"', 30, 20240607)
    assert all(same(v, expected[k]) for k, v in d["run"].items())


@pytest.mark.parametrize("suffix", [".csv", ".json", ".parquet"])
def test_out_in_each_format(capsys, tmp_path, suffix):
    """The per-round table in each format: ROUNDS rows whose mean profit is the row's (CSV and JSON to 15 digits)."""
    path = tmp_path / f"rounds{suffix}"
    code, out, err = run_cli(capsys, "simulate", "--protocol", "veto-bargaining", "--members", "uniform:0,2",
                             "--members", "uniform:0,3", "--evaluator", "mc", "--rounds", "50", "--out", str(path),
                             "--json")
    assert code == 0, err
    d = json.loads(out)
    read = {".csv": pd.read_csv, ".json": pd.read_json, ".parquet": pd.read_parquet}[suffix]
    table = read(path)
    assert len(table) == 50
    assert table["seller_profit"].mean() == pytest.approx(d["run"]["seller_profit"], rel=1e-12)
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]


BAD = [
    pytest.param(["--protocol", "veto-bargaining", "--members", "uniform:0,1", "--members", "uniform:0,1",
                  "--cost=-1"], "market.cost", id="negative-cost"),
    pytest.param(["--protocol", "robust", "--mechanism", "lottery"], "market.mean", id="lottery-without-mean"),
    pytest.param(["--protocol", "posted-menu", "--distribution", "uniform:0,1", "--buyers", "0", "--items", "1"],
                 "market.buyers", id="no-buyers"),
    pytest.param(["--protocol", "learning", "--bidders", "point:1", "--points", "2",
                  "--seller", '{rule = "hedge", eta = 5.0}'], "market.points", id="tiny-grid"),
    pytest.param(["--protocol", "k-item-auction", "--distribution", "uniform:0,1", "--buyers", "4", "--items", "2",
                  "--partition", "0,1|5"], "market.partition", id="partition-beyond-buyers"),
    pytest.param(["--protocol", "robust", "--members", "uniform:0,1"], "market.members", id="key-of-another-kind"),
    pytest.param(["--protocol", "frobnicate"], "--protocol", id="unknown-kind"),
    pytest.param(["--protocol", "robust", "--mean", "0.5", "--rounds", "0"], "--rounds", id="zero-rounds"),
    pytest.param(["--rounds", "5"], "--protocol", id="no-kind"),
    pytest.param(["--protocol", "seller-first", "--bidder", "uniform:0,1"], "--bidder", id="not-a-key"),
    pytest.param(["--spec", "missing.toml"], "missing.toml", id="missing-spec"),
]


@pytest.mark.parametrize("argv, names", BAD)
def test_bad_parameters_are_one_line_naming_the_key(capsys, tmp_path, monkeypatch, argv, names):
    """Refused in one line on stderr naming the key, exit status 2, nothing on stdout or on disk."""
    monkeypatch.chdir(tmp_path)
    code, out, err = run_cli(capsys, "simulate", *argv, "--out", "r.csv")
    assert code == 2 and out == ""
    assert len(err.splitlines()) == 1 and names in err, err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("out, names", [("afile/r.csv", "afile"), ("r.xlsx", "r.xlsx")])
def test_unwritable_out_is_refused_before_the_run(capsys, tmp_path, monkeypatch, out, names):
    """A --out inside a file or with an unknown suffix: one line, exit 2, and the market never runs."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "afile").write_text("x")
    monkeypatch.setattr("agora.experiments.cli_simulate.run_once",
                        lambda task: pytest.fail("the market ran before --out was checked"))
    code, stdout, err = run_cli(capsys, "simulate", "--protocol", "robust", "--mean", "0.5", "--out", out)
    assert code == 2 and stdout == ""
    assert len(err.splitlines()) == 1 and names in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile"]


def test_seller_first_usage_is_unchanged(capsys):
    """``agora simulate seller-first --bidder ...`` still takes its own options (tests/test_cli.py has the rest)."""
    code, out, err = run_cli(capsys, "simulate", "seller-first", "--bidder", "uniform:0,1", "--rounds", "5",
                             "--json")
    assert code == 0, err
    assert json.loads(out)["rounds"] == 5


def test_the_help_lists_every_kind(capsys):
    """``agora simulate --help`` names every registered kind as a --protocol choice."""
    from agora.experiments.markets import registry

    code, out, _ = run_cli(capsys, "simulate", "--help")
    assert code == 0
    text = " ".join(out.split())
    assert all(name in text for name in registry())


# --------------------------------------------------------------------- plot
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def validated(protocol: str, market: dict) -> dict:
    from agora.experiments.markets import kind_of

    return kind_of(protocol).validate(market)


def test_posted_menu_curve_is_p_times_one_minus_p():
    """One U[0,1] buyer, one item: the buyer takes it iff v >= p, so the revenue is p (1 - p) by hand,
    and the realized welfare E[v; v >= p] = (1 - p^2) / 2."""
    from agora.experiments.kind_curves import posted_menu

    curve = posted_menu(validated("posted-menu", {"distribution": "uniform:0,1", "buyers": 1, "items": 1}), 11)
    p = curve.x
    assert p[0] == 0.0 and p[-1] == 1.0
    assert curve.series["seller"] == pytest.approx(p * (1 - p), abs=1e-9)
    assert curve.series["welfare"] == pytest.approx((1 - p**2) / 2, abs=1e-9)


def test_veto_curve_for_one_member_is_myersons():
    """One member with a U[0,1] type: the optimal vote trades iff phi = 2 theta - 1 >= c, so the
    profit is E[(2 theta - 1 - c)+] = ((1 - c)/2)^2 and the member keeps half of that (by hand); the
    member's utility comes from the interim rule tabulated on the solver's type grid (2.4e-4 off at c = 0)."""
    from agora.experiments.kind_curves import veto_bargaining

    curve = veto_bargaining(validated("veto-bargaining", {"members": ["uniform:0,1"]}), 11)
    c = curve.x
    assert c[-1] == 1.0
    assert curve.series["seller's profit"] == pytest.approx(((1 - c) / 2) ** 2, abs=1e-7)
    assert curve.series["member 0"] == pytest.approx(((1 - c) / 2) ** 2 / 2, abs=5e-4)


def test_intermediary_first_curve_agrees_with_monte_carlo():
    """At three posted prices for the right (two U[0,1] bidders), the curve's exact revenues lie within
    4 standard errors of 40,000 vectorized rounds of the kind at that price (seed 0)."""
    import numpy as np

    from agora.experiments.kind_curves import intermediary_first
    from agora.experiments.markets import kind_of

    market = {"bidders": "uniform:0,1", "n": 2, "evaluator": "mc"}
    curve = intermediary_first(validated("intermediary-first", market), 4)
    for i in (1, 2, 3):
        params = validated("intermediary-first", {**market, "intermediary": float(curve.x[i])})
        steps = kind_of("intermediary-first").run(params, 40_000, np.random.default_rng(0)).steps
        for name in ("seller", "intermediary"):
            sim = np.asarray(steps[f"{name}_revenue"], float)
            se = sim.std(ddof=1) / math.sqrt(len(sim))
            assert abs(sim.mean() - curve.series[name][i]) <= 4 * se + 1e-12, (name, curve.x[i])


def test_simultaneous_curve_by_hand():
    """One U[0,1] bidder: against the seller's price p the intermediary posts q = (1 - p)/2 for the right,
    so the seller earns p (1 - p)/2 and the intermediary (1 - p)^2/4; a known value 1: q = 1 - p, the
    seller earns p and the intermediary 1 - p (Section 5's continuum), by hand."""
    from agora.experiments.kind_curves import simultaneous

    curve = simultaneous(validated("simultaneous", {"bidders": "uniform:0,1"}), 11)
    p = curve.x
    assert p[-1] == 1.0
    assert curve.series["seller"] == pytest.approx(p * (1 - p) / 2, abs=1e-9)
    assert curve.series["intermediary"] == pytest.approx((1 - p) ** 2 / 4, abs=1e-9)
    known = simultaneous(validated("simultaneous", {"bidders": "point:1"}), 11)
    assert known.series["seller"] == pytest.approx(known.x, abs=1e-9)
    assert known.series["intermediary"] == pytest.approx(1 - known.x, abs=1e-9)


@pytest.mark.parametrize("mechanism", ["lottery", "best-reserve"])
def test_robust_curve_is_what_the_worst_case_nature_yields(mechanism):
    """At each mean bound the curve's closed-form worst case equals the revenue integrated over the
    worst-case nature's law (the kind's exact_seller_revenue) and lies within 4 standard errors of
    4,000 vectorized rounds against that nature (seed 0); it rises with the bound."""
    import numpy as np

    from agora.experiments.kind_curves import robust
    from agora.experiments.markets import kind_of

    market = {"bidders": 2, "mean": 0.5, "mechanism": mechanism, "evaluator": "mc"}
    curve = robust(validated("robust", market), 3)
    assert list(curve.x) == pytest.approx([0.25, 0.5, 0.75])
    values = curve.series["worst-case revenue"]
    assert np.all(np.diff(values) > 0)
    for mean, value in zip(curve.x, values):
        row = kind_of("robust").run(validated("robust", {**market, "mean": float(mean)}), 4000,
                                    np.random.default_rng(0)).run
        assert row["exact_seller_revenue"] == pytest.approx(value, abs=1e-9)
        assert abs(row["seller_revenue"] - value) <= 4 * row["seller_revenue_stderr"] + 1e-9


@pytest.mark.parametrize("argv", [
    ["--protocol", "posted-menu", "--distribution", "uniform:0,1", "--buyers", "3", "--items", "2"],
    ["--protocol", "veto-bargaining", "--members", "uniform:0,1", "--members", "uniform:0,2"],
    ["--protocol", "intermediary-first", "--bidders", "uniform:0,1"],
    ["--protocol", "seller-first", "--bidders", "uniform:0,1", "--bidders", "uniform:0,2"],
    ["--spec", str(SPECS / "veto-bargaining.toml")],
    ["--protocol", "robust", "--mean", "0.5", "--mechanism", "best-reserve"],
    ["--protocol", "simultaneous", "--bidders", "uniform:0,1", "--n", "2"],
    ["--protocol", "k-item-auction", "--distribution", "uniform:0,1", "--buyers", "4", "--items", "2",
     "--partition", "competition"],
    ["--protocol", "learning", "--bidders", "point:1", "--seller", '{rule = "hedge", eta = 5.0}'],
    ["--spec", str(SPECS / "q-learning.toml")],
    ["--spec", str(SPECS / "q-learning-fees.toml"), "--points", "5"],
    ["--spec", str(SPECS / "selection-k-items.toml"), "--points", "7"],
    ["--spec", str(SPECS / "adaptive-play.toml"), "--sample_row", "30", "--rounds", "500"],
], ids=["posted-menu", "veto-bargaining", "intermediary-first", "seller-first", "spec", "robust", "simultaneous",
        "k-item-auction", "learning", "q-learning-spec", "q-learning-fees-spec", "learning-k-items-spec",
        "adaptive-play-spec"])
def test_plot_writes_a_png(capsys, tmp_path, argv):
    fig = tmp_path / "curve.png"
    code, out, err = run_cli(capsys, "plot", *argv, "--out", str(fig), "--curve-points", "8")
    assert code == 0, err
    assert fig.read_bytes()[:8] == PNG_SIGNATURE
    assert out.strip() == f"figure: {fig}"


@pytest.mark.parametrize("argv, names", [
    (["--protocol", "robust", "--mechanism", "vickrey"], "market.mechanism"),
    (["--protocol", "k-item-auction", "--distribution", "uniform:0,1", "--buyers", "3", "--items", "1",
      "--partition", "0|1,2"], "market.partition = \"0|1,2\": the curve is drawn where the revenue has a closed form"),
    (["--protocol", "veto-bargaining", "--members", '["uniform:0,1"]', "--transfers", "individual",
      "--evaluator", "mc"], "market.transfers"),
    (["--protocol", "posted-menu", "--distribution", "uniform:0,1", "--buyers", "0", "--items", "1"],
     "market.buyers"),
], ids=["robust-vickrey", "k-item-auction", "individual-transfers",
        "no-buyers"])
def test_plot_refuses_in_one_line(capsys, tmp_path, monkeypatch, argv, names):
    """A parameter the curve cannot take: one line naming it, exit 2, no figure."""
    monkeypatch.chdir(tmp_path)
    code, out, err = run_cli(capsys, "plot", *argv, "--out", "curve.png")
    assert code == 2 and out == ""
    assert len(err.splitlines()) == 1 and names in err, err
    assert list(tmp_path.iterdir()) == []


def test_plot_takes_every_kind():
    from agora.experiments.kind_curves import CONVENTIONS, CURVES, SELLER_PRICE
    from agora.experiments.markets import registry

    assert sorted(registry()) == sorted((*SELLER_PRICE, *CURVES, *CONVENTIONS))


def test_plot_needs_a_png(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, err = run_cli(capsys, "plot", "--protocol", "veto-bargaining", "--members", "uniform:0,1",
                           "--out", "curve.jpg")
    assert code == 2 and "curve.jpg" in err and len(err.splitlines()) == 1
    assert list(tmp_path.iterdir()) == []


def test_plot_checks_out_before_drawing(capsys, tmp_path, monkeypatch):
    """A --out inside a file: one line, exit 2, and the curve is never computed."""
    from agora.experiments.kind_curves import CURVES

    monkeypatch.chdir(tmp_path)
    (tmp_path / "afile").write_text("x")
    monkeypatch.setitem(CURVES, "veto-bargaining", lambda params, points: pytest.fail("drawn before --out was checked"))
    code, _, err = run_cli(capsys, "plot", "--protocol", "veto-bargaining", "--members", "uniform:0,1",
                           "--members", "uniform:0,2", "--out", "afile/curve.png")
    assert code == 2 and "afile" in err and len(err.splitlines()) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile"]


def test_simulate_prints_the_row_as_a_table(capsys):
    """Without --json: a header naming the kind, rounds and seed, then one line per quantity of the row."""
    code, out, err = run_cli(capsys, "simulate", "--protocol", "robust", "--mean", "0.5", "--evaluator", "mc",
                             "--rounds", "10", "--seed", "4")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == "robust over 10 rounds (seed 4)"
    for key in ("seller_revenue", "exact_seller_revenue", "revenue_worst_case", "adversary_law"):
        assert any(line.split()[:1] == [key] for line in lines[3:]), key
