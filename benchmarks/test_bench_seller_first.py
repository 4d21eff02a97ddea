"""Speed of the seller-first evaluators (pytest-benchmark; run with `make bench`).

Figures are recorded in ``benchmark.extra_info``, printed, and written to docs/performance.md
beside their baselines; ratios are taken side by side in one run, since these machines are
noisy. Rates are in CPU seconds of this process (one core).
"""

import math
import resource
import subprocess
import sys
import time

import mesa
import numpy as np

from agora.agents import Buyer
from agora.market.distributions import parse_spec
from agora.market.single_item.inplace_laws import draw_into
from agora.market.single_item.intermediary_mechanisms import AuctionResult, ShiftedMyerson
from agora.market.single_item.montecarlo import estimate, seller_first_rounds, simulate_seller_first, ties_possible
from agora.market.single_item.scores import VirtualScore
from agora.market.single_item.seller_first import solve_seller_first
from agora.market.single_item.seller_mechanisms import Menu
from agora.models.market_model import MarketModel
from agora.protocols.messages import LOG_COLUMNS
from benchmarks.conftest import mixed_market

TARGETS = {2: ">= 25 M values/s", 10: ">= 50 M values/s", 100: ">= 50 M values/s"}


def _cpu_seconds(fn, *args) -> float:
    start = time.process_time()
    fn(*args)
    return time.process_time() - start


def _wall_seconds(cmd) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    return time.perf_counter() - start


def test_solve_100_nonidentical_bidders(benchmark, market100, performance):
    """The exact solver (Stackelberg price, every revenue, welfare) for 100 different bidders, beside
    numpy's generator drawing 10^7 normals, interleaved (CPU seconds, median of three)."""
    sol = benchmark.pedantic(solve_seller_first, args=(market100,), rounds=5, iterations=1,
                             warmup_rounds=1)
    seconds, base = [], []
    for _ in range(3):
        base.append(_cpu_seconds(np.random.default_rng(0).standard_normal, 10_000_000))
        seconds.append(_cpu_seconds(solve_seller_first, market100))
    performance.add("exact seller-first solve, 100 non-identical bidders", sorted(seconds)[1], "s",
                    sorted(base)[1], "numpy generator, 10^7 normals", "< 0.1 s")
    assert sol.seller_revenue > 0


def test_cli_solve_100_bidders_end_to_end(benchmark, market100, performance):
    """`agora solve seller-first` with 100 bidders, including interpreter start-up and imports, beside
    Python's own start-up (`python -c pass`), interleaved (median of three): wall seconds, and the
    child's CPU seconds (user + system), which other work on the machine does not inflate."""
    cmd = [sys.executable, "-m", "agora.experiments.cli", "solve", "seller-first", "--json"]
    for spec in market100:
        cmd += ["--bidder", spec]
    benchmark.pedantic(subprocess.run, args=(cmd,), kwargs={"check": True, "capture_output": True},
                       rounds=3, iterations=1)
    runs, base = [], []
    for _ in range(3):
        base.append(_child_seconds([sys.executable, "-c", "pass"]))
        runs.append(_child_seconds(cmd))
    for i, clock in enumerate(("wall", "CPU")):
        performance.add(f"`agora solve seller-first`, 100 bidders, end to end ({clock})",
                        sorted(r[i] for r in runs)[1], "s", sorted(b[i] for b in base)[1],
                        "Python start-up alone", "< 1 s")


def _child_seconds(cmd) -> tuple[float, float]:
    """Wall seconds and CPU seconds (user + system) of one run of ``cmd``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall = _wall_seconds(cmd)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def _unfused(specs, menu, rounds, rng):
    """The matrix evaluator: whole chunks drawn, then phi, top two and settlement, array by array."""
    bidders = [parse_spec(b) for b in specs]
    tie = ties_possible([VirtualScore(b) for b in bidders])
    return estimate(bidders, rounds, rng, lambda values, rng: seller_first_rounds(
        bidders, menu, values, priority=rng.random(values.shape) if tie else None))


def _values_per_second(n: int, rounds: int, simulate=simulate_seller_first) -> float:
    specs = mixed_market(n)
    menu = Menu.posted(solve_seller_first(specs).seller_price)
    start = time.process_time()
    simulate(specs, menu, rounds, np.random.default_rng(0))
    return n * rounds / (time.process_time() - start)


def generator_rate(values: int = 1 << 22) -> float:
    """numpy's own rate: doubles per CPU second of ``Generator.random`` into a reused buffer."""
    rng, buf = np.random.default_rng(0), np.empty(1 << 16)
    start = time.process_time()
    for _ in range(values // buf.size):
        rng.random(out=buf)
    return values / (time.process_time() - start)


def market_draw_rate(n: int, values: int = 1 << 22) -> float:
    """The market's own draws: values per CPU second of each law's inverse CDF (numpy) into a reused block."""
    bidders = [parse_spec(s) for s in mixed_market(n)]
    rng, buf = np.random.default_rng(0), np.empty(1 << 15)
    start = time.process_time()
    for _ in range(values // (buf.size * n)):
        for b in bidders:
            draw_into(b, rng, buf)
    return values // (buf.size * n) * buf.size * n / (time.process_time() - start)


def test_monte_carlo_throughput(benchmark, performance):
    """Bidder values per second of the fused seller-first rounds, beside numpy's generator, the market's
    draws alone (a third of the values are Pareto quantiles: log1p and exp) and the unfused rounds."""
    for n in (2, 10, 100):
        gen = max(generator_rate() for _ in range(3))
        draws = max(market_draw_rate(n) for _ in range(3))
        fused = max(_values_per_second(n, 4_000_000 // n) for _ in range(3))
        unfused = _values_per_second(n, 2_000_000 // n, _unfused)
        benchmark.extra_info.update({f"values_per_second_n{n}": fused, f"generator_n{n}": gen,
                                     f"draws_n{n}": draws, f"unfused_n{n}": unfused})
        print(f"\nMonte Carlo n = {n}: {fused / 1e6:.1f} M values/s; generator {gen / 1e6:.0f} M/s "
              f"({fused / gen:.2f}); the market's draws {draws / 1e6:.0f} M/s ({fused / draws:.2f}); "
              f"unfused {unfused / 1e6:.1f} M/s ({fused / unfused:.1f}x)")
        performance.add(f"seller-first Monte Carlo, n = {n}", fused, "values/s", gen,
                        "numpy Generator.random alone", TARGETS[n])
        performance.add(f"seller-first Monte Carlo, n = {n}", fused, "values/s", draws,
                        "the market's draws alone, each law's inverse CDF", "")
        performance.add(f"seller-first Monte Carlo, n = {n}", fused, "values/s", unfused,
                        "unfused matrix rounds", "")
    benchmark.pedantic(_values_per_second, args=(10, 1_000_000), rounds=3, iterations=1)


class MesaCollected(MarketModel):
    """The market recorded by Mesa's own DataCollector, message rows added round by round."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        series = ("seller_price", "intermediary_price", "seller_revenue", "intermediary_revenue",
                  "total_revenue", "welfare", "sale", "winner")
        self.datacollector = mesa.DataCollector(
            model_reporters={name: (lambda m, name=name: getattr(m.last, name)) for name in series},
            agenttype_reporters={Buyer: {"value": "value", "payoff": "payoff"}},
            tables={"messages": list(LOG_COLUMNS)})


class OneByOneBuyer(Buyer):
    """A buyer drawing its own value, one ``rvs(1)`` call per buyer per round."""

    def draw_value(self):
        return super().draw_value()


class PerBidderMyerson(ShiftedMyerson):
    """The shifted Myerson round bidder by bidder: each law's own virtual_value and phi^-1 per call."""

    def run(self, bids, priority):
        phis = tuple(float(b.virtual_value(x)) for b, x in zip(self.bidders, bids))
        winner = max(range(len(phis)), key=lambda i: (phis[i], priority[i]))
        option = int(self.menu.choose(phis[winner]))
        if option < 0:
            return AuctionResult(None, None, 0.0, phis)
        rival = max((p for i, p in enumerate(phis) if i != winner), default=-math.inf)
        dist, value, covered = self.bidders[winner], bids[winner], 0.0
        for r in self.menu.regions:
            if r.end > rival:
                z_lo = float(dist.virtual_threshold(max(r.start, rival)))
                z_hi = float(dist.virtual_threshold(r.end)) if math.isfinite(r.end) else math.inf
                covered += self.menu.options[r.option].probability * max(min(value, z_hi) - z_lo, 0.0)
        o = self.menu.options[option]
        return AuctionResult(winner, option, (o.probability * (value - o.price) - covered) / o.probability, phis)


class PerBidder(MarketModel):
    """The scalar round: values drawn buyer by buyer, virtual values and reserves bidder by bidder."""

    buyer_class = OneByOneBuyer

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        inter = self.intermediaries[0]
        inter.best_response = lambda mechanism: PerBidderMyerson(tuple(self.distributions), mechanism.menu())


def _rounds_per_second(model, rounds: int = 2000) -> float:
    """Rounds per CPU second, the message log read at the end (so deferred logging is paid for)."""
    start = time.process_time()
    for _ in range(rounds):
        model.step()
    model.message_log()
    return rounds / (time.process_time() - start)


def test_agent_based_against_the_scalar_round(benchmark, performance):
    """Rounds per second of the Mesa model beside the scalar round in the same run, 10 bidders.

    Both play the same rounds (same seed, same messages); the scalar round draws and ranks
    bidder by bidder. Two markets: 10 U[0,1] bidders (one law, one draw call per round) and
    the mixed market (ten laws, one draw call per buyer).
    """
    for name, specs in (("10 uniform bidders", ["uniform:0,1"] * 10), ("10 mixed bidders", mixed_market(10))):
        price = solve_seller_first(specs).seller_price
        same = [m(specs, seller=price, rng=1) for m in (MarketModel, PerBidder)]
        for m in same:
            for _ in range(200):
                m.step()
        assert same[0].message_log().equals(same[1].message_log())  # the baseline plays the same rounds
        ours = max(_rounds_per_second(MarketModel(specs, seller=price, rng=seed)) for seed in range(3))
        scalar = max(_rounds_per_second(PerBidder(specs, seller=price, rng=seed)) for seed in range(3))
        benchmark.extra_info.update({f"rounds_per_second {name}": ours, f"scalar {name}": scalar})
        print(f"\nagent-based, {name}: {ours:.0f} rounds/s; scalar round {scalar:.0f} ({ours / scalar:.2f}x)")
        performance.add(f"agent-based seller-first rounds, {name}", ours, "rounds/s", scalar,
                        "bidder-by-bidder draws and virtual values", ">= 10,000 rounds/s")
    model = MarketModel(["uniform:0,1"] * 10, seller=0.6, rng=0)
    benchmark.pedantic(model.step, rounds=200, iterations=1)


def test_monte_carlo_vs_agent_based(benchmark, performance):
    """Rounds per second of the Mesa model (against Mesa's own DataCollector) and of Monte Carlo, 10 bidders."""
    specs = mixed_market(10)
    price = solve_seller_first(specs).seller_price
    abm = max(_rounds_per_second(MarketModel(specs, seller=price, rng=seed)) for seed in range(3))
    mesa_collected = max(_rounds_per_second(MesaCollected(specs, seller=price, rng=seed)) for seed in range(3))
    start = time.process_time()
    simulate_seller_first(specs, Menu.posted(price), 1_000_000, np.random.default_rng(0))
    mc = 1_000_000 / (time.process_time() - start)
    benchmark.extra_info.update({"abm_rounds_per_second": abm, "mesa_collected_rounds_per_second": mesa_collected,
                                 "mc_rounds_per_second": mc, "ratio": mc / abm})
    print(f"\nagent-based {abm:.0f} rounds/s (Mesa's DataCollector: {mesa_collected:.0f}), "
          f"Monte Carlo {mc:.0f} rounds/s, ratio {mc / abm:.0f}")
    performance.add("agent-based seller-first rounds, 10 bidders (log read at the end)", abm, "rounds/s",
                    mesa_collected, "Mesa's DataCollector, rows added per round", ">= 10,000 rounds/s")
    model = MarketModel(specs, seller=price, rng=0)
    benchmark.pedantic(model.step, rounds=200, iterations=1)
