"""The equilibrium-selection report: every check holds and every file is written."""

import json

import pandas as pd
import pytest

from agora.experiments.cli import main
from agora.experiments.reproduce.equilibrium_selection import build

FILES = {"report.md", "results.json", "studies.json", "endings.parquet", "k_endings.parquet",
         "basins_constant_value.png", "basins_F.png", "basins_two_uniform.png", "k_items_ends.png"}


def test_small_report_all_checks_hold(tmp_path):
    """Three starts a side, 150 rounds, serial: the checks are the full report's."""
    report = build(tmp_path / "out", executor="serial", starts=3, rounds=150)
    failed = [c for c in report.checks if not c.holds]
    assert not failed, failed
    assert len(report.checks) >= 35
    k_section = next(s for s in report.sections if s.title == "k items and two intermediaries")
    assert len(k_section.checks) >= 19
    assert FILES <= {p.name for p in (tmp_path / "out").iterdir()}
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging left
    studies = json.loads((tmp_path / "out" / "studies.json").read_text())
    assert all(len(rows) == 7 for rows in studies.values())
    assert "Theorem 5.2" in (tmp_path / "out" / "report.md").read_text()
    endings = pd.read_parquet(tmp_path / "out" / "endings.parquet")
    assert len(endings) == 3 * 7 * 9 and set(endings["outcome"]) <= {"equilibrium", "cycle", "mixed", "none"}
    k_endings = pd.read_parquet(tmp_path / "out" / "k_endings.parquet")
    assert len(k_endings) == 4 * (2 * 27 + 9)  # four rules; two markets with a cube of starts, one with a square


@pytest.mark.slow
def test_equilibrium_selection_reproduction_from_the_command_line(tmp_path):
    assert main(["reproduce", "equilibrium-selection", "--out", str(tmp_path / "out"), "--workers", "2"]) == 0
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    assert all(c["holds"] for c in results["checks"])
    assert FILES <= {p.name for p in (tmp_path / "out").iterdir()}
