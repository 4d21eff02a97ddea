"""Speed of simultaneous play over the intermediary's classes (pytest-benchmark; run with `make bench`).

The market uniform:0,1 + point:1 has a continuum of posted-price equilibria (every split of
p_s + p_I = 1), so every grid price on it is a candidate checked against every class. The
check asks the best of all auctions alone (Theorem 3.1: shifted Myerson's revenue where every
phi_i(lo_i) <= p, else the bound E[(Phi - p)+], which each posted split reaches); the baseline, in
the same run, is the check that searched the best parameter of every class at every candidate.
CPU seconds of this process; at commit e7d713d the default grid (1001 prices) took 66.7 s.
"""

import time

from agora.market.single_item.simultaneous import PricingGame, pure_equilibria
from agora.market.single_item.simultaneous_classes import ClassGame, solve_class_game

MARKET = ["uniform:0,1", "point:1"]
BEFORE_SECONDS = 66.7  # CPU seconds at commit e7d713d, default grid, this market, this machine


class EveryClassSearched(ClassGame):
    """The check as it was: the best parameter of every class at every candidate."""

    def deviations(self, price, earned=None):
        return {c: self.best_against(c, price) for c in self.classes}


def _cpu_seconds(solve, *args) -> tuple[float, object]:
    start = time.process_time()
    out = solve(*args)
    return time.process_time() - start, out


def _checked_candidates(game_class, points):
    game = PricingGame(MARKET)
    return game_class(game).posted_candidates(pure_equilibria(game, points))


def test_posted_continuum_checked_against_shifted_myerson(benchmark, performance):
    """The default grid end to end, beside the posted-price game alone; then the candidates'
    check on a 201-point grid, beside the check that searched every class."""
    posted, _ = _cpu_seconds(pure_equilibria, PricingGame(MARKET), 1001)
    solved = benchmark.pedantic(solve_class_game, args=(PricingGame(MARKET),), rounds=1, iterations=1)
    seconds, _ = _cpu_seconds(solve_class_game, PricingGame(MARKET))
    fast, checked = _cpu_seconds(_checked_candidates, ClassGame, 201)
    slow, every = _cpu_seconds(_checked_candidates, EveryClassSearched, 201)
    benchmark.extra_info.update({"cpu_seconds": seconds, "posted_game_cpu_seconds": posted,
                                 "cpu_seconds_at_e7d713d": BEFORE_SECONDS, "check_201": fast,
                                 "check_every_class_201": slow})
    print(f"\nsimultaneous, {' + '.join(MARKET)}: {seconds:.1f} s CPU (was {BEFORE_SECONDS:.0f} s); "
          f"posted-price game alone {posted:.2f} s; check of 201-grid candidates {fast:.2f} s, "
          f"every class searched {slow:.2f} s")
    performance.add(f"simultaneous play, every class, {' + '.join(MARKET)}, 1001-price grid", seconds, "s",
                    posted, "the posted-price game alone", f"< 10 s (was {BEFORE_SECONDS:.0f} s at e7d713d)")
    performance.add("check of the 201 posted candidates against every class", fast, "s", slow,
                    "every class's best parameter searched at each candidate", "")
    # 1001 posted splits, the second-price segment's 41 scanned prices (reserve 1 - p), shifted Myerson's p = 1
    assert len(solved.equilibria) == 1043
    assert [e.verified for e in checked] == [e.verified for e in every] == [True] * len(checked)
