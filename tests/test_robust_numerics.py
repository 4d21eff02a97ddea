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
from agora.market.robust.lp import GridError, lp_variables, value_grid, worst_case_revenue
from agora.market.robust.mechanisms import HighestBidderLottery, MarkovSet, best_reserve, hbl_sigma
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


def _rel(x: float, ref: Decimal) -> float:
    return float(abs(Decimal(x) - ref) / abs(ref))


@pytest.mark.parametrize("mu", [1e-20, 1e-12, 1e-3, 0.3])
def test_best_reserve_is_exact_for_tiny_means(mu):
    b = best_reserve(MarkovSet(2, mu))
    ref = _decimal_reserve(mu)
    assert _rel(b.reserve, ref) < 1e-12
    assert _rel(b.revenue, 2 * ref * ref) < 1e-12


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


def test_range_only_vickrey_faces_its_true_worst_case_regret():
    """Vickrey without reserve: one bidder at v̄, the others at 0, regret v̄ (not E of a random high value)."""
    model = RobustMarketModel(bidders=3, knowledge=Knowledge(2.0), rule="vickrey", rng=1)
    ex = exact(model.seller.mechanism, model.nature.generator)
    assert ex == {"revenue": 0.0, "regret": 2.0}
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


def test_worst_case_grid_guard_refuses_with_estimate_and_largest_grid():
    ambiguity = MarkovSet(6, 0.5)
    mech = choose_mechanism(Knowledge(1.0, 0.5), "best-reserve", 6)
    with pytest.raises(GridError) as err:
        worst_case_revenue(mech, ambiguity, 31)
    msg = str(err.value)
    assert "GB" in msg and " s and" in msg
    fits = int(msg.rsplit("has ", 1)[1].split()[0])
    added = len(value_grid(31, 1.0, extra=(0.5,), breakpoints=mech.breakpoints())) - 31  # mean, reserve
    assert lp_variables(fits + added, 6, True) <= 250_000 < lp_variables(fits + 1 + added, 6, True)


def test_cli_grid_guard_is_one_line_exit_2(capsys):
    code, out, err = run_cli(capsys, "solve", "robust", "--bidders", "6", "--mean", "0.5", "--grid", "31")
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "largest grid that fits" in err
