"""Grid-only candidate sets against refined ones (the reports' "what changed" rows).

Expected values are derived without the solver: one U[0,1] bidder's best response to q is
(1 - q)/2 (maximize p (1 - p - q)), iterated here to its fixed point 1/3; Exp(1)'s is 1 whatever q.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from agora.experiments.reproduce import grid_changes as changes
from agora.market.single_item import simultaneous
from agora.market.single_item.grid_refinement import KEPT, MOVED, compare_with_grid
from agora.market.single_item.simultaneous import PricingGame


def _fixed_point_uniform() -> float:
    p = 0.0
    for _ in range(200):
        p = (1.0 - p) / 2.0  # the closed-form best response, a contraction of factor 1/2
    return p


def _uniform_case() -> changes.MarketCase:
    return changes.MarketCase("one U[0,1] bidder", PricingGame(["uniform:0,1"]), 1001, changes.uniform_one())


def test_uniform_grid_search_finds_none_refinement_finds_one_third():
    star = _fixed_point_uniform()
    cmp = compare_with_grid(PricingGame(["uniform:0,1"]), 1001)
    assert cmp.fates()[KEPT] == 0  # no grid point is an exact equilibrium: 1/3 is not a multiple of 1/1000
    assert len(cmp.grid_points) > 0  # but the grid has mutual near-best responses next to it
    [eq] = cmp.refined.equilibria
    assert eq.seller_price == pytest.approx(star, abs=1e-7)
    assert eq.intermediary_price == pytest.approx(star, abs=1e-7)
    for g in cmp.grid_points:
        assert g.fate == MOVED
        assert g.distance == pytest.approx(max(abs(g.seller_price - star), abs(g.intermediary_price - star)),
                                           abs=1e-9)
        # closed-form regret: the best reply to q earns (1 - q)^2 / 4
        a, b = g.seller_price, g.intermediary_price
        seller, inter = 1 - a * (1 - a - b) / ((1 - b) ** 2 / 4), 1 - b * (1 - a - b) / ((1 - a) ** 2 / 4)
        assert g.largest_regret == pytest.approx(max(seller, inter), abs=1e-9)
        assert g.largest_regret > 1e-9  # the reason the grid search rejected it


def test_exponential_grid_point_moves_to_one():
    cmp = compare_with_grid(PricingGame(["exponential:1"]), 1001)
    [g] = cmp.grid_points
    assert g.fate == MOVED and g.to == pytest.approx((1.0, 1.0), abs=1e-7)
    assert g.distance == pytest.approx(abs(g.seller_price - 1.0), abs=1e-7)
    assert g.largest_regret == pytest.approx(1 - g.seller_price * math.exp(1 - g.seller_price), abs=1e-9)


def test_section_rows_hold_and_name_the_moves():
    section = changes.grid_changes_section([_uniform_case()])
    assert section.checks and all(c.holds for c in section.checks)
    assert "grid points: 0 kept, 3 moved, 0 rejected" in section.extra
    assert "(0.333333333, 0.333333333)" in section.extra


def test_a_one_percent_error_of_the_refinement_fails_the_rows(monkeypatch):
    exact = simultaneous.refine

    def off(game, ps, pi, step):
        eq = exact(game, ps, pi, step)
        return None if eq is None else replace(eq, seller_price=1.01 * eq.seller_price,
                                               intermediary_price=1.01 * eq.intermediary_price)

    monkeypatch.setattr(simultaneous, "refine", off)
    section = changes.grid_changes_section([_uniform_case()])
    failed = {c.quantity for c in section.checks if not c.holds}
    assert any(q.startswith("refined set's distance") for q in failed)
    assert any("distance moved" in q for q in failed)


def test_distance_to_a_segment_is_the_max_norm_gap():
    d = changes.constant_value()
    assert changes.distance_to(d, (0.3, 0.7)) == pytest.approx(0.0, abs=1e-15)
    assert changes.distance_to(d, (0.3, 0.6)) == pytest.approx(0.05)  # nearest split (0.35, 0.65)
    assert changes.distance_to(d, (1.2, 0.0)) == pytest.approx(0.2)  # past the end (1, 0)
    grid = np.linspace(0.0, 1.0, 41)
    assert changes.f_eps_h(0.2, 1.0).kept(grid) == 25  # prices 0.2, 0.225, ..., 0.8


@pytest.mark.slow
def test_equilibrium_selection_section_rows_hold():
    from agora.experiments.reproduce.equilibrium_selection import grid_changes

    section = grid_changes()
    assert len(section.checks) == 9 and all(c.holds for c in section.checks)
    assert "grid points: 1 kept, 0 moved, 2 rejected" in section.extra  # U[0,1] and U[0,2] on 301 prices


@pytest.mark.slow
def test_monopolist_intermediary_section_rows_hold():
    from agora.experiments.reproduce.monopolist_intermediary import grid_changes

    section = grid_changes()
    assert all(c.holds for c in section.checks)
    assert {c.instance for c in section.checks} >= {"one U[0,1] bidder", "point:1", "F_{0.1,1e+30}"}
