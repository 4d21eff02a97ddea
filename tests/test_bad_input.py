"""Bad input is refused before any work or any write: one line on stderr, exit status 2 (issue 20).

Each case runs ``agora`` in-process and checks the exit status, that stderr is one line naming
the value, and that nothing was written; the Python API raises :class:`InputError`.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
from cli_run import run_cli

from agora.market.distributions import SpecError, parse_spec
from agora.market.errors import InputError
from agora.models.market_model import MarketModel

# a folder no process can create files in, even as root
UNWRITABLE = "/proc/agora-nothing-here"


def refused(capsys, *argv: str) -> str:
    """The one line ``agora argv`` prints, checking the exit status and that no traceback came."""
    code, out, err = run_cli(capsys, *argv)
    assert code == 2, (code, out, err)
    assert out == ""
    assert len(err.splitlines()) == 1, err
    assert "Traceback" not in err
    return err


def files_under(folder) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


# ------------------------------------------------------------------ output paths
@pytest.fixture
def a_file(tmp_path):
    path = tmp_path / "plain.txt"
    path.write_text("x")
    return path


def out_argvs(out: str) -> list[list[str]]:
    return [["simulate", "seller-first", "--bidder", "uniform:0,1", "--rounds", "5", "--out", f"{out}/t.csv"],
            ["simulate", "seller-first", "--bidder", "uniform:0,1", "--rounds", "5",
             "--messages", f"{out}/m.csv"],
            ["plot", "seller-first", "--bidder", "uniform:0,1", "--out", f"{out}/f.png"],
            ["reproduce", "seller-first", "--out", f"{out}/rep"]]


@pytest.mark.parametrize("case", range(4))
def test_out_inside_a_file_is_refused_before_work(capsys, tmp_path, a_file, case):
    """A path whose parent is a file: refused at once (the reproduction does not run first)."""
    err = refused(capsys, *out_argvs(str(a_file))[case])
    assert "which is a file" in err and str(a_file) in err
    assert files_under(tmp_path) == ["plain.txt"]


@pytest.mark.parametrize("case", range(4))
def test_out_in_an_unwritable_folder_is_refused(capsys, case):
    err = refused(capsys, *out_argvs(UNWRITABLE)[case])
    assert "cannot write in '/proc'" in err


def test_out_file_that_is_a_folder_is_refused(capsys, tmp_path):
    (tmp_path / "t.csv").mkdir()
    err = refused(capsys, "simulate", "seller-first", "--bidder", "uniform:0,1", "--rounds", "5",
                  "--out", str(tmp_path / "t.csv"))
    assert "is a folder" in err


def test_reproduce_out_that_is_a_file_is_refused_at_once(capsys, a_file):
    err = refused(capsys, "reproduce", "seller-first", "--out", str(a_file))
    assert "is a file" in err
    assert a_file.read_text() == "x"


def test_run_out_inside_a_file_is_refused(capsys, tmp_path, a_file):
    spec = tmp_path / "s.toml"
    spec.write_text('steps = 2\n[seeds]\ncount = 1\nbase = 1\n[market]\nprotocol = "seller-first"\n'
                    'bidders = ["uniform:0,1"]\n')
    err = refused(capsys, "run", str(spec), "--out", str(a_file / "res"), "--executor", "serial")
    assert "which is a file" in err
    assert files_under(tmp_path) == ["plain.txt", "s.toml"]


def test_missing_folders_are_still_made(capsys, tmp_path):
    """A missing folder under a writable one is fine: it is created when the table is written."""
    out = tmp_path / "new" / "deeper" / "t.csv"
    code, _, err = run_cli(capsys, "simulate", "seller-first", "--bidder", "uniform:0,1", "--rounds", "3",
                           "--out", str(out))
    assert code == 0, err
    assert out.exists()


def test_mc_with_out_is_refused(capsys, tmp_path):
    """--evaluator mc keeps no per-round rows: --out would be silently ignored, so it is refused."""
    err = refused(capsys, "simulate", "seller-first", "--bidder", "uniform:0,1", "--evaluator", "mc",
                  "--out", str(tmp_path / "x.csv"))
    assert "--out" in err and "--evaluator abm" in err
    assert files_under(tmp_path) == []


# ------------------------------------------------------------------ specs
@pytest.mark.parametrize("spec, named", [
    ("truncnorm:nan,1,0,1", "'nan' is not a number"),
    ("truncnorm:1,inf,0,1", "inf is out of range"),
    ("truncnorm:1e308,1,0,1", "1e308 is out of range"),
    ("uniform:0,1e308", "1e308 is out of range"),
    ("exponential:1e300", "1e300 is out of range"),
    ("beta:1e300,1,0,1", "1e300 is out of range"),
    ("pareto:0.5,1,1e305", "1e305 is out of range"),
    ("pareto:0.5,1e200,1e300", "1e200 is out of range"),
    ("exponential:1e-14", "MEAN >= 1e-13"),
    ("uniform:0,1e-14", "HI - LO >= 1e-13"),
    ("beta:1e6,1,0,1", "A, B <= 10000"),
    ("truncnorm:1e5,1,0,1", "|LO - MEAN| <= 10000 SD"),
    ("truncnorm:1,1e6,0,2", "SD / (HI - LO)"),
    ("truncnorm:1,1e-5,0,2", "|LO - MEAN| <= 10000 SD"),
    ("truncnorm:1,10,0.999,1.001", "SD / (HI - LO)"),
])
def test_spec_out_of_range_is_one_line_naming_the_value(spec, named):
    """Each of these made a solver crash, hang or print zeros before; now parse_spec refuses it."""
    with pytest.raises(SpecError) as info:
        parse_spec(spec)
    msg = str(info.value)
    assert named in msg and "\n" not in msg and "accepted:" in msg


@pytest.mark.parametrize("spec", ["pareto:0.5,1,inf", "truncnorm:2,1,0.5,inf", "uniform:0,1e150",
                                  "exponential:1e150", "beta:1e4,1,0,1", "uniform:1e-150,1"])
def test_spec_inside_the_bounds_is_kept(spec):
    assert parse_spec(spec).spec


def test_exponential_scale_at_the_bounds_scales_the_revenue():
    """The bounds are where the solvers stay right: revenue of exponential:MEAN is MEAN x that of MEAN 1."""
    from agora.market.single_item.seller_first import solve_seller_first

    one = solve_seller_first(["exponential:1"] * 2)
    for mean in (1e-6, 1e150):
        sol = solve_seller_first([f"exponential:{mean:g}"] * 2)
        assert sol.seller_revenue / mean == pytest.approx(one.seller_revenue, rel=1e-6)
        assert sol.intermediary_revenue / mean == pytest.approx(one.intermediary_revenue, rel=1e-6)


def test_seller_first_with_a_nan_spec_refuses(capsys):
    err = refused(capsys, "solve", "seller-first", "--bidder", "truncnorm:nan,1,0,1")
    assert "truncnorm:nan,1,0,1" in err


# ------------------------------------------------------------------ options
def test_partition_empty_is_refused(capsys):
    err = refused(capsys, "solve", "ipm", "--buyers", "3", "--items", "1", "--dist", "uniform:0,1",
                  "--partition", "")
    assert "cannot read partition ''" in err


def test_partition_with_more_blocks_than_buyers_is_refused_before_reading(capsys):
    err = refused(capsys, "solve", "ipm", "--buyers", "3", "--items", "1", "--dist", "uniform:0,1",
                  "--partition", "|".join(["0"] * 100_000))
    assert "100000 blocks" in err and "3 buyers" in err


def test_a_short_partition_for_a_billion_buyers_is_refused_at_once(capsys):
    """The missing buyers are counted, not listed: range(10^9) was built, and hung."""
    err = refused(capsys, "solve", "k-auction", "--buyers", "1000000000", "--items", "1", "--dist", "uniform:0,1",
                  "--utility", "surplus", "--partition", "0")
    assert "misses buyer(s) [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, ...] (999999999 in all)" in err


@pytest.mark.parametrize("argv, expected", [
    (["solve", "simultaneous", "--bidder", "uniform:0,1", "--grid", "-3"], "expected a number >= 1, got -3"),
    (["solve", "simultaneous", "--bidder", "uniform:0,1", "--grid", "0"], "expected a number >= 1, got 0"),
    (["simulate", "seller-first", "--bidder", "uniform:0,1", "--rounds=-1"], "expected a number >= 1, got -1"),
    (["simulate", "seller-first", "--bidder", "uniform:0,1", "--seed=-1"], "expected a number >= 0, got -1"),
    (["simulate", "seller-first", "--bidder", "uniform:0,1", "--price", "-inf"], "--price=-1"),
    (["simulate", "seller-first", "--bidder", "uniform:0,1", "--price=-inf"], "finite number >= 0, got -inf"),
    (["simulate", "seller-first", "--bidder", "uniform:0,1", "--price=inf"], "finite number >= 0, got inf"),
    (["solve", "ipm", "--buyers", "3", "--items", "1", "--dist", "uniform:0,1", "--partition", "-1|0,1,2"],
     "is written with '=', like --partition=-1"),
    (["solve", "ipm", "--buyers", "3", "--items", "1", "--dist", "uniform:0,1", "--partition=-1|0,1,2"],
     "4 buyer entries for 3 buyers"),
    (["solve", "ipm", "--buyers", "3", "--items", "2", "--dist", "uniform:0,1", "--weights", "1,nan"],
     "finite weights"),
    (["solve", "robust", "--bidders", "2", "--mean", "0.5", "--upper", "inf"],
     "upper bound of values must be a finite number, got inf"),
    (["solve", "robust", "--bidders", "2", "--mean", "nan"], "mean bound must be a finite number, got nan"),
    (["solve", "robust", "--bidders", "2", "--mean", "0.5", "--upper", "0"], "finite number > 0, got 0"),
])
def test_option_messages(capsys, argv, expected):
    assert expected in refused(capsys, *argv)


# ------------------------------------------------------------------ the Python API
@pytest.mark.parametrize("kwargs, named", [
    ({"bidders": None}, "bidders must be a list"),
    ({"bidders": "uniform:0,1"}, "write ['uniform:0,1']"),
    ({"bidders": []}, "bidders is empty"),
    ({"protocol": 5}, "cannot use 5 as a protocol"),
    ({"demand": 7}, "cannot use 7 as a demand structure"),
    ({"demand": "0|2"}, "not among buyers"),
    ({"rng": "abc"}, "cannot use 'abc' as rng"),
    ({"rng": -1}, "cannot use -1 as rng"),
    ({"rng": 1.5}, "cannot use 1.5 as rng"),
    ({"replay": "abc"}, "replay must be an array"),
    ({"replay": np.zeros((3, 3))}, "shape (rounds >= 1, 2 buyers), got shape (3, 3)"),
    ({"replay": np.zeros(2)}, "got shape (2,)"),
    ({"replay": np.array([[0.5, np.nan]])}, "finite numbers >= 0, got nan"),
    ({"replay": np.array([[0.5, -1.0]])}, "got -1.0"),
    ({"seller": np.float64(-1.0)}, "finite number >= 0, got -1.0"),
    ({"seller": "best"}, "cannot use 'best' as a seller"),
    ({"intermediary": np.inf, "protocol": "intermediary-first"}, "finite number >= 0, got inf"),
    ({"bidders": ["beta:0.5,0.5,0,1", "uniform:0,1"]}, "bidder 0"),
])
def test_market_model_refuses_at_construction(kwargs, named):
    with pytest.raises(InputError) as info:
        MarketModel(**kwargs)
    assert named in str(info.value) and "\n" not in str(info.value)


def test_numpy_integer_seller_is_a_posted_price():
    """seller=np.int64(1) used to be taken for a strategy (numpy scalars have .choose); it is price 1."""
    model = MarketModel(("uniform:0,2", "uniform:0,2"), seller=np.int64(1), replay=[[1.5, 0.2]], rng=0)
    model.step()
    assert model.last.seller_price == 1.0
    assert model.last.seller_revenue == 1.0  # the buyer of value 1.5 clears the reserve: the seller gets p


def test_partition_string_demand_and_numpy_seed():
    model = MarketModel(("uniform:0,1", "uniform:0,1"), demand="0,1", rng=np.int64(3))
    model.step()
    assert len(model.intermediaries) == 1


def test_out_check_leaves_no_probe_behind(tmp_path):
    from agora.experiments.output import check_out_dir, check_out_file

    check_out_file(tmp_path / "a" / "b.csv")
    check_out_dir(tmp_path / "c")
    check_out_dir(tmp_path)
    assert os.listdir(tmp_path) == []


def test_unprintable_characters_are_escaped_in_the_one_line(capsys):
    """A spec holding a record separator (found by the fuzz suite) still gives one line."""
    err = refused(capsys, "solve", "seller-first", "--bidder", ":\x1e")
    assert "\\x1e" in err


# ------------------------------------------------------------------ viz
def test_viz_port_in_use_is_refused_without_claiming_to_serve(capsys):
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        err = refused(capsys, "viz", "--port", str(port))
    assert f"cannot serve on 127.0.0.1:{port}" in err


def test_viz_bad_host_is_refused_without_claiming_to_serve(capsys):
    err = refused(capsys, "viz", "--host", "256.1.1.1")
    assert "--host '256.1.1.1'" in err
