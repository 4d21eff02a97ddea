"""Tabular Q-learning pricing agents, many independent sessions in one compiled loop (numba).

The design of the algorithmic-pricing literature (Calvano, Calzolari, Denicolo and Pastorello,
AER 2020): each of the two players keeps a Q-table over states (the last ``memory`` joint
actions) and own actions, initialized to the discounted payoff against a uniformly random
opponent; each period it explores with probability exp(-beta t) (a uniform action) and
otherwise plays its greedy action, then updates
Q(s, a) <- (1 - alpha) Q(s, a) + alpha (payoff + delta max_a' Q(s', a')).
A session has converged once neither player's greedy strategy (the argmax in every state)
has changed for ``window`` periods; it then stops learning.

Randomness: each session has its own :class:`numpy.random.SeedSequence` and Philox generator;
period t takes its uniforms 4t .. 4t + 3 (the row's and the column's exploration tests, then
their uniform actions), however many are drawn at a time, so a session's path does not depend
on which other sessions run beside it, nor on how the sessions are split among workers.
Sessions run one after another, :data:`CHUNK` periods at a time, so that a session's Q-tables
stay in the caches.

Whether learned strategies punish deviations is read off impulse responses (Calvano et al.
2020, Section V.B): from the converged play, one player's price is forced down for one
period and both then follow their greedy strategies.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numba
import numpy as np

from agora.market.errors import InputError

BLOCK = 1024  # periods per progress tick
CHUNK = 32 * BLOCK  # periods a session runs (and draws the uniforms of) at a time


@dataclass
class QSessions:
    """Per session: converged, the period it converged, and the greedy play it settled into
    (the cycle of joint actions reached from its last state; mean payoffs over that cycle);
    the final Q-tables (session, state, own action) and the state that opens the cycle; if
    recorded, both players' actions in every period (session, period), -1 once converged."""

    converged: np.ndarray
    periods: np.ndarray
    row_action: np.ndarray  # the first action of the limit cycle
    col_action: np.ndarray
    row_payoff: np.ndarray  # mean over the limit cycle
    col_payoff: np.ndarray
    row_q: np.ndarray
    col_q: np.ndarray
    cycle_state: np.ndarray  # the state in which the limit cycle's first joint action is played
    row_path: np.ndarray | None = None
    col_path: np.ndarray | None = None


def session_seeds(seed: int, sessions: int) -> list[np.random.SeedSequence]:
    """One child SeedSequence per session."""
    return np.random.SeedSequence(seed).spawn(sessions)


def check_parameters(alpha: float, beta: float, delta: float, memory: int, periods: int,
                     window: int) -> None:
    """InputError (one line naming the value and what is accepted) for a bad learning parameter."""
    if not 0.0 < alpha <= 1.0:
        raise InputError(f"alpha (learning rate) must lie in (0, 1], got {alpha!r}")
    if not (beta > 0.0 and math.isfinite(beta)):
        raise InputError(f"beta (exploration decay) must be a finite number > 0, got {beta!r}")
    if not 0.0 <= delta < 1.0:
        raise InputError(f"delta (discount) must lie in [0, 1), got {delta!r}")
    if not (isinstance(memory, int) and memory >= 1):
        raise InputError(f"memory must be an integer >= 1, got {memory!r}")
    if not (isinstance(periods, int) and isinstance(window, int) and 1 <= window <= periods):
        raise InputError(f"need integers 1 <= window <= periods, got window={window!r}, "
                         f"periods={periods!r}")


def q_learning(A, B, seeds: Sequence[np.random.SeedSequence], alpha: float = 0.15,
               beta: float = 4e-6, delta: float = 0.95, memory: int = 1,
               periods: int = 1_000_000, window: int = 100_000,
               tick: Callable[[int], object] | None = None, record: bool = False) -> QSessions:
    """Run one session per seed of Q-learning by the row player (payoffs A) against the column
    player (payoffs B), one after another, CHUNK periods at a time; ``tick(n)`` (a progress bar's
    update) is called for each block of n periods run, as if all sessions ran them together; with
    ``record``, every period's actions are kept too."""
    A, B = np.ascontiguousarray(A, float), np.ascontiguousarray(B, float)
    if A.ndim != 2 or A.shape != B.shape:
        raise InputError(f"payoff matrices must share one 2-d shape, got {A.shape} and {B.shape}")
    if not (np.isfinite(A).all() and np.isfinite(B).all()):
        raise InputError("payoff matrices must hold finite numbers only, got an inf or a nan")
    check_parameters(alpha, beta, delta, memory, periods, window)
    n1, n2 = A.shape
    states = (n1 * n2) ** memory
    m = len(seeds)
    rngs = [np.random.Generator(np.random.Philox(s)) for s in seeds]
    first1, first2 = A.mean(axis=1) / (1 - delta), B.mean(axis=0) / (1 - delta)
    q1 = np.broadcast_to(first1, (m, states, n1)).copy()
    q2 = np.broadcast_to(first2, (m, states, n2)).copy()
    state = np.zeros(m, np.int64)
    stable = np.zeros(m, np.int64)  # periods since a greedy strategy last changed
    done = np.zeros(m, bool)
    when = np.full(m, periods, np.int64)
    greedy1, greedy2 = np.full((m, states), first1.argmax()), np.full((m, states), first2.argmax())
    best1, best2 = np.full((m, states), first1.max()), np.full((m, states), first2.max())
    draws = np.empty((min(CHUNK, periods), 4))
    path = np.full((m, periods if record else 0, 2), -1, np.int64)
    for start in range(0, periods, CHUNK):
        explore = np.exp(-beta * np.arange(start, min(start + CHUNK, periods)))
        for k in np.flatnonzero(~done):
            rngs[k].random(out=draws[:len(explore)])
            _periods(A, B, q1, q2, greedy1, greedy2, best1, best2, state, stable, done, when, k, draws, explore,
                     start, float(alpha), float(delta), int(window), path)
        if tick is not None:  # the blocks up to the one in which the last session converged
            last = int(when.max(initial=0)) if done.all() else start + len(explore)
            for block in range(start, last, BLOCK):
                tick(min(block + BLOCK, start + len(explore)) - block)
        if done.all():
            break
    *play, opening = _limit_play(A, B, q1, q2, state, n1 * n2, states)
    paths = (path[:, :, 0], path[:, :, 1]) if record else (None, None)
    return QSessions(done, when, *play, q1, q2, opening, *paths)


@numba.njit(cache=True)
def _periods(A, B, q1, q2, greedy1, greedy2, best1, best2, state, stable, done, when, k, draws, explore, start,
             alpha, delta, window, path):
    """Periods ``start`` .. ``start + len(explore) - 1`` of session ``k``, in place, until it converges.

    Period t, with its uniforms u = draws[t - start]: each player explores (a uniform action, u[2]
    or u[3] times its number of actions, rounded down) when u[0] or u[1] is below
    explore[t - start] = exp(-beta t), else plays its greedy action (the first maximizer of its
    Q-row in the state, kept for every state in ``greedy1`` and ``greedy2``, its value in
    ``best1`` and ``best2``); both update Q(s, a) <- Q(s, a) + alpha (payoff + delta max Q(s', .)
    - Q(s, a)) (Calvano et al. 2020, the update in the module docstring); the state moves to the
    last ``memory`` joint actions. The actions go into ``path`` (session, period, player) unless
    it has no periods.
    """
    n1, n2 = A.shape
    kept = q1.shape[1] // (n1 * n2)  # states of the memory - 1 most recent joint actions
    s, run = state[k], stable[k]
    for i in range(explore.shape[0]):
        if done[k]:
            break
        g1, g2 = greedy1[k, s], greedy2[k, s]
        a = int(draws[i, 2] * n1) if draws[i, 0] < explore[i] else g1
        b = int(draws[i, 3] * n2) if draws[i, 1] < explore[i] else g2
        nxt = (s % kept if kept > 1 else 0) * n1 * n2 + a * n2 + b  # the oldest joint action dropped
        if path.shape[1]:
            path[k, start + i, 0], path[k, start + i, 1] = a, b
        target1 = A[a, b] + delta * best1[k, nxt]
        target2 = B[a, b] + delta * best2[k, nxt]
        old1, old2 = q1[k, s, a], q2[k, s, b]
        q1[k, s, a] = old1 + alpha * (target1 - old1)
        q2[k, s, b] = old2 + alpha * (target2 - old2)
        greedy1[k, s] = _greedy_after(q1[k, s], g1, a, old1)
        greedy2[k, s] = _greedy_after(q2[k, s], g2, b, old2)
        best1[k, s], best2[k, s] = q1[k, s, greedy1[k, s]], q2[k, s, greedy2[k, s]]
        run = 0 if greedy1[k, s] != g1 or greedy2[k, s] != g2 else run + 1
        if run >= window:
            done[k] = True
            when[k] = start + i + 1
        s = nxt
    state[k], stable[k] = s, run


@numba.njit(cache=True)
def _argmax(row):
    """The first index of the largest entry (numpy's argmax on finite numbers)."""
    best = 0
    for i in range(1, row.shape[0]):
        if row[i] > row[best]:
            best = i
    return best


@numba.njit(cache=True)
def _greedy_after(row, greedy, a, old):
    """The first maximizer of ``row`` after its entry ``a`` changed from ``old``, given ``greedy``, the
    first maximizer before: entries before ``greedy`` were below its value, so only a fall of the
    maximizer itself needs a new scan."""
    if a == greedy:
        return greedy if row[a] >= old else _argmax(row)
    if row[a] > row[greedy] or (row[a] == row[greedy] and a < greedy):
        return a
    return greedy


def _limit_play(A, B, q1, q2, state, joint, states):
    """Follow the greedy strategies from each session's last state until a state repeats; the
    first joint action of the cycle, the mean payoffs over it, and the state it opens in."""
    n2 = A.shape[1]
    out = np.zeros((4, len(state)))
    opening = np.zeros(len(state), np.int64)
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
        opening[k] = s
    return out[0].astype(int), out[1].astype(int), out[2], out[3], opening


def impulse_response(row_q: np.ndarray, col_q: np.ndarray, start: np.ndarray, deviator: int | None = 0,
                     lowest: bool = False, periods: int = 10) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Both players' actions (session, period 0..``periods``) after a one-period forced price cut,
    and per session whether the cut changed the deviator's action (not already at action 0);
    with ``deviator`` None, the path without a cut (greedy play continued) to compare with.

    Period 0 is the greedy play in ``start`` (the limit cycle's opening state); in period 1 the
    ``deviator`` (0 row, 1 column) plays one action below its greedy one in period 1's state (or
    action 0 with ``lowest``) while the other plays its greedy action, not yet knowing; from
    period 2 both follow their greedy strategies from the state the deviation made (Calvano et
    al. 2020, Section V.B). All sessions at once.
    """
    if deviator not in (None, 0, 1):
        raise InputError(f"the deviator must be 0 (row player), 1 (column player) or None, got {deviator!r}")
    if not (isinstance(periods, int) and periods >= 1):
        raise InputError(f"impulse periods must be an integer >= 1, got {periods!r}")
    m, states, n1 = row_q.shape
    n2 = col_q.shape[2]
    rows, state = np.arange(m), np.asarray(start, np.int64)
    path = np.zeros((2, m, periods + 1), np.int64)
    changed = np.zeros(m, bool)
    for t in range(periods + 1):
        a, b = row_q[rows, state].argmax(axis=1), col_q[rows, state].argmax(axis=1)
        if t == 1 and deviator is not None:
            own = (a, b)[deviator]
            changed = own > 0
            cut = np.zeros_like(own) if lowest else np.maximum(own - 1, 0)
            a, b = (cut, b) if deviator == 0 else (a, cut)
        path[:, :, t] = a, b
        state = (state * n1 * n2 + a * n2 + b) % states
    return path[0], path[1], changed


def profit_gain(profit: float, nash: float, monopoly: float) -> float:
    """Delta = (profit - Nash profit) / (joint-monopoly profit - Nash profit) (Calvano et al. 2020):
    0 at the competitive outcome, 1 at full collusion."""
    if not monopoly > nash:
        raise InputError(f"the joint-monopoly profit {monopoly!r} must exceed the Nash profit {nash!r}")
    return (profit - nash) / (monopoly - nash)


def grid_equilibria(A: np.ndarray, B: np.ndarray, rtol: float) -> np.ndarray:
    """(row, column) indices of the trading pure Nash equilibria of the bimatrix game (A, B): each
    side's payoff within ``rtol`` of its best against every deviation of its own on the grid."""
    row_best = A >= A.max(axis=0, keepdims=True) * (1 - rtol)
    col_best = B >= B.max(axis=1, keepdims=True) * (1 - rtol)
    return np.argwhere(row_best & col_best & (A + B > 0))


SIDES = ("seller", "intermediary")
CUTS = {"step": "one grid step down", "lowest": "to the lowest price"}


def pricing_sessions(bidders: Sequence[str], points: int, seeds: Sequence[np.random.SeedSequence],
                     alpha: float = 0.15, beta: float = 4e-6, delta: float = 0.95, memory: int = 1,
                     periods: int = 1_000_000, window: int = 100_000, impulse: str | None = None,
                     deviator: str = "seller", impulse_periods: int = 10,
                     tick: Callable[[int], object] | None = None, per_session: bool = False) -> dict:
    """Seller (rows) against intermediary (columns) in the discretized simultaneous game
    (:func:`grid_sessions` on :func:`pricing_references`)."""
    learning = (alpha, beta, delta, memory, periods, window, impulse, deviator, impulse_periods)
    check_sessions(seeds, *learning)
    return grid_sessions(pricing_references(bidders, points), seeds, *learning, tick, per_session)


def check_sessions(seeds, alpha, beta, delta, memory, periods, window, impulse, deviator, impulse_periods) -> None:
    """InputError (one line) for a bad learning or impulse parameter, or no sessions."""
    check_parameters(alpha, beta, delta, memory, periods, window)
    if impulse is not None and impulse not in CUTS:
        raise InputError(f"impulse must be one of {', '.join(CUTS)}, got {impulse!r}")
    if deviator not in SIDES:
        raise InputError(f"deviator must be seller or intermediary, got {deviator!r}")
    if not (isinstance(impulse_periods, int) and impulse_periods >= 1):
        raise InputError(f"impulse periods must be an integer >= 1, got {impulse_periods!r}")
    if not seeds:
        raise InputError("need at least one session, got none")


def grid_sessions(references: tuple, seeds: Sequence[np.random.SeedSequence], alpha: float, beta: float,
                  delta: float, memory: int, periods: int, window: int, impulse: str | None, deviator: str,
                  impulse_periods: int, tick: Callable[[int], object] | None = None,
                  per_session: bool = False) -> dict:
    """Seller (rows) against intermediary (columns) on a grid game and its ``references``
    (:func:`grid_references`), the arguments checked (:func:`check_sessions`).

    Reports mean converged prices and profits and the profit gain Delta on total profits
    (Calvano et al. 2020): the joint optimum is the integrated monopolist's best total price
    on the grid; the Nash profit that of the trading pure equilibrium of the grid game with the
    largest total profit (several when the game has a continuum, Theorems 5.1-5.2), so
    Delta > 0 means more than every pure equilibrium of the grid. With ``impulse`` ("step" or
    "lowest"), also the mean paths of both prices and profits after the ``deviator``'s forced price cut
    (:func:`impulse_response`). With ``per_session``, also each session's prices, profits, profit
    gain, whether it converged and its periods (``per_session``, arrays), and its impulse paths.
    """
    grid, A, B, eqs, (i, j, exact), nash, monopoly = references
    res = q_learning(A, B, seeds, alpha, beta, delta, memory, periods, window, tick)
    total = res.row_payoff + res.col_payoff
    out = {"seller_price": float(grid[res.row_action].mean()),
           "intermediary_price": float(grid[res.col_action].mean()),
           "seller_profit": float(res.row_payoff.mean()),
           "intermediary_profit": float(res.col_payoff.mean()),
           "nash_profit": nash, "monopoly_profit": monopoly,
           "profit_gain": profit_gain(float(total.mean()), nash, monopoly),
           "converged": float(res.converged.mean()), "sessions": len(seeds),
           "nash": {"seller_price": float(grid[i]), "intermediary_price": float(grid[j]),
                    "seller_profit": float(A[i, j]), "intermediary_profit": float(B[i, j]),
                    "against_any_price": exact, "grid_equilibria": len(eqs)},
           "parameters": {"grid": len(grid), "low": 0.0, "high": float(grid[-1]), "alpha": alpha,
                          "beta": beta, "delta": delta, "memory": memory, "periods": periods,
                          "window": window},
           "method": _method(len(grid), len(eqs), window, periods)}
    if impulse is not None:
        out["impulse"] = _impulse(grid, A, B, res, SIDES.index(deviator), impulse, impulse_periods, per_session)
    if per_session:
        out["per_session"] = {"seller_price": grid[res.row_action], "intermediary_price": grid[res.col_action],
                              "seller_profit": res.row_payoff, "intermediary_profit": res.col_payoff,
                              "profit_gain": (total - nash) / (monopoly - nash), "converged": res.converged,
                              "periods": res.periods}
    return out


def pricing_references(bidders: Sequence[str], points: int) -> tuple:
    """:func:`grid_references` of the ``points``-price simultaneous game of ``bidders``, an equilibrium
    against any price by exact best responses."""
    from agora.market.single_item.simultaneous import PricingGame, grid_game, is_equilibrium

    game = PricingGame(bidders)
    grid, A, B = grid_game(game, points)
    return grid_references(grid, A, B, lambda i, j: is_equilibrium(game, float(grid[i]), float(grid[j])))


def grid_references(grid: np.ndarray, A: np.ndarray, B: np.ndarray, against_any_price: Callable[[int, int], bool]
                    ) -> tuple:
    """The grid game (grid, seller's and intermediary's payoffs), its trading pure equilibria, the Nash
    point of :func:`grid_sessions` (indices, whether ``against_any_price(i, j)`` holds), the Nash and
    joint-monopoly total profits; InputError (one line) if the profit gain is undefined on this grid."""
    from agora.market.single_item.simultaneous import REGRET_RTOL

    points = len(grid)
    eqs = grid_equilibria(A, B, REGRET_RTOL)
    if not len(eqs):
        raise InputError(f"the {points}-price game has no trading pure equilibrium: the profit gain "
                         "needs a Nash profit")
    totals = A[eqs[:, 0], eqs[:, 1]] + B[eqs[:, 0], eqs[:, 1]]
    point = _nash_point(against_any_price, eqs[totals >= totals.max() * (1 - REGRET_RTOL)])
    nash, monopoly = float(totals.max()), float((A + B).max())
    if not monopoly > nash:
        raise InputError(f"the {points}-price game has a pure equilibrium at the joint-monopoly profit "
                         f"{monopoly:.6g}: the profit gain (monopoly - Nash in the denominator) is undefined")
    return grid, A, B, eqs, point, nash, monopoly


def _nash_point(against_any_price: Callable[[int, int], bool], best: np.ndarray) -> tuple[int, int, bool]:
    """Among grid equilibria of (nearly) equal, largest total profit: one that is also an equilibrium
    against any price if there is one, then the most equal split; its indices and that check."""
    exact = [against_any_price(int(i), int(j)) for i, j in best]
    k = min(range(len(best)), key=lambda k: (not exact[k], abs(int(best[k][0]) - int(best[k][1]))))
    return int(best[k][0]), int(best[k][1]), bool(exact[k])


def _method(points: int, nash_points: int, window: int, periods: int) -> str:
    return (f"tabular Q-learning (Calvano et al. 2020), sessions in one compiled loop, each with its own seed; "
            f"a session converged once neither greedy strategy changed for {window} periods (else stopped at "
            f"{periods}); prices: the first joint action of the limit cycle of greedy play, profits: means "
            f"over that cycle, both averaged over sessions; joint optimum: the integrated monopolist's best "
            f"total price on the {points}-price grid; Nash: the trading pure equilibrium of the grid game with "
            f"the largest total profit (of {nash_points}, each checked against every grid deviation; among "
            f"ties, one that is an equilibrium against every price too (exact best responses: "
            f"against_any_price), then the most equal split)")


def _impulse(grid: np.ndarray, A: np.ndarray, B: np.ndarray, res: QSessions, deviator: int, cut: str,
             periods: int, per_session: bool = False) -> dict:
    """Mean price and profit paths over all sessions after a forced cut (period 0: before it, 1: the
    cut); a period's profits are the grid game's payoffs (``A``, ``B``) of its joint action. With
    ``per_session``, also every session's paths (session, period) and whether its price was cut."""
    rows, cols, changed = impulse_response(res.row_q, res.col_q, res.cycle_state, deviator, cut == "lowest",
                                           periods)
    still_rows, still_cols, _ = impulse_response(res.row_q, res.col_q, res.cycle_state, None, periods=periods)
    means, kept = {}, {}
    for name, path in _paths(grid, A, B, rows, cols, still_rows, still_cols):
        means[name] = path.mean(axis=0).tolist()
        if per_session:
            kept[name] = path
    out = {"deviator": SIDES[deviator], "cut": CUTS[cut], **means, "sessions_cut": int(changed.sum()),
           "method": "from each session's converged play (the limit cycle's opening state; period 0), "
                     f"the {SIDES[deviator]}'s price forced {CUTS[cut]} for period 1, the other side "
                     "greedy; from period 2 both greedy; mean over all sessions of each period's prices "
                     "and profits (the grid game's payoffs of that period's prices); uncut_*: the same "
                     "greedy play without the cut (the limit cycle continued)"}
    if per_session:
        out["per_session"] = {**kept, "cut": changed}
    return out


def _paths(grid, A, B, rows, cols, still_rows, still_cols):
    """(name, session x period array) of each impulse path, one at a time (only those kept stay in memory)."""
    for prefix, r, c in (("", rows, cols), ("uncut_", still_rows, still_cols)):
        yield f"{prefix}seller_price", grid[r]
        yield f"{prefix}intermediary_price", grid[c]
        yield f"{prefix}seller_profit", A[r, c]
        yield f"{prefix}intermediary_profit", B[r, c]
