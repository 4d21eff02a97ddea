"""Lemma 1 (Rev <= Wel) on random weight vectors, equal weights as identical items, and the
vectorized sequential sales against the one-intermediary-at-a-time loop.

Wel(F) = sum_j eta_j E[v(j, n)] is recomputed here from the tail formula
E[v(j, n)] = lo + int_lo^hi P[Binomial(n, 1 - F(x)) >= j] dx on scipy's own laws, a different
route from the library's quantile-domain order statistics.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, stats

from agora.market.distributions import parse_spec
from agora.market.k_items import montecarlo
from agora.market.k_items.mechanisms import ItemMenu, heterogeneous_prices, ipm_price, optimal_welfare
from agora.market.k_items.montecarlo import random_rationing, sequential, simulate_menu
from agora.market.k_items.solver import evaluate_posted, single_buyer_menu_revenue, solve_ipm
from agora.market.k_items.utility import utility_model
from tests.reference_sequential import sequential_per_intermediary

SCIPY_LAWS = {"uniform:0,2": stats.uniform(0.0, 2.0), "exponential:1.5": stats.expon(scale=1.5),
              "beta:2,3,0,1": stats.beta(2.0, 3.0)}
Z_ONE_SIDED = 5.0  # P[N(0, 1) > 5] = 2.9e-7 per example: Monte Carlo noise never fails the check
# weights in (0, 1]; from 1e-290 up, so that prices eta u_j stay normal floats (a subnormal product
# keeps only a few significant bits, which no relative tolerance survives)
WEIGHT = st.floats(1e-290, 1.0)


def tail_welfare(law: str, n: int, weights) -> float:
    """sum_{j <= min(k, n)} eta_j E[v(j, n)] by the tail formula (module doc), scipy quad."""
    f = SCIPY_LAWS[law]
    lo, hi = f.support()
    total = 0.0
    for j, eta in enumerate(weights[:n], start=1):
        def tail(x, j=j):
            return stats.binom.sf(j - 1, n, f.sf(x))
        val, _ = integrate.quad(tail, lo, hi, limit=400, epsabs=1e-13, epsrel=1e-12)
        total += eta * (lo + val)
    return total


def _partition(n: int, labels: list[int]) -> list[list[int]]:
    blocks: dict[int, list[int]] = {}
    for i, label in enumerate(labels):
        blocks.setdefault(label, []).append(i)
    return list(blocks.values())


@st.composite
def weighted_markets(draw):
    k = draw(st.integers(1, 5))
    n = draw(st.integers(1, 9))
    weights = tuple(sorted(draw(st.lists(WEIGHT, min_size=k, max_size=k)), reverse=True))
    labels = draw(st.lists(st.integers(0, n - 1), min_size=n, max_size=n))
    return n, k, weights, _partition(n, labels), draw(st.sampled_from(sorted(SCIPY_LAWS))), \
        draw(st.integers(0, 2 ** 32 - 1))


@settings(max_examples=10, deadline=None)
@given(weighted_markets())
def test_revenue_at_most_welfare_on_every_weight_vector(market):
    """Lemma 1, Rev <= Wel(F), for Definition 9's menu on weights in (0, 1], n <= 9, k <= 5.

    Wel(F) from ``solve ipm`` equals the tail-formula quadrature (1e-8). With one buyer per
    intermediary the revenue is exact (Markov chain on the items left) and must not exceed
    Wel(F) beyond the quadratures' 1e-9; on a random partition ``solve ipm``'s Monte Carlo
    revenue (4,000 rounds; exact when the weights are equal) must not exceed it by more than
    5 of its standard errors."""
    n, k, weights, partition, law, seed = market
    wel = tail_welfare(law, n, weights)
    tol = 1e-9 * wel
    sol = solve_ipm(n, k, law, weights, "surplus", partition, rounds=4000, seed=seed)
    assert sol.welfare == pytest.approx(wel, rel=1e-8)
    assert sol.revenue <= wel + tol + Z_ONE_SIDED * sol.revenue_stderr
    exact = single_buyer_menu_revenue(law, n, ItemMenu.heterogeneous(law, n, weights))
    assert 0.0 <= exact <= wel + tol


@settings(max_examples=10, deadline=None)
@given(n=st.integers(1, 9), k=st.integers(1, 5), eta=WEIGHT, law=st.sampled_from(sorted(SCIPY_LAWS)),
       seed=st.integers(0, 2 ** 32 - 1))
def test_equal_weights_are_the_identical_items_answer(n, k, eta, law, seed):
    """eta_1 = ... = eta_k = eta in Definition 9 is Definition 7 at eta p_R (1e-12):

    * every price r_j = eta p_R, p_R = E[v(1, ceil(n/k))];
    * the exact revenue of the menu sold in turn to single-buyer intermediaries (a Markov chain
      on the 2^k sets of items left) equals eta times the identical-items revenue
      p_R E[min(Binomial(n, 1 - F(p_R)), k)] (convolution of binomials), and Wel(F) is eta Wel;
    * round by round, the menu sold in turn to a partition earns what random rationing at
      eta p_R earns (the same min(D, k) units are sold either way)."""
    dist = parse_spec(law)
    weights = (eta,) * k
    p_r = ipm_price(dist, n, k)
    assert heterogeneous_prices(dist, n, weights) == pytest.approx([eta * p_r] * k, rel=1e-12)
    menu = ItemMenu.heterogeneous(dist, n, weights)
    identical = evaluate_posted(dist, [1] * n, k, p_r, "surplus", welfare=False).revenue
    assert single_buyer_menu_revenue(dist, n, menu) == pytest.approx(eta * identical, rel=1e-12)
    assert optimal_welfare(dist, n, k, weights) == pytest.approx(eta * optimal_welfare(dist, n, k), rel=1e-12)
    rng = np.random.default_rng(seed)
    values = dist.rvs((200, n), rng)
    blocks = _partition(n, list(rng.integers(0, n, n)))
    model = utility_model("surplus", dist)
    arrival = np.argsort(rng.random((200, len(blocks))), axis=1)
    turn = sequential(values, blocks, menu, model, dist, arrival)
    posted = ItemMenu.posted(p_r, k)
    lottery = random_rationing(values, blocks, ItemMenu(posted.prices, posted.weights), model, dist,
                               rng.random(values.shape))
    np.testing.assert_allclose(turn.revenue, eta * lottery.revenue, rtol=1e-12, atol=0.0)


PARTITIONS = {"singletons": [[i] for i in range(7)], "mixed": [[0, 4], [1], [2, 3, 6], [5]],
              "one block": [list(range(7))], "pairs and a triple": [[6, 0], [1, 5], [2, 3, 4]]}


@pytest.mark.parametrize("name", sorted(PARTITIONS))
@pytest.mark.parametrize("model", ["surplus", "monopolist"])
@pytest.mark.parametrize("weights", [(1.0, 0.6, 0.2), (0.8, 0.8, 0.8), (2.0, 2.0, 0.5, 0.0), (1.0,) * 9])
def test_vectorized_sequential_equals_the_per_intermediary_loop(name, model, weights):
    """Items, revenue and welfare of 500 rounds are bit-identical (np.array_equal) to the
    reference loop over intermediaries, for heterogeneous and uniform menus, with more items
    than buyers in the last case."""
    dist = parse_spec("exponential:1")
    blocks = PARTITIONS[name]
    menu = ItemMenu.heterogeneous(dist, 7, weights)
    rng = np.random.default_rng(11)
    values = dist.rvs((500, 7), rng)
    arrival = np.argsort(rng.random((500, len(blocks))), axis=1)
    um = utility_model(model, dist)
    new = sequential(values, blocks, menu, um, dist, arrival)
    old = sequential_per_intermediary(values, blocks, menu, um, dist, arrival)
    for field in ("item", "revenue", "welfare"):
        assert np.array_equal(getattr(new, field), getattr(old, field)), field


def test_same_seed_same_estimate_as_the_per_intermediary_loop(monkeypatch):
    """``simulate_menu`` with the same seed gives the same means and standard errors, to the bit,
    whether the rounds are vectorized or looped (n = 12, k = 4, mixed blocks, 3,000 rounds)."""
    dist, n = "uniform:0,1", 12
    blocks = [[0], [1, 2], [3, 4, 5], [6], [7, 8, 9, 10], [11]]
    menu = ItemMenu.heterogeneous(dist, n, (1.0, 0.7, 0.4, 0.1))
    new = simulate_menu(dist, blocks, menu, "surplus", 3000, np.random.default_rng(5))
    monkeypatch.setattr(montecarlo, "sequential", sequential_per_intermediary)
    old = simulate_menu(dist, blocks, menu, "surplus", 3000, np.random.default_rng(5))
    assert new == old
    assert new.mean["revenue"] > 0.0 and new.stderr["revenue"] > 0.0


@pytest.mark.parametrize("sizes,calls", [([1] * 40, 40), ([2] * 20, 20), ([1] * 10 + [3] * 10, 20 * 2)])
def test_one_buying_step_per_arrival_position_and_block_size(monkeypatch, sizes, calls):
    """The vectorized rounds make one choice call per arrival position and block size present
    (m positions x G sizes: 40, 20 and 40 here), where the loop over intermediaries makes one
    per position and intermediary arriving there (m^2 over a batch whose rounds cover every
    arrival: 1,600, 400 and 400)."""
    dist = parse_spec("uniform:0,1")
    n = sum(sizes)
    starts = np.cumsum([0, *sizes])
    blocks = [list(range(a, b)) for a, b in zip(starts, starts[1:])]
    menu = ItemMenu.heterogeneous(dist, n, (1.0, 0.5, 0.25))
    rng = np.random.default_rng(3)
    values = dist.rvs((2000, n), rng)
    arrival = np.argsort(rng.random((2000, len(blocks))), axis=1)
    count = {"n": 0}
    choose = montecarlo._choices

    def counted(*args):
        count["n"] += 1
        return choose(*args)

    monkeypatch.setattr(montecarlo, "_choices", counted)
    model = utility_model("surplus", dist)
    sequential(values, blocks, menu, model, dist, arrival)
    assert count["n"] == calls
    count["n"] = 0
    monkeypatch.setattr("tests.reference_sequential._choices", counted)
    sequential_per_intermediary(values, blocks, menu, model, dist, arrival)
    assert count["n"] == len(blocks) ** 2
