"""The ``agora`` command line (DESIGN.md, "The command line"): a public interface.

Most tests call :func:`agora.experiments.cli.main` in-process and read stdout/stderr
with ``capsys``; one smoke test runs the installed ``.venv/bin/agora`` script.
Exact values are derived by hand below and checked to 1e-9; Monte Carlo means
are checked to 4 standard errors with the sample size stated in the test.
"""

from __future__ import annotations

import json
import math
import re
import stat
import subprocess
from pathlib import Path

import pandas as pd
import pytest
from cli_run import run_cli

EXACT = 1e-9
SIGMAS = 4.0
AGORA = Path(__file__).resolve().parents[1] / ".venv" / "bin" / "agora"
SOLVE_KEYS = {"seller_price", "seller_revenue", "intermediary_revenue",
              "no_intermediary_optimal_revenue", "sale_probability", "reserves"}
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"



def solve_json(capsys, *bidders: str) -> dict:
    argv = ["solve", "seller-first"]
    for b in bidders:
        argv += ["--bidder", b]
    code, out, err = run_cli(capsys, *argv, "--json")
    assert code == 0, err
    assert err == ""
    return json.loads(out)  # the whole of stdout is one JSON object


# --------------------------------------------------------------------- solve
def test_solve_json_one_uniform_bidder(capsys):
    """Theorem 3.1 by hand for one U[0,1] bidder: phi(v) = 2v - 1, P[Phi >= p] = (1 - p)/2.

    S(p) = p(1 - p)/2 peaks at p = 1/2 (revenue 1/8); the reserve is phi^-1(1/2) = 3/4,
    sold with probability 1/4; the intermediary earns E[(2v - 1 - 1/2)+] = 1/16 and
    OPT = E[(2v - 1)+] = 1/4.
    """
    d = solve_json(capsys, "uniform:0,1")
    assert SOLVE_KEYS <= d.keys()
    assert d["seller_price"] == pytest.approx(0.5, abs=EXACT)
    assert d["seller_revenue"] == pytest.approx(0.125, abs=EXACT)
    assert d["intermediary_revenue"] == pytest.approx(0.0625, abs=EXACT)
    assert d["no_intermediary_optimal_revenue"] == pytest.approx(0.25, abs=EXACT)
    assert d["sale_probability"] == pytest.approx(0.25, abs=EXACT)
    assert len(d["reserves"]) == 1
    assert d["reserves"][0] == pytest.approx(0.75, abs=EXACT)


def test_solve_json_reserves_follow_input_order(capsys):
    """Two uniform bidders U[0,1], U[0,2]: personalized reserves phi_i^-1(p) = (p + hi_i)/2.

    By hand, P[Phi < p] = (1 + p)/2 * (2 + p)/4 on [0, 1], so S(p) = (6p - 3p^2 - p^3)/8,
    maximized where p^2 + 2p - 2 = 0: p = sqrt(3) - 1.
    """
    p = math.sqrt(3.0) - 1.0
    d = solve_json(capsys, "uniform:0,1", "uniform:0,2")
    assert d["seller_price"] == pytest.approx(p, abs=EXACT)
    assert d["seller_revenue"] == pytest.approx((6 * p - 3 * p**2 - p**3) / 8, abs=EXACT)
    assert d["reserves"] == pytest.approx([(p + 1) / 2, (p + 2) / 2], abs=EXACT)

    swapped = solve_json(capsys, "uniform:0,2", "uniform:0,1")
    assert swapped["reserves"] == pytest.approx([(p + 2) / 2, (p + 1) / 2], abs=EXACT)


def test_solve_json_bad_instance_F_eps_H(capsys):
    """Theorem 3.4 with eps = 0.1, H = 1e12: the seller gets max(eps, H^(-eps/(1-eps))) = 0.1,
    the intermediary 1 - eps = 0.9, and OPT = 1 (the integrals telescope exactly)."""
    d = solve_json(capsys, "pareto:0.1,1,1e12")
    assert d["seller_revenue"] == pytest.approx(0.1, abs=EXACT)
    assert d["intermediary_revenue"] == pytest.approx(0.9, abs=EXACT)
    assert d["no_intermediary_optimal_revenue"] == pytest.approx(1.0, abs=EXACT)


def test_solve_without_json_prints_a_table(capsys):
    """The human-readable form names the quantities and every bidder's spec."""
    code, out, err = run_cli(capsys, "solve", "seller-first",
                             "--bidder", "uniform:0,1", "--bidder", "exponential:1")
    assert code == 0 and err == ""
    assert "seller_revenue" in out
    assert "uniform:0,1" in out and "exponential:1" in out
    with pytest.raises(json.JSONDecodeError):
        json.loads(out)


# --------------------------------------------------------------- bad input
BAD_INPUT = [
    pytest.param(["solve", "seller-first", "--bidder", "gamma:1,2"], "gamma", id="unknown-law"),
    pytest.param(["solve", "seller-first", "--bidder", "uniform:0"], "uniform:0", id="arg-count"),
    pytest.param(["solve", "seller-first", "--bidder", "uniform:0,x"], "'x'", id="not-a-number"),
    pytest.param(["solve", "seller-first", "--bidder", "uniform:1,0"], "uniform:1,0",
                 id="invalid-params"),
    pytest.param(["solve", "seller-first", "--bidder", "beta:0.3,0.3,0,1"], "beta:0.3,0.3,0,1",
                 id="not-regular"),
    pytest.param(["simulate", "seller-first", "--bidder", "uniform:0,1", "--price", "-1"], "-1",
                 id="negative-price"),
    pytest.param(["simulate", "seller-first", "--bidder", "uniform:0,1", "--rounds", "0"],
                 "--rounds", id="zero-rounds"),
    pytest.param(["simulate", "seller-first", "--bidder", "gamma:1", "--rounds", "5"], "gamma",
                 id="simulate-unknown-law"),
    pytest.param(["solve", "seller-first"], "--bidder", id="missing-bidder"),
    pytest.param(["frobnicate"], "frobnicate", id="unknown-command"),
    pytest.param(["solve", "frobnicate", "--bidder", "uniform:0,1"], "frobnicate",
                 id="unknown-model"),
]


@pytest.mark.parametrize("argv, names", BAD_INPUT)
def test_bad_input_is_one_line_and_status_2(capsys, argv, names):
    """DESIGN.md: a bad input is one line on stderr naming it, exit status 2, nothing on stdout."""
    code, out, err = run_cli(capsys, *argv)
    assert code == 2
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].strip(), err
    assert names in lines[0]
    assert "Traceback" not in err


def test_bad_spec_error_names_accepted_forms(capsys):
    """A bad spec names the accepted forms (DESIGN.md, distribution specs)."""
    _, _, err = run_cli(capsys, "solve", "seller-first", "--bidder", "gamma:1,2")
    for form in ("uniform:LO,HI", "exponential:MEAN", "pareto:ALPHA,SCALE[,CAP]", "point:V"):
        assert form in err


# -------------------------------------------------------- nothing half-written
HALF_WRITTEN = [
    pytest.param(["simulate", "seller-first", "--bidder", "uniform:0,1", "--rounds", "50",
                  "--out", "X.xlsx"], "X.xlsx", id="simulate-bad-table-suffix"),
    pytest.param(["simulate", "seller-first", "--bidder", "uniform:0,1", "--rounds", "50",
                  "--out", "r.csv", "--messages", "m.xlsx"], "m.xlsx", id="simulate-bad-log-suffix"),
    pytest.param(["plot", "seller-first", "--bidder", "gamma:1", "--out", "fig.png"], "gamma",
                 id="plot-bad-spec"),
    pytest.param(["plot", "seller-first", "--bidder", "uniform:0,1", "--out", "fig.jpg"], "fig.jpg",
                 id="plot-not-png"),
]


@pytest.mark.parametrize("argv, names", HALF_WRITTEN)
def test_failed_command_writes_nothing(capsys, tmp_path, monkeypatch, argv, names):
    """A command that fails leaves the output folder exactly as it was (empty)."""
    monkeypatch.chdir(tmp_path)
    code, out, err = run_cli(capsys, *argv)
    assert code == 2
    assert out == ""
    assert len(err.splitlines()) == 1 and names in err
    assert sorted(p.name for p in tmp_path.iterdir()) == []


# ---------------------------------------------------------------------- plot
def test_plot_writes_a_png(capsys, tmp_path, monkeypatch):
    """`agora plot` saves a PNG at --out, creating the folder, leaving no temporary file."""
    monkeypatch.chdir(tmp_path)
    code, out, err = run_cli(capsys, "plot", "seller-first", "--bidder", "uniform:0,1",
                             "--bidder", "uniform:0,1", "--out", "tmp/fig.png", "--points", "60")
    assert code == 0, err
    fig = tmp_path / "tmp" / "fig.png"
    assert fig.read_bytes().startswith(PNG_SIGNATURE)
    assert fig.stat().st_size > 1000
    assert sorted(p.name for p in (tmp_path / "tmp").iterdir()) == ["fig.png"]
    assert "fig.png" in out


# ------------------------------------------------------------------ simulate
SIM_BIDDERS = ["--bidder", "uniform:0,1", "--bidder", "exponential:1"]
LOG_KINDS = {"Commit", "Offer", "Bid", "Forward", "Allocation", "Payment"}


def _simulate_abm(capsys, folder: Path) -> dict:
    folder.mkdir()
    code, out, err = run_cli(capsys, "simulate", "seller-first", *SIM_BIDDERS, "--rounds", "300",
                             "--seed", "3", "--out", str(folder / "r.parquet"),
                             "--messages", str(folder / "m.csv"), "--json")
    assert code == 0, err
    return json.loads(out)  # stdout is one JSON object and nothing else


def test_simulate_abm_writes_tables_and_is_reproducible(capsys, tmp_path):
    """300 agent-based rounds: JSON summary, per-round Parquet, message-log CSV; same seed, same tables."""
    first = _simulate_abm(capsys, tmp_path / "a")
    for key in ("simulated", "exact", "standard_error"):
        assert key in first
    table = pd.read_parquet(tmp_path / "a" / "r.parquet")
    assert len(table) == 300
    assert {"seller_revenue", "intermediary_revenue", "welfare", "sale"} <= set(table.columns)
    for q in ("seller_revenue", "intermediary_revenue", "welfare", "sale"):
        assert first["simulated"][q] == pytest.approx(table[q].astype(float).mean(), abs=1e-12)
    log = pd.read_csv(tmp_path / "a" / "m.csv")
    assert set(log["kind"]) == LOG_KINDS
    assert sorted(set(log["round"])) == list(range(300))

    second = _simulate_abm(capsys, tmp_path / "b")
    assert second == first
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "b" / "r.parquet"), table)
    assert (tmp_path / "b" / "m.csv").read_bytes() == (tmp_path / "a" / "m.csv").read_bytes()
    # no temporary files left beside the results
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["m.csv", "r.parquet"]


def test_simulate_output_files_have_ordinary_permissions(capsys, tmp_path):
    """Result files are readable like any file the user writes (mode 0o666 & ~umask),
    not the 0o600 of a private temporary file."""
    reference = tmp_path / "reference.txt"
    reference.write_text("x")
    expected = stat.S_IMODE(reference.stat().st_mode)
    code, _, err = run_cli(capsys, "simulate", "seller-first", "--bidder", "uniform:0,1",
                           "--rounds", "5", "--out", str(tmp_path / "r.csv"), "--json")
    assert code == 0, err
    assert oct(stat.S_IMODE((tmp_path / "r.csv").stat().st_mode)) == oct(expected)


def test_simulate_monte_carlo_agrees_with_exact(capsys):
    """Vectorized Monte Carlo, 200,000 rounds (seed 0): every mean within 4 standard errors of exact."""
    code, out, err = run_cli(capsys, "simulate", "seller-first", *SIM_BIDDERS, "--evaluator", "mc",
                             "--rounds", "200000", "--json")
    assert code == 0, err
    d = json.loads(out)
    assert d["rounds"] == 200_000
    for q in ("seller_revenue", "intermediary_revenue", "welfare", "sale"):
        se = d["standard_error"][q]
        assert 0 < se < 0.01
        assert abs(d["simulated"][q] - d["exact"][q]) <= SIGMAS * se, q


# ------------------------------------------------------------ installed script
def test_installed_script_smoke():
    """The console script runs: --help, and a known constant value (Remark 3.2): the seller
    posts v = 2 and takes everything, the intermediary earns 0."""
    help_ = subprocess.run([str(AGORA), "--help"], capture_output=True, text=True, timeout=60)
    assert help_.returncode == 0
    assert "solve" in help_.stdout

    res = subprocess.run([str(AGORA), "solve", "seller-first", "--bidder", "point:2", "--json"],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    d = json.loads(res.stdout)
    assert d["seller_revenue"] == pytest.approx(2.0, abs=EXACT)
    assert d["intermediary_revenue"] == pytest.approx(0.0, abs=EXACT)


def test_solve_intermediary_first_json(capsys):
    """One U[0,1] bidder, posted prices only: q = 1/2, seller p = 1/4, revenues 1/8 and 1/16."""
    code, out, err = run_cli(capsys, "solve", "intermediary-first", "--bidder", "uniform:0,1",
                             "--class", "posted_price", "--json")
    assert code == 0, err
    d = json.loads(out)
    for key in ("intermediary_commitment", "seller_price", "seller_revenue", "intermediary_revenue",
                "no_intermediary_optimal_revenue"):
        assert key in d
    assert d["intermediary_commitment"]["class"] == "posted_price"
    assert d["intermediary_commitment"]["price"] == pytest.approx(0.5, abs=1e-6)
    assert d["intermediary_revenue"] == pytest.approx(1 / 8, rel=1e-7)
    assert d["seller_revenue"] == pytest.approx(1 / 16, rel=1e-6)
    assert d["no_intermediary_optimal_revenue"] == pytest.approx(1 / 4, abs=1e-9)


def test_solve_intermediary_first_prints_commitments_as_calls(capsys):
    """The text table shows each class's commitment as class(parameter=value) at 6 significant
    digits; every printed parameter equals the one the library's solver returns."""
    from agora.market.single_item.intermediary_first import solve_intermediary_first

    bidders = ("uniform:0,1", "uniform:0,1")
    code, out, err = run_cli(capsys, "solve", "intermediary-first", "--bidder", bidders[0],
                             "--bidder", bidders[1])
    assert code == 0, err
    assert "{" not in out
    sol = solve_intermediary_first(bidders)
    expected = [sol.intermediary_commitment] + [v["commitment"] for v in sol.by_class.values()]
    for commitment in expected:
        (name, value), = ((k, v) for k, v in commitment.items() if k != "class")
        match = re.search(rf"\b{commitment['class']}\({name}=([^)]+)\)", out)
        assert match, (commitment, out)
        assert float(match.group(1)) == pytest.approx(value, rel=5e-6, abs=5e-7)
    headline = out.splitlines()[0]
    assert headline.startswith(f"intermediary's commitment: {sol.intermediary_commitment['class']}(")


def test_solve_simultaneous_json_reports_the_continuum(capsys):
    code, out, err = run_cli(capsys, "solve", "simultaneous", "--bidder", "point:2", "--grid", "21",
                             "--class", "posted_price", "--json")
    assert code == 0, err
    d = json.loads(out)["posted_price_game"]
    assert len(d["equilibria"]) == 21
    for e in d["equilibria"]:
        assert {"seller_price", "intermediary_price", "seller_revenue", "intermediary_revenue"} <= set(e)
        assert e["seller_price"] + e["intermediary_price"] == pytest.approx(2.0)
    assert d["continuum"]["total_price"] == pytest.approx(2.0)


def test_solve_simultaneous_rejects_a_tiny_grid(capsys):
    code, out, err = run_cli(capsys, "solve", "simultaneous", "--bidder", "uniform:0,1", "--grid", "1")
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1 and "grid" in err
