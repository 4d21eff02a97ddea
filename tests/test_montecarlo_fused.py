"""The block-fused seller-first Monte Carlo gives the matrix evaluator's numbers bit for bit.

The reference is the unfused path: ``column_stack([b.rvs(m, rng) ...])`` per chunk, then
``rng.random((m, n))`` priorities (ties possible) and ``rng.random(m)`` lotteries, played by
:func:`seller_first_rounds`. Chunks and blocks are made small so that every test crosses
several chunk and block boundaries, a partial last chunk included.
"""

from dataclasses import fields

import numpy as np
import pytest

from agora.market.distributions import parse_spec
from agora.market.single_item import fused_kernels, montecarlo
from agora.market.single_item.inplace_laws import (
    draw_into,
    draw_one,
    draw_runs,
    draws_in_place,
    profile_draw,
    thresholds_in_closed_form,
    virtual_in_place,
    virtual_into,
)
from agora.market.single_item.montecarlo import (
    Rounds,
    estimate,
    fused_seller_first,
    priority_rows,
    seller_first_rounds,
    simulate_seller_first,
    ties_possible,
)
from agora.market.single_item.scores import VirtualScore
from agora.market.single_item.seller_mechanisms import Menu

MARKETS = [
    ["uniform:0,1", "uniform:0,1"],
    ["exponential:1", "uniform:0,2", "pareto:0.5,1,50"],  # capped Pareto: an atom of phi at the cap
    ["pareto:0.3,1,1e4"],
    ["point:1", "point:1", "uniform:0,2"],  # ties at the atoms, on most rounds
    ["pareto:0,1,5", "pareto:0,1,5", "uniform:1,3"],  # equal revenue: phi = 0 on a whole interval
    ["pareto:0.5,2", "pareto:0.5,2", "exponential:2", "pareto:0.5,2"],  # uncapped, one law repeated
    ["beta:2,3,0,1", "truncnorm:1,0.5,0,3", "uniform:0,1"],  # no in-place kernel: the laws' own methods
    ["pareto:0.4,1,3", "pareto:0.4,1,4"],  # ties only at the top cap, so priorities for few rounds
]
MENUS = [Menu.posted(0.4), Menu.of([(0.5, 0.2), (1.0, 0.6), (0.8, 0.4)])]


def _reference_chunks(bidders, menu, rounds, rng, chunk):
    tie = ties_possible([VirtualScore(b) for b in bidders])
    for done in range(0, rounds, chunk):
        m = min(chunk, rounds - done)
        values = np.column_stack([b.rvs(m, rng) for b in bidders])
        priority = rng.random(values.shape) if tie else None
        lottery = None if menu.is_posted_price else rng.random(m)
        yield seller_first_rounds(bidders, menu, values, priority=priority, lottery=lottery)


@pytest.mark.parametrize("menu", MENUS, ids=["posted", "menu"])
@pytest.mark.parametrize("specs", MARKETS)
def test_fused_rounds_equal_the_matrix_rounds_bit_for_bit(specs, menu, monkeypatch):
    """5,003 rounds in chunks of 3,000 values and blocks of 256: every array of every chunk, and the stream."""
    monkeypatch.setattr(montecarlo, "CHUNK_VALUES", 3000)
    bidders = [parse_spec(s) for s in specs]
    chunk = 3000 // len(bidders)
    rng_ref, rng_new = np.random.default_rng(17), np.random.default_rng(17)
    ref = list(_reference_chunks(bidders, menu, 5003, rng_ref, chunk))
    new = [Rounds(*(getattr(r, f.name).copy() for f in fields(Rounds)))  # arrays are reused per chunk
           for r in fused_seller_first(bidders, menu, 5003, rng_new, block=256)]
    assert len(new) == len(ref) >= 2
    for a, b in zip(ref, new):
        for f in fields(Rounds):
            np.testing.assert_array_equal(getattr(a, f.name), getattr(b, f.name), err_msg=f.name)
    assert rng_new.bit_generator.state == rng_ref.bit_generator.state
    assert sum(int(r.delivered.sum()) for r in ref) > 500  # the comparison covered real sales


def test_simulate_seller_first_means_equal_the_unfused_estimate():
    """600,000 rounds of two bidders: three chunks of the default size; the means agree exactly."""
    specs = ["exponential:1", "pareto:0.5,1,50"]
    bidders = [parse_spec(s) for s in specs]
    menu = Menu.posted(0.8)
    tie = ties_possible([VirtualScore(b) for b in bidders])

    def play(values, rng):
        return seller_first_rounds(bidders, menu, values, priority=rng.random(values.shape) if tie else None)

    ref = estimate(bidders, 600_000, np.random.default_rng(2), play)
    new = simulate_seller_first(specs, menu, 600_000, np.random.default_rng(2))
    assert new.mean == ref.mean
    assert new.stderr == ref.stderr


@pytest.mark.parametrize("spec", ["uniform:0,1", "uniform:0.5,2.75", "exponential:0.7", "pareto:0.5,1,50",
                                  "pareto:0,1,5", "pareto:0.8,0.3"])
def test_in_place_kernels_equal_the_laws_methods(spec):
    """draw_into = rvs and virtual_into = virtual_value bit for bit, on odd sizes and slices of a row."""
    b = parse_spec(spec)
    assert draws_in_place(b) and virtual_in_place(b) and thresholds_in_closed_form(b)
    for size in (1, 7, 1000, 4099):
        row = np.empty((2, size))
        draw_into(b, rng := np.random.default_rng(size), row[1])
        expected_rng = np.random.default_rng(size)
        np.testing.assert_array_equal(row[1], b.rvs(size, expected_rng))
        assert rng.bit_generator.state == expected_rng.bit_generator.state
        probe = np.concatenate([row[1], [b.lo, b.hi, np.nextafter(b.hi, 0.0)]])
        probe = probe[np.isfinite(probe)]
        phi, mask = np.empty(probe.size), np.empty(probe.size, bool)
        virtual_into(b, probe, phi, mask)
        np.testing.assert_array_equal(phi, b.virtual_value(probe))


@pytest.mark.parametrize("specs,runs", [
    (["uniform:0,1"] * 10, [10]),
    (["uniform:0,1"] * 3 + ["exponential:1"] * 2 + ["pareto:0.5,1,50"] * 4 + ["uniform:0,1"], [3, 2, 4, 1]),
    (["beta:2,3,0,1"] * 2 + ["point:1"] * 2 + ["uniform:0,2", "uniform:0,3", "pareto:0.3,1", "pareto:0.3,1"],
     [1, 1, 1, 1, 1, 1, 2]),
])
def test_draw_runs_give_one_draw_per_law(specs, runs):
    """Run after run, ``law.rvs(count)`` is bit for bit one ``rvs(1)`` per law in order (500 rounds),
    and so is :func:`profile_draw`, the generators left in the same state; only neighbouring equal
    laws with numpy draws are merged."""
    laws = [parse_spec(s) for s in specs]
    grouped = draw_runs(laws)
    assert [count for _, count in grouped] == runs
    draw = profile_draw(laws)
    a, b, c = np.random.default_rng(8), np.random.default_rng(8), np.random.default_rng(8)
    for _ in range(500):
        one_by_one = [law.rvs(1, b)[0] for law in laws]
        np.testing.assert_array_equal(np.concatenate([law.rvs(count, a) for law, count in grouped]), one_by_one)
        np.testing.assert_array_equal(draw(c), one_by_one)
    assert a.bit_generator.state == b.bit_generator.state == c.bit_generator.state


@pytest.mark.parametrize("spec", ["uniform:0,1", "uniform:0.5,2.75", "exponential:0.7", "pareto:0.5,1,50",
                                  "pareto:0,1,5", "pareto:0.8,0.3"])
def test_scalar_draw_is_one_rvs(spec):
    """draw_one = rvs(1)[0] bit for bit, 2,000 draws, the generator left in the same state."""
    b, x, y = parse_spec(spec), np.random.default_rng(3), np.random.default_rng(3)
    got = [draw_one(b, x) for _ in range(2000)]
    assert all(type(v) is float for v in got)
    np.testing.assert_array_equal(got, [b.rvs(1, y)[0] for _ in range(2000)])
    assert x.bit_generator.state == y.bit_generator.state


def test_laws_without_kernels_are_recognised():
    for spec in ("beta:2,3,0,1", "truncnorm:1,0.5,0,3", "point:1"):
        b = parse_spec(spec)
        assert not virtual_in_place(b)
        assert not thresholds_in_closed_form(b)


@pytest.mark.parametrize("rows", [[], [0], [3, 4, 99], [0, 57, 199]])
@pytest.mark.parametrize("bit_generator", [np.random.PCG64, np.random.PCG64DXSM, np.random.MT19937])
def test_priority_rows_skip_ahead_exactly(rows, bit_generator):
    """The rows of rng.random((200, 7)), with the generator left where the full draw leaves it."""
    rows = np.array(rows, np.intp)
    a, b = np.random.Generator(bit_generator(5)), np.random.Generator(bit_generator(5))
    a.integers(0, 10, dtype=np.uint32)  # a buffered 32-bit half, which advance() would drop
    b.integers(0, 10, dtype=np.uint32)
    np.testing.assert_array_equal(priority_rows(a, rows, 200, 7), b.random((200, 7))[rows])
    np.testing.assert_array_equal(a.random(9), b.random(9))
    np.testing.assert_array_equal(a.integers(0, 2**32 - 1, 5, dtype=np.uint32),
                                  b.integers(0, 2**32 - 1, 5, dtype=np.uint32))


CLOSED_FORM = ["uniform:0,1", "uniform:0.5,2.75", "exponential:0.7", "pareto:0.5,1,50", "pareto:0,1,5",
               "pareto:0.8,0.3", "pareto:0.4,1,3"]


def test_compiled_fold_equals_the_array_fold():
    """fold_block after numpy's draw = draw_into, virtual_into and the array fold, bit for bit, bidder by bidder.

    Seven laws over 4,099 rounds in blocks of 1,000; values, top phi, best rival, winner and the stream.
    """
    bidders = [parse_spec(s) for s in CLOSED_FORM]
    assert all(fused_kernels.compiled(b) for b in bidders)
    m, width = 4099, 1000
    laws = fused_kernels.law_table(bidders)
    rng_a, rng_b = np.random.default_rng(4), np.random.default_rng(4)
    ref, new = montecarlo._TopOfRounds(m, width), montecarlo._TopOfRounds(m, width)
    ref.reset(m)
    new.Phi[:], new.rival[:], new.winner[:] = np.nan, np.nan, 7  # the first bidder starts the rounds afresh
    values_a, values_b = np.empty((len(bidders), m)), np.empty((len(bidders), m))
    phi, mask = np.empty(width), np.empty(width, bool)
    for i, b in enumerate(bidders):
        for lo in range(0, m, width):
            at = slice(lo, min(lo + width, m))
            w = at.stop - at.start
            draw_into(b, rng_a, values_a[i, at])
            virtual_into(b, values_a[i, at], phi[:w], mask[:w])
            ref.add(i, at, phi[:w])
            fused_kernels.draw_head(b, rng_b, values_b[i, at])
            fused_kernels.fold_block(values_b[i, at], laws[i], i, new.Phi[at], new.rival[at], new.winner[at])
    np.testing.assert_array_equal(values_b, values_a)
    for name in ("Phi", "rival", "winner"):
        np.testing.assert_array_equal(getattr(new, name), getattr(ref, name), err_msg=name)
    assert rng_a.bit_generator.state == rng_b.bit_generator.state
    assert len(set(ref.winner.tolist())) >= 4  # several laws win rounds


@pytest.mark.parametrize("spec", CLOSED_FORM)
def test_compiled_threshold_equals_virtual_threshold(spec):
    """The kernel's phi^-1 = the law's virtual_threshold, bit for bit, at its breakpoints and on a grid past them."""
    b = parse_spec(spec)
    row = fused_kernels.law_row(b)
    ends = [b.phi_lo, b.phi_top, b.hi]
    finite = [x for x in ends if np.isfinite(x)]
    t = np.concatenate([np.linspace(min(finite) - 2.0, max(finite) + 2.0, 2001), finite,
                        np.nextafter(finite, np.inf), np.nextafter(finite, -np.inf)])
    got = np.array([fused_kernels._threshold(row, x) for x in t])
    np.testing.assert_array_equal(got, b.virtual_threshold(t))


def test_laws_without_compiled_kernels_are_recognised():
    for spec in ("beta:2,3,0,1", "truncnorm:1,0.5,0,3", "point:1"):
        assert not fused_kernels.compiled(parse_spec(spec))
