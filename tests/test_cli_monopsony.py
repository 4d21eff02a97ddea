"""`agora solve monopsony`: the optimum against brute force, one-line errors (exit status 2)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from agora.experiments.cli import main
from agora.market.k_items.monopsony_lp import quantile_grid


def run(capsys, *argv) -> tuple[int, str, str]:
    code = main(["solve", "monopsony", *argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_one_buyer_one_item_prints_the_best_grid_price(capsys):
    code, out, _ = run(capsys, "--buyers", "1", "--items", "1", "--dist", "exponential:1", "--grid", "9", "--json")
    d = json.loads(out)
    law = quantile_grid("exponential:1", 9)
    best = max(p * law.probs[law.points >= p].sum() for p in law.points)  # brute force over grid prices
    assert code == 0 and d["revenue"] == pytest.approx(best, abs=1e-9)
    assert d["welfare"] == pytest.approx(float(np.mean(law.points)), abs=1e-12)
    assert d["max_ic_gain"] <= 1e-7 and d["types"] == 9


def test_table_output(capsys):
    code, out, _ = run(capsys, "--buyers", "2", "--items", "2", "--dist", "uniform:0,1", "--grid", "4")
    assert code == 0 and "bundle_revenue" in out and "linear program (HiGHS)" in out


@pytest.mark.parametrize("argv,needle", [
    (["--buyers", "2", "--items", "3", "--dist", "uniform:0,1", "--grid", "4"], "--items 3 must be at most"),
    (["--buyers", "2", "--items", "2", "--dist", "exponential:1", "--grid", "4", "--points", "upper"],
     "bounded support"),
    (["--buyers", "8", "--items", "8", "--dist", "uniform:0,1", "--grid", "12", "--max-seconds", "60"],
     "--grid = 12 would need"),
    (["--buyers", "2", "--items", "2", "--dist", "foo:1", "--grid", "100000000"], "unknown distribution"),
])
def test_bad_input_is_one_line_exit_2(capsys, argv, needle):
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == ""
    assert needle in err and len(err.strip().splitlines()) == 1
