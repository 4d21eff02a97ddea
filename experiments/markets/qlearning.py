"""Q-learning pricing agents as an experiment kind (Calvano et al. 2020 in the simultaneous game of
monopolist-intermediary, Section 5).

``q-learning``: the seller and the intermediary each run tabular Q-learning on the ``points``-price
grid of the simultaneous game of ``bidders``, remembering the last ``memory`` pairs of prices,
exploring with probability exp(-``beta`` t), learning rate ``alpha``, discount ``delta``, for at most
``periods`` periods (converged once no greedy strategy changed for ``window`` periods)
(:func:`agora.market.learning.qlearning.pricing_sessions`). One step of the spec is one independent
session, each on its own child of the run's ``SeedSequence``. Each step records the session's
converged prices (the first joint action of the limit cycle of greedy play), both profits (means
over that cycle), its profit gain Delta = (total profit - Nash) / (joint monopoly - Nash), whether
it converged and the periods it ran; the run's row holds their means beside the references: the
Nash total profit (the grid game's trading pure equilibrium of largest total profit) and the
joint-monopoly one (the integrated monopolist's best total price on the grid).

With ``impulse`` = "step" or "lowest" (Calvano et al. 2020, Section V.B), from every session's converged
play the ``deviator``'s price is forced one grid step down, or to the lowest price, for period 1, and both
then play greedily for ``impulse_periods`` periods (the engine's mean price and profit paths over the
sessions, beside the same greedy play without the cut); the row then also holds their summary
(:func:`impulse_summary`), and each step the same figures of its session's own paths (IMPULSE_QUANTITIES).

``q-learning-fees``: the same learners in the k-item posted-fees market of ``buyers`` (all the
intermediary's) and ``items`` (:mod:`agora.market.learning.fee_game`): the seller's price per item and
the intermediary's fee on one grid up to ``upper``; steps and row as above.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from agora.experiments.limits import (
    COSTS,
    Q_PERIOD_OVERHEAD,
    Cost,
    q_impulse_cost,
    q_memory_cost,
    q_session_bytes,
)
from agora.experiments.markets import (
    MarketKind,
    Param,
    ParamError,
    RunOutput,
    Size,
    read_choice,
    read_int,
    read_number,
    read_positive,
    shown,
)
from agora.experiments.markets.selection import read_spec
from agora.experiments.markets.single_item import read_bidders
from agora.market.distributions import ACCEPTED_SPECS
from agora.market.learning.fee_game import fee_references
from agora.market.learning.qlearning import (
    CHUNK,
    CUTS,
    SIDES,
    check_parameters,
    check_sessions,
    grid_sessions,
    pricing_references,
)

QUANTITIES = ("seller_price", "intermediary_price", "seller_profit", "intermediary_profit", "profit_gain",
              "converged", "periods")
#: Each session's impulse figures (:func:`impulse_figures`), recorded only with an impulse.
IMPULSE_QUANTITIES = ("impulse_cut", "impulse_deviator_price", "impulse_deviator_profit", "impulse_deviation_gain",
                      "impulse_punishment", "impulse_return_period")
DEFAULT_WINDOW = 100_000
#: Bytes a run holds whatever its sessions: a chunk's uniforms (4 a period) and its exploration rates
#: (the periods and their exp(-beta t)), float64, and 64 KB of small arrays (measured by tracemalloc).
RUN_BYTES = 6 * 8 * CHUNK + 65536
#: Mean prices this close to the uncut path's (times the grid's top price) are back on it: the means of
#: grid prices over sessions differ by at least a grid step / sessions once one session differs.
RETURN_RTOL = 1e-9
#: The posted-fees game per price pair and buyer: 49 bytes peak (tracemalloc) and at most 2e-7 s measured
#: (21 to 101 prices, 200 to 5000 buyers).
FEE_CELL_BYTES, FEE_CELL_SECONDS = 64.0, 4e-7


def read_alpha(value) -> float:
    x = read_number(value)
    if not 0 < x <= 1:
        raise ValueError("not in (0, 1]")
    return x


def read_delta(value) -> float:
    x = read_number(value)
    if not x < 1:
        raise ValueError("not in [0, 1)")
    return x


def read_window(value):
    return None if value is None else read_int(1)(value)


def window_of(params: Mapping) -> int:
    """The convergence window: as given, else min(100000, periods)."""
    return params["window"] if params["window"] is not None else min(DEFAULT_WINDOW, params["periods"])


def check(params: Mapping) -> None:
    """The window fits the periods, and the grid game has the profit gain's references."""
    if window_of(params) > params["periods"]:
        raise ParamError("window", f"more than periods = {params['periods']}")
    check_parameters(params["alpha"], params["beta"], params["delta"], params["memory"], params["periods"],
                     window_of(params))
    references(params)


def references(params: Mapping) -> tuple:
    """The grid game and what the profit gain is measured against: the simultaneous game of ``bidders``
    (kind q-learning) or the posted-fees game of ``buyers`` and ``items`` (kind q-learning-fees)."""
    if "bidders" in params:
        return pricing_references(params["bidders"], params["points"])
    return fee_references(params["distribution"], params["buyers"], params["items"], params["points"],
                          params["upper"])


def sizes(params: Mapping, steps: int) -> tuple[Size, ...]:
    """The grid game, one session's Q-tables (by memory), the sessions' tables (the spec's steps, with
    the run's uniforms), the periods every session runs (``agora solve q-learning``'s costs) and, with
    an impulse, the periods of its responses."""
    points, memory = params["points"], params["memory"]
    periods = COSTS["q_periods"]
    out = (*game_sizes(params),
           Size("memory", memory, q_memory_cost(points)),
           Size("steps", steps, Cost(1.0, 0.0, lambda n: n * q_session_bytes(points, memory) + RUN_BYTES),
                note=" (sessions)", in_market=False),
           Size("periods", params["periods"], Cost(0.0, periods.seconds * (steps + Q_PERIOD_OVERHEAD))))
    if params["impulse"] == "none":
        return out
    return (*out, Size("impulse_periods", params["impulse_periods"], q_impulse_cost(steps, points, kept=True)))


def game_sizes(params: Mapping) -> tuple[Size, ...]:
    """The grid game: the pricing game's N x N tables, or the posted-fees game's buyers' demand pmf at
    each of the N x N total prices (FEE_CELL_BYTES and FEE_CELL_SECONDS per price pair and buyer)."""
    points = params["points"]
    if "bidders" in params:
        return (Size("points", points, COSTS["grid"], low=2),)
    return fee_sizes(points, params["buyers"])


def fee_sizes(points: int, buyers: int) -> tuple[Size, Size]:
    """The posted-fees game by its grid and by its buyers, each with the other held fixed."""
    b = buyers + 1
    return (Size("points", points, Cost(FEE_CELL_BYTES * b, FEE_CELL_SECONDS * b, lambda n: n * n), low=2),
            Size("buyers", buyers, Cost(FEE_CELL_BYTES * points ** 2, FEE_CELL_SECONDS * points ** 2,
                                        lambda n: n + 1)))


def run(params: Mapping, steps: int, rng: np.random.Generator) -> RunOutput:
    """``steps`` sessions, session k on the k-th child of the run's SeedSequence."""
    seeds = rng.bit_generator.seed_seq.spawn(steps)
    impulse = None if params["impulse"] == "none" else params["impulse"]
    learning = (params["alpha"], params["beta"], params["delta"], params["memory"], params["periods"],
                window_of(params), impulse, params["deviator"], params["impulse_periods"])
    check_sessions(seeds, *learning)
    d = grid_sessions(references(params), seeds, *learning, per_session=True)
    cols = {q: np.asarray(d["per_session"][q], float) for q in QUANTITIES}
    row = {"steps": steps, **{q: float(np.mean(v)) for q, v in cols.items()},
           "profit_nash": d["nash_profit"], "profit_monopoly": d["monopoly_profit"],
           "nash_seller_price": d["nash"]["seller_price"], "nash_intermediary_price": d["nash"]["intermediary_price"],
           "grid_equilibria": d["nash"]["grid_equilibria"]}
    if impulse is not None:
        row.update(impulse_summary(d["impulse"], d["parameters"]["high"]))
        each = d["impulse"]["per_session"]
        cols.update({"impulse_cut": each["cut"].astype(float),
                     **impulse_figures(each, params["deviator"], d["parameters"]["high"])})
    return RunOutput(cols, row)


def impulse_summary(im: Mapping, high: float) -> dict:
    """The row's figures of the engine's mean impulse paths ``im`` (period 0 before the cut, 1 the cut;
    Calvano et al. 2020, Section V.B) on a grid up to ``high``: ``impulse_sessions_cut`` (sessions whose
    deviator was not already at the lowest price) and :func:`impulse_figures` of the mean paths."""
    figures = impulse_figures(im, im["deviator"], high)
    return {"impulse_sessions_cut": im["sessions_cut"], **{k: float(v) for k, v in figures.items()}}


def impulse_figures(paths: Mapping, deviator: str, high: float) -> dict[str, np.ndarray]:
    """Figures of impulse paths (arrays whose last axis is the period: one mean path, or one per session):
    ``impulse_deviator_price`` and ``impulse_deviator_profit`` (the deviator's in period 1),
    ``impulse_deviation_gain`` (that profit less the deviator's period-1 profit without the cut),
    ``impulse_punishment`` (the largest fall of the other side's price below its uncut path from period 2
    on, 0 if it never falls; NaN with one period), ``impulse_return_period`` (the first period from which
    both prices stay within RETURN_RTOL ``high`` of the uncut path to the last period; NaN if still off it
    then)."""
    other = SIDES[1 - SIDES.index(deviator)]
    get = {k: np.asarray(v, float) for k, v in paths.items() if k.endswith(("_price", "_profit"))}
    cut = np.stack([get["seller_price"], get["intermediary_price"]])
    uncut = np.stack([get["uncut_seller_price"], get["uncut_intermediary_price"]])
    off = (np.abs(cut - uncut) > RETURN_RTOL * high).any(axis=0)
    last = off.shape[-1]
    back = np.where(off.any(axis=-1), last - np.argmax(off[..., ::-1], axis=-1), 0)
    fall = get[f"uncut_{other}_price"][..., 2:] - get[f"{other}_price"][..., 2:]
    return {"impulse_deviator_price": get[f"{deviator}_price"][..., 1],
            "impulse_deviator_profit": get[f"{deviator}_profit"][..., 1],
            "impulse_deviation_gain": get[f"{deviator}_profit"][..., 1] - get[f"uncut_{deviator}_profit"][..., 1],
            "impulse_punishment": np.maximum(0.0, fall.max(axis=-1)) if last > 2 else np.full(off.shape[:-1], math.nan),
            "impulse_return_period": np.where(back < last, back, math.nan).astype(float)}


LEARNING = (
    Param("points", "a whole number >= 2 of prices on the grid", read_int(2), 15),
    Param("alpha", "the learning rate, a number in (0, 1]", read_alpha, 0.15),
    Param("beta", "the exploration decay, a finite number > 0", read_positive, 4e-6),
    Param("delta", "the discount, a number in [0, 1)", read_delta, 0.95),
    Param("memory", "a whole number >= 1 of past price pairs remembered", read_int(1), 1),
    Param("periods", "a whole number >= 1: the most periods a session runs", read_int(1), 10_000_000),
    Param("window", "a whole number >= 1, at most periods: converged once no greedy strategy changed "
          "for so many periods (default min(100000, periods))", read_window, None),
    Param("impulse", f"\"none\", or a one-period price cut after convergence: "
          f"{', '.join(f'{shown(k)} ({v})' for k, v in CUTS.items())}", read_choice("none", *CUTS), "none"),
    Param("deviator", "whose price the impulse cuts: \"seller\" or \"intermediary\"", read_choice(*SIDES),
          "seller"),
    Param("impulse_periods", "a whole number >= 1 of periods the impulse response follows after the cut",
          read_int(1), 10))
MARKETS = {
    "q-learning": MarketKind(
        "q-learning",
        "the seller and the intermediary as tabular Q-learners in the simultaneous pricing game, one "
        "session per step: converged prices, profits and the profit gain, and with impulse the response "
        "to a forced price cut (Calvano et al. 2020)",
        (Param("bidders", f"a regular law's spec string or a list of them ({ACCEPTED_SPECS})", read_bidders),
         *LEARNING),
        QUANTITIES + IMPULSE_QUANTITIES, run, check, sizes),
    "q-learning-fees": MarketKind(
        "q-learning-fees",
        "the seller and one intermediary as tabular Q-learners in the k-item posted-fees market (a price per "
        "item and a fee, posted at once; random rationing), one session per step, as q-learning",
        (Param("distribution", f"a regular law's spec string ({ACCEPTED_SPECS})", read_spec),
         Param("buyers", "a whole number >= 1 of unit-demand buyers, all the intermediary's", read_int(1)),
         Param("items", "a whole number >= 1 of items", read_int(1)),
         Param("upper", "the grid's top price (a number > 0); default: the top of the support", read_positive,
               None),
         *LEARNING),
        QUANTITIES + IMPULSE_QUANTITIES, run, check, sizes),
}
