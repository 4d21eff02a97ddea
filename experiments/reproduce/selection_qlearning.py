"""The equilibrium-selection report's Q-learning section: a seller and an intermediary that do not know the game.

Tabular Q-learning (Calvano, Calzolari, Denicolo and Pastorello, AER 2020) by both sides, memory of the last
pair of prices, on an 11-price grid: the simultaneous game of Section 5 (monopolist-intermediary) with two
U[0,1] bidders, and the k-item posted-fees market (intermediary-proof-mechanisms) of 4 U[0,1] buyers, all the
intermediary's, and 2 items (:mod:`agora.market.learning.fee_game`). Each session's converged prices and
profits, the profit gain Delta = (profit - Nash) / (joint monopoly - Nash), and each session's response to a
one-step cut of the seller's price (Section V.B of Calvano et al.). The references are checked against hand
computations, and the learners against a game with a strictly dominant price.
"""

from __future__ import annotations

import math

import numpy as np

from agora.experiments.markets.qlearning import impulse_figures
from agora.experiments.reproduce.report import Check, Section
from agora.experiments.tables import markdown_table
from agora.market.learning.fee_game import fee_sessions
from agora.market.learning.qlearning import pricing_sessions, session_seeds

LEARNING = {"alpha": 0.15, "beta": 2e-5, "delta": 0.95, "periods": 300_000, "window": 10_000}
IMPULSE = {"impulse": "step", "impulse_periods": 10}
H = math.log(1e9) / 7  # the grid step of exponential:1 on 8 prices


def served(q: float) -> float:
    """E[min(D, 2)], D ~ Binomial(4, q), by hand: P[D = 1] + 2 P[D >= 2]."""
    one = 4 * q * (1 - q) ** 3
    return one + 2 * (1 - (1 - q) ** 4 - one)


def _reference_checks(single: dict, fees: dict) -> list[Check]:
    rows = [("single item, two U[0,1] bidders, 11 prices", single, (0.7 * (1 - 0.7 ** 2), 0.6 * (1 - 0.6 ** 2)),
             "by hand: the sale chance 1 - t^2 at the grid's totals t = 0.7 (best equilibrium) and 0.6"),
            ("posted fees, 4 U[0,1] buyers, 2 items, 11 prices", fees, (0.7 * served(0.3), 0.6 * served(0.4)),
             "by hand: t E[min(D, 2)], D ~ Bin(4, 1 - t), at t = 0.7 (best equilibrium) and 0.6")]
    return [Check("profit gain references", name, "Nash and joint-monopoly total profits",
                  f"{nash:.6g}, {monopoly:.6g}", f"{d['nash_profit']:.6g}, {d['monopoly_profit']:.6g}",
                  math.isclose(d["nash_profit"], nash, rel_tol=1e-9)
                  and math.isclose(d["monopoly_profit"], monopoly, rel_tol=1e-9), "1e-9", "independent", source)
            for name, d, (nash, monopoly), source in rows]


def _dominant_check(sessions: int, learning: dict) -> Check:
    d = pricing_sessions(["exponential:1"], 8, session_seeds(7, sessions), **{**learning, "delta": 0.0},
                         per_session=True)
    prices = np.concatenate([d["per_session"]["seller_price"], d["per_session"]["intermediary_price"]])
    ok = d["converged"] == 1.0 and np.allclose(prices, H, rtol=1e-12) and abs(d["profit_gain"]) <= 1e-9
    learned = sorted({round(float(x), 6) for x in prices})
    return Check("a strictly dominant price is learned", f"exponential:1, 8 prices up to ln(1e9), {sessions} sessions",
                 "every session's prices, profit gain", f"{H:.6g}, 0", f"{learned}, {d['profit_gain']:.3g}", ok,
                 "1e-12; 1e-9", "independent",
                 "closed form: x e^(-x - other) is largest at the grid step h = ln(1e9)/7 whatever the other price")


def _row(name: str, d: dict) -> tuple:
    each = impulse_figures(d["impulse"]["per_session"], "seller", d["parameters"]["high"])
    punish = each["impulse_punishment"]
    back = each["impulse_return_period"]
    return (name, f"{d['converged']:.2f}", d["seller_price"], d["intermediary_price"], d["seller_profit"],
            d["intermediary_profit"], d["nash_profit"], d["monopoly_profit"], d["profit_gain"],
            f"{int(np.sum(punish > 0))} of {len(punish)}", float(np.mean(each["impulse_deviation_gain"])),
            f"{int(np.sum(~np.isnan(back)))} of {len(back)}")


def q_learning(sessions: int = 20, learning: dict | None = None, seed: int = 2026) -> Section:
    learning = LEARNING if learning is None else learning
    kw = {**learning, **IMPULSE, "per_session": True}
    single = pricing_sessions(["uniform:0,1"] * 2, 11, session_seeds(seed, sessions), **kw)
    fees = fee_sessions("uniform:0,1", 4, 2, 11, session_seeds(seed, sessions), **kw)
    checks = _reference_checks(single, fees) + [_dominant_check(4, learning)]
    table = markdown_table(
        ["game", "converged", "seller price", "intermediary price", "seller profit", "intermediary profit",
         "Nash total", "monopoly total", "profit gain", "sessions punishing the cut",
         "seller's period-1 gain from the cut", "sessions back within 10 periods"],
        [_row("single item, two U[0,1] bidders", single), _row("posted fees, 4 buyers, 2 items", fees)])
    text = f"""
Both sides run tabular Q-learning (alpha = {learning['alpha']}, exploration exp(-{learning['beta']:g} t),
delta = {learning['delta']}, memory of the last pair of prices; {sessions} sessions, each converged once no
greedy strategy changed for {learning['window']} periods, at most {learning['periods']}), knowing nothing of
the game. The profit gain Delta is measured from the grid game's trading pure equilibrium of largest total
profit (Delta = 0) to the integrated monopolist's best total price on the grid (Delta = 1). In the single-item
game the learners reach Delta = {single['profit_gain']:.3f}, in the posted-fees market
Delta = {fees['profit_gain']:.3f} (Delta > 0: total profit above every pure equilibrium of the grid, towards
the integrated monopolist's, i.e. less double marginalization than in equilibrium). After a one-step cut of the seller's
price, the table counts the sessions whose intermediary then prices below its uncut path (punishes), the
seller's mean profit in the cut period less its uncut one, and the sessions whose prices are back on the
uncut path within 10 periods (each session's own figures).
"""
    return Section("Q-learning seller and intermediary", text, checks, table)
