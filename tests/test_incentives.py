"""Incentive notions over finite ambiguity sets (thesis Definition 1.2.6, Example 1.2.2)."""

import numpy as np

from agora.market.robust.incentives import all_pay_half, check_incentives, conditional_utilities

SCENARIOS = np.array([[0, 0], [4, 0], [0, 4], [4, 4]], float)
P1, P2 = np.array([1 / 5, 1 / 2, 1 / 5, 1 / 10]), np.array([1 / 4] * 4)


def _spa(bids):
    q, m = np.zeros(2), np.zeros(2)
    w = int(np.argmax(bids))
    q[w], m[w] = 1.0, bids[1 - w]
    return q, m


def test_example_1_2_2_numbers_and_verdicts():
    q, m = (lambda b: all_pay_half(b)[0]), (lambda b: all_pay_half(b)[1])
    assert np.allclose(conditional_utilities(SCENARIOS, [P1, P2], q, m, 0, 4.0, 0.0), [10 / 3, 2.0])
    res = check_incentives(SCENARIOS, [P1, P2], q, m, alpha=0.5, prior=[0.5, 0.5])
    assert res.holds == {"ex_post": False, "distributionally_robust": False, "maxmin": True,
                         "hurwicz": False, "bayesian": False}


def test_second_price_auction_satisfies_every_notion():
    """Ex-post IC implies all the others (Proposition 1.2.1)."""
    res = check_incentives(SCENARIOS, [P1, P2], lambda b: _spa(b)[0], lambda b: _spa(b)[1])
    assert all(res.holds.values()) and not res.violations
