"""Learning rules on textbook games whose limits are known, and the logit QRE tracer.

Each limit is computed independently of the learning code: equilibria of zero-sum
games by linear programming (HiGHS), the QRE of a 2 x 2 game by a one-dimensional
root (brentq), dominance solvability by iterated elimination. Tolerances follow
the rules' regret bounds with the stated number of rounds.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.optimize import brentq, linprog
from scipy.special import expit

from agora.market.errors import InputError
from agora.market.learning.dynamics import MatrixGame, cce_violation, external_regret, play
from agora.market.learning.qre import logit_response_gap, trace_logit_qre
from agora.market.learning.rules import BestResponse, DemandLearning, FictitiousPlay, Hedge, RegretMatching

MATCHING_PENNIES = MatrixGame.of([[1, -1], [-1, 1]], [[-1, 1], [1, -1]])
# A zero-sum game with a unique, fully mixed equilibrium (a weighted rock-paper-scissors)
RPS = np.array([[0.0, -1.0, 2.0], [1.0, 0.0, -1.0], [-2.0, 1.0, 0.0]])
WEIGHTED_RPS = MatrixGame.of(RPS, -RPS)
# Gibbons' dominance-solvable game: R is dominated by C, then D by U, then L by C: (U, C)
GIBBONS = MatrixGame.of([[1, 1, 0], [0, 0, 2]], [[0, 2, 1], [3, 1, 0]])
COORDINATION = MatrixGame.of([[2, 0], [0, 1]], [[2, 0], [0, 1]])


def zero_sum_value(A: np.ndarray) -> tuple[float, np.ndarray]:
    """The row player's maximin value and strategy, by linear programming."""
    n, m = A.shape
    c = np.zeros(n + 1)
    c[-1] = -1.0  # maximize v
    A_ub = np.hstack([-A.T, np.ones((m, 1))])  # v - x.A[:, j] <= 0
    res = linprog(c, A_ub=A_ub, b_ub=np.zeros(m), A_eq=[[1.0] * n + [0.0]], b_eq=[1.0],
                  bounds=[(0, None)] * n + [(None, None)], method="highs")
    return float(res.x[-1]), res.x[:n]


def duality_gap(A: np.ndarray, x: np.ndarray, y: np.ndarray) -> float:
    """max_i (A y)_i - min_j (x A)_j: 0 exactly at an equilibrium of the zero-sum game A."""
    return float(np.max(A @ y) - np.min(x @ A))


def test_linear_program_finds_the_weighted_rps_equilibrium():
    value, x = zero_sum_value(RPS)
    assert value == pytest.approx(0.0, abs=1e-9)
    np.testing.assert_allclose(x, [0.25, 0.5, 0.25], atol=1e-9)  # by hand: indifference


def test_fictitious_play_converges_in_matching_pennies():
    """Robinson (1951): the empirical frequencies converge to (1/2, 1/2). 20,000 rounds."""
    p = play(MATCHING_PENNIES, FictitiousPlay(), FictitiousPlay(), (0, 0), 20_000, np.random.SeedSequence(1))
    x, y = p.frequencies()
    np.testing.assert_allclose(x, [0.5, 0.5], atol=0.02)
    np.testing.assert_allclose(y, [0.5, 0.5], atol=0.02)
    assert set(p.rows[10_000:]) == {0, 1}  # the actions themselves keep cycling


def test_fictitious_play_converges_in_a_zero_sum_game():
    """Weighted RPS: frequencies approach the LP equilibrium; the gap shrinks with the rounds."""
    p = play(WEIGHTED_RPS, FictitiousPlay(), FictitiousPlay(), (0, 0), 20_000, np.random.SeedSequence(2))
    _, x_star = zero_sum_value(RPS)
    x, y = p.frequencies()
    np.testing.assert_allclose(x, x_star, atol=0.03)
    np.testing.assert_allclose(y, x_star, atol=0.03)  # symmetric game: the column player's too
    early = duality_gap(RPS, *play(WEIGHTED_RPS, FictitiousPlay(), FictitiousPlay(), (0, 0), 500,
                                   np.random.SeedSequence(2)).frequencies())
    assert duality_gap(RPS, x, y) < min(early, 0.05)


def test_smoothed_fictitious_play_converges_to_the_logit_qre():
    """Hofbauer-Sandholm (2002): beliefs converge to the logit QRE at lambda = 1 / temperature.

    Matching pennies with the row player's first payoff raised to 4 (scaled to max 1); the
    QRE solved independently as a root in the row player's probability. 40,000 rounds.
    """
    A = np.array([[4.0, -1.0], [-1.0, 1.0]])
    game = MatrixGame.of(A, -A)
    lam = 4.0  # in units of the largest payoff: temperature 1/4
    a, b = A / 4.0, -A.T / 4.0  # each side's own payoffs (own x other), scaled as the learners scale them

    def q_of(p):  # column player's logit response to the row player's P[top] = p
        return expit(lam * ((b[0] - b[1]) @ np.array([p, 1 - p])))

    p_star = brentq(lambda p: p - expit(lam * ((a[0] - a[1]) @ np.array([q_of(p), 1 - q_of(p)]))), 0, 1)
    q_star = q_of(p_star)
    rule = FictitiousPlay(temperature=1 / lam)
    run = play(game, rule, rule, (0, 0), 40_000, np.random.SeedSequence(3))
    x, y = run.frequencies(20_000)
    assert x[0] == pytest.approx(p_star, abs=0.02) and y[0] == pytest.approx(q_star, abs=0.02)
    # and our homotopy tracer finds the same QRE on its principal branch
    branch = trace_logit_qre(A, -A, lam_max=2 * lam)
    xq, yq = branch.at(A, -A, lam)
    assert logit_response_gap(A, -A, xq, yq, lam) < 1e-9
    assert xq[0] == pytest.approx(p_star, abs=1e-9) and yq[0] == pytest.approx(q_star, abs=1e-9)


def test_qre_tracer_matches_the_root_along_the_branch():
    """The traced branch of the 2 x 2 game solves the QRE equations at every traced lambda."""
    A = np.array([[4.0, -1.0], [-1.0, 1.0]])
    branch = trace_logit_qre(A, -A, lam_max=50.0)
    assert branch.lambdas[0] == 0.0 and branch.lambdas[-1] >= 50.0 and not branch.notes
    for lam, x, y in zip(branch.lambdas, branch.row, branch.col):
        assert logit_response_gap(A, -A, x, y, lam) < 1e-8
    # the unique Nash equilibrium: column mixes so the row is indifferent: q = 2/7; row: p = 2/7
    _, x, y = branch.last
    assert x[0] == pytest.approx(2 / 7, abs=0.02) and y[0] == pytest.approx(2 / 7, abs=0.02)


def test_qre_limit_is_the_strict_equilibrium_of_a_dominance_solvable_game():
    branch = trace_logit_qre(GIBBONS.A, GIBBONS.B, lam_max=200.0)
    _, x, y = branch.last
    assert x[0] > 0.99 and y[1] > 0.99  # (U, C)


def test_hedge_averages_converge_in_a_zero_sum_game():
    """Freund-Schapire: with eta = sqrt(8 ln K / (T D^2)) each average regret is at most
    D sqrt(ln K / (2T)) in expectation (payoff range D = 2 after scaling to max 1); the
    realized play adds at most 4 D / sqrt(T) each (Azuma, four standard deviations)."""
    T, K, D = 5000, 3, 2.0
    eta = math.sqrt(8 * math.log(K) / (T * D ** 2))
    p = play(WEIGHTED_RPS, Hedge(eta, anchor=0.0), Hedge(eta, anchor=0.0), (0, 0), T, np.random.SeedSequence(4))
    scale = np.max(np.abs(RPS))
    bound = 2 * (D * math.sqrt(math.log(K) / (2 * T)) + 4 * D / math.sqrt(T))
    x, y = p.frequencies()
    assert duality_gap(RPS / scale, x, y) <= bound
    assert sum(external_regret(WEIGHTED_RPS, p)) / scale <= bound


def test_regret_matching_approaches_coarse_correlated_equilibrium():
    """Hart-Mas-Colell: average regret <= D sqrt(K - 1) / sqrt(T) (+ 4 D / sqrt(T) for the
    realized play), so the empirical joint play is an eps-CCE with that eps. The CCE
    violation of the joint distribution and the average external regret are computed
    separately and must agree."""
    shapley = MatrixGame.of([[0, 1, 0], [0, 0, 1], [1, 0, 0]], [[0, 0, 1], [1, 0, 0], [0, 1, 0]])
    T, K, D = 20_000, 3, 1.0
    p = play(shapley, RegretMatching(), RegretMatching(), (0, 0), T, np.random.SeedSequence(5))
    regret = max(external_regret(shapley, p))
    assert regret == pytest.approx(cce_violation(shapley, p.joint()), abs=1e-12)
    assert regret <= D * math.sqrt(K - 1) / math.sqrt(T) + 4 * D / math.sqrt(T)
    early = play(shapley, RegretMatching(), RegretMatching(), (0, 0), 200, np.random.SeedSequence(5))
    assert max(external_regret(shapley, early)) > regret


@pytest.mark.parametrize("start", [(i, j) for i in range(2) for j in range(3)])
def test_best_response_dynamics_reach_the_unique_strict_equilibrium(start):
    """Gibbons' game is solved by iterated strict dominance: (U, C) from every start,
    within as many rounds as there are elimination steps (three)."""
    p = play(GIBBONS, BestResponse(), BestResponse(), start, 10, np.random.SeedSequence(6))
    assert (p.rows[4:] == 0).all() and (p.cols[4:] == 1).all()


def test_iterated_elimination_confirms_gibbons_is_dominance_solvable():
    rows, cols = [0, 1], [0, 1, 2]
    A, B = GIBBONS.A, GIBBONS.B
    changed = True
    while changed:
        changed = False
        for r in list(rows):
            if any(all(A[o, c] > A[r, c] for c in cols) for o in rows if o != r):
                rows.remove(r)
                changed = True
        for c in list(cols):
            if any(all(B[r, o] > B[r, c] for r in rows) for o in cols if o != c):
                cols.remove(c)
                changed = True
    assert rows == [0] and cols == [1]


def test_inertia_breaks_the_miscoordination_cycle():
    """Coordination game from (A, B): simultaneous best responses alternate (B, A), (A, B), ...
    forever; with inertia one side eventually moves alone and play stops at a pure equilibrium."""
    plain = play(COORDINATION, BestResponse(), BestResponse(), (0, 1), 50, np.random.SeedSequence(7))
    assert all(plain.rows[t] != plain.cols[t] for t in range(50))
    lazy = play(COORDINATION, BestResponse(0.5), BestResponse(0.5), (0, 1), 200, np.random.SeedSequence(7))
    assert lazy.rows[-1] == lazy.cols[-1] and np.all(lazy.rows[-50:] == lazy.rows[-1])


def test_demand_learning_estimates_demand_and_prices_near_the_monopoly_price():
    """One seller facing a U[0,1] buyer, the other side's price held at 0: learning only from
    accept/reject, its estimate of P[sale] = 1 - t lies within 4 binomial standard errors
    wherever it has 30 or more observations, and it settles on a price earning at least 90%
    of the monopoly revenue 1/4 (4,000 rounds; grid step 0.05)."""
    prices = np.linspace(0.0, 1.0, 21)
    A = prices[:, None] * (1 - np.minimum(prices[:, None] + prices[None, :], 1.0))
    game = MatrixGame(A, A.T, prices, prices)
    values = np.random.default_rng(8).random(4000)

    def sale(t, i, j):
        return values[t] - prices[i] >= prices[j]

    stay = BestResponse(inertia=0.999999)  # the other side keeps price 0 throughout
    p = play(game, DemandLearning(explore=0.3), stay, (2, 0), 4000, np.random.SeedSequence(9), sale)
    assert (p.cols == 0).all()
    learner = p.row_learner
    seen = learner.offers >= 30
    truth = 1 - learner.totals[seen]
    se = np.sqrt(truth * (1 - truth) / learner.offers[seen])
    assert seen.any() and np.all(np.abs(learner.estimate()[seen] - truth) <= 4 * se + 1e-12)
    final = prices[np.bincount(p.rows[-500:], minlength=21).argmax()]
    assert final * (1 - final) >= 0.9 * 0.25


def test_rules_refuse_bad_parameters():
    for make in (lambda: BestResponse(inertia=1.0), lambda: Hedge(eta=0.0), lambda: FictitiousPlay(-1.0),
                 lambda: DemandLearning(explore=2.0), lambda: RegretMatching(prior=0.0)):
        with pytest.raises(InputError):
            make()
