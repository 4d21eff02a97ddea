"""Collective mechanisms: Lemma 1 transfers, interim rules, the IC/IR verifier, Proposition 4.

Interim rules from tables (257 types, linear interpolation integrated exactly) are compared with
sampling the ex-post rules over 2^16 scrambled Sobol points of the others'
types; Monte Carlo profits are held to four standard errors with the sample
size in the test.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from agora.market.errors import InputError
from agora.market.group.expectations import GroupIntegrator
from agora.market.group.ic_check import ex_post_deviation, interim_by_sampling, verify_ic_ir
from agora.market.group.mechanisms import CollectiveMechanism, PostedPriceRule, VotingMechanism, at_least_probability
from agora.market.group.montecarlo import simulate_group
from agora.market.group.solver import optimal_mechanism, parse_members, solve_group

SIGMAS = 4.0
INSTANCES = [
    (["uniform:0,2", "uniform:0,3"], 0.0),
    (["uniform:0,2", "uniform:0.1,3", "uniform:0,1.2"], 0.2),
    (["uniform:0,2", "uniform:0,3", "uniform:0.2,1.5", "exponential:0.8", "uniform:0.1,4"], 0.1),
]


@pytest.fixture(scope="module", params=INSTANCES, ids=["N=2", "N=3", "N=5"])
def solved(request):
    specs, cost = request.param
    sol = solve_group(specs, cost)
    return sol, optimal_mechanism(sol, table_points=257)


def test_lemma_1_transfers_are_nonnegative_and_match_the_interim_ones(solved):
    sol, mech = solved
    rng = np.random.default_rng(3)
    theta = np.column_stack([d.rvs(50_000, rng) for d in mech.members])
    assert mech.transfer(theta).min() >= -1e-12
    for i, d in enumerate(mech.members):
        types = np.linspace(d.lo, float(d.ppf(0.99)), 9)
        x_tab, m_tab = mech.interim(i, types)
        assert m_tab.min() >= -1e-12  # Theorem 1: interim transfers are nonnegative
        x_s, m_s = interim_by_sampling(mech, i, types, samples=1 << 16, seed=11)
        assert np.abs(m_s - m_tab).max() <= 2e-3 * max(1.0, m_tab.max())
        assert np.abs(x_s - x_tab).max() <= 2e-3


def test_ir_binds_for_a_member_and_holds_for_all(solved):
    sol, mech = solved
    low = [float(mech.interim_utility(i, d.lo)[0]) for i, d in enumerate(mech.members)]
    assert min(low) == pytest.approx(0.0, abs=1e-9)
    assert np.allclose(low, np.array(sol.virtual_moments) - min(sol.virtual_moments), atol=1e-9)
    for i, d in enumerate(mech.members):
        assert mech.interim_utility(i, np.linspace(d.lo, float(d.ppf(0.99)), 50)).min() >= -1e-9


def test_expected_transfer_is_the_optimal_profit(solved):
    """E[m] - c E[x] = the solver's profit: exact vs Monte Carlo (400000 draws, 4 standard errors)."""
    sol, mech = solved
    est = simulate_group(mech, 400_000, np.random.default_rng(5))
    assert abs(est.mean["profit"] - sol.profit) <= SIGMAS * est.stderr["profit"]
    assert abs(est.mean["trade"] - sol.trade_probability) <= SIGMAS * est.stderr["trade"]


def test_verifier_passes_the_optimal_mechanism():
    for specs, cost in INSTANCES[:2]:
        mech = optimal_mechanism(solve_group(specs, cost), table_points=257)
        report = verify_ic_ir(mech, grid_points=51)
        assert report.passes, report.to_dict()


EXAMPLE_1 = parse_members(["uniform:0,2", "uniform:0,3"])


def test_verifier_finds_the_ir_violation_of_a_price_offered_to_one_member():
    """The introduction of the paper: price 3/2 to member 2 alone costs member 1 at type 0 (3/2)(1/2)."""
    report = verify_ic_ir(PostedPriceRule(EXAMPLE_1, 0.0, 1.5, consulted=[1]), grid_points=51)
    assert not report.individually_rational and report.incentive_compatible
    assert report.ir_violation.member == 0 and report.ir_violation.true_type == 0.0
    assert report.ir_violation.amount == pytest.approx(0.75, abs=1e-3)


def test_verifier_finds_a_tax_on_the_optimal_mechanism():
    class Taxed(VotingMechanism):
        def transfer(self, theta):
            return super().transfer(theta) + 0.05

    sol = solve_group(["uniform:0,2", "uniform:0,3"])
    report = verify_ic_ir(Taxed(EXAMPLE_1, 0.0, sol.weights, table_points=257), grid_points=51)
    assert report.incentive_compatible and not report.individually_rational
    assert report.min_ir_utility == pytest.approx(-0.05, abs=2e-3)


class FreeVote(CollectiveMechanism):
    """Trade iff theta_1 + theta_2 >= 2, no transfer: IR, but every type > 0 wants to overstate."""

    members, cost = EXAMPLE_1, 0.0

    def allocation(self, theta):
        theta = np.atleast_2d(theta)
        return (theta[:, 0] + theta[:, 1] >= 2).astype(float)

    def transfer(self, theta):
        return np.zeros(np.atleast_2d(theta).shape[0])

    def interim(self, i, types):
        raise NotImplementedError

    def describe(self):
        return {"mechanism": "free vote"}


def test_verifier_finds_a_profitable_misreport():
    # the seller earns nothing here, so the tolerance is an absolute amount of money
    report = verify_ic_ir(FreeVote(), grid_points=51, tolerance=1e-3)
    assert report.individually_rational and not report.incentive_compatible
    v = report.ic_violation
    assert v.report > v.true_type and v.amount > 0.1


def test_unanimous_posted_price_is_ic_ir_and_earns_proposition_2():
    sol = solve_group(["uniform:0,2", "uniform:0,3"])
    mech = PostedPriceRule(EXAMPLE_1, 0.0, sol.posted_price)
    assert mech.unanimous
    assert mech.expected_profit() == pytest.approx(sol.posted_price_profit, abs=1e-12)
    assert verify_ic_ir(mech, grid_points=51).passes
    x, m = mech.interim(0, np.array([0.5, 1.0]))  # below the price: no trade; above: P[theta_2 >= p]
    assert x[0] == 0.0 and x[1] == pytest.approx(1 - sol.posted_price / 3, abs=1e-12)
    assert np.allclose(m, sol.posted_price * x)


def test_quota_price_interim_matches_sampling():
    members = parse_members(["uniform:0,2", "uniform:0,3", "uniform:0,1.5"])
    mech = PostedPriceRule(members, 0.0, 0.8, quota=2)
    types = np.linspace(0, 2, 7)
    x_tab, m_tab = mech.interim(0, types)
    x_s, m_s = interim_by_sampling(mech, 0, types, samples=1 << 16)
    assert np.abs(x_s - x_tab).max() <= 2e-3 and np.allclose(m_tab, 0.8 * x_tab)


def test_at_least_probability_by_enumeration():
    p = np.array([0.2, 0.5, 0.9])
    outcomes = np.array(np.meshgrid(*[[0, 1]] * 3)).reshape(3, -1).T
    probs = np.prod(np.where(outcomes == 1, p, 1 - p), axis=1)
    for q in range(4):
        assert at_least_probability(p, q) == pytest.approx(probs[outcomes.sum(axis=1) >= q].sum(), abs=1e-15)


def test_proposition_4_a_member_who_knows_the_others_types_deviates():
    mech = optimal_mechanism(solve_group(["uniform:0,2", "uniform:0,3"]), table_points=257)
    report, gain = ex_post_deviation(mech, 0, [1.0, 1.8])
    assert gain > 1e-3 and not math.isclose(report, 1.0)


def test_dictatorship_is_dominant_strategy_ic():
    sol = solve_group(["uniform:0,1", "uniform:0.6,2"])  # Corollary 2: member 1 dictates
    mech = PostedPriceRule(parse_members(sol.members), 0.0, 0.5, consulted=[0])
    rng = np.random.default_rng(0)
    for _ in range(20):
        profile = [rng.uniform(0, 1), rng.uniform(0.6, 2)]
        assert ex_post_deviation(mech, 0, profile)[1] <= 1e-12
        assert ex_post_deviation(mech, 1, profile)[1] <= 1e-12


@pytest.mark.parametrize("kwargs,needle", [
    ({"price": -1.0}, "price"), ({"price": 1.0, "quota": 3}, "quota"),
    ({"price": 1.0, "consulted": [2]}, "consulted")])
def test_bad_posted_price_rules(kwargs, needle):
    with pytest.raises(InputError, match=needle):
        PostedPriceRule(EXAMPLE_1, 0.0, **kwargs)


def test_bad_weights():
    with pytest.raises(InputError, match="weights"):
        VotingMechanism(EXAMPLE_1, 0.0, [0.7, 0.7])


SMOOTHED = {  # the member with the largest weight is integrated in closed form
    "uniform": (["uniform:0,2", "uniform:0.1,1", "exponential:0.8", "uniform:0,3"], 1e-12),
    "exponential": (["exponential:1", "uniform:0,1", "uniform:0.2,1.5", "exponential:0.5"], 1e-12),
    "beta": (["beta:2,2,0,1", "uniform:0,2", "beta:2,3,0,1", "truncnorm:1,1,0,3"], 2e-7),
}


@pytest.mark.parametrize("law", SMOOTHED)
def test_trade_alone_is_the_trade_moment(law):
    """The interim rules' trade-only estimate is moments(...).trade: to rounding for uniform and
    exponential smoothed members (prefix sums), within the interpolation error otherwise."""
    specs, tol = SMOOTHED[law]
    integ = GroupIntegrator(parse_members(specs), 0.1, qmc_points=1 << 10, force_qmc=True)
    weights = np.array([0.4, 0.1, 0.3, 0.2])
    offsets = np.linspace(-1.5, 1.5, 41)
    fast = integ.trade(weights, offsets, [0, 1, 2])
    assert np.abs(fast - integ.moments(weights, offsets, [0, 1, 2]).trade).max() <= tol
    assert fast.min() < 0.1 and fast.max() > 0.9  # the offsets cross the whole range


def test_verifier_passes_a_six_member_mechanism_and_finds_its_tax():
    specs = ["uniform:0,1", "uniform:0,2", "exponential:1"] * 2
    sol = solve_group(specs, 0.0, qmc_points=1 << 12)
    mech = optimal_mechanism(sol)
    assert verify_ic_ir(mech, grid_points=41, samples=1 << 13).passes

    class Taxed(VotingMechanism):
        def transfer(self, theta):
            return super().transfer(theta) + 0.2

    taxed = Taxed(mech.members, 0.0, sol.weights, mech.integrator, moments=sol.virtual_moments)
    report = verify_ic_ir(taxed, grid_points=41, samples=1 << 13)
    assert report.incentive_compatible and not report.individually_rational
    assert report.min_ir_utility == pytest.approx(-0.2, abs=1e-9)


def test_a_beta_member_with_an_infinite_lowest_virtual_value_gets_finite_tables():
    """beta:2,3 has phi(lo) = -inf; with a uniform member in closed form its X_i was NaN from there on."""
    specs = ["beta:2,3,0,2", "uniform:0,1", "truncnorm:1,1,0,3", "exponential:1", "uniform:0,2", "beta:2,2,0,1.5"]
    sol = solve_group(specs, 0.2, qmc_points=1 << 12)
    mech = optimal_mechanism(sol)
    assert mech.members[0].virtual_value(mech.members[0].lo) == -np.inf
    for x, area in mech.tables:
        assert np.all(np.isfinite(x)) and np.all(np.isfinite(area)) and np.all(np.diff(x) >= 0)
    assert mech.tables[0][0][0] == 0.0  # the lowest beta type never trades: phi = -inf
    est = simulate_group(mech, 200_000, np.random.default_rng(2))
    assert abs(est.mean["profit"] - sol.profit) <= SIGMAS * est.stderr["profit"] + 5e-4  # + tabulation error
