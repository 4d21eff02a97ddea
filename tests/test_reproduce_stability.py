"""The equilibrium-selection report's stochastic-stability section: every check holds."""

from agora.experiments.reproduce.report import PROVENANCE
from agora.experiments.reproduce.selection_stability import stochastic_stability


def test_stochastic_stability_section(tmp_path):
    section = stochastic_stability(tmp_path)
    failed = [(c.instance, c.quantity, c.paper, c.measured) for c in section.checks if not c.holds]
    assert not failed
    assert len(section.checks) >= 10
    assert all(c.provenance in PROVENANCE and c.source for c in section.checks)
    assert (tmp_path / "stationary_plane.png").stat().st_size > 1000
    assert (tmp_path / "split_vs_sample_ratio.png").stat().st_size > 1000


def test_two_intermediary_stability_section():
    from agora.experiments.reproduce.selection_k_stability import k_item_stability

    section = k_item_stability()
    failed = [(c.instance, c.quantity, c.paper, c.measured) for c in section.checks if not c.holds]
    assert not failed and len(section.checks) == 5
    assert all(c.provenance in PROVENANCE and c.source for c in section.checks)
