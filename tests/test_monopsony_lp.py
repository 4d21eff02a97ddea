"""The monopsony's revenue-optimal mechanism on a grid (market/k_items/monopsony_lp.py) against
brute force: Myerson's posted price on the grid, enumeration of every value profile, the IC gain
of a perturbed mechanism computed by hand."""

import itertools

import numpy as np
import pytest

from agora.market.errors import InputError
from agora.market.k_items.monopsony_lp import (
    Mechanism,
    best_bundle,
    best_item_price,
    item_price_mechanism,
    largest_violation,
    monopsony_types,
    optimal_mechanism,
    quantile_grid,
)


def _profiles(law, n):
    """Every ordered profile of n grid draws with its probability (no reduction to sorted types)."""
    for idx in itertools.product(range(len(law.points)), repeat=n):
        yield law.points[list(idx)], float(np.prod(law.probs[list(idx)]))


def test_top_k_law_matches_enumeration_of_profiles():
    law = quantile_grid("exponential:1", 4)
    types = monopsony_types(law, 4, 2)
    brute = {}
    for idx in itertools.product(range(4), repeat=4):
        key = tuple(sorted(idx, reverse=True)[:2])
        brute[key] = brute.get(key, 0.0) + 0.25 ** 4
    assert types.size == len(brute) == 10
    for row, p in zip(types.indices.tolist(), types.probs):
        assert p == pytest.approx(brute[tuple(row)], abs=1e-15)


def test_single_buyer_one_item_is_myerson_posted_price_on_the_grid():
    law = quantile_grid("exponential:1", 9)
    best_price = max(p * law.probs[law.points >= p].sum() for p in law.points)  # brute force over prices
    opt = optimal_mechanism(monopsony_types(law, 1, 1))
    assert opt.revenue == pytest.approx(best_price, abs=1e-9)
    assert opt.violation.gain <= 1e-7


def test_two_buyers_one_item_is_the_best_price_for_the_highest_value():
    law = quantile_grid("uniform:0,1", 7)
    profiles = list(_profiles(law, 2))
    brute = max(sum(w for v, w in profiles if v.max() >= p) * p for p in law.points)
    assert brute == pytest.approx(max(p * (1 - (np.arange(7) / 7)[i] ** 2) for i, p in enumerate(law.points)))
    assert optimal_mechanism(monopsony_types(law, 2, 1)).revenue == pytest.approx(brute, abs=1e-9)


def test_two_buyers_two_items_beats_bundle_and_item_price_below_welfare():
    law = quantile_grid("uniform:0,1", 6)
    types = monopsony_types(law, 2, 2)
    opt = optimal_mechanism(types)
    welfare = sum(w * v.sum() for v, w in _profiles(law, 2))  # Lemma 1: Rev <= Wel, by enumeration
    bundle, item = best_bundle(types), best_item_price(types)
    assert largest_violation(bundle).gain <= 0.0 and largest_violation(item).gain <= 0.0
    brute_bundle = max(p * sum(w for v, w in _profiles(law, 2) if v.sum() >= p - 1e-12)
                       for p in {a + b for a in law.points for b in law.points})
    assert bundle.revenue == pytest.approx(brute_bundle, abs=1e-12)
    assert bundle.revenue < opt.revenue - 1e-3 and item.revenue < opt.revenue - 1e-3
    assert opt.revenue < welfare


def test_perturbed_mechanism_is_refused_by_the_ic_checker():
    law = quantile_grid("uniform:0,1", 5)
    types = monopsony_types(law, 1, 1)
    price = law.points[2]
    posted = item_price_mechanism(types, price)
    assert largest_violation(posted).gain <= 0.0
    top = int(np.argmax(types.values[:, 1]))
    dearer = posted.payments.copy()
    dearer[top] += 0.05  # the top type now gains 0.05 by reporting any other buying type
    v = largest_violation(Mechanism(types, posted.lotteries, dearer))
    assert v.gain == pytest.approx(0.05, abs=1e-12) and v.true_type == top
    assert types.values[v.report, 1] >= price
    free = posted.lotteries.copy()
    low = int(np.argmin(types.values[:, 1]))
    free[low] = [0.0, 1.0]  # the lowest type gets the item for nothing: a buyer gains the price
    v = largest_violation(Mechanism(types, free, posted.payments))
    assert v.gain == pytest.approx(price, abs=1e-12) and v.report == low


def test_bad_sizes_are_refused():
    with pytest.raises(InputError, match="items 3"):
        monopsony_types(quantile_grid("uniform:0,1", 3), 2, 3)
    with pytest.raises(InputError, match="bounded support"):
        quantile_grid("exponential:1", 3, "upper")


def test_report_brackets_myerson_and_catch_a_1pc_low_optimum(monkeypatch):
    from agora.experiments.reproduce import intermediary_proof

    checks, rows = intermediary_proof.posted_price_brackets((256,))
    assert all(c.holds for c in checks)
    assert rows[0][1] <= 0.25 ** (1 / 3) * 0.75 <= rows[0][2]  # r (1 - r^3) with r^3 = 1/4, n = 3
    original = intermediary_proof.optimal_mechanism

    def low(types):
        opt = original(types)
        return type(opt)(opt.mechanism, 0.99 * opt.revenue, opt.pairs, opt.rounds, opt.violation)

    monkeypatch.setattr(intermediary_proof, "optimal_mechanism", low)
    assert not any(c.holds for c in intermediary_proof.posted_price_brackets((256,))[0])


def _unreduced_optimum(law, n, k):
    """The LP over every ordered value profile (no sorting, no top-k reduction, every IC pair),
    built densely: variables q[t, 1..k] then p[t]; value of x items = sum of the x highest values."""
    from scipy.optimize import linprog

    profiles = list(_profiles(law, n))
    T = len(profiles)
    V = np.array([np.cumsum(np.sort(v)[::-1])[:k] for v, _ in profiles])
    rows, b = [], []
    for t in range(T):
        ir = np.zeros(T * k + T)
        ir[t * k:(t + 1) * k], ir[T * k + t] = -V[t], 1.0
        rows.append(ir)
        b.append(0.0)
        for s in range(T):
            if s != t:
                ic = ir.copy()
                ic[s * k:(s + 1) * k] += V[t]
                ic[T * k + s] -= 1.0
                rows.append(ic)
                b.append(0.0)
        simplex = np.zeros(T * k + T)
        simplex[t * k:(t + 1) * k] = 1.0
        rows.append(simplex)
        b.append(1.0)
    cost = np.concatenate([np.zeros(T * k), -np.array([w for _, w in profiles])])
    res = linprog(cost, A_ub=np.array(rows), b_ub=b, bounds=(0, None), method="highs")
    assert res.status == 0
    return -res.fun


@pytest.mark.parametrize("spec,grid,n,k", [("uniform:0,1", 4, 2, 2), ("exponential:1", 3, 3, 2),
                                           ("pareto:0,1,20", 3, 3, 3)])
def test_reduced_lp_equals_the_lp_over_every_ordered_profile(spec, grid, n, k):
    law = quantile_grid(spec, grid)
    assert optimal_mechanism(monopsony_types(law, n, k)).revenue == pytest.approx(
        _unreduced_optimum(law, n, k), rel=1e-7)


def test_footnote_17_and_proposition_5_rows_fail_when_the_optimum_is_out_of_reach():
    from agora.experiments.reproduce.intermediary_proof import footnote_17, proposition_5

    types = monopsony_types(quantile_grid("uniform:0,1", 6, "upper"), 2, 2)
    opt = optimal_mechanism(types).revenue
    assert footnote_17("u", types, opt).holds and proposition_5("u", "uniform:0,1", types, opt).holds
    mixed = 0.5 * (best_item_price(types).revenue + best_bundle(types).revenue)
    assert not footnote_17("u", types, 2 * mixed + 1e-9).holds
    factor = (1 / np.e) / 2 * (1 - 1 / np.e)  # c(0) / 2 (1 - 1/e), Definition 6
    assert not proposition_5("u", "uniform:0,1", types, best_item_price(types).revenue / factor + 1e-6).holds


def test_law_of_the_highest_of_many_draws_is_the_power_of_the_cdf():
    law = quantile_grid("exponential:1", 5)
    types = monopsony_types(law, 300, 1)
    cdf = np.cumsum(law.probs)
    closed = cdf ** 300 - np.concatenate([[0.0], cdf[:-1]]) ** 300  # P(max = point j) = F_j^n - F_(j-1)^n
    assert np.allclose(types.probs, closed[types.indices[:, 0]], rtol=1e-11, atol=1e-300)
    assert monopsony_types(law, 300, 3).probs.sum() == pytest.approx(1.0, abs=1e-12)
