"""``agora solve robust``: the contract keys, scaling with VBAR, and one-line errors."""

from __future__ import annotations

import json
import math

import pytest
from cli_run import run_cli

KEYS = {"spa_reserve", "spa_revenue", "hbl_sigma", "hbl_revenue", "upper_bound"}



def test_json_has_the_contract_keys_and_the_thesis_values(capsys):
    code, out, err = run_cli(capsys, "solve", "robust", "--bidders", "2", "--mean", "0.5", "--json")
    assert code == 0 and err == ""
    d = json.loads(out)
    assert KEYS <= set(d)
    assert d["spa_reserve"] == pytest.approx(1 - math.sqrt(0.5), abs=1e-12)
    assert d["spa_revenue"] == pytest.approx(0.171573, abs=5e-7)
    assert d["hbl_sigma"] == pytest.approx(0.465941, abs=5e-7)
    assert d["hbl_revenue"] == pytest.approx(0.317844, abs=5e-7)
    r = d["hbl_revenue"]
    assert d["upper_bound"] == pytest.approx(min(0.5, r * (2 - r)))


def test_values_scale_with_the_upper_bound_and_the_lp_agrees(capsys):
    _, out, _ = run_cli(capsys, "solve", "robust", "--bidders", "3", "--mean", "0.5", "--json")
    unit = json.loads(out)
    code, out, _ = run_cli(capsys, "solve", "robust", "--bidders", "3", "--mean", "5", "--upper", "10",
                           "--grid", "41", "--json")
    d = json.loads(out)
    assert code == 0
    for k in ("spa_reserve", "spa_revenue", "hbl_revenue", "upper_bound"):
        assert d[k] == pytest.approx(10 * unit[k], rel=1e-12)
    assert d["hbl_sigma"] == pytest.approx(unit["hbl_sigma"], rel=1e-12)
    assert d["lp"]["spa_revenue"] == pytest.approx(d["spa_revenue"], abs=1e-6)
    assert d["lp"]["hbl_revenue"] == pytest.approx(d["hbl_revenue"], abs=1e-6)


def test_table_output(capsys):
    code, out, _ = run_cli(capsys, "solve", "robust", "--bidders", "4", "--mean", "0.9")
    assert code == 0 and "hbl_revenue" in out and "M3" in out


@pytest.mark.parametrize("argv,needle", [
    (["--bidders", "1", "--mean", "0.5"], "bidders >= 2"),
    (["--bidders", "2", "--mean", "1.5"], "mean bound"),
    (["--bidders", "2", "--mean", "0.5", "--upper", "0"], "upper bound"),
    (["--bidders", "2", "--mean", "x"], "expected a number"),
    (["--bidders", "2", "--mean", "nan"], "mean bound"),
])
def test_bad_input_is_one_line_and_exit_2(capsys, argv, needle):
    code, out, err = run_cli(capsys, "solve", "robust", *argv)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and needle in err
