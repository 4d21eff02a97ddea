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


def test_seller_learning_stability_section(tmp_path):
    """Three players on 11, 21 and 31 prices for both splits of the buyers, and the exact chain on 5."""
    from agora.experiments.reproduce.selection_k_stability import seller_learning_stability

    section = seller_learning_stability(tmp_path)
    failed = [(c.instance, c.quantity, c.paper, c.measured) for c in section.checks if not c.holds]
    assert not failed and len(section.checks) == 13
    assert all(c.provenance in PROVENANCE and c.source for c in section.checks)
    assert (tmp_path / "k_items_three_player_conventions.png").stat().st_size > 1000
    stable = [c.measured for c in section.checks if c.quantity == "stochastically stable conventions"]
    assert stable[:2] == ["[(0.4, 0.3, 0.3)]"] * 2  # blocks 2|2, 11 and 21 prices: the seller's higher price


def test_q_learning_section():
    """Fewer sessions and periods than the report's: the references and the dominant price do not depend on them."""
    from agora.experiments.reproduce.selection_qlearning import q_learning

    section = q_learning(4, {"alpha": 0.3, "beta": 2e-3, "delta": 0.95, "periods": 20_000, "window": 1_000})
    failed = [(c.instance, c.quantity, c.paper, c.measured) for c in section.checks if not c.holds]
    assert not failed and len(section.checks) == 3
    assert all(c.provenance in PROVENANCE and c.source for c in section.checks)
    assert "| posted fees, 4 buyers, 2 items | 1.00 |" in section.extra
