"""The posted-fees Reset's faster path gives the numbers of the path before, bit for bit.

The faster path computes only the payoff a player's best response and first-order condition need
(:func:`~agora.market.learning.k_selection.expected_payoff`), keeps the rationing weights per market, and
runs BLAS on one thread (:mod:`agora.market.blas`). The path before is put back by hand: every player's
payoff taken as an entry of all three (:func:`~agora.market.learning.k_selection.expected_payoffs`), the
weights built afresh at each call, BLAS on the threads it has by default.
"""

from __future__ import annotations

import contextlib
import functools
from types import SimpleNamespace

import numpy as np
import pytest
from threadpoolctl import threadpool_info, threadpool_limits

from agora.experiments.dashboard import page, posted_fees_view, views  # noqa: F401  (views registers every view)
from agora.market import blas
from agora.market.learning import k_selection
from agora.market.learning.k_selection import KItemMarket, expected_payoff, expected_payoffs

GRID = np.linspace(0.0, 1.0, 7)
SHAPES = [  # price arguments as the solvers pass them: a profile, a scan of one player, the fee plane, the grid
    (0.6, 0.2, 0.25),
    (GRID, 0.2, 0.25), (0.6, GRID, 0.25), (0.6, 0.2, GRID),
    (0.5, GRID[:, None], GRID[None, :]),
    (GRID[:, None, None], GRID[None, :, None], GRID[None, None, :]),
]


@pytest.mark.parametrize("blocks, items", [((100, 100), 20), ((3, 5), 2), ((4, 4), 30)])
@pytest.mark.parametrize("prices", SHAPES)
def test_one_players_payoff_is_its_entry_of_all_three_bit_for_bit(blocks, items, prices):
    every = expected_payoffs("beta:2,3,0,1", blocks, items, *prices)
    for i in range(3):
        alone = expected_payoff("beta:2,3,0,1", blocks, items, i, *prices)
        assert alone.shape == every[i].shape
        np.testing.assert_array_equal(alone, every[i])


def blas_threads() -> list[int]:
    return [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"]


def test_one_blas_thread_while_the_call_runs_and_the_limit_restored_after():
    with threadpool_limits(limits=2, user_api="blas"):
        before = blas_threads()
        during = blas.one_blas_thread(blas_threads)()
        assert during == [1] * len(before) and blas_threads() == before


def cold() -> None:
    """Every solution the posted-fees view and the k-item market keep dropped."""
    for module in (posted_fees_view, k_selection):
        for value in vars(module).values():
            if isinstance(value, functools._lru_cache_wrapper):
                value.cache_clear()


@pytest.fixture
def path_before(monkeypatch):
    """The solvers as they ran before: all three payoffs for one, fresh weights, BLAS's default threads."""
    monkeypatch.setattr(KItemMarket, "payoff", lambda self, i, ps, f1, f2: self.payoffs(ps, f1, f2)[i])
    monkeypatch.setattr(k_selection, "rationing_weights", k_selection.rationing_weights.__wrapped__)
    monkeypatch.setattr(blas, "_controller", lambda: SimpleNamespace(limit=lambda **_: contextlib.nullcontext()))


def reset_numbers(items: int) -> list[np.ndarray]:
    """What the page's Reset of 200 uniform buyers in two blocks solves (cold), and 30 rounds of hedge."""
    cold()
    m = page.prepared({"protocol": "posted-fees", "bidders": "uniform:0,1", "buyers": 200, "intermediaries": 2,
                       "items": items, "rule": "hedge", "rate": 0.5, "seed": 7})
    ref, plane = m.view.reference(m.market), m.view.price_plane(m.market)
    for _ in range(30):
        m.step()
    return [*m.market.k_market.game().payoffs, np.array([ref.bands[c] for c in sorted(ref.bands)]),
            plane.grid, plane.x_best, plane.y_best, plane.equilibria, m.view.series(m.market).to_numpy(float)]


@pytest.mark.parametrize("items", [5, 20])
def test_reset_gives_the_numbers_of_the_path_before_bit_for_bit(items, request):
    now = reset_numbers(items)
    request.getfixturevalue("path_before")
    before = reset_numbers(items)
    cold()
    assert len(now) == len(before)
    for a, b in zip(now, before):
        np.testing.assert_array_equal(a, b)
