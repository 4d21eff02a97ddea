"""Pacing of Play (experiments/dashboard/play.py): the batch keeps one round per pause, by brute force."""

from __future__ import annotations

import pytest

from agora.experiments.dashboard.play import MAX_BATCH, Pacer, rounds_per_redraw


def _cap(pause: float, minimum: int) -> int:
    """The largest batch whose pauses fit in a second (at most MAX_BATCH, at least minimum), by trying every k."""
    return max(minimum, max(k for k in range(1, MAX_BATCH + 1) if k * pause <= 1.0 + 1e-9))


def _least_batch(step: float, draw: float, pause: float, minimum: int) -> int:
    """The least k >= minimum whose k rounds and one redraw fit in k pauses, found by trying every k."""
    cap = _cap(pause, minimum)
    return next((k for k in range(minimum, cap + 1) if k * step + draw <= k * pause), cap)


@pytest.mark.parametrize("step, draw, pause, minimum", [
    (0.002, 0.120, 0.100, 1), (0.002, 0.120, 0.010, 1), (0.005, 0.050, 0.100, 1), (0.005, 0.050, 0.100, 4),
    (0.0, 0.3, 0.1, 1), (0.009, 0.4, 0.010, 1), (0.010, 0.1, 0.010, 1), (0.02, 0.1, 0.010, 3),
    (0.001, 0.0999, 0.1, 1), (0.001, 0.099, 0.1, 1), (0.05, 2.0, 0.1, 1), (0.2, 0.1, 0.1, 1), (0.0, 9.0, 0.5, 3),
])
def test_the_batch_is_the_least_that_keeps_the_pace(step, draw, pause, minimum):
    k = rounds_per_redraw(step, draw, pause, minimum)
    assert k == _least_batch(step, draw, pause, minimum)
    if k < _cap(pause, minimum):
        assert k * step + draw <= k * pause * (1 + 1e-12)  # the pace holds: rounds/s >= 1/pause
    assert k * pause <= max(1.0, minimum * pause) + 1e-9  # never more than a second of pauses per redraw


def test_the_pacer_learns_the_costs_and_waits_out_the_rest():
    pacer = Pacer(0.1)
    assert pacer.batch() == 1 and pacer.note() == ""
    assert pacer.record(1, 0.002, 0.030) == pytest.approx(0.1 - 0.032)  # cheap redraw: wait for the pace
    assert pacer.batch() == 1 and pacer.note() == f"1 round per redraw; {1 / 0.1:.1f} rounds/s"
    for _ in range(30):  # redraws become slow (a 200-buyer market): the estimate follows, rounds are batched
        wait = pacer.record(pacer.batch(), 0.002 * pacer.batch(), 0.250)
    k = pacer.batch()
    assert k == _least_batch(0.002, 0.250, 0.1, 1) == 3
    assert wait == pytest.approx(k * 0.1 - k * 0.002 - 0.250)
    assert "3 rounds per redraw (batched: a redraw takes 250 ms, longer than the 100 ms pause allows)" in pacer.note()
    rounds, seconds = pacer.rounds, pacer.seconds
    for _ in range(10):
        pacer.record(pacer.batch(), 0.002 * pacer.batch(), 0.250)
    assert (pacer.rounds - rounds) / (pacer.seconds - seconds) == pytest.approx(10.0, rel=1e-9)  # once batched
    assert pacer.rate() < 10.0  # the first redraws, before the estimate caught up, fell behind
    pacer.restart(0.05, 2)
    assert (pacer.redraws, pacer.rounds, pacer.batch()) == (0, 0, 2)
