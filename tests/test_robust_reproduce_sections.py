"""Example 1.2.2 of the robust-mechanisms reproduction (the whole run is a slow test)."""

from agora.experiments.reproduce.robust_mechanisms import example_1_2_2


def test_example_1_2_2_section_holds():
    section = example_1_2_2()
    assert section.checks and all(c.holds for c in section.checks)
    assert "maxmin" not in section.text.split("Violations found:")[1]

