"""The page's threads (experiments/dashboard/page.py): Play's loop, Reset's build, their order and their end.

In process, like the sidebar tests: the page rendered by solara, buttons clicked as a browser's events
arrive (in the test's thread), the dashboard's threads started by the page itself.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
import tomllib
from dataclasses import replace
from pathlib import Path

import ipyvuetify as v
import pytest

from agora.experiments.dashboard import page, threads
from agora.experiments.dashboard.controls import controls_from_table
from agora.experiments.dashboard.figures import NetworkPlot, PricePlanePlot, SeriesPlot
from agora.experiments.dashboard.layout import PageWidth
from agora.experiments.dashboard.model import MarketDashboard
from agora.experiments.dashboard.play import most_rounds
from agora.experiments.dashboard.sidebar import applied
from tests.test_dashboard_sidebar import at_round, built, figures, market, render, summary

PLAY = "\u25b6"
PAUSE = "\u275a\u275a"


def play_button(rc):
    return next(b for b in rc.find(v.Btn) if b.widget.children and b.widget.children[0] in (PLAY, PAUSE))


def until(condition, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"not within {seconds} s"
        time.sleep(0.05)


@pytest.fixture
def stepped(monkeypatch):
    """Every round any thread steps: (time, thread)."""
    rounds, step = [], MarketDashboard.step

    def recorded(self):
        rounds.append((time.perf_counter(), threading.current_thread()))
        step(self)

    monkeypatch.setattr(MarketDashboard, "step", recorded)
    return rounds


def most_at_once(rounds) -> int:
    """The most threads stepping at one time: each thread's span from its first round to its last."""
    spans: dict[threading.Thread, list[float]] = {}
    for t, thread in rounds:
        spans.setdefault(thread, [t, t])[1] = t
    ends = sorted([(a, 1) for a, _ in spans.values()] + [(b, -1) for _, b in spans.values()],
                  key=lambda e: (e[0], -e[1]))
    at_once = most = 0
    for _, change in ends:
        at_once += change
        most = max(most, at_once)
    return most


@pytest.mark.filterwarnings("error::pytest.PytestUnhandledThreadExceptionWarning")
def test_play_and_pause_toggled_quickly_leave_one_loop_at_its_pause(stepped):
    """Play and Pause clicked seven times, 150 ms apart, ending on Play at the 100 ms pause: one thread
    steps at any time, and in 2 s it plays at most 2 s / 100 ms rounds plus one batch (each redraw of k
    rounds takes at least k pauses, :class:`~agora.experiments.dashboard.play.Pacer`). A loop that took
    the drawing of another thread for its own redrew at 1/YIELD, 50 rounds per second."""
    rc = render(market("seller-first", rule="best-response"))
    for _ in range(7):
        play_button(rc).widget.click()
        time.sleep(0.15)
    until(lambda: play_button(rc).widget.children == [PAUSE])  # the thread rendering may be Play's loop
    start = time.perf_counter()
    time.sleep(2.0)
    played = sum(start <= t < start + 2.0 for t, _ in stepped)
    play_button(rc).widget.click()
    rc.close()
    assert most_at_once(stepped) == 1
    assert 1 <= played <= 2.0 / 0.1 + most_rounds(0.1), played


def test_a_step_while_another_thread_draws_a_round_is_drawn_next_and_the_stale_pictures_skipped(monkeypatch):
    """The browser reports a new width, so another thread redraws every picture of round 0; a Step clicked
    while it draws the network waits for that one picture, then plays; after it, no picture of round 0 is
    drawn (the market has passed it) and each of round 1 once. Before, the market stepped under the network
    being drawn."""
    armed, entered, gate, drawn = threading.Event(), threading.Event(), threading.Event(), []
    for cls in (NetworkPlot, SeriesPlot, PricePlanePlot):
        def update(self, view, market, cls=cls, original=cls.update):
            if cls is NetworkPlot and armed.is_set() and not entered.is_set():
                entered.set()
                gate.wait(30)
            drawn.append((cls.__name__, market.round))
            return original(self, view, market)

        monkeypatch.setattr(cls, "update", update)
    rc = render(market("simultaneous", rule="fictitious-play", points=11))
    assert figures(rc) == 3
    armed.set()
    resize = threading.Thread(target=lambda: setattr(rc.find(PageWidth).widget, "width", 1000))
    before = len(drawn)
    resize.start()
    assert entered.wait(30)
    threading.Timer(0.3, gate.set).start()
    rc.find(v.Btn, children=["Step"]).widget.click()
    resize.join(30)
    at_round(rc, 1)
    assert drawn[before] == ("NetworkPlot", 0)  # the market did not step under the picture being drawn
    assert sorted(drawn[before + 1:]) == [("NetworkPlot", 1), ("PricePlanePlot", 1), ("SeriesPlot", 1)]
    rc.close()


def test_a_picture_of_a_round_the_market_has_passed_is_not_drawn(stepped):
    """:func:`~agora.experiments.dashboard.page.picture_png` draws the round asked for, and leaves the last
    picture as it was when the market has passed that round (a stale render pass)."""
    model = MarketDashboard(**market("seller-first", rule="best-response").as_page_values())
    plot = model.kept("series", lambda: SeriesPlot(model.view, model.market))
    first = page.picture_png(model, "series", plot, 0)
    assert first.startswith(b"\x89PNG") and model.pictures["series"] == first
    model.step()
    calls = []
    original = plot.update
    plot.update = lambda view, market: calls.append(market.round) or original(view, market)
    assert page.picture_png(model, "series", plot, 0) is first and calls == []
    current = page.picture_png(model, "series", plot, 1)
    assert calls == [1] and current != first and model.pictures["series"] is current


def runners() -> list[threading.Thread]:
    """Threads solara.use_thread started that are still alive (they run its ``runner``)."""
    return [t for t in threading.enumerate() if t.name.endswith("(runner)") and t.is_alive()]


def test_after_the_session_closes_no_thread_of_the_page_is_alive(stepped):
    """Play, a Reset while playing, Play again, then the session closes: every thread the page started
    ends (Play's loop and the build, and those use_thread left waiting for them)."""
    rc = render(market("seller-first", rule="best-response"))
    play_button(rc).widget.click()
    time.sleep(0.3)
    rc.find(v.Btn, children=["Reset"]).widget.click()
    built(rc)
    play_button(rc).widget.click()
    time.sleep(0.3)
    assert threads.running() and stepped
    rc.close()
    assert threads.join(10) == []
    until(lambda: runners() == [], 10)


EXIT_SCRIPT = """
import atexit, sys, threading, time
# registered first, so run last: after the dashboard's own exit hook
atexit.register(lambda: print("alive at exit:", sorted(t.name for t in threading.enumerate()
                                                   if t is not threading.main_thread()), flush=True))
from tests.test_dashboard_sidebar import market, render
from tests.test_dashboard_threads import play_button
rc = render(market(sys.argv[1], **({"rule": "best-response", "buyers": 50} if sys.argv[1] == "seller-first" else {})))
play_button(rc).widget.click()
time.sleep(1.0)
print("playing:", play_button(rc).widget.children, flush=True)
sys.exit(0)  # the session left open, Play's loop drawing
"""


@pytest.mark.parametrize("protocol", ["seller-first", pytest.param("q-learning-fees", marks=pytest.mark.slow)])
def test_a_process_that_exits_while_play_draws_joins_the_loop_first(protocol):
    """A process that exits with Play's loop drawing (a 50-buyer market; Q-learning in posted fees, whose
    sessions are numba-compiled): the exit hook stops and joins it, so no thread of the page is alive when
    the interpreter finalizes, and the process exits cleanly."""
    out = subprocess.run([sys.executable, "-c", EXIT_SCRIPT, protocol], cwd=Path(__file__).parents[1],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert f"playing: ['{PAUSE}']" in out.stdout
    assert "alive at exit: []" in out.stdout, out.stdout



def test_a_second_reset_while_the_first_builds_leaves_the_market_of_the_second(monkeypatch):
    """Reset; while its market is held building, the buyers changed in the sidebar (4 to 6) and Reset
    clicked again (a click sent before the button was disabled reaches the page as any other). Once the
    builds end, the page shows the market of the second Reset: its controls in the spec text, and its
    summary at round 0 that of a market built on its own from them (the exact values of 6 buyers)."""
    gate, started, built_buyers = threading.Event(), threading.Event(), []
    build = page.prepared

    def held(parameters):
        if not started.is_set():  # the first Reset's build waits until the second Reset is in
            started.set()
            gate.wait(30)
        out = build(parameters)
        built_buyers.append(parameters["buyers"])
        return out

    monkeypatch.setattr(page, "prepared", held)
    first = market("seller-first", rule="best-response", buyers=4)
    second = replace(first, buyers=6)
    rc = render(first)
    rc.find(v.Btn, children=["Reset"]).widget.click()
    assert started.wait(30) and page.BUILDING.value
    rc.find(meta_control="buyers").find(v.Slider).widget.v_model = 6
    rc.find(v.Btn, children=["Reset"]).widget.click()
    gate.set()
    until(lambda: len(built_buyers) == 2)
    built(rc)
    assert built_buyers == [4, 6]
    assert controls_from_table(tomllib.loads(rc.find(v.Textarea).widget.v_model)["market"]) == second
    fresh = MarketDashboard(**applied(second.as_page_values()))
    assert summary(rc) == page.summary_html(fresh) != page.summary_html(MarketDashboard(**first.as_page_values()))
    rc.close()
