"""Work bounded before it starts: each command's time and memory, estimated from its sizes.

A command whose estimate exceeds ``--max-memory`` (default: half of this machine's memory) or
``--max-seconds`` (default one hour) is refused in one line with the estimate and the largest
size that fits. The coefficients are measured on a 2-core machine under load (so they err on
the slow side) and follow the algorithm's growth: a ``points`` x ``points`` grid costs
``points**2``, the LPs of the robust seller one variable per sorted value profile, and so on.
Importing this module costs nothing (no numpy), so the parsers can use it.
"""

from __future__ import annotations

import argparse
import math
import os
from dataclasses import dataclass
from math import comb

from agora.market.errors import InputError

DEFAULT_SECONDS = 3600.0
UNITS = {"": 1, "B": 1, "KB": 1e3, "MB": 1e6, "GB": 1e9, "TB": 1e12}


def physical_memory() -> float:
    """Bytes of memory on this machine (4 GB if the system does not say)."""
    try:
        return float(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return 4e9


@dataclass(frozen=True)
class Limits:
    memory: float
    seconds: float


@dataclass(frozen=True)
class Cost:
    """``bytes * g(size)`` and ``seconds * h(size)`` (+ fixed parts), with g the size's growth and h
    its growth in time (g unless given)."""

    bytes: float
    seconds: float
    growth: object = staticmethod(lambda size: size)
    fixed_seconds: float = 0.0
    time_growth: object = None

    def estimate(self, size: int) -> tuple[float, float]:
        g = float(self.growth(size))
        h = g if self.time_growth is None else float(self.time_growth(size))
        return self.bytes * g, self.fixed_seconds + self.seconds * h


#: Measured costs (see the module docstring); growth in the size named by each key.
COSTS = {
    "grid": Cost(48.0, 3.5e-7, lambda n: n * n),            # solve simultaneous: N x N payoff matrices
    "mixed": Cost(64.0, 7.3e-6, lambda k: k ** 4),          # Lemke-Howson: 2K paths of O(K^2)-pivot tableaus
    "points": Cost(200.0, 0.02),                            # plot: one exact solve per price
    "rounds": Cost(0.0, 6e-7),                              # simulate mc, per round x buyer (memory flat)
    "abm_rounds": Cost(600.0, 1e-4, fixed_seconds=0.0),     # simulate abm, per round x buyer (+ per round)
    "ipm": Cost(64.0, 2.5e-4, fixed_seconds=0.5),           # solve ipm, per buyer x item
    "robust": Cost(500.0, 1e-4),                            # worst-case LPs, per LP variable
    "steps": Cost(200.0, 2e-3),                             # agora run, per run x step
    "group_table": Cost(16e3, 1.5e-3),                      # solve group --export, per member x type
    "q_periods": Cost(0.0, 2e-6),                           # solve q-learning, per period x (sessions + 1)
    "stability_grid": Cost(400.0, 6e-6, lambda n: n * n),   # solve stochastic-stability: the N x N game
    "history_moves": Cost(80.0, 5e-7),                      # its exact chain, per history x move
    "tip_mixes": Cost(20.0, 5e-7),                          # its tips, per price pair x sample x convention
    "arborescences": Cost(0.0, 2.5e-6, lambda k: k ** 4),   # its potentials, k conventions: k Edmonds runs
    "k_auction": Cost(64.0, 1e-6),                          # solve k-auction, per round x buyer
    "bid_vector": Cost(0.0, 1.5e-3),                        # its intermediary's expected utility, per bid vector
}

#: ``agora solve k-auction``: levels of the intermediary's coarse and regret bid grids, Brent steps per bid.
K_AUCTION_LEVELS, K_AUCTION_REGRET_LEVELS, K_AUCTION_BRENT = 11, 41, 60

#: Q-learning's per-period overhead (the exploration rate, the blocks of draws), in sessions: a period
#: costs like sessions + this. A session's period is compiled (numba): 0.1 us on 41 prices, 0.5 us on
#: 101, 2 us on 201 prices, whose 65 MB Q-tables miss the caches (the coefficient's 2 us).
Q_PERIOD_OVERHEAD = 1


def q_impulse_cost(sessions: int, grid: int, kept: bool = False) -> Cost:
    """The impulse responses of ``sessions`` sessions on ``grid`` prices (the cut path and the uncut
    one, numpy over all sessions), by their periods: a period costs about 300 us and 30 ns per session
    x price, 48 bytes per session and 330 for the mean paths (perf_counter and tracemalloc on 2 to 400
    sessions of 5 to 41 prices, rounded up); with ``kept``, every session's eight paths too (64 bytes
    per session)."""
    return Cost((48.0 + 64.0 * kept) * sessions + 400.0, 4e-4 + 5e-8 * sessions * grid)


def parse_bytes(text: str) -> float:
    """``--max-memory``: a number of bytes, or with a unit such as 512MB or 4GB."""
    t = text.strip().upper()
    unit = next((u for u in sorted(UNITS, key=len, reverse=True) if u and t.endswith(u)), "")
    try:
        value = float(t[:len(t) - len(unit)]) * UNITS[unit]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a memory size like 512MB or 4GB, got '{text}'") from None
    if not 0 < value < math.inf:
        raise argparse.ArgumentTypeError(f"expected a memory size > 0, got '{text}'")
    return value


def parse_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got '{text}'") from None
    if not 0 < value < math.inf:
        raise argparse.ArgumentTypeError(f"expected a number of seconds > 0, got '{text}'")
    return value


def add_limit_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--max-memory", type=parse_bytes, metavar="BYTES",
                   help="refuse work estimated to need more memory (like 4GB; default: half of this machine's)")
    p.add_argument("--max-seconds", type=parse_seconds, metavar="S",
                   help=f"refuse work estimated to take longer (default {DEFAULT_SECONDS:g})")


def limits_of(args) -> Limits:
    memory = getattr(args, "max_memory", None) or physical_memory() / 2
    return Limits(memory, getattr(args, "max_seconds", None) or DEFAULT_SECONDS)


def human_bytes(nbytes: float) -> str:
    for unit in ("TB", "GB", "MB", "KB"):
        if nbytes >= UNITS[unit]:
            return f"{nbytes / UNITS[unit]:.3g} {unit}"
    return f"{nbytes:.0f} B"


def largest(cost: Cost, limits: Limits, scale: float = 1.0) -> int:
    """The largest size whose estimate (times ``scale``) fits both limits (bisection on the growth)."""
    lo, hi = 0, 1
    while _fits(cost, hi, limits, scale) and hi < 1 << 62:
        lo, hi = hi, hi * 2
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if _fits(cost, mid, limits, scale) else (lo, mid)
    return lo


def _fits(cost: Cost, size: int, limits: Limits, scale: float) -> bool:
    nbytes, seconds = cost.estimate(size)
    return nbytes * scale <= limits.memory and seconds * scale <= limits.seconds


def require_fits(what: str, size: int, cost: Cost, limits: Limits, scale: float = 1.0) -> None:
    """InputError (one line: the estimate and the largest ``what`` that fits) if ``size`` is too big.

    ``scale`` multiplies the estimate by the other sizes (buyers, runs) held fixed.
    """
    nbytes, seconds = (x * scale for x in cost.estimate(size))
    if nbytes <= limits.memory and seconds <= limits.seconds:
        return
    raise InputError(f"{what} = {size} would need about {human_bytes(nbytes)} and {seconds:.3g} s (estimated); "
                     f"the largest that fits --max-memory {human_bytes(limits.memory)} and --max-seconds "
                     f"{limits.seconds:g} is {largest(cost, limits, scale)}: raise them to go further")


def robust_variables(grid: int, bidders: int) -> float:
    """LP variables of the symmetric reduction: C(grid + I - 1, I) sorted profiles of I values on a grid."""
    if grid < 1:
        return 0.0
    if bidders <= 8:
        return float(comb(grid + bidders - 1, bidders))
    log = math.lgamma(grid + bidders) - math.lgamma(bidders + 1) - math.lgamma(grid)
    return math.exp(log) if log < 700 else math.inf


def robust_cost(bidders: int) -> Cost:
    """The worst-case LPs of ``agora solve robust --grid N`` for I bidders."""
    per = COSTS["robust"]
    return Cost(per.bytes, per.seconds, lambda n: robust_variables(n, bidders))


def q_session_bytes(grid: int, memory: int) -> float:
    """One Q-learning session: two float64 Q-tables of grid^(2 memory) states x grid actions, each
    side's greedy action and its value in every state, and 32 KB towards the 1 MB of uniforms the
    sessions draw in turn (inf past a float's range)."""
    log = 2 * memory * math.log(grid) if grid > 1 else 0.0
    return 16.0 * (grid + 2) * math.exp(log) + 32768.0 if log < 700 else math.inf


def q_memory_cost(grid: int) -> Cost:
    """One session of ``agora solve q-learning`` by its memory (the Q-table's growth)."""
    return Cost(1.0, 0.0, lambda memory: q_session_bytes(grid, memory))


def history_cost(memory: int) -> Cost:
    """The exact chain of ``agora solve stochastic-stability --memory M`` on an N-price grid:
    N^(2M) histories, each with N^2 moves (growth in N)."""
    per = COSTS["history_moves"]
    return Cost(per.bytes, per.seconds, lambda n: n ** (2 * memory + 2))


def tip_cost(grid: int) -> Cost:
    """The tips out of one convention (one N x S x N array of sample mixes at a time; growth in S)."""
    per = COSTS["tip_mixes"]
    return Cost(per.bytes * grid * grid, per.seconds * grid * grid)


def conventions_cost(grid: int, sample: int) -> Cost:
    """The tip reduction on k conventions (growth in k): the tips out of each, which conventions
    each best-reply path reaches (N^2 x k booleans), and k + 1 least arborescences."""
    tips, trees = COSTS["tip_mixes"], COSTS["arborescences"]
    return Cost(1.0, 1.0, lambda k: grid * grid * (k + tips.bytes * sample), time_growth=lambda k: (
        tips.seconds * grid * grid * sample * k + trees.seconds * trees.growth(k)))


def bid_vectors(levels: int, bids: int) -> float:
    """Non-increasing vectors of 1..``bids`` bids on ``levels`` levels: C(levels + bids, bids) - 1."""
    log = math.lgamma(levels + bids + 1) - math.lgamma(bids + 1) - math.lgamma(levels + 1)
    return math.exp(log) - 1.0 if log < 700 else math.inf


def _utility_seconds(items: int) -> float:
    """One expected utility of the k-auction's intermediary: dearer with more items (the rivals' binomial laws)."""
    return COSTS["bid_vector"].seconds * (1.0 + items / 5.0)


def k_auction_cost(buyers: int, items: int, block: int) -> Cost:
    """``agora solve k-auction`` by its rounds: the values of every buyer, and, when one intermediary
    holds ``block`` >= 2 buyers, its best response each round (a grid of bid vectors of up to
    min(block, items) bids, then Brent on each bid)."""
    per = COSTS["k_auction"]
    bids = min(block, items) if block >= 2 else 0
    vectors = bid_vectors(K_AUCTION_LEVELS + block, bids) + K_AUCTION_BRENT * bids if bids else 0.0
    return Cost(per.bytes * buyers, per.seconds * buyers + _utility_seconds(items) * vectors)


def k_auction_regret_cost(items: int, block: int) -> Cost:
    """The regret of the k-auction's intermediary, by the rounds it is measured on: every bid vector
    on the fine grid."""
    bids = min(block, items) if block >= 2 else 0
    return Cost(0.0, _utility_seconds(items) * bid_vectors(K_AUCTION_REGRET_LEVELS, bids) if bids else 0.0)


#: The equilibrium among several intermediaries holding several buyers (``agora solve k-auction``):
#: its grid of levels, quantile bins, fine-grid refinement and rounds of play (sweeps + fictitious play);
#: seconds per candidate x atom of a payoff evaluation and per cell x candidate of a best response
#: (perf_counter on (2,2), (2,2,1), (2,2,2), (3,3), (4,2), (3,2,1) and (2,2,1,1) with k = 2, 3 under load).
K_EQ_LEVELS, K_EQ_BINS, K_EQ_REFINE, K_EQ_ROUNDS = 21, 20, 2, 40
K_EQ_ATOM_SECONDS, K_EQ_CELL_SECONDS = 5e-7, 7e-8


def _cells(bins: int, size: int) -> float:
    """Cells of ``size`` sorted quantiles on ``bins`` bins: C(bins + size - 1, size)."""
    return float(comb(bins + size - 1, size))


def k_equilibrium_seconds(blocks: list[int], singles: int, items: int) -> float:
    """Seconds of the equilibrium among the intermediaries holding ``blocks`` buyers (each >= 2) beside
    ``singles`` single buyers: K_EQ_ROUNDS best responses of each (every candidate on the grid against
    the atoms of the law it faces, then every cell against every candidate), and the exact regret on the
    fine grid and on the grid played (the regret of the checked rounds costs as much again). The law
    facing i has (singles' cells) x prod over the others j of 2 D_j atoms (ahead of i or behind),
    D_j = min(candidates, cells, levels x bids) the bid vectors j plays."""
    fine = (K_EQ_LEVELS - 1) * K_EQ_REFINE + 1
    bids = [min(b, items) for b in blocks]
    cands = [bid_vectors(K_EQ_LEVELS, x) + 1.0 for x in bids]
    finer = [bid_vectors(fine, x) + 1.0 for x in bids]
    cells = [_cells(K_EQ_BINS, b) for b in blocks]
    played = [min(c, n, K_EQ_LEVELS * (x - 1) + 1) for c, n, x in zip(cands, cells, bids)]
    total = 0.0
    for i in range(len(blocks)):
        rivals = math.prod(2.0 * d for j, d in enumerate(played) if j != i)
        atoms, fine_atoms = ((_cells(g + 1, singles) if singles else 1.0) * rivals for g in (K_EQ_LEVELS, fine))
        respond = K_EQ_ATOM_SECONDS * cands[i] * atoms + K_EQ_CELL_SECONDS * cells[i] * cands[i]
        regret = 3.0 * (K_EQ_ATOM_SECONDS * (finer[i] + cands[i]) * fine_atoms
                        + K_EQ_CELL_SECONDS * cells[i] * finer[i])
        total += K_EQ_ROUNDS * respond + regret
    return total


#: ``agora solve intermediary-first`` (Theorem 4.1's bilevel search over every class of commitment),
#: measured with 1..32 bidders of one law, 2..8 distinct uniform laws and two of each other kind,
#: then raised by half: seconds per distinct law by its kind (a law of another kind costs the dearest),
#: plus ``IF_BIDDER_SECONDS * bidders**2`` for the order statistics of all bidders, plus a fixed part
#: (3 s until the scan's Gauss-Legendre pairs and Newton steps cut two uniform bidders from ~1 s to ~0.3 s).
IF_LAW_SECONDS = {"uniform": 2.0, "point": 2.0, "exponential": 6.0, "pareto": 6.0, "beta": 95.0,
                  "truncnorm": 200.0}
IF_BIDDER_SECONDS, IF_FIXED_SECONDS, IF_BYTES = 0.05, 1.0, 150e6

#: ``agora solve group`` (Theorem 1's weights over the simplex), measured with 10..40 members and
#: raised by half: ``GROUP_MEMBER_SECONDS * members**3`` for the weight search, seconds per member by
#: its kind (quantile tables of scipy laws), and ``GROUP_MEMBER_BYTES`` per member (874 MB for 200).
GROUP_LAW_SECONDS = {"uniform": 0.05, "exponential": 0.05, "pareto": 0.05, "beta": 0.8, "truncnorm": 1.6}
GROUP_MEMBER_SECONDS, GROUP_FIXED_SECONDS = 5e-4, 1.0
GROUP_MEMBER_BYTES, GROUP_LAW_BYTES, GROUP_FIXED_BYTES = 4.5e6, 10e6, 120e6


def spec_kind(spec: str) -> str:
    """The family of a distribution spec (``beta`` for ``beta:2,2,0,1``)."""
    return str(spec).split(":", 1)[0].strip().lower()


def _cycled(specs: list[str], size: int) -> list[str]:
    """``size`` specs taken in turn from ``specs`` (a request grown or shrunk with its laws' proportions)."""
    return [specs[i % len(specs)] for i in range(size)] if specs else []


def intermediary_first_cost(specs: list[str]) -> Cost:
    """``agora solve intermediary-first`` by its bidder count (more bidders repeat the given laws in turn):
    each distinct law's cost by its kind, the bidders' quadratic part and the fixed part."""
    dearest = max(IF_LAW_SECONDS.values())

    def seconds(n: int) -> float:
        laws = set(_cycled(specs, n))
        return sum(IF_LAW_SECONDS.get(spec_kind(s), dearest) for s in laws) + IF_BIDDER_SECONDS * n * n
    return Cost(IF_BYTES, 1.0, lambda n: 1.0, fixed_seconds=IF_FIXED_SECONDS, time_growth=seconds)


def group_profiles_cost(members: int) -> Cost:
    """The ex-post table of ``agora solve group --export``: K^N profiles x (2N + 3) columns for K types
    per member, each cell built and written as CSV, JSON and Parquet (measured: 7.5e-6 s and 100-200
    bytes per cell at 8,000 and 64,000 profiles of three members)."""
    return Cost(250.0, 1e-5, lambda k: float(k) ** members * (2 * members + 3))


def group_cost(specs: list[str]) -> Cost:
    """``agora solve group`` by its member count (more members repeat the given laws in turn)."""
    dearest = max(GROUP_LAW_SECONDS.values())

    def memory(n: int) -> float:
        scipy_laws = sum(spec_kind(s) in ("beta", "truncnorm") for s in _cycled(specs, n))
        return GROUP_FIXED_BYTES + GROUP_MEMBER_BYTES * n + GROUP_LAW_BYTES * scipy_laws

    def seconds(n: int) -> float:
        kinds = sum(GROUP_LAW_SECONDS.get(spec_kind(s), dearest) for s in _cycled(specs, n))
        return kinds + GROUP_MEMBER_SECONDS * n ** 3
    return Cost(1.0, 1.0, memory, fixed_seconds=GROUP_FIXED_SECONDS, time_growth=seconds)
