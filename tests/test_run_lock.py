"""Two `agora run`s into one folder cannot collide (issue 20, item 4): a lock file beside the folder."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from cli_run import run_cli

from agora.experiments.markets import SpecError
from agora.experiments.store import lock_path, run_lock

SPEC = ('steps = 2\n[seeds]\ncount = 1\nbase = 3\n[market]\nprotocol = "seller-first"\n'
        'bidders = ["uniform:0,1"]\n')


def hold(path, pid: int, host: str | None = None) -> None:
    path.write_text(json.dumps({"pid": pid, "host": host or platform.node(), "started": "earlier"}))


def test_a_live_lock_refuses_a_second_run_in_one_line(capsys, tmp_path):
    (tmp_path / "s.toml").write_text(SPEC)
    out = tmp_path / "res"
    hold(lock_path(out), os.getppid())  # a live process on this host
    code, _, err = run_cli(capsys, "run", str(tmp_path / "s.toml"), "--out", str(out), "--executor", "serial")
    assert code == 2 and len(err.splitlines()) == 1
    assert f"pid {os.getppid()} on {platform.node()}" in err and "--wait" in err
    assert not out.exists()


def test_a_stale_lock_is_taken_over_and_released(capsys, tmp_path):
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    (tmp_path / "s.toml").write_text(SPEC)
    out = tmp_path / "res"
    hold(lock_path(out), gone.pid)
    code, text, err = run_cli(capsys, "run", str(tmp_path / "s.toml"), "--out", str(out), "--executor", "serial")
    assert code == 0, err
    assert "1 runs (0 already done, 1 run now)" in text
    assert not lock_path(out).exists()


def test_another_hosts_lock_is_never_taken_over(tmp_path):
    hold(lock_path(tmp_path / "res"), 1, host="elsewhere.example")
    with pytest.raises(SpecError, match="on elsewhere.example"):
        with run_lock(tmp_path / "res"):
            pass


def test_wait_takes_the_lock_once_it_is_released(tmp_path):
    path = lock_path(tmp_path / "res")
    hold(path, os.getpid())
    threading.Timer(0.3, path.unlink).start()
    with run_lock(tmp_path / "res", wait=True, poll=0.05):
        assert json.loads(path.read_text())["pid"] == os.getpid()
    assert not path.exists()


def test_two_runs_racing_for_one_stale_lock_exactly_one_wins(tmp_path):
    """Two processes find the same stale lock at the same moment, 20 times: each time exactly one
    takes it over and the other is refused (the winner still holds it while the loser looks)."""
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    out = tmp_path / "res"
    racer = Path(__file__).with_name("lock_racer.py")
    done = subprocess.run([sys.executable, str(racer), str(out), str(gone.pid), "20"], capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    trials = [json.loads(line) for line in done.stdout.splitlines()]
    assert trials == [["lost", "won"]] * 20
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # the lock released, no staged lock left


def free_port() -> int:
    """A port nobody listens on now (the system's choice)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serving_viz(port: int) -> subprocess.Popen:
    """`agora viz --port PORT`, once its server listens."""
    import socket
    import time

    agora = Path(sys.executable).with_name("agora")
    proc = subprocess.Popen([str(agora), "viz", "--port", str(port)], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    assert "serving the dashboard" in proc.stdout.readline()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # until the server listens
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return proc
        time.sleep(0.5)
    raise AssertionError("the dashboard server did not start listening in 60 s")


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="parent-death signal is Linux's")
def test_kill_9_of_viz_ends_its_server():
    """`kill -9` of `agora viz` cannot forward anything: the server ends by itself, its port free
    within 10 s."""
    import signal
    import socket
    import time

    port = free_port()
    proc = serving_viz(port)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) != 0:
                break
        time.sleep(0.5)
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0  # nobody serves any more


@pytest.mark.slow
def test_sigterm_stops_viz_and_its_server():
    """SIGTERM to `agora viz` stops the Solara server too: the port is free again afterwards, and
    viz exits 0 (not the server's -15)."""
    import signal
    import socket
    import time

    port = free_port()
    proc = serving_viz(port)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0  # asked to stop: a clean exit, as on Ctrl-C
    time.sleep(1)
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0  # nobody serves any more


def test_a_folder_that_cannot_be_locked_is_refused_in_one_line(capsys, tmp_path, monkeypatch):
    """A file system without locks (flock fails with ENOLCK, as on NFS without its lock daemon):
    refused in one line naming the folder, before any worker starts, with nothing written."""
    import errno

    from agora.experiments import store

    def no_locks(fd, operation):
        raise OSError(errno.ENOLCK, os.strerror(errno.ENOLCK))

    monkeypatch.setattr(store.fcntl, "flock", no_locks)
    (tmp_path / "s.toml").write_text(SPEC)
    code, out, err = run_cli(capsys, "run", str(tmp_path / "s.toml"), "--out", str(tmp_path / "res"),
                             "--executor", "serial")
    assert code == 2 and out == "" and len(err.splitlines()) == 1 and "Traceback" not in err, err
    assert f"cannot lock '{tmp_path}' for the run ({os.strerror(errno.ENOLCK)})" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.toml"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root opens every folder")
def test_a_folder_that_cannot_be_read_is_refused_in_one_line(capsys, tmp_path):
    """Write and search permission but no read: files can be made in it, the folder cannot be opened."""
    (tmp_path / "s.toml").write_text(SPEC)
    closed = tmp_path / "closed"
    closed.mkdir(mode=0o300)
    try:
        code, out, err = run_cli(capsys, "run", str(tmp_path / "s.toml"), "--out", str(closed / "res"),
                                 "--executor", "serial")
    finally:
        closed.chmod(0o700)
    assert code == 2 and out == "" and len(err.splitlines()) == 1, err
    assert f"cannot lock '{closed}' for the run (Permission denied)" in err
    assert list(closed.iterdir()) == []
