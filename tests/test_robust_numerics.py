"""Numerically delicate corners of the thesis' closed forms, against exact arithmetic.

References are computed with Python's ``decimal`` at 60 digits (bisection on
the thesis' own equations), independent of the floating-point formulas.
"""

from __future__ import annotations

from decimal import Decimal, localcontext

import numpy as np
import pytest
from cli_run import run_cli

from agora.market.robust.evaluation import exact
from agora.market.robust.lp import (
    MAX_VARIABLES,
    GridError,
    lp_variables,
    value_grid,
    worst_case_revenue,
)
from agora.market.robust.mechanisms import (
    HighestBidderLottery,
    MarkovSet,
    SecondPriceReserve,
    best_reserve,
    hbl_sigma,
    spa_extremal_distribution,
    spa_region,
    spa_worst_case_revenue,
)
from agora.market.robust.solver import Knowledge, choose_mechanism
from agora.models.robust_model import RobustMarketModel


def _decimal_reserve(mu: float) -> Decimal:
    """1 - sqrt(1 - μ) with 60 significant digits (Theorem 1.5.2)."""
    with localcontext() as ctx:
        ctx.prec = 60
        return 1 - (1 - Decimal(mu)).sqrt()


def _decimal_lottery(bidders: int, mu: float) -> tuple[Decimal, Decimal]:
    """(σ*, r) from (1.30), (1 + σ)/(Iσ) e^{I - 1 - 1/σ} = μ, bisected in σ on (0, 1/(I-1)) at 60 digits."""
    with localcontext() as ctx:
        ctx.prec = 60
        target, n = Decimal(mu), Decimal(bidders)

        def lhs(s):
            return (1 + s) / (n * s) * (n - 1 - 1 / s).exp()
        lo, hi = Decimal("1e-30"), 1 / (n - 1)
        for _ in range(400):  # lhs increases in σ (Lemma 1.7.8)
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if lhs(mid) < target else (lo, mid)
        sigma = (lo + hi) / 2
        return sigma, (n - 1 - 1 / sigma).exp()


def _decimal_lambertw_threshold(bidders: int, mu: float) -> Decimal:
    """r = e^{I - 1 - 1/σ*} with σ* = -1/(W₋₁(-μ I e^{-I}) + 1) (Theorem 1.5.3) at 80 digits.

    With t = -W₋₁ > 1, t - ln t = I - ln(μ I) (Newton from t = c + ln c), and
    1/σ* = t - 1, so r = e^{I - t}: the printed formula, not the root of (1.30).
    """
    with localcontext() as ctx:
        ctx.prec = 80
        n = Decimal(bidders)
        c = n - (Decimal(mu) * n).ln()
        t = c + c.ln()
        for _ in range(100):
            t -= (t - t.ln() - c) / (1 - 1 / t)
        assert abs(t - t.ln() - c) < Decimal("1e-60")
        return (n - t).exp()


def _rel(x: float, ref: Decimal) -> float:
    return float(abs(Decimal(x) - ref) / abs(ref))


@pytest.mark.parametrize("mu", [1e-20, 1e-12, 1e-3, 0.3])
def test_best_reserve_is_exact_for_tiny_means(mu):
    b = best_reserve(MarkovSet(2, mu))
    ref = _decimal_reserve(mu)
    assert _rel(b.reserve, ref) < 1e-12
    assert _rel(b.revenue, 2 * ref * ref) < 1e-12


@pytest.mark.parametrize("bidders", [2, 3, 10])
@pytest.mark.parametrize("share", [0.25, 0.5, "best"])
def test_spa_worst_case_revenue_for_a_tiny_mean_against_exact_arithmetic(bidders, share):
    """μ = 1e-20: I r(μ - r)/(1 - r) of Proposition 1.5.6 (r <= μ < 1/I is region R2), at 60 digits,
    and the worst-case atoms Q_ε^(2) still below the reserve: their revenue is that closed form."""
    mu = 1e-20
    a = MarkovSet(bidders, mu)
    r = best_reserve(a).reserve if share == "best" else share * mu
    assert spa_region(r, a) == "R2"
    with localcontext() as ctx:
        ctx.prec = 60
        dr, dmu = (_decimal_reserve(mu) if share == "best" else Decimal(r)), Decimal(mu)
        ref = bidders * dr * (dmu - dr) / (1 - dr)
    assert _rel(spa_worst_case_revenue(r, a), ref) < 1e-12
    q = spa_extremal_distribution(r, a)
    assert np.all(q.mean() >= mu * (1 - 1e-12))
    assert _rel(q.expect(SecondPriceReserve(r).revenue), ref) < 1e-8  # ε = 1e-9 of the reserve away


@pytest.mark.parametrize("bidders,mu", [(2, 1e-20), (3, 1e-20), (2, 0.3), (5, 0.5)])
def test_lottery_sigma_and_threshold_against_exact_arithmetic(bidders, mu):
    sigma, r = _decimal_lottery(bidders, mu)
    h = HighestBidderLottery.optimal(MarkovSet(bidders, mu))
    assert _rel(h.sigma, sigma) < 1e-12
    assert _rel(h.threshold, r) < 1e-12
    assert _rel(hbl_sigma(bidders, mu, "bracket")[0], sigma) < 1e-12


@pytest.mark.parametrize("bidders", [10**4, 10**7, 10**9])
def test_lottery_revenue_for_huge_populations_is_accurate_and_below_the_mean(bidders):
    mu = 0.5
    h = HighestBidderLottery.optimal(MarkovSet(bidders, mu))
    _, r = _decimal_lottery(bidders, mu)
    assert h.worst_case_revenue <= mu  # Proposition 1.5.3
    assert (bidders * mu - 1) / (bidders - 1) <= h.threshold  # the lottery beats Vickrey's worst case (1.45)
    assert _rel(h.threshold, r) < 1e-12
    assert h.upper_bound == mu  # min(μ, r(2 - r)) with r -> μ


@pytest.mark.parametrize("bidders,mu", [(10**7, 0.5), (10**9, 0.5), (10**12, 0.5), (10**9, 0.1), (10**12, 1e-3)])
def test_lottery_revenue_for_huge_populations_matches_the_lambert_w_formula_and_stays_below_the_mean(bidders, mu):
    h = HighestBidderLottery.optimal(MarkovSet(bidders, mu))
    ref = _decimal_lambertw_threshold(bidders, mu)
    assert ref < Decimal(mu)  # Proposition 1.5.3 holds for the exact value too
    assert h.worst_case_revenue <= mu
    assert _rel(h.worst_case_revenue, ref) < 1e-10


@pytest.mark.parametrize("bidders,points", [(2, 41), (3, 21), (4, 11)])
def test_range_only_vickrey_faces_its_true_worst_case_regret(bidders, points):
    """Vickrey without reserve: its default adversary attains the largest regret max_i v_i - revenue
    found by brute force over every profile of a grid on [0, v̄]^I (v̄ = 2: one bidder at v̄)."""
    model = RobustMarketModel(bidders=bidders, knowledge=Knowledge(2.0), rule="vickrey", rng=1)
    g = np.linspace(0.0, 2.0, points)
    v = np.stack(np.meshgrid(*[g] * bidders), -1).reshape(-1, bidders)
    brute = float(np.max(v.max(axis=1) - model.seller.mechanism.revenue(v)))
    assert brute == 2.0
    ex = exact(model.seller.mechanism, model.nature.generator)
    assert ex == {"revenue": 0.0, "regret": brute}
    for _ in range(5):
        model.step()
    assert list(model.rounds().regret) == [2.0] * 5


@pytest.mark.parametrize("reserve,regret", [(0.3, 0.7), (0.8, 0.8 - 1e-9)])
def test_range_only_reserve_auction_adversary_attains_max_of_r_and_vbar_minus_r(reserve, regret):
    from agora.market.robust.mechanisms import SecondPriceReserve
    from agora.models.robust_model import worst_nature
    mech = SecondPriceReserve(reserve)
    nature = worst_nature(mech, Knowledge(1.0), 2)
    assert exact(mech, nature)["regret"] == pytest.approx(regret, abs=1e-15)
    # no profile on a fine grid does worse (brute force over [0, 1]^2)
    g = np.linspace(0, 1, 401)
    v = np.stack(np.meshgrid(g, g), -1).reshape(-1, 2)
    assert np.max(v.max(axis=1) - mech.revenue(v)) <= regret + 1e-9


def _guard_size(grid: int, bidders: int = 6) -> int:
    """(1.7)'s variables for the best-reserve auction's LP on a ``grid``-point request (brute count)."""
    mech = choose_mechanism(Knowledge(1.0, 0.5), "best-reserve", bidders)
    g = value_grid(grid, 1.0, extra=(0.5,), breakpoints=mech.breakpoints())  # gains μ and the reserve if absent
    return lp_variables(len(g), bidders, True)


@pytest.mark.parametrize("grid", [22, 31])
def test_worst_case_grid_guard_refuses_with_estimate_and_largest_grid(grid):
    """The reported grid is the largest request whose LP fits: checked against every request up to 60."""
    mech = choose_mechanism(Knowledge(1.0, 0.5), "best-reserve", 6)
    with pytest.raises(GridError) as err:
        worst_case_revenue(mech, MarkovSet(6, 0.5), grid)
    msg = str(err.value)
    assert "GB" in msg and " s and" in msg
    fits = int(msg.rsplit("has ", 1)[1].split()[0])
    assert fits == max(n for n in range(2, 61) if _guard_size(n) <= MAX_VARIABLES) == 21


def test_cli_grid_guard_is_one_line_exit_2(capsys):
    code, out, err = run_cli(capsys, "solve", "robust", "--bidders", "6", "--mean", "0.5", "--grid", "31")
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "largest grid that fits" in err and "Traceback" not in err
    fits = int(err.rsplit("has ", 1)[1].split()[0])
    assert fits == max(n for n in range(2, 61) if _guard_size(n) <= MAX_VARIABLES)
    assert f"{lp_variables(31, 6, True):,} LP variables" in err  # C(36, 6) orbits of a 31-point grid
