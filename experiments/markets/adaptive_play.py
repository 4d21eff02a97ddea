"""Adaptive play with mistakes as an experiment kind (Young 1993, "The evolution of conventions";
"An evolutionary model of bargaining", JET 1993).

``adaptive-play``: two players on a finite game: the discretized simultaneous pricing game of
``bidders`` on ``points`` prices (``game = "pricing"``: the row player is the seller, the column
player the intermediary; monopolist-intermediary, Theorems 5.1-5.2), the k-item posted-fees market
of ``buyers`` and ``items`` with values from ``distribution`` (``game = "posted-fees"``: the seller's
price per item against the one intermediary's fee, :mod:`agora.market.learning.fee_game`), or the user's
``row_payoffs`` and ``column_payoffs`` (``game = "matrix"``). Both remember the last ``memory``
plays; each period the row player best-replies to ``sample_row`` of the column player's
remembered actions drawn without replacement, errs with probability ``eps_row``, and the column
player likewise (:func:`agora.market.learning.adaptive_paths.simulate`). The spec's steps are
the periods, from the convention (``start_row``, ``start_column``).

Each step records both actions and whether the history is then a convention (one pair played
``memory`` times). The run's row holds the stochastically stable classes and how they were found
(:func:`agora.market.learning.pricing_stability.stability_of`: minimum-resistance trees on the
exact chain over histories when it has at most EXACT_STATES histories, else on the conventions
by Young's tip reduction, which needs memory >= 2 max(samples)), and beside each simulated share
of periods (at a stable class, at any convention, at the convention visited most) the exact
stationary mass of the perturbed chain at the run's mistake rates, when the chain has at most
STATIONARY_STATES histories (NaN otherwise).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from agora.experiments.limits import COSTS, Cost, conventions_cost, history_cost, tip_cost
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
from agora.experiments.markets.qlearning import fee_sizes
from agora.experiments.markets.selection import read_spec
from agora.experiments.markets.single_item import read_bidders
from agora.market.distributions import ACCEPTED_SPECS
from agora.market.errors import InputError
from agora.market.learning import stochastic_stability as ss
from agora.market.learning.adaptive_paths import BLOCK, AdaptivePath, history_states, simulate
from agora.market.learning.adaptive_play import AdaptivePlay, StabilityResult
from agora.market.learning.conventions import strict_equilibria
from agora.market.learning.fee_game import fee_game, fee_upper
from agora.market.learning.pricing_stability import exact_chain, stability_of
from agora.market.single_item.simultaneous import PricingGame, grid_game

QUANTITIES = ("row_action", "column_action", "at_convention")
#: Largest chain whose stationary distribution a run solves (sparse LU: about 3 s at 6561 histories).
STATIONARY_STATES = 7000
#: One period: its two actions and run length, the convention flags and the steps table (bytes; about 40
#: measured by tracemalloc without the table), and its seconds, measured 1.2e-5 + 1.6e-7 per play remembered
#: (memory 2 to 1000, samples 1 to 500); a run also holds one block of draws (:func:`draw_bytes`).
STEP_BYTES, STEP_SECONDS, MEMORY_SECONDS = 160.0, 2e-5, 3e-7


def draw_bytes(steps: int, memory: int) -> float:
    """One block of draws: per player and period three float64 draws and two of the memory's length
    (uniforms and their argsort), for the block's periods (BLOCK // memory, at most the run's)."""
    return 2 * 8 * (3 + 2 * memory) * min(steps, max(1, BLOCK // memory))


def read_eps(value) -> float:
    x = read_number(value)
    if not 0 < x <= 1:
        raise ValueError("not in (0, 1]")
    return x


def read_matrix(value):
    """None, or a nonempty rectangular list of lists of finite numbers."""
    if value is None:
        return None
    if not (isinstance(value, list) and value and all(isinstance(r, list) and r for r in value)):
        raise ValueError("not a nonempty list of nonempty lists of numbers")
    if len({len(r) for r in value}) != 1:
        raise ValueError("rows of different lengths")
    return [[read_number(x, -math.inf) for x in r] for r in value]


#: The keys each game takes besides the common ones (and refuses for the other games).
GAME_KEYS = {"pricing": ("bidders",), "posted-fees": ("distribution", "buyers", "items", "upper"),
             "matrix": ("row_payoffs", "column_payoffs")}
REQUIRED_KEYS = {"pricing": (), "posted-fees": ("distribution", "buyers", "items"),
                 "matrix": ("row_payoffs", "column_payoffs")}


def payoffs(params: Mapping) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """(A, B) of the run's game and the price grid (None for a matrix game)."""
    if params["game"] == "matrix":
        return np.array(params["row_payoffs"]), np.array(params["column_payoffs"]), None
    if params["game"] == "posted-fees":
        grid, A, B = fee_game(params["distribution"], params["buyers"], params["items"], params["points"],
                              params["upper"])
        return A, B, grid
    grid, A, B = grid_game(PricingGame(params["bidders"] or ["point:1"]), params["points"])
    return A, B, grid


def shape_of(params: Mapping) -> tuple[int, int]:
    if params["game"] == "matrix" and params["row_payoffs"] is not None:
        return len(params["row_payoffs"]), len(params["row_payoffs"][0])
    return params["points"], params["points"]


def check(params: Mapping) -> None:
    """The payoffs fit the game, the samples the memory, the starts the actions; off the exact chain
    the tip reduction's memory >= 2 max(samples)."""
    game = params["game"]
    for other, keys in GAME_KEYS.items():
        given = [k for k in keys if params[k] is not None and other != game]
        if given:
            raise ParamError(given[0], f"a key of game = {shown(other)}, not of {shown(game)}")
    for key in REQUIRED_KEYS[game]:
        if params[key] is None:
            raise ParamError(key, f"game = {shown(game)} needs {', '.join(REQUIRED_KEYS[game])}")
    if game == "posted-fees":
        fee_upper(params["distribution"], params["upper"])
    if game == "matrix":
        if np.shape(params["row_payoffs"]) != np.shape(params["column_payoffs"]):
            raise ParamError("column_payoffs", f"not of the row payoffs' shape {np.shape(params['row_payoffs'])}")
    memory, samples, shape = params["memory"], (params["sample_row"], params["sample_column"]), shape_of(params)
    for key, s in zip(("sample_row", "sample_column"), samples):
        if s > memory:
            raise ParamError(key, f"more than memory = {memory}")
    for key, n in zip(("start_row", "start_column"), shape):
        if params[key] >= n:
            raise ParamError(key, f"an action index must be below {n}")
    if exact_chain(shape[0], memory, shape[1]):
        return
    if memory < 2 * max(samples):
        raise ParamError("memory", f"below 2 x the larger sample ({2 * max(samples)}), and the chain of "
                         f"({shape[0]} x {shape[1]})^{memory} histories is too large to build")
    if not strict_equilibria(*payoffs(params)[:2]):
        raise InputError("the game has no strict pure equilibrium, so no convention for the tip reduction")


def sizes(params: Mapping, steps: int) -> tuple[Size, ...]:
    """The pricing grid game, the periods (the spec's steps), and the stability: the exact chain by
    its memory, or the tips by the larger sample and the tip reduction on at most min(n1, n2)
    conventions (distinct strict equilibria have distinct actions)."""
    shape, memory = shape_of(params), params["memory"]
    samples = (params["sample_row"], params["sample_column"])
    per = STEP_SECONDS + MEMORY_SECONDS * memory
    out = [Size("steps", steps, Cost(1.0, 1.0, lambda n: STEP_BYTES * n + draw_bytes(n, memory),
                                     time_growth=lambda n: per * n), in_market=False),
           Size("memory", memory, Cost(1.0, MEMORY_SECONDS * steps, lambda m: 16 * m + draw_bytes(steps, m),
                                       time_growth=lambda m: m))]  # the plays sampled from, and the draws
    if params["game"] == "pricing":
        out.append(Size("points", params["points"], COSTS["stability_grid"], low=2))
    if params["game"] == "posted-fees" and params["buyers"] is not None:  # else refused by check
        out.extend(fee_sizes(params["points"], params["buyers"]))
    if exact_chain(shape[0], memory, shape[1]):
        moves = history_cost(memory)  # grows as n^(2m + 2) on an n x n game
        side = math.sqrt(shape[0] * shape[1])
        out.append(Size("memory", memory, Cost(moves.bytes, moves.seconds, lambda m: side ** (2 * m + 2))))
        return tuple(out)
    big = int(samples[1] > samples[0])
    side = max(shape)
    out.append(Size(("sample_row", "sample_column")[big], samples[big], tip_cost(side)))
    trees = conventions_cost(side, samples[big])
    out.append(Size("row_payoffs" if params["game"] == "matrix" else "points", min(shape),
                    Cost(1.0, 1.0, lambda k: trees.estimate(k)[0], time_growth=lambda k: trees.estimate(k)[1])))
    return tuple(out)


@dataclass(frozen=True)
class Played:
    """One run of adaptive play (:func:`played`) beside the exact answers: the price grid (None for a matrix
    game), both mistake rates and the start, the stochastically stable classes, each class's convention (or
    None), the exact chain over histories (None off it) and the simulated path."""

    grid: np.ndarray | None
    eps: tuple[float, float]
    start: tuple[int, int]
    res: StabilityResult
    conv: list
    play: AdaptivePlay | None
    path: AdaptivePath

    @property
    def exact(self) -> bool:
        """Whether the run's row gives exact stationary masses (the chain has at most STATIONARY_STATES histories)."""
        return self.play is not None and self.play.states <= STATIONARY_STATES


def played(params: Mapping, steps: int, rng: np.random.Generator) -> Played:
    """``steps`` periods of adaptive play on ``rng`` from the run's start, and the stability of its game
    (:func:`~agora.market.learning.pricing_stability.stability_of`)."""
    A, B, grid = payoffs(params)
    samples = (params["sample_row"], params["sample_column"])
    eps = (params["eps_row"], params["eps_column"])
    start = (params["start_row"], params["start_column"])
    res, conv, play = stability_of(A, B, samples, params["memory"])
    path = simulate(A, B, params["memory"], samples, eps, steps, rng, start)
    return Played(grid, eps, start, res, conv, play, path)


def run(params: Mapping, steps: int, rng: np.random.Generator) -> RunOutput:
    """``steps`` periods of adaptive play on the run's random stream, beside the exact answers."""
    p = played(params, steps, rng)
    res, conv, grid = p.res, p.conv, p.grid
    stable = [list(conv[j]) if conv[j] is not None else {"states": int(res.classes[j].size)} for j in res.stable]
    labels = None if grid is None else json.dumps(
        [[float(grid[c[0]]), float(grid[c[1]])] if isinstance(c, list) else c for c in stable])
    row = {"steps": steps, "exact_chain": p.play is not None, "classes": len(res.classes),
           "stable": json.dumps(stable), "stable_prices": labels, "potential": float(np.nanmin(res.potentials)),
           **shares(p),
           "method": res.method + ("; stationary masses of the exact chain at the run's mistake rates (sparse LU)"
                                   if p.exact else "; no exact stationary masses (more than "
                                   f"{STATIONARY_STATES} histories)")}
    return RunOutput({"row_action": p.path.rows, "column_action": p.path.cols,
                      "at_convention": p.path.at_convention}, row)


def per_convention(p: Played) -> dict:
    """Per convention (a, b): the share of periods at it and, when ``p.exact``, its stationary mass at
    ``p.eps`` (NaN otherwise); the same for the stable classes' histories together.

    On the exact chain a period's history is its state index; on conventions only, a period is at
    convention (a, b) when (a, b) has been played ``memory`` times in a row.
    """
    path, conv, res, play = p.path, p.conv, p.res, p.play
    pairs = [c for c in conv if c is not None]
    if play is None:
        at = path.at_convention
        visits = np.array([np.mean(at & (path.rows == a) & (path.cols == b)) for a, b in pairs])
        stable_visits = float(sum(visits[pairs.index(conv[j])] for j in res.stable))
    else:
        states = history_states(path, (play.n1, play.n2), p.start)
        visits = np.array([np.mean(states == play.convention(a, b)) for a, b in pairs])
        stable_states = np.concatenate([res.classes[j] for j in res.stable])
        stable_visits = float(np.isin(states, stable_states).mean())
    masses, stable_mass = np.full(len(pairs), math.nan), math.nan
    if p.exact:
        pi = ss.stationary(play.chain(p.eps))
        masses = np.array([pi[play.convention(a, b)] for a, b in pairs])
        stable_mass = float(pi[stable_states].sum())
    return {"pairs": pairs, "visits": visits, "masses": masses, "stable_visits": stable_visits,
            "stable_mass": stable_mass}


def convention_shares(params: Mapping, steps: int, rng: np.random.Generator) -> dict:
    """:func:`per_convention` of one run of ``steps`` periods, with the stable conventions, the price
    grid (None for a matrix game) and whether the masses are exact."""
    p = played(params, steps, rng)
    return {**per_convention(p), "grid": p.grid, "exact": p.exact,
            "stable": [p.conv[j] for j in p.res.stable if p.conv[j] is not None]}


def shares(p: Played) -> dict:
    """The shares of periods whose history is in a stable class, at a convention, and at the convention
    visited most, each beside the stationary mass of the same histories at ``p.eps`` when ``p.exact``
    (:func:`per_convention`)."""
    d = per_convention(p)
    pairs, visits, masses = d["pairs"], d["visits"], d["masses"]
    stable_visits, stable_mass = d["stable_visits"], d["stable_mass"]
    modal = int(np.argmax(visits)) if pairs else None
    return {"stable_share_simulated": stable_visits, "stable_share_exact": stable_mass,
            "convention_share_simulated": float(visits.sum()), "convention_share_exact": float(masses.sum()),
            "modal_row_action": pairs[modal][0] if pairs else -1,
            "modal_column_action": pairs[modal][1] if pairs else -1,
            "modal_share_simulated": float(visits[modal]) if pairs else math.nan,
            "modal_share_exact": float(masses[modal]) if pairs else math.nan}


ACTION = "a whole number >= 0: an action index (a grid index in the pricing game)"
MARKETS = {
    "adaptive-play": MarketKind(
        "adaptive-play",
        "Young's adaptive play with mistakes between two players (the seller and the intermediary on the "
        "pricing grid, or a matrix game): per period both actions; the row holds the stochastically stable "
        "classes and the simulated shares beside the exact stationary masses",
        (Param("game", "\"pricing\" (the simultaneous game of bidders on points prices), \"posted-fees\" "
               "(distribution, buyers, items, upper) or \"matrix\" (row_payoffs, column_payoffs)",
               read_choice(*GAME_KEYS), "pricing"),
         Param("bidders", f"a regular law's spec string or a list of them ({ACCEPTED_SPECS}); default "
               "\"point:1\" (game = \"pricing\")", read_bidders, None),
         Param("distribution", f"a regular law's spec string ({ACCEPTED_SPECS}) (game = \"posted-fees\")",
               read_spec, None),
         Param("buyers", "a whole number >= 1 of unit-demand buyers, all the intermediary's (game = "
               "\"posted-fees\")", read_int(1), None),
         Param("items", "a whole number >= 1 of items (game = \"posted-fees\")", read_int(1), None),
         Param("upper", "the grid's top price, a number > 0 (game = \"posted-fees\"); default: the top of "
               "the support", read_positive, None),
         Param("points", "a whole number >= 2 of prices on the grid", read_int(2), 11),
         Param("row_payoffs", "a rectangular list of lists of numbers (game = \"matrix\")", read_matrix, None),
         Param("column_payoffs", "a list of lists of numbers of the row payoffs' shape (game = \"matrix\")",
               read_matrix, None),
         Param("memory", "a whole number >= 1 of past plays remembered", read_int(1), 4),
         Param("sample_row", "a whole number >= 1, at most memory: the row player's (seller's) sample",
               read_int(1), 2),
         Param("sample_column", "a whole number >= 1, at most memory: the column player's (intermediary's) "
               "sample", read_int(1), 2),
         Param("eps_row", "the row player's mistake rate, a number in (0, 1]", read_eps, 0.05),
         Param("eps_column", "the column player's mistake rate, a number in (0, 1]", read_eps, 0.05),
         Param("start_row", ACTION, read_int(0), 0),
         Param("start_column", ACTION, read_int(0), 0)),
        QUANTITIES, run, check, sizes),
}
