"""The page's own threads (Play's loop, Reset's build): each stoppable, all joined when the process ends.

``solara.use_thread`` starts them as daemon threads, each with an event the page sets when it no longer
wants the thread (the thread's dependencies changed, or the session closed): the bodies look at it
between rounds, so they run without solara's intrusive cancel (a trace function on every line, which
made a Reset built in such a thread 1.3-2.4 times slower, docs/performance.md). A daemon thread still
drawing while the interpreter finalizes can crash it (matplotlib, numba-compiled Q-learning sessions),
so every body runs :func:`tracked`: :func:`shutdown`, run at exit, sets every event and joins the threads.
:class:`Shown` is how Play's loop learns that the page has drawn a round, whichever thread drew it;
:class:`Resets` how a Reset's build learns that a later Reset has come in.
"""

from __future__ import annotations

import atexit
import functools
import threading
import time

JOIN_SECONDS = 30.0  # :func:`shutdown` waits this long in all (a Reset's solve ends within it)
_LOCK = threading.Lock()
_RUNNING: dict[threading.Thread, threading.Event] = {}  # thread -> the event that asks it to stop
_STOPPING = threading.Event()  # set by shutdown: no new body starts


def tracked(body):
    """``body(cancel)`` registered while it runs, so that :func:`join` and :func:`shutdown` can reach it;
    after :func:`shutdown` it does not start."""

    @functools.wraps(body)
    def run(cancel: threading.Event):
        me = threading.current_thread()
        with _LOCK:
            if _STOPPING.is_set():
                return None
            _RUNNING[me] = cancel
        try:
            return body(cancel)
        finally:
            with _LOCK:
                _RUNNING.pop(me, None)

    return run


def running() -> list[threading.Thread]:
    """The page's threads running a body now."""
    with _LOCK:
        return [t for t in _RUNNING if t.is_alive()]


def join(timeout: float = JOIN_SECONDS) -> list[threading.Thread]:
    """Wait up to ``timeout`` seconds in all for the running bodies to end; returns those still running."""
    deadline = time.monotonic() + timeout
    for thread in running():
        if thread is not threading.current_thread():
            thread.join(max(0.0, deadline - time.monotonic()))
    return running()


def shutdown(timeout: float = JOIN_SECONDS) -> list[threading.Thread]:
    """Ask every running body to stop (their events set, no new one started) and join them; returns the
    threads still running after ``timeout`` seconds. Registered with :mod:`atexit`."""
    with _LOCK:
        _STOPPING.set()
        events = list(_RUNNING.values())
    for cancel in events:
        cancel.set()
    return join(timeout)


atexit.register(shutdown)


class Shown:
    """The last round the page has drawn of one market: the render marks it (:meth:`mark`), Play's loop
    waits for it (:meth:`wait`), so that the loop paces itself by the redraw even when another thread
    draws it (a render requested while one runs is left to the thread rendering)."""

    POLL = 0.05  # seconds between looks at the loop's cancel event while waiting

    def __init__(self):
        self._condition = threading.Condition()
        self.round = -1

    def mark(self, rounds: int) -> None:
        with self._condition:
            self.round = max(self.round, rounds)
            self._condition.notify_all()

    def wait(self, rounds: int, cancel: threading.Event, timeout: float) -> bool:
        """Wait until round ``rounds`` is drawn, ``cancel`` is set or ``timeout`` seconds pass; whether it was drawn."""
        deadline = time.monotonic() + timeout
        with self._condition:
            while self.round < rounds and not cancel.is_set():
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._condition.wait(min(self.POLL, left))
            return self.round >= rounds


class Resets:
    """A session's Resets, numbered: a build shows its market only if its Reset is still the last one, so that
    a second Reset started while the first builds leaves the page with the second's market. Both the start of
    a Reset (:meth:`start`) and a build's showing its market (:meth:`finish`) run under one lock, so that no
    Reset comes in between a build's check and its market shown."""

    def __init__(self):
        self._lock = threading.Lock()
        self.last = 0

    def start(self, begin) -> int:
        """A new Reset: ``begin(number)`` (which asks for its build) run with its number; returns the number."""
        with self._lock:
            self.last += 1
            begin(self.last)
            return self.last

    def finish(self, number: int, show) -> bool:
        """``show()`` if Reset ``number`` is still the last one; whether it was."""
        with self._lock:
            if number != self.last:
                return False
            show()
            return True
