"""Experiment specs (experiments/spec.py, experiments/markets): what is accepted and what is refused.

Every malformed spec in the table gets one line on stderr naming the key and the bad value,
exit status 2, and no results folder. The example specs under experiments/specs/ load.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest
from cli_run import run_cli

from agora.experiments.markets import SpecError, registry
from agora.experiments.spec import load_spec

ROOT = Path(__file__).resolve().parents[1]
SPECS = sorted((ROOT / "experiments" / "specs").glob("*.toml"))

GOOD = """
steps = 5
[seeds]
count = 2
base = 7
[market]
protocol = "seller-first"
bidders = ["uniform:0,1", "uniform:0,2"]
seller = 0.5
"""

# (case id, spec text, strings the one-line error must contain)
MALFORMED = [
    ("not-toml", "steps = \n[seeds", ["not valid TOML"]),
    ("unknown-top-key", "rounds = 3\n" + GOOD, ["rounds = 3", "unknown key", "steps"]),
    ("steps-missing", GOOD.replace("steps = 5", ""), ["steps is missing", "accepted"]),
    ("steps-zero", GOOD.replace("steps = 5", "steps = 0"), ["steps = 0", "less than 1"]),
    ("steps-text", GOOD.replace("steps = 5", 'steps = "five"'), ['steps = "five"', "whole number"]),
    ("steps-bool", GOOD.replace("steps = 5", "steps = true"), ["steps = true", "whole number"]),
    ("name-bad", 'name = "my run!"\n' + GOOD, ['name = "my run!"', "letters, digits"]),
    ("seeds-missing", GOOD.replace("[seeds]\ncount = 2\nbase = 7\n", ""), ["[seeds] is missing"]),
    ("seeds-count-zero", GOOD.replace("count = 2", "count = 0"), ["seeds.count = 0", "runs per point"]),
    ("seeds-base-negative", GOOD.replace("base = 7", "base = -1"), ["seeds.base = -1", ">= 0"]),
    ("seeds-base-missing", GOOD.replace("base = 7\n", ""), ["seeds.base is missing"]),
    ("seeds-unknown-key", GOOD.replace("base = 7", "base = 7\nseed = 1"), ["seeds.seed = 1", "count, base"]),
    ("market-missing", GOOD.split("[market]")[0], ["[market] is missing"]),
    ("protocol-missing", GOOD.replace('protocol = "seller-first"\n', ""),
     ["market.protocol is missing", '"seller-first"']),
    ("protocol-unknown", GOOD.replace('"seller-first"', '"buyer-first"'),
     ['market.protocol = "buyer-first"', '"intermediary-first"']),
    ("market-unknown-key", GOOD + 'auction = "vickrey"\n', ['market.auction = "vickrey"', "unknown key"]),
    ("bad-distribution", GOOD.replace('"uniform:0,2"', '"uniform:2,1"'),
     ["market.bidders", "uniform:2,1", "LO < HI"]),
    ("unknown-distribution", GOOD.replace('"uniform:0,2"', '"lognormal:0,1"'),
     ["market.bidders", "lognormal", "uniform:LO,HI"]),
    ("not-regular", GOOD.replace('"uniform:0,2"', '"beta:0.5,0.5,0,1"'),
     ["market.bidders", "beta:0.5,0.5,0,1", "not regular"]),
    ("negative-price", GOOD.replace("seller = 0.5", "seller = -0.5"),
     ["market.seller = -0.5", "\"stackelberg\" or a posted price"]),
    ("bad-evaluator", GOOD + 'evaluator = "gpu"\n', ['market.evaluator = "gpu"', '"abm"']),
    ("n-mismatch", GOOD + "n = 3\n", ["market.n = 3", "2 bidder specs"]),
    ("partition-misses-buyer", GOOD + 'demand = "0"\n', ['market.demand = "0"', "misses buyer(s) [1]"]),
    ("competition-needs-monopsony", GOOD + 'demand = "competition"\n',
     ['market.demand = "competition"', "monopsony", "seller-first"]),
    ("bad-commitment-class", GOOD.replace('"seller-first"', '"intermediary-first"').replace(
        "seller = 0.5", 'intermediary = {class = "english", parameter = 0.2}'),
     ["market.intermediary", "english", "posted_price"]),
    ("sweep-both", GOOD + '[sweep]\ngrid = {"market.seller" = [0.1]}\npoints = [{"market.seller" = 0.2}]\n',
     ["both grid and points"]),
    ("sweep-grid-not-list", GOOD + '[sweep.grid]\n"market.seller" = 0.3\n',
     ["sweep.grid.market.seller = 0.3", "nonempty list"]),
    ("sweep-key-outside-market", GOOD + '[sweep.grid]\n"seeds.count" = [1, 2]\n',
     ["seeds.count", "does not start with 'market.'"]),
    ("sweep-bad-value", GOOD + '[sweep.grid]\n"market.seller" = [0.2, -1]\n',
     ["sweep point 1", "market.seller = -1"]),
    ("sweep-points-empty", GOOD + "[sweep]\npoints = []\n", ["sweep.points = []", "nonempty list"]),
    ("record-unknown-quantity", GOOD + '[record]\nquantities = ["profit"]\n',
     ['record.quantities = ["profit"]', "seller_revenue"]),
    ("record-every-zero", GOOD + "[record]\nevery = 0\n", ["record.every = 0", "whole number >= 1"]),
]



def write_spec(tmp_path: Path, text: str, name: str = "spec.toml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def test_at_least_fifteen_kinds_of_malformed_spec():
    assert len({case[0] for case in MALFORMED}) == len(MALFORMED) >= 15


@pytest.mark.parametrize("case,text,needles", MALFORMED, ids=[c[0] for c in MALFORMED])
def test_malformed_spec_is_one_line_exit_2_nothing_written(capsys, tmp_path, case, text, needles):
    spec = write_spec(tmp_path, text)
    out = tmp_path / "results"
    code, stdout, stderr = run_cli(capsys, "run", str(spec), "--out", str(out), "--executor", "serial")
    assert code == 2
    assert stdout == ""
    assert stderr.startswith("agora: error: ") and stderr.count("\n") == 1, stderr
    for needle in needles:
        assert needle in stderr, (needle, stderr)
    assert not out.exists()


def test_missing_spec_file(capsys, tmp_path):
    code, _, err = run_cli(capsys, "run", str(tmp_path / "none.toml"), "--out", str(tmp_path / "r"))
    assert code == 2 and "cannot read spec" in err and err.count("\n") == 1
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("argv", [("run", "", "--out", "r"), ("simulate", "--spec", ""), ("simulate", "--spec", " ")])
def test_empty_spec_path_names_the_empty_value(capsys, tmp_path, monkeypatch, argv):
    """An empty --spec / spec argument is refused naming '' (not '.', what Path('') becomes)."""
    monkeypatch.chdir(tmp_path)
    code, out, err = run_cli(capsys, *argv)
    assert code == 2 and out == "" and err.count("\n") == 1, err
    assert f"cannot read spec {argv[-1] if argv[0] == 'simulate' else ''!r}: an empty path" in err, err
    assert "'.'" not in err and list(tmp_path.iterdir()) == []


def test_scheduler_with_another_executor_is_refused(capsys, tmp_path):
    spec = write_spec(tmp_path, GOOD)
    code, _, err = run_cli(capsys, "run", str(spec), "--out", str(tmp_path / "r"), "--executor", "serial",
                           "--scheduler", "tcp://127.0.0.1:8786")
    assert code == 2 and "--scheduler needs --executor dask" in err
    assert not (tmp_path / "r").exists()


def test_unreachable_scheduler_is_one_line_and_writes_nothing(capsys, tmp_path):
    spec = write_spec(tmp_path, GOOD)
    code, _, err = run_cli(capsys, "run", str(spec), "--out", str(tmp_path / "r"), "--scheduler", "nowhere://x")
    assert code == 2 and "cannot reach the Dask scheduler at 'nowhere://x'" in err and err.count("\n") == 1
    assert not (tmp_path / "r").exists()


# ------------------------------------------------------------------ what is accepted
@pytest.mark.parametrize("path", SPECS, ids=lambda p: p.stem)
def test_example_specs_load(path):
    spec = load_spec(path)
    assert spec.runs == len(spec.points) * spec.seeds.count >= 4
    assert 1 <= len(spec.sweep_keys) <= 3  # a basin sweep sweeps one start per side


def test_one_example_spec_per_protocol():
    protocols = ["seller-first", "intermediary-first", "simultaneous", "learning", "learning-k-items",
                 "veto-bargaining", "posted-menu", "robust", "k-item-auction", "q-learning",
                 "adaptive-play", "q-learning-fees"]
    assert sorted(p.points[0].protocol for p in map(load_spec, SPECS)) == sorted(protocols)
    assert set(protocols) == set(registry())


def test_grid_is_the_cartesian_product_last_key_fastest(tmp_path):
    spec = load_spec(write_spec(tmp_path, GOOD + '[sweep.grid]\n"market.seller" = [0.1, 0.2, 0.3]\n'
                                               'market.evaluator = ["abm", "mc"]\n'))
    assert spec.sweep_keys == ("seller", "evaluator")
    assert [(p.columns["seller"], p.columns["evaluator"]) for p in spec.points] == [
        (0.1, "abm"), (0.1, "mc"), (0.2, "abm"), (0.2, "mc"), (0.3, "abm"), (0.3, "mc")]
    assert [p.params["seller"] for p in spec.points] == [0.1, 0.1, 0.2, 0.2, 0.3, 0.3]
    assert [t.run for t in spec.tasks()] == list(range(12))
    assert [(t.point, t.seed) for t in spec.tasks()][:3] == [(0, 0), (0, 1), (1, 0)]


def test_points_and_grid_asking_for_the_same_runs_are_the_same_spec(tmp_path):
    grid = load_spec(write_spec(tmp_path, GOOD + '[sweep.grid]\n"market.seller" = [0.1, 0.4]\n', "a.toml"))
    points = load_spec(write_spec(tmp_path, GOOD + '# comment\n[[sweep.points]]\nmarket.seller = 0.1\n'
                                                   '[[sweep.points]]\n"market.seller" = 0.4\n', "b.toml"))
    other = load_spec(write_spec(tmp_path, GOOD + '[sweep.grid]\n"market.seller" = [0.1, 0.5]\n', "c.toml"))
    assert grid.name != points.name
    assert grid.canonical()["points"] == points.canonical()["points"]
    assert other.canonical()["points"] != grid.canonical()["points"]


def test_mixed_column_types_become_json_text_and_ints_promote_to_float(tmp_path):
    spec = load_spec(write_spec(tmp_path, GOOD + '[sweep.grid]\n"market.seller" = ["stackelberg", 0.5]\n'
                                               '"market.exact" = [true, false]\n'))
    assert [p.columns["seller"] for p in spec.points] == ['"stackelberg"'] * 2 + ["0.5"] * 2
    assert [p.columns["exact"] for p in spec.points] == [True, False] * 2
    spec = load_spec(write_spec(tmp_path, GOOD + '[sweep.grid]\n"market.seller" = [1, 0.5]\n', "b.toml"))
    assert [p.columns["seller"] for p in spec.points] == [1.0, 0.5]
    assert [p.params["seller"] for p in spec.points] == [1.0, 0.5]
    with pytest.raises(SpecError, match=r"market.n = 2.0: not a whole number"):  # the kind wants an integer
        load_spec(write_spec(tmp_path, GOOD + '[[sweep.points]]\n"market.n" = 2.0\n', "d.toml"))


def test_n_repeats_one_spec(tmp_path):
    spec = load_spec(write_spec(tmp_path, GOOD.replace('["uniform:0,1", "uniform:0,2"]', '"exponential:1"')
                                + "n = 4\n"))
    assert spec.points[0].params["bidders"] == ["exponential:1"] and spec.points[0].params["n"] == 4


def test_run_seeds_are_spawned_children_of_the_base_sequence(tmp_path):
    """Run r draws from SeedSequence(base).spawn(runs)[r]; with common = true, point-independent."""
    spec = load_spec(write_spec(tmp_path, GOOD + '[sweep.grid]\n"market.seller" = [0.1, 0.4]\n'))
    children = np.random.SeedSequence(7).spawn(spec.runs)
    for task, child in zip(spec.tasks(), children):
        assert task.rng().random(3).tolist() == np.random.default_rng(child).random(3).tolist()
    draws = [t.rng().random() for t in spec.tasks()]
    assert len(set(draws)) == 4
    common = load_spec(write_spec(tmp_path, GOOD.replace("base = 7", "base = 7\ncommon = true")
                                  + '[sweep.grid]\n"market.seller" = [0.1, 0.4]\n', "c.toml"))
    draws = [t.rng().random() for t in common.tasks()]
    assert draws[0] == draws[2] and draws[1] == draws[3] and draws[0] != draws[1]
