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


def test_costs_give_chapter_2_regret_per_item_and_in_total(capsys):
    """Remark 2.3.1: (1/e) Σ (v̄_j - c_j)^+; item 2 (c = 1.5 >= v̄ = 1) is never sold."""
    from agora.market.robust.mechanisms import RandomPostedPrice

    code, out, err = run_cli(capsys, "solve", "robust", "--costs", "0.2,1.5", "--json")
    assert code == 0 and err == ""
    d = json.loads(out)
    assert d["worst_case_regret"] == pytest.approx(0.8 / math.e, rel=1e-12)
    assert d["worst_case_regret"] == RandomPostedPrice.of([1.0, 1.0], [0.2, 1.5]).worst_case_regret
    assert [row["on_sale"] for row in d["items"]] == [True, False]
    assert [row["regret"] for row in d["items"]] == pytest.approx([0.8 / math.e, 0.0], abs=1e-15)
    assert d["items"][0]["lowest_price"] == pytest.approx(0.2 + 0.8 / math.e, rel=1e-12)
    assert d["items"][1]["lowest_price"] is None and "Remark 2.3.1" in d["items"][1]["source"]
    code, out, _ = run_cli(capsys, "solve", "robust", "--costs", "0.2,1.5", "--upper", "1,2")
    assert code == 0 and "0.478243" in out  # (0.8 + 0.5)/e, printed to 6 digits
    assert "1.5" in out and "trivial mechanism" not in out  # item 2 on sale: 1.5 < 2


def test_costs_with_a_design_grid_report_lp_2_6(capsys):
    from agora.market.robust.design import pricing_design_lp

    code, out, _ = run_cli(capsys, "solve", "robust", "--costs", "0.2,1.5", "--design-grid", "9", "--json")
    d = json.loads(out)["design_lp"]
    assert code == 0 and "Optimal" in d["status"]
    assert d["value"] == pytest.approx(pricing_design_lp([1.0], [0.2], 9).value, abs=1e-9)  # item 2 adds nothing
    assert d["value"] <= d["closed_form"] == pytest.approx(0.8 / math.e)  # Lemma 2.3.2


@pytest.mark.parametrize("argv,needle", [
    (["--costs", "0.2,0.5", "--upper", "1,2,3"], "--costs lists 2 items but --upper lists 3"),
    (["--costs=-0.1,0.5"], "a cost must be a finite number >= 0, got -0.1"),
    (["--costs", "0.2,nan"], "a cost must be a finite number, got nan"),
    (["--costs", "inf"], "a cost must be a finite number, got inf"),
    (["--costs", "0.2,x"], "expected a number, got 'x'"),
    (["--costs", "0.2", "--upper", "0"], "upper bound of values must be a finite number > 0"),
    (["--costs", "0.2", "--bidders", "2", "--mean", "0.5"], "does not take --bidders, --mean"),
    (["--bidders", "2"], "missing --mean"),
    (["--bidders", "2", "--mean", "0.5", "--upper", "1,2"], "--upper takes one value"),
    (["--costs", "0.1,0.2,0.3", "--design-grid", "40"], "largest grid that fits has 8 points"),
])
def test_bad_costs_are_one_line_and_exit_2(capsys, argv, needle):
    code, out, err = run_cli(capsys, "solve", "robust", *argv)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and needle in err


@pytest.mark.parametrize("argv,needle", [
    (["--bidders", "2", "--mean", "0.3", "--design-grid", "1"], "--design-grid: expected a number >= 2, got 1"),
    (["--bidders", "2", "--mean", "0.3", "--design-grid", "70", "--max-seconds", "5"],
     "--design-grid = 70 would need about"),
    (["--bidders", "2", "--mean", "0.3", "--design-grid", "40", "--max-memory", "10MB"],
     "the largest that fits --max-memory 10 MB"),
    (["--costs", "0.2,0.5", "--design-grid", "20", "--max-seconds", "1"], "--design-grid = 20 would need"),
    (["--bidders", "1000", "--mean", "0.3", "--design-grid", "5"], "about 10^702 LP variables"),
    (["--bidders", "8", "--mean", "0.3", "--design-grid", "2", "--max-seconds", "1"], "not even the smallest grid"),
])
def test_design_grid_within_the_limits_before_work(capsys, argv, needle):
    """The design LP's estimate (the library's cost per variable or constraint) against --max-memory and
    --max-seconds: refused in one line, exit 2, before any LP is built."""
    code, out, err = run_cli(capsys, "solve", "robust", *argv)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and needle in err
