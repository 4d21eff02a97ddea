"""``agora solve group`` (a public interface): keys, input order, trivial cases, bad input."""

from __future__ import annotations

import json
import math

import pytest
from cli_run import run_cli

from agora.experiments.reproduce.group_claims import pair_optimum

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
    assert d["profit"] == pytest.approx(pair_optimum(((0.0, 2.0), (0.0, 3.0)), 0.0)[1], abs=1e-9)
    price = (5 - math.sqrt(7)) / 3  # the maximizer of p (1 - p/2) (1 - p/3)
    assert d["posted_price"] == pytest.approx(price, abs=1e-9)
    assert d["posted_price_profit"] == pytest.approx(price * (1 - price / 2) * (1 - price / 3), abs=1e-12)
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


@pytest.mark.parametrize("cost,shown", [("-1", "-1"), ("-0.5", "-0.5"), ("inf", "inf"), ("nan", "nan")])
def test_bad_cost_is_named_as_the_sellers_cost(capsys, cost, shown):
    code, out, err = run_cli(capsys, "solve", "group", "--member", "uniform:0,1", f"--cost={cost}")
    assert code == 2 and out == "" and err.count("\n") == 1
    assert f"the seller's cost must be a finite number >= 0, got {shown} " in err and "price" not in err


@pytest.mark.parametrize("transfers", ["pooled", "individual"])
@pytest.mark.parametrize("member,alpha", [("pareto:1.5,1", "1.5"), ("pareto:0,1", "0"), ("pareto:0,1,4", "0"),
                                          ("pareto:-0.5,1", "-0.5"), ("pareto:1,2", "1")])
def test_pareto_alpha_outside_the_groups_range_is_named(capsys, member, alpha, transfers):
    """The parser reads 0 <= ALPHA < 1, but ALPHA = 0 only with a CAP (an atom): a group takes 0 < ALPHA < 1."""
    code, out, err = run_cli(capsys, "solve", "group", "--member", "uniform:0,1", "--member", member,
                             "--transfers", transfers)
    assert code == 2 and out == "" and err.count("\n") == 1
    assert f"member 2 ({member})" in err and "needs 0 < ALPHA < 1 and no CAP" in err
    assert err.rstrip().endswith(f"got ALPHA={alpha}") and "give a CAP" not in err and "0 <= ALPHA" not in err


def test_pareto_inside_the_groups_range_is_solved(capsys):
    """pareto:0.5,1 alone: phi(v) = v/2 > 0 = c everywhere, so Proposition 1 trades always at profit
    E[phi] = 0.5 E[v] = 0.5 * 2 = 1 (survival v^-2 on [1, inf), mean 2)."""
    d = solve(capsys, "pareto:0.5,1")
    assert d["trivial"] == "always" and d["profit"] == pytest.approx(1.0, abs=1e-9)


def test_help_lists_only_the_laws_a_group_accepts(capsys):
    code, out, _ = run_cli(capsys, "solve", "group", "--help")
    text = " ".join(out.split())
    assert code == 0 and "point:V" not in text and "0 < ALPHA < 1 and no CAP" in text


@pytest.mark.parametrize("member,needle", [("pareto:1.5,1", "0 < ALPHA < 1"), ("pareto:0.5,1,4", "0 < ALPHA < 1"),
                                           ("uniform:2,1", "0 < ALPHA < 1")])
def test_pareto_range_in_messages_is_the_parsers(capsys, member, needle):
    code, out, err = run_cli(capsys, "solve", "group", "--member", member)
    assert code == 2 and out == "" and needle in err and "ALPHA > 0" not in err and "point:V" not in err
    assert err.count("\n") == 1


def test_a_profit_within_round_off_of_zero_is_zero_with_its_error():
    """12 Exp(1) members, c = 2: the optimal profit is in [0, E[(omega . phi - c)+]] ~ 3e-8 (Theorem 1);
    the voting rule's own estimate falls below 0 by round-off and is reported as 0 with that error."""
    from agora.market.group.solver import solve_group

    sol = solve_group(["exponential:1"] * 12, 2.0)
    assert sol.profit == 0.0
    assert 0 < sol.dual_bound <= sol.profit_error <= 1e-5
    assert sol.to_dict()["profit_error"] == sol.profit_error


def _twelve_exponentials(*extra):
    members = [a for _ in range(12) for a in ("--member", "exponential:1")]
    return ["solve", "group", *members, "--cost", "2", *extra]


def test_cli_reports_a_round_off_profit_as_zero_with_its_error(capsys):
    """12 Exp(1) members, c = 2: the optimum lies in [0, E[(omega . phi - c)+]] (Theorem 1), so the
    printed profit is 0 beside an error that covers the dual bound; the ratio to the posted price's
    profit (>= 1 by Proposition 2) is undefined there, not 0."""
    code, out, err = run_cli(capsys, *_twelve_exponentials("--json"))
    d = json.loads(out)
    assert code == 0 and err == "" and d["profit"] == 0.0
    assert 0 < d["dual_bound"] <= d["profit_error"] <= 1e-5 and d["price_of_simplicity"] is None
    code, out, _ = run_cli(capsys, *_twelve_exponentials())
    rows = dict(line.split(None, 1) for line in out.splitlines()[2:11])
    assert code == 0 and float(rows["profit"]) == 0.0 and float(rows["profit_error"]) == pytest.approx(
        d["profit_error"], rel=1e-5) and "-" not in rows["profit"]


def test_individual_transfers_print_both_profits_with_their_errors(capsys):
    """Section 6.4 beside the pooled optimum: the pooled profit is 0 within its error (as above), the
    individual one E[(sum phi_i - c)+] = E[(S - 14)+] for S ~ Gamma(12, 1), which is
    12 times Gamma(13)'s survival at 14 minus 14 times Gamma(12)'s, within its 4 standard errors."""
    from scipy.stats import gamma

    code, out, err = run_cli(capsys, *_twelve_exponentials("--transfers", "individual", "--json"))
    d = json.loads(out)
    exact = 12 * gamma.sf(14, 13) - 14 * gamma.sf(14, 12)
    assert code == 0 and err == "" and d["pooled_profit"] == 0.0 and d["pooled_profit_error"] > 0
    assert 0 < d["profit_error"] < 0.01 * exact and abs(d["profit"] - exact) <= d["profit_error"]
    code, out, _ = run_cli(capsys, "solve", "group", "--member", "exponential:1", "--member", "exponential:1",
                           "--member", "exponential:1", "--cost", "2", "--transfers", "individual", "--json")
    d = json.loads(out)  # by quadrature: no sampling error, E[(S - 5)+] for S ~ Gamma(3, 1)
    assert code == 0 and d["profit_error"] == 0.0
    assert d["profit"] == pytest.approx(3 * gamma.sf(5, 4) - 5 * gamma.sf(5, 3), abs=1e-10)


def test_export_refusals_write_nothing(capsys, tmp_path):
    """A bad cost, a member with an atom and individual transfers with --export each stop with one
    line and exit 2 before the folder exists."""
    folder = tmp_path / "out"
    for argv, needle in ((["--member", "uniform:0,1", "--cost", "-1"], "--cost"),
                         (["--member", "point:1"], "point:1"),
                         (["--member", "uniform:0,1", "--transfers", "individual"], "--transfers pooled")):
        code, out, err = run_cli(capsys, "solve", "group", *argv, "--export", str(folder))
        assert code == 2 and out == "" and needle in err and err.count("\n") == 1
        assert not folder.exists()
