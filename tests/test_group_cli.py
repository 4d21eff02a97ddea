"""``agora solve group`` (a public interface): keys, input order, trivial cases, bad input."""

from __future__ import annotations

import json
import math

import pytest
from cli_run import run_cli

KEYS = {"weights", "profit", "trade_probability", "posted_price", "posted_price_profit", "trivial"}



def solve(capsys, *members, cost=None):
    argv = ["solve", "group"] + [a for m in members for a in ("--member", m)] + ["--json"]
    if cost is not None:
        argv += ["--cost", str(cost)]
    code, out, err = run_cli(capsys, *argv)
    assert code == 0 and err == "", err
    return json.loads(out)


def test_example_1_json(capsys):
    d = solve(capsys, "uniform:0,2", "uniform:0,3")
    assert KEYS <= d.keys()
    assert d["weights"][0] == pytest.approx(math.sqrt(3 / 7), abs=1e-8)
    assert d["profit"] == pytest.approx(0.3956, abs=1e-3)
    assert d["posted_price"] == pytest.approx((5 - math.sqrt(7)) / 3, abs=1e-9)
    assert d["posted_price_profit"] == pytest.approx(0.3521, abs=1e-4)
    assert d["trivial"] is None and d["trade_probability"] == pytest.approx(0.5, abs=1e-9)


def test_weights_follow_input_order(capsys):
    d = solve(capsys, "uniform:0,3", "uniform:0,2")
    assert d["weights"][1] == pytest.approx(math.sqrt(3 / 7), abs=1e-8)


@pytest.mark.parametrize("members,cost,kind", [(("uniform:0,1", "uniform:0,2"), 1.0, "never"),
                                               (("uniform:1,2", "uniform:1.5,3"), 0.0, "always")])
def test_trivial_cases(capsys, members, cost, kind):
    d = solve(capsys, *members, cost=cost)
    assert d["trivial"] == kind
    assert d["trade_probability"] == (0.0 if kind == "never" else 1.0)


def test_table_output(capsys):
    code, out, _ = run_cli(capsys, "solve", "group", "--member", "uniform:0,2", "--member", "uniform:0,3")
    assert code == 0 and "posted_price_profit" in out and "uniform:0,3" in out


@pytest.mark.parametrize("argv,needle", [
    (["--member", "point:1"], "atom"),
    (["--member", "gamma:1"], "unknown distribution"),
    (["--member", "uniform:0,1", "--cost", "-1"], "--cost"),
    (["--member", "uniform:2,1"], "LO < HI"),
    ([], "--member"),
])
def test_bad_input_one_line_exit_2(capsys, argv, needle):
    code, out, err = run_cli(capsys, "solve", "group", *argv)
    assert code == 2 and out == ""
    assert needle in err and err.count("\n") == 1
