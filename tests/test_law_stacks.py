"""Affine families evaluated together (market/single_item/law_stacks.py) against each law's own methods.

The expected values are each distribution's own ``prob_virtual_at_least`` and ``value_density``
(bidder by bidder, the code path the stacks replace), at points that include every breakpoint,
the atom at a cap, and markets scaled to 1e-9 and 1e9.
"""

import math

import numpy as np
import pytest

from agora.market.distributions import parse_spec
from agora.market.single_item.law_stacks import SurvivalTable, VirtualTable
from agora.market.single_item.right_auctions import PostedRightPrice
from agora.market.single_item.scores import MaxScoreLaw, ShiftedVirtualScore, ValueScore, VirtualScore
from agora.market.single_item.virtual_law import VirtualMaxLaw

MIXED = ["uniform:0,1", "uniform:0.5,3", "uniform:2,2.5", "exponential:1", "exponential:0.3",
         "pareto:0.5,1", "pareto:0.3,0.7,20", "pareto:0.9,1.2,5", "pareto:0,1,10",
         "beta:2,3,0,1", "point:0.7", "pareto:0.4,2"]


def scaled(spec: str, c: float) -> str:
    """The same law with values times c."""
    kind, args = spec.split(":")
    xs = [float(x) for x in args.split(",")]
    scale_at = {"uniform": [0, 1], "exponential": [0], "pareto": [1, 2], "beta": [2, 3], "truncnorm": [0, 1, 2, 3],
                "point": [0]}[kind]
    return kind + ":" + ",".join(repr(x * c) if i in scale_at else repr(x) for i, x in enumerate(xs))


def probe_points(laws, c: float = 1.0) -> np.ndarray:
    """A random grid over the virtual values' range plus each law's breakpoints and their neighbours."""
    rng = np.random.default_rng(3)
    edges = [p for d in laws for p in d.virtual_breakpoints]
    near = [p * (1 + s) + s * c for p in edges for s in (-1e-12, 0.0, 1e-12)]
    return np.sort(np.concatenate([rng.uniform(-3 * c, 60 * c, 400), near, [-math.inf, math.inf, 0.0]]))


@pytest.mark.parametrize("c", [1.0, 1e-9, 1e9])
def test_table_matches_each_law(c):
    laws = [parse_spec(scaled(s, c)) for s in MIXED]
    table = VirtualTable(laws)
    assert [laws[i].spec.split(":")[0] for i in table.single] == ["pareto", "beta", "point"]  # own methods
    t = probe_points(laws, c)
    probs, dens = table.prob_virtual_at_least(t), table.value_density(t)
    finite = np.isfinite(t)
    for i, d in enumerate(laws):
        if i in table.single:  # the same method on both sides: nothing to compare
            continue
        np.testing.assert_allclose(probs[i], d.prob_virtual_at_least(t), rtol=1e-14, atol=0, err_msg=d.spec)
        np.testing.assert_allclose(dens[i][finite], d.value_density(t[finite]), rtol=1e-13, atol=0,
                                   err_msg=d.spec)
    single = np.array(table.single)
    np.testing.assert_array_equal(probs[single], [laws[i].prob_virtual_at_least(t) for i in single])


def test_table_keeps_the_grid_shape():
    table = VirtualTable([parse_spec(s) for s in MIXED[:5]])
    t = np.linspace(-1, 4, 12).reshape(3, 4)
    assert table.prob_virtual_at_least(t).shape == (5, 3, 4)
    assert table.value_density(t).shape == (5, 3, 4)


def test_highest_virtual_value_law_matches_bidder_by_bidder():
    """VirtualMaxLaw's stacked P[Phi >= t] and tie-aware win shares against the base class's per-bidder loop."""
    rng = np.random.default_rng(5)
    specs = [f"uniform:0,{rng.uniform(0.5, 3):.4f}" for _ in range(20)] + \
            [f"exponential:{rng.uniform(0.5, 2):.4f}" for _ in range(20)] + \
            [f"pareto:{rng.uniform(0.3, 0.9):.4f},1,{rng.uniform(5, 50):.4f}" for _ in range(20)] + ["pareto:0,1,4"] * 2
    bidders = [parse_spec(s) for s in specs]
    stacked, plain = VirtualMaxLaw(bidders), MaxScoreLaw([VirtualScore(b) for b in bidders])
    t = probe_points(bidders)
    np.testing.assert_allclose(stacked.prob_at_least(t), plain.prob_at_least(t), rtol=1e-13, atol=1e-300)
    owners = rng.integers(0, len(bidders), t.size)
    finite = np.isfinite(t)
    np.testing.assert_allclose(stacked.win_share(owners[finite], t[finite]), plain.win_share(owners[finite], t[finite]),
                               rtol=1e-12, atol=1e-300)


@pytest.mark.parametrize("c", [1.0, 1e-9, 1e9])
def test_numerical_slope_at_the_ends_of_the_support(c):
    """beta:1,1 is the uniform law through scipy's generic path: phi = 2v - HI has slope 2 everywhere,
    including within a hair of either end, where a central difference has no room."""
    d = parse_spec(f"beta:1,1,0,{c!r}")
    top = d._hi_minus
    v = np.array([0.0, 1e-300, 1e-14 * c, 0.5 * c, top - 1e-14 * c, top])
    np.testing.assert_allclose(d.virtual_slope(v), 2.0, rtol=1e-6)
    t = np.array([d.phi_lo * (1 - 1e-15), d.phi_top * (1 - 1e-15)])
    assert np.all(np.isfinite(d.value_density(t)))


@pytest.mark.parametrize("c", [1.0, 1e-9, 1e9])
def test_survival_table_matches_each_law(c):
    """P[V_i >= x - shift_i] stacked, against each law's own prob_at_least (the equal-revenue Pareto stacks here)."""
    laws = [parse_spec(scaled(s, c)) for s in MIXED]
    shifts = np.linspace(-2 * c, 3 * c, len(laws))
    table = SurvivalTable(laws, shifts)
    assert [laws[i].spec.split(":")[0] for i in table.single] == ["beta", "point"]
    x = probe_points(laws, c)
    rows = table.prob_at_least(x)
    for i, d in enumerate(laws):
        if i not in table.single:
            np.testing.assert_allclose(rows[i], d.prob_at_least(x - shifts[i]), rtol=1e-14, atol=0, err_msg=d.spec)


def test_bids_law_matches_score_by_score():
    """MaxScoreLaw over bids v - p (ValueScore) and shifted virtual values phi^(v + delta), stacked, against the
    product over scores written out here from each score's own prob_at_least (the bidder-by-bidder path)."""
    bidders = [parse_spec(s) for s in MIXED]
    flat = {i for i, b in enumerate(bidders) if getattr(b, "alpha", None) == 0.0}  # no Myerson ranking for these
    scores = [ValueScore(b, -0.3) for b in bidders] + \
        [ShiftedVirtualScore(b, delta) for i, b in enumerate(bidders) if i not in flat for delta in (-0.4, 0.0, 0.25)]
    law = MaxScoreLaw(scores)
    x = probe_points(bidders)
    expected = 1.0 - np.prod([1.0 - s.prob_at_least(x) for s in scores], axis=0)
    np.testing.assert_allclose(law.prob_at_least(x), expected, rtol=1e-12, atol=1e-15)


def test_sale_curve_of_a_posted_price_for_the_right():
    """P_M(p) of Theorem 4.1 for a posted price q: 1 - prod_i P[v_i < q + p], written out per bidder."""
    specs = ["uniform:0,1", "uniform:0,1", "exponential:0.5", "pareto:0.5,0.2,4", "beta:2,2,0,1"]
    bidders = [parse_spec(s) for s in specs]
    q, prices = 0.15, np.linspace(-0.5, 1.5, 41)
    curve = PostedRightPrice(q).sale_curve(bidders)
    expected = 1.0 - np.prod([[float(b.cdf(q + p)) if q + p > b.lo else 0.0 for p in prices] for b in bidders], axis=0)
    np.testing.assert_allclose(curve(prices), expected, rtol=1e-12, atol=1e-15)
