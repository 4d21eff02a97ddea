"""Single-item solvers in any unit of value, and tails too heavy for plain quadrature (issue 15, item 4).

A market with every value times c is the same market in another currency: every price
and revenue is c times the original's, every probability the same. The reference is the
solver's answer at c = 1; the scaled markets are written out as new specs (so
0.37 * 1 = 0.37 is parsed from text, not passed as a scaled object).
"""


import pytest

from agora.market.errors import InputError
from agora.market.single_item.intermediary_first import solve_intermediary_first
from agora.market.single_item.seller_first import solve_seller_first
from agora.market.single_item.simultaneous import FIRST_ORDER, PricingGame, pure_equilibria

SCALES = (1e-12, 1e-9, 1e-7, 1e-3, 0.37, 3.3, 1e3, 1e9, 1e12)
VALUE_PARAMETERS = {"uniform": (0, 1), "exponential": (0,), "pareto": (1, 2), "point": (0,)}


def scaled(spec: str, c: float) -> str:
    family, body = spec.split(":")
    xs = [float(x) for x in body.split(",")]
    return family + ":" + ",".join(repr(x * c if i in VALUE_PARAMETERS[family] else x) for i, x in enumerate(xs))


def relative(a: float, b: float) -> float:
    return abs(a - b) / abs(b) if b else abs(a)


SELLER_FIRST_MARKETS = [
    ["uniform:0,1"], ["exponential:1", "exponential:1"], ["pareto:0.5,1,100"],
    ["uniform:0,1", "exponential:1"], ["uniform:0.5,1", "pareto:0.3,1"], ["point:1", "uniform:0,2"],
]


@pytest.mark.parametrize("bidders", SELLER_FIRST_MARKETS, ids="+".join)
def test_seller_first_scales_with_the_unit_of_value(bidders):
    base = solve_seller_first(bidders)
    for c in SCALES:
        sol = solve_seller_first([scaled(b, c) for b in bidders])
        for key in ("seller_price", "seller_revenue", "intermediary_revenue",
                    "no_intermediary_optimal_revenue", "welfare"):
            assert relative(getattr(sol, key), c * getattr(base, key)) <= 1e-9, (c, key)
        assert sol.sale_probability == pytest.approx(base.sale_probability, rel=1e-9)


def test_seller_first_was_wrong_below_1e_minus_7():
    """The issue's instances: U[0, 1e-7] gave seller price 0, and the mixed market a 38% lower revenue."""
    one = solve_seller_first(["uniform:0,1e-7"])
    assert one.seller_price == pytest.approx(1e-7 / 2, rel=1e-9)  # phi(v) = 2v - 1e-7: max p P[phi >= p]
    assert one.seller_revenue == pytest.approx(1e-7 / 8, rel=1e-9)  # p (1 - (p + 1e-7) / 2e-7) at p = 1e-7 / 2
    mixed = solve_seller_first(["uniform:0,1e-7", "exponential:1e-7"])
    assert mixed.seller_revenue == pytest.approx(1e-7 * solve_seller_first(["uniform:0,1", "exponential:1"])
                                                 .seller_revenue, rel=1e-9)


SIMULTANEOUS_MARKETS = [
    ["uniform:0,1"], ["exponential:1", "exponential:1"], ["uniform:0,1", "uniform:0,1"],
    ["uniform:0,1", "exponential:1"], ["uniform:0.8137,1"], ["pareto:0.2,1,1e3"],
]


@pytest.mark.parametrize("bidders", SIMULTANEOUS_MARKETS, ids="+".join)
def test_simultaneous_equilibria_scale_with_the_unit_of_value(bidders):
    """Every equilibrium to 1e-9; with a segment, its ends (bisection on the verifier, about 1e-9 of
    the total) to 1e-8."""
    base = pure_equilibria(PricingGame(bidders), 201)
    assert base.equilibria

    def rows(found):
        return sorted((e.seller_price, e.intermediary_price, e.seller_revenue, e.intermediary_revenue)
                      for e in found.equilibria)

    for c in SCALES:
        found = pure_equilibria(PricingGame([scaled(b, c) for b in bidders]), 201)
        assert len(found.equilibria) == len(base.equilibria), c
        if not base.continuum:  # on a segment, where refinement lands on it depends on rounding
            for row, ref in zip(rows(found), rows(base)):
                assert all(relative(x, c * y) <= 1e-9 for x, y in zip(row, ref)), (c, row, ref)
        else:
            ends, ref = found.continuum["seller_price"], base.continuum["seller_price"]
            assert all(relative(x, c * y) <= 1e-8 for x, y in zip(ends, ref)), c


INTERMEDIARY_FIRST_MARKETS = [
    ["uniform:0,1"], ["exponential:1", "exponential:1"], ["uniform:0,1", "uniform:0,1"],
    ["uniform:0,1", "exponential:1"], ["point:1", "uniform:0,2"],
    ["uniform:0.5,1.5", "exponential:0.7", "uniform:0,2"],
]


def _numbers(d: dict, prefix: str = "") -> dict:
    """Every number in a solution's dict, by dotted key (the class of a commitment is a string)."""
    out = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(_numbers(v, f"{prefix}{k}."))
        elif isinstance(v, int | float) and not isinstance(v, bool):
            out[prefix + k] = v
    return out


@pytest.mark.slow
@pytest.mark.parametrize("bidders", INTERMEDIARY_FIRST_MARKETS, ids="+".join)
def test_intermediary_first_scales_with_the_unit_of_value(bidders):
    """Every number of the solution, each class's commitment, seller price and revenues included, is c
    times the original's to 1e-9 (probabilities equal); the reported class is the same. Quadrature
    error bounds are left out: they are bounds, not values."""
    base = _numbers(solve_intermediary_first(bidders).to_dict())
    for c in SCALES:
        sol = _numbers(solve_intermediary_first([scaled(b, c) for b in bidders]).to_dict())
        assert sol.keys() == base.keys(), c
        for key, ref in base.items():
            if "error" not in key:
                assert relative(sol[key], ref if key == "sale_probability" else c * ref) <= 1e-9, (c, key)


HARD_INTERMEDIARY_FIRST_MARKETS = [["pareto:0.5,1,100"], ["uniform:0.5,1", "pareto:0.3,1"]]


@pytest.mark.slow
@pytest.mark.parametrize("bidders", HARD_INTERMEDIARY_FIRST_MARKETS, ids="+".join)
def test_intermediary_first_scales_where_the_optimum_is_not_smooth(bidders):
    """Two markets held to looser tolerances. pareto:0.5,1,100: the best price for the right, 1/2, is
    where the seller's revenue has a kink meeting a flat side (p (q + p)^-2 at p = q = 1/2), so past it
    the seller's two answers differ by ~2 (q - 1/2)^2, below rounding for q - 1/2 < 1e-8, and the
    intermediary gains ~1e-8 from the seller's indifference. uniform:0.5,1 + pareto:0.3,1: the
    uncapped tail's quadrature is accepted at ~1e-9. Revenues to 1e-7, the seller's price to 1e-4."""
    base = solve_intermediary_first(bidders)
    for c in SCALES:
        sol = solve_intermediary_first([scaled(b, c) for b in bidders])
        assert relative(sol.intermediary_revenue, c * base.intermediary_revenue) <= 1e-7, c
        assert relative(sol.no_intermediary_optimal_revenue, c * base.no_intermediary_optimal_revenue) <= 1e-9
        assert relative(sol.seller_price, c * base.seller_price) <= 1e-4, c
        assert relative(sol.seller_revenue, c * base.seller_revenue) <= 1e-4, c


# ---- heavy tails ---------------------------------------------------------------------------------

@pytest.mark.parametrize("alpha", [0.01, 0.003, 0.001])
def test_uncapped_pareto_seller_first_by_hand(alpha):
    """pareto:alpha,1: phi = alpha v >= alpha, so P[Phi >= p] = 1 up to p = alpha and (alpha / p)^b past it,
    b = 1/(1 - alpha) > 1: the seller's revenue p (alpha/p)^b falls past alpha, so it posts alpha;
    OPT = E[alpha V] = alpha b / (b - 1) = 1, the intermediary gets 1 - alpha, welfare E[V] = 1/alpha.
    Half the mass of E[V] at alpha = 1e-3 lies beyond the largest float: this needs the closed-form tail."""
    sol = solve_seller_first([f"pareto:{alpha},1"])
    assert sol.seller_price == pytest.approx(alpha, rel=1e-6)
    assert sol.seller_revenue == pytest.approx(alpha, rel=1e-6)
    assert sol.intermediary_revenue == pytest.approx(1 - alpha, rel=1e-6)
    assert sol.no_intermediary_optimal_revenue == pytest.approx(1.0, rel=1e-6)
    assert sol.welfare == pytest.approx(1 / alpha, rel=1e-6)


def test_uncapped_pareto_intermediary_first_mirrors_seller_first():
    """One bidder, pareto:0.01,1, b = 1/0.99, a posted price q for the right: the seller earns p for
    p + q <= 1 and p (p + q)^-b past that, whose slope at the kink is 1 - b p < 0 iff p > 1/b = 0.99.
    So q <= 0.01 gets p = 1 - q and a sure sale (the intermediary earns q); q > 0.01 gets p = 99 q and
    q (100 q)^-b < 0.01. Best: q = 0.01, the seller 0.99, seller-first's split mirrored."""
    sol = solve_intermediary_first(["pareto:0.01,1"])
    assert sol.intermediary_revenue == pytest.approx(0.01, rel=1e-6)
    assert sol.seller_revenue == pytest.approx(0.99, rel=1e-6)
    assert sol.no_intermediary_optimal_revenue == pytest.approx(1.0, rel=1e-6)


def test_equal_revenue_bidder_skips_shifted_myerson_and_says_why():
    sol = solve_intermediary_first(["pareto:0,1,100"])
    assert "flat virtual value" in sol.by_class["shifted_myerson"]["skipped"]
    assert "pareto:0,1,100" in sol.by_class["shifted_myerson"]["skipped"]
    # equal revenue: P[V >= x] = 1/x on [1, 100), every posted price for the right earns 1 (at q = 100: the atom)
    assert sol.intermediary_revenue == pytest.approx(1.0, rel=1e-9)
    with pytest.raises(InputError, match="flat virtual value"):
        solve_intermediary_first(["pareto:0,1,100"], classes=["shifted_myerson"])


@pytest.mark.parametrize("top", [1e150, 1e-13])
def test_values_near_the_ends_of_floating_point_solve_in_units(top):
    """U[0, top] at the ends of what specs accept, by hand: phi = 2v - top, the seller posts top/2
    and earns top/8, OPT = top/4 (below 1e-7 the price was 0)."""
    sol = solve_seller_first([f"uniform:0,{top!r}"])
    assert sol.seller_price == pytest.approx(top / 2, rel=1e-9)
    assert sol.seller_revenue == pytest.approx(top / 8, rel=1e-9)
    assert sol.no_intermediary_optimal_revenue == pytest.approx(top / 4, rel=1e-9)
    found = pure_equilibria(PricingGame([f"uniform:0,{top!r}"])).equilibria
    assert [e.found for e in found] == [FIRST_ORDER]
    assert found[0].seller_price == pytest.approx(top / 3, rel=1e-9)


@pytest.mark.parametrize("spec", ["uniform:0,1e308", "uniform:0,1e-300"])
def test_values_beyond_what_floating_point_integrates_are_refused_in_one_line(spec):
    """The issue's uniform:0,1e308 ended in a traceback; now the spec is refused, naming the value."""
    with pytest.raises(InputError) as info:
        solve_seller_first([spec])
    assert "out of range" in str(info.value) and "\n" not in str(info.value)

