"""Theorem 1.4.1 (Vickrey is the best efficient mechanism under independent values) by LP.

The LP of agora.market.robust.independent_design maximizes the worst case over a
finite set of independent laws subject to (IC-D) and (IR-D). Its value is
compared with the Vickrey mechanism's worst case, computed here by enumerating
the profiles (not through the LP's matrices), and with the finite-support bound
of the module docstring; the LP's mechanism is checked by brute force over
every value and report.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from agora.market.errors import InputError
from agora.market.robust.design import extrapolate, nested_points
from agora.market.robust.independent import reserve_auction_revenue
from agora.market.robust.independent_design import (
    discretized_law,
    efficiency_gap_bound,
    independent_design_lp,
    interim_problem,
    vickrey_revenues,
)
from agora.market.robust.support_only import second_price

SPECS = ("uniform:0,1", "beta:2,2,0,1")


def _laws(points: int) -> tuple[np.ndarray, list[np.ndarray]]:
    grid = np.linspace(0.0, 1.0, points)
    return grid, [discretized_law(s, grid) for s in SPECS]


def _enumerate(grid, marginals, payoff) -> float:
    """E[payoff(profile)] under independent marginals (one vector per bidder), by enumeration."""
    total = 0.0
    for ks in itertools.product(range(len(grid)), repeat=len(marginals)):
        total += np.prod([m[k] for m, k in zip(marginals, ks)]) * payoff(grid[list(ks)])
    return total


def test_vickrey_revenue_and_gap_bound_by_enumeration():
    grid = np.array([0.0, 0.2, 0.5, 0.6, 1.0])
    rng = np.random.default_rng(5)
    marg = rng.dirichlet(np.ones(5), size=3)  # three bidders, independent, not identical
    expected = _enumerate(grid, marg, lambda v: np.sort(v)[-2])
    assert vickrey_revenues(grid, [marg], 3)[0] == pytest.approx(expected, abs=1e-14)
    gaps = np.diff(grid)

    def gap(v):  # Σ_i Σ_l 1{v_i > g_l, max_{j≠i} v_j = g_l} Δ_l
        return sum(gaps[k] for i in range(3) for k in range(4)
                   if v[i] > grid[k] and np.delete(v, i).max() == grid[k])
    bound = efficiency_gap_bound(grid, [marg], 3)[0]
    assert bound == pytest.approx(_enumerate(grid, marg, gap), abs=1e-14)
    assert 0.0 < bound <= gaps.max()


def test_discretized_law_sums_to_one_and_converges():
    grid, (uniform, beta) = _laws(65)
    assert uniform.sum() == pytest.approx(1.0, abs=1e-15) and beta.sum() == pytest.approx(1.0, abs=1e-15)
    # E[min of two] of the discretized laws against the continuum's (quadrature)
    for law, spec in ((uniform, SPECS[0]), (beta, SPECS[1])):
        assert vickrey_revenues(grid, [law])[0] == pytest.approx(reserve_auction_revenue(spec, 2), abs=1e-3)


def test_vickrey_is_feasible_and_its_revenue_rows_agree():
    grid, laws = _laws(9)
    pb, revenue = interim_problem(grid, laws)
    values, q, m = second_price(grid)
    assert np.array_equal(values, pb.values)
    x = np.concatenate([q.ravel(), m.ravel()])
    assert np.max(pb.a_ub @ x - pb.b_ub) <= 1e-12  # ex-post IC/IR implies (IC-D)/(IR-D) (Proposition 1.2.1)
    assert revenue @ x == pytest.approx(vickrey_revenues(grid, laws), abs=1e-14)


def _interim_violation(grid, marginals, q, m) -> float:
    """Largest violation of (IC-D)/(IR-D), one law: loops over bidders, values, reports, rivals."""
    n, worst = len(grid), 0.0
    q, m = q.reshape(2, n, n), m.reshape(2, n, n)
    for i, a in itertools.product(range(2), range(n)):
        rival = marginals[1 - i]

        def expected(b, q=q, m=m, i=i, a=a, rival=rival):
            return sum(rival[o] * ((q[i, b, o] if i == 0 else q[i, o, b]) * grid[a]
                                   - (m[i, b, o] if i == 0 else m[i, o, b])) for o in range(n))
        truth = expected(a)
        worst = max(worst, -truth, *(expected(b) - truth for b in range(n)))
    return worst


def test_lp_mechanism_is_interim_ic_ir_and_efficient():
    grid, laws = _laws(9)
    d = independent_design_lp(grid, laws)
    for law in laws:
        assert _interim_violation(grid, [law, law], d.allocation, d.payments) <= 1e-8
    top = d.profiles == d.profiles.max(axis=1, keepdims=True)
    assert np.all(d.allocation[~top.T] <= 1e-12) and np.allclose(d.allocation.sum(axis=0), 1.0)
    revenue = {tuple(v): s for v, s in zip(d.profiles, d.payments.sum(axis=0))}
    worst = min(_enumerate(grid, [law, law], lambda v: revenue[tuple(v)]) for law in laws)
    assert worst == pytest.approx(d.value, abs=1e-9)


def test_theorem_1_4_1_on_nested_grids():
    """Vickrey's worst case <= efficient LP <= min_k (E_k[v_(2)] + B_k); the LP falls to 1/3 (U[0,1])."""
    values = []
    for n in nested_points(5, 4):
        grid, laws = _laws(n)
        lp = independent_design_lp(grid, laws).value
        vick, bound = vickrey_revenues(grid, laws), efficiency_gap_bound(grid, laws)
        assert vick.min() - 1e-9 <= lp <= (vick + bound).min() + 1e-9
        assert lp - vick.min() <= 1.0 / (n - 1)  # B_k <= the spacing
        values.append(lp)
    assert all(a > b for a, b in zip(values, values[1:]))
    continuum = min(reserve_auction_revenue(s, 2) for s in SPECS)  # 1/3: U[0,1] is the worst law
    assert continuum == pytest.approx(1 / 3, abs=1e-12)
    ext = extrapolate(values, rate=1.0)
    assert abs(ext.limit - continuum) <= 2e-3  # the last step's O(h^2) remainder; a 1% error moves it 3.4e-3


def test_asymmetric_independent_laws_and_three_bidders():
    grid = np.linspace(0.0, 1.0, 5)
    rng = np.random.default_rng(11)
    laws = rng.dirichlet(np.ones(5), size=(2, 3))  # two laws, three bidders with their own marginals
    lp = independent_design_lp(grid, laws, bidders=3).value
    vick, bound = vickrey_revenues(grid, laws, 3), efficiency_gap_bound(grid, laws, 3)
    assert vick.min() - 1e-9 <= lp <= (vick + bound).min() + 1e-9


def test_without_efficiency_a_reserve_beats_vickrey():
    """Theorem 1.4.1 needs efficiency: the LP over all mechanisms earns at least a reserve auction."""
    grid, laws = _laws(17)
    reserve = second_price(grid, reserve=0.5)
    marg = [[law, law] for law in laws]
    by_profile = {tuple(v): s for v, s in zip(reserve[0], reserve[2].sum(axis=0))}
    reserve_worst = min(_enumerate(grid, mm, lambda v: by_profile[tuple(v)]) for mm in marg)
    free = independent_design_lp(grid, laws, efficient=False).value
    assert free >= reserve_worst - 1e-9
    assert reserve_worst > vickrey_revenues(grid, laws).min() + 0.05


@pytest.mark.parametrize("laws,match", [
    ([[0.5, 0.5]], "vectors of 3 masses"),
    ([[0.5, 0.6, -0.1]], "masses >= 0 summing to 1"),
    ([[0.5, 0.4, 0.0]], "masses >= 0 summing to 1"),
])
def test_bad_laws_refused(laws, match):
    with pytest.raises(InputError, match=match):
        independent_design_lp([0.0, 0.5, 1.0], laws)


def test_large_problem_refused_before_work():
    grid = np.linspace(0.0, 1.0, 200)
    with pytest.raises(InputError, match="largest grid that fits has"):
        independent_design_lp(grid, [np.full(200, 1 / 200)])
