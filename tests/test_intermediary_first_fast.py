"""Intermediary-first after its speed-ups (shared win-share nodes, compiled win shares, pruned price scans,
the truncated normal's closed forms) against values recorded by running the code of commit e8b30f9 (main
before them) in a scratch checkout of main, and against an independent Monte Carlo of the auction.

RECORDED: ``solve_intermediary_first(market).to_dict()`` at e8b30f9, printed with ``repr``: the seller's
price and revenue, the intermediary's revenue, welfare and OPT to 1e-9 relative, the commitment's class
exactly and its parameter to 1e-6 (the intermediary's revenue is flat in it at the optimum; on these
markets it agrees to 1.3e-10). The benchmark markets (benchmarks/test_bench_intermediary_first.py)
and the others take seconds each, so they are slow tests; three small ones run by default.

The Monte Carlo check is written from the value laws alone (no score or quadrature code of the solver):
bids v_i - p for the right, ranked by phi_i(b_i + s) extended with slope 1 beyond the support
(Myerson's auction for an anticipated price s), sold when the top score reaches s, the winner paying
its threshold bid phi_i^-1(max(s, second score)) - s; the seller's revenue p P[sale], with the seller's
price checked against a grid of prices on the same closed-form sale curve.
"""

import numpy as np
import pytest

from agora.market.single_item.intermediary_first import solve_intermediary_first
from benchmarks.test_bench_intermediary_first import uniform_exponential_market

FIELDS = ("seller_price", "seller_revenue", "intermediary_revenue", "welfare", "no_intermediary_optimal_revenue")
RECORDED = {
    "uniform:0,1|exponential:1": ((0.38136877611309633, 0.1398119759530475, 0.30707372971043584, 0.7018962227923422,
                                   0.5502117996604237), ("shifted_myerson", 0.0709015342856711)),
    "uniform:0,1|uniform:0,1": ((0.24562599893135817, 0.09461264322855661, 0.2107687159894705, 0.3452856077521797,
                                 0.41666666666666674), ("second_price_auction", 0.5384723008459515)),
    "exponential:2": ((1.999999999999708, 0.27067056649237003, 0.27067056647326493, 0.8120116994580442,
                       0.7357588823428847), ("posted_price", 1.9999999998585392)),
    "pareto:0.3,0.7,20|exponential:1": ((1.241472920827254, 0.16643438312715164, 0.3113235424826669,
                                         0.7626907730356677, 0.9345140151031672),
                                        ("shifted_myerson", 2.8764053480812644)),
    "truncnorm:1,0.4,0.2,2|exponential:1": ((0.5484549285705129, 0.26566049755011784, 0.3918211475234965,
                                             0.919132334483909, 0.8003008583496777),
                                            ("shifted_myerson", 0.28348734934196557)),
    "uniform_exponential_market(20)": ((1.2679706356973774, 1.024998797543205, 1.358821246434091, 3.3817771228584306,
                                        2.6223759849009447), ("shifted_myerson", 0.8846200848647622)),
    "uniform_exponential_market(50)": ((3.7720796222946884, 3.382103811105553, 3.6267757967568217, 9.492668108014069,
                                        7.366955037201426), ("shifted_myerson", 3.489633755009859)),
}
QUICK = ("uniform:0,1|exponential:1", "uniform:0,1|uniform:0,1", "exponential:2")


def _market(key: str) -> list[str]:
    if key.startswith("uniform_exponential_market"):
        return uniform_exponential_market(int(key.split("(")[1].rstrip(")")))
    return key.split("|")


def _check_recorded(key: str):
    sol = solve_intermediary_first(_market(key))
    numbers, (cls, parameter) = RECORDED[key]
    for name, expected in zip(FIELDS, numbers):
        assert getattr(sol, name) == pytest.approx(expected, rel=1e-9, abs=1e-300), name
    commitment = dict(sol.intermediary_commitment)
    assert commitment.pop("class") == cls
    assert next(iter(commitment.values())) == pytest.approx(parameter, rel=1e-6, abs=1e-9)
    return sol


@pytest.mark.parametrize("key", QUICK)
def test_small_markets_match_the_recorded_outcomes(key):
    _check_recorded(key)


@pytest.mark.slow
@pytest.mark.parametrize("key", [k for k in RECORDED if k not in QUICK])
def test_larger_markets_match_the_recorded_outcomes(key):
    _check_recorded(key)


def _laws(specs):
    """(kind, lo, hi, mean) per bidder of uniform:0,H or exponential:MEAN (the benchmark's laws)."""
    out = []
    for s in specs:
        kind, args = s.split(":")
        xs = [float(x) for x in args.split(",")]
        out.append(("uniform", xs[0], xs[1], 0.0) if kind == "uniform" else ("exponential", 0.0, np.inf, xs[0]))
    return out


def _phi(law, u):
    kind, lo, hi, mean = law
    return 2.0 * u - hi if kind == "uniform" else u - mean


def _phi_inv(law, t):
    kind, lo, hi, mean = law
    return (t + hi) / 2.0 if kind == "uniform" else t + mean


def _extended(law, u):
    """phi^(u): phi on the support, slope 1 beyond it."""
    kind, lo, hi, mean = law
    inside = np.clip(u, lo, hi)
    return _phi(law, inside) + (u - inside)


def _extended_inverse(law, c):
    kind, lo, hi, mean = law
    phi_lo, phi_hi = _phi(law, lo), _phi(law, hi) if np.isfinite(hi) else np.inf
    return np.where(c < phi_lo, lo - (phi_lo - c), np.where(c > phi_hi, c, _phi_inv(law, np.clip(c, phi_lo, phi_hi))))


def _draw(law, rng, n):
    kind, lo, hi, mean = law
    return rng.uniform(lo, hi, n) if kind == "uniform" else rng.exponential(mean, n)


def _survival(law, v):
    kind, lo, hi, mean = law
    return np.clip((hi - v) / (hi - lo), 0.0, 1.0) if kind == "uniform" else np.exp(-np.maximum(v, 0.0) / mean)


def _monte_carlo_myerson(laws, s, p, rounds, rng, chunk=200_000):
    """Mean and standard error of the intermediary's revenue, and the sale frequency."""
    pay, sold = [], []
    for start in range(0, rounds, chunk):
        n = min(chunk, rounds - start)
        scores = np.array([_extended(law, _draw(law, rng, n) - p + s) for law in laws])
        order = np.argsort(scores, axis=0)
        top, second = order[-1], order[-2]
        cols = np.arange(n)
        sale = scores[top, cols] >= s
        rival = np.maximum(s, scores[second, cols])
        threshold = np.choose(top, [_extended_inverse(law, rival) for law in laws]) - s
        pay.append(np.where(sale, threshold, 0.0))
        sold.append(sale)
    pay, sold = np.concatenate(pay), np.concatenate(sold)
    return pay.mean(), pay.std(ddof=1) / np.sqrt(pay.size), sold.mean()


@pytest.mark.slow
def test_twenty_bidders_against_monte_carlo_and_the_sellers_grid():
    """The 20-bidder benchmark market: the intermediary's revenue within 4 standard errors of 10^6 rounds
    (4 s.e. is 0.5% of it, so a 1% error fails), the seller's revenue p P[sale] from the closed-form sale
    curve to 1e-12, and no price on a grid of 200,001 doing better for the seller."""
    specs = uniform_exponential_market(20)
    sol = solve_intermediary_first(specs)
    assert sol.intermediary_commitment["class"] == "shifted_myerson"
    s, p = sol.intermediary_commitment["anticipated_price"], sol.seller_price
    laws = _laws(specs)
    mean, se, sold = _monte_carlo_myerson(laws, s, p, 1_000_000, np.random.default_rng(2024))
    assert abs(sol.intermediary_revenue - mean) <= 4 * se, (sol.intermediary_revenue, mean, se)
    assert 4 * se <= 0.006 * mean

    reach = [_extended_inverse(law, np.array(s)) - s for law in laws]  # v_i >= a_i + p sells

    def sale(prices):
        return 1.0 - np.prod([1.0 - _survival(law, a + prices) for law, a in zip(laws, reach)], axis=0)

    assert sol.seller_revenue == pytest.approx(p * sale(np.array(p)), rel=1e-12)
    assert abs(sold - float(sale(np.array(p)))) <= 4 * np.sqrt(sold * (1 - sold) / 1_000_000)
    grid = np.linspace(0.0, 10.0, 200_001)
    assert np.max(grid * sale(grid)) <= sol.seller_revenue * (1 + 1e-12)
