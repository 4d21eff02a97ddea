"""Fuzzing the command line in-process (issue 20, item 5): malformed specs, numbers, partitions,
TOML documents and option values for every subcommand.

Each generated command line ends with one argument that is always wrong and is checked last, so
whatever the fuzzed part holds, the command must refuse: exit status 2, one line on stderr, no
traceback, nothing written. ``make test`` runs a few hundred examples; the slow copies (``make
test-slow``) run thousands.
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agora.experiments.cli import main

FAST = settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
SLOW = settings(max_examples=1000, deadline=None, suppress_health_check=list(HealthCheck))

NUMBERS = st.one_of(
    st.sampled_from(["nan", "inf", "-inf", "1e308", "-1e308", "1e-320", "0", "-0", "1e150", "1e151",
                     "1e-151", "", " ", "1,", "0x10", "1_000", "--1", "1e", "١"]),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(-10**30, 10**30).map(str),
    st.text(max_size=6),
)
FAMILIES = st.sampled_from(["uniform", "exponential", "pareto", "point", "beta", "truncnorm", "UNIFORM",
                            "normal", "", "max2:uniform"])
SPECS = st.one_of(
    st.builds(lambda f, xs: f"{f}:{','.join(xs)}", FAMILIES, st.lists(NUMBERS, max_size=5)),
    st.text(max_size=20),
)
BAD_SPEC = "uniform:1,0"  # always refused, and parsed after the fuzzed ones


def refuses(argv: list[str]) -> None:
    """Run ``agora argv`` in a fresh folder; assert a clean one-line refusal and nothing written."""
    cwd = os.getcwd()
    with tempfile.TemporaryDirectory() as folder:
        os.chdir(folder)
        err, out = io.StringIO(), io.StringIO()
        try:
            with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
                try:
                    code = main(argv)
                except SystemExit as exc:
                    code = exc.code
        finally:
            os.chdir(cwd)
        written = os.listdir(folder)
    text = err.getvalue()
    assert code == 2, (argv, code, text)
    assert len(text.splitlines()) == 1 and "Traceback" not in text, (argv, text)
    assert out.getvalue() == "" and written == [], (argv, written)


def spec_argvs(spec: str) -> list[list[str]]:
    return [["solve", "seller-first", "--bidder", spec, "--bidder", BAD_SPEC],
            ["solve", "intermediary-first", "--bidder", spec, "--bidder", BAD_SPEC],
            ["solve", "simultaneous", "--bidder", spec, "--bidder", BAD_SPEC],
            ["simulate", "seller-first", "--bidder", spec, "--bidder", BAD_SPEC],
            ["plot", "seller-first", "--bidder", spec, "--bidder", BAD_SPEC, "--out", "f.png"],
            ["solve", "group", "--member", spec, "--member", BAD_SPEC],
            ["solve", "ipm", "--buyers", "2", "--items", "1", "--dist", spec, "--partition", "0,0"],
            ["solve", "stochastic-stability", "--bidder", spec, "--bidder", BAD_SPEC],
            ["solve", "k-auction", "--buyers", "2", "--items", "1", "--dist", spec, "--utility", "surplus",
             "--partition", "0|1", "--rounds", "1"]]


def option_argvs(value: str) -> list[list[str]]:
    v = f"={value}"
    return [["solve", "simultaneous", f"--grid{v}", "--bidder", BAD_SPEC],
            ["solve", "simultaneous", f"--mixed{v}", "--bidder", BAD_SPEC],
            ["simulate", "seller-first", f"--rounds{v}", f"--seed{v}", "--bidder", BAD_SPEC],
            ["simulate", "seller-first", f"--price{v}", "--bidder", BAD_SPEC],
            ["plot", "seller-first", f"--points{v}", "--bidder", BAD_SPEC, "--out", "f.png"],
            ["solve", "robust", f"--bidders{v}", f"--mean{v}", f"--upper{v}", "--grid=0"],
            ["solve", "ipm", f"--buyers{v}", f"--items{v}", "--dist", BAD_SPEC],
            ["solve", "ipm", "--buyers", "3", "--items", "1", f"--partition{v}", f"--weights{v}", "--dist", BAD_SPEC],
            ["solve", "group", "--member", BAD_SPEC, f"--cost{v}"],
            ["reproduce", "seller-first", f"--workers{v}", "--executor", "serial"],
            ["viz", f"--port{v}", "--host", "127.0.0.1", "missing.toml"],
            ["solve", "stochastic-stability", f"--grid{v}", f"--sample{v}", f"--memory{v}", "--bidder", BAD_SPEC],
            ["solve", "k-auction", f"--buyers{v}", f"--items{v}", f"--rounds{v}", f"--regret-profiles{v}",
             "--dist", BAD_SPEC, "--utility", "surplus", "--partition", "0"]]


TOML_VALUES = st.one_of(st.integers(-10**20, 10**20).map(str), st.floats().map(lambda x: repr(x).replace("nan", "nan")),
                        SPECS.map(lambda s: '"' + s.replace("\\", "").replace('"', "") + '"'),
                        st.sampled_from(["true", "[]", "{}", "[1, 2]", '["seller-first"]', "inf", "-inf", "nan"]),
                        st.text(max_size=8))
TOML_DOCS = st.builds(
    lambda steps, count, bidders, seller, junk: (
        f"steps = {steps}\n[seeds]\ncount = {count}\nbase = 1\n[market]\nprotocol = \"seller-first\"\n"
        f"bidders = [{bidders}]\nseller = {seller}\n{junk}\n[record]\nevery = 0\n"),
    TOML_VALUES, TOML_VALUES, TOML_VALUES, TOML_VALUES, st.text(max_size=30))


def run_argvs(doc: str) -> list[str]:
    return ["run", "spec.toml", "--out", "res", "--executor", "serial"]


def refuses_spec_file(command: list[str], doc: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "spec.toml")
        with open(path, "w", encoding="utf-8", errors="surrogatepass") as f:
            f.write(doc)
        refuses([*command, path] if command[0] == "viz" else [command[0], path, *command[1:]])


RUN = ["run", "--out", "res", "--executor", "serial"]
VIZ = ["viz"]
VIZ_DOCS = st.builds(lambda protocol, bidders, buyers, junk: (
    f"[market]\nprotocol = {protocol}\nbidders = [{bidders}]\nbuyers = {buyers}\n{junk}\nseed = -1\n"),
    TOML_VALUES, TOML_VALUES, TOML_VALUES, st.text(max_size=20))


@FAST
@given(SPECS)
def test_fuzzed_specs_are_refused_cleanly(spec):
    for argv in spec_argvs(spec):
        refuses(argv)


@FAST
@given(NUMBERS)
def test_fuzzed_option_values_are_refused_cleanly(value):
    for argv in option_argvs(value):
        refuses(argv)


@FAST
@given(TOML_DOCS)
def test_fuzzed_experiment_specs_are_refused_cleanly(doc):
    refuses_spec_file(RUN, doc)


@FAST
@given(VIZ_DOCS)
def test_fuzzed_viz_specs_are_refused_cleanly(doc):
    refuses_spec_file(VIZ, doc)


@pytest.mark.slow
@SLOW
@given(SPECS, NUMBERS, TOML_DOCS, VIZ_DOCS)
def test_fuzz_thousands(spec, value, doc, viz_doc):
    for argv in spec_argvs(spec) + option_argvs(value):
        refuses(argv)
    refuses_spec_file(RUN, doc)
    refuses_spec_file(VIZ, viz_doc)
