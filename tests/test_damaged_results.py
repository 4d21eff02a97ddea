"""Damaged results folders and specs are reported in one line naming the file (issue 20, item 3)."""

from __future__ import annotations

import json
import shutil

import pytest
from cli_run import run_cli

SPEC = ('steps = 3\n[seeds]\ncount = 2\nbase = 7\n[market]\nprotocol = "seller-first"\n'
        'bidders = ["uniform:0,1"]\n[sweep.grid]\n"market.seller" = [0.3, 0.5]\n')
OTHER = SPEC.replace("base = 7", "base = 8")


def refused(capsys, *argv: str) -> str:
    code, out, err = run_cli(capsys, *argv)
    assert code == 2, (code, out, err)
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    return err


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A results folder written by `agora run` (serial, 4 runs of 3 steps)."""
    root = tmp_path_factory.mktemp("finished")
    (root / "s.toml").write_text(SPEC)
    from agora.experiments.cli import main

    assert main(["run", str(root / "s.toml"), "--out", str(root / "res"), "--executor", "serial"]) == 0
    return root


@pytest.fixture
def results(finished, tmp_path):
    shutil.copytree(finished / "res", tmp_path / "res")
    shutil.copy(finished / "s.toml", tmp_path / "s.toml")
    return tmp_path


def test_the_intact_folder_reports(capsys, results):
    code, out, err = run_cli(capsys, "report", str(results / "res"))
    assert code == 0, err
    assert "mean [95% interval over seeds]" in out


@pytest.mark.parametrize("damage, named", [
    (lambda m: m.write_text("{not json"), "is not valid JSON"),
    (lambda m: m.write_bytes(b'{"spec": "\xff\xfe"}'), "is not UTF-8 text"),
    (lambda m: m.write_text("[1, 2]"), "holds a JSON list, not an object"),
    (lambda m: m.write_text('{"finished": "now"}'), "has no valid 'spec' entry"),
    (lambda m: m.write_text('{"finished": "now", "spec": {"name": 3}}'), "has no valid 'spec' entry"),
    (lambda m: m.write_text("[" * 100_000 + "]" * 100_000), "is not valid JSON"),
])
@pytest.mark.parametrize("command", ["report", "run"])
def test_a_damaged_manifest_is_named(capsys, results, damage, named, command):
    manifest = results / "res" / "manifest.json"
    damage(manifest)
    argv = ["report", str(results / "res")] if command == "report" else \
        ["run", str(results / "s.toml"), "--out", str(results / "res"), "--executor", "serial"]
    err = refused(capsys, *argv)
    assert named in err and str(manifest) in err


def test_a_manifest_that_is_a_folder_is_named(capsys, results):
    manifest = results / "res" / "manifest.json"
    manifest.unlink()
    manifest.mkdir()
    err = refused(capsys, "report", str(results / "res"))
    assert "cannot be read" in err and str(manifest) in err


def test_a_corrupt_runs_table_is_named(capsys, results):
    runs = results / "res" / "runs.parquet"
    runs.write_bytes(b"PAR1 this is not parquet")
    err = refused(capsys, "report", str(results / "res"))
    assert "cannot be read as a Parquet table" in err and str(runs) in err


def test_runs_table_as_a_folder_is_named(capsys, results):
    runs = results / "res" / "runs.parquet"
    runs.unlink()
    runs.mkdir()
    err = refused(capsys, "report", str(results / "res"))
    assert str(runs) in err
    err = refused(capsys, "run", str(results / "s.toml"), "--out", str(results / "res"), "--executor", "serial")
    assert f"'{runs}' is a folder" in err


def test_run_refuses_a_folder_of_another_spec(capsys, results):
    (results / "o.toml").write_text(OTHER)
    before = (results / "res" / "manifest.json").read_text()
    err = refused(capsys, "run", str(results / "o.toml"), "--out", str(results / "res"), "--executor", "serial")
    assert "holds results of another spec" in err
    assert (results / "res" / "manifest.json").read_text() == before


def test_run_resumes_its_own_folder(capsys, results):
    code, out, err = run_cli(capsys, "run", str(results / "s.toml"), "--out", str(results / "res"),
                             "--executor", "serial")
    assert code == 0, err
    assert "4 runs (4 already done, 0 run now)" in out
    assert len(json.loads((results / "res" / "manifest.json").read_text())["sessions"]) == 2


def test_report_of_a_file(capsys, tmp_path):
    (tmp_path / "plain").write_text("x")
    err = refused(capsys, "report", str(tmp_path / "plain"))
    assert "is a file, not a folder" in err


# ------------------------------------------------------------------ specs
def test_a_spec_nested_20000_deep(capsys, tmp_path):
    spec = tmp_path / "deep.toml"
    spec.write_text("steps = " + "[" * 20_000 + "]" * 20_000 + "\n")
    err = refused(capsys, "run", str(spec), "--out", str(tmp_path / "res"))
    assert "nested too deeply" in err or "not valid TOML" in err
    assert not (tmp_path / "res").exists()


def test_a_non_utf8_spec(capsys, tmp_path):
    spec = tmp_path / "bad.toml"
    spec.write_bytes(b'name = "\xff"\n')
    err = refused(capsys, "run", str(spec))
    assert "not UTF-8" in err and str(spec) in err


@pytest.mark.parametrize("text, named", [
    (b'[market]\nprotocol = ["seller-first"]\n', "protocol must be a string"),
    (b'[market]\nutility = 3\n', "utility must be a string"),
    (b'[market]\nbidders = "\xff"\n', "not UTF-8"),
    (b"[market]\nbidders = " + b"[" * 20_000 + b"]" * 20_000 + b"\n", "nested too deeply"),
])
def test_viz_spec_refused_before_serving(capsys, tmp_path, text, named):
    spec = tmp_path / "viz.toml"
    spec.write_bytes(text)
    err = refused(capsys, "viz", str(spec))
    assert named in err
