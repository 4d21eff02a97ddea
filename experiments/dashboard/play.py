"""Pacing of Play: how many rounds each redraw shows, so that play keeps the pace the pause sets.

Under Play the page aims at one round per pause (``pause`` seconds, 100 ms: 10 rounds per
second). A redraw costs ``draw`` seconds whatever the number of rounds it shows, a round
``step`` seconds. Showing ``k`` rounds per redraw takes ``k step + draw`` seconds, so the pace
holds (``k step + draw <= k pause``) once ``k >= draw / (pause - step)``: :func:`rounds_per_redraw`
is the least such ``k`` (at least the page's own minimum, at most :data:`MAX_BATCH` and one second
of pauses, :func:`most_rounds`, so that the picture is never held for long).
:class:`Pacer` estimates ``step`` and ``draw`` from the redraws so far (an exponential average,
so that a slow first picture does not hold for long) and writes the line the page shows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

MAX_BATCH = 100  # the most rounds one redraw shows
MAX_INTERVAL = 1.0  # seconds: a redraw at least this often (a batch is at most this many seconds of pauses)
YIELD = 0.02  # seconds Play waits after each redraw at least, so that the server sends the pictures out
SMOOTHING = 0.3  # weight of the latest redraw in the running estimates


def most_rounds(pause: float, minimum: int = 1) -> int:
    """The largest batch: :data:`MAX_BATCH`, and no more pauses than :data:`MAX_INTERVAL` holds (so that a
    slow round or redraw never holds the picture for longer), but at least ``minimum``."""
    return max(minimum, min(MAX_BATCH, math.floor(MAX_INTERVAL / pause + 1e-9)))


def rounds_per_redraw(step: float, draw: float, pause: float, minimum: int = 1) -> int:
    """The least k >= ``minimum`` with ``k step + draw <= k pause``, at most :func:`most_rounds`."""
    most = most_rounds(pause, minimum)
    if step >= pause:
        return most
    return min(most, max(minimum, math.ceil(draw / (pause - step) - 1e-12)))


@dataclass
class Pacer:
    """Running estimates of a round's and a redraw's cost under Play, and the batch they call for."""

    pause: float  # seconds between rounds the page aims at
    minimum: int = 1  # rounds per redraw the page asks for at least
    step: float = 0.0
    draw: float = 0.0
    redraws: int = 0
    rounds: int = 0
    seconds: float = 0.0  # time played so far, pauses included

    def restart(self, pause: float, minimum: int) -> None:
        """Forget the estimates: a new Play at ``pause`` seconds per round, ``minimum`` rounds per redraw."""
        self.pause, self.minimum = pause, minimum
        self.step = self.draw = self.seconds = 0.0
        self.redraws = self.rounds = 0

    def batch(self) -> int:
        """Rounds the next redraw shows."""
        return rounds_per_redraw(self.step, self.draw, self.pause, self.minimum)

    def record(self, rounds: int, step_seconds: float, draw_seconds: float) -> float:
        """One redraw of ``rounds`` rounds played in ``step_seconds`` and drawn in ``draw_seconds``;
        returns how long to wait before the next so that the pace is one round per pause (at least
        :data:`YIELD`)."""
        weight = 1.0 if self.redraws == 0 else SMOOTHING
        self.step += weight * (step_seconds / rounds - self.step)
        self.draw += weight * (draw_seconds - self.draw)
        wait = max(YIELD, rounds * self.pause - step_seconds - draw_seconds)
        self.redraws += 1
        self.rounds += rounds
        self.seconds += step_seconds + draw_seconds + wait
        return wait

    def rate(self) -> float:
        """Rounds per second played so far."""
        return self.rounds / self.seconds if self.seconds else 0.0

    def note(self) -> str:
        """What the page says about the pace: the batch, and why when it is larger than asked."""
        k = self.batch()
        if not self.redraws:
            return ""
        why = (f" (batched: a redraw takes {1000 * self.draw:.0f} ms, longer than the "
               f"{1000 * self.pause:.0f} ms pause allows)" if k > self.minimum else "")
        return f"{k} round{'s' if k > 1 else ''} per redraw{why}; {self.rate():.1f} rounds/s"
