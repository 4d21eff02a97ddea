"""Compiled win shares (market/single_item/score_kernels.py) and the pruned price scan
(market/single_item/seller_first.py, ``nonincreasing``) against the array code they stand for.

Expected values: each score's own ``prob_at_least`` (bidder by bidder, scipy-free closed forms of the
laws in market/distributions.py), and for the win share the product over the other bidders written
out, prod_{j != i} (1 - P[g_j >= c]) (no log, no shared nodes); for the scan, the full scan of every
candidate (its best candidate and near-best peaks, bit for bit).
"""

import math

import numpy as np
import pytest

from agora.market.distributions import parse_spec
from agora.market.single_item import score_kernels
from agora.market.single_item.scores import MaxScoreLaw, ShiftedVirtualScore, ValueScore, VirtualScore
from agora.market.single_item.seller_first import _peaks, _scan_nonincreasing

LAWS = ["uniform:0,1", "uniform:0.5,3", "uniform:2,2.5", "exponential:1", "exponential:0.3", "pareto:0.5,1",
        "pareto:0.4,2", "pareto:0.9,1.2"]


def _scores(kind, laws, rng):
    if kind == "bid":
        return [ValueScore(d, -float(rng.uniform(0, 2))) for d in laws]
    if kind == "virtual":
        return [VirtualScore(d) for d in laws]
    return [ShiftedVirtualScore(d, float(rng.uniform(-1, 1))) for d in laws]


def _points(scores, rng, c=1.0):
    """Random points over the scores' range plus every breakpoint and its neighbours."""
    edges = [p for s in scores for p in s.breakpoints]
    near = [p * (1 + e) + e * c for p in edges for e in (-1e-12, 0.0, 1e-12)]
    return np.sort(np.concatenate([rng.uniform(-3 * c, 30 * c, 500), near, [0.0]]))


@pytest.mark.parametrize("kind", ["bid", "virtual", "shifted"])
@pytest.mark.parametrize("c", [1.0, 1e-9, 1e9])
def test_each_score_matches_its_own_method(kind, c):
    rng = np.random.default_rng(11)
    laws = [parse_spec(s) for s in LAWS]
    if c != 1.0:
        from agora.market.single_item.units import scaled
        laws = [scaled(d, c) for d in laws]
    scores = _scores(kind, laws, rng)
    if kind != "virtual":
        scores = [type(s)(s.dist, (s.shift if kind == "bid" else s.delta) * c) for s in scores]
    rows = score_kernels.score_rows(scores)
    t = _points(scores, rng, c)
    for s, row in zip(scores, rows):
        got = np.array([score_kernels.prob_at_least(row, x) for x in t])
        np.testing.assert_allclose(got, s.prob_at_least(t), rtol=1e-14, atol=1e-300, err_msg=s.dist.spec)


def test_laws_the_kernels_do_not_cover_are_left_to_the_arrays():
    covered = [ValueScore(parse_spec("uniform:0,1"), -0.2), VirtualScore(parse_spec("exponential:1"))]
    assert score_kernels.score_rows(covered) is not None
    for spec in ("beta:2,3,0,1", "point:0.5", "pareto:0.3,0.7,20", "truncnorm:1,0.4,0.2,2"):
        assert score_kernels.score_rows(covered + [ValueScore(parse_spec(spec), 0.0)]) is None, spec
    assert score_kernels.score_row(VirtualScore(parse_spec("pareto:0,1,10"))) is None


@pytest.mark.parametrize("kind", ["bid", "virtual", "shifted"])
def test_win_share_against_the_product_written_out(kind):
    """Compiled shares (with repeated laws, so a bidder's own law is held by others too) against
    prod_{j != i} (1 - P[g_j >= c]) bidder by bidder, at 1e-13."""
    rng = np.random.default_rng(7)
    laws = [parse_spec(s) for s in LAWS + LAWS[:3]]
    scores = _scores(kind, laws, rng)
    law = MaxScoreLaw(scores)
    assert law._compiled_rows is not None
    c = _points(scores, rng)
    c = np.concatenate([c, c])  # shared nodes, as the quadrature's are
    owner = rng.integers(0, len(scores), c.size)
    got = law.win_share(owner, c)
    each = np.array([s.prob_at_least(c) for s in scores])
    expected = np.array([np.prod(np.delete(1.0 - each[:, k], owner[k])) for k in range(c.size)])
    np.testing.assert_allclose(got, expected, rtol=1e-13, atol=1e-300)
    assert np.any(expected == 0.0) and np.any((expected > 0) & (expected < 1))


def _decreasing(rng, size):
    """A nonincreasing sale curve with several near-tied peaks of p * prob(p) among sorted candidates."""
    jumps = np.sort(rng.uniform(0, 10, 12))
    heights = rng.uniform(0.02, 0.15, 12)

    def prob(p):
        p = np.asarray(p, float)
        smooth = np.exp(-p / 3.0) / (1.0 + 0.05 * p)
        return smooth * (1.0 - np.sum(heights[:, None] * (p[None] > jumps[:, None]), axis=0).reshape(p.shape) / 2)
    c = np.unique(np.concatenate([rng.uniform(0, 12, size), jumps, jumps + 1e-9, [0.0]]))
    return prob, c


@pytest.mark.parametrize("seed", range(6))
def test_pruned_scan_finds_the_full_scans_peaks(seed):
    rng = np.random.default_rng(seed)
    prob, c = _decreasing(rng, 5000 + 997 * seed)
    full = c * prob(c)
    pruned = _scan_nonincreasing(prob, c)
    assert _peaks(pruned) == _peaks(full)
    evaluated = np.isfinite(pruned)
    np.testing.assert_array_equal(pruned[evaluated], full[evaluated])
    assert np.all(full[~evaluated] < full.max() * (1 - 1e-4))  # what it leaves out is never near the best
    assert np.count_nonzero(evaluated) < c.size / 4  # and it leaves out most


def test_pruned_scan_on_a_flat_zero_curve_and_few_candidates():
    c = np.array([0.0, 0.5, 1.0])
    assert _scan_nonincreasing(lambda p: np.zeros(np.shape(p)), c).tolist() == [0.0, 0.0, 0.0]
    prob = lambda p: np.exp(-np.asarray(p, float))  # noqa: E731
    np.testing.assert_array_equal(_scan_nonincreasing(prob, c), c * prob(c))
    assert math.isfinite(_scan_nonincreasing(prob, np.array([2.0]))[0])
