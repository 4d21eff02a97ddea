"""Proposition 4 over every common transfer rule: the DIC linear program on type grids.

Independent references: DIC with a common transfer is a system of difference constraints
m(u) - m(v) <= w(u, v), feasible iff the graph with an edge v -> u of weight w has no negative
cycle (Bellman-Ford, networkx), built here by enumerating profiles apart from the LP; returned
transfers are checked DIC by enumerating every member, profile and report.
"""

import itertools

import networkx as nx
import numpy as np
import pytest

from agora.market.errors import InputError
from agora.market.group.dsic_lp import dsic_lp, voting_allocation, voting_dsic_lp
from agora.market.group.mechanisms import type_grid
from agora.market.group.solver import parse_members

COMMITTEES = [  # members, cost, weights, types per member: two or more members each with weight > 0
    (["uniform:0,2", "uniform:0,3"], 0.0, (0.5, 0.5), 3),  # Example 1's laws, uniform weights
    (["uniform:0,2", "uniform:0,3"], 0.0, (0.6, 0.4), 4),
    (["uniform:0,2", "uniform:0,3"], 0.5, (0.7, 0.3), 6),
    (["uniform:0,1", "uniform:0,1", "uniform:0,1"], 0.0, (1 / 3, 1 / 3, 1 / 3), 4),
    (["uniform:0,1", "uniform:0,2", "uniform:0,3"], 0.2, (0.5, 0.3, 0.2), 3),
]


def _negative_cycle(grids, x, ex_post_ir):
    """Bellman-Ford on the difference constraints of DIC (and epIR through a zero node)."""
    g = nx.DiGraph()
    shape = x.shape
    for theta in itertools.product(*(range(k) for k in shape)):
        for i in range(len(shape)):
            for rep in range(shape[i]):
                dev = theta[:i] + (rep,) + theta[i + 1:]
                if dev == theta:
                    continue
                w = grids[i][theta[i]] * (x[theta] - x[dev])  # m(theta) - m(dev) <= w
                if g.has_edge(dev, theta):
                    w = min(w, g[dev][theta]["weight"])
                g.add_edge(dev, theta, weight=w)
        if ex_post_ir:  # m(theta) - m(zero) <= min_i theta_i x(theta)
            g.add_edge("zero", theta, weight=min(grids[i][t] for i, t in enumerate(theta)) * x[theta])
    return nx.negative_edge_cycle(g)


def _max_dic_gain(grids, x, m):
    """Largest gain of any member from any misreport at any profile, by enumeration."""
    gain = -np.inf
    for theta in itertools.product(*(range(k) for k in x.shape)):
        for i in range(x.ndim):
            for rep in range(x.shape[i]):
                dev = theta[:i] + (rep,) + theta[i + 1:]
                t = grids[i][theta[i]]
                gain = max(gain, (t * x[dev] - m[dev]) - (t * x[theta] - m[theta]))
    return gain


@pytest.mark.parametrize("specs,cost,weights,points", COMMITTEES)
def test_optimal_committee_rule_has_no_dic_transfer(specs, cost, weights, points):
    members = parse_members(specs)
    res = voting_dsic_lp(members, cost, weights, points)
    grids = [np.array(g) for g in res.grid]
    assert 0 < res.allocation.sum() < res.allocation.size  # a nontrivial rule
    assert not res.feasible and "nfeasible" in res.status
    assert _negative_cycle(grids, res.allocation, False)  # Bellman-Ford agrees: no transfer exists
    y = res.certificate  # Farkas: y >= 0, sum 1, b' y < 0 (checked against FARKAS_TOL in the module)
    assert np.all(y >= -1e-12) and abs(y.sum() - 1) <= 1e-9 and res.certificate_value < -1e-6


@pytest.mark.parametrize("specs,weights,points,ir", [
    (["uniform:0,2", "uniform:0,3"], (1.0, 0.0), 5, False),
    (["uniform:0.5,1", "uniform:1,2"], (1.0, 0.0), 6, True),  # Corollary 2: price below member 2's types
    (["uniform:0,1", "uniform:0,2", "uniform:0,3"], (0.0, 1.0, 0.0), 4, False),
])
def test_dictatorship_has_a_dic_transfer(specs, weights, points, ir):
    members = parse_members(specs)
    res = voting_dsic_lp(members, 0.0, weights, points, ex_post_ir=ir)
    grids = [np.array(g) for g in res.grid]
    assert res.feasible and res.certificate is None
    assert not _negative_cycle(grids, res.allocation, ir)
    # HiGHS primal feasibility tolerance 1e-7 per constraint bounds the gain
    assert _max_dic_gain(grids, res.allocation, res.transfers) <= 1e-7
    if ir:
        for theta in itertools.product(*(range(k) for k in res.allocation.shape)):
            low = min(grids[i][t] for i, t in enumerate(theta))
            assert res.transfers[theta] <= low * res.allocation[theta] + 1e-7


def test_one_member_committee_is_dic():
    """A single member facing its optimal price 1/2 (phi = 2 theta - 1 >= 0) is DIC with m = x / 2."""
    members = parse_members(["uniform:0,1"])
    res = voting_dsic_lp(members, 0.0, (1.0,), 7, ex_post_ir=True)
    np.testing.assert_array_equal(res.allocation, (np.linspace(0, 1, 7) >= 0.5).astype(float))
    assert res.feasible and _max_dic_gain([np.linspace(0, 1, 7)], res.allocation, res.transfers) <= 1e-7


def test_a_rule_that_is_not_monotone_fails_even_for_one_member():
    """Trade at the low type only: DIC needs m(lo) - m(hi) <= lo and >= hi > lo, so no transfer exists."""
    res = dsic_lp([np.array([0.0, 1.0])], np.array([1.0, 0.0]))
    assert not res.feasible and res.certificate_value < 0


def test_bad_input_is_refused():
    grids = [type_grid(parse_members(["uniform:0,1"])[0], 3)]
    with pytest.raises(InputError, match="shape"):
        dsic_lp(grids, np.zeros(4))
    with pytest.raises(InputError, match="0 or 1"):
        dsic_lp(grids, np.full(3, 0.5))
    with pytest.raises(InputError, match="points"):
        voting_dsic_lp(parse_members(["uniform:0,1"]), 0.0, (1.0,), 1)
    assert voting_allocation(grids, [2 * grids[0] - 1], (1.0,), 0.0).tolist() == [0.0, 1.0, 1.0]


def test_report_rows_hold_and_name_the_lp():
    """The reproduction's Proposition 4 rows: committees have no DIC transfer, the dictatorship has one."""
    from agora.experiments.reproduce.selling_to_a_group import dsic_lp_checks

    rows = dsic_lp_checks((0.6, 0.4))
    assert all(r.holds for r in rows) and all("linear program (HiGHS)" in r.source for r in rows)
    assert [r.paper for r in rows] == ["no", "no", "no", "yes"]
