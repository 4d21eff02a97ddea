"""Speed of learning dynamics and selection studies (pytest-benchmark; run with `make bench`)."""

import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pytest

from agora.market.learning.qre import trace_logit_qre
from agora.market.learning.rules import BestResponse, DemandLearning, FictitiousPlay, Hedge, RegretMatching
from agora.market.learning.selection import Market, Study, play_market, run_study
from agora.models.learning_models import learning_model

MARKET = Market("two uniform", ("uniform:0,1", "uniform:0,2"), 41)
ROUNDS = 2000


@pytest.mark.parametrize("rule", [BestResponse(0.5), FictitiousPlay(), FictitiousPlay(0.01), Hedge(5.0),
                                  RegretMatching(), DemandLearning(0.1, 0.5)], ids=lambda r: r.label)
def test_array_rounds_per_second(benchmark, rule):
    """One run of 2,000 rounds on a 41-price grid; rounds per second in extra_info."""
    MARKET.discretized()
    benchmark.pedantic(play_market, args=(MARKET, rule, rule, (5, 30), ROUNDS, np.random.SeedSequence(1)),
                       rounds=3, iterations=1)
    benchmark.extra_info["rounds_per_second"] = ROUNDS / benchmark.stats["mean"]


def test_agent_based_against_array_rounds(benchmark):
    """The Mesa market with learning agents against the array dynamics, same rule, same rounds."""
    rule, rounds, seq = Hedge(5.0), 500, np.random.SeedSequence(2)

    def agents():
        model = learning_model(MARKET, rule, rule, (5, 30), rounds, seq)
        for _ in range(rounds):
            model.step()

    benchmark.pedantic(agents, rounds=2, iterations=1)
    start = time.perf_counter()
    play_market(MARKET, rule, rule, (5, 30), rounds, seq)
    array_seconds = time.perf_counter() - start
    benchmark.extra_info["array_over_agents_speed"] = benchmark.stats["mean"] / array_seconds
    print(f"\narray dynamics {benchmark.stats['mean'] / array_seconds:.1f}x the agent-based rounds per second")


def test_study_serial_against_two_workers(benchmark):
    """An 8 x 8-start study, serially (benchmarked) and on a pool of two processes (extra_info)."""
    study = Study(MARKET, Hedge(5.0), starts_per_side=8, rounds=500, seed=3)
    benchmark.pedantic(run_study, args=(study,), rounds=1, iterations=1)
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        start = time.perf_counter()
        run_study(study, pool)
        benchmark.extra_info["two_worker_seconds_with_startup"] = time.perf_counter() - start
    print(f"\n64-start study: serial {benchmark.stats['mean']:.2f}s, two spawned workers "
          f"{benchmark.extra_info['two_worker_seconds_with_startup']:.2f}s (with start-up)")


def test_qre_trace_41_by_41(benchmark):
    _, mg = MARKET.discretized()
    branch = benchmark.pedantic(trace_logit_qre, args=(mg.A, mg.B), kwargs={"lam_max": 2000.0},
                                rounds=1, iterations=1)
    benchmark.extra_info["steps"] = branch.steps


def test_k_item_rounds_per_second(benchmark):
    """The three-player k-item game (n = 4, k = 2, 31 prices a side): one run of 2,000 rounds of Hedge."""
    from agora.market.learning.k_selection import KItemMarket, play_k_market

    market = KItemMarket("k < n", "uniform:0,1", (2, 2), 2, 31)
    market.game()
    rule = Hedge(5.0)
    benchmark.pedantic(play_k_market, args=(market, (rule, rule, rule), (5, 20, 10), ROUNDS,
                                            np.random.SeedSequence(1)), rounds=3, iterations=1)
    benchmark.extra_info["rounds_per_second"] = ROUNDS / benchmark.stats["mean"]


def test_study_through_the_runner_serial_against_two_workers(benchmark):
    """The same 64-start study through the experiments runner: serial (benchmarked), two forkserver workers."""
    from agora.experiments.runner import make_executor
    from agora.experiments.selection import run_selection

    study = Study(MARKET, Hedge(5.0), starts_per_side=8, rounds=500, seed=3)
    with make_executor("serial") as pool:
        benchmark.pedantic(run_selection, args=(study, pool.executor), rounds=1, iterations=1)
    start = time.perf_counter()
    with make_executor("process", 2) as pool:
        run_selection(study, pool.executor)
    benchmark.extra_info["two_worker_seconds_with_startup"] = time.perf_counter() - start
    print(f"\n64-start study through the runner: serial {benchmark.stats['mean']:.2f}s, two workers "
          f"{benchmark.extra_info['two_worker_seconds_with_startup']:.2f}s (with start-up)")
