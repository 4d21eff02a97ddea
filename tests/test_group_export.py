"""``agora solve group --export DIR``: the optimal mechanism's interim rules as data (selling-to-a-group).

The exported tables are checked against quantities computed without the group integrator: the law's
own density and cdf (Gauss-Legendre on each table segment, and monotone Riemann-Stieltjes brackets),
Monte Carlo over type profiles with the trade rule 1{omega . phi >= c} (phi = t - (1 - F)/f from the
law's cdf and density), Example 1's closed form, and Lemma 2's identities (E[M_i] equals the expected
revenue for every member; IR binds at the lowest type of every member minimizing g_i).
"""

from __future__ import annotations

import contextlib
import io
import json
import math

import numpy as np
import pandas as pd
import pytest
from cli_run import run_cli

from agora.experiments.cli import main
from agora.market.distributions import parse_spec

EXAMPLE_1 = ("uniform:0,2", "uniform:0,3")
COLUMNS = ["member", "distribution", "weight", "type", "cdf", "virtual_value", "interim_probability",
           "interim_transfer", "interim_utility"]
UNWRITABLE = "/proc/agora-nothing-here"  # no process can create files there, even as root

# (members, cost, table points, tolerance): the tolerance covers the table's linear interpolation
# (h^2/8 max|X''|, about 1e-6 at these grids) for nested quadrature, and the 4 x 2^12 Sobol points'
# error (about 1e-4, optimal_mechanism) for a group of four
CASES = [(EXAMPLE_1, 0.0, 1025, 1e-5),
         (("exponential:1", "beta:2,3,0,2"), 0.3, 1025, 1e-5),
         (("uniform:0,1", "uniform:0,2", "exponential:1", "uniform:0.5,1.5"), 0.2, 513, 1e-4)]
GAUSS = np.polynomial.legendre.leggauss(8)


def export(folder, members, cost, points, *extra):
    """(solution, interim table) of ``agora solve group ... --export folder --json``, run in-process."""
    argv = ["solve", "group", *[a for m in members for a in ("--member", m)], f"--cost={cost}",
            "--export", str(folder), "--points", str(points), "--json", *extra]
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    assert code == 0 and err.getvalue() == "", err.getvalue()
    return json.loads(out.getvalue()), pd.read_parquet(folder / "interim.parquet")


def against_law(t: np.ndarray, y: np.ndarray, law) -> float:
    """int y dF for the piecewise-linear interpolant of (t, y), flat beyond the table (8-point Gauss-Legendre
    per segment against the law's density, plus y(top) times the mass above the table)."""
    a, b = t[:-1, None], t[1:, None]
    nodes = (a + b) / 2 + (b - a) / 2 * GAUSS[0]
    inside = np.sum(np.interp(nodes, t, y) * law.pdf(nodes) * GAUSS[1] * (b - a) / 2)
    return float(inside + y[-1] * (1.0 - law.cdf(t[-1])))


def stieltjes_bracket(t: np.ndarray, y: np.ndarray, law, top: float) -> tuple[float, float]:
    """Lower and upper Riemann-Stieltjes sums of a nondecreasing y against F; ``top`` bounds y above the table."""
    F = np.asarray(law.cdf(t), float)
    dF = np.diff(F)
    return float(y[0] * F[0] + np.sum(y[:-1] * dF)), float(y[0] * F[0] + np.sum(y[1:] * dF) + top * (1 - F[-1]))


def members_of(table: pd.DataFrame):
    for i, rows in table.groupby("member", sort=True):
        yield int(i) - 1, parse_spec(rows["distribution"].iloc[0]), rows


@pytest.fixture(scope="module", params=range(len(CASES)), ids=["example-1", "exp-beta", "four-qmc"])
def exported(request, tmp_path_factory):
    members, cost, points, tol = CASES[request.param]
    folder = tmp_path_factory.mktemp("export") / "out"
    sol, table = export(folder, members, cost, points)
    return members, cost, tol, sol, table, folder


def test_tables_have_every_member_and_the_same_rows_in_each_format(exported):
    members, _, _, sol, table, folder = exported
    assert list(table.columns) == COLUMNS
    assert sorted(p.name for p in folder.iterdir()) == ["expost.csv", "expost.json", "expost.parquet",
                                                        "interim.csv", "interim.json", "interim.parquet",
                                                        "solution.json"]
    assert table["distribution"].unique().tolist() == [parse_spec(m).spec for m in members]
    assert np.allclose(table.groupby("member")["weight"].first(), sol["weights"], rtol=0, atol=0)
    as_json = table.replace([np.inf, -np.inf], np.nan)  # JSON has no infinities: phi(lo) = -inf is null
    for other, expected in ((pd.read_csv(folder / "interim.csv"), table),
                            (pd.read_json(folder / "interim.json"), as_json)):
        pd.testing.assert_frame_equal(other, expected, check_exact=False, rtol=0, atol=1e-14, check_dtype=False)
    saved = json.loads((folder / "solution.json").read_text())
    assert saved["weights"] == sol["weights"] and saved["trade_probability"] == sol["trade_probability"]


def test_interim_probabilities_integrate_to_the_trade_probability(exported):
    """int X_i dF_i = P[trade] for every member: Gauss-Legendre against the law's density within the
    case's tolerance, and inside the monotone Riemann-Stieltjes bracket (which holds for any nondecreasing
    X_i) widened by the same tolerance."""
    _, _, tol, sol, table, _ = exported
    p = sol["trade_probability"]
    for _, law, rows in members_of(table):
        t, x = rows["type"].to_numpy(), rows["interim_probability"].to_numpy()
        assert np.all(np.diff(x) >= 0) and 0 <= x[0] and x[-1] <= 1
        assert against_law(t, x, law) == pytest.approx(p, abs=tol)
        lower, upper = stieltjes_bracket(t, x, law, 1.0)
        assert lower - tol <= p <= upper + tol


def test_trade_probability_by_monte_carlo_over_types(exported):
    """400000 profiles drawn from the laws, traded iff sum_i omega_i phi_i >= c with the exported weights
    and phi_i = t - (1 - F_i)/f_i: the share traded is P[trade] and each int X_i dF_i, within 4 standard
    errors (plus the case's tolerance)."""
    members, cost, tol, sol, table, _ = exported
    laws = [parse_spec(m) for m in members]
    rng = np.random.default_rng(20240518)
    theta = np.column_stack([law.ppf(rng.random(400_000)) for law in laws])
    phi = np.column_stack([theta[:, j] - (1 - law.cdf(theta[:, j])) / law.pdf(theta[:, j])
                           for j, law in enumerate(laws)])
    weights = table.groupby("member")["weight"].first().to_numpy()
    traded = (phi @ weights >= cost).astype(float)
    se = traded.std() / math.sqrt(traded.size)
    assert abs(traded.mean() - sol["trade_probability"]) <= 4 * se
    for _, law, rows in members_of(table):
        x = against_law(rows["type"].to_numpy(), rows["interim_probability"].to_numpy(), law)
        assert abs(traded.mean() - x) <= 4 * se + tol


def test_transfers_are_ir_at_the_lowest_type_and_integrate_to_the_revenue(exported):
    """Lemma 2: t X_i(t) - M_i(t) at the lowest type is U_i = g_i - min_j g_j >= 0 (so the lowest type
    pays at most its expected value of trading, with equality for a member minimizing g_i), utility is
    nondecreasing in t (interim IR everywhere), and E[M_i] = profit + c P[trade] for every member."""
    _, cost, tol, sol, table, _ = exported
    g = np.array(sol["virtual_moments"])
    revenue = sol["profit"] + cost * sol["trade_probability"]
    lowest = []
    for i, law, rows in members_of(table):
        t, x, m = (rows[k].to_numpy() for k in ("type", "interim_probability", "interim_transfer"))
        u = rows["interim_utility"].to_numpy()
        assert t[0] == law.lo and np.allclose(u, t * x - m, rtol=0, atol=1e-12)
        assert m[0] <= t[0] * x[0] + 1e-12  # the IR inequality at the lowest type
        assert u[0] == pytest.approx(g[i] - g.min(), abs=1e-9)
        assert np.all(np.diff(u) >= -1e-12)
        assert against_law(t, m, law) == pytest.approx(revenue, abs=5 * tol)
        lowest.append(u[0])
    assert min(lowest) == pytest.approx(0.0, abs=1e-12)  # IR binds for some member


def test_example_1_interim_probabilities_are_the_closed_form(tmp_path):
    """Example 1 (U[0,2], U[0,3], c = 0): phi_1 = 2t - 2, phi_2 = 2t - 3, so
    X_1(t) = P[theta_2 >= 3/2 - r (t - 1)] = clip(1/2 + r (t - 1)/3, 0, 1) with r = omega_1/omega_2,
    X_2(t) = P[theta_1 >= 1 - (t - 3/2)/r] = clip(1/2 + (t - 3/2)/(2 r), 0, 1), phi_1 = 2t - 2 exactly, and
    P[trade] = 1/2 (omega . phi is symmetric about its mean 0)."""
    sol, table = export(tmp_path / "ex1", EXAMPLE_1, 0.0, 257)
    w1, w2 = sol["weights"]
    assert sol["trade_probability"] == pytest.approx(0.5, abs=1e-12)
    t1 = table.loc[table.member == 1, "type"].to_numpy()
    t2 = table.loc[table.member == 2, "type"].to_numpy()
    x1 = np.clip(0.5 + (w1 / w2) * (t1 - 1) / 3, 0, 1)
    x2 = np.clip(0.5 + (w2 / w1) * (t2 - 1.5) / 2, 0, 1)
    assert np.allclose(table.loc[table.member == 1, "interim_probability"], x1, rtol=0, atol=1e-9)
    assert np.allclose(table.loc[table.member == 2, "interim_probability"], x2, rtol=0, atol=1e-9)
    assert np.allclose(table.loc[table.member == 1, "virtual_value"], 2 * t1 - 2, rtol=0, atol=1e-12)


def test_always_trade_exports_the_floor_of_the_member_who_does_not_bind(tmp_path):
    """Proposition 1 (U[1,2], U[1.5,3], c = 0: phi_1(1) = 0 >= c): trade always at the transfer 1, the
    lowest type of member 1; member 2's lowest type keeps U_2 = E[phi_2] - E[phi_1] = 1.5 - 1 = 0.5."""
    sol, table = export(tmp_path / "always", ("uniform:1,2", "uniform:1.5,3"), 0.0, 65)
    assert sol["trivial"] == "always"
    assert np.all(table["interim_probability"] == 1.0)
    assert np.allclose(table["interim_transfer"], 1.0, rtol=0, atol=1e-12)
    lowest = table.groupby("member")["interim_utility"].first().to_numpy()
    assert lowest == pytest.approx([0.0, 0.5], abs=1e-12)


@pytest.fixture
def no_solving(monkeypatch):
    """Fail the test if the solver runs: refusals must come before any work."""
    import agora.market.group.individual as individual
    import agora.market.group.solver as solver

    def refuse(*args, **kwargs):
        raise AssertionError("the group was solved before the input was checked")

    monkeypatch.setattr(solver, "solve_group", refuse)
    monkeypatch.setattr(individual, "solve_individual", refuse)


def refused(capsys, *argv):
    code, out, err = run_cli(capsys, "solve", "group", "--member", "uniform:0,1", "--member", "uniform:0,2", *argv)
    assert code == 2 and out == "" and err.count("\n") == 1 and "Traceback" not in err
    return err


def test_export_into_a_file_or_below_one_is_refused_before_work(capsys, tmp_path, no_solving):
    plain = tmp_path / "plain.txt"
    plain.write_text("x")
    assert f"--export '{plain}' is a file" in refused(capsys, "--export", str(plain))
    assert f"lies inside '{plain}', which is a file" in refused(capsys, "--export", str(plain / "out"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plain.txt"] and plain.read_text() == "x"


def test_export_into_an_unwritable_folder_is_refused_before_work(capsys, no_solving):
    assert f"--export '{UNWRITABLE}': cannot write in '/proc'" in refused(capsys, "--export", UNWRITABLE)


@pytest.mark.parametrize("argv,needle", [
    (["--transfers", "individual"], "--export writes the pooled mechanism (Theorem 1); accepted with "
                                    "--transfers pooled"),
    (["--points", "1000000", "--max-seconds", "10"], "--points = 1000000 would need about"),
])
def test_export_options_out_of_range_are_refused_before_work(capsys, tmp_path, no_solving, argv, needle):
    assert needle in refused(capsys, "--export", str(tmp_path / "out"), *argv)
    assert list(tmp_path.iterdir()) == []


def test_points_without_export_or_below_three_are_refused(capsys, tmp_path, no_solving):
    assert "--points 9 sets the size of the --export tables; give --export DIR" in refused(capsys, "--points", "9")
    assert "argument --points: expected a number >= 3, got 2" in refused(
        capsys, "--export", str(tmp_path / "out"), "--points", "2")
    assert list(tmp_path.iterdir()) == []


def test_profile_points_without_export_below_two_or_too_many_are_refused(capsys, tmp_path, no_solving):
    assert "--profile-points 9 sets the size of the --export tables; give --export DIR" in refused(
        capsys, "--profile-points", "9")
    out = str(tmp_path / "out")
    assert "argument --profile-points: expected a number >= 2, got 1" in refused(
        capsys, "--export", out, "--profile-points", "1")
    assert "--profile-points = 100000 would need about" in refused(
        capsys, "--export", out, "--profile-points", "100000", "--max-seconds", "10")
    assert list(tmp_path.iterdir()) == []


def test_default_profile_grid_has_at_most_100000_profiles():
    """21 types each while 21^N <= 10^5 (N <= 3), then floor(10^(5/N)): 17 for 4 members, 10 for 5; none
    from 17 members on (2^17 > 10^5)."""
    from agora.experiments.cli_group import default_profile_points

    assert [default_profile_points(n) for n in (1, 2, 3, 4, 5, 16, 17)] == [21, 21, 21, 17, 10, 2, None]


def example_1_interim(w1: float, w2: float):
    """Example 1's interim rules in closed form (Lemma 2 with U_i = 0, both members weighted):
    X_1 = clip(1/2 + r (t - 1)/3), X_2 = clip(1/2 + (t - 3/2)/(2 r)), r = w1/w2, M_i(t) = t X_i(t) - int_0^t X_i;
    and mbar = E[M_1] = int M_1 dF_1 by quadrature."""
    from scipy import integrate

    r = w1 / w2
    x = [lambda t: float(np.clip(0.5 + r * (t - 1) / 3, 0, 1)),
         lambda t: float(np.clip(0.5 + (t - 1.5) / (2 * r), 0, 1))]
    kinks = [[1 - 1.5 / r, 1 + 1.5 / r], [1.5 - r, 1.5 + r]]

    def interim_transfer(i: int, t: float) -> float:
        pts = [k for k in kinks[i] if 0 < k < t]
        return t * x[i](t) - integrate.quad(x[i], 0, t, points=pts or None, epsabs=1e-13)[0]

    mbar = integrate.quad(lambda t: interim_transfer(0, t) / 2, 0, 2, points=[k for k in kinks[0] if 0 < k < 2],
                          epsabs=1e-12)[0]
    return x, interim_transfer, mbar


def test_example_1_ex_post_table_is_lemma_1_in_closed_form(tmp_path):
    """m = M_1(t_1) M_2(t_2) / mbar (Lemma 1, N = 2, mbar > 0), x = 1{w1 (2 t1 - 2) + w2 (2 t2 - 3) >= 0},
    utilities t_i x - m and the seller's m (c = 0), on 7 x 7 evenly spaced profiles; the same rows in
    the three formats. Tolerance 1e-5: the trapezoid rule across a kink of X_i on the 1025-type table
    errs by h^2 |jump of X_i'| / 8 <= (3/512)^2 0.64 / 8 = 2.7e-6 in M_i, and m multiplies it by
    M_j / mbar <= 3."""
    sol, _ = export(tmp_path / "ex1", EXAMPLE_1, 0.0, 1025, "--profile-points", "7")
    table = pd.read_parquet(tmp_path / "ex1" / "expost.parquet")
    w1, w2 = sol["weights"]
    assert list(table.columns) == ["theta_1", "theta_2", "allocation", "transfer", "utility_1", "utility_2",
                                   "seller_profit"]
    t1, t2 = np.meshgrid(np.linspace(0, 2, 7), np.linspace(0, 3, 7), indexing="ij")
    assert np.array_equal(table["theta_1"], t1.ravel()) and np.array_equal(table["theta_2"], t2.ravel())
    score = w1 * (2 * t1.ravel() - 2) + w2 * (2 * t2.ravel() - 3)
    clear = np.abs(score) > 1e-9
    assert np.array_equal(table["allocation"][clear], (score[clear] >= 0).astype(float))
    _, interim_transfer, mbar = example_1_interim(w1, w2)
    assert mbar == pytest.approx(sol["profit"], abs=1e-6)  # E[M_i] = revenue = profit at c = 0
    expected = [interim_transfer(0, a) * interim_transfer(1, b) / mbar for a, b in zip(t1.ravel(), t2.ravel())]
    assert np.allclose(table["transfer"], expected, rtol=0, atol=1e-5)
    x, m = table["allocation"].to_numpy(), table["transfer"].to_numpy()
    assert np.allclose(table["utility_1"], t1.ravel() * x - m, rtol=0, atol=1e-15)
    assert np.allclose(table["seller_profit"], m, rtol=0, atol=1e-15)
    for other in (pd.read_csv(tmp_path / "ex1" / "expost.csv"), pd.read_json(tmp_path / "ex1" / "expost.json")):
        pd.testing.assert_frame_equal(other, table, check_exact=False, rtol=0, atol=1e-14, check_dtype=False)
    saved = json.loads((tmp_path / "ex1" / "solution.json").read_text())
    assert saved["profile_points"] == 7


def test_a_group_too_large_for_the_default_profile_grid_says_so(capsys, tmp_path, monkeypatch):
    """With no default grid (17 or more members; here forced for two) and no --profile-points, the
    ex-post table is not written and both the solution and the printed summary say why."""
    import agora.experiments.cli_group as cli_group

    monkeypatch.setattr(cli_group, "default_profile_points", lambda members: None)
    code, out, err = run_cli(capsys, "solve", "group", "--member", "uniform:0,2", "--member", "uniform:0,3",
                             "--export", str(tmp_path / "out"), "--points", "65")
    assert code == 0 and err == ""
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["interim.csv", "interim.json",
                                                                   "interim.parquet", "solution.json"]
    saved = json.loads((tmp_path / "out" / "solution.json").read_text())
    assert saved["profile_points"] is None and saved["ex_post_table"].startswith("not written: 2^2 profiles")
    assert "no ex-post table: 2^2 profiles exceed 100,000; give --profile-points" in out
