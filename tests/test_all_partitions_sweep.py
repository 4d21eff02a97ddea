"""``partition = "all"`` in a posted-menu or k-item-auction spec: one sweep point per set partition
of the buyers (Bell(n) of them), refused in one line when there would be too many.

Expected values come from outside the sweep: the set partitions are enumerated here by restricted
growth strings (itertools.product), Bell numbers by the recurrence B(n+1) = sum_k C(n, k) B(k), and
the intermediary-proof price's revenue under surplus-maximizing intermediaries, which does not
depend on the partition (every buyer with v >= p is served when the items suffice), is
p E[min(Bin(n, P[v >= p]), k)] from scipy.stats.binom.
"""

from __future__ import annotations

import itertools
import math

import pytest
from cli_run import run_cli
from kind_checks import assert_executors_and_resume_agree
from scipy import stats

from agora.experiments.markets import SpecError, kind_of
from agora.experiments.spec import load_spec
from agora.market.demand import parse_partition

HEAD = 'name = "all"\nsteps = {steps}\n[seeds]\ncount = 1\nbase = 7\n'


def spec_text(protocol: str, buyers, extra: str = "", steps: int = 400, sweep: str = "") -> str:
    return (HEAD.format(steps=steps) + f'[market]\nprotocol = "{protocol}"\ndistribution = "uniform:0,1"\n'
            f"buyers = {buyers}\nitems = 2\nevaluator = \"mc\"\n{extra}{sweep}")


def brute_force_partitions(n: int) -> set[frozenset[frozenset[int]]]:
    """Every set partition of 0..n-1 from its restricted growth string a_0 = 0, a_i <= 1 + max(a_<i)."""
    out = set()
    for labels in itertools.product(range(n), repeat=n):
        if all(labels[i] <= 1 + max(labels[:i], default=-1) for i in range(n)):
            out.add(frozenset(frozenset(i for i in range(n) if labels[i] == b) for b in set(labels)))
    return out


def bell(n: int) -> int:
    b = [1]
    for m in range(n):
        b.append(sum(math.comb(m, k) * b[k] for k in range(m + 1)))
    return b[n]


def as_sets(text: str) -> frozenset[frozenset[int]]:
    return frozenset(frozenset(block) for block in parse_partition(text))


@pytest.mark.parametrize("protocol", ["posted-menu", "k-item-auction"])
@pytest.mark.parametrize("n", [1, 3, 5])
def test_all_is_every_set_partition_once(tmp_path, protocol, n):
    path = tmp_path / "spec.toml"
    path.write_text(spec_text(protocol, n, 'partition = "all"\n'))
    points = load_spec(path).points
    found = [as_sets(p.columns["partition"]) for p in points]
    assert len(found) == bell(n) and set(found) == brute_force_partitions(n)
    assert [p.params["partition"] for p in points] == [p.columns["partition"] for p in points]


def test_all_in_a_grid_follows_each_points_buyers(tmp_path):
    """Swept buyers 2 and 4 with partitions "all" and "competition": 2 + 1 + 15 + 1 points, each
    partition of its own point's buyers, the other keys kept."""
    path = tmp_path / "spec.toml"
    path.write_text(spec_text("posted-menu", 2, sweep='[sweep.grid]\n"market.buyers" = [2, 4]\n'
                              '"market.partition" = ["all", "competition"]\n'))
    points = load_spec(path).points
    assert len(points) == bell(2) + 1 + bell(4) + 1
    by_n = {n: {p.columns["partition"] for p in points if p.columns["buyers"] == n} for n in (2, 4)}
    for n in (2, 4):
        assert {as_sets(t) for t in by_n[n] - {"competition"}} == brute_force_partitions(n)
    assert [p.index for p in points] == list(range(len(points)))


def test_intermediary_proof_revenue_is_the_binomial_closed_form_on_every_partition(tmp_path):
    """n = 4, k = 2, U[0, 1], surplus: p_R = E[max of 2] = 2/3; revenue p E[min(Bin(4, 1/3), 2)] on all 15
    partitions (exact rows to 1e-9, quadrature), and each Monte Carlo mean within 4 standard errors."""
    path = tmp_path / "spec.toml"
    path.write_text(spec_text("posted-menu", 4, 'partition = "all"\nmenu = "intermediary-proof"\n', steps=2000))
    spec = load_spec(path)
    kind = kind_of("posted-menu")
    p = 2 / 3
    d = stats.binom(4, 1 - p)
    expected = p * sum(min(j, 2) * d.pmf(j) for j in range(5))
    for task in spec.tasks():
        row = kind.run(task.params, task.steps, task.rng()).run
        assert row["seller_price"] == pytest.approx(p, abs=1e-9)
        assert row["exact_seller_revenue"] == pytest.approx(expected, abs=1e-9), task.columns
        assert abs(row["seller_revenue"] - expected) < 4 * row["seller_revenue_stderr"], task.columns


def test_k_item_auction_over_every_partition_of_three(tmp_path):
    """Exact revenue where the paper gives it (competition, Proposition 1; monopsony, Proposition 2) and
    NaN elsewhere; there the Monte Carlo mean is within 4 standard errors of it."""
    path = tmp_path / "spec.toml"
    path.write_text(spec_text("k-item-auction", 3, 'partition = "all"\n', steps=3000))
    kind = kind_of("k-item-auction")
    rows = {}
    for task in load_spec(path).tasks():
        rows[task.columns["partition"]] = kind.run(task.params, task.steps, task.rng()).run
    assert {k for k, r in rows.items() if not math.isnan(r["exact_seller_revenue"])} == {"0,1,2", "0|1|2"}
    for r in rows.values():
        if not math.isnan(r["exact_seller_revenue"]):
            assert abs(r["seller_revenue"] - r["exact_seller_revenue"]) < 4 * r["seller_revenue_stderr"]
    # competition: Myerson's optimum, the row's own revenue_under_competition
    assert rows["0|1|2"]["exact_seller_revenue"] == pytest.approx(rows["0|1|2"]["revenue_under_competition"])


def test_an_all_partition_sweep_runs_alike_on_both_executors_and_resumes(tmp_path):
    text = spec_text("posted-menu", 3, 'partition = "all"\n', steps=50)
    assert_executors_and_resume_agree(text, tmp_path, bell(3), ("run-000001", "run-000004"))


@pytest.mark.parametrize("n, says", [
    (10, f"every partition of 10 buyers is Bell(10) = {bell(10)} sweep points; accepted: \"all\" for at most "
         f"9 buyers (Bell(9) = {bell(9)} <= 100000 points)"),
    (10**9, "every partition of 1000000000 buyers is Bell(1000000000) sweep points"),
])
def test_too_many_partitions_are_refused_in_one_line(capsys, tmp_path, n, says):
    """Bell(10) > 100,000 sweep points: exit 2, one line naming market.partition, nothing written, and no
    partition generated (a billion buyers is refused as fast)."""
    path = tmp_path / "spec.toml"
    path.write_text(spec_text("posted-menu", n, 'partition = "all"\n'))
    out = tmp_path / "results"
    code, stdout, stderr = run_cli(capsys, "run", str(path), "--out", str(out), "--executor", "serial")
    assert (code, stdout, stderr.count("\n")) == (2, "", 1), stderr
    assert 'market.partition = "all": ' + says in stderr
    assert not out.exists()


def test_a_grid_that_expands_past_the_limit_is_refused(capsys, tmp_path):
    """Bell(9) = 21147 partitions at each of five item counts: 105,735 points > 100,000."""
    path = tmp_path / "spec.toml"
    path.write_text(spec_text("posted-menu", 9, 'partition = "all"\n',
                              sweep='[sweep.grid]\n"market.items" = [1, 2, 3, 4, 5]\n'))
    code, stdout, stderr = run_cli(capsys, "run", str(path), "--out", str(tmp_path / "r"), "--executor", "serial")
    assert (code, stdout, stderr.count("\n")) == (2, "", 1), stderr
    assert "more than 100000 points once its \"all\" values are expanded (at sweep point 4" in stderr


def test_simulate_refuses_all_naming_the_count(capsys):
    code, stdout, stderr = run_cli(capsys, "simulate", "--protocol", "posted-menu", "--distribution",
                                   "uniform:0,1", "--buyers", "3", "--items", "1", "--partition", "all")
    assert (code, stdout) == (2, "")
    assert stderr == f'agora: error: --partition = "all" stands for {bell(3)} markets; accepted: one ' \
                     "(agora run sweeps them all)\n"


def test_the_kinds_reader_refuses_all_for_one_market():
    """The Python API's validate (one market) names what "all" is for."""
    with pytest.raises(SpecError, match="market.partition = \"all\": \"all\" stands for every partition"):
        kind_of("posted-menu").validate({"distribution": "uniform:0,1", "buyers": 3, "items": 1,
                                        "partition": "all"})
