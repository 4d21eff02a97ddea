"""`agora solve ipm`: the JSON contract, closed-form numbers and one-line errors (exit status 2)."""

from __future__ import annotations

import json
import math

import pytest

from agora.experiments.cli import main


def run(capsys, *argv) -> tuple[int, str, str]:
    code = main(["solve", "ipm", *argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_json_keys_and_closed_form(capsys):
    """Uniform, n = 6, k = 2: p_R = 3/4, revenue 3957/4096, Wel = 11/7, Corollary 2's bound."""
    code, out, _ = run(capsys, "--buyers", "6", "--items", "2", "--dist", "uniform:0,1",
                       "--partition", "0,1|2,3,4|5", "--json")
    d = json.loads(out)
    assert code == 0
    for key in ("price", "revenue", "welfare", "ratio", "guarantee"):
        assert key in d
    assert d["price"] == pytest.approx(0.75, abs=1e-12)
    assert d["revenue"] == pytest.approx(3957 / 4096, abs=1e-12)
    assert d["welfare"] == pytest.approx(11 / 7, abs=1e-12)
    assert d["ratio"] == pytest.approx(d["revenue"] / d["welfare"], rel=1e-12)
    assert d["guarantee"] == pytest.approx(math.exp(-1) * (1 - math.exp(-1)) * 11 / 7, abs=1e-12)
    assert d["partition"] == [[0, 1], [2, 3, 4], [5]]


def test_monopolist_uses_c_lambda_and_the_half(capsys):
    """n = 7, k = 3 (k does not divide n): tau c(lambda)/2 (1 - 1/e) with tau = c(0) = 1/e."""
    code, out, _ = run(capsys, "--buyers", "7", "--items", "3", "--dist", "uniform:0,1",
                       "--intermediary", "monopolist", "--json")
    d = json.loads(out)
    assert d["guarantee_factor"] == pytest.approx(math.exp(-2) / 2 * (1 - math.exp(-1)), abs=1e-12)
    assert d["revenue"] > d["guarantee"]


def test_heterogeneous_menu_gives_prices(capsys):
    code, out, _ = run(capsys, "--buyers", "6", "--items", "3", "--dist", "uniform:0,1",
                       "--weights", "1,0.6,0.2", "--rounds", "20000", "--json")
    d = json.loads(out)
    assert code == 0 and d["price"] is None and len(d["prices"]) == 3
    assert d["guarantee_result"] == "Theorem 2"
    assert d["revenue"] - 4 * d["revenue_stderr"] > d["guarantee"]


def test_table_output(capsys):
    code, out, _ = run(capsys, "--buyers", "4", "--items", "2", "--dist", "exponential:1")
    assert code == 0 and "guarantee" in out and "Corollary 2" in out


@pytest.mark.parametrize("argv,needle", [
    (["--buyers", "6", "--items", "2", "--dist", "uniform:0,1", "--partition", "0,1|2"], "misses buyer"),
    (["--buyers", "6", "--items", "2", "--dist", "foo:1"], "unknown distribution"),
    (["--buyers", "3", "--items", "2", "--dist", "uniform:0,1", "--weights", "0.5,1"], "non-increasing"),
    (["--buyers", "3", "--items", "2", "--dist", "uniform:0,1", "--weights", "1,0.5,0.2"], "one weight per item"),
    (["--buyers", "3", "--items", "2", "--dist", "uniform:0,1", "--partition", "0,x"], "cannot read partition"),
])
def test_bad_input_is_one_line_exit_2(capsys, argv, needle):
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == ""
    assert needle in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("argv", [["--buyers", "0", "--items", "2", "--dist", "uniform:0,1"],
                                  ["--buyers", "3", "--items", "2", "--dist", "uniform:0,1", "--weights", "a"],
                                  ["--buyers", "3", "--items", "2", "--dist", "uniform:0,1",
                                   "--intermediary", "broker"]])
def test_usage_errors_exit_2(capsys, argv):
    with pytest.raises(SystemExit) as exc:
        main(["solve", "ipm", *argv])
    assert exc.value.code == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
