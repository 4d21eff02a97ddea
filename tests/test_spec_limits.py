"""Spec sizes held to the memory and time limits before any market is built: a learning run's price
grid (``points``) and a k-item run's grid and blocks are refused in one line, exit status 2, with
the estimate and the largest value that fits, and no results folder. The estimates are checked
against the peak memory tracemalloc measures while the payoff tables are built."""

from __future__ import annotations

import math
import re
import textwrap
import tomllib
import tracemalloc

import numpy as np
import pytest
from cli_run import run_cli

import agora.market.learning.selection as single_selection
from agora.experiments.limits import Limits
from agora.experiments.markets import SpecError, registry
from agora.experiments.markets.selection import k_sizes, k_words, single_sizes
from agora.experiments.spec import parse_spec_table
from agora.market.learning.k_selection import k_item_game
from agora.market.learning.selection import discretize

LEARNING = """
steps = 10
[seeds]
count = 1
base = 1
[market]
protocol = "learning"
bidders = "uniform:0,1"
seller = {{ rule = "hedge", eta = 5.0 }}
{market}
"""
K_ITEMS = """
steps = 10
[seeds]
count = 1
base = 1
[market]
protocol = "learning-k-items"
distribution = "uniform:0,1"
items = 2
seller = {{ rule = "hedge", eta = 5.0 }}
{market}
"""
FOUR_GB = ["--max-memory", "4GB", "--max-seconds", "3600"]


def refused(capsys, tmp_path, text: str, *extra: str) -> str:
    """stderr of ``agora run`` on the spec: one line, exit 2, nothing on stdout, nothing written."""
    spec = tmp_path / "spec.toml"
    spec.write_text(textwrap.dedent(text))
    out = tmp_path / "results"
    code, stdout, stderr = run_cli(capsys, "run", str(spec), "--out", str(out), "--executor", "serial",
                                   *FOUR_GB, *extra)
    assert code == 2 and stdout == "", (code, stdout, stderr)
    assert stderr.startswith("agora: error: ") and stderr.count("\n") == 1, stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["spec.toml"]
    return stderr


def largest_in(stderr: str, key: str) -> int:
    m = re.search(rf"{re.escape(key)} = \d+ would need about .* the largest that fits --max-memory 4 GB "
                  r"and --max-seconds 3600 is (\d+): raise them", stderr)
    assert m, stderr
    return int(m.group(1))


def test_a_huge_learning_grid_is_refused_before_its_market_is_built(capsys, tmp_path, monkeypatch):
    """points = 10^7 (a 728 TiB table) is refused; 64 bytes per cell of a uniform law's points x points
    tables fit 4 GB up to isqrt(4e9 / 64) = 7905 points."""
    built = []
    monkeypatch.setattr(single_selection.Market, "prices", lambda market: built.append(market))
    err = refused(capsys, tmp_path, LEARNING.format(market="points = 10000000"))
    assert largest_in(err, "spec.toml: market.points") == math.isqrt(4_000_000_000 // 64) == 7905
    assert built == []


def test_a_truncated_normal_bidder_costs_more_per_cell(capsys, tmp_path):
    """120 bytes per cell with a truncated normal among the bidders: isqrt(4e9 / 120) = 5773 points."""
    text = LEARNING.format(market="points = 6000").replace('"uniform:0,1"', '["uniform:0,1", "truncnorm:0.5,0.2,0,1"]')
    assert largest_in(refused(capsys, tmp_path, text), "market.points") == math.isqrt(4_000_000_000 // 120) == 5773


def test_the_sweep_point_that_is_too_big_is_named(capsys, tmp_path):
    text = LEARNING.format(market="") + '[sweep.grid]\n"market.points" = [21, 20000]\n'
    err = refused(capsys, tmp_path, text)
    assert "sweep point 1 (market.points = 20000): market.points = 20000 would need" in err


def test_the_sweep_holds_its_distinct_markets_to_the_limits_together(capsys, tmp_path):
    """Three grids that fit one by one (4 GB each at most) but not together: 64 x (7000^2 + 6000^2 +
    5000^2) bytes = 7.04 GB. Other starts on one grid share its market: 25 points, one market."""
    text = LEARNING.format(market="") + '[sweep.grid]\n"market.points" = [7000, 6000, 5000]\n'
    err = refused(capsys, tmp_path, text)
    assert f"the sweep's 3 distinct markets would need about {64 * (7000**2 + 6000**2 + 5000**2) / 1e9:.3g} GB" \
        in err and "--max-memory 4 GB" in err
    text = (LEARNING.format(market="points = 7000") + '[sweep.grid]\n"market.start_seller" = [0, 1, 2, 3, 4]\n'
            '"market.start_intermediary" = [0, 1, 2, 3, 4]\n')
    spec = parse_spec_table(tomllib.loads(text), limits=Limits(4e9, 3600.0))
    assert len(spec.points) == 25


def test_the_limit_is_the_boundary_of_the_grid():
    """At a limit of exactly 64 x 41^2 bytes a 41-price grid loads and a 42-price grid is refused."""
    limits = Limits(64.0 * 41 * 41, 3600.0)
    data = {"steps": 5, "seeds": {"count": 1, "base": 1},
            "market": {"protocol": "learning", "bidders": "uniform:0,1", "points": 41,
                       "seller": {"rule": "hedge", "eta": 5.0}}}
    assert parse_spec_table(data, limits=limits).points[0].params["points"] == 41
    data["market"]["points"] = 42
    with pytest.raises(SpecError, match=r"market.points = 42 would need .* the largest that fits .* is 41:"):
        parse_spec_table(data, limits=limits)


def test_k_item_points_and_blocks_are_each_refused(capsys, tmp_path):
    """A huge grid is blamed on points, a huge block on blocks (no grid would bring it under the limit)."""
    err = refused(capsys, tmp_path, K_ITEMS.format(market="blocks = [2, 2]\npoints = 100000"))
    points = largest_in(err, "market.points")
    assert 8 * k_words(points, [2, 2], False) <= 4e9 < 8 * k_words(points + 1, [2, 2], False)
    assert 8 * 6 * points ** 3 <= 4e9  # the S x P x P payoff tables alone: points < (4e9 / 48)^(1/3) = 436.8
    err = refused(capsys, tmp_path, K_ITEMS.format(market="blocks = [2, 1000000000]\npoints = 31"))
    block = largest_in(err, "market.blocks[1]")
    assert 8 * k_words(31, [2, block], False) <= 4e9 < 8 * k_words(31, [2, block + 1], False)


def test_a_k_item_run_too_long_for_its_buyers_is_refused(capsys, tmp_path):
    """Two blocks of 1000 buyers for 10^6 steps: 128 + 64 x 2000 bytes a step = 128 GB for one run;
    4 GB holds 4e9 // 128128 = 31218 steps."""
    text = K_ITEMS.format(market="blocks = [1000, 1000]\npoints = 5").replace("steps = 10\n", "steps = 1000000\n")
    err = refused(capsys, tmp_path, text)
    assert "spec.toml: steps = 1000000 would need about 128 GB" in err
    assert largest_in(err, "steps") == 4_000_000_000 // 128_128 == 31218


@pytest.mark.parametrize("protocol, market", [
    ("learning", {"bidders": ["uniform:0,1"] * 30, "points": 5}),
    ("learning-k-items", {"distribution": "uniform:0,1", "blocks": [10, 20], "items": 2, "points": 5})])
def test_the_per_step_estimate_bounds_a_measured_run(protocol, market):
    """tracemalloc's peak over a 3000-step run (its market already built) is below the steps' estimate
    and above half of it."""
    kind = registry()[protocol]
    params = kind.validate({**market, "seller": {"rule": "hedge", "eta": 5.0}})
    kind.run(params, 50, np.random.default_rng(1))  # the market, cached, and scipy's set-up
    peak = peak_bytes(lambda: kind.run(params, 3000, np.random.default_rng(1)))
    (steps,) = [s for s in kind.sizes(params, 3000) if s.key == "steps"]
    estimate = steps.cost.estimate(3000)[0]
    assert 0.5 * estimate <= peak <= estimate, (peak, estimate)


def peak_bytes(build) -> int:
    tracemalloc.start()
    try:
        build()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("bidders", [("uniform:0,1",), ("exponential:1", "beta:2,3,0,1"),
                                     ("truncnorm:0.5,0.2,0,1",)])
def test_the_learning_estimate_bounds_the_measured_peak(bidders):
    """tracemalloc's peak while a 301-price grid's tables are built is below the estimate, and above
    half of it (the bound is not loose)."""
    discretize(bidders, 5, "linear")  # scipy's one-off set-up is not the grid's
    discretize.cache_clear()
    peak = peak_bytes(lambda: discretize(bidders, 301, "linear"))
    size, _ = single_sizes({"bidders": list(bidders), "points": 301, "grid": "linear"}, 1)
    estimate = size.cost.estimate(301)[0]
    assert 0.5 * estimate <= peak <= estimate, (peak, estimate)


@pytest.mark.parametrize("points, blocks, seller_price", [(41, [2, 10], None), (41, [3, 3], 0.2),
                                                          (11, [1, 3000], None), (11, [3000, 1], None)])
def test_the_k_item_estimate_bounds_the_measured_peak(points, blocks, seller_price):
    """The same for the k-item game: below the estimate and above a third of it; both sizes agree on it."""
    k_item_game("uniform:0,1", (2, 2), 2, 5, 1.0, None)
    k_item_game.cache_clear()
    peak = peak_bytes(lambda: k_item_game("uniform:0,1", tuple(blocks), 2, points, 1.0, seller_price))
    sizes = k_sizes({"distribution": "uniform:0,1", "items": 2, "points": points, "blocks": blocks, "upper": None,
                     "seller_price": seller_price}, 1)
    estimates = {s.cost.estimate(s.value)[0] for s in sizes if s.shared is not None}
    assert len(estimates) == 1
    estimate = estimates.pop()
    assert estimate / 3 <= peak <= estimate, (peak, estimate)
