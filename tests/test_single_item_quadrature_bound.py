"""The single-item evaluators' quadrature error bound: it holds against closed forms, is tight, and flags 1%.

Seller-first (Theorem 3.1, Lemma 3.10) and intermediary-first (Section 4: auctions for the right,
evaluated by the threshold-auction identity) outcomes at given prices.

Every expected value below is a closed form derived by hand (each helper's docstring shows
the derivation), evaluated in floating point independently of the quadrature.
"""

import math

import pytest

from agora.market.distributions import Exponential, parse_spec
from agora.market.single_item.intermediary_first import evaluate_right_auction, solve_intermediary_first
from agora.market.single_item.right_auctions import SecondPriceRight, ShiftedMyersonRight
from agora.market.single_item.seller_first import evaluate_posted_price, solve_seller_first
from agora.market.single_item.virtual_law import VirtualMaxLaw

LOOSENESS = 1e3  # a bound more than this many times the true error is useless ...
FLOOR = 1e-9  # ... unless it is below this anyway


def exponentials(means, p):
    """Independent exponential bidders with means m_i, seller price p >= 0.

    phi_i(v) = v - m_i, so for t >= 0 P[phi_i >= t] = S_i(t) = e^-1 e^(-t / m_i) and (two bidders)
    P[Phi >= t] = S_1 + S_2 - S_1 S_2. With k = 1/m_1 + 1/m_2:
      intermediary = int_p^inf P[Phi >= t] dt = e^-1 (m_1 e^(-p/m_1) + m_2 e^(-p/m_2)) - e^-2 e^(-p k) / k,
      OPT = the same at p = 0 (Theorem D.4),
      welfare = sum_i int_{a_i}^inf v f_i(v) P[phi_j < v - m_i] dv, a_i = p + m_i, where
        int_a^inf v f_i = e^(-a/m_i) (a + m_i) and P[phi_j < v - m_i] = 1 - e^(m_i/m_j - 1) e^(-v/m_j), so
        W_i = e^(-a_i/m_i) (a_i + m_i) - e^(m_i/m_j - 1) e^(-a_i k) (a_i / k + 1 / k^2) / m_i.
    One bidder: intermediary m e^(-(p+m)/m), OPT m / e, welfare e^(-(p+m)/m) (p + 2m).
    """
    if len(means) == 1:
        (m,) = means
        s = math.exp(-(p + m) / m)
        return {"intermediary": m * s, "welfare": s * (p + 2 * m), "opt": m / math.e}
    m1, m2 = means
    k = 1 / m1 + 1 / m2

    def tail(q):
        return math.exp(-1) * (m1 * math.exp(-q / m1) + m2 * math.exp(-q / m2)) - math.exp(-2 - q * k) / k

    def winner(mi, mj):
        a = p + mi
        return math.exp(-a / mi) * (a + mi) - math.exp(mi / mj - 1 - a * k) * (a / k + 1 / k ** 2) / mi

    return {"intermediary": tail(p), "welfare": winner(m1, m2) + winner(m2, m1), "opt": tail(0.0)}


def uniforms(n, p):
    """n = 1 or 2 uniform:0,1 bidders, seller price p in [0, 1].

    phi(v) = 2v - 1, P[phi >= t] = (1 - t) / 2 on [-1, 1]; sold when max v >= c = (1 + p) / 2.
    One: intermediary int_p^1 (1 - t)/2 dt = (1 - p)^2 / 4, OPT 1/4, welfare int_c^1 v dv = (1 - c^2) / 2.
    Two: P[Phi >= t] = 1 - ((1 + t)/2)^2, intermediary (1 - p) - (8 - (1 + p)^3) / 12, OPT 5/12,
    welfare int_c^1 v 2v dv = 2 (1 - c^3) / 3.
    """
    c = (1 + p) / 2
    if n == 1:
        return {"intermediary": (1 - p) ** 2 / 4, "welfare": (1 - c ** 2) / 2, "opt": 0.25}
    return {"intermediary": (1 - p) - (8 - (1 + p) ** 3) / 12, "welfare": 2 * (1 - c ** 3) / 3, "opt": 5 / 12}


def outcome(sol):
    return {"intermediary": sol.intermediary_revenue, "welfare": sol.welfare,
            "opt": sol.no_intermediary_optimal_revenue}


CASES = [  # (bidders, price, closed form)
    (["exponential:2"], 2.0, lambda p: exponentials([2.0], p)),  # tanh-sinh's own estimate: 3.5e-15 for 2.1e-10
    (["exponential:2"], 0.5, lambda p: exponentials([2.0], p)),
    (["exponential:1", "exponential:3"], 1.2, lambda p: exponentials([1.0, 3.0], p)),
    (["exponential:1", "exponential:3"], 0.0, lambda p: exponentials([1.0, 3.0], p)),
    (["uniform:0,1"], 0.3, lambda p: uniforms(1, p)),
    (["uniform:0,1", "uniform:0,1"], 0.4, lambda p: uniforms(2, p)),
]


@pytest.mark.parametrize("bidders,price,exact", CASES)
def test_seller_first_bound_holds_and_is_tight(bidders, price, exact):
    """|computed - closed form| summed over the integrated quantities <= quadrature_error, and the
    bound is within LOOSENESS of that true error or below FLOOR."""
    sol = evaluate_posted_price(VirtualMaxLaw.of(bidders), price)
    want = exact(price)
    true_error = sum(abs(v - want[k]) for k, v in outcome(sol).items())
    assert true_error <= sol.quadrature_error
    assert sol.quadrature_error < max(LOOSENESS * true_error, FLOOR)


def test_seller_first_solution_bound_on_exponential_2():
    """At the solver's own price for exponential:2 (S(p) = p P[V - m >= p] = p e^(-(p+m)/m) peaks at
    p* = m = 2) the closed forms sit within the bound, which is at least the 2.1e-10 true error of the
    intermediary's integral."""
    sol = solve_seller_first(["exponential:2"])
    assert sol.seller_price == pytest.approx(2.0, abs=1e-8)
    want = exponentials([2.0], sol.seller_price)
    true_error = sum(abs(v - want[k]) for k, v in outcome(sol).items())
    assert 2e-10 < true_error <= sol.quadrature_error < LOOSENESS * true_error


class PerturbedLaw(VirtualMaxLaw):
    """P[Phi >= t] one percent too high: the integrand of the intermediary's revenue and of OPT."""

    def prob_at_least(self, c):
        return 1.01 * super().prob_at_least(c)


@pytest.mark.parametrize("bidders,price,exact", [CASES[0], CASES[2], CASES[5]])
def test_one_percent_off_integrand_is_flagged(bidders, price, exact):
    """The bound is below 1% of each value, so a 1%-off integrand lands outside it: the perturbed
    intermediary revenue and OPT miss their closed forms by more than the bound they report."""
    law = VirtualMaxLaw.of(bidders)
    sol = evaluate_posted_price(law, price)
    want = exact(price)
    assert sol.quadrature_error < 0.01 * min(want.values())
    bad = evaluate_posted_price(PerturbedLaw(law.bidders), price)
    for key in ("intermediary", "opt"):
        assert abs(outcome(bad)[key] - want[key]) > bad.quadrature_error


def spa_exponentials(n, m, p, r):
    """n = 1 or 2 exponential:m bidders, second-price auction for the right with reserve r, seller at p.

    Bids are v - p, so a bidder can win from z0 = p + r on. Per bidder the threshold-auction identity
    gives int_z0^inf F(z)^(n-1) ((z - p) f(z) - S(z)) dz with S = e^(-z/m); as (z - p) f - S = d/dz[-(z - p) S],
      n = 1: revenue (z0 - p) S(z0) = r e^(-z0/m), welfare int_z0^inf v f = e^(-z0/m) (z0 + m);
      n = 2: F = 1 - S and int_z0^inf ((z - p)/m - 1) e^(-2z/m) dz = e^(-2 z0/m) (r/2 - m/4), so
        revenue 2 (r e^(-z0/m) - e^(-2 z0/m) (r/2 - m/4)) (r = p = 0: E[min] = m/2),
        welfare int_z0^inf v 2 F f = 2 e^(-z0/m) (z0 + m) - e^(-2 z0/m) (z0 + m/2).
    """
    z0 = p + r
    if n == 1:
        return {"intermediary": r * math.exp(-z0 / m), "welfare": math.exp(-z0 / m) * (z0 + m)}
    return {"intermediary": 2 * (r * math.exp(-z0 / m) - math.exp(-2 * z0 / m) * (r / 2 - m / 4)),
            "welfare": 2 * math.exp(-z0 / m) * (z0 + m) - math.exp(-2 * z0 / m) * (z0 + m / 2)}


def spa_uniforms(p, r):
    """Two uniform:0,1 bidders, second-price auction for the right with reserve r, seller at p, z0 = p + r <= 1.

    With F(z) = z: per bidder int_z0^1 z ((z - p) - (1 - z)) dz = [2z^3/3 - (p + 1) z^2/2]_z0^1;
    welfare int_z0^1 v 2v dv = 2 (1 - z0^3) / 3.
    """
    z0 = p + r

    def antiderivative(z):
        return 2 * z ** 3 / 3 - (p + 1) * z ** 2 / 2

    return {"intermediary": 2 * (antiderivative(1.0) - antiderivative(z0)), "welfare": 2 * (1 - z0 ** 3) / 3}


def right_outcome(out):
    return {"intermediary": out.intermediary_revenue, "welfare": out.welfare}


RIGHT_CASES = [  # (bidders, auction, price, closed form)
    # at p = 7 tanh-sinh alone reports 7e-14 for a true error of 1.5e-12
    (["exponential:2"], SecondPriceRight(2.0), 7.0, spa_exponentials(1, 2.0, 7.0, 2.0)),
    (["exponential:2"], SecondPriceRight(0.5), 0.0, spa_exponentials(1, 2.0, 0.0, 0.5)),
    # shifted Myerson, one exponential:m: score phi(b + s) = v - p + s - m reaches s iff v >= p + m, and the
    # winner pays the threshold bid m: the second-price auction with reserve m, whatever s
    (["exponential:2"], ShiftedMyersonRight(0.7), 1.5, spa_exponentials(1, 2.0, 1.5, 2.0)),
    (["exponential:1.5"] * 2, SecondPriceRight(1.0), 0.8, spa_exponentials(2, 1.5, 0.8, 1.0)),
    (["exponential:1.5"] * 2, SecondPriceRight(0.0), 0.0, spa_exponentials(2, 1.5, 0.0, 0.0)),
    (["uniform:0,1"] * 2, SecondPriceRight(0.2), 0.3, spa_uniforms(0.3, 0.2)),
]


@pytest.mark.parametrize("bidders,auction,price,want", RIGHT_CASES)
def test_right_auction_bound_holds_and_is_tight(bidders, auction, price, want):
    """|computed - closed form| summed over revenue and welfare <= quadrature_error, within LOOSENESS of
    that true error or below FLOOR."""
    out = evaluate_right_auction([parse_spec(b) for b in bidders], auction, price)
    true_error = sum(abs(v - want[k]) for k, v in right_outcome(out).items())
    assert true_error <= out.quadrature_error
    assert out.quadrature_error < max(LOOSENESS * true_error, FLOOR)


def test_intermediary_first_solution_bound_on_exponential_2():
    """solve_intermediary_first on exponential:2 at its own commitment and price: with one exponential:m
    bidder every class sells the right iff v >= p + a (a = q for a posted price q, r for a reserve r, m for
    shifted Myerson) for a, so revenue a e^(-(p+a)/m), welfare e^(-(p+a)/m) (p + a + m), OPT m / e
    (Theorem D.4); the summed true error of each class and of the reported outcome is within its bound."""
    m = 2.0
    sol = solve_intermediary_first(["exponential:2"])

    def charge(commitment):
        return {"posted_price": commitment.get("price"), "second_price_auction": commitment.get("reserve"),
                "shifted_myerson": m}[commitment["class"]]

    for row in sol.by_class.values():
        a, p = charge(row["commitment"]), row["seller_price"]
        assert abs(row["intermediary_revenue"] - a * math.exp(-(p + a) / m)) <= row["quadrature_error"]
    a, p = charge(sol.intermediary_commitment), sol.seller_price
    want = spa_exponentials(1, m, p, a)
    true_error = (abs(sol.intermediary_revenue - want["intermediary"]) + abs(sol.welfare - want["welfare"])
                  + abs(sol.no_intermediary_optimal_revenue - m / math.e))
    assert true_error <= sol.quadrature_error < max(LOOSENESS * true_error, FLOOR)


class PerturbedExponential(Exponential):
    """exponential:MEAN with v f(v) one percent too high: the integrand of welfare and of the payments."""

    def value_times_pdf(self, v):
        return 1.01 * super().value_times_pdf(v)


@pytest.mark.parametrize("case", [RIGHT_CASES[0], RIGHT_CASES[3]])
def test_right_auction_one_percent_off_integrand_is_flagged(case):
    """The bound is below 1% of each value, and with v f(v) 1% too high the welfare and the
    intermediary's revenue miss their closed forms by more than the bound they report."""
    bidders, auction, price, want = case
    out = evaluate_right_auction([parse_spec(b) for b in bidders], auction, price)
    assert out.quadrature_error < 0.01 * min(want.values())
    mean = float(bidders[0].split(":")[1])
    bad = evaluate_right_auction([PerturbedExponential(mean) for _ in bidders], auction, price)
    for key, value in right_outcome(bad).items():
        assert abs(value - want[key]) > bad.quadrature_error
