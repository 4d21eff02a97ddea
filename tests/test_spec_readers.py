"""One reader for every spec file: ``agora run`` (:func:`agora.experiments.spec.load_spec`) and
``agora viz`` (:func:`agora.experiments.dashboard.controls.read_spec`) refuse a file they cannot
read in the same line, and ``agora viz ''`` is refused like ``agora run ''`` without serving."""

from __future__ import annotations

import errno
import os
import tomllib

import pytest
from cli_run import run_cli

from agora.experiments import cli_viz
from agora.experiments.dashboard.controls import read_spec
from agora.experiments.spec import TOP_KEYS, load_spec
from agora.market.errors import InputError

MALFORMED = "[market\nprotocol = 1"
NOT_UTF8 = b'[market]\nbidders = "\xff"\n'
TOP = ", ".join(TOP_KEYS)


def _toml_error(text: str) -> str:
    """tomllib's own message for ``text`` (the reader quotes it after 'not valid TOML: ')."""
    with pytest.raises(tomllib.TOMLDecodeError) as err:
        tomllib.loads(text)
    return str(err.value)


def _utf8_error(data: bytes) -> str:
    """Python's own reason and byte offset for undecodable ``data``."""
    with pytest.raises(UnicodeDecodeError) as err:
        data.decode("utf-8")
    return f"{err.value.reason} at byte {err.value.start}"


# (case, file content or None for no file, the line every reader gives built from the file's path p).
# The reasons come from outside the readers: os.strerror for the OS's errors, tomllib for bad TOML,
# bytes.decode for bad UTF-8; the rest is the spec format's wording (experiments/spec.py docstring).
CASES = [
    ("empty path", None, lambda p: "cannot read spec '': an empty path; accepted: the path of a TOML spec file"),
    ("missing file", None, lambda p: f"cannot read spec '{p}': {os.strerror(errno.ENOENT)}"),
    ("directory", "dir", lambda p: f"cannot read spec '{p}': {os.strerror(errno.EISDIR)}"),
    ("malformed TOML", MALFORMED, lambda p: f"{p}: not valid TOML: {_toml_error(MALFORMED)}"),
    ("not UTF-8", NOT_UTF8, lambda p: f"cannot read spec '{p}': not UTF-8 text ({_utf8_error(NOT_UTF8)})"),
    ("unknown key", '[other]\nignored = true\n[market]\n',
     lambda p: f'{p}: other = {{"ignored": true}}: unknown key; accepted: top-level keys {TOP}'),
    ("unknown key, run settings", 'steps = 3\nrounds = 3\n[seeds]\ncount = 1\nbase = 1\n[market]\n',
     lambda p: f"{p}: rounds = 3: unknown key; accepted: top-level keys {TOP}"),
    ("market of the wrong type", "market = 3\n", lambda p: f"{p}: market = 3: accepted: a table"),
    ("seeds of the wrong type", "seeds = 1\n[market]\n", lambda p: f"{p}: seeds = 1: accepted: a table"),
    ("name of the wrong type", "name = 3\n[market]\n",
     lambda p: f"{p}: name = 3: accepted: letters, digits, '.', '_' and '-', starting with a letter or digit"),
    ("no market", 'description = "none"\n', lambda p: f"{p}: [market] is missing; accepted: a table"),
]
IDS = [c[0] for c in CASES]


def _path(tmp_path, case: str, content) -> str:
    if case == "empty path":
        return ""
    path = tmp_path / "spec.toml"
    if content == "dir":
        path.mkdir()
    elif isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content)
    return str(path)


@pytest.mark.parametrize("case, content, line", CASES, ids=IDS)
def test_both_readers_refuse_in_the_same_line(tmp_path, case, content, line):
    path = _path(tmp_path, case, content)
    with pytest.raises(InputError) as run_err:
        load_spec(path)
    with pytest.raises(InputError) as viz_err:
        read_spec(path)
    assert str(run_err.value) == str(viz_err.value) == line(path)


@pytest.mark.parametrize("case, content, line", CASES, ids=IDS)
def test_run_and_viz_print_the_same_line_and_exit_2(capsys, tmp_path, monkeypatch, case, content, line):
    path = _path(tmp_path, case, content)
    monkeypatch.setattr(cli_viz.subprocess, "Popen", _no_server)
    monkeypatch.chdir(tmp_path)
    before = sorted(tmp_path.rglob("*"))
    run = run_cli(capsys, "run", path, "--out", str(tmp_path / "out"), "--executor", "serial")
    viz = run_cli(capsys, "viz", path)
    assert run == viz == (2, "", f"agora: error: {line(path)}\n")
    assert sorted(tmp_path.rglob("*")) == before  # nothing written


def _no_server(*args, **kwargs):
    raise AssertionError(f"a server was started: {args}")


def test_viz_of_an_empty_path_is_refused_without_serving(capsys, tmp_path, monkeypatch):
    """`agora viz ''` used to open the default market; now it is the line of `agora run ''`, and
    neither the address is probed nor the server started."""
    monkeypatch.setattr(cli_viz.subprocess, "Popen", _no_server)
    monkeypatch.setattr(cli_viz, "check_address", _no_server)
    monkeypatch.chdir(tmp_path)
    code, out, err = run_cli(capsys, "viz", "")
    assert (code, out) == (2, "")
    assert err == "agora: error: cannot read spec '': an empty path; accepted: the path of a TOML spec file\n"
    assert list(tmp_path.iterdir()) == []
