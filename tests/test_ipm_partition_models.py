"""Theorem 1 / Corollary 2 for intermediaries whose demand depends on the partition (Condition 3
with tau < 1), and fee contracts (Equation 1).

Exact revenues are checked against a direct simulation of the demand rule (four standard
errors, 200,000 rounds), the Mesa agents, and, on singletons, the surplus model's exact evaluator.
Theorem 1 over every partition is checked against a brute-force enumeration written here: every
set partition of n <= 8 buyers, every set of buyers above the price, uniform [0, 1] closed forms
for p_R and Wel(F); no convolution.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from agora.market.demand import bell_number, from_partition
from agora.market.distributions import parse_spec
from agora.market.errors import InputError
from agora.market.k_items.mechanisms import ItemMenu, ipm_price
from agora.market.k_items.montecarlo import simulate_menu
from agora.market.k_items.partition_models import (
    CapacityLimited,
    GrowingFee,
    ProportionalDemand,
    block_count,
    block_tau,
    integer_partitions,
    posted_revenue,
    sweep_partition_model,
    sweep_space,
)
from agora.market.k_items.solver import evaluate_posted
from agora.market.k_items.utility import BargainingShare, UtilityModel, measure_tau
from agora.models.market_model import MarketModel
from agora.protocols.posted_menu import PostedMenu

U = "uniform:0,1"


@pytest.mark.parametrize("n", range(1, 9))
def test_block_size_multisets_cover_every_partition(n):
    assert sum(block_count(s) for s in integer_partitions(n)) == bell_number(n)


@pytest.mark.parametrize("model,sizes", [(ProportionalDemand(0.5), (3, 2, 1)), (ProportionalDemand(0.3), (6,)),
                                         (CapacityLimited(1), (2, 2, 2)), (CapacityLimited(2), (4, 1, 1))])
def test_exact_revenue_matches_simulated_demand(model, sizes):
    """p_R E[min(sum_l g(D_l), k)] against 200,000 simulated rounds (uniform, n = 6, k = 3)."""
    dist = parse_spec(U)
    price, k, rows = ipm_price(U, 6, 3), 3, 200_000
    values = dist.rvs((rows, 6), np.random.default_rng(3))
    asked = np.zeros(rows, int)
    start = 0
    for b in sizes:
        d = (values[:, start:start + b] >= price).sum(axis=1)
        asked += np.ceil(model.tau * d - 1e-12).astype(int) if isinstance(model, ProportionalDemand) \
            else np.minimum(d, model.cap)
        start += b
    revenue = price * np.minimum(asked, k)
    exact = posted_revenue(U, sizes, k, price, model)
    assert abs(revenue.mean() - exact) <= 4 * revenue.std(ddof=1) / math.sqrt(rows)


@pytest.mark.parametrize("model", [ProportionalDemand(0.5), CapacityLimited(1)])
def test_singletons_buy_like_surplus_maximizers(model):
    """One buyer each: ceil(tau D) = min(D, cap) = D, the surplus model's exact revenue (1e-12)."""
    price = ipm_price(U, 6, 3)
    assert posted_revenue(U, (1,) * 6, 3, price, model) == \
        pytest.approx(evaluate_posted(U, (1,) * 6, 3, price).revenue, rel=1e-12)


def test_bad_models_rejected():
    with pytest.raises(InputError, match="tau"):
        ProportionalDemand(0.0)
    with pytest.raises(InputError, match="capacity"):
        CapacityLimited(0)


# -- Theorem 1 / Corollary 2 over every set partition, by brute force ------------------------

def set_partitions(items):
    """Every set partition of a list (Bell(len) of them), by placing the first item."""
    if not items:
        yield []
        return
    first, rest = items[0], items[1:]
    for part in set_partitions(rest):
        yield [[first], *part]
        for i in range(len(part)):
            yield [*part[:i], [first, *part[i]], *part[i + 1:]]


def brute_force_ratios(n, k, rule):
    """Revenue / Wel(F) and tau = min_l min_d g(d)/d on every set partition, U[0,1] buyers.

    p_R = E[max of s = ceil(n/k) uniforms] = s / (s + 1), q = 1 - p_R, Wel(F) = sum_{j<=k} (n+1-j)/(n+1);
    the revenue p_R E[min(sum_l g(|S & block_l|), k)] sums over all 2^n sets S of buyers above p_R.
    """
    s = -(-n // k)
    price = s / (s + 1)
    q = 1.0 - price
    wel = sum((n + 1 - j) / (n + 1) for j in range(1, k + 1))
    above = np.array(list(itertools.product((0, 1), repeat=n)))
    prob = q ** above.sum(axis=1) * (1 - q) ** (n - above.sum(axis=1))
    out = []
    for blocks in set_partitions(list(range(n))):
        asked = sum(rule(above[:, b].sum(axis=1)) for b in blocks)
        tau = min(min(rule(np.array([d]))[0] / d for d in range(1, len(b) + 1)) for b in blocks)
        out.append((price * float(prob @ np.minimum(asked, k)) / wel, tau))
    return out


RULES = {"ceil(D/2)": (ProportionalDemand(0.5), lambda d: -(-d // 2)),
         "min(D,1)": (CapacityLimited(1), lambda d: np.minimum(d, 1))}
INV_E = math.exp(-1.0)


@pytest.mark.parametrize("n,k", [(4, 2), (7, 3), (8, 2), (8, 3), (8, 4)])
@pytest.mark.parametrize("rule", sorted(RULES))
def test_theorem1_ratio_differs_across_partitions_and_beats_the_bound(n, k, rule):
    """Every one of the Bell(n) set partitions (n <= 8) by enumeration: the ratio spreads over the
    partitions (max - min > 0.03) and each stays above tau (1 - 1/e) c(0) / 2^[k∤n] with its own tau
    (U[0,1] is MHR: c = 1/e); the module's exact sweep has the same min and max (1e-12)."""
    model, g = RULES[rule]
    ratios = brute_force_ratios(n, k, g)
    assert len(ratios) == bell_number(n)
    half = 1.0 if n % k == 0 else 0.5
    assert all(r > tau * INV_E * (1 - INV_E) * half for r, tau in ratios)
    lo, hi = min(r for r, _ in ratios), max(r for r, _ in ratios)
    assert hi - lo > 0.03
    sweep = sweep_partition_model(U, n, k, model)
    assert (sweep.min_ratio, sweep.max_ratio) == pytest.approx((lo, hi), rel=1e-12, abs=0)
    assert sweep.structures == bell_number(n)
    assert sweep.worst.guarantee == pytest.approx(sweep.worst.tau * INV_E * (1 - INV_E) * half, rel=1e-12)


def test_tightest_instance_found_by_the_search_is_the_brute_force_one():
    """The least ratio - guarantee over U[0,1], 1 <= k <= n <= 5 and both rules, against enumeration."""
    models = [m for m, _ in RULES.values()]
    found = min(sweep_space([U], 5, models), key=lambda s: s.tightest.slack)
    best = min((r - tau * INV_E * (1 - INV_E) * (1.0 if n % k == 0 else 0.5), n, k, name)
               for n in range(1, 6) for k in range(1, n + 1) for name, (_, g) in RULES.items()
               for r, tau in brute_force_ratios(n, k, g))
    assert found.tightest.slack == pytest.approx(best[0], rel=1e-12)
    assert (found.n, found.k, found.model) == (best[1], best[2], RULES[best[3]][0].describe())


def test_condition3_tau_of_a_block():
    """tau_l = min_d g(d)/d: ceil(d/2)/d is 1, 1/2, 2/3 -> 1/2 from two buyers; ceil(d/3) -> 1/3 at d = 3."""
    assert [block_tau(ProportionalDemand(0.5), b, U, 0.5) for b in (1, 2, 3)] == [1.0, 0.5, 0.5]
    assert block_tau(ProportionalDemand(1 / 3), 2, U, 0.5) == 0.5
    assert block_tau(ProportionalDemand(1 / 3), 3, U, 0.5) == pytest.approx(1 / 3, rel=1e-12)
    assert [block_tau(CapacityLimited(2), b, U, 0.5) for b in (2, 3, 4)] == [1.0, 2 / 3, 0.5]


# -- fee contracts (Equation 1) ---------------------------------------------------------------

def value_share(values, x, payment):
    """A share that depends on the buyers' values only (not on the deal)."""
    return 1.0 / (1.0 + values.sum(axis=1))


def falling_share(values, x, payment):
    return np.full(values.shape[0], 1.0 / (1.0 + x))


@pytest.mark.parametrize("alpha", [0.4, value_share])
def test_fee_contract_revenue_is_the_same_on_every_partition_by_brute_force(alpha):
    """Equation 1 with a share free of the deal: the argmax over x of alpha V, by the agents' own
    demand rule, on every value profile of a 3-point law and every set partition of 5 buyers, gives
    p E[min(Binomial(5, q), 2)] on all 52 partitions (1e-12)."""
    points, probs, price, n, k = np.array([0.2, 0.55, 0.9]), np.array([0.5, 0.3, 0.2]), 0.5, 5, 2
    idx = np.array(list(itertools.product(range(3), repeat=n)))
    values, weight = points[idx], probs[idx].prod(axis=1)
    model = BargainingShare(alpha)
    q = probs[points >= price].sum()
    closed = price * sum(math.comb(n, d) * q ** d * (1 - q) ** (n - d) * min(d, k) for d in range(n + 1))
    revenues = [price * float(weight @ np.minimum(sum(UtilityModel.demand(model, values[:, b], price)
                                                      for b in blocks), k))
                for blocks in set_partitions(list(range(n)))]
    assert len(revenues) == bell_number(n)
    assert revenues == pytest.approx([closed] * len(revenues), rel=1e-12)


def test_fee_contract_free_of_the_deal_by_monte_carlo():
    """alpha(v) = 1/(1 + sum v) on 6 U[0,1] buyers, k = 3: the simulated revenue on (6), (3,2,1) and
    six singletons is p E[min(Binomial(6, 1/3), 3)] = (2/3) 1.877... within 4 s.e. (100,000 rounds)."""
    menu, q = ItemMenu.intermediary_proof(U, 6, 3), 1 / 3
    closed = 2 / 3 * sum(math.comb(6, d) * q ** d * (1 - q) ** (6 - d) * min(d, 3) for d in range(7))
    for sizes in [(6,), (3, 2, 1), (1,) * 6]:
        mc = simulate_menu(U, blocks_of(sizes), menu, BargainingShare(value_share), 100_000,
                           np.random.default_rng(sum(sizes) + len(sizes)))
        assert abs(mc.mean["revenue"] - closed) <= 4 * mc.stderr["revenue"]


def blocks_of(sizes):
    starts = np.cumsum((0, *sizes))
    return [list(range(a, b)) for a, b in zip(starts[:-1], starts[1:])]


@pytest.mark.parametrize("law,sizes", [(U, (6,)), (U, (3, 2, 1)), ("exponential:1", (4, 2)),
                                       ("exponential:1", (2, 2, 2))])
def test_growing_fee_exact_revenue_matches_the_agents_demand(law, sizes):
    """GrowingFee's exact revenue against 200,000 rounds of the argmax of V / (1 + x) (4 s.e.)."""
    menu = ItemMenu.intermediary_proof(law, 6, 3)
    mc = simulate_menu(law, blocks_of(sizes), menu, BargainingShare(falling_share), 200_000,
                       np.random.default_rng(len(sizes)))
    assert mc.within("revenue", posted_revenue(law, sizes, 3, menu.unit_price, GrowingFee()))


def test_growing_fee_depends_on_the_partition_with_the_mesa_agents():
    """1,500 rounds of the agent-based market: one intermediary of six buyers under alpha = 1/(1+x)
    earns the exact 0.9375 (4 s.e.), far (> 10 s.e.) below six direct buyers' 1.2513."""
    menu = ItemMenu.intermediary_proof(U, 6, 3)
    means = []
    for sizes in [(6,), (1,) * 6]:
        model = MarketModel([U] * 6, protocol=PostedMenu(menu), demand=from_partition(blocks_of(sizes)),
                            utility=BargainingShare(falling_share), rng=5)
        for _ in range(1500):
            model.step()
        rev = model.datacollector.get_model_vars_dataframe()["seller_revenue"]
        exact = posted_revenue(U, sizes, 3, menu.unit_price, GrowingFee())
        assert abs(rev.mean() - exact) <= 4 * rev.std(ddof=1) / math.sqrt(1500)
        means.append((rev.mean(), rev.std(ddof=1) / math.sqrt(1500)))
    assert means[1][0] - means[0][0] > 10 * math.hypot(means[0][1], means[1][1])


@pytest.mark.parametrize("law,two", [(U, 0.5), ("exponential:1", 1 / 3)])
def test_growing_fee_two_buyers_closed_form(law, two):
    """Two buyers above the price buy both iff 2 w_(2) >= w_(1): P = P[min >= max/2] = 1/2 for
    uniform excesses, P[Exp(1) <= Exp(rate 2)] = 1/3 for exponential ones (Renyi spacings)."""
    m = GrowingFee().asked_matrix(2, parse_spec(law), 0.5)
    assert m[2] == pytest.approx([0.0, 1 - two, two], abs=1e-10)


def test_growing_fee_tau_matches_the_measured_one():
    """tau_l of three buyers at p = 1/2 (exact, min_d E[g | d]/d) against measure_tau's estimate."""
    exact = block_tau(GrowingFee(), 3, U, 0.5)
    est = measure_tau(BargainingShare(falling_share), U, 3, [0.5], rounds=60_000, rng=7)
    assert 0.5 < exact < 1.0
    assert abs(est.tau - exact) <= 4 * est.stderr


def test_growing_fee_refuses_laws_it_cannot_solve():
    with pytest.raises(InputError, match="uniform"):
        GrowingFee().asked_matrix(2, parse_spec("pareto:0.5,1"), 2.0)
