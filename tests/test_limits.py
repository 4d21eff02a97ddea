"""Work bounded before it starts (issue 20, item 2): refused in one line with the estimate and the
largest size that fits; --max-memory / --max-seconds raise the limits."""

from __future__ import annotations

import re
from math import comb

import pytest
from cli_run import run_cli

from agora.experiments.limits import COSTS, Cost, Limits, largest, parse_bytes, require_fits, robust_variables
from agora.market.errors import InputError

LIMITS = ["--max-memory", "4GB", "--max-seconds", "3600"]
HUGE = [
    (["solve", "simultaneous", "--bidder", "uniform:0,1", "--grid", "1000000000"], "--grid"),
    (["solve", "simultaneous", "--bidder", "uniform:0,1", "--mixed", "1000000"], "--mixed"),
    (["plot", "seller-first", "--bidder", "uniform:0,1", "--points", "1000000000", "--out", "x.png"], "--points"),
    (["solve", "robust", "--bidders", "2", "--mean", "0.5", "--grid", "1000000000"], "--grid"),
    (["solve", "ipm", "--buyers", "3", "--items", "1000000000", "--dist", "uniform:0,1"], "--items"),
    (["solve", "ipm", "--buyers", "1000000000", "--items", "1", "--dist", "uniform:0,1"], "--buyers"),
    (["simulate", "seller-first", "--bidder", "uniform:0,1", "--rounds", "1000000000000", "--evaluator", "mc"],
     "--rounds"),
    (["simulate", "seller-first", "--bidder", "uniform:0,1", "--rounds", "1000000000000"], "--rounds"),
    (["solve", "group", "--member", "uniform:0,1", "--export", "out", "--points", "1000000000"], "--points"),
    (["solve", "k-auction", "--buyers", "3", "--items", "1", "--dist", "uniform:0,1", "--utility", "surplus",
      "--partition", "0,1|2", "--rounds", "1000000000000"], "--rounds"),
    # ten bids on a 41-level grid: C(51, 10) bid vectors for the regret of each checked round
    (["solve", "k-auction", "--buyers", "11", "--items", "10", "--dist", "uniform:0,1", "--utility", "surplus",
      "--partition", "0,1,2,3,4,5,6,7,8,9|10"], "--regret-profiles"),
    # six intermediaries of two buyers: the law facing each has (2 x 42)^5 atoms
    (["solve", "k-auction", "--buyers", "12", "--items", "6", "--dist", "uniform:0,1", "--utility", "surplus",
      "--partition", "0,1|2,3|4,5|6,7|8,9|10,11"], "--rounds"),
    (["solve", "stochastic-stability", "--bidder", "uniform:0,1", "--grid", "1000000000"], "--grid"),
    (["solve", "stochastic-stability", "--bidder", "uniform:0,1", "--sample", "1000000000"], "--sample"),
    # the exact chain over histories: 141^2 histories x 141^2 moves, about 30 GB
    (["solve", "stochastic-stability", "--bidder", "uniform:0,1", "--grid", "141", "--memory", "1", "--sample", "1"],
     "--grid"),
    # 300 bidders of one law: the order statistics of all bidders alone, 0.05 x 300^2 s
    (["solve", "intermediary-first", *[a for _ in range(300) for a in ("--bidder", "uniform:0,1")]],
     "--bidder count"),
    # 30 distinct truncated normals: about 200 s each
    (["solve", "intermediary-first", *[a for i in range(30) for a in ("--bidder", f"truncnorm:0.5,0.{i + 10},0,1")]],
     "--bidder count"),
    # 300 members: the weight search grows like members^3
    (["solve", "group", *[a for i in range(300) for a in ("--member", f"uniform:0,{i + 1}")]], "--member count"),
]


@pytest.mark.parametrize("argv, option", HUGE)
def test_huge_sizes_are_refused_with_the_largest_that_fits(capsys, tmp_path, monkeypatch, argv, option):
    monkeypatch.chdir(tmp_path)
    code, out, err = run_cli(capsys, *argv, *LIMITS)
    assert code == 2 and out == "" and len(err.splitlines()) == 1, err
    m = re.search(rf"{option} = \d+ would need about .* the largest that fits .* is (\d+)", err)
    assert m, err
    assert list(tmp_path.iterdir()) == []


def test_the_largest_size_is_the_boundary():
    """largest() is the last size whose estimate fits: one more does not (4 GB, 1 hour)."""
    limits = Limits(4e9, 3600.0)
    cost = COSTS["grid"]
    n = largest(cost, limits)
    assert n == int((4e9 / 48) ** 0.5)  # memory binds: 48 N^2 bytes <= 4e9
    require_fits("--grid", n, cost, limits)
    with pytest.raises(InputError, match=f"is {n}:"):
        require_fits("--grid", n + 1, cost, limits)


def test_raising_the_limit_lets_the_size_through():
    cost = Cost(1.0, 1.0)
    with pytest.raises(InputError):
        require_fits("--n", 11, cost, Limits(1e9, 10.0))
    require_fits("--n", 11, cost, Limits(1e9, 11.0))


def test_robust_variables_count_sorted_profiles():
    """C(N + I - 1, I) sorted profiles; the log-gamma form for many bidders agrees with the exact count."""
    assert robust_variables(3, 2) == 6  # (0,0) (1,0) (1,1) (2,0) (2,1) (2,2)
    assert robust_variables(50, 12) == pytest.approx(comb(61, 12), rel=1e-9)


@pytest.mark.parametrize("text, value", [("512MB", 512e6), ("4GB", 4e9), ("1000", 1000.0), ("2.5kb", 2500.0)])
def test_parse_bytes(text, value):
    assert parse_bytes(text) == value


def test_bad_limit_is_one_line(capsys):
    code, _, err = run_cli(capsys, "solve", "simultaneous", "--bidder", "uniform:0,1", "--max-memory", "lots")
    assert code == 2 and "expected a memory size like 512MB" in err


def test_a_run_too_big_is_refused_before_anything_is_written(capsys, tmp_path):
    spec = tmp_path / "s.toml"
    spec.write_text('steps = 1000000000000\n[seeds]\ncount = 1000000000\nbase = 1\n[market]\n'
                    'protocol = "seller-first"\nbidders = ["uniform:0,1"]\n')
    code, _, err = run_cli(capsys, "run", str(spec), "--out", str(tmp_path / "res"), *LIMITS)
    assert code == 2 and "runs x steps = 1000000000000000000000 would need" in err
    assert not (tmp_path / "res").exists()


def test_a_sweep_too_big_is_refused_before_it_is_expanded(capsys, tmp_path):
    values = ", ".join(str(i / 1000) for i in range(1000))
    spec = tmp_path / "s.toml"
    spec.write_text('steps = 2\n[seeds]\ncount = 1\nbase = 1\n[market]\nprotocol = "seller-first"\n'
                    f'bidders = ["uniform:0,1"]\n[sweep.grid]\n"market.seller" = [{values}]\n'
                    f'"market.rounds_unused" = [{values}]\n')
    code, _, err = run_cli(capsys, "run", str(spec), "--out", str(tmp_path / "res"))
    assert code == 2 and "sweep.grid has 1000000 points (1000 x 1000)" in err


def test_stability_memory_far_past_the_chain_is_the_tip_reduction():
    """--memory 10^9 used to hang raising 11 to 2 x 10^9; past the exact chain the memory does not
    enter the tip reduction (m >= 2 max(s), Young 1993): the same conventions as no memory given."""
    from agora.market.learning.pricing_stability import pricing_stability

    bidders = ["uniform:0,1", "uniform:0,1"]
    far, none = (pricing_stability(bidders, 11, (30, 30), m) for m in (10**9, None))
    for key in ("stable", "conventions", "resistances"):
        assert far[key] == none[key]


@pytest.mark.parametrize("points, memory", [(625, 1), (626, 1), (2, 9), (2, 10), (5, 4), (3, 6), (2, 10**9)])
def test_exact_chain_is_taken_up_to_the_history_count(points, memory):
    from agora.market.learning.pricing_stability import EXACT_STATES, exact_chain

    small = memory < 64 and points ** (2 * memory) <= EXACT_STATES  # 625^2 = 5^8 = 390625, 626^2, 2^18, 2^20, 3^12
    assert exact_chain(points, memory) == small


def strict_equilibrium_count(A, B) -> int:
    """Profiles where each price is the only best reply to the other (brute force over the grid)."""
    n1, n2 = A.shape
    return sum(all(A[a, b] > A[x, b] for x in range(n1) if x != a) and
               all(B[a, b] > B[a, y] for y in range(n2) if y != b) for a in range(n1) for b in range(n2))


def test_many_conventions_are_refused_once_the_game_is_built(capsys, tmp_path, monkeypatch):
    """A point-mass buyer makes every split of its value a strict equilibrium: 79 conventions
    on 81 prices, whose k + 1 arborescences (about k^4 steps) would take minutes; refused at once."""
    from agora.market.single_item.simultaneous import PricingGame, grid_game

    _, A, B = grid_game(PricingGame(["point:1"]), 81)
    k = strict_equilibrium_count(A, B)
    monkeypatch.chdir(tmp_path)
    code, out, err = run_cli(capsys, "solve", "stochastic-stability", "--bidder", "point:1", "--grid", "81",
                             "--max-seconds", "30")
    assert code == 2 and out == "" and len(err.splitlines()) == 1, err
    assert f"conventions (strict equilibria) on --grid 81 = {k} would need" in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("argv, cost", [
    ((["uniform:0,1", "uniform:0,1"], 30, (1, 1), 1), "history"),
    ((["uniform:0,1", "uniform:0,1"], 61, (30, 30), None), "tips"),
])
def test_stability_memory_estimates_bound_the_measured_peak(argv, cost):
    """The estimates work is refused by are upper bounds of the peak memory numpy allocates (tracemalloc),
    within a factor 3: the exact chain (N^(2M) histories x N^2 moves) and the grid game with its tips."""
    import tracemalloc

    from agora.experiments.limits import conventions_cost, history_cost
    from agora.market.learning.pricing_stability import pricing_stability

    bidders, n, samples, memory = argv
    tracemalloc.start()
    try:
        d = pricing_stability(bidders, n, samples, memory)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    grid_bytes = COSTS["stability_grid"].estimate(n)[0]
    if cost == "history":
        estimate = history_cost(memory).estimate(n)[0]
    else:
        estimate = grid_bytes + conventions_cost(n, max(samples)).estimate(len(d["conventions"]))[0]
    assert peak <= estimate <= 3 * peak


@pytest.mark.parametrize("levels, bids", [(13, 1), (14, 3), (20, 3), (5, 5)])
def test_bid_vectors_count_the_grid_searched(levels, bids):
    """C(L + d, d) - 1: the non-increasing vectors of 1..d bids on L levels that the k-auction's
    intermediary tries (itertools.combinations_with_replacement, as its grid search enumerates them)."""
    from itertools import combinations_with_replacement

    from agora.experiments.limits import bid_vectors

    count = sum(1 for x in range(1, bids + 1) for _ in combinations_with_replacement(range(levels), x))
    assert bid_vectors(levels, bids) == pytest.approx(count, rel=1e-12)



@pytest.mark.parametrize("specs, per_law", [
    (["truncnorm:0.5,0.2,0,1", "truncnorm:0.4,0.2,0,1"], 400.0),
    (["uniform:0,1"], 2.0),
    (["uniform:0,1", "beta:2,2,0,1"], 97.0),
])
def test_intermediary_first_largest_fit_solves_the_quadratic(specs, per_law):
    """With the given laws in turn, n bidders cost 1 + (the distinct laws' seconds) + 0.05 n^2 s:
    the largest n within an hour is floor(sqrt((3600 - 1 - per_law) / 0.05)), by exact arithmetic."""
    from fractions import Fraction
    from math import isqrt

    from agora.experiments.limits import intermediary_first_cost

    bound = (Fraction(3600) - 1 - Fraction(per_law)) / Fraction(1, 20)
    expected = isqrt(int(bound))
    assert largest(intermediary_first_cost(specs), Limits(4e9, 3600.0)) == expected


def _timed(solve, *args) -> float:
    """CPU seconds of this process: what the estimates model, and steadier than wall time on a loaded machine."""
    import time

    start = time.process_time()
    solve(*args)
    return time.process_time() - start


def test_intermediary_first_estimate_bounds_a_measured_run():
    """Two bidders of one uniform law, every class: measured below the estimate, within 20x of it."""
    from agora.experiments.limits import intermediary_first_cost
    from agora.market.single_item.intermediary_first import solve_intermediary_first
    from agora.market.single_item.right_auctions import RIGHT_AUCTIONS

    specs = ["uniform:0,1", "uniform:0,1"]
    measured = _timed(solve_intermediary_first, specs, tuple(RIGHT_AUCTIONS))
    estimate = intermediary_first_cost(specs).estimate(len(specs))[1]
    assert measured <= estimate <= 20 * measured, (measured, estimate)


def test_group_estimate_bounds_a_measured_run():
    """Ten members of distinct uniform laws: time measured below the estimate and within 20x of it,
    and the peak memory numpy and Python allocate (tracemalloc) below the memory estimate."""
    import tracemalloc

    from agora.experiments.limits import group_cost
    from agora.market.group.solver import solve_group

    specs = [f"uniform:0,{i + 1}" for i in range(10)]
    tracemalloc.start()
    try:
        measured = _timed(solve_group, specs, 0.0)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    nbytes, estimate = group_cost(specs).estimate(len(specs))
    assert measured <= estimate <= 20 * measured, (measured, estimate)
    assert peak <= nbytes


@pytest.mark.parametrize("k, low, high", [(3, 3.0, 10.0), (2, 3.0, 40.0)])
def test_k_equilibrium_estimate_bounds_a_measured_run(k, low, high):
    """Two intermediaries holding two buyers each: with k = 3 best responses cycle and fictitious play
    runs, the 40 rounds the estimate counts, which is within measured / 3 (a loaded machine) and 10 x
    measured; with k = 2 they settle in 2 sweeps, so the estimate is an upper bound, within 40x."""
    from agora.experiments.limits import k_equilibrium_seconds
    from agora.market.k_items.k_auction import solve_k_auction

    measured = _timed(solve_k_auction, 4, k, "uniform:0,1", [[0, 1], [2, 3]], "surplus", None, 50, 0, 5)
    estimate = k_equilibrium_seconds([2, 2], 0, k)
    assert measured / low <= estimate <= high * measured, (measured, estimate)
