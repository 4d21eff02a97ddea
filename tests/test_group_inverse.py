"""The tabulated virtual value of beta and truncated-normal members (selling-to-a-group, Section 3).

The table answers phi^-1(s) and P[theta >= phi^-1(s)]; the reference is each law's own
bracketing root finder (scipy's find_root / brentq to 1e-14) followed by its survival function.
It also answers phi(F^-1(u)); the reference is the law's quantile function (isf above the
median) and phi, and for a truncated normal the closed form through the normal's isf.
The group's expectations are compared with the same expectations computed through the root
finder and the quantile function (the same Sobol points or quadrature nodes, so the two
differ only by the table).
"""

from __future__ import annotations

import numpy as np
import pytest

from agora.market.distributions import parse_spec
from agora.market.group import expectations
from agora.market.group.expectations import GroupIntegrator
from agora.market.group.inverse import TABLE_TOL, has_closed_inverse, survival_at, virtual_inverse
from agora.market.group.solver import evaluate_weights, parse_members, solve_group
from agora.market.group.variants import ScaledDistribution

LAWS = ["beta:2,3,0,2", "beta:3,2,0,1", "beta:50,3,0,1", "truncnorm:1,1,0,3", "truncnorm:0.8,0.5,0,2",
        "truncnorm:1,1,0,inf", "truncnorm:1e6,1e6,0,3e6"]
SIX = ["beta:2,3,0,2", "truncnorm:1,1,0,3", "beta:2,2,0,1.5", "truncnorm:0.8,0.5,0,2", "beta:3,2,0,1",
       "truncnorm:1.2,0.7,0,2.5"]


def _root_finder(dist, s):
    """phi^-1 by the law's bracketing root finder, then the survival there."""
    a = dist.virtual_threshold(s)
    return a, survival_at(dist, a)


def _quantile_function(dist, u):
    """phi(F^-1(u)) through the law's quantile function."""
    return dist.virtual_value(dist.ppf(u))


def _untabulated(m):
    """Route the group's expectations through the root finder and the quantile function."""
    m.setattr(expectations, "threshold_and_survival", _root_finder)
    m.setattr(expectations, "virtual_at_quantile", _quantile_function)


@pytest.mark.parametrize("spec", LAWS)
def test_table_matches_the_root_finder(spec):
    dist = parse_spec(spec)
    inv = virtual_inverse(dist)
    rng = np.random.default_rng(3)
    s = np.concatenate([dist.virtual_value(dist.ppf(rng.random(3000))),  # where phi lives
                        rng.uniform(max(inv.t[0], -30.0), inv.t[-1], 2000)])
    s = s[(s > dist.phi_lo) & (s <= dist.hi)]
    a, surv = inv(s)
    ref_a, ref_surv = _root_finder(dist, s)
    span = float(dist.isf(1e-15)) - dist.lo  # the hi of a bounded law
    assert not has_closed_inverse(dist)
    assert inv.error[0] <= TABLE_TOL and inv.error[1] <= TABLE_TOL  # the stated error
    assert np.max(np.abs(a - ref_a)) <= 1e-10 * span
    assert np.max(np.abs(surv - ref_surv)) <= 1e-10
    assert inv.trusted.mean() > 0.9  # the table answers almost every cell itself


@pytest.mark.parametrize("spec", LAWS)
def test_virtual_values_of_quantiles_match_the_quantile_function(spec):
    dist = parse_spec(spec)
    inv = virtual_inverse(dist)
    # scipy's truncnorm isf errs by about 1e-10 at tail 1e-12: the far upper tail is checked below
    u = np.concatenate([np.random.default_rng(4).random(5000), np.logspace(-15, -1, 300),
                        1 - np.logspace(-9, -1, 300)])
    span = float(dist.isf(1e-15)) - dist.lo
    ref = np.where(u <= 0.5, dist.virtual_value(dist.ppf(u)), dist.virtual_value(dist.isf(1 - u)))
    assert inv.error_x <= TABLE_TOL
    assert np.max(np.abs(inv.virtual_at(u) - ref)) <= 1e-10 * span


def test_truncated_normal_tail_against_the_normal_closed_form():
    # truncnorm:1,1,0,inf: P[theta >= v] = Q(v - 1) / Q(-1), so F^-1(u) = 1 + Q^-1((1 - u) Q(-1))
    from scipy.stats import norm

    dist = parse_spec("truncnorm:1,1,0,inf")
    u = 1 - np.logspace(-13, -2, 200)
    q = 1 - u  # exact for these floats
    v = 1 + norm.isf(q * norm.sf(-1))
    exact = v - q / dist.pdf(v)
    assert np.max(np.abs(virtual_inverse(dist).virtual_at(u) - exact)) <= 1e-9


def test_a_scaled_member_is_tabulated_too():
    dist = ScaledDistribution(parse_spec("beta:2,3,0,2"), 2.5)  # Section 6.3's theta = v / sigma
    s = np.linspace(-8.0, 4.9, 4001)
    a, surv = virtual_inverse(dist)(s)
    ref_a, ref_surv = _root_finder(dist, s)
    assert np.max(np.abs(a - ref_a)) <= 1e-10 * 5.0 and np.max(np.abs(surv - ref_surv)) <= 1e-10


def _evaluate(specs, cost, weights, **options):
    integ = GroupIntegrator(parse_members(specs), cost, **options)
    return evaluate_weights(integ, weights)


def test_six_mixed_members_profit_as_through_the_root_finder(monkeypatch):
    sol = solve_group(SIX, 0.2)
    assert sol.trivial is None and sol.optimality_gap <= 1e-6
    fast = _evaluate(SIX, 0.2, sol.weights)
    with monkeypatch.context() as m:
        _untabulated(m)
        slow = _evaluate(SIX, 0.2, sol.weights)
    assert fast.profit_at_cost(0.2) == pytest.approx(sol.profit, abs=1e-15)
    assert abs(fast.profit_at_cost(0.2) - slow.profit_at_cost(0.2)) <= 1e-8
    assert np.max(np.abs(fast.moments - slow.moments)) <= 1e-8
    assert abs(fast.excess - slow.excess) <= 1e-8 and abs(fast.trade - slow.trade) <= 1e-8


def test_three_members_solve_as_through_the_root_finder(monkeypatch):
    specs = ["beta:2,3,0,2", "truncnorm:1,1,0,3", "beta:2,2,0,1.5"]  # quadrature: the table in both places
    fast = solve_group(specs, 0.3)
    with monkeypatch.context() as m:
        _untabulated(m)
        slow = solve_group(specs, 0.3)
    assert fast.trivial is None and 0 < fast.profit
    assert abs(fast.profit - slow.profit) <= 1e-8
    assert np.max(np.abs(np.array(fast.weights) - slow.weights)) <= 1e-6


def test_one_table_per_law_whichever_object_carries_it():
    """Two parses of one law share a table; laws whose specs print alike (6 digits) but differ do not,
    and each answers as its own root finder does."""
    first, again = parse_spec("beta:2,3,0,2"), parse_spec("beta:2, 3, 0, 2.0")
    assert first is not again and virtual_inverse(first) is virtual_inverse(again)
    close = parse_spec("beta:2,3,0,2.0000001")
    assert close.spec == first.spec and virtual_inverse(close) is not virtual_inverse(first)
    s = np.linspace(-1.0, 1.9, 7)
    for law in (first, close):
        a, _ = virtual_inverse(law)(s)
        assert np.allclose(a, law.virtual_threshold(s), rtol=0, atol=1e-9 * (law.hi - law.lo))
    scaled = [ScaledDistribution(first, f) for f in (1 / 0.3, 1 / 0.3 + 1e-7)]
    assert scaled[0].spec == scaled[1].spec and virtual_inverse(scaled[0]) is not virtual_inverse(scaled[1])


@pytest.mark.parametrize("spec", LAWS[:5])
def test_refined_cells_answer_every_quantile_above_1e_5(spec):
    """The cells of a pair whose stated error exceeded TABLE_TOL were halved until it did not: for
    u in [1e-5, 1 - 1e-9] (about where 4 x 2^14 Sobol points reach) the table answers phi(F^-1(u)) and
    phi^-1 itself, with no fallback to the law's root finder or quantile function (which beta tails
    below u = 1e-3 needed before), within 1e-10 of the span."""
    dist = parse_spec(spec)
    inv = virtual_inverse(dist)
    u = np.concatenate([np.logspace(-5, -1, 2000), np.linspace(0.1, 0.9, 2000), 1 - np.logspace(-9, -1, 2000)])
    x = np.log(u) - np.log1p(-u)
    cell = np.searchsorted(inv.x, x) - 1
    assert np.all(inv.trusted_x[cell])
    s = dist.virtual_value(dist.ppf(u[u <= 0.5]))
    assert np.all(inv.trusted[np.searchsorted(inv.t, s) - 1])
    span = float(dist.isf(1e-15)) - dist.lo
    ref = np.where(u <= 0.5, dist.virtual_value(dist.ppf(u)), dist.virtual_value(dist.isf(1 - u)))
    assert np.max(np.abs(inv.virtual_at(u) - ref)) <= 1e-10 * span
