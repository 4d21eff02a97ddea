"""The equilibrium-selection report's stochastic-stability section (Young 1993 adaptive play).

Which of the continua of Theorems 5.1 and 5.2 survive rare mistakes: the stochastically
stable conventions of adaptive play between the seller and the intermediary on the
discretized simultaneous game (:mod:`agora.market.learning.conventions`), for the constant
value on an 11-price grid and for F_eps,H, with equal and unequal sample sizes, beside the
asymmetric Nash bargaining split s_S / (s_S + s_I) of Young's theorem; the potentials from
networkx's arborescences are checked against the eps -> 0 limit of the stationary
distribution of the chain on conventions, and the tip reduction against the exact chain
over histories on a 5-price grid.
"""

from __future__ import annotations

from math import ceil
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from agora.experiments.reproduce.report import Check, Section
from agora.experiments.tables import markdown_table
from agora.market.learning import stochastic_stability as ss
from agora.market.learning.adaptive_paths import history_states, simulate
from agora.market.learning.adaptive_play import AdaptivePlay, conventions_of
from agora.market.learning.conventions import convention_stability, limit_on_conventions
from agora.market.single_item.simultaneous import PricingGame, grid_game

POINTS, SAMPLE = 11, 30  # s = 30 separates the resistances on 11 prices (exits 3, 4, 5, 5, 6, ...)
SELLER_SAMPLES = (15, 20, 30, 45, 60, 90)  # against the intermediary's 30 (s_S = 10 ties 0.3, 0.4)
EPS_H = (0.2, 1e6)
PLANE_EPS = 0.05
SOURCE = "Young 1993 (JET), Theorem: stable split -> argmax x^s_S (1 - x)^s_I"


def _shares(grid, res) -> list[float]:
    return [float(grid[res.classes[j][0]]) for j in res.stable]


def _plane_figure(grid, res, path: Path) -> None:
    """The stationary distribution of the chain on conventions at eps, over the (p_s, p_I) plane."""
    k = len(res.classes)
    p = np.where(np.eye(k, dtype=bool), 0.0, PLANE_EPS ** res.resistances / k)
    np.fill_diagonal(p, 1.0 - p.sum(axis=1))
    pi = ss.gth_stationary(p)
    plane = np.full((grid.size, grid.size), np.nan)
    for (i, j), m in zip(res.classes, pi):
        plane[j, i] = m
    fig, ax = plt.subplots(figsize=(4.6, 4.0), dpi=110, layout="constrained")
    im = ax.imshow(plane, origin="lower", extent=(-0.05, 1.05, -0.05, 1.05), cmap="viridis")
    fig.colorbar(im, ax=ax, label=f"stationary mass (eps = {PLANE_EPS})")
    ax.set(xlabel="seller price p_s", ylabel="intermediary price p_I",
           title=f"constant value 1, {POINTS} prices, s = {SAMPLE}")
    fig.savefig(path)
    plt.close(fig)


def _ratio_figure(rows, path: Path) -> None:
    x = np.array([r[0] for r in rows])
    fig, ax = plt.subplots(figsize=(4.6, 3.6), dpi=110, layout="constrained")
    for xi, shares in zip(x, (r[1] for r in rows)):
        ax.plot([xi] * len(shares), shares, "o", color="tab:blue")
    line = np.linspace(0, 1, 101)
    ax.plot(line, line, "--", color="gray", label="asymmetric Nash bargaining s_S / (s_S + s_I)")
    ax.set(xlabel="s_S / (s_S + s_I)", ylabel="stable seller price", xlim=(0, 1), ylim=(0, 1),
           title=f"constant value 1, {POINTS} prices, s_I = {SAMPLE}")
    ax.legend(loc="upper left", fontsize=8)
    fig.savefig(path)
    plt.close(fig)


SIM_PERIODS, SIM_EPS, SIM_SAMPLES = 30_000, (0.1, 0.05), (1, 2)


def _simulated_check() -> Check:
    """Simulated adaptive play (5 prices, m = 2) against the exact chain: the share of periods at the
    stochastically stable conventions beside their stationary mass, within 4.5 of the path's standard
    errors (the chain's asymptotic variance)."""
    _, A, B = grid_game(PricingGame(["point:1"]), 5)
    play = AdaptivePlay(A, B, 2, SIM_SAMPLES)
    res = play.stability()
    stable = np.concatenate([res.classes[j] for j in res.stable])
    p = play.chain(SIM_EPS)
    pi = ss.stationary(p)
    f = np.isin(np.arange(play.states), stable).astype(float)
    sd = ss.asymptotic_sd(p.toarray(), pi, f) / np.sqrt(SIM_PERIODS)
    path = simulate(A, B, 2, SIM_SAMPLES, SIM_EPS, SIM_PERIODS, np.random.default_rng(1993), (2, 2))
    share = float(np.isin(history_states(path, A.shape, (2, 2)), stable).mean())
    exact = float(pi[stable].sum())
    return Check("simulated adaptive play = exact chain", f"constant value 1, 5 prices, m = 2, s = {SIM_SAMPLES}, "
                 f"eps = {SIM_EPS}", f"share of {SIM_PERIODS} periods at the stable conventions", round(exact, 6),
                 round(share, 6), abs(share - exact) <= 4.5 * sd, f"4.5 standard errors ({sd:.2g})",
                 "cross-evaluator", f"the stationary distribution of the exact perturbed chain over {play.states} "
                 "histories; the error from its fundamental matrix (the path's autocorrelation)")


def stochastic_stability(figures: Path) -> Section:
    grid, A, B = grid_game(PricingGame(["point:1"]), POINTS)
    res = convention_stability(A, B, (SAMPLE, SAMPLE), every=True)
    exits = np.where(np.eye(len(res.classes), dtype=bool), np.inf, res.resistances).min(axis=1)
    n = POINTS - 1
    closed = [min(ceil(SAMPLE / i), ceil(SAMPLE / (n - i)), ceil(SAMPLE * i / n),
                  ceil(SAMPLE * (n - i) / n)) for i, _ in res.classes]
    limit = limit_on_conventions(res.resistances, (1e-3, 1e-4))
    gap = float(np.max(np.abs(limit - (res.potentials - res.potentials.min()))))
    shares = _shares(grid, res)
    checks = [
        Check("stochastic stability (Young 1993)", f"constant value 1, {POINTS} prices, s = {SAMPLE}",
              "stable seller prices", "[0.5]", str(shares), shares == [0.5],
              provenance="independent", source=SOURCE + " with s_S = s_I: the equal split"),
        Check("Young's exits", f"constant value 1, {POINTS} prices, s = {SAMPLE}",
              "cheapest exit of each convention", str(closed), str([int(e) for e in exits]),
              closed == list(exits), "exact", "independent",
              "closed form for the split (i, 10 - i): the least of ceil(s / i), ceil(s / (10 - i)) "
              "(a side concedes one step) and ceil(s i / 10), ceil(s (10 - i) / 10) (a side "
              "demands all the other leaves)"),
        Check("trees = eps -> 0 limit", f"constant value 1, {POINTS} prices, s = {SAMPLE}",
              "max |limit exponent - potential|", 0.0, gap, gap < 0.01, "0.01", "cross-evaluator",
              "GTH stationary distribution of the convention chain at eps = 1e-3, 1e-4 (Markov chain "
              "tree theorem) against networkx minimum spanning arborescences"),
    ]
    rows = []
    for s_seller in SELLER_SAMPLES:
        r = convention_stability(A, B, (s_seller, SAMPLE))
        nbs = s_seller / (s_seller + SAMPLE)
        got = _shares(grid, r)
        rows.append((nbs, got))
        far = max(abs(g - nbs) for g in got)
        checks.append(Check("asymmetric Nash bargaining (Young 1993)",
                            f"constant value 1, {POINTS} prices, s_S = {s_seller}, s_I = {SAMPLE}",
                            "stable seller price (NBS)", round(nbs, 6), str(got), far <= 0.1 + 1e-12,
                            "one grid step (0.1)", "independent", SOURCE))
    means = [float(np.mean(g)) for _, g in rows]
    checks.append(Check("more information, larger share", f"constant value 1, {POINTS} prices",
                        "stable seller price nondecreasing in s_S", "nondecreasing", str(means),
                        means == sorted(means), provenance="independent", source=SOURCE))
    eps, h = EPS_H
    fgrid, FA, FB = grid_game(PricingGame([f"pareto:{eps:g},1,{h:g}"]), POINTS)
    fres = convention_stability(FA, FB, (SAMPLE, SAMPLE), every=True)
    fshares = [float(fgrid[c[0]] / h) for c in fres.classes]
    expected = [i / (POINTS - 1) for i in range(POINTS) if eps - 1e-12 <= i / (POINTS - 1) <= 1 - eps + 1e-12]
    fstable = [fshares[j] for j in fres.stable]
    checks += [
        Check("Theorem 5.2", f"F_{{{eps:g},{h:g}}}, {POINTS} prices", "conventions: p_s / H",
              str(expected), str([round(x, 6) for x in fshares]), np.allclose(fshares, expected),
              "1e-9", "paper-formula", "Theorem 5.2: every split of H with both prices >= eps H"),
        Check("stochastic stability (Young 1993)", f"F_{{{eps:g},{h:g}}}, {POINTS} prices, s = {SAMPLE}",
              "stable p_s / H", "[0.5]", str(fstable), np.allclose(fstable, [0.5]),
              provenance="independent", source=SOURCE + " with s_S = s_I: the equal split"),
    ]
    xgrid, XA, XB = grid_game(PricingGame(["point:1"]), 5)
    play = AdaptivePlay(XA, XB, 2, (1, 1))
    exact = play.stability()
    red = convention_stability(XA, XB, (1, 1), every=True)
    by_conv = dict(zip(conventions_of(play, exact.classes), exact.potentials))
    same = [by_conv.get(tuple(map(int, c))) for c in red.classes] == list(red.potentials)
    checks.append(Check("tip reduction = exact chain", "constant value 1, 5 prices, m = 2, s = 1",
                        "potential of each convention", str(list(exact.potentials)),
                        str(list(red.potentials)), same, "exact", "cross-evaluator",
                        f"trees on the exact chain over {play.states} histories (Dijkstra resistances)"))
    checks.append(_simulated_check())
    _plane_figure(grid, res, figures / "stationary_plane.png")
    _ratio_figure(rows, figures / "split_vs_sample_ratio.png")
    table = markdown_table(["p_s", "p_I", "cheapest exit", "potential"],
                           [(float(grid[i]), float(grid[j]), int(e), float(p))
                            for (i, j), e, p in zip(res.classes, exits, res.potentials)])
    text = """
Young's adaptive play between the seller and the intermediary on the discretized simultaneous
game: each side samples s of the other's last m prices (m >= 2s), best-responds, and errs with
probability eps. The conventions (strict equilibria repeated) of the constant-value game are
the splits of Theorem 5.1's continuum; rare mistakes select among them. Resistances between
conventions come from Young's tip reduction (one player's mistakes, one action, enough of them to
make a new price a best reply to some sample), the potentials from minimum spanning arborescences.
Expected, by Young (1993, JET): the equal split for equal samples, and as the grid refines the
asymmetric Nash bargaining split s_S / (s_S + s_I). Two uniform bidders (U[0,1], U[0,2]) have a
single strict grid equilibrium, (2/3, 2/3), so there is nothing to select there. With a
small seller sample (s_S = 10 against 30) the 11-price grid is too coarse for the count: the
splits 0.3 and 0.4 tie.
"""
    extra = (f"Conventions of the constant-value game, s = {SAMPLE}:\n\n{table}\n\n"
             "![stationary distribution](stationary_plane.png)\n\n"
             "![selected split](split_vs_sample_ratio.png)")
    return Section("Stochastic stability: which split survives rare mistakes", text, checks, extra)
