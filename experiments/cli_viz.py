"""``agora viz [SPEC.toml] [--host HOST] [--port PORT]``: serve the market dynamics dashboard.

The spec file's ``[market]`` table sets the initial controls
(:mod:`agora.experiments.dashboard.controls`, or a runner's spec through
:mod:`agora.experiments.dashboard.runner_spec`, notices on stderr); it is validated before the server
starts, so a bad value (or an empty path) is one line and exit status 2, in the words of
``agora run`` for a file it cannot read (:func:`agora.experiments.spec.read_spec_document`).
The page is served by ``solara run experiments/app.py`` in production mode; its
front-end comes from installed packages (``solara-assets``), so it needs no network.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

from agora.experiments.dashboard import CONTROLS_ENV, PROTOCOLS
from agora.market.errors import InputError

APP = Path(__file__).resolve().parent / "app.py"
DEFAULT_PORT = 8765


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a port number, got '{text}'") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"a port must be from 1 to 65535, got {port}")
    return port


def add_parsers(verbs: dict, sub) -> None:
    p = sub.add_parser(
        "viz", help="serve the market dynamics dashboard (a Solara page) on 127.0.0.1",
        description="Serve a dashboard that steps a market round by round: the demand network with "
                    "this round's messages, revenues, utilities, welfare and prices against the exact solver, and "
                    "the price plane of the simultaneous game. SPEC.toml's [market] table sets the "
                    "initial controls (keys: protocol, bidders, buyers, intermediaries, items, utility, rule, "
                    "rate, seller_price, intermediary_price, seed, points, mean, upper, adversary, beta, delta, "
                    "memory, sample_row, sample_column, eps_row, eps_column; "
                    f"protocols: {', '.join(PROTOCOLS)}); "
                    "a spec of `agora run` opens at its first sweep point.")
    p.add_argument("spec", nargs="?", metavar="SPEC.toml", help="initial controls ([market] table)")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=_port, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})")


def server_command(host: str, port: int) -> list[str]:
    """The command that serves the dashboard."""
    return [sys.executable, "-m", "solara", "run", str(APP), "--host", host, "--port", str(port),
            "--production", "--no-open"]


def server_environment(controls) -> dict[str, str]:
    """The environment the server runs in: the initial controls, and no calls home."""
    env = dict(os.environ)
    env[CONTROLS_ENV] = json.dumps(asdict(controls))
    env.setdefault("SOLARA_TELEMETRY_MIXPANEL_ENABLE", "False")
    env.setdefault("SOLARA_TELEMETRY_SENTRY_ENABLE", "False")
    return env


def die_with_parent(parent: int):
    """For the server, run just before it starts: on Linux, ask the kernel to send it SIGTERM when
    ``agora viz`` (pid ``parent``) ends, however it ends (``kill -9`` too: prctl PR_SET_PDEATHSIG);
    if viz is already gone, end at once. Elsewhere nothing is asked."""
    def ask() -> None:
        if not sys.platform.startswith("linux"):
            return
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, int(signal.SIGTERM))
        if os.getppid() != parent:
            os._exit(0)
    return ask


PR_SET_PDEATHSIG = 1  # linux/prctl.h


def check_address(host: str, port: int) -> None:
    """InputError in one line unless ``host:port`` can be bound now (a bad host, or a port in use)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as err:
        raise InputError(f"--host '{host}' is not an address of this machine ({err}); "
                         "accepted: an address like 127.0.0.1, ::1 or 0.0.0.0") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as err:
            raise InputError(f"cannot serve on {host}:{port}: {err.strerror}; accepted: a free port "
                             "(--port) on an address of this machine (--host)") from None


def viz(args) -> int:
    from agora.experiments.dashboard.controls import Controls, read_spec

    # every value checked, in one line; an empty path is refused (by the reader of `agora run`), not the default
    controls, notices = read_spec(args.spec) if args.spec is not None else (Controls(), [])
    for notice in notices:
        print(f"agora viz: {notice}", file=sys.stderr)
    check_address(args.host, args.port)
    host = f"[{args.host}]" if ":" in args.host else args.host
    print(f"agora viz: serving the dashboard at http://{host}:{args.port}/ (Ctrl-C stops it)", flush=True)
    server = subprocess.Popen(server_command(args.host, args.port), env=server_environment(controls),
                              preexec_fn=die_with_parent(os.getpid()))
    stopped = []

    def stop(*_):  # SIGTERM stops the server too; asked to stop, viz exits 0 as on Ctrl-C
        stopped.append(True)
        server.terminate()

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        code = server.wait()
        return 0 if stopped else code
    except KeyboardInterrupt:
        server.terminate()
        server.wait()
        return 0
    finally:
        signal.signal(signal.SIGTERM, previous)


HANDLERS = {("viz", None): viz}
