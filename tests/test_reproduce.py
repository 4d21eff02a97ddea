"""The seller-first reproduction: every claim holds and every file is written."""

import json

import pytest

from agora.experiments.reproduce import REPRODUCTIONS, load
from agora.experiments.reproduce.report import Check, Report, Section
from tests.reproduce_checks import reproduced


def test_report_counts_and_renders_failures(tmp_path):
    report = Report("t", "papers/x.txt", [Section("s", "text", [
        Check("Theorem 1", "inst", "q", 1.0, 1.0, True, "", "paper-number", "p. 1"),
        Check("Theorem 2", "inst", "q", 1.0, 0.5, False, "", "paper-formula", "(2)")])])
    assert not report.all_hold
    report.write(tmp_path)
    text = (tmp_path / "report.md").read_text()
    assert "1 of 2 checks hold" in text and "**FAILS**" in text
    assert json.loads((tmp_path / "results.json").read_text())["checks"][1]["holds"] is False


def test_every_registered_reproduction_loads():
    for name in REPRODUCTIONS:
        assert callable(load(name))


@pytest.mark.slow
def test_seller_first_reproduction_all_claims_hold(tmp_path):
    reproduced("seller-first", tmp_path, {"theorem_3_7_ratio_vs_alpha.png"})
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging left


@pytest.mark.slow
def test_monopolist_intermediary_reproduction_all_claims_hold(tmp_path):
    text = reproduced("monopolist-intermediary", tmp_path, {"revenue_vs_eps_both_orders.png",
                                                            "equilibria_constant_value.png",
                                                            "equilibria_F_0.2_1e6.png"})
    assert "Table 1" in text


@pytest.mark.slow
def test_selling_to_a_group_reproduction(tmp_path):
    """Every claim holds except Proposition 5(2)'s limit of the optimal profit, which the report refutes."""
    text = reproduced("selling-to-a-group", tmp_path, {"example_1_allocation.png", "price_of_simplicity.png",
                                                       "pareto_frontier.png"}, refuted=("Proposition 5 (2)",))
    assert "Not reproduced" in text and "vetoes" in text


@pytest.mark.slow
def test_robust_mechanisms_reproduction_all_claims_hold(tmp_path):
    reproduced("robust-mechanisms", tmp_path, {"figure_1_2_worst_case_distributions.png",
                                               "figure_1_4_lottery_vs_auction.png", "figure_1_5_delta.png",
                                               "chapter_2_regret_vs_grid.png"})
