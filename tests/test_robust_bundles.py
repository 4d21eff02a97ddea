"""Theorem 2.4.1 for two items with a bundle price: no deterministic menu beats separate prices.

Expected values come from the thesis' closed forms evaluated here (Theorem 2.4.1: the optimal
value of (2.15) is ½ Σ_j (v̄_j - c_j); Remark 2.4.3: each bundle's region attains it at
v*_j = v̄_j for j in S, (v̄_j + c_j)/2 otherwise), from the per-item closed form
Σ_j max(p_j - c_j, v̄_j - p_j) of :class:`DeterministicPrices` for other separate prices, and
from brute force over value grids, which can only find less than the exact supremum.
"""

from __future__ import annotations

import numpy as np
import pytest

from agora.market.robust.bundles import BUNDLES, BundleMenu, search_menus, separate_optimum
from agora.market.robust.mechanisms import DeterministicPrices, RobustInputError

INSTANCES = [((1.0, 1.0), (0.0, 0.0)), ((1.0, 3.0), (0.2, 0.5)), ((2.5, 1.0), (0.3, 0.05))]


def _half_gains(upper, cost) -> float:
    """Theorem 2.4.1's value, computed from the instance directly."""
    return 0.5 * sum(u - c for u, c in zip(upper, cost))


def _steps(upper, points: int) -> float:
    """h_1 + h_2: within a region the regret moves by at most one per unit of each value."""
    return sum(u / (points - 1) for u in upper)


@pytest.mark.parametrize("upper, cost", INSTANCES)
def test_separate_prices_worst_case_is_half_the_gains(upper, cost):
    menu = BundleMenu.separate(upper, cost)
    paper = _half_gains(upper, cost)
    exact = menu.worst_case().value
    assert exact == pytest.approx(paper, abs=1e-9)
    assert separate_optimum(upper, cost) == pytest.approx(paper, abs=1e-15)
    brute = menu.brute_force(201).value
    assert brute <= exact + 1e-12
    assert exact - brute <= _steps(upper, 201)


@pytest.mark.parametrize("upper, cost", INSTANCES)
def test_remark_2_4_3_every_bundle_attains_the_worst_case_at_v_star(upper, cost):
    menu = BundleMenu.separate(upper, cost)
    paper = _half_gains(upper, cost)
    regional = menu.worst_by_bundle()
    for k, bundle in enumerate(BUNDLES):
        v_star = np.array([u if j + 1 in bundle else (u + c) / 2 for j, (u, c) in enumerate(zip(upper, cost))])
        utilities = menu.utilities(v_star)[0]
        assert utilities[k] >= utilities.max() - 1e-12  # v* lies in V_S(p*, 0)
        assert menu.regrets(v_star)[0, k] == pytest.approx(paper, abs=1e-12)
        assert regional[bundle].value == pytest.approx(paper, abs=1e-9)


@pytest.mark.parametrize("upper, cost", INSTANCES)
def test_other_separate_prices_match_the_per_item_closed_form(upper, cost):
    rng = np.random.default_rng(5)
    for _ in range(10):
        p = rng.uniform(cost, upper)
        exact = BundleMenu.separate(upper, cost, p).worst_case().value
        per_item = DeterministicPrices(tuple(p), tuple(cost)).worst_case_regret_of(upper)
        assert exact == pytest.approx(per_item, abs=1e-12)
        assert exact >= _half_gains(upper, cost) - 1e-12


def test_a_region_without_interior_is_no_worst_case():
    upper, cost = (1.0, 3.0), (0.2, 0.5)
    menu = BundleMenu.separate(upper, cost, (1.0, 1.5))  # item 1 sells only on the edge v_1 = 1
    regional = menu.worst_by_bundle()
    assert regional[(1,)] is None and regional[(1, 2)] is None
    assert regional[()] is not None and regional[(2,)] is not None
    per_item = DeterministicPrices((1.0, 1.5), cost).worst_case_regret_of(upper)  # 0.8 + 1.5
    assert menu.worst_case().value == pytest.approx(per_item, abs=1e-12)
    assert menu.worst_case().value - _steps(upper, 201) <= menu.brute_force(201).value <= per_item + 1e-12


def _random_menus(upper, cost, kind: str, count: int, seed: int):
    """Menus whose regions are at least 0.05 v̄ wide, with a discount (p12 < p1 + p2) or a markup."""
    rng = np.random.default_rng(seed)
    upper, cost = np.array(upper), np.array(cost)
    margin = 0.05 * upper.min()
    for _ in range(count):
        p = rng.uniform(cost + margin, upper - 3 * margin)
        if kind == "discount":
            bundle = rng.uniform(p.max() + margin, p.sum() - margin)
        else:
            bundle = rng.uniform(p.sum() + margin, p.sum() + (upper - p).min() - margin)
        yield BundleMenu.of(upper, cost, p[0], p[1], bundle)


@pytest.mark.parametrize("kind", ["discount", "markup"])
@pytest.mark.parametrize("upper, cost", INSTANCES[1:])
def test_bundle_menus_do_no_better_than_separate_prices(upper, cost, kind):
    paper = _half_gains(upper, cost)
    for menu in _random_menus(upper, cost, kind, 6, seed=17):
        assert (menu.prices[2] < sum(menu.prices[:2])) == (kind == "discount")
        exact = menu.worst_case().value
        assert exact >= paper - 1e-12
        for points in (201, 401):
            brute = menu.brute_force(points).value
            assert brute <= exact + 1e-12
            # edges run at multiples of 45 degrees, so the worst vertex has a grid point of its
            # region (at least 0.05 vbar wide) within two steps per coordinate
            assert exact - brute <= 2 * _steps(upper, points)


def test_search_over_bundle_menus_finds_the_theorem_value():
    upper, cost = (1.0, 3.0), (0.2, 0.5)
    paper = _half_gains(upper, cost)
    found = search_menus(upper, cost)
    assert found.value >= paper - 1e-12
    assert abs(found.value - paper) <= 1e-6
    assert found.grid_value - paper > 1e-3  # this grid misses the optimum: Nelder-Mead found it
    assert found.best.worst_case().value == pytest.approx(found.value, abs=1e-15)
    brute = found.best.brute_force(401).value
    assert found.value - _steps(upper, 401) <= brute <= found.value + 1e-12


@pytest.mark.parametrize("call, match", [
    (lambda: BundleMenu.of((1.0, 2.0, 3.0), None, 0.5, 0.5, 1.0), "exactly 2 items, got 3"),
    (lambda: BundleMenu.of((1.0, 2.0), (1.0, 0.0), 0.5, 0.5, 1.0), r"costs must satisfy 0 <= c < upper"),
    (lambda: BundleMenu.of((1.0, 2.0), None, 0.5, float("nan"), 1.0), r"finite numbers, got \[0.5, nan, 1.0\]"),
    (lambda: BundleMenu.separate((1.0, 2.0), None, (0.5,)), r"one price per item \(2\)"),
    (lambda: BundleMenu.separate((1.0, 2.0)).brute_force(1), "value grid points must be a whole number >= 2, got 1"),
    (lambda: search_menus((1.0, 2.0), None, points=(11, 11)), r"3 sizes \(p1, p2, p12\), got \(11, 11\)"),
    (lambda: search_menus((1.0, 2.0), None, points=(11, 2.5, 11)), "menu grid size must be a whole number >= 2"),
    (lambda: search_menus((1.0, 2.0), None, starts=0), "number of starts must be a whole number >= 1, got 0"),
])
def test_bad_input_is_refused_in_one_line(call, match):
    with pytest.raises(RobustInputError, match=match):
        call()
