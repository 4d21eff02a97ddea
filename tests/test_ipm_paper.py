"""intermediary-proof-mechanisms: Lemma 2, Fact 1, Fact 3, Lemmas 3-4 and Theorem 1 on closed forms.

Quadrature results are compared at 1e-9 (the integrals are computed to 1e-11); Monte Carlo
at four standard errors with the sample size stated.
"""

from __future__ import annotations

import math
from fractions import Fraction
from math import comb

import numpy as np
import pytest

from agora.market.demand import all_partitions, bell_number
from agora.market.distributions import parse_spec
from agora.market.k_items.mechanisms import ItemMenu, guarantee, ipm_price, optimal_welfare
from agora.market.k_items.montecarlo import simulate_menu
from agora.market.k_items.solver import block_sizes, evaluate_posted
from agora.market.k_items.utility import c_lambda, lambda_of, measure_tau, utility_model
from agora.market.order_stats import expected_max, expected_order_statistic

LAWS = ["uniform:2,5", "exponential:3", "pareto:0.5,1", "pareto:0.8,1,50", "pareto:0.3,2,100"]


@pytest.mark.parametrize("spec,n,k", [(s, n, k) for s in LAWS
                                      for n, k in [(1, 1), (7, 3), (12, 12), (20, 7)]]
                         + [("truncnorm:1,0.5,0,3", 5, 2), ("beta:2,3,0,1", 7, 3)])
def test_lemma2_order_statistics_inequality(spec, n, k):
    """k E[v(1, ceil(n/k))] >= (1 - 1/e) sum_{j <= k} E[v(j, n)] (Lemma 2, any law)."""
    lhs = k * expected_max(spec, math.ceil(n / k))
    rhs = (1 - 1 / math.e) * sum(expected_order_statistic(spec, j, n) for j in range(1, k + 1))
    assert lhs >= rhs - 1e-9


def test_lemma2_no_large_element_probability():
    """C(n-k, s) / C(n, s) <= 1/e for s = ceil(n/k), 1 <= k <= n < 40: the step in Lemma 2's proof."""
    for n in range(1, 40):
        for k in range(1, n + 1):
            s = math.ceil(n / k)
            assert Fraction(comb(n - k, s), comb(n, s)) <= 1 / Fraction(math.e) + Fraction(1, 10 ** 12), (n, k)


@pytest.mark.parametrize("spec", ["uniform:0,1", "exponential:2", "pareto:0.5,1", "pareto:0.2,1,1000",
                                  "beta:2,3,0,1", "beta:1.5,1.5,0,2", "truncnorm:1,0.5,0,3"])
@pytest.mark.parametrize("n", [2, 7])
def test_fact1_max_of_lambda_regular_draws_is_lambda_regular(spec, n):
    """The max of n i.i.d. lambda-regular draws is lambda-regular (Fact 1): its lambda is no larger."""
    dist = parse_spec(spec)
    lam = dist.regularity.lam
    assert dist.max_of(n).regularity.lam <= lam + 1e-4


@pytest.mark.parametrize("spec", ["uniform:0,1", "exponential:1", "pareto:0.5,1", "beta:2,3,0,1"])
@pytest.mark.parametrize("s", [1, 2, 3, 6])
def test_fact3_max_of_s_minus_one_reaches_mean_of_max_of_s(spec, s):
    """P[v(1, s-1) >= E[v(1, s)]] >= (s-1)/s c(lambda) (Fact 3; with Fact 2 at s = 1)."""
    dist = parse_spec(spec)
    target = expected_max(dist, s)
    prob = 1.0 - float(dist.cdf(target)) ** max(s - 1, 1)
    bound = (max(s - 1, 1) / s if s > 1 else 1.0) * c_lambda(lambda_of(dist))
    assert prob >= bound - 1e-9


def exact_monopolist_tau(dist, prices) -> float:
    """inf over prices of P[phi(v) >= p | v >= p] (Lemma 3's quantity), on a grid."""
    p = np.asarray(prices)
    return float(np.min(dist.prob_virtual_at_least(p) / dist.prob_at_least(p)))


@pytest.mark.parametrize("spec", ["uniform:0,1", "exponential:1", "pareto:0.5,1", "pareto:0.25,1",
                                  "beta:2,3,0,1", "truncnorm:1,0.5,0,3"])
def test_lemma3_4_monopolist_buys_with_probability_at_least_c_lambda(spec):
    """P[phi(v) >= p | v >= p] >= c(lambda) at every price p (Lemmas 3 and 4)."""
    dist = parse_spec(spec)
    prices = dist.ppf(np.linspace(0.0, 0.999, 400))
    assert exact_monopolist_tau(dist, prices) >= c_lambda(lambda_of(dist)) - 1e-9


def test_measured_tau_matches_lemma3_quantity():
    """Uniform [0,1]: P[phi >= p | v >= p] = 1/2 at every p, so tau = 1/2 (20,000 rounds per price)."""
    m = measure_tau("monopolist", "uniform:0,1", 3, [0.2, 0.5, 0.75], rounds=20_000, rng=1)
    assert abs(m.ratio - 0.5) <= 4 * 0.5 / math.sqrt(20_000 * 3 * 0.3)
    assert abs(m.tau - 0.5) <= 4 * m.stderr + 0.01
    assert measure_tau("surplus", "uniform:0,1", 3, [0.2, 0.5], rounds=2_000, rng=1).tau == 1.0


def closed_form_revenue(n: int, k: int, price: Fraction, q: Fraction) -> Fraction:
    """p E[min(D, k)] with D ~ Binomial(n, q): each of the n buyers asks with probability q,
    whatever intermediary holds it, and only k items exist."""
    return price * sum(comb(n, d) * q ** d * (1 - q) ** (n - d) * min(d, k) for d in range(n + 1))


# Uniform [0, 1]: p_R = E[max of s] = s / (s + 1); surplus buys iff v >= p (q = 1 - p),
# a monopolist iff 2v - 1 >= p (q = (1 - p) / 2).
CASES = [(6, 2, Fraction(3, 4)), (7, 3, Fraction(3, 4))]


@pytest.mark.parametrize("n,k,p", CASES)
def test_ipm_price_uniform_closed_form(n, k, p):
    assert ipm_price("uniform:0,1", n, k) == pytest.approx(float(p), abs=1e-12)
    wel = sum(Fraction(n + 1 - j, n + 1) for j in range(1, k + 1))  # E[v(j, n)] = (n + 1 - j) / (n + 1)
    assert optimal_welfare("uniform:0,1", n, k) == pytest.approx(float(wel), abs=1e-12)


@pytest.mark.parametrize("n,k,p", CASES)
@pytest.mark.parametrize("model,q", [("surplus", lambda p: 1 - p), ("monopolist", lambda p: (1 - p) / 2)])
def test_uniform_closed_form_on_every_partition(n, k, p, model, q):
    """Revenue of p_R equals the closed form on all Bell(n) demand structures and beats the bound."""
    expected = float(closed_form_revenue(n, k, p, q(p)))
    if (n, k, model) == (6, 2, "surplus"):
        assert expected == pytest.approx(3957 / 4096, abs=1e-15)
    bound = guarantee("uniform:0,1", n, k, 1.0 if model == "surplus" else math.exp(-1))["guarantee"]
    dist = parse_spec("uniform:0,1")
    model = utility_model(model, dist)
    seen = 0
    for partition in all_partitions(n):
        out = evaluate_posted(dist, partition, k, float(p), model, welfare=False)
        assert out.revenue == pytest.approx(expected, abs=1e-12)
        seen += 1
    assert seen == bell_number(n)
    assert expected > bound


@pytest.mark.parametrize("n,k,p", CASES)
def test_uniform_closed_form_by_monte_carlo_on_every_block_shape(n, k, p):
    """Vectorized Monte Carlo (20,000 rounds per shape) agrees with the closed form on every
    multiset of block sizes, for both models; realized welfare agrees with the exact evaluator."""
    menu = ItemMenu.intermediary_proof("uniform:0,1", n, k)
    shapes = {}
    for partition in all_partitions(n):
        shapes.setdefault(block_sizes(partition), partition)
    rng = np.random.default_rng(7)
    for model, q in [("surplus", 1 - p), ("monopolist", (1 - p) / 2)]:
        expected = float(closed_form_revenue(n, k, p, q))
        for partition in shapes.values():
            est = simulate_menu("uniform:0,1", partition, menu, model, 20_000, rng)
            assert est.within("revenue", expected)
            exact = evaluate_posted("uniform:0,1", partition, k, float(p), model)
            assert est.within("welfare", exact.realized_welfare)


def test_realized_welfare_depends_on_the_partition_revenue_does_not():
    """Monopsony serves its best buyers when rationed; competition rations at random."""
    mono = evaluate_posted("uniform:0,1", [list(range(6))], 2, 0.75)
    comp = evaluate_posted("uniform:0,1", [[i] for i in range(6)], 2, 0.75)
    assert mono.revenue == pytest.approx(comp.revenue, abs=1e-14)
    assert mono.realized_welfare > comp.realized_welfare + 1e-3


@pytest.mark.parametrize("spec", ["uniform:0,1", "exponential:1", "pareto:0.6,1", "beta:2,2,0,1"])
@pytest.mark.parametrize("n,k", [(5, 2), (8, 4)])
def test_theorem1_guarantee_on_sampled_partitions(spec, n, k):
    """Revenue of p_R >= tau c(lambda)/2 (1 - 1/e) Wel(F) (Theorem 1; Corollary 2 when k | n),
    for surplus-maximizing (tau = 1) and monopolist (tau = c(lambda)) intermediaries."""
    price = ipm_price(spec, n, k)
    parts = list(all_partitions(n))
    for model in ("surplus", "monopolist"):
        tau = 1.0 if model == "surplus" else c_lambda(lambda_of(spec))
        bound = guarantee(spec, n, k, tau)["guarantee"]
        for partition in parts[:: max(1, len(parts) // 8)]:
            assert evaluate_posted(spec, partition, k, price, model, welfare=False).revenue >= bound
