"""Example 1.2.2 of the robust-mechanisms reproduction (the whole run is a slow test)."""

import pytest

from agora.experiments.reproduce.robust_independent import independent_values
from agora.experiments.reproduce.robust_mechanisms import (
    _bundle_menu_checks,
    design_lps,
    dual_certificates,
    example_1_2_2,
    support_only,
)


def test_example_1_2_2_section_holds():
    section = example_1_2_2()
    assert section.checks and all(c.holds for c in section.checks)
    assert "maxmin" not in section.text.split("Violations found:")[1]



@pytest.mark.slow
def test_design_lp_section_holds_and_every_row_has_a_provenance(tmp_path):
    section = design_lps(tmp_path)
    assert section.checks and all(c.holds for c in section.checks)
    assert all(c.provenance and c.source for c in section.checks)
    assert (tmp_path / "design_lp_1_11.png").stat().st_size > 0
    assert (tmp_path / "design_lp_2_6.png").stat().st_size > 0
    assert (tmp_path / "design_lp_3_1.png").stat().st_size > 0


@pytest.mark.slow
def test_dual_certificate_section_holds_with_provenance():
    section = dual_certificates()
    assert section.checks and all(c.holds for c in section.checks)
    assert all(c.provenance and c.source for c in section.checks)


def test_support_only_section_holds_with_lp_provenance():
    section = support_only()
    assert len(section.checks) == 24 and all(c.holds for c in section.checks)
    assert all(c.provenance in ("independent", "bound") and c.source for c in section.checks)
    assert sum("linear program (HiGHS) vs brute force" in c.source for c in section.checks) == 5
    assert sum(c.result == "Corollary 1.3.1" for c in section.checks) == 5


@pytest.mark.slow
def test_independent_values_section_holds_with_provenance():
    section = independent_values()
    assert section.checks and all(c.holds for c in section.checks)
    assert all(c.provenance and c.source for c in section.checks)
    assert {c.result for c in section.checks} == {"Theorem 1.4.1", "Theorem 1.4.2", "Theorem 1.4.3"}


def test_bundle_menu_rows_hold_against_theorem_2_4_1():
    checks = _bundle_menu_checks()
    assert [c.provenance for c in checks] == ["bound", "paper-formula"] and all(c.holds for c in checks)
    assert all(c.paper == 1.65 and "Theorem 2.4.1" in c.source for c in checks)  # (1 - 0.2 + 3 - 0.5)/2
    assert checks[0].sense == ">=" and checks[0].measured > checks[0].paper
    assert abs(checks[1].measured - 1.65) <= 1e-6
