"""The closed-form laws give scipy.stats' values bit for bit (so numbers do not depend on which is used)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from agora.market.frozen_laws import FrozenExponential, FrozenPareto, FrozenUniform

PAIRS = [
    (FrozenUniform(0.3, 1.7), stats.uniform(loc=0.3, scale=1.7)),
    (FrozenUniform(0.0, 1e-9), stats.uniform(loc=0.0, scale=1e-9)),
    (FrozenExponential(scale=2.5), stats.expon(scale=2.5)),
    (FrozenExponential(scale=1e9), stats.expon(scale=1e9)),
    (FrozenPareto(1 / (1 - 0.3), scale=1.5), stats.pareto(1 / (1 - 0.3), scale=1.5)),
    (FrozenPareto(1.0, scale=1.0), stats.pareto(1.0, scale=1.0)),
]
EDGES = [-np.inf, -1.0, -0.0, 0.0, 0.3, 1.5, 2.0, 1e300, np.inf, np.nan]
QEDGES = [0.0, 1e-300, 0.5, 1 - 1e-16, 1.0, -0.1, 1.1, np.nan]


@pytest.mark.parametrize("ours,theirs", PAIRS, ids=lambda p: type(p).__name__)
def test_same_values_as_scipy(ours, theirs):
    rng = np.random.default_rng(7)
    lo, hi = theirs.support()
    top = hi if np.isfinite(hi) else 50 * max(lo, 1.0)
    x = np.concatenate([rng.uniform(lo - (top - lo), 2 * top, 2000), EDGES])
    q = np.concatenate([rng.random(2000), QEDGES])
    assert ours.support() == tuple(float(s) for s in theirs.support())
    for method, arg in (("cdf", x), ("sf", x), ("pdf", x), ("logpdf", x), ("ppf", q), ("isf", q)):
        with np.errstate(all="ignore"):  # scipy warns where the standardized value overflows
            expected = getattr(theirs, method)(arg)
        np.testing.assert_array_equal(getattr(ours, method)(arg), expected, err_msg=method)
    assert ours.mean() == theirs.mean()
