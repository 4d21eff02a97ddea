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


def test_q_learning_section():
    """Fewer sessions and periods than the report's: the references and the dominant price do not depend on them."""
    from agora.experiments.reproduce.selection_qlearning import q_learning

    section = q_learning(4, {"alpha": 0.3, "beta": 2e-3, "delta": 0.95, "periods": 20_000, "window": 1_000})
    failed = [(c.instance, c.quantity, c.paper, c.measured) for c in section.checks if not c.holds]
    assert not failed and len(section.checks) == 3
    assert all(c.provenance in PROVENANCE and c.source for c in section.checks)
    assert "| posted fees, 4 buyers, 2 items | 1.00 |" in section.extra
