"""Sample paths of adaptive play with mistakes (Young 1993), played period by period.

The process of :mod:`agora.market.learning.adaptive_play`, simulated rather than enumerated:
the history holds the last ``memory`` plays; each period the row player draws ``s1`` of the
column player's remembered actions without replacement and plays a best reply to their
counts (ties broken uniformly), the column player likewise with ``s2`` of the row player's;
with probability eps_i player i instead plays an action uniformly at random. The new play
replaces the oldest. (Young, "The evolution of conventions", Econometrica 1993, Section 3.)

Nothing here reads the transition matrix: tests hold the time averages of these paths to
the exact chain's stationary distribution, within the chain's own sampling error.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from agora.market.learning.adaptive_play import TIE_RTOL

BLOCK = 1 << 18  # draws taken at once: a block of periods holds about this many per player


@dataclass(frozen=True)
class AdaptivePath:
    """Each period's actions and how many periods in a row that pair has been played (the
    history is a convention once the run reaches the memory)."""

    rows: np.ndarray
    cols: np.ndarray
    run: np.ndarray
    memory: int

    @property
    def at_convention(self) -> np.ndarray:
        return self.run >= self.memory


class _Replier:
    """One player's best replies to sample counts, memoized by the counts."""

    def __init__(self, u: np.ndarray, sample: int):
        self.u, self.cache = u, {}
        self.slack = TIE_RTOL * max(sample * float(np.abs(u).max()), 1e-300)

    def replies(self, counts: np.ndarray) -> np.ndarray:
        key = counts.tobytes()
        hit = self.cache.get(key)
        if hit is None:
            pay = self.u @ counts
            hit = self.cache[key] = np.flatnonzero(pay >= pay.max() - self.slack)
        return hit


def simulate(A, B, memory: int, samples: tuple[int, int], eps: tuple[float, float], steps: int,
             rng: np.random.Generator, start: tuple[int, int] = (0, 0)) -> AdaptivePath:
    """``steps`` periods of adaptive play on (A, B) from the convention ``start`` (the history
    holds ``start`` ``memory`` times), on ``rng``."""
    A, B = np.asarray(A, float), np.asarray(B, float)
    n1, n2 = A.shape
    players = (_Replier(A, samples[0]), _Replier(B.T, samples[1]))
    hist = [np.full(memory, start[1], np.int64), np.full(memory, start[0], np.int64)]  # what each one samples
    sizes = (n2, n1)
    rows, cols, run = (np.empty(steps, np.int64) for _ in range(3))
    last, length, slot = tuple(start), memory, 0
    block = max(1, BLOCK // memory)
    for begin in range(0, steps, block):
        n = min(block, steps - begin)
        draws = [(rng.random(n) < eps[i], rng.integers(0, A.shape[i], n), rng.random(n),
                  np.argsort(rng.random((n, memory)), axis=1)[:, :samples[i]]) for i in range(2)]
        for t in range(n):
            act = []
            for i, (err, wild, tie, picks) in enumerate(draws):
                if err[t]:
                    act.append(int(wild[t]))
                    continue
                counts = np.bincount(hist[i][picks[t]], minlength=sizes[i]).astype(float)
                best = players[i].replies(counts)
                act.append(int(best[int(tie[t] * best.size)]))
            a, b = act
            hist[0][slot], hist[1][slot] = b, a
            slot = (slot + 1) % memory
            length = length + 1 if (a, b) == last else 1
            last = (a, b)
            rows[begin + t], cols[begin + t], run[begin + t] = a, b, length
    return AdaptivePath(rows, cols, run, memory)


def history_states(path: AdaptivePath, shape: tuple[int, int], start: tuple[int, int]) -> np.ndarray:
    """The index of each period's history (after its play) in the encoding of
    :meth:`agora.market.learning.adaptive_play.AdaptivePlay.state`: oldest play most significant,
    row history times n2^m plus column history."""
    m, (n1, n2) = path.memory, shape
    rows = np.concatenate([np.full(m, start[0], np.int64), path.rows])
    cols = np.concatenate([np.full(m, start[1], np.int64), path.cols])
    window = np.lib.stride_tricks.sliding_window_view
    w1, w2 = n1 ** np.arange(m - 1, -1, -1, dtype=np.int64), n2 ** np.arange(m - 1, -1, -1, dtype=np.int64)
    ia = window(rows, m)[1:] @ w1
    ib = window(cols, m)[1:] @ w2
    return ia * n2 ** m + ib
