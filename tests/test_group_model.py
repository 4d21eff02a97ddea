"""The agent-based group market (GroupModel, VetoBargaining): three evaluators agree; members veto.

Monte Carlo and agent-based means are held to the exact values within four
standard errors (sample sizes in each test); with replayed types the agents and
the vectorized rules agree round by round to rounding.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from agora.agents import GroupMember
from agora.market.errors import InputError
from agora.market.group.mechanisms import ConsultedMechanism, PostedPriceRule
from agora.market.group.montecarlo import simulate_group
from agora.market.group.solver import optimal_mechanism, parse_members, solve_group
from agora.market.group.variants import best_consulted_set, best_quota_price, solve_fixed_shares
from agora.models.group_model import GroupModel
from agora.protocols.veto import Proposal, Report, VetoBargaining, Vote

SIGMAS = 4.0
EXAMPLE_1 = ["uniform:0,2", "uniform:0,3"]


def run(model, rounds):
    for _ in range(rounds):
        model.step()
    return model.rounds()


def within(series, exact):
    se = series.std(ddof=1) / math.sqrt(len(series))
    return abs(series.mean() - exact) <= SIGMAS * se


def test_three_evaluators_agree_on_the_optimal_mechanism():
    """Exact profit vs Monte Carlo (400000 profiles) vs agent-based (3000 rounds)."""
    sol = solve_group(EXAMPLE_1)
    mech = optimal_mechanism(sol)
    mc = simulate_group(mech, 400_000, np.random.default_rng(0))
    assert abs(mc.mean["profit"] - sol.profit) <= SIGMAS * mc.stderr["profit"]
    model = GroupModel(EXAMPLE_1, mechanism=mech, rng=7)
    df = run(model, 3000)
    assert within(df["profit"].astype(float), sol.profit)
    assert within(df["trade"].astype(float), sol.trade_probability)
    assert df["vetoes"].sum() == 0  # IR: nobody vetoes the optimal mechanism


def test_agents_replay_the_vectorized_rounds_exactly():
    sol = solve_group(EXAMPLE_1)
    mech = optimal_mechanism(sol)
    types = np.column_stack([d.rvs(300, np.random.default_rng(1)) for d in mech.members])
    df = run(GroupModel(EXAMPLE_1, mechanism=mech, replay=types, rng=0), 300)
    assert np.allclose(df["profit"].to_numpy(float), mech.transfer(types) - 0.0 * mech.allocation(types),
                       atol=1e-12)
    assert np.array_equal(df["trade"].to_numpy(float), mech.allocation(types))


def test_members_report_truthfully_to_the_optimal_mechanism():
    model = GroupModel(EXAMPLE_1, rng=3)
    run(model, 50)
    log = model.message_log()
    reports = log[log["kind"] == "Report"]
    assert len(reports) == 100
    types = model.datacollector.get_agenttype_vars_dataframe(GroupMember)["type"].to_numpy()
    assert np.allclose(np.sort(reports["amount"].to_numpy(float)), np.sort(types))
    assert set(log["kind"]) == {"Proposal", "Vote", "Report", "Allocation", "Payment"}


def test_member_vetoes_a_price_offered_to_the_other_member():
    """Price 3/2 to member 2 alone: member 1 vetoes iff (theta_1 - 3/2) / 2 < 0, i.e. theta_1 < 3/2."""
    mech = PostedPriceRule(parse_members(EXAMPLE_1), 0.0, 1.5, consulted=[1])
    model = GroupModel(EXAMPLE_1, mechanism=mech, rng=5)
    df = run(model, 2000)
    member = model.datacollector.get_agenttype_vars_dataframe(GroupMember).xs(model.members[0].unique_id,
                                                                               level="AgentID")
    assert np.array_equal(member["vetoed"].to_numpy(bool), member["type"].to_numpy(float) < 1.5)
    assert within(df["profit"].astype(float), 1.5 * 0.25 * 0.5)  # sold iff theta_1, theta_2 >= 3/2
    assert within(df["accepted"].astype(float), 0.25)


def test_n_approval_price_earns_its_exact_profit():
    """Section 6.2: price p, sold iff at least one member says yes (2000 rounds)."""
    price, profit = best_quota_price(EXAMPLE_1, 1)
    mech = PostedPriceRule(parse_members(EXAMPLE_1), 0.0, price, quota=1)
    df = run(GroupModel(EXAMPLE_1, mechanism=mech, protocol=VetoBargaining(approvals=1), rng=2), 2000)
    assert within(df["profit"].astype(float), profit)
    assert profit > solve_group(EXAMPLE_1).profit  # coalition building beats the veto optimum here


def test_fixed_consulted_set():
    specs = ["uniform:0,2", "uniform:0,3", "uniform:0,1"]
    best = best_consulted_set(specs, 2)
    assert best.consulted == (0, 1)  # the two stronger members
    inner = optimal_mechanism(best.solution)
    mech = ConsultedMechanism(parse_members(specs), inner, best.consulted)
    model = GroupModel(specs, mechanism=mech, protocol=VetoBargaining(veto_holders=best.consulted), rng=4)
    df = run(model, 2000)
    assert within(df["profit"].astype(float), best.solution.profit)
    assert df["vetoes"].sum() == 0


def test_fixed_shares_payoffs_and_profit():
    """Section 6.3: values U[0,1], shares (0.2, 0.3, 0.5); payoffs v_i x - sigma_i m (1500 rounds)."""
    values, shares = ["uniform:0,1"] * 3, [0.2, 0.3, 0.5]
    sol = solve_fixed_shares(values, shares)
    assert sol.weights[2] > sol.weights[1] > sol.weights[0]  # larger share, more influence
    model = GroupModel(values, shares=shares, rng=6)
    df = run(model, 1500)
    assert within(df["profit"].astype(float), sol.profit)
    last = model.last
    values_now = [m.value for m in model.members]
    assert sum(m.payoff for m in model.members) == pytest.approx(sum(values_now) * last.trade - last.transfer)


def test_message_types_carry_round_and_sender():
    v = Vote(3, 1, 2, accept=False, utility=-0.5)
    assert v.kind == "Vote" and v.log_row()["round"] == 3
    assert Report(0, 1, 2, amount=0.4).log_row()["amount"] == 0.4
    assert Proposal(0, 1, -1).kind == "Proposal"


@pytest.mark.parametrize("kwargs,needle", [
    ({"protocol": VetoBargaining(approvals=3)}, "approvals"),
    ({"protocol": VetoBargaining(veto_holders=[5])}, "veto holders"),
    ({"mechanism": "auction"}, "proposal"),
    ({"shares": [0.5, 0.6]}, "shares"),
    ({"members": ["point:1"]}, "atom"),
])
def test_bad_model_input(kwargs, needle):
    with pytest.raises(InputError, match=needle):
        GroupModel(**kwargs)
