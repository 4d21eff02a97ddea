"""Value distributions and virtual values (monopolist-intermediary, App. D; DESIGN.md specs).

Every expected number below is a closed form derived by hand, or computed
directly with ``scipy.stats`` / ``scipy.integrate`` independently of the code
under test. Tolerances: 1e-9 for closed forms and quadrature, about four
standard errors for Monte Carlo (sample sizes stated in each test).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, optimize, stats

from agora.market.distributions import (
    MaxOf,
    NotRegularError,
    SpecError,
    parse_spec,
)
from agora.market.errors import InputError

TOL = 1e-9


# ---------------------------------------------------------------------------
# hand-written laws, independent of market.distributions
# (spec, lo, hi, atom, cdf on the continuous part, pdf, mean)
# ---------------------------------------------------------------------------

def _pareto_law(alpha, s, cap=math.inf):
    b = 1.0 / (1.0 - alpha)
    cdf = lambda v: 1.0 - (s / v) ** b  # noqa: E731
    pdf = lambda v: b * s ** b * v ** (-b - 1.0)  # noqa: E731
    atom = cap ** -b * s ** b if math.isfinite(cap) else 0.0
    return cdf, pdf, atom


def _hand_laws():
    laws = {}
    laws["uniform:0,1"] = (0.0, 1.0, 0.0, lambda v: v, lambda v: 1.0, 0.5)
    laws["uniform:2,5"] = (2.0, 5.0, 0.0, lambda v: (v - 2) / 3, lambda v: 1 / 3, 3.5)
    laws["exponential:2"] = (0.0, math.inf, 0.0, lambda v: 1 - math.exp(-v / 2),
                             lambda v: math.exp(-v / 2) / 2, 2.0)
    c, p, a = _pareto_law(0.3, 1.0)
    b = 1 / 0.7
    laws["pareto:0.3,1"] = (1.0, math.inf, a, c, p, b / (b - 1))
    c, p, a = _pareto_law(0.7, 2.0)
    b = 1 / 0.3
    laws["pareto:0.7,2"] = (2.0, math.inf, a, c, p, 2 * b / (b - 1))
    # capped at 4 with alpha = 0.5 (b = 2): E = 1 + int_1^4 v^-2 dv = 1.75
    c, p, a = _pareto_law(0.5, 1.0, 4.0)
    laws["pareto:0.5,1,4"] = (1.0, 4.0, a, c, p, 1.75)
    # equal revenue capped at e: E = 1 + int_1^e dv / v = 2
    c, p, a = _pareto_law(0.0, 1.0, math.e)
    laws[f"pareto:0,1,{math.e!r}"] = (1.0, math.e, a, c, p, 2.0)
    # max of 3 uniforms: F = v^3, E = 3/4
    laws["max3:uniform:0,1"] = (0.0, 1.0, 0.0, lambda v: v ** 3, lambda v: 3 * v * v, 0.75)
    # max of 2 exponentials of mean 1: E = 1 + 1/2
    laws["max2:exponential:1"] = (0.0, math.inf, 0.0, lambda v: (1 - math.exp(-v)) ** 2,
                                  lambda v: 2 * (1 - math.exp(-v)) * math.exp(-v), 1.5)
    return laws


HAND = _hand_laws()


def build(key: str):
    """A distribution from a key of HAND or SCIPY ('max<n>:<spec>' for MaxOf)."""
    if key.startswith("max"):
        n, spec = key[3:].split(":", 1)
        return parse_spec(spec).max_of(int(n))
    return parse_spec(key)


# beta / truncnorm laws, referenced against scipy.stats built here
SCIPY = {
    "beta:2,3,0,1": stats.beta(2, 3),
    "beta:2,3,1,4": stats.beta(2, 3, loc=1, scale=3),
    "truncnorm:1,0.5,0,2": stats.truncnorm(-2, 2, loc=1, scale=0.5),
    "truncnorm:2,1,0.5,inf": stats.truncnorm(-1.5, np.inf, loc=2, scale=1),
}

CONTINUOUS_KEYS = [k for k, law in HAND.items() if law[2] == 0.0] + list(SCIPY)
ALL_KEYS = list(HAND) + list(SCIPY)


def _interior_points(key, k=41):
    """Points strictly inside the continuous part [lo, hi)."""
    if key in HAND:
        lo, hi = HAND[key][0], HAND[key][1]
    else:
        lo, hi = SCIPY[key].support()
    top = hi if math.isfinite(hi) else INFINITE_TOP[key]
    return lo + (top - lo) * np.linspace(0.005, 0.995, k)


# where sf is still >= about 1e-4 (beyond, F(v) rounds too close to 1 to invert)
INFINITE_TOP = {"exponential:2": 18.0, "pareto:0.3,1": 200.0, "pareto:0.7,2": 30.0,
                "max2:exponential:1": 9.0, "truncnorm:2,1,0.5,inf": 5.5}


def _ref_cdf(key, v):
    if key in HAND:
        return HAND[key][3](v)
    return float(SCIPY[key].cdf(v))


def _ref_pdf(key, v):
    if key in HAND:
        return HAND[key][4](v)
    return float(SCIPY[key].pdf(v))


def _ref_atom(key):
    return HAND[key][2] if key in HAND else 0.0


# ---------------------------------------------------------------------------
# cdf / sf / pdf / ppf consistency
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("key", ALL_KEYS)
def test_cdf_sf_pdf_match_hand_formulas(key):
    """cdf, sf and pdf on the continuous part equal the hand-written law."""
    d = build(key)
    for v in _interior_points(key):
        assert float(d.cdf(v)) == pytest.approx(_ref_cdf(key, v), abs=TOL)
        assert float(d.sf(v)) == pytest.approx(1.0 - _ref_cdf(key, v), abs=TOL)
        assert float(d.pdf(v)) == pytest.approx(_ref_pdf(key, v), rel=TOL, abs=TOL)


@pytest.mark.parametrize("key", ALL_KEYS)
def test_support_and_atom(key):
    """lo, hi and the atom at hi are those of the law (App. D: continuous part plus atom at hi)."""
    d = build(key)
    if key in HAND:
        lo, hi, atom = HAND[key][:3]
    else:
        (lo, hi), atom = SCIPY[key].support(), 0.0
    assert d.lo == pytest.approx(lo, abs=TOL)
    if math.isfinite(hi):
        assert d.hi == pytest.approx(hi, abs=TOL)
    else:
        assert d.hi == math.inf
    assert d.atom == pytest.approx(atom, abs=TOL)


@pytest.mark.parametrize("key", ALL_KEYS)
def test_ppf_inverts_cdf_on_continuous_part(key):
    """ppf(cdf(v)) == v for v inside [lo, hi)."""
    d = build(key)
    v = _interior_points(key)
    np.testing.assert_allclose(d.ppf(d.cdf(v)), v, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("key", ALL_KEYS)
def test_ppf_lands_on_atom_above_continuous_mass(key):
    """Quantiles above 1 - atom all sit at hi; ppf(0) is lo."""
    d = build(key)
    assert float(d.ppf(0.0)) == pytest.approx(d.lo, abs=TOL)
    atom = _ref_atom(key)
    if atom > 0:
        u = 1.0 - atom / 2
        assert float(d.ppf(u)) == d.hi
        assert float(d.ppf(1.0 - 1.01 * atom)) < d.hi


@pytest.mark.parametrize("key", ALL_KEYS)
def test_pdf_is_derivative_of_cdf(key):
    """Central difference of cdf equals pdf (error O(h^2) with h = 1e-5)."""
    d = build(key)
    h = 1e-5
    for v in _interior_points(key, 11)[1:-1]:
        slope = (float(d.cdf(v + h)) - float(d.cdf(v - h))) / (2 * h)
        assert slope == pytest.approx(float(d.pdf(v)), rel=1e-6, abs=1e-6)


@pytest.mark.parametrize("key", ALL_KEYS)
def test_pdf_integrates_with_atom_to_one(key):
    """quad(pdf, lo, hi) + atom == 1."""
    d = build(key)
    mass, _ = integrate.quad(lambda v: float(d.pdf(v)), d.lo, d.hi, limit=200,
                             epsabs=1e-12, epsrel=1e-12)
    assert mass + d.atom == pytest.approx(1.0, abs=TOL)
    assert mass == pytest.approx(1.0 - _ref_atom(key), abs=TOL)


@pytest.mark.parametrize("key", ALL_KEYS)
def test_prob_at_least_is_one_minus_left_limit_of_cdf(key):
    """P[V >= v] = 1 - F(v-), counting the atom at hi; 1 at and below lo, 0 above hi."""
    d = build(key)
    pts = list(_interior_points(key, 9))
    if math.isfinite(d.hi):
        pts.append(d.hi)
    for v in pts:
        left = 1.0 - float(d.cdf(np.nextafter(v, -np.inf)))
        assert float(d.prob_at_least(v)) == pytest.approx(left, abs=1e-9)
    assert float(d.prob_at_least(d.lo)) == 1.0
    assert float(d.prob_at_least(d.lo - 1.0)) == 1.0
    if math.isfinite(d.hi):
        assert float(d.prob_at_least(d.hi)) == pytest.approx(_ref_atom(key), abs=TOL)
        assert float(d.prob_at_least(d.hi + 1.0)) == 0.0


@pytest.mark.parametrize("key", ALL_KEYS)
def test_cdf_and_sf_outside_support(key):
    """F = 0 and sf = 1 at/below lo (continuous part), F = 1 and sf = 0 at/above hi."""
    d = build(key)
    for v in (d.lo - 1.0, d.lo):
        assert float(d.cdf(v)) == 0.0
        assert float(d.sf(v)) == 1.0
    if math.isfinite(d.hi):
        for v in (d.hi, d.hi + 1.0):
            assert float(d.cdf(v)) == 1.0
            assert float(d.sf(v)) == 0.0


def test_point_mass_law():
    """point:V is a unit atom at V: F jumps from 0 to 1 at V, ppf == V, mean == V."""
    d = parse_spec("point:2.5")
    assert (d.lo, d.hi, d.atom) == (2.5, 2.5, 1.0)
    assert float(d.cdf(2.4999)) == 0.0 and float(d.cdf(2.5)) == 1.0
    assert float(d.prob_at_least(2.5)) == 1.0 and float(d.prob_at_least(2.5001)) == 0.0
    np.testing.assert_array_equal(d.ppf(np.array([0.0, 0.3, 1.0])), [2.5, 2.5, 2.5])
    assert float(d.pdf(2.5)) == 0.0
    assert d.mean == 2.5
    assert float(d.virtual_value(2.5)) == 2.5
    assert d.max_of(4).mean == 2.5


# ---------------------------------------------------------------------------
# virtual values against closed forms
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("lo,hi", [(0.0, 1.0), (2.0, 5.0), (0.5, 0.75)])
def test_uniform_virtual_value(lo, hi):
    """uniform:LO,HI has phi(v) = 2v - HI."""
    d = parse_spec(f"uniform:{lo},{hi}")
    v = np.linspace(lo, hi, 23)[:-1]
    np.testing.assert_allclose(d.virtual_value(v), 2 * v - hi, atol=TOL)


@pytest.mark.parametrize("m", [0.5, 1.0, 3.0])
def test_exponential_virtual_value(m):
    """exponential:MEAN has phi(v) = v - MEAN (constant hazard 1/MEAN)."""
    d = parse_spec(f"exponential:{m}")
    v = np.linspace(0.0, 20.0 * m, 37)
    np.testing.assert_allclose(d.virtual_value(v), v - m, atol=TOL)


@pytest.mark.parametrize("alpha,scale,cap", [(0.3, 1.0, math.inf), (0.6, 2.0, 9.0),
                                             (0.0, 1.0, 5.0)])
def test_pareto_virtual_value_and_atom(alpha, scale, cap):
    """pareto:ALPHA,SCALE[,CAP]: phi = ALPHA v below the cap; phi(CAP) = CAP on the atom."""
    spec = f"pareto:{alpha},{scale}" + (f",{cap}" if math.isfinite(cap) else "")
    d = parse_spec(spec)
    top = cap if math.isfinite(cap) else 50.0
    v = np.linspace(scale, top, 31)[:-1]
    np.testing.assert_allclose(d.virtual_value(v), alpha * v, atol=TOL)
    if math.isfinite(cap):
        assert float(d.virtual_value(cap)) == cap


@pytest.mark.parametrize("n", [1, 2, 3, 5])
def test_max_of_uniform_virtual_value(n):
    """Max of n U[0,1]: F = v^n, phi(v) = v - (1 - v^n) / (n v^(n-1))."""
    d = parse_spec("uniform:0,1").max_of(n)
    v = np.linspace(0.05, 0.99, 40)
    np.testing.assert_allclose(d.virtual_value(v), v - (1 - v ** n) / (n * v ** (n - 1)),
                               rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("key", list(SCIPY))
def test_scipy_family_virtual_value(key):
    """beta / truncnorm: phi(v) = v - sf(v)/pdf(v) with sf, pdf straight from scipy.stats."""
    d = parse_spec(key)
    rv = SCIPY[key]
    v = _interior_points(key, 31)
    np.testing.assert_allclose(d.virtual_value(v), v - rv.sf(v) / rv.pdf(v), rtol=1e-9, atol=1e-9)


# ---------------------------------------------------------------------------
# virtual_threshold: the generalised inverse of phi (Theorem 3.1 reserve)
# ---------------------------------------------------------------------------

THRESHOLD_KEYS = ["uniform:0,1", "uniform:2,5", "exponential:2", "pareto:0.3,1",
                  "pareto:0.5,1,4", "max3:uniform:0,1", "max2:exponential:1"] + list(SCIPY)


@pytest.mark.parametrize("key", THRESHOLD_KEYS)
def test_virtual_threshold_inverts_phi_inside_range(key):
    """phi(virtual_threshold(t)) == t and virtual_threshold(phi(v)) == v on the continuous part."""
    d = build(key)
    v = _interior_points(key, 25)
    if key in SCIPY:
        t = v - SCIPY[key].sf(v) / SCIPY[key].pdf(v)
    else:
        t = np.asarray(d.virtual_value(v))
    theta = d.virtual_threshold(t)
    np.testing.assert_allclose(theta, v, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(d.virtual_value(theta), t, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("spec,below", [("uniform:0,1", [-1.0, -7.0]),
                                        ("uniform:2,5", [-1.0, -3.0]),
                                        ("exponential:2", [-2.0, -100.0]),
                                        ("pareto:0.3,1", [0.3, 0.1, -4.0]),
                                        ("pareto:0.5,1,4", [0.5, 0.0]),
                                        ("point:2", [2.0, 1.0])])
def test_virtual_threshold_is_lo_below_phi_lo(spec, below):
    """For t <= phi(lo) every value clears t, so phi^-1(t) = lo."""
    d = parse_spec(spec)
    np.testing.assert_array_equal(d.virtual_threshold(np.array(below)), np.full(len(below), d.lo))


@pytest.mark.parametrize("spec,above", [("uniform:0,1", [1.0001, 5.0]),
                                        ("pareto:0.5,1,4", [4.0001, 100.0]),
                                        ("beta:2,3,0,1", [1.5]),
                                        ("point:2", [2.0001])])
def test_virtual_threshold_is_inf_above_hi(spec, above):
    """No value has phi >= t once t > hi: phi^-1(t) = +inf and P[phi(V) >= t] = 0."""
    d = parse_spec(spec)
    assert np.all(np.isposinf(d.virtual_threshold(np.array(above))))
    np.testing.assert_array_equal(d.prob_virtual_at_least(np.array(above)), 0.0)


def test_virtual_threshold_on_the_atom_of_capped_pareto():
    """pareto:0.5,1,4: phi = v/2 < 2 below the cap, phi(4) = 4; t in (2, 4] maps to the atom."""
    d = parse_spec("pareto:0.5,1,4")
    np.testing.assert_array_equal(d.virtual_threshold(np.array([2.5, 3.0, 4.0])), [4.0, 4.0, 4.0])
    assert float(d.prob_virtual_at_least(3.0)) == pytest.approx(4.0 ** -2, abs=TOL)
    assert float(d.virtual_threshold(1.0)) == pytest.approx(2.0, abs=TOL)


def test_exponential_threshold_never_infinite():
    """Exponential support is unbounded: phi^-1(t) = t + MEAN for every t > -MEAN."""
    d = parse_spec("exponential:2")
    t = np.array([0.0, 3.0, 1e3, 1e6])
    np.testing.assert_allclose(d.virtual_threshold(t), t + 2.0, rtol=1e-12)


@pytest.mark.parametrize("spec,expected", [
    ("uniform:0,1", 0.5),
    ("uniform:2,5", 2.5),
    ("uniform:3,5", 3.0),         # phi(lo) = 1 > 0: sell to everybody
    ("exponential:1", 1.0),
    ("exponential:2.5", 2.5),
    ("pareto:0.3,1", 1.0),        # phi = 0.3 v > 0 on the whole support
    ("point:2", 2.0),
])
def test_monopoly_price_closed_forms(spec, expected):
    """monopoly_price = phi^-1(0) (Myerson): uniform 0,1 -> 1/2, exponential m -> m."""
    assert parse_spec(spec).monopoly_price == pytest.approx(expected, abs=TOL)


def test_monopoly_price_of_max_of_three_uniforms():
    """Max of 3 U[0,1]: phi = 0 <=> 4 v^3 = 1, so the monopoly price is (1/4)^(1/3)."""
    d = parse_spec("uniform:0,1").max_of(3)
    assert d.monopoly_price == pytest.approx(0.25 ** (1 / 3), abs=TOL)


@pytest.mark.parametrize("key", list(SCIPY))
def test_monopoly_price_scipy_families(key):
    """beta / truncnorm monopoly price solves v - sf/pdf = 0 (brentq on scipy.stats directly)."""
    rv = SCIPY[key]
    lo, hi = rv.support()
    top = hi if math.isfinite(hi) else lo + 30
    eps = 1e-9 * (top - lo)
    root = optimize.brentq(lambda v: v - rv.sf(v) / rv.pdf(v), lo + eps, top - eps, xtol=1e-14)
    assert parse_spec(key).monopoly_price == pytest.approx(root, abs=TOL)


# ---------------------------------------------------------------------------
# the paper's bad instance F_eps,H (Theorem 3.4)
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("eps,H", [(0.1, 10.0), (0.3, 50.0), (0.5, 4.0), (0.9, 1000.0)])
def test_f_eps_h(eps, H):
    """F_eps,H = pareto:eps,1,H: P[V >= x] = x^(-1/(1-eps)) on [1,H), atom H^(-1/(1-eps)), phi = eps v."""
    d = parse_spec(f"pareto:{eps},1,{H}")
    e = 1.0 / (1.0 - eps)
    x = np.linspace(1.0, H, 50)[:-1]
    np.testing.assert_allclose(d.prob_at_least(x), x ** -e, rtol=1e-9)
    assert d.atom == pytest.approx(H ** -e, rel=1e-9)
    assert float(d.prob_at_least(H)) == pytest.approx(H ** -e, rel=1e-9)
    assert float(d.prob_at_least(H * 1.001)) == 0.0
    np.testing.assert_allclose(d.virtual_value(x), eps * x, rtol=1e-12)
    assert float(d.virtual_value(H)) == H
    assert d.regularity.regular
    assert d.regularity.alpha == pytest.approx(eps, abs=1e-12)
    assert d.regularity.lam == pytest.approx(1 - eps, abs=1e-12)


@pytest.mark.parametrize("eps,H", [(0.2, 20.0), (0.5, 4.0)])
def test_f_eps_h_intermediary_price(eps, H):
    """FORMULAS: facing seller price p_s the intermediary's total price is p_s/eps clipped to [1, H]."""
    d = parse_spec(f"pareto:{eps},1,{H}")
    for ps in [0.05, 0.1, 0.2, 0.5, 1.0, 0.9 * eps * H, eps * H + 0.1, H]:
        assert float(d.virtual_threshold(ps)) == pytest.approx(min(max(ps / eps, 1.0), H), rel=1e-9)


# ---------------------------------------------------------------------------
# regularity reports (Definition D.1; DESIGN.md: alpha = 1 - lambda)
# ---------------------------------------------------------------------------

MHR_SPECS = ["uniform:0,1", "uniform:2,5", "exponential:2", "truncnorm:1,0.5,0,2",
             "truncnorm:2,1,0.5,inf", "beta:2,3,0,1"]


@pytest.mark.parametrize("spec", MHR_SPECS)
def test_mhr_families_report_alpha_one(spec):
    """uniform, exponential, truncated normal, beta(2,3) have increasing hazard: MHR (alpha 1, lam 0)."""
    r = parse_spec(spec).regularity
    assert r.regular
    assert r.alpha == 1.0
    assert r.lam == 0.0
    assert "MHR" in r.label
    assert r.min_slope >= 1.0 - 1e-6


@pytest.mark.parametrize("spec", MHR_SPECS)
@pytest.mark.parametrize("n", [2, 5])
def test_max_of_mhr_is_mhr(spec, n):
    """Lemma 4.4: the maximum of i.i.d. MHR values is MHR."""
    r = parse_spec(spec).max_of(n).regularity
    assert r.regular and r.alpha == 1.0 and r.lam == 0.0
    assert "MHR" in r.label


def test_pareto_regularity():
    """pareto:0.3,1 is 0.3-strongly regular: alpha 0.3, lambda 0.7."""
    r = parse_spec("pareto:0.3,1").regularity
    assert r.regular
    assert r.alpha == pytest.approx(0.3, abs=1e-12)
    assert r.lam == pytest.approx(0.7, abs=1e-12)
    assert "MHR" not in r.label


def test_equal_revenue_is_regular_alpha_zero():
    """pareto:0,1,CAP (equal revenue): phi = 0 below the cap, regular with alpha 0 (lambda 1)."""
    r = parse_spec("pareto:0,1,10").regularity
    assert r.regular and r.alpha == 0.0 and r.lam == 1.0


def test_u_shaped_beta_is_not_regular():
    """beta:0.3,0.3,0,1 has a U-shaped density: phi decreases, so it is not regular."""
    d = parse_spec("beta:0.3,0.3,0,1")
    rv = stats.beta(0.3, 0.3)
    v = np.array([0.05, 0.2])
    phi = v - rv.sf(v) / rv.pdf(v)
    assert phi[1] < phi[0]  # the independent check that phi really decreases
    r = d.regularity
    assert not r.regular
    assert r.min_slope < 0
    assert "not regular" in r.label
    with pytest.raises(NotRegularError, match=r"beta:0.3,0.3,0,1"):
        d.require_regular()


@pytest.mark.parametrize("spec", MHR_SPECS + ["pareto:0.3,1", "pareto:0,1,10", "point:1"])
def test_require_regular_accepts_regular_laws(spec):
    """require_regular is silent on regular laws."""
    assert parse_spec(spec).require_regular() is None


# ---------------------------------------------------------------------------
# sampling
# ---------------------------------------------------------------------------

SAMPLE_KEYS = [k for k in ALL_KEYS if k not in ("pareto:0.3,1",)]  # infinite variance excluded


@pytest.mark.parametrize("key", ALL_KEYS + ["point:2"])
def test_rvs_reproducible_for_same_seed(key):
    """rvs with a numpy Generator: same seed -> same draws; another seed -> other draws."""
    d = build(key)
    a = d.rvs(500, np.random.default_rng(12345))
    b = d.rvs(500, np.random.default_rng(12345))
    np.testing.assert_array_equal(a, b)
    assert a.shape == (500,)
    if key != "point:2":
        c = d.rvs(500, np.random.default_rng(54321))
        assert not np.array_equal(a, c)


@pytest.mark.parametrize("key", SAMPLE_KEYS)
def test_sample_mean_within_four_standard_errors(key):
    """Sample mean of n = 200000 draws is within 4 standard errors of .mean."""
    n = 200_000
    d = build(key)
    x = d.rvs(n, np.random.default_rng(2024))
    assert np.all(x >= d.lo) and np.all(x <= d.hi)
    se = x.std(ddof=1) / math.sqrt(n)
    assert abs(x.mean() - d.mean) <= 4 * se


@pytest.mark.parametrize("key", CONTINUOUS_KEYS)
def test_ks_does_not_reject(key):
    """KS test of n = 20000 draws against the hand/scipy cdf does not reject (p > 1e-4)."""
    n = 20_000
    d = build(key)
    x = d.rvs(n, np.random.default_rng(7))
    if key in SCIPY:
        ref = SCIPY[key].cdf
    else:
        ref = np.vectorize(lambda v: _ref_cdf(key, v) if v > d.lo else 0.0)
    assert stats.kstest(x, ref).pvalue > 1e-4


@pytest.mark.parametrize("key", [k for k in ALL_KEYS if _ref_atom(k) > 0])
def test_atom_frequency(key):
    """Share of n = 200000 draws equal to hi is within 4 standard errors of the atom."""
    n = 200_000
    d = build(key)
    x = d.rvs(n, np.random.default_rng(99))
    p = _ref_atom(key)
    share = np.mean(x == d.hi)
    assert abs(share - p) <= 4 * math.sqrt(p * (1 - p) / n)
    # and the rest passes KS against the continuous part renormalised
    cont = x[x < d.hi]
    ref = np.vectorize(lambda v: _ref_cdf(key, v) / (1 - p) if v > d.lo else 0.0)
    assert stats.kstest(cont, ref).pvalue > 1e-4


# ---------------------------------------------------------------------------
# means
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("key", list(HAND))
def test_mean_closed_form(key):
    """E[V] against hand closed forms (uniform, exponential, pareto, capped pareto, maxima)."""
    assert build(key).mean == pytest.approx(HAND[key][5], rel=1e-9)


@pytest.mark.parametrize("alpha,s,cap", [(0.3, 1.0, 50.0), (0.5, 2.0, 7.0), (0.9, 1.0, 30.0),
                                         (0.0, 1.5, 12.0)])
def test_capped_pareto_mean_docstring_form_and_quad(alpha, s, cap):
    """E[min(X,CAP)] = S + S^b (CAP^(1-b) - S^(1-b))/(1-b) (S + S ln(CAP/S) if alpha = 0), and by quad."""
    d = parse_spec(f"pareto:{alpha},{s},{cap}")
    b = 1 / (1 - alpha)
    closed = s + s * math.log(cap / s) if alpha == 0 else s + s ** b * (cap ** (1 - b) - s ** (1 - b)) / (1 - b)
    quad, _ = integrate.quad(lambda v: (s / v) ** b, s, cap, epsabs=1e-13, epsrel=1e-13)
    assert closed == pytest.approx(s + quad, rel=1e-10)
    assert d.mean == pytest.approx(s + quad, rel=1e-9)


@pytest.mark.parametrize("key", list(SCIPY))
def test_mean_scipy_families_closed_form(key):
    """beta: LO + (HI-LO) A/(A+B); truncnorm: mu + sd (phi(a)-phi(b)) / (Phi(b)-Phi(a))."""
    fam, body = key.split(":")
    p = [float(x) for x in body.split(",")]
    if fam == "beta":
        a, b, lo, hi = p
        expected = lo + (hi - lo) * a / (a + b)
    else:
        mu, sd, lo, hi = p
        al, be = (lo - mu) / sd, (hi - mu) / sd
        npdf = lambda z: 0.0 if math.isinf(z) else math.exp(-z * z / 2) / math.sqrt(2 * math.pi)  # noqa: E731
        ncdf = lambda z: 0.5 * (1 + math.erf(z / math.sqrt(2)))  # noqa: E731
        expected = mu + sd * (npdf(al) - npdf(be)) / (ncdf(be) - ncdf(al))
    assert parse_spec(key).mean == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize("n", [1, 2, 4, 7])
def test_max_of_uniform_mean(n):
    """E[max of n U[0,1]] = n/(n+1)."""
    assert parse_spec("uniform:0,1").max_of(n).mean == pytest.approx(n / (n + 1), rel=1e-9)


# ---------------------------------------------------------------------------
# Corollary D.3: P[V >= phi^-1(x)] >= c_alpha P[V >= x]
# ---------------------------------------------------------------------------

def c_alpha(alpha: float) -> float:
    return math.exp(-1.0) if alpha == 1.0 else alpha ** (1.0 / (1.0 - alpha))


@settings(max_examples=50, deadline=None)
@given(alpha=st.floats(0.05, 0.95), x=st.floats(1.0, 1e3))
def test_corollary_d3_pareto_tight(alpha, x):
    """Corollary D.3 on pareto:alpha,1 (alpha-strongly regular), where it holds with equality."""
    d = parse_spec(f"pareto:{alpha!r},1")
    lhs = float(d.prob_at_least(d.virtual_threshold(x)))
    rhs = c_alpha(alpha) * float(d.prob_at_least(x))
    assert lhs >= rhs * (1 - 1e-9)
    assert lhs == pytest.approx(rhs, rel=1e-9)


@settings(max_examples=50, deadline=None)
@given(alpha=st.floats(0.05, 0.95), cap=st.floats(1.5, 100.0), frac=st.floats(0.0, 1.0))
def test_corollary_d3_capped_pareto(alpha, cap, frac):
    """Corollary D.3 on pareto:alpha,1,CAP (alpha-strongly regular, atom at CAP), x in [1, CAP]."""
    d = parse_spec(f"pareto:{alpha!r},1,{cap!r}")
    x = 1.0 + frac * (cap - 1.0)
    lhs = float(d.prob_at_least(d.virtual_threshold(x)))
    rhs = c_alpha(alpha) * float(d.prob_at_least(x))
    assert lhs >= rhs * (1 - 1e-9)


@settings(max_examples=50, deadline=None)
@given(spec=st.sampled_from(["uniform:0,1", "uniform:2,5", "exponential:1", "exponential:4",
                             "max3:uniform:0,1"]),
       frac=st.floats(0.0, 0.999))
def test_corollary_d3_mhr_one_over_e(spec, frac):
    """Corollary D.3 with alpha = 1 (MHR): P[V >= phi^-1(x)] >= P[V >= x] / e."""
    d = build(spec)
    top = d.hi if math.isfinite(d.hi) else d.lo + 40.0
    x = d.lo + frac * (top - d.lo)
    lhs = float(d.prob_at_least(d.virtual_threshold(x)))
    rhs = c_alpha(1.0) * float(d.prob_at_least(x))
    assert lhs >= rhs * (1 - 1e-9)


# ---------------------------------------------------------------------------
# MaxOf specifics
# ---------------------------------------------------------------------------

def test_max_of_rejects_n_below_one():
    """The max of n draws needs n >= 1."""
    with pytest.raises(SpecError):
        MaxOf(parse_spec("uniform:0,1"), 0)


def test_max_of_capped_pareto_atom():
    """Max of n capped-pareto draws has atom 1 - (1 - a)^n at the cap."""
    d = parse_spec("pareto:0.5,1,4")
    m = d.max_of(3)
    a = 4.0 ** -2
    assert m.atom == pytest.approx(1 - (1 - a) ** 3, abs=TOL)
    assert float(m.prob_at_least(4.0)) == pytest.approx(1 - (1 - a) ** 3, abs=TOL)
    assert float(m.cdf(2.0)) == pytest.approx((1 - 2.0 ** -2) ** 3, abs=TOL)


# ---------------------------------------------------------------------------
# parse_spec errors
# ---------------------------------------------------------------------------

BAD_SPECS = [
    # unknown family / unreadable
    "gamma:1,2", "uniform", "",
    # wrong count
    "uniform:0", "uniform:0,1,2", "uniform:", "exponential:1,2", "pareto:0.3",
    "pareto:0.3,1,2,3", "point:", "beta:1,1,0", "truncnorm:1,1,0",
    # not a number
    "uniform:0,a", "exponential:x", "pareto:0.3,one",
    # invalid parameters
    "uniform:1,0", "uniform:1,1", "uniform:-1,1", "uniform:0,inf", "uniform:nan,1",
    "exponential:-2", "exponential:0",
    "pareto:1,1", "pareto:1.5,1", "pareto:-0.1,1", "pareto:0.3,0", "pareto:0.3,-1",
    "pareto:0.3,1,0.5", "pareto:0.3,1,1", "pareto:0,1",
    "point:-1",
    "beta:0,1,0,1", "beta:2,-3,0,1", "beta:2,3,1,1",
    "truncnorm:1,0,0,2", "truncnorm:1,1,2,1", "truncnorm:1,1,-1,2",
]


@pytest.mark.parametrize("spec", BAD_SPECS)
def test_bad_spec_raises_spec_error_naming_spec_and_forms(spec):
    """DESIGN.md: a bad spec is a one-line SpecError naming the spec and the accepted forms."""
    with pytest.raises(SpecError) as info:
        parse_spec(spec)
    msg = str(info.value)
    assert isinstance(info.value, InputError) and isinstance(info.value, ValueError)
    assert "\n" not in msg
    if spec:
        assert spec in msg
    assert "uniform:LO,HI" in msg
    assert "pareto:ALPHA,SCALE[,CAP]" in msg


def test_non_string_spec_raises():
    """parse_spec accepts strings and ValueDistributions only."""
    with pytest.raises(SpecError):
        parse_spec(3.0)


def test_parse_spec_passes_distributions_through_and_is_lenient_on_case_and_spaces():
    """A ValueDistribution is returned as is; ' Uniform : 0 , 2 ' reads as uniform:0,2."""
    d = parse_spec("uniform:0,1")
    assert parse_spec(d) is d
    e = parse_spec(" Uniform : 0 , 2 ")
    assert (e.lo, e.hi) == (0.0, 2.0)
    assert e.monopoly_price == pytest.approx(1.0)


def test_max_of_capped_pareto_virtual_value_and_threshold():
    """Max of 3 draws of pareto:0.5,1,4 (F = 1 - v^-2 below 4): phi = v - (1-F^3)/(3 F^2 f); phi(4) = 4."""
    m = parse_spec("pareto:0.5,1,4").max_of(3)
    v = np.linspace(1.2, 3.9, 28)
    F, f = 1 - v ** -2.0, 2 * v ** -3.0
    phi = v - (1 - F ** 3) / (3 * F ** 2 * f)
    np.testing.assert_allclose(m.virtual_value(v), phi, rtol=1e-9, atol=1e-9)
    assert float(m.virtual_value(4.0)) == 4.0
    np.testing.assert_allclose(m.virtual_threshold(phi), v, rtol=1e-9, atol=1e-9)
    top = 4.0 - (1 - (1 - 4.0 ** -2) ** 3) / (3 * (1 - 4.0 ** -2) ** 2 * 2 * 4.0 ** -3)
    t = np.array([top + 0.01, 3.9, 4.0])
    np.testing.assert_array_equal(m.virtual_threshold(t), [4.0, 4.0, 4.0])
    assert np.isposinf(float(m.virtual_threshold(4.01)))


def test_prob_virtual_equal_atoms():
    """P[phi(V) = t] is the atom at t = CAP; the equal-revenue law has phi = 0 on its continuous part."""
    d = parse_spec("pareto:0.5,1,4")
    assert float(d.prob_virtual_equal(4.0)) == pytest.approx(1 / 16, abs=TOL)
    assert float(d.prob_virtual_equal(1.0)) == 0.0
    er = parse_spec("pareto:0,1,10")
    assert float(er.prob_virtual_equal(0.0)) == pytest.approx(0.9, abs=TOL)
    assert float(er.prob_virtual_equal(10.0)) == pytest.approx(0.1, abs=TOL)
