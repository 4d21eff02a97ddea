"""Tabular Q-learning pricing agents, many independent sessions vectorized in numpy.

The design of the algorithmic-pricing literature (Calvano, Calzolari, Denicolo and Pastorello,
AER 2020): each of the two players keeps a Q-table over states (the last ``memory`` joint
actions) and own actions, initialized to the discounted payoff against a uniformly random
opponent; each period it explores with probability exp(-beta t) (a uniform action) and
otherwise plays its greedy action, then updates
Q(s, a) <- (1 - alpha) Q(s, a) + alpha (payoff + delta max_a' Q(s', a')).
A session has converged once neither player's greedy strategy (the argmax in every state)
has changed for ``window`` periods; it then stops learning.

Randomness: each session has its own :class:`numpy.random.SeedSequence` and draws its
random numbers in fixed blocks of :data:`BLOCK` periods, whether or not it has converged,
so a session's path does not depend on which other sessions run beside it, nor on how the
sessions are split among workers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from agora.market.errors import InputError

BLOCK = 1024  # periods of random numbers a session draws at a time


@dataclass
class QSessions:
    """Per session: converged, the period it converged, and the greedy play it settled into
    (the cycle of joint actions reached from its last state; mean payoffs over that cycle)."""

    converged: np.ndarray
    periods: np.ndarray
    row_action: np.ndarray  # the first action of the limit cycle
    col_action: np.ndarray
    row_payoff: np.ndarray  # mean over the limit cycle
    col_payoff: np.ndarray


def session_seeds(seed: int, sessions: int) -> list[np.random.SeedSequence]:
    """One child SeedSequence per session."""
    return np.random.SeedSequence(seed).spawn(sessions)


def _check(alpha: float, beta: float, delta: float, memory: int, periods: int, window: int):
    if not 0.0 < alpha <= 1.0:
        raise InputError(f"alpha (learning rate) must lie in (0, 1], got {alpha!r}")
    if not beta > 0.0:
        raise InputError(f"beta (exploration decay) must be > 0, got {beta!r}")
    if not 0.0 <= delta < 1.0:
        raise InputError(f"delta (discount) must lie in [0, 1), got {delta!r}")
    if not (isinstance(memory, int) and memory >= 1):
        raise InputError(f"memory must be an integer >= 1, got {memory!r}")
    if not (isinstance(periods, int) and isinstance(window, int) and 1 <= window <= periods):
        raise InputError(f"need integers 1 <= window <= periods, got window={window!r}, "
                         f"periods={periods!r}")


def q_learning(A, B, seeds: Sequence[np.random.SeedSequence], alpha: float = 0.15,
               beta: float = 4e-6, delta: float = 0.95, memory: int = 1,
               periods: int = 1_000_000, window: int = 100_000) -> QSessions:
    """Run one session per seed of Q-learning by the row player (payoffs A) against the column
    player (payoffs B), all sessions at once."""
    A, B = np.asarray(A, float), np.asarray(B, float)
    if A.ndim != 2 or A.shape != B.shape:
        raise InputError(f"payoff matrices must share one 2-d shape, got {A.shape} and {B.shape}")
    _check(alpha, beta, delta, memory, periods, window)
    n1, n2 = A.shape
    joint = n1 * n2
    states = joint ** memory
    m = len(seeds)
    rngs = [np.random.Generator(np.random.Philox(s)) for s in seeds]
    q1 = np.broadcast_to(A.mean(axis=1) / (1 - delta), (m, states, n1)).copy()
    q2 = np.broadcast_to(B.mean(axis=0) / (1 - delta), (m, states, n2)).copy()
    state = np.zeros(m, np.int64)
    stable = np.zeros(m, np.int64)  # periods since a greedy strategy last changed
    done = np.zeros(m, bool)
    when = np.full(m, periods, np.int64)
    rows = np.arange(m)
    for start in range(0, periods, BLOCK):
        draws = np.stack([g.random((BLOCK, 4)) for g in rngs], axis=1)  # (BLOCK, sessions, 4)
        for t in range(start, min(start + BLOCK, periods)):
            u = draws[t - start]
            explore = np.exp(-beta * t)
            greedy1, greedy2 = q1[rows, state].argmax(axis=1), q2[rows, state].argmax(axis=1)
            a = np.where(u[:, 0] < explore, (u[:, 2] * n1).astype(np.int64), greedy1)
            b = np.where(u[:, 1] < explore, (u[:, 3] * n2).astype(np.int64), greedy2)
            nxt = (state * joint + a * n2 + b) % states
            live = ~done
            target1 = A[a, b] + delta * q1[rows, nxt].max(axis=1)
            target2 = B[a, b] + delta * q2[rows, nxt].max(axis=1)
            q1[rows[live], state[live], a[live]] += alpha * (target1[live] - q1[rows[live], state[live], a[live]])
            q2[rows[live], state[live], b[live]] += alpha * (target2[live] - q2[rows[live], state[live], b[live]])
            changed = (q1[rows, state].argmax(axis=1) != greedy1) | (q2[rows, state].argmax(axis=1) != greedy2)
            stable = np.where(changed, 0, stable + 1)
            newly = live & (stable >= window)
            when[newly] = t + 1
            done |= newly
            state = np.where(live, nxt, state)
        if done.all():
            break
    return QSessions(done, when, *_limit_play(A, B, q1, q2, state, joint, states))


def _limit_play(A, B, q1, q2, state, joint, states):
    """Follow the greedy strategies from each session's last state until a state repeats; the
    first joint action of the cycle and the mean payoffs over it."""
    n2 = A.shape[1]
    out = np.zeros((4, len(state)))
    for k, s in enumerate(state):
        seen, path = {}, []
        while s not in seen:
            seen[s] = len(path)
            a, b = int(q1[k, s].argmax()), int(q2[k, s].argmax())
            path.append((a, b))
            s = (s * joint + a * n2 + b) % states
        cycle = path[seen[s]:]
        out[:, k] = (cycle[0][0], cycle[0][1], np.mean([A[x] for x in cycle]),
                     np.mean([B[x] for x in cycle]))
    return out[0].astype(int), out[1].astype(int), out[2], out[3]


def profit_gain(profit: float, nash: float, monopoly: float) -> float:
    """Delta = (profit - Nash profit) / (joint-monopoly profit - Nash profit) (Calvano et al. 2020):
    0 at the competitive outcome, 1 at full collusion."""
    if not monopoly > nash:
        raise InputError(f"the joint-monopoly profit {monopoly!r} must exceed the Nash profit {nash!r}")
    return (profit - nash) / (monopoly - nash)


def pricing_sessions(bidders: Sequence[str], points: int, seeds: Sequence[np.random.SeedSequence],
                     **learning) -> dict:
    """Seller (rows) against intermediary (columns) in the discretized simultaneous game.

    The profit gain uses total profits: Nash is the game's unique trading pure equilibrium on
    the grid (verified against any price), the joint optimum the integrated monopolist's best
    total price on the grid.
    """
    from agora.market.single_item.simultaneous import PricingGame, grid_game, pure_equilibria

    game = PricingGame(bidders)
    grid, A, B = grid_game(game, points)
    eqs = pure_equilibria(game, points).equilibria
    if len(eqs) != 1:
        raise InputError(f"the {points}-price game has {len(eqs)} trading pure equilibria; the profit "
                         "gain needs exactly one (a continuum, Theorems 5.1-5.2, has no Nash profit)")
    nash = eqs[0].seller_revenue + eqs[0].intermediary_revenue
    monopoly = float((A + B).max())
    res = q_learning(A, B, seeds, **learning)
    total = res.row_payoff + res.col_payoff
    return {"seller_price": float(grid[res.row_action].mean()),
            "intermediary_price": float(grid[res.col_action].mean()),
            "seller_profit": float(res.row_payoff.mean()),
            "intermediary_profit": float(res.col_payoff.mean()),
            "nash_profit": nash, "monopoly_profit": monopoly,
            "profit_gain": profit_gain(float(total.mean()), nash, monopoly),
            "converged": float(res.converged.mean()), "sessions": len(seeds)}
