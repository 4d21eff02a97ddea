"""Mutation tests: a 1% error in a report's central computation turns its rows to "fails".

Each test perturbs one computation the report rests on, runs one section of the report (a
few seconds), and names the rows that must catch the error; the same section unperturbed holds.
"""

import dataclasses
import math

import numpy as np
import pytest

from agora.experiments.reproduce import (
    intermediary_proof,
    monopolist_claims,
    robust_mechanisms,
    selection_k_items,
    seller_first,
    selling_to_a_group,
)
from agora.experiments.reproduce.equilibrium_selection import Runner
from agora.experiments.runner import make_executor
from agora.market.learning.k_selection import KItemMarket
from agora.market.robust import mechanisms as robust_core
from agora.market.single_item.scores import MaxScoreLaw


def _verdicts(section, quantity_part: str) -> list[bool]:
    rows = [c.holds for c in section.checks if quantity_part in c.quantity]
    assert rows, f"no row whose quantity contains {quantity_part!r}"
    return rows


def test_seller_first_catches_a_1pc_error_in_the_law_of_the_highest_virtual_value(monkeypatch):
    assert all(c.holds for c in seller_first.theorem_3_4().checks)
    original = MaxScoreLaw.prob_at_least
    monkeypatch.setattr(MaxScoreLaw, "prob_at_least", lambda self, c: 1.01 * original(self, c))
    section = seller_first.theorem_3_4()
    assert not any(_verdicts(section, "seller's best revenue = max(eps"))  # Theorem 3.4, every instance
    assert not any(_verdicts(section, "OPT (no intermediary)"))
    assert not any(_verdicts(section, "intermediary's revenue = 1 - eps"))  # Corollary 3.5


def test_intermediary_proof_catches_a_1pc_error_in_the_optimal_competition_revenue(monkeypatch):
    # unperturbed, the section holds (tests/test_reproduce_ipm.py)
    original = intermediary_proof.myerson_auction_revenue
    monkeypatch.setattr(intermediary_proof, "myerson_auction_revenue", lambda *a: 1.01 * original(*a))
    section = intermediary_proof.proposition_4()
    assert not any(_verdicts(section, "Rev_C = n E[(v - 1)^+] = n / e"))  # Proposition 1, k = n = 4, 8, 12


def test_selling_to_a_group_catches_a_1pc_error_in_the_voting_weights(monkeypatch, tmp_path):
    assert all(c.holds for c in selling_to_a_group.example_1(tmp_path).checks)
    original = selling_to_a_group.solve_group

    def tilted(*args, **kwargs):
        sol = original(*args, **kwargs)
        w1 = 1.01 * sol.weights[0]
        return dataclasses.replace(sol, weights=type(sol.weights)((w1, 1 - w1)))

    monkeypatch.setattr(selling_to_a_group, "solve_group", tilted)
    section = selling_to_a_group.example_1(tmp_path)
    assert _verdicts(section, "omega_1 = sqrt(3/7)") == [False]
    assert _verdicts(section, "trades iff w1 t1 + w2 t2 >= 1 + w2/2") == [False]
    assert _verdicts(section, "E[phi_1 x] - E[phi_2 x] = 0") == [False]


def test_robust_mechanisms_catches_a_1pc_error_in_the_lotterys_threshold(monkeypatch):
    """The lottery's threshold r (its worst-case revenue, Theorem 1.5.3) off by 1%."""
    assert all(c.holds for c in robust_mechanisms.theorem_1_5_5().checks)
    original = robust_core.hbl_log_threshold
    monkeypatch.setattr(robust_core, "hbl_log_threshold", lambda n, mu: original(n, mu) + math.log(1.01))
    section = robust_mechanisms.theorem_1_5_5()
    assert not any(_verdicts(section, "lottery revenue vs root of (1.30)"))  # Theorem 1.5.3, ten (I, mu)
    assert not any(_verdicts(section, "lottery: closed form vs LP"))  # the LP (1.7) at I = 2


def test_monopolist_intermediary_catches_a_1pc_error_in_the_law_of_the_highest_virtual_value(monkeypatch):
    assert all(c.holds for c in monopolist_claims.theorem_2_3().checks)
    original = MaxScoreLaw.prob_at_least
    monkeypatch.setattr(MaxScoreLaw, "prob_at_least", lambda self, c: 1.01 * original(self, c))
    section = monopolist_claims.theorem_2_3()
    # Theorem 2.3: the exact revenue of the posted price p(M) against M's simulated outcomes, four mechanisms
    assert not any(_verdicts(section, "seller revenue under M (Monte Carlo of M's outcomes)"))
    assert all(_verdicts(section, "p(M): least winning payment"))  # brute force does not use the law


def test_equilibrium_selection_catches_a_1pc_error_in_the_k_item_payoffs(monkeypatch, tmp_path):
    """Scaling every payoff moves no best response, so the learning rows hold; the exact rows must not."""
    original = KItemMarket.payoffs
    monkeypatch.setattr(KItemMarket, "payoffs",
                        lambda self, *p: tuple(1.01 * np.asarray(x) for x in original(self, *p)))
    with make_executor("serial") as pool:
        section, _ = selection_k_items.k_items(Runner(pool.executor, 2, 80), tmp_path)
    assert _verdicts(section, "exact vs 200000 drawn rounds") == [False]
    assert _verdicts(section, "seller first (Stackelberg): prices and the seller's revenue") == [False]


def test_selling_to_a_group_section_6_3_rejects_weights_ranked_by_the_cost_shares(monkeypatch):
    """Weights equal to the cost shares (larger share, larger weight) break Theorem 2's order."""
    from types import SimpleNamespace

    monkeypatch.setattr(selling_to_a_group, "solve_fixed_shares",
                        lambda values, shares, *a, **k: SimpleNamespace(weights=tuple(shares), trivial=None))
    section = selling_to_a_group.section_6_3()
    assert not any(_verdicts(section, "the smaller share gets the larger weight"))
    assert not any(_verdicts(section, "omega_1"))
    assert not any(_verdicts(section, "omega_i >= omega_j / alpha_ij"))  # every committee


@pytest.mark.slow
def test_section_3_structures_catch_a_1pc_error_in_the_exact_revenue(monkeypatch):
    """Every structure of 4 buyers, k = 2: a 1% error in the exact revenue of the law of all bids fails
    the competition row (Proposition 1, 1e-9) and the monopsony row (Proposition 2, 1e-9) and at least
    one row against the Monte Carlo of the strategies; unperturbed every row holds."""
    from agora.market.k_items import equilibrium

    clean = intermediary_proof.section_3_structures(4, 2)
    assert clean.checks and all(c.holds for c in clean.checks)
    original = equilibrium.seller_terms
    monkeypatch.setattr(equilibrium, "seller_terms", lambda *a: (1.01 * original(*a)[0], original(*a)[1]))
    section = intermediary_proof.section_3_structures(4, 2)
    assert not any(_verdicts(section, "revenue under competition"))
    assert not any(_verdicts(section, "monopsony revenue"))
    assert not all(_verdicts(section, "against Monte Carlo"))


def test_intermediary_proof_catches_a_1pc_error_in_the_growing_fee_revenue(monkeypatch):
    """Equation 1 with alpha = 1/(1 + x): the exact revenue 1% high fails all three Monte Carlo rows."""
    assert all(c.holds for c in intermediary_proof._growing_fee_cross_checks())
    original = intermediary_proof.posted_revenue
    monkeypatch.setattr(intermediary_proof, "posted_revenue", lambda *a: 1.01 * original(*a))
    assert not any(c.holds for c in intermediary_proof._growing_fee_cross_checks())


def test_intermediary_proof_catches_a_1pc_error_in_the_fee_contract_revenue(monkeypatch):
    """Equation 1 with a share free of the deal: simulated revenue 1% low fails every partition's row."""
    assert all(c.holds for c in intermediary_proof.fee_contracts().checks)
    original = intermediary_proof.simulate_menu

    def low(*args):
        est = original(*args)
        return dataclasses.replace(est, mean={**est.mean, "revenue": 0.99 * est.mean["revenue"]})

    monkeypatch.setattr(intermediary_proof, "simulate_menu", low)
    assert not any(_verdicts(intermediary_proof.fee_contracts(), "revenue at p_R"))
