"""Fuzzing the command line in-process: malformed specs, numbers, partitions, TOML documents,
option values and market parameters for every subcommand.

Each generated command line ends with one argument that is always wrong and is checked last, so
whatever the fuzzed part holds, the command must refuse: exit status 2, one line on stderr, no
traceback, nothing written. Where the last check is a size held to the limits, that argument is
``--max-seconds`` of a picosecond (``TINY``): every size's estimate exceeds it. ``make test`` runs a
few hundred examples; the slow copies (``make test-slow``) run thousands.
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile

import pytest
from hypothesis import HealthCheck, example, given, settings
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
TINY = "--max-seconds=1e-12"  # refuses any size held to the limits, checked after the values it sizes
CLASSES = st.one_of(st.sampled_from(["posted_price", "second_price_auction", "shifted_myerson", "all", "",
                                     "ALL", "posted-price", "best"]), st.text(max_size=8))
PATHS = st.one_of(st.sampled_from(["", ".", "..", "/", "a/b/c", "f.png", "/dev/null/x", "/proc/1/x",
                                   "/nonexistent/x", "x\x00y", "-", "~"]), st.text(max_size=8))


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
             "--partition", "0|1", "--rounds", "1"],
            ["solve", "q-learning", "--bidder", spec, "--bidder", BAD_SPEC],
            ["solve", "monopsony", "--buyers", "2", "--items", "1", "--grid", "3", "--dist", spec, TINY]]


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
             "--dist", BAD_SPEC, "--utility", "surplus", "--partition", "0"],
            ["solve", "q-learning", f"--grid{v}", f"--sessions{v}", f"--memory{v}", f"--periods{v}", f"--window{v}",
             "--bidder", BAD_SPEC],
            ["solve", "q-learning", f"--alpha{v}", f"--beta{v}", f"--delta{v}", f"--seed{v}",
             f"--impulse-periods{v}", "--impulse", "step", "--bidder", BAD_SPEC],
            ["solve", "monopsony", f"--buyers{v}", f"--items{v}", f"--grid{v}", "--dist", "uniform:0,1", TINY],
            ["solve", "monopsony", "--buyers", "3", "--items", "2", f"--grid{v}", "--dist", "uniform:0,1", TINY],
            ["solve", "robust", f"--costs{v}", f"--upper{v}", f"--design-grid{v}", "--bidders", "2"],
            ["solve", "robust", f"--costs={value},0.5", f"--upper=1,{value}", "--design-grid", "3", "--grid", "3"],
            ["solve", "robust", "--bidders", "2", "--mean", "0.5", f"--design-grid{v}", "--grid=0"],
            ["solve", "group", "--member", "uniform:0,1", f"--points{v}", f"--export{v}", "--member", BAD_SPEC],
            ["solve", "group", "--member", BAD_SPEC, f"--points{v}"],
            ["solve", "simultaneous", f"--mixed{v}", "--class", "posted_price", f"--grid{v}", "--bidder", BAD_SPEC]]


def class_argvs(classes: list[str], path: str) -> list[list[str]]:
    """``--class`` choices of simultaneous and intermediary-first; ``--export`` folders of group, ``--out``
    files and ``--spec`` files of simulate and plot --protocol."""
    given = [x for c in classes for x in ("--class", c)]
    return [["solve", "simultaneous", *given, "--mixed", "2", "--bidder", BAD_SPEC],
            ["solve", "intermediary-first", *given, "--bidder", BAD_SPEC],
            ["solve", "group", "--member", "uniform:0,1", "--export", path, "--member", BAD_SPEC],
            ["solve", "group", "--member", "uniform:0,1", "--export", path, "--points", "5", "--transfers",
             "individual"],
            ["simulate", "--protocol", "seller-first", "--out", path, TINY],
            ["simulate", "--protocol", "seller-first", "--out", path + ".csv", TINY],
            ["plot", "--protocol", "robust", "--out", path + ".png", TINY],
            ["simulate", "--spec", path, TINY],
            ["viz", "--host", "256.1.1.1", path],
            ["plot", "--spec", path, "--out", "f.png", TINY]]


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


def kind_names() -> dict[str, list[str]]:
    """Each market kind of ``agora simulate --protocol`` with its parameters' names."""
    from agora.experiments.markets import registry

    return {kind.name: [p.name for p in kind.params] for kind in registry().values()}


KINDS = kind_names()
ALL_PARAMS = sorted({p for params in KINDS.values() for p in params})
PARAM_VALUES = st.one_of(NUMBERS, SPECS, st.sampled_from(
    ["true", "[]", "{}", "[1, 2]", '["uniform:0,1", "uniform:1,0"]', '"0,1|2"', '"even:0"', '"monopsony"',
     '{rule = "hedge", eta = -1}', '{class = "posted_price", parameter = -1}', '"best"', '"learn"', "[[1]]"]))
KIND_MARKETS = st.sampled_from(sorted(KINDS)).flatmap(lambda kind: st.tuples(
    st.just(kind),
    st.dictionaries(st.sampled_from(KINDS[kind] + ALL_PARAMS[:3]), st.lists(PARAM_VALUES, min_size=1, max_size=2),
                    max_size=4)))


def kind_argvs(market: tuple[str, dict]) -> list[list[str]]:
    """``agora simulate|plot --protocol KIND --KEY VALUE ...``: the kind's readers see every fuzzed key
    before the last check, the run's (or the curve's) size against ``TINY``."""
    kind, params = market
    given = [f"--{key.replace('_', '-') if i % 2 else key}={v}" for key, values in params.items()
             for i, v in enumerate(values)]
    return [["simulate", "--protocol", kind, *given, "--out", "rounds.csv", TINY],
            ["plot", "--protocol", kind, *given, "--out", "f.png", TINY]]


@FAST
@given(SPECS)
def test_fuzzed_specs_are_refused_cleanly(spec):
    for argv in spec_argvs(spec):
        refuses(argv)


@FAST
@given(NUMBERS)
@example("1" + "0" * 21)  # monopsony: C(G + k - 1, k) of 10^21 is estimated, not computed
def test_fuzzed_option_values_are_refused_cleanly(value):
    for argv in option_argvs(value):
        refuses(argv)


@FAST
@given(st.lists(CLASSES, min_size=1, max_size=3), PATHS)
@example(["posted_price"], "x\x00y")  # a NUL in a path: refused before any work, not at the write
def test_fuzzed_classes_and_export_folders_are_refused_cleanly(classes, path):
    for argv in class_argvs(classes, path):
        refuses(argv)


@FAST
@given(KIND_MARKETS)
def test_fuzzed_market_parameters_are_refused_cleanly(market):
    for argv in kind_argvs(market):
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
@given(SPECS, NUMBERS, TOML_DOCS, VIZ_DOCS, st.lists(CLASSES, min_size=1, max_size=3), PATHS, KIND_MARKETS)
def test_fuzz_thousands(spec, value, doc, viz_doc, classes, path, market):
    for argv in spec_argvs(spec) + option_argvs(value) + class_argvs(classes, path) + kind_argvs(market):
        refuses(argv)
    refuses_spec_file(RUN, doc)
    refuses_spec_file(VIZ, viz_doc)
