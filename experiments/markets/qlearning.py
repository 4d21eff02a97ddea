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
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from agora.experiments.limits import COSTS, Q_PERIOD_OVERHEAD, Cost, q_memory_cost, q_session_bytes
from agora.experiments.markets import (
    MarketKind,
    Param,
    ParamError,
    RunOutput,
    Size,
    read_int,
    read_number,
    read_positive,
)
from agora.experiments.markets.single_item import read_bidders
from agora.market.distributions import ACCEPTED_SPECS
from agora.market.learning.qlearning import CHUNK, check_parameters, pricing_references, pricing_sessions

QUANTITIES = ("seller_price", "intermediary_price", "seller_profit", "intermediary_profit", "profit_gain",
              "converged", "periods")
DEFAULT_WINDOW = 100_000
#: Bytes a run holds whatever its sessions: a chunk's uniforms (4 a period) and its exploration rates
#: (the periods and their exp(-beta t)), float64, and 64 KB of small arrays (measured by tracemalloc).
RUN_BYTES = 6 * 8 * CHUNK + 65536


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
    pricing_references(params["bidders"], params["points"])


def sizes(params: Mapping, steps: int) -> tuple[Size, ...]:
    """The grid game, one session's Q-tables (by memory), the sessions' tables (the spec's steps, with
    the run's uniforms) and the periods every session runs (``agora solve q-learning``'s costs)."""
    points, memory = params["points"], params["memory"]
    periods = COSTS["q_periods"]
    return (Size("points", points, COSTS["grid"], low=2),
            Size("memory", memory, q_memory_cost(points)),
            Size("steps", steps, Cost(1.0, 0.0, lambda n: n * q_session_bytes(points, memory) + RUN_BYTES),
                 note=" (sessions)", in_market=False),
            Size("periods", params["periods"], Cost(0.0, periods.seconds * (steps + Q_PERIOD_OVERHEAD))))


def run(params: Mapping, steps: int, rng: np.random.Generator) -> RunOutput:
    """``steps`` sessions, session k on the k-th child of the run's SeedSequence."""
    seeds = rng.bit_generator.seed_seq.spawn(steps)
    d = pricing_sessions(params["bidders"], params["points"], seeds, params["alpha"], params["beta"],
                         params["delta"], params["memory"], params["periods"], window_of(params), per_session=True)
    cols = {q: np.asarray(d["per_session"][q], float) for q in QUANTITIES}
    row = {"steps": steps, **{q: float(np.mean(v)) for q, v in cols.items()},
           "profit_nash": d["nash_profit"], "profit_monopoly": d["monopoly_profit"],
           "nash_seller_price": d["nash"]["seller_price"], "nash_intermediary_price": d["nash"]["intermediary_price"],
           "grid_equilibria": d["nash"]["grid_equilibria"]}
    return RunOutput(cols, row)


MARKETS = {
    "q-learning": MarketKind(
        "q-learning",
        "the seller and the intermediary as tabular Q-learners in the simultaneous pricing game, one "
        "session per step: converged prices, profits and the profit gain (Calvano et al. 2020)",
        (Param("bidders", f"a regular law's spec string or a list of them ({ACCEPTED_SPECS})", read_bidders),
         Param("points", "a whole number >= 2 of prices on the grid", read_int(2), 15),
         Param("alpha", "the learning rate, a number in (0, 1]", read_alpha, 0.15),
         Param("beta", "the exploration decay, a finite number > 0", read_positive, 4e-6),
         Param("delta", "the discount, a number in [0, 1)", read_delta, 0.95),
         Param("memory", "a whole number >= 1 of past price pairs remembered", read_int(1), 1),
         Param("periods", "a whole number >= 1: the most periods a session runs", read_int(1), 1_000_000),
         Param("window", "a whole number >= 1, at most periods: converged once no greedy strategy changed "
               "for so many periods (default min(100000, periods))", read_window, None)),
        QUANTITIES, run, check, sizes),
}
