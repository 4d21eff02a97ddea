"""Intermediary-first on small mixed markets: the solver against recorded outcomes and independent formulas.

RECORDED holds the outcomes that the solver gave at commit 7439950 (before the parameter scan was
made coarse, the seller's candidates tabulated once per law and the optima sharpened by the roots
of five-point derivatives), printed with ``repr``. The intermediary's revenue (the objective) and OPT
must agree to 1e-9.
Commitments and what follows from them (the seller's price and revenue, welfare) only to 1e-5: the
intermediary's revenue is flat at its optimum, and the old search, comparing revenues with ~1e-12
noise, pinned the optimum to ~1e-6 only; that the new ones are the sharper is checked by the
first-order condition below.

Re-recorded since: the posted-price and second-price rows of the first market and the shifted-Myerson
row (and the totals) of the last, once the seller's price search refined every near-best peak of its
revenue and not only the best scanned one. There the seller is all but indifferent between two prices;
at the last market's old commitment (anticipated price 2.7933140663833114, OLD_MYERSON) its best price is
about 1.803, not the 0.75605 recorded, so that row was no Stackelberg outcome (checked below).

The posted-price and second-price classes are checked against the auctions' revenue written directly
from the value laws (no threshold identity, no score law), by scipy's adaptive quadrature:

    second price, reserve r, seller price p:  r H1(r + p) + integral_{r+p}^inf H2(u) du,
    posted price q:                            q H1(q + p),   the seller earning p H1(a + p),

H1(u) = P[max_i v_i >= u] and H2(u) = P[second-highest v >= u] (a bid for the right is v - p).
"""

import math

import numpy as np
import pytest
from scipy import integrate, optimize

from agora.market.distributions import parse_spec
from agora.market.single_item.intermediary_first import solve_intermediary_first
from agora.market.single_item.right_auctions import ShiftedMyersonRight

# bidders: (seller price, seller revenue, intermediary revenue, welfare, OPT),
#          {class: (parameter, seller price, seller revenue, intermediary revenue)}
RECORDED = {
    ("uniform:0,1", "exponential:1"): (
        (0.38136876986449103, 0.13981197166221357, 0.3070737297144911, 0.7018962195496359, 0.5502117996604237),
        {"posted_price": (0.34103273803934614, 0.5263180665661455, 0.26157539180786155, 0.1694902336413313),
         "second_price_auction": (0.34103273803934614, 0.5263180665661455, 0.26157539180786155,
                                  0.17302777599222557),
         "shifted_myerson": (0.070901504233164, 0.38136876986449103, 0.13981197166221357, 0.3070737297144911)}),
    ("uniform:0.5,1.5", "exponential:0.7", "uniform:0,2"): (
        (0.5019188423867118, 0.2694059973291711, 0.4716797051578021, 0.9153890880575885, 0.9560877506344995),
        {"posted_price": (0.9895135178863491, 0.40940736724683585, 0.18688014981143541, 0.4516783264223748),
         "second_price_auction": (0.9624159160011874, 0.42534336473872936, 0.19941747734060927,
                                  0.46321816659809045),
         "shifted_myerson": (0.0, 0.5019188423867118, 0.2694059973291711, 0.4716797051578021)}),
    ("exponential:1", "pareto:0.5,1,20", "uniform:0,1", "exponential:2"): (
        (0.7560412307824685, 0.430439107722771, 0.8291667223468064, 2.0545546770722525, 1.6276408877865582),
        {"posted_price": (1.7391405235083834, 1.935813160157984, 0.4669383807658264, 0.41949888382046235),
         "second_price_auction": (1.5819772861550325, 1.9185870976320287, 0.5066152419649451,
                                  0.43735338172935334),
         "shifted_myerson": (2.793760767108448, 0.7560412307824685, 0.430439107722771, 0.8291667223468064)}),
}
# rows whose best parameter sits where the seller's answer jumps: the revenue is a supremum approached
# from one side (no smooth maximum), so a search that gets closer finds a little more (3e-9 here)
ON_A_JUMP = {(("uniform:0,1", "exponential:1"), "second_price_auction")}
OLD_MYERSON = 2.7933140663833114  # the last market's shifted-Myerson commitment at commit 7439950
TOTALS = ("seller_price", "seller_revenue", "intermediary_revenue", "welfare", "no_intermediary_optimal_revenue")


def _survivals(specs, u) -> np.ndarray:
    """S_j(u) = P[v_j >= u], one row per bidder."""
    return np.array([parse_spec(s).prob_at_least(np.asarray(u, float)) for s in specs])


def _top(specs, u):
    """H1(u) = 1 - prod (1 - S_j(u))."""
    return 1.0 - np.prod(1.0 - _survivals(specs, u), axis=0)


def _second(specs, u):
    """H2(u) = 1 - P[no v >= u] - P[exactly one v >= u]."""
    s = _survivals(specs, u)
    none = np.prod(1.0 - s, axis=0)
    one = sum(s[i] * np.prod(np.delete(1.0 - s, i, axis=0), axis=0) for i in range(len(specs)))
    return 1.0 - none - one


def _second_price_revenue(specs, r: float, p: float) -> float:
    ends = sorted({x for s in specs for x in (parse_spec(s).lo, parse_spec(s).hi) if math.isfinite(x)
                   and x > r + p})
    cuts = [r + p, *ends, max(ends, default=r + p) + 60.0]
    tail = sum(integrate.quad(lambda u: float(_second(specs, u)), a, b, epsabs=1e-14, epsrel=1e-12, limit=200)[0]
               for a, b in zip(cuts[:-1], cuts[1:]))
    return r * _top(specs, r + p) + tail


@pytest.mark.parametrize("bidders", list(RECORDED), ids="+".join)
def test_search_finds_the_recorded_commitments(bidders):
    totals, classes = RECORDED[bidders]
    sol = solve_intermediary_first(list(bidders))
    for key, expected in zip(TOTALS, totals):
        rel = 1e-9 if key in ("intermediary_revenue", "no_intermediary_optimal_revenue") else 1e-5
        assert getattr(sol, key) == pytest.approx(expected, rel=rel, abs=1e-15), key
    for name, expected in classes.items():
        row = sol.by_class[name]
        parameter = next(v for k, v in row["commitment"].items() if k != "class")
        assert (parameter, row["seller_price"]) == pytest.approx(expected[:2], rel=1e-5, abs=1e-15), name
        if (bidders, name) in ON_A_JUMP:  # a supremum approached from one side: closer is higher
            assert expected[3] * (1 - 1e-9) <= row["intermediary_revenue"] <= expected[3] * (1 + 1e-8), name
        else:
            assert row["intermediary_revenue"] == pytest.approx(expected[3], rel=1e-9), name
        assert row["seller_revenue"] == pytest.approx(expected[2], rel=1e-5), name


def _density_of_top(specs, u):
    """h(u) = -H1'(u) = sum_j f_j(u) prod_{k != j} (1 - S_k(u))."""
    s = _survivals(specs, u)
    f = np.array([parse_spec(b).pdf(np.asarray(u, float)) for b in specs])
    return sum(f[j] * np.prod(np.delete(1.0 - s, j, axis=0), axis=0) for j in range(len(specs)))


def _seller_answer(specs, q: float) -> float:
    """argmax_p p H1(q + p): the best of a fine grid, sharpened by the root of H1(t) - p h(t)."""
    grid = np.linspace(1e-6, 30.0, 300001)
    k = int(np.argmax(grid * _top(specs, q + grid)))
    return optimize.brentq(lambda p: float(_top(specs, q + p) - p * _density_of_top(specs, q + p)),
                           grid[k - 1], grid[k + 1], xtol=1e-15, rtol=1e-15)


@pytest.mark.parametrize("bidders", list(RECORDED)[1:], ids="+".join)
def test_posted_price_commitment_solves_the_first_order_condition(bidders):
    """R(q) = q H1(q + p*(q)) with the seller's answer found by the test itself: its derivative
    (five-point, step 1e-4) vanishes at the solver's price for the right to 1e-9, while at the
    price recorded before the sharpening it is ~100 times larger. (In the first market the best
    price for the right sits where the seller's answer jumps, no smooth maximum: unchanged.)"""
    q_new = solve_intermediary_first(list(bidders), classes=["posted_price"]).intermediary_commitment["price"]
    q_old = RECORDED[bidders][1]["posted_price"][0]

    def revenue(q):
        return q * float(_top(bidders, q + _seller_answer(bidders, q)))

    def slope(q, h=1e-4):
        return (8 * (revenue(q + h) - revenue(q - h)) - (revenue(q + 2 * h) - revenue(q - 2 * h))) / (12 * h)

    assert abs(slope(q_new)) <= 1e-9
    assert abs(slope(q_new)) < abs(slope(q_old)) / 100 or abs(q_new - q_old) <= 1e-9 * q_old


@pytest.mark.parametrize("bidders", list(RECORDED), ids="+".join)
def test_value_score_classes_match_the_auctions_written_from_the_laws(bidders):
    """The recorded posted-price and second-price rows, by the formulas in the module docstring; the
    seller's price beats every price on a fine grid (Theorem 4.1: it maximizes p H1(a + p))."""
    _, classes = RECORDED[bidders]
    q, p, seller, inter = classes["posted_price"]
    assert seller == pytest.approx(p * _top(bidders, q + p), rel=1e-12)
    assert inter == pytest.approx(q * _top(bidders, q + p), rel=1e-12)
    r, p, seller, inter = classes["second_price_auction"]
    assert seller == pytest.approx(p * _top(bidders, r + p), rel=1e-12)
    assert inter == pytest.approx(_second_price_revenue(bidders, r, p), rel=1e-9)
    for a, (_, p, seller, _) in ((q, classes["posted_price"]), (r, classes["second_price_auction"])):
        grid = np.linspace(0.0, 4.0 * p + 1.0, 4001)
        assert np.max(grid * _top(bidders, a + grid)) <= seller * (1 + 1e-12)


def test_the_seller_answers_the_myerson_commitments_globally():
    """The last market under shifted Myerson: on a 2,000,001-point grid of prices over [0, 20] the seller's
    best answer to the recorded commitment is the recorded price (to the grid's step), and to the old
    commitment it is about 1.803, which earns the seller more than the 0.75605 recorded there."""
    bidders = list(RECORDED)[2]
    laws = tuple(parse_spec(b) for b in bidders)
    grid = np.linspace(0.0, 20.0, 2000001)
    recorded = RECORDED[bidders][1]["shifted_myerson"]
    for anticipated, price in ((recorded[0], recorded[1]), (OLD_MYERSON, 1.803)):
        revenue = grid * ShiftedMyersonRight(anticipated).sale_curve(laws)(grid)
        assert grid[np.argmax(revenue)] == pytest.approx(price, abs=2e-5)
    old = ShiftedMyersonRight(OLD_MYERSON).sale_curve(laws)
    assert 1.803 * float(old(np.array(1.803))) > 0.756049782373285 * float(old(np.array(0.756049782373285)))
