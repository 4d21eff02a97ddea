"""Every shipped spec (experiments/specs/*.toml) opens in ``agora viz`` and runs in ``agora run``.

``agora viz`` is run in-process with the server replaced by a stand-in that records the controls it
was handed: the page's first market is built from them as the page builds it, and it plays. ``agora
run`` runs the spec shrunk to two steps and one seed per point, serially, and writes one row per run.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest
from cli_run import run_cli

from agora.experiments import cli_viz
from agora.experiments.dashboard import CONTROLS_ENV
from agora.experiments.dashboard.controls import controls_from_table, read_spec
from agora.experiments.dashboard.model import MarketDashboard
from agora.experiments.dashboard.sidebar import applied
from agora.experiments.spec import load_spec

SPECS = sorted((Path(__file__).resolve().parents[1] / "experiments" / "specs").glob("*.toml"))


class StandInServer:
    """What ``agora viz`` starts in place of the Solara server: it records the environment and exits 0."""

    started: list[dict] = []

    def __init__(self, command, env, preexec_fn=None):
        self.started.append(env)

    def wait(self) -> int:
        return 0

    def terminate(self) -> None:
        pass


@pytest.mark.parametrize("path", SPECS, ids=lambda p: p.stem)
def test_every_shipped_spec_opens_in_agora_viz(path, capsys, monkeypatch):
    StandInServer.started.clear()
    monkeypatch.setattr(cli_viz.subprocess, "Popen", StandInServer)
    monkeypatch.setattr(cli_viz, "check_address", lambda host, port: None)
    code, out, err = run_cli(capsys, "viz", str(path))
    assert code == 0 and "serving the dashboard" in out, err
    assert all(line.startswith("agora viz: ") for line in err.splitlines())
    (env,) = StandInServer.started
    controls = controls_from_table(json.loads(env[CONTROLS_ENV]))
    assert controls == read_spec(path)[0]
    page = MarketDashboard(**applied(controls.as_page_values()))  # the page's first market
    assert page.error is None and page.controls == controls
    for _ in range(3):
        page.step()
    assert len(page.view.series(page.market)) == 3


@pytest.mark.parametrize("path", SPECS, ids=lambda p: p.stem)
def test_every_shipped_spec_runs_in_agora_run(path, capsys, tmp_path):
    text = re.sub(r"(?m)^steps = \d+$", "steps = 2", path.read_text())
    text = re.sub(r"(?m)^count = \d+$", "count = 1", text)
    shrunk = tmp_path / path.name
    shrunk.write_text(text)
    out = tmp_path / "results"
    code, stdout, err = run_cli(capsys, "run", str(shrunk), "--out", str(out), "--executor", "serial")
    assert code == 0, err
    runs = pd.read_parquet(out / "runs.parquet")
    points = len(load_spec(shrunk).points)
    assert sorted(runs["point"]) == list(range(points)) and (runs["seed"] == 0).all()
