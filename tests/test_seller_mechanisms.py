"""Seller mechanisms facing a monopolist intermediary (monopolist-intermediary, Def. 2.2, Thm 2.3, Lemma 3.10)."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agora.market.errors import InputError
from agora.market.single_item.seller_mechanisms import (
    FirstPriceAuction,
    MechanismError,
    Menu,
    MenuOption,
    PostedPrice,
    Region,
    SecondPriceAuction,
    minimum_payment_by_search,
)

RESERVES = [0.0, 0.3, 1.0, 2.5]


def _grid(reserve):
    """Bid grid with values below, at and above the reserve."""
    return sorted({0.0, 0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0,
                   reserve, reserve + 0.05, max(0.0, reserve - 0.05)})


def _mechanisms():
    for r in RESERVES:
        yield PostedPrice(r)
        yield SecondPriceAuction(reserve=r)
        yield FirstPriceAuction(reserve=r)


MECHS = list(_mechanisms())


@pytest.mark.parametrize("mech", MECHS, ids=repr)
@pytest.mark.parametrize("n_slots", [1, 2, 3])
def test_minimum_payment_matches_brute_force(mech, n_slots):
    """Definition 2.2 / Theorem 2.3: p(M) is the least payment over winning dictated bid vectors."""
    r = mech.minimum_payment
    pay, bids = minimum_payment_by_search(mech, n_slots, _grid(r))
    assert pay == pytest.approx(r, abs=1e-12)
    slot, again = mech.outcome(bids)
    assert slot is not None and again == pay


@pytest.mark.parametrize("mech", MECHS, ids=repr)
@pytest.mark.parametrize("n_slots", [1, 2, 3])
def test_cheapest_winning_bids_win_at_minimum_payment(mech, n_slots):
    """The dictated vector (p(M), 0, ...) wins and pays exactly p(M)."""
    bids = mech.cheapest_winning_bids(n_slots)
    assert len(bids) == n_slots
    slot, pay = mech.outcome(bids)
    assert slot is not None
    assert pay == mech.minimum_payment


@pytest.mark.parametrize("r", RESERVES)
def test_minimum_payments_are_the_reserves(r):
    """Hand values: posted price p -> p; second- and first-price with reserve r -> r."""
    assert PostedPrice(r).minimum_payment == r
    assert SecondPriceAuction(reserve=r).minimum_payment == r
    assert FirstPriceAuction(reserve=r).minimum_payment == r


def test_outcomes_by_hand():
    """Hand-worked outcomes of each auction."""
    assert SecondPriceAuction(reserve=1.0).outcome([2.0, 1.5, 0.5]) == (0, 1.5)
    assert SecondPriceAuction(reserve=1.0).outcome([2.0, 0.5]) == (0, 1.0)
    assert SecondPriceAuction(reserve=1.0).outcome([0.9, 0.5]) == (None, 0.0)
    assert FirstPriceAuction(reserve=1.0).outcome([0.5, 2.0]) == (1, 2.0)
    assert FirstPriceAuction(reserve=1.0).outcome([0.5, 0.99]) == (None, 0.0)
    assert PostedPrice(1.0).outcome([0.5, 1.0, 3.0]) == (1, 1.0)
    assert PostedPrice(1.0).outcome([0.5]) == (None, 0.0)


def test_search_without_winning_vector_raises():
    """No bid on the grid reaches the reserve: the search says so."""
    with pytest.raises(MechanismError):
        minimum_payment_by_search(SecondPriceAuction(reserve=5.0), 2, [0.0, 1.0, 4.9])


@pytest.mark.parametrize("mech", MECHS, ids=repr)
def test_deterministic_mechanism_acts_as_posted_price(mech):
    """Theorem 2.3: to the intermediary a deterministic mechanism is the posted price p(M)."""
    menu = mech.menu()
    assert menu.is_posted_price
    assert menu.options == (MenuOption(1.0, mech.minimum_payment),)
    assert menu.regions == (Region(mech.minimum_payment, math.inf, 0),)


# ---------------------------------------------------------------------------
# Menus (Lemma 3.10)
# ---------------------------------------------------------------------------

def test_regions_two_option_menu_by_hand():
    """{(0.5, 0.2), (1, 0.6)}: 0.5(phi-0.2) >= 0 from 0.2; lines cross at phi = 1.0."""
    menu = Menu.of([(0.5, 0.2), (1.0, 0.6)])
    assert menu.regions == (Region(0.2, 1.0, 0), Region(1.0, math.inf, 1))
    assert menu.sale_threshold == 0.2
    np.testing.assert_array_equal(menu.choose([0.1, 0.2, 0.5, 0.999, 1.0, 5.0]),
                                  [-1, 0, 0, 0, 1, 1])


@pytest.mark.parametrize("p", [0.0, 0.7, 3.0])
def test_regions_posted_price(p):
    """Posted price p: one region [p, inf)."""
    menu = Menu.posted(p)
    assert menu.regions == (Region(p, math.inf, 0),)
    np.testing.assert_array_equal(menu.choose([p - 0.01, p, p + 1]), [-1, 0, 0])


def test_regions_dominated_option_never_chosen():
    """{(1, 1), (0.5, 2)}: the second option is dominated everywhere (0.5(phi-2) < phi-1 for phi >= 0)."""
    menu = Menu.of([(1.0, 1.0), (0.5, 2.0)])
    assert menu.regions == (Region(1.0, math.inf, 0),)


def test_regions_three_option_menu_by_hand():
    """{(0.25, 0), (0.5, 1), (1, 2)}: crossings 0.25 phi = 0.5(phi-1) at phi = 2 and
    0.5(phi-1) = phi-2 at phi = 3; 0.25 phi = phi - 2 at 8/3 lies inside option 1's range."""
    menu = Menu.of([(0.25, 0.0), (0.5, 1.0), (1.0, 2.0)])
    assert menu.regions == (Region(0.0, 2.0, 0), Region(2.0, 3.0, 1), Region(3.0, math.inf, 2))
    np.testing.assert_array_equal(menu.choose([-0.5, 0.0, 1.9, 2.0, 2.9, 3.0, 10.0]),
                                  [-1, 0, 0, 1, 1, 2, 2])


def test_tie_goes_to_larger_probability():
    """Equal-price options (0.5, 1) and (1, 1) both give 0 at phi = 1; the sale goes to probability 1."""
    menu = Menu.of([(0.5, 1.0), (1.0, 1.0)])
    assert menu.regions == (Region(1.0, math.inf, 1),)


def _brute_force(options, phi):
    """argmax of x_k (phi - p_k) among those >= 0, ties to larger x (exact arithmetic)."""
    best, key = -1, None
    for k, (x, p) in enumerate(options):
        u = Fraction(x) * (Fraction(phi) - Fraction(p))
        if u < 0:
            continue
        cand = (u, Fraction(x), -Fraction(p))
        if key is None or cand > key:
            best, key = k, cand
    return best


DYADIC_PROB = st.integers(1, 8).map(lambda k: k / 8)
DYADIC_PRICE = st.integers(0, 32).map(lambda k: k / 8)
DYADIC_MENU = st.lists(st.tuples(DYADIC_PROB, DYADIC_PRICE), min_size=1, max_size=5)
PHI_GRID = np.arange(-16, 6 * 16 + 1) / 16  # -1 .. 6 in steps of 1/16, exact in binary


@settings(max_examples=50, deadline=None)
@given(options=DYADIC_MENU)
def test_choose_matches_brute_force_on_dyadic_menus(options):
    """Lemma 3.10: the intermediary takes argmax x_k (phi - p_k) when >= 0, ties to larger x.

    Dyadic probabilities, prices and phi make every tie exact, so the tie rule is tested too.
    """
    menu = Menu.of(options)
    chosen = menu.choose(PHI_GRID)
    expected = [_brute_force(options, phi) for phi in PHI_GRID]
    # options equal as pairs are interchangeable: compare the chosen (x, p)
    got = [None if k < 0 else options[k] for k in chosen]
    want = [None if k < 0 else options[k] for k in expected]
    assert got == want


@settings(max_examples=50, deadline=None)
@given(options=st.lists(st.tuples(st.floats(0.01, 1.0), st.floats(0.0, 10.0)), min_size=1, max_size=6),
       phis=st.lists(st.floats(-2.0, 15.0), min_size=1, max_size=30))
def test_choose_achieves_max_utility_on_float_menus(options, phis):
    """On arbitrary float menus the chosen option's utility x_k (phi - p_k) is the best nonnegative one."""
    menu = Menu.of(options)
    chosen = menu.choose(np.array(phis))
    for phi, k in zip(phis, chosen):
        utils = [x * (phi - p) for x, p in options]
        best = max(utils)
        if k < 0:
            assert best <= 1e-9
        else:
            assert utils[k] >= -1e-9
            assert utils[k] >= best - 1e-9


@settings(max_examples=50, deadline=None)
@given(options=st.lists(st.tuples(st.floats(0.01, 1.0), st.floats(0.0, 10.0)), min_size=1, max_size=6))
def test_regions_are_contiguous_and_start_at_lowest_price(options):
    """Regions tile [min p_k, inf) without gaps; each region's option differs from the next."""
    menu = Menu.of(options)
    regs = menu.regions
    assert regs[0].start == pytest.approx(min(p for _, p in options))
    assert regs[-1].end == math.inf
    for a, b in zip(regs, regs[1:]):
        assert a.end == b.start and a.start < a.end
        assert a.option != b.option
        # the larger-probability option takes over as phi grows
        assert options[b.option][0] > options[a.option][0]


@pytest.mark.parametrize("x,p", [(0.0, 1.0), (-0.1, 1.0), (1.5, 1.0), (1.0000001, 0.0),
                                 (float("nan"), 1.0), (0.5, -1.0), (0.5, float("inf")),
                                 (0.5, float("nan"))])
def test_invalid_menu_option_raises(x, p):
    """Probability must be in (0, 1] and price in [0, inf)."""
    with pytest.raises(MechanismError):
        MenuOption(x, p)
    with pytest.raises(MechanismError):
        Menu.of([(1.0, 0.5), (x, p)])


def test_empty_menu_raises():
    """A menu needs at least one option."""
    with pytest.raises(MechanismError):
        Menu.of([])


@pytest.mark.parametrize("cls", [PostedPrice, SecondPriceAuction, FirstPriceAuction])
@pytest.mark.parametrize("bad", [-0.5, float("inf"), float("nan")])
def test_invalid_reserve_raises(cls, bad):
    """Prices and reserves must be finite and >= 0."""
    with pytest.raises(MechanismError):
        cls(bad)


def test_mechanism_error_is_input_error():
    """MechanismError is an InputError."""
    assert issubclass(MechanismError, InputError)


def test_describe():
    """describe() reports the class and p(M)."""
    assert SecondPriceAuction(reserve=0.4).describe() == {
        "class": "second_price_auction", "reserve": 0.4, "minimum_payment": 0.4}
    assert Menu.posted(0.7).describe()["minimum_payment"] == 0.7
    assert Menu.of([(0.5, 0.2), (1, 0.6)]).describe() == {"class": "menu",
                                                         "options": [[0.5, 0.2], [1.0, 0.6]]}
