"""integral_p^inf P[Phi >= t] dt against closed forms, from p = 0, tiny starts and ordinary prices.

Phi is the highest virtual value (Myerson, Theorem D.4). Closed forms, one bidder unless said:
- exponential:M (phi = v - M): M e^(-1 - p/M); two such bidders, 1 - (1 - e^(-1 - t/M))^2,
  integrate to 2 M e^(-1 - p/M) - (M/2) e^(-2 - 2p/M);
- uniform:L,H (phi = 2v - H, P[phi >= t] = (H - t) / (2 (H - L))): (H - p)^2 / (4 (H - L)) on [0, H];
- pareto:A,S (phi = A v, b = 1/(1 - A), P[phi >= t] = (A S / t)^b past A S, 1 below):
  A S - p + S (1 - A) below A S, (A S)^b p^(1 - b) / (b - 1) past it.
A start of 1e-300 once gave 3.7e-178 for exponential:2 instead of 2/e (a log-scale grid from the start).
The quadrature aims at RTOL = 1e-12 relative; 1e-11 leaves room for the sum over pieces.
"""

from __future__ import annotations

import math

import pytest

from agora.market.single_item.virtual_law import VirtualMaxLaw

STARTS = (0.0, 1e-300, 1e-12, 0.3, 0.9, 1.7)


def exponential(m: float, p: float) -> float:
    return m * math.exp(-1.0 - p / m)


def two_exponentials(m: float, p: float) -> float:
    return 2.0 * m * math.exp(-1.0 - p / m) - 0.5 * m * math.exp(-2.0 - 2.0 * p / m)


def uniform(lo: float, hi: float, p: float) -> float:
    return max(hi - p, 0.0) ** 2 / (4.0 * (hi - lo))


def pareto(a: float, s: float, p: float) -> float:
    b, knee = 1.0 / (1.0 - a), a * s
    if p < knee:
        return knee - p + s * (1.0 - a)
    return knee ** b * p ** (1.0 - b) / (b - 1.0)


MARKETS = (
    (("exponential:2",), lambda p: exponential(2.0, p)),
    (("exponential:0.5",), lambda p: exponential(0.5, p)),
    (("exponential:2", "exponential:2"), lambda p: two_exponentials(2.0, p)),
    (("uniform:0,1",), lambda p: uniform(0.0, 1.0, p)),
    (("uniform:1,3",), lambda p: uniform(1.0, 3.0, p)),
    (("pareto:0.5,1",), lambda p: pareto(0.5, 1.0, p)),
    (("pareto:0.25,2",), lambda p: pareto(0.25, 2.0, p)),
)


@pytest.mark.parametrize("checked", [False, True])
@pytest.mark.parametrize("start", STARTS)
@pytest.mark.parametrize(("specs", "exact"), MARKETS, ids=[" ".join(m[0]) for m in MARKETS])
def test_tail_integral_matches_closed_form(specs, exact, start, checked):
    got = VirtualMaxLaw.of(specs).tail_integral(start, checked=checked)
    assert got.value == pytest.approx(exact(start), rel=1e-11, abs=1e-15)
