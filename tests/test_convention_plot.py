"""``agora plot --protocol adaptive-play``: per convention the simulated share of periods beside the exact
stationary mass. Expected values are computed here: with memory 1 and samples 1 each player best-replies
to the other's last action. The row player's best reply to column action b is b (its third action never
is one); the column player's to row action a is BR_COLUMN[a]. The chain over the last play (a, b) moves to
(a', b') with chance [(1 - e_r) 1{a' = b} + e_r / 3] [(1 - e_c) 1{b' = BR_COLUMN[a]} + e_c / 2]
(Young 1993's mistakes: uniform actions); its conventions are (0, 0) and (1, 1)."""

from __future__ import annotations

import numpy as np

from agora.experiments.markets import kind_of
from agora.experiments.markets.adaptive_play import convention_shares

ROW, COLUMN = [[2.0, 0.0], [0.0, 1.0], [1.0, -1.0]], [[1.0, 0.0], [0.0, 2.0], [3.0, 0.0]]
BR_COLUMN = (0, 1, 0)
EPS = (0.2, 0.3)


def hand_chain() -> tuple[list[tuple[int, int]], np.ndarray]:
    states = [(a, b) for a in range(3) for b in range(2)]
    P = np.array([[((1 - EPS[0]) * (a2 == b) + EPS[0] / 3) * ((1 - EPS[1]) * (b2 == BR_COLUMN[a]) + EPS[1] / 2)
                   for a2, b2 in states] for a, b in states])
    return states, P


def stationary_and_sigma(P: np.ndarray, state: int) -> tuple[float, float]:
    """pi by a least-squares solve of pi P = pi, sum pi = 1; the asymptotic standard deviation of the
    share of periods at ``state`` from the fundamental matrix Z = (I - P + 1 pi)^-1 (Kemeny-Snell):
    sigma^2 = 2 <g, Z g>_pi - <g, g>_pi with g the centred indicator."""
    n = len(P)
    pi = np.linalg.lstsq(np.vstack([P.T - np.eye(n), np.ones(n)]), np.r_[np.zeros(n), 1.0], rcond=None)[0]
    g = np.eye(n)[state] - pi[state]
    Z = np.linalg.inv(np.eye(n) - P + np.outer(np.ones(n), pi))
    return float(pi[state]), float(np.sqrt(2 * pi @ (g * (Z @ g)) - pi @ g ** 2))


def test_adaptive_play_shares_beside_the_hand_chain():
    params = kind_of("adaptive-play").validate({
        "game": "matrix", "row_payoffs": ROW, "column_payoffs": COLUMN, "memory": 1, "sample_row": 1,
        "sample_column": 1, "eps_row": EPS[0], "eps_column": EPS[1]})
    steps = 20000
    d = convention_shares(params, steps, np.random.default_rng(7))
    states, P = hand_chain()
    assert d["exact"] and sorted(d["pairs"]) == [(0, 0), (1, 1)]
    for pair, visit, mass in zip(d["pairs"], d["visits"], d["masses"]):
        pi, sigma = stationary_and_sigma(P, states.index(tuple(pair)))
        assert abs(mass - pi) < 1e-9
        assert abs(visit - pi) < 4 * sigma / np.sqrt(steps), (pair, visit, pi, sigma)
