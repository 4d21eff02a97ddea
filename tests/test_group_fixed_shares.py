"""Section 6.3: with fixed cost shares the weights follow Theorem 2 on the laws of theta_i = v_i / sigma_i.

The expected orders are computed here from the theorem's premises: the scale lam_i = s_i / sigma_i
of proportional laws (Example 2), and for uniform laws with low types the smallest alpha whose
hazard-rate order phi_i <=_hr alpha phi_j holds on a fine grid of survival functions (Definition 7).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate, optimize

from agora.experiments.reproduce.selling_to_a_group import _example_3_alpha
from agora.market.group.variants import solve_fixed_shares

FAMILIES = {"uniform": "uniform:0,{s:g}", "exponential": "exponential:{s:g}"}


def shares_from(rng: np.random.Generator, n: int) -> list[float]:
    raw = 0.05 + (1 - 0.05 * n) * rng.dirichlet(np.ones(n))
    return (raw / raw.sum()).tolist()


@pytest.mark.parametrize("family,n,seed", [("uniform", 3, 1), ("uniform", 4, 2), ("exponential", 3, 3),
                                           ("exponential", 4, 4)])
def test_weights_times_scales_fall_with_the_scale(family, n, seed):
    """Example 2 on theta_i = (s_i / sigma_i) V: lam_i <= lam_j => omega_i lam_i >= omega_j lam_j."""
    rng = np.random.default_rng(seed)
    scales = rng.uniform(0.5, 3.0, n)
    shares = shares_from(rng, n)
    sol = solve_fixed_shares([FAMILIES[family].format(s=s) for s in scales], shares, 0.1)
    assert sol.trivial is None
    lam = scales / np.array(shares)
    order = np.argsort(lam)
    influence = (np.array(sol.weights) * lam)[order]
    assert np.all(np.diff(influence) <= 1e-6), (lam[order], influence)


def hazard_rate_ordered(phi_i: tuple[float, float], phi_j: tuple[float, float], alpha: float) -> bool:
    """phi_i <=_hr alpha phi_j (Definition 7) for phi ~ U[a, b], on 2001 points below sup phi_i."""
    (a_i, b_i), (a_j, b_j) = phi_i, (alpha * phi_j[0], alpha * phi_j[1])
    if b_i > b_j + 1e-12:
        return False
    x = np.linspace(min(a_i, a_j) - 1.0, b_i, 2001)[:-1]
    surv_i = np.clip((b_i - x) / (b_i - a_i), 0.0, 1.0)
    surv_j = np.clip((b_j - x) / (b_j - a_j), 0.0, 1.0)
    return bool(np.all(np.diff(surv_j / surv_i) >= -1e-12))


def smallest_alpha(phi_i, phi_j) -> float | None:
    alphas = [a for a in np.linspace(1e-3, 1.0, 1000) if hazard_rate_ordered(phi_i, phi_j, a)]
    return alphas[0] if alphas else None


def test_uniform_laws_with_low_types_follow_the_hazard_rate_order():
    """Theorem 2 with alpha found from Definition 7 directly: omega_i >= omega_j / alpha for every ranked pair."""
    lows, highs, shares = [0.71, 0.47, 0.29], [2.97, 1.84, 1.97], [0.404, 0.171, 0.425]
    sol = solve_fixed_shares([f"uniform:{lo:g},{hi:g}" for lo, hi in zip(lows, highs)], shares, 0.1)
    theta = [(lo / s, hi / s) for lo, hi, s in zip(lows, highs, shares)]
    phi = [(2 * lo - hi, hi) for lo, hi in theta]  # phi(t) = 2 t - hi on U[lo, hi]
    w = np.array(sol.weights)
    ranked = 0
    for i in range(3):
        for j in range(3):
            alpha = smallest_alpha(phi[i], phi[j]) if i != j else None
            reported = _example_3_alpha(theta[i], theta[j]) if i != j else None
            assert (alpha is None) == (reported is None)
            if alpha is not None:
                ranked += 1
                assert reported == pytest.approx(alpha, abs=1e-3)  # the grid's spacing
                assert alpha * w[i] >= w[j] - 1e-6
    assert ranked == 3 and sol.trivial is None and w.max() < 1  # three ranked pairs, not a dictatorship


def test_cost_shares_and_theorem_2_disagree():
    """v ~ U[0,1], U[0,3], sigma = (0.3, 0.7): member 2 bears more of the cost, Theorem 2 ranks member 1 first.

    omega_1 = argmin over the simplex of E[(omega . phi)+] = E|omega . phi| / 2 (Theorem 1, c = 0),
    with phi_i = lam_i A_i, A_i ~ U[-1, 1], by quadrature and a bounded optimizer."""
    lam = np.array([1 / 0.3, 3 / 0.7])

    def mean_abs(w1: float) -> float:
        a, b = w1 * lam[0], (1 - w1) * lam[1]  # E|a A + b B| = E_A[E_B|y + b B|], y = a A

        def inner(y: float) -> float:
            return (y * y + b * b) / (2 * b) if abs(y) <= b else abs(y)

        return integrate.quad(lambda u: inner(a * u) / 2, -1, 1, points=[-b / a, b / a], epsabs=1e-13)[0]

    exact = optimize.minimize_scalar(mean_abs, bounds=(0.01, 0.99), method="bounded",
                                     options={"xatol": 1e-10}).x
    sol = solve_fixed_shares(["uniform:0,1", "uniform:0,3"], [0.3, 0.7])
    w = np.array(sol.weights)
    assert w[0] == pytest.approx(exact, abs=1e-6)
    assert w[0] / w[1] >= lam[1] / lam[0] - 1e-6 > 1  # Theorem 2 (Example 2)
    assert w[0] > w[1]  # against the order of the cost shares
