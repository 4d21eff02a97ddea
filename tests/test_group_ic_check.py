"""The IC/IR verifier in money: a tolerance relative to the seller's profit, violations resolved
beyond four standard errors, the worst type and report named; exact ex-post deviations."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import optimize

from agora.market.errors import InputError
from agora.market.group.ic_check import (
    RELATIVE_TOLERANCE,
    SIGMAS,
    ex_post_deviation,
    expected_profit,
    verify_ic_ir,
)
from agora.market.group.mechanisms import PostedPriceRule, VotingMechanism, type_grid
from agora.market.group.solver import optimal_mechanism, parse_members, solve_group

COMMITTEES = [  # the optimal mechanism of each passes
    (["uniform:0,2", "uniform:0,3"], 0.0),
    (["uniform:0,1", "exponential:1"], 0.3),
    (["uniform:0,2", "uniform:0.1,3", "exponential:0.8"], 0.2),
    (["uniform:0.5,2", "pareto:0.5,1"], 0.4),
    pytest.param(["uniform:0,2", "uniform:0,3", "uniform:0.2,1.5", "exponential:0.8", "uniform:0.1,4"], 0.1,
                 marks=pytest.mark.slow),
]


def taxed(mech: VotingMechanism, tax: float) -> VotingMechanism:
    """The same mechanism with a lump-sum ``tax`` added to every ex-post transfer."""

    class Taxed(VotingMechanism):
        def transfer(self, theta):
            return super().transfer(theta) + tax

    return Taxed(mech.members, mech.cost, mech.weights, mech.integrator, moments=mech.moments)


@pytest.fixture(scope="module")
def exponential_case():
    sol = solve_group(["uniform:0,1", "exponential:1"], 0.3)
    return sol, optimal_mechanism(sol, table_points=513)


@pytest.mark.parametrize("specs,cost", COMMITTEES, ids=["example-1", "exponential", "N=3", "pareto", "N=5"])
def test_the_optimal_mechanism_passes(specs, cost):
    sol = solve_group(specs, cost, qmc_points=1 << 12)
    report = verify_ic_ir(optimal_mechanism(sol, table_points=513), grid_points=41)
    assert report.passes, report.to_dict()
    assert report.tolerance == pytest.approx(RELATIVE_TOLERANCE * report.profit, rel=1e-12)
    assert report.profit == pytest.approx(sol.profit, abs=2e-3 * sol.profit)  # by the verifier's own draws
    v = report.worst_shortfall  # IR binds at a lowest type and holds elsewhere, up to sampling
    assert v.amount <= SIGMAS * v.stderr + 1e-9


def test_a_tax_of_0_035_with_an_exponential_member_is_caught(exponential_case):
    """0.035 is 40% of the profit 0.0879; a tolerance of 2e-3 x the largest type (20.7) would be 0.041."""
    sol, mech = exponential_case
    report = verify_ic_ir(taxed(mech, 0.035), grid_points=41)
    assert report.incentive_compatible and not report.individually_rational
    v = report.ir_violation
    binding = int(np.argmin(sol.virtual_moments))  # the member whose IR binds (Lemma 2)
    assert v.member == binding and v.true_type == mech.members[binding].lo and v.report is None
    assert v.amount == pytest.approx(0.035, abs=1e-12) and v.stderr <= 1e-12
    assert report.tolerance < 0.035 / 10 and report.resolution < 0.035


def test_a_tax_of_twice_the_tolerance_is_caught_and_half_of_it_is_not(exponential_case):
    sol, mech = exponential_case
    tol = RELATIVE_TOLERANCE * sol.profit
    assert not verify_ic_ir(taxed(mech, 2 * tol), grid_points=21).individually_rational
    assert verify_ic_ir(taxed(mech, tol / 2), grid_points=21).individually_rational


def test_an_absolute_tolerance_overrides_the_relative_one(exponential_case):
    _, mech = exponential_case
    report = verify_ic_ir(taxed(mech, 0.035), grid_points=21, tolerance=0.05)
    assert report.passes and report.tolerance == 0.05 and report.worst_shortfall.amount > 0.03
    assert report.tolerance_basis.startswith("absolute")


def test_the_worst_misreport_of_a_posted_price_to_one_member():
    """Price 3/2 to member 2 alone (the paper's introduction): IC, and member 1 at type 0 loses (3/2)(1/2)."""
    mech = PostedPriceRule(parse_members(["uniform:0,2", "uniform:0,3"]), 0.0, 1.5, consulted=[1])
    report = verify_ic_ir(mech, grid_points=41)
    assert report.profit == pytest.approx(0.75, abs=4 * 0.75 * 0.5 / np.sqrt(1 << 15))
    assert report.ir_violation.member == 0 and report.ir_violation.true_type == 0.0
    assert report.ir_violation.amount == pytest.approx(0.75, abs=SIGMAS * report.ir_violation.stderr + 1e-3)


def test_expected_profit_by_sampling_is_the_solvers():
    sol = solve_group(["uniform:0,2", "uniform:0,3"])
    mean, se = expected_profit(optimal_mechanism(sol, table_points=513))
    assert abs(mean - sol.profit) <= SIGMAS * se + 1e-4  # + the tabulation error of the transfers
    assert 0 < se < 1e-3


@pytest.mark.parametrize("kwargs,needle", [({"tolerance": -1.0}, "absolute tolerance"),
                                           ({"relative_tolerance": 0.0}, "relative tolerance"),
                                           ({"grid_points": 1}, "grid points")])
def test_bad_tolerances(exponential_case, kwargs, needle):
    with pytest.raises(InputError, match=needle):
        verify_ic_ir(exponential_case[1], **kwargs)


def test_a_mechanism_earning_nothing_needs_an_absolute_tolerance():
    free = PostedPriceRule(parse_members(["uniform:0,2", "uniform:0,3"]), 0.0, 0.0)
    with pytest.raises(InputError, match="absolute tolerance"):
        verify_ic_ir(free, grid_points=11)
    assert verify_ic_ir(free, grid_points=11, tolerance=1e-9).passes


def test_exact_best_deviation_of_proposition_4():
    """Example 1, theta = (1, 1.8): member 1's best report is where trade starts, w1 phi1(r) = -w2 phi2(1.8)."""
    sol = solve_group(["uniform:0,2", "uniform:0,3"])
    mech = optimal_mechanism(sol)
    report, gain = ex_post_deviation(mech, 0, [1.0, 1.8])
    w = np.array(sol.weights)
    threshold = float(mech.members[0].virtual_threshold(-w[1] * (2 * 1.8 - 3) / w[0]))
    assert threshold == pytest.approx(0.841742, abs=1e-6)
    assert report == pytest.approx(threshold, abs=1e-7)
    rows = np.array([[threshold, 1.8], [1.0, 1.8]])  # the gain at the exact threshold, by the ex-post rules
    exact_gain = float(np.diff(-(1.0 * mech.allocation(rows) - mech.transfer(rows)))[0])
    assert gain == pytest.approx(exact_gain, abs=1e-7) and gain == pytest.approx(0.0994, abs=1e-4)
    grid = type_grid(mech.members[0], 401)  # a grid alone cannot land on the threshold
    assert np.min(np.abs(grid - threshold)) > 1e-3


def test_best_deviation_equals_a_root_and_a_dense_scan_where_the_grid_alone_misses():
    """Example 1, theta = (1, 1.8): the refined deviation equals brentq's root of the trade threshold
    w1 phi1(r) + w2 phi2(1.8) = 0 with the paper's phi_i(t) = 2 t - hi_i, and its gain the utility there;
    the 401-point grid's own best (0.845, gain 0.0976) misses both by more than 1e-6."""
    sol = solve_group(["uniform:0,2", "uniform:0,3"])
    mech = optimal_mechanism(sol)
    w = np.array(sol.weights)

    def utility(reports) -> np.ndarray:
        reports = np.atleast_1d(np.asarray(reports, float))
        rows = np.column_stack([reports, np.full(reports.size, 1.8)])
        return 1.0 * mech.allocation(rows) - mech.transfer(rows)

    root = optimize.brentq(lambda r: w[0] * (2 * r - 2) + w[1] * (2 * 1.8 - 3), 0.0, 2.0, xtol=1e-14)
    truth = float(utility(1.0)[0])
    exact_gain = float(utility(root + 1e-12)[0]) - truth  # trade starts at the root; m rises beyond it

    def agrees(report: float, gain: float) -> bool:
        return abs(report - root) <= 1e-6 and abs(gain - exact_gain) <= 1e-6

    report, gain = ex_post_deviation(mech, 0, [1.0, 1.8])
    assert agrees(report, gain)
    dense = np.linspace(0.0, 2.0, 100_001)  # no report on a 1e5-point grid does better
    assert float(utility(dense).max()) - truth <= gain + 1e-12
    grid = type_grid(mech.members[0], 401)
    values = utility(grid)
    b = int(np.argmax(values))
    assert grid[b] == pytest.approx(0.845, abs=1e-12) and values[b] - truth == pytest.approx(0.0976, abs=1e-4)
    assert not agrees(float(grid[b]), float(values[b] - truth))
