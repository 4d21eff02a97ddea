"""``maximize_price_revenue`` (market/single_item/seller_first.py): a second peak of p * prob(p) that the
candidate scan undervalues is refined too, so the higher one wins even when its scanned value is lower."""

import numpy as np
import pytest

from agora.market.single_item.seller_first import maximize_price_revenue

CANDIDATES = np.array([0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0])


def two_peaks(height: float):
    """prob(p) with p * prob(p) = max(1 - (p - 1)^2, height - 5 (p - 2.004)^2): peaks 1 at p = 1 and
    ``height`` at p = 2.004 (by construction); scanned at 2 the second reads height - 8e-5."""
    def prob(p):
        p = np.asarray(p, float)
        revenue = np.maximum(1.0 - (p - 1.0) ** 2, height - 5.0 * (p - 2.004) ** 2)
        return np.where(p > 0, revenue / np.where(p > 0, p, 1.0), 0.0)
    return prob


@pytest.mark.parametrize("polish", [False, True])
def test_the_higher_peak_wins_though_its_scanned_value_is_lower(polish):
    best = maximize_price_revenue(two_peaks(1.00005), CANDIDATES, polish=polish)
    assert best.price == pytest.approx(2.004, abs=1e-7) and best.revenue == pytest.approx(1.00005, rel=1e-12)


def test_a_lower_second_peak_leaves_the_first():
    best = maximize_price_revenue(two_peaks(0.99999), CANDIDATES)
    assert best.price == pytest.approx(1.0, abs=1e-7) and best.revenue == pytest.approx(1.0, rel=1e-12)
