"""Speed of the equilibrium solvers (pytest-benchmark; run with `make bench`)."""

import multiprocessing
import time

from agora.market.single_item.simultaneous import PricingGame, grid_game, mixed_equilibria, pure_equilibria


def _count_into(queue, A, B):
    import nashpy

    queue.put(sum(1 for _ in nashpy.Game(A, B).vertex_enumeration()))


def vertex_enumeration_count(A, B, seconds: float) -> tuple[str, int | None]:
    """nashpy's vertex enumeration in a child process, stopped after ``seconds``."""
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    proc = ctx.Process(target=_count_into, args=(queue, A, B))
    proc.start()
    proc.join(seconds)
    if proc.is_alive():
        proc.kill()
        return "timeout", None
    return ("ok", queue.get()) if proc.exitcode == 0 else ("error", None)


def test_pure_equilibria_1000_by_1000(benchmark):
    """Every pure equilibrium on a 1001 x 1001 grid, one F_0.2,1e6 bidder, each verified exactly."""
    game = PricingGame(["pareto:0.2,1,1e6"])
    found = benchmark.pedantic(pure_equilibria, args=(game, 1001), rounds=3, iterations=1)
    benchmark.extra_info["equilibria"] = len(found.equilibria)
    assert found.equilibria


def test_mixed_equilibria_21_by_21_next_to_vertex_enumeration(benchmark):
    """Lemke-Howson paths (each verified) against nashpy's own vertex enumeration of the same game."""
    game = PricingGame(["exponential:1"])
    lh = benchmark.pedantic(mixed_equilibria, args=(game, 21), rounds=1, iterations=1)
    _, A, B = grid_game(game, 21, adapted=True)
    start = time.perf_counter()
    status, count = vertex_enumeration_count(A / A.max(), B / B.max(), 300.0)
    vertex_seconds = time.perf_counter() - start
    benchmark.extra_info.update({"lemke_howson_equilibria": len(lh.equilibria),
                                 "lemke_howson_seconds": lh.seconds,
                                 "vertex_enumeration_status": status,
                                 "vertex_enumeration_equilibria": count,
                                 "vertex_enumeration_seconds": vertex_seconds})
    print(f"\n21 x 21: Lemke-Howson {len(lh.equilibria)} equilibria in {lh.seconds:.2f}s; "
          f"nashpy vertex enumeration {status}: {count} in {vertex_seconds:.1f}s")
