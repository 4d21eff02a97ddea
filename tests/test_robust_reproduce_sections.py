"""Example 1.2.2 of the robust-mechanisms reproduction (the whole run is a slow test)."""

import pytest

from agora.experiments.reproduce.robust_mechanisms import (
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


@pytest.mark.slow
def test_dual_certificate_section_holds_with_provenance():
    section = dual_certificates()
    assert section.checks and all(c.holds for c in section.checks)
    assert all(c.provenance and c.source for c in section.checks)


def test_support_only_section_holds_with_lp_provenance():
    section = support_only()
    assert len(section.checks) == 19 and all(c.holds for c in section.checks)
    assert all(c.provenance in ("independent", "bound") and c.source for c in section.checks)
    assert sum("linear program (HiGHS) vs brute force" in c.source for c in section.checks) == 5
