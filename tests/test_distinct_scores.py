"""MaxScoreLaw evaluates each distinct score once and raises it to its multiplicity: the same law of the
highest score and the same tie-aware chance of winning as the product over every bidder, brute force."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from agora.market.distributions import parse_spec
from agora.market.single_item.scores import MaxScoreLaw, ValueScore, VirtualScore

SPECS = ["uniform:0,1"] * 5 + ["exponential:1"] * 3 + ["uniform:0,1"] * 2 + ["point:0.5"] * 3


def brute_share(scores, owner: int, c: float) -> float:
    """E[1{others <= c} / (1 + #others at c)] by enumerating which others tie at c."""
    below = [1.0 - float(s.prob_at_least(c)) for s in scores]
    equal = [float(s.prob_equal(c)) for s in scores]
    others = [j for j in range(len(scores)) if j != owner]
    total = 0.0
    for tied in itertools.product((False, True), repeat=len(others)):
        p = np.prod([equal[j] if t else below[j] for j, t in zip(others, tied)])
        total += p / (1 + sum(tied))
    return total


@pytest.mark.parametrize("score", [ValueScore, VirtualScore])
def test_grouped_law_is_the_product_over_every_bidder(score):
    scores = [score(parse_spec(s)) for s in SPECS if score is ValueScore or not s.startswith("point")]
    law = MaxScoreLaw(scores)
    assert len(law.distinct) == (3 if score is ValueScore else 2) and law.counts.sum() == len(scores)
    c = np.linspace(-0.5, 2.0, 41)
    direct = 1.0 - np.prod([1.0 - s.prob_at_least(c) for s in scores], axis=0)
    assert np.allclose(law.prob_at_least(c), direct, rtol=1e-12, atol=1e-15)
    for owner in (0, 5, len(scores) - 1):
        shares = law.win_share(np.full(c.size, owner), c)
        assert np.allclose(shares, [brute_share(scores, owner, x) for x in c], rtol=1e-12, atol=1e-15), owner


def test_ties_at_a_point_mass_share_the_win():
    """Three bidders at 0.5 and nothing above: each wins with chance 1/3 at c = 0.5 (brute force too)."""
    scores = [ValueScore(parse_spec("point:0.5"))] * 3 + [ValueScore(parse_spec("uniform:0,0.5"))]
    law = MaxScoreLaw(scores)
    share = law.win_share(np.array([0]), np.array([0.5]))[0]
    assert share == pytest.approx(1 / 3, rel=1e-12) and share == pytest.approx(brute_share(scores, 0, 0.5), rel=1e-12)
