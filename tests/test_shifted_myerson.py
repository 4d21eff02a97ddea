"""The shifted Myerson auction's vectorized round against Theorem 3.1 evaluated bidder by bidder.

The expected outcome of every round is computed here from the paper's scalar formulas, written
independently of :mod:`agora.market.distributions`: each bidder's phi_i(v) = v - (1 - F_i(v)) / f_i(v)
(App. D: 2v - HI, v - MEAN, ALPHA v; ``scipy.stats`` for the other laws; HI on an atom at HI),
the winner is the highest phi_i(v_i) at or above the menu's threshold (ties to the highest
priority), and it pays Myerson's threshold payment (Theorem 3.1; Lemma 3.10 for a menu):
fee = x_k (v - p_k) - integral_lo^v x(z) dz with x(z) the option it would get at bid z against
the best rival, integrated by ``scipy.integrate.quad``, and phi^-1 found by ``scipy.optimize.brentq``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, optimize, stats

from agora.market.distributions import parse_spec
from agora.market.single_item.seller_first import intermediary_best_response
from agora.market.single_item.seller_mechanisms import Menu

FEE_TOLERANCE = 1e-9  # relative to the winner's value (root finding and quadrature at 1e-12)


class PaperLaw:
    """One bidder's law as the paper writes it: support [lo, hi), an atom at hi, phi in closed form."""

    def __init__(self, spec: str):
        family, body = spec.split(":")
        p = [float(x) for x in body.split(",")]
        self.atom = 0.0
        if family == "uniform":
            self.lo, self.hi = p
            self.phi_cont = lambda v: 2.0 * v - self.hi
        elif family == "exponential":
            self.lo, self.hi = 0.0, math.inf
            self.phi_cont = lambda v: v - p[0]
        elif family == "pareto":  # survival (s / v)^(1 / (1 - alpha)), capped at H
            alpha, self.lo = p[0], p[1]
            self.hi = p[2] if len(p) == 3 else math.inf
            self.atom = (self.lo / self.hi) ** (1.0 / (1.0 - alpha)) if len(p) == 3 else 0.0
            self.phi_cont = lambda v: alpha * v
        else:  # truncnorm:MEAN,SD,LO,HI or beta:A,B,LO,HI through scipy.stats
            self.lo, self.hi = p[2], p[3]
            if family == "truncnorm":
                rv = stats.truncnorm((p[2] - p[0]) / p[1], (p[3] - p[0]) / p[1], loc=p[0], scale=p[1])
            else:
                rv = stats.beta(p[0], p[1], loc=p[2], scale=p[3] - p[2])
            self.phi_cont = lambda v: v - rv.sf(v) / rv.pdf(v)  # -inf where f(lo) = 0

    def phi(self, v: float) -> float:
        """phi(v) = v - (1 - F(v)) / f(v) on [lo, hi) (below lo: phi(lo)); hi on the atom at hi."""
        if v >= self.hi:
            return self.hi
        top = self.hi - 1e-12 * max(1.0, self.hi) if math.isfinite(self.hi) else math.inf
        with np.errstate(divide="ignore"):
            return float(self.phi_cont(min(max(v, self.lo), top)))

    def inverse(self, t: float) -> float:
        """inf{v : phi(v) >= t} (+inf if no value reaches t), by brentq on the continuous part."""
        if self.phi(self.lo) >= t:
            return self.lo
        top = self.hi - 1e-12 * max(1.0, self.hi) if math.isfinite(self.hi) else 2.0 * abs(t) + 1e3
        if self.phi(top) >= t:
            return optimize.brentq(lambda v: self.phi(v) - t, self.lo, top, xtol=1e-13, rtol=1e-15)
        return self.hi if t <= self.hi and math.isfinite(self.hi) else math.inf


def paper_choice(menu: Menu, phi: float) -> int:
    """The option maximizing x_k (phi - p_k) >= 0 (ties: larger x_k, then lower p_k); -1 if none."""
    best = max(range(len(menu.options)), key=lambda k: (
        menu.options[k].probability * (phi - menu.options[k].price), menu.options[k].probability,
        -menu.options[k].price))
    o = menu.options[best]
    return best if o.probability * (phi - o.price) >= 0 else -1


def paper_round(laws, menu: Menu, bids, priority):
    """(winner, option, fee on delivery, phis) from Theorem 3.1 / Lemma 3.10, bidder by bidder."""
    phis = [law.phi(b) for law, b in zip(laws, bids)]
    winner = max(range(len(laws)), key=lambda i: (phis[i], priority[i]))
    option = paper_choice(menu, phis[winner])
    if option < 0:
        return None, None, 0.0, phis
    rival = max((p for i, p in enumerate(phis) if i != winner), default=-math.inf)
    law, v = laws[winner], bids[winner]

    def allocation(z: float) -> float:  # what the winner would get bidding z against the rival
        k = paper_choice(menu, law.phi(z))
        return menu.options[k].probability if k >= 0 and law.phi(z) > rival else 0.0

    kinks = {o.price for o in menu.options} | {  # where the upper envelope of the lines x_k (phi - p_k) bends
        (a.probability * a.price - b.probability * b.price) / (a.probability - b.probability)
        for a in menu.options for b in menu.options if a.probability != b.probability}
    cuts = sorted({law.inverse(max(t, rival)) for t in kinks} | {law.inverse(rival)})
    points = [c for c in cuts if law.lo < c < v]
    lo = min(law.lo, v)
    integral = integrate.quad(allocation, lo, v, points=points or None, limit=200,
                              epsabs=1e-13, epsrel=1e-13)[0] if v > lo else 0.0
    o = menu.options[option]
    return winner, option, (o.probability * (v - o.price) - integral) / o.probability, phis


FAMILIES = ["uniform:0,1", "uniform:0.5,3", "exponential:1.5", "pareto:0.5,1,50", "pareto:0.3,1",
            "pareto:0,1,20", "truncnorm:1,0.5,0,3", "beta:2,3,0,2"]


def random_market(rng: np.random.Generator) -> list[str]:
    """2 to 6 bidders from FAMILIES, some repeated (so ties in phi occur with repeated bids)."""
    return [FAMILIES[k] for k in rng.integers(0, len(FAMILIES), rng.integers(2, 7))]


def random_bids(rng: np.random.Generator, specs: list[str]) -> list[float]:
    """Draws from each law, some below the support, at the cap, or copied from another bidder."""
    bids = [float(parse_spec(s).rvs(1, rng)[0]) for s in specs]
    for i, s in enumerate(specs):
        u = rng.random()
        if u < 0.1:
            bids[i] = float(rng.uniform(0, 0.5))
        elif u < 0.2 and math.isfinite(parse_spec(s).hi):
            bids[i] = parse_spec(s).hi
        elif u < 0.5 and specs.index(s) != i:
            bids[i] = bids[specs.index(s)]
    return bids


MENUS = [Menu.posted(0.3), Menu.posted(1.2), Menu.of([(0.5, 0.2), (1.0, 0.6)]),
         Menu.of([(0.5, 0.2), (1.0, 0.6), (0.8, 0.4)])]


@pytest.mark.parametrize("menu", MENUS, ids=["p=0.3", "p=1.2", "two-option menu", "three-option menu"])
def test_vectorized_round_equals_theorem_3_1_bidder_by_bidder(menu):
    """60 random rounds per menu over random markets: the same winner and option, the fee on
    delivery to 1e-9 (relative to the winner's value), the virtual values to 1e-12."""
    rng = np.random.default_rng(2024)
    sales = ties = 0
    for _ in range(60):
        specs = random_market(rng)
        auction = intermediary_best_response([parse_spec(s) for s in specs], menu)
        laws = [PaperLaw(s) for s in specs]
        bids = random_bids(rng, specs)
        priority = rng.random(len(specs))
        got = auction.run(bids, priority)
        winner, option, fee, phis = paper_round(laws, menu, bids, priority)
        np.testing.assert_allclose(got.virtual_values, phis, rtol=1e-12, atol=1e-12)
        assert (got.winner, got.option) == (winner, option), (specs, bids)
        assert got.fee_on_delivery == pytest.approx(fee, abs=FEE_TOLERANCE * max(1.0, bids[winner or 0]))
        sales += winner is not None
        ties += len(set(phis)) < len(phis)
    assert sales >= 20 and ties >= 3  # the comparison covered sales and ties in phi


def test_virtual_values_equal_each_laws_own_bit_for_bit():
    """virtual_values(bids) is, element by element and bit for bit, each law's own virtual_value
    (400 random markets and bids, affine and other laws mixed, bids below the support and at caps)."""
    rng = np.random.default_rng(7)
    for _ in range(400):
        specs = random_market(rng)
        laws = [parse_spec(s) for s in specs]
        bids = random_bids(rng, specs)
        got = intermediary_best_response(laws, Menu.posted(0.5)).virtual_values(bids)
        np.testing.assert_array_equal(got, [float(b.virtual_value(x)) for b, x in zip(laws, bids)])
