"""Best responses over full bid vectors in the (k+1)-th-price auction, and the equilibrium of a
demand structure (Section 3; Proposition 1).

Closed forms: adding a bid at the reserve r for the second of k = 2 units gains F(r)^m (v2 - r)
against m truthful rival buyers (both units sell at r iff every rival is below r; otherwise the
extra bid loses without lifting the price above r); a monopsony wins every unit it bids for at r.
The exact expected utility is also checked against the auction run on simulated rivals.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy import integrate

from agora.market.distributions import parse_spec
from agora.market.k_items.bidding import TruthfulRivals, best_response, expected_utility
from agora.market.k_items.k_auction import solve_k_auction
from agora.market.k_items.mechanisms import UniformPriceAuction
from agora.market.k_items.solver import myerson_auction_revenue
from agora.market.k_items.utility import utility_model
from tests.cli_run import run_cli

U = "uniform:0,1"


def rivals(m: int, k: int, reserve: float = 0.5, law: str = U, model: str = "surplus") -> TruthfulRivals:
    dist = parse_spec(law)
    return TruthfulRivals(dist, utility_model(model, dist), m, k, reserve)


@pytest.mark.parametrize("m", [1, 3])
def test_reserve_bid_for_lower_unit_gains_closed_form(m):
    """Two buyers valued 0.9 and 0.8 against m truthful single-buyer rivals, k = 2, r = 1/2 (m = 1:
    two intermediaries; m = 3: the gain r^3 (v2 - r)). The bid vector (v1, r) earns exactly
    r^m (v2 - r) more than (v1); the best response over all bid vectors earns at least that
    (1e-12), bids the reserve for the second unit, and no bid vector on a 61-level grid beats it.

    The baseline is independent of the code: bidding v1 alone wins iff the second-highest rival
    score R(2) is below v1 and pays max(r, R(2)), so it earns int_r^{v1} P[R(2) <= t] dt with
    P[R(2) <= t] = t^m + m t^(m-1) (1 - t) for uniform rivals (scipy quad)."""
    r, v1, v2 = 0.5, 0.9, 0.8
    riv = rivals(m, 2, r)
    gain = r ** m * (v2 - r)
    alone = integrate.quad(lambda t: t ** m + m * t ** (m - 1) * (1 - t), r, v1)[0]
    assert expected_utility(riv, (v1, v2), (v1,)) == pytest.approx(alone, abs=1e-12)
    assert expected_utility(riv, (v1, v2), (v1, r)) - alone == pytest.approx(gain, abs=1e-12)
    br = best_response(riv, (v1, v2))
    assert br.utility >= alone + gain - 1e-12
    assert br.utility == pytest.approx(alone + gain, abs=1e-9)  # (v1, r) is a best response
    assert br.regret <= 1e-9
    # m = 1: the first unit always wins (only one rival bid), so any first bid >= r is as good and
    # the lowest, r, is reported; m = 3: the first unit is bid truthfully
    assert br.shape(r) == (("reserve" if m == 1 else "truthful"), "reserve")
    assert br.utility > expected_utility(riv, (v1, v2), (v1, v2))  # bidding both values is worse


def test_alone_utility_against_order_statistic_quadrature():
    """One bid v1 = 0.9, k = 2, three uniform rivals, r = 1/2: it wins iff the second-highest rival
    bid o_2 is below v1 and pays max(r, o_2): E[(v1 - max(r, o_2)) 1{o_2 < v1}], o_2 ~ Beta(2, 2)."""
    from scipy import integrate, stats

    r, v1 = 0.5, 0.9
    direct = (v1 - r) * stats.beta(2, 2).cdf(r) + integrate.quad(lambda o: (v1 - o) * stats.beta(2, 2).pdf(o),
                                                                r, v1, epsabs=1e-13)[0]
    assert expected_utility(rivals(3, 2, r), (v1, 0.8), (v1,)) == pytest.approx(direct, abs=1e-12)


@pytest.mark.parametrize("law,model,k,m,scores,bids", [
    (U, "surplus", 2, 3, (0.9, 0.8), (0.85, 0.62)),
    (U, "surplus", 3, 4, (0.95, 0.9, 0.7), (0.95, 0.8, 0.55)),
    ("exponential:1", "monopolist", 2, 3, (2.0, 1.4), (1.6, 1.0)),
])
def test_expected_utility_matches_simulated_auction(law, model, k, m, scores, bids):
    """The exact utility of shaded bid vectors against the mean over 200,000 auctions run by
    UniformPriceAuction.run on simulated rival scores (four standard errors)."""
    dist = parse_spec(law)
    um = utility_model(model, dist)
    reserve = dist.monopoly_price  # phi^-1(0): 1/2 for uniform, 1 for exponential(1)
    riv = TruthfulRivals(dist, um, m, k, reserve)
    exact = expected_utility(riv, scores, bids)
    rng = np.random.default_rng(11)
    rows = 200_000
    rival_scores = um.scores(dist.rvs((rows, m), rng), dist)
    all_bids = np.concatenate([np.tile(bids, (rows, 1)), np.where(rival_scores >= reserve, rival_scores, -np.inf)],
                              axis=1)
    win, price = UniformPriceAuction(k, reserve).run(all_bids, rng.random(all_bids.shape))
    own = win[:, :len(bids)]
    u = (own * (np.asarray(scores[:len(bids)])[None, :] - price[:, None])).sum(axis=1)
    assert abs(u.mean() - exact) <= 4 * u.std(ddof=1) / math.sqrt(rows)


def test_monopsony_bids_the_reserve_for_every_unit():
    """No rivals (Proposition 2's collapse): every bid at least r wins at r, so the best response
    places k bids (the lowest, r, of the equally good ones) and earns sum_{j <= k} (s_j - r)."""
    br = best_response(rivals(0, 2, 0.5), (0.9, 0.7, 0.6))
    assert br.bids == pytest.approx((0.5, 0.5), abs=1e-9)
    assert br.utility == pytest.approx(0.4 + 0.2, abs=1e-12)
    assert expected_utility(rivals(0, 2, 0.5), (0.9, 0.7, 0.6), (0.9, 0.8)) == pytest.approx(0.6, abs=1e-12)


def test_below_reserve_places_no_bid():
    br = best_response(rivals(3, 2, 0.5), (0.4, 0.3))
    assert br.bids == () and br.utility == 0.0


def test_equilibrium_regret_below_tolerance():
    """Structure (2, 1, 1, 1), k = 2, uniform, r = 1/2: the single-buyer intermediaries' truthful bids
    are dominant and the pair's best response is checked on a 41-level grid in 4 rounds: regret
    <= 1e-9; it bids the reserve for its second unit whenever its second buyer is above r."""
    sol = solve_k_auction(5, 2, U, [[0, 1], [2], [3], [4]], "surplus", rounds=8, regret_profiles=4)
    assert sol.max_regret <= 1e-9
    assert sol.strategic_block == [0, 1]
    assert all(shape.split(",")[1] in ("reserve", "none") for shape in sol.bid_shapes)


def test_competition_revenue_is_myersons():
    """Every intermediary holding one buyer: truthful bids, revenue sum_j E[phi(v(j,n))^+]
    (Proposition 1, quadrature) within four standard errors of 20,000 rounds."""
    sol = solve_k_auction(6, 2, U, None, "surplus", rounds=20_000, seed=5)
    exact = myerson_auction_revenue(U, 6, 2)
    assert abs(sol.revenue - exact) <= 4 * sol.revenue_stderr
    assert sol.max_regret == 0.0 and sol.bid_shapes == {}


def test_cli_k_auction_json(capsys):
    code, out, _ = run_cli(capsys, "solve", "k-auction", "--buyers", "4", "--items", "2", "--dist", U,
                           "--partition", "0,1|2|3", "--utility", "surplus", "--rounds", "4",
                           "--regret-profiles", "1", "--json")
    assert code == 0
    d = json.loads(out)
    for key in ("bid_shapes", "revenue", "welfare", "max_regret", "reserve"):
        assert key in d
    assert d["reserve"] == pytest.approx(0.5) and d["max_regret"] <= 1e-9


@pytest.mark.parametrize("argv,needle", [
    (["--partition", "0,1|2|3", "--utility", "surplus", "--reserve", "-1"], "reserve"),
    (["--partition", "0,1|2|3", "--utility", "altruist"], "invalid choice"),
])
def test_cli_k_auction_bad_input(capsys, argv, needle):
    code, out, err = run_cli(capsys, "solve", "k-auction", "--buyers", "4", "--items", "2", "--dist", U, *argv)
    assert code == 2 and out == "" and needle in err
