"""Robust sellers in the simulator: exact, vectorized Monte Carlo and agent-based evaluators agree.

Monte Carlo uses 200,000 rounds, the agent-based model 1,500-3,000 rounds;
agreement is held to 4 standard errors (exactly, where the outcome is not random).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from agora.market.errors import InputError
from agora.market.robust.adversaries import (
    EqualRevenueLimit,
    Independent,
    OneRandomHigh,
    extremal,
    from_worst_case,
    point_mass,
)
from agora.market.robust.evaluation import estimate_from_rounds, exact, monte_carlo
from agora.market.robust.lp import worst_case_revenue
from agora.market.robust.mechanisms import (
    DeterministicPrices,
    HighestBidderLottery,
    MarkovSet,
    RandomPostedPrice,
    best_reserve,
)
from agora.market.robust.solver import Knowledge, choose_mechanism, solve_pricing
from agora.models.robust_model import RobustMarketModel

SIGMAS = 4.0
MC_ROUNDS = 200_000

LOTTERY_R = 0.3178444328993727
CASES = [  # (model kwargs, ABM rounds, quantity, the thesis' value)
    (dict(rule="lottery"), 1500, "revenue", LOTTERY_R),
    (dict(rule="lottery-pay-on-win"), 3000, "revenue", LOTTERY_R),
    (dict(rule="best-reserve"), 3000, "revenue", 2 * (1 - math.sqrt(0.5)) ** 2),
    (dict(rule="random-reserve", bidders=3, knowledge=Knowledge(2.0)), 3000, "regret", 2 / math.e),
    (dict(protocol="seller-first", bidders=1, knowledge=Knowledge(1.0, cost=0.2)), 3000, "regret",
     0.8 / math.e),
    (dict(protocol="seller-first", bidders=1, rule="deterministic-price", knowledge=Knowledge(1.0, cost=0.2)),
     1500, "regret", 0.4),
]


def _run(model, rounds):
    for _ in range(rounds):
        model.step()
    df = model.rounds()
    return estimate_from_rounds(df.revenue, df.regret, df.sale)


def _agrees(est, field, value):
    se = getattr(est, f"{field}_se")
    return abs(getattr(est, field) - value) <= SIGMAS * se + 1e-8


@pytest.mark.parametrize("kwargs,rounds,field,paper", CASES)
def test_three_evaluators_agree_against_the_thesis_adversary(kwargs, rounds, field, paper):
    model = RobustMarketModel(rng=11, **kwargs)
    mech, nature = model.seller.mechanism, model.nature.generator
    ex = exact(mech, nature)
    assert ex[field] == pytest.approx(paper, abs=1e-7)
    mc = monte_carlo(mech, nature, MC_ROUNDS, np.random.default_rng(5))
    assert _agrees(mc, field, ex[field]), (mc, ex)
    abm = _run(model, rounds)
    assert _agrees(abm, field, ex[field]), (abm, ex)
    assert _agrees(abm, "revenue", ex["revenue"]) and _agrees(abm, "regret", ex["regret"])


def test_message_log_of_an_auction_round():
    model = RobustMarketModel(rule="lottery", rng=3)
    model.step()
    kinds = model.message_log()["kind"].tolist()
    assert kinds[0] == "Commit" and kinds.count("Bid") == 2 and "Payment" in kinds
    assert model.seller.cumulative_revenue == pytest.approx(LOTTERY_R)


def test_the_lottery_earns_at_least_its_guarantee_against_other_natures():
    a = MarkovSet(2, 0.5)
    lottery = HighestBidderLottery.optimal(a)
    for nature in (extremal(best_reserve(a).reserve, a), extremal(0.1, a), extremal(0.45, a)):
        assert exact(lottery, nature)["revenue"] >= lottery.worst_case_revenue - 1e-9
    honest = Independent(("uniform:0,1", "uniform:0,1"))  # means 0.5: inside the Markov set
    mc = monte_carlo(lottery, honest, MC_ROUNDS, np.random.default_rng(2))
    assert mc.revenue + SIGMAS * mc.revenue_se >= lottery.worst_case_revenue
    abm = _run(RobustMarketModel(rule="lottery", nature=honest, rng=4), 1500)
    gap = abs(abm.revenue - mc.revenue)
    assert gap <= SIGMAS * math.hypot(abm.revenue_se, mc.revenue_se)


def test_nature_can_play_the_worst_case_an_lp_found():
    a = MarkovSet(3, 0.5)
    mech = best_reserve(a).mechanism()
    w = worst_case_revenue(mech, a, 41)
    nature = from_worst_case(w)
    assert exact(mech, nature)["revenue"] == pytest.approx(w.value, abs=1e-9)
    assert np.all(nature.atoms.mean() >= 0.5 - 1e-9)


def test_one_random_high_makes_the_vickrey_auction_earn_nothing():
    nature = OneRandomHigh(1.0, 3)
    vickrey = choose_mechanism(Knowledge(1.0), "vickrey", 3)
    assert exact(vickrey, nature)["revenue"] == 0.0
    assert exact(vickrey, nature)["regret"] == pytest.approx(2 / math.e, abs=1e-9)  # E[high value]


UPPER, COST = [1.0, 1.0], [0.2, 1.5]  # item 2 costs more than any value: off sale (Remark 2.3.1)


def test_equal_revenue_limit_attains_the_brute_force_worst_case_with_an_item_off_sale():
    """Nature's P* (2.10) earns the random price's worst regret, (1/e) Σ (v̄_j - c_j)^+ = 0.8/e."""
    rule = RandomPostedPrice.of(UPPER, COST)
    axes = [np.linspace(0.0, u, 201) for u in UPPER]
    grid = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, 2)
    brute = rule.regret(grid).max()
    assert brute == pytest.approx(0.8 / math.e, rel=1e-9)
    nature = EqualRevenueLimit.of(UPPER, COST)
    assert exact(rule, nature)["regret"] == pytest.approx(brute, abs=1e-9)
    mc = monte_carlo(rule, nature, MC_ROUNDS, np.random.default_rng(7))
    assert _agrees(mc, "regret", brute) and np.isfinite(mc.revenue)


def test_no_posted_prices_beat_the_equal_revenue_limit_with_an_item_off_sale():
    """P* is nature's equilibrium strategy: every price pair on a grid has expected regret >= 0.8/e."""
    nature = EqualRevenueLimit.of(UPPER, COST)
    regrets = np.array([[exact(DeterministicPrices((p0, p1), tuple(COST)), nature)["regret"]
                         for p1 in (0.5, 1.0, 1.5, 2.0)] for p0 in np.linspace(0.1, 1.0, 19)])
    assert regrets.min() == pytest.approx(0.8 / math.e, abs=1e-6)  # prices on P*'s support
    assert np.all(regrets >= 0.8 / math.e - 1e-6)
    # item 2 (value v̄_2 = 1 under P*) sold at p1 <= 1 loses its cost minus p1; unsold above 1
    np.testing.assert_allclose(regrets - regrets[:, 2:3], np.tile([1.0, 0.5, 0.0, 0.0], (19, 1)), atol=1e-9)


def test_a_seller_whose_cost_exceeds_the_range_never_sells():
    model = RobustMarketModel("seller-first", 1, Knowledge(1.0, cost=1.5), rng=2)
    assert model.seller.mechanism.worst_case_regret == 0.0  # (1/e)(v̄ - c)^+, Remark 2.3.1
    assert exact(model.seller.mechanism, model.nature.generator) == {"revenue": 0.0, "regret": 0.0}
    for _ in range(50):
        model.step()
    df = model.rounds()
    assert not df.sale.any() and (df.revenue == 0).all() and (df.regret == 0).all()


def test_default_choices_follow_the_knowledge():
    assert type(choose_mechanism(Knowledge(1.0, 0.5), None, 2)).__name__ == "HighestBidderLottery"
    assert type(choose_mechanism(Knowledge(1.0), None, 2)).__name__ == "RandomReserveAuction"
    assert type(choose_mechanism(Knowledge(1.0), None, 1)).__name__ == "RandomPostedPrice"
    assert point_mass([0.5, 0.5]).columns == 2


@pytest.mark.parametrize("call,match", [
    (lambda: choose_mechanism(Knowledge(1.0), "lottery", 2), "needs a bound on the mean"),
    (lambda: choose_mechanism(Knowledge(1.0), "auction!", 2), "unknown seller rule"),
    (lambda: choose_mechanism(Knowledge(1.0), "random-price", 3), "one counterpart"),
    (lambda: Knowledge(1.0, cost=-0.1), "cost must be a finite number >= 0"),
    (lambda: Knowledge(1.0, cost=math.inf), "cost must be a finite number >= 0"),
    (lambda: EqualRevenueLimit.of([1.0], [math.nan]), "finite c >= 0"),
    (lambda: solve_pricing((1.0, 2.0, 3.0), (0.2, 0.3)), "2 costs need one upper bound or 2, got 3"),
    (lambda: solve_pricing((1.0,), ()), "at least one item's cost"),
    (lambda: Knowledge(-1.0), "upper bound"),
    (lambda: RobustMarketModel(protocol="seller-first", bidders=2), "one counterpart"),
    (lambda: RobustMarketModel(protocol="simultaneous"), "unknown protocol"),
    (lambda: RobustMarketModel(bidders=3, nature=point_mass([0.5, 0.5])), "draws 2 values"),
    (lambda: exact(choose_mechanism(Knowledge(1.0), "vickrey", 2), Independent(("uniform:0,1",) * 2)),
     "no exact expectation"),
])
def test_bad_setups_are_refused(call, match):
    with pytest.raises(InputError, match=match):
        call()
