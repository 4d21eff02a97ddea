"""The dashboard's view of adaptive play with mistakes (Young 1993) in the simultaneous pricing game of
monopolist-intermediary, Section 5: the runner's ``adaptive-play`` kind (``game = "pricing"``), period by period.

The seller (row) and the intermediary (column) play the ``points``-price grid game of the buyers' laws
(``bidders``; ``point:1`` is the constant-value game of Theorem 5.1, every split an equilibrium). Both
remember the last ``memory`` plays; each period the seller best-replies to ``sample_row`` of the
intermediary's remembered prices, the intermediary to ``sample_column`` of the seller's, and each errs
with probability ``eps_row`` / ``eps_column`` (:func:`agora.market.learning.adaptive_paths.simulate`,
from the convention at the start prices snapped to the grid, on ``default_rng(seed)``; the first
:data:`HORIZON` periods are drawn at the first step, and the market stops there).

Exact values (:func:`agora.market.learning.pricing_stability.stability_of`, as the kind's row): the
stochastically stable classes (minimum-resistance trees on the exact chain over histories when it is
small enough, else on the conventions by Young's tip reduction) and, on the exact chain, the stationary
mass of every convention and of the stable classes at the controls' mistake rates. The series'
``at_stable`` and ``at_convention`` are 1 in a period whose history is in a stable class / is a
convention: their running means are the shares of periods, drawn beside those masses.
"""

from __future__ import annotations

from functools import cached_property, lru_cache

import numpy as np

from agora.experiments.dashboard.path_view import PathModel, PathView, bands_at, best_response_plane
from agora.experiments.dashboard.views import COMMON_CONTROLS, MarketView, PricePlane, Reference, register, snap
from agora.experiments.markets import ParamError
from agora.experiments.markets.adaptive_play import STATIONARY_STATES, check
from agora.market.errors import InputError
from agora.market.learning import stochastic_stability as ss
from agora.market.learning.adaptive_paths import AdaptivePath, history_states, simulate
from agora.market.learning.pricing_stability import stability_of
from agora.market.single_item.intermediary_first import evaluate_right_auction
from agora.market.single_item.right_auctions import PostedRightPrice
from agora.market.single_item.simultaneous import PRICE_SLACK, PricingGame, grid_game

HORIZON = 10_000  # periods drawn at the first step
#: The runner's parameter -> the control that sets it
CONTROL_OF = {"points": "points", "memory": "memory", "sample_row": "sample_row", "sample_column": "sample_column",
              "start_row": "seller_price", "start_column": "intermediary_price", "bidders": "bidders"}


def runner_params(controls) -> dict:
    """The controls as the runner's ``adaptive-play`` parameters (``game = "pricing"``): the start prices
    snapped to the grid's indices."""
    c = controls
    points = c.points or 11
    grid, _, _ = grid_game(PricingGame(c.specs), points)
    return {"game": "pricing", "bidders": list(c.specs), "distribution": None, "buyers": None, "items": None,
            "upper": None, "points": points, "row_payoffs": None, "column_payoffs": None, "memory": c.memory,
            "sample_row": c.sample_row, "sample_column": c.sample_column, "eps_row": c.eps_row,
            "eps_column": c.eps_column, "start_row": snap(grid, c.seller_price),
            "start_column": snap(grid, c.intermediary_price)}


class AdaptivePlayModel(PathModel):
    """The path of :data:`HORIZON` periods (drawn at the first step), revealed one period per step, and the
    exact answers."""

    horizon = HORIZON

    def __init__(self, params: dict, seed: int):
        super().__init__()
        self.params = params
        self.specs = tuple(params["bidders"])
        self.buyers = len(self.specs)
        self.exact = _exact(self.specs, params["points"], (params["sample_row"], params["sample_column"]),
                            params["memory"], (params["eps_row"], params["eps_column"]))
        self.seed = seed

    @property
    def game(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return self.exact[:3]

    def draw(self) -> AdaptivePath:
        """The :data:`HORIZON` periods, drawn at the first step."""
        p, (_, A, B, *_) = self.params, self.exact
        return simulate(A, B, p["memory"], (p["sample_row"], p["sample_column"]), (p["eps_row"], p["eps_column"]),
                        HORIZON, np.random.default_rng(self.seed), (p["start_row"], p["start_column"]))

    def actions(self) -> tuple[np.ndarray, np.ndarray]:
        return self.path.rows, self.path.cols

    def welfare(self, seller_price: float, intermediary_price: float) -> float:
        return _welfare(self.specs, seller_price, intermediary_price)

    @cached_property
    def at_stable(self) -> np.ndarray:
        return _at_stable(self.path, self.exact, (self.params["start_row"], self.params["start_column"]))

    def visits(self) -> dict[tuple[int, int], float]:
        """The share of the periods so far whose history is convention (a, b), for every convention."""
        t, p = self.round, self.path
        at = p.at_convention[:t]
        return {c: float(np.mean(at & (p.rows[:t] == c[0]) & (p.cols[:t] == c[1]))) if t else 0.0
                for c in self.exact[4]}


@lru_cache(maxsize=8)
def _exact(specs: tuple[str, ...], points: int, samples: tuple[int, int], memory: int, eps: tuple[float, float]):
    """(grid, A, B, stability result, conventions, stable state sets, stationary law or None, play)."""
    grid, A, B = grid_game(PricingGame(specs), points)
    res, conv, play = stability_of(A, B, samples, memory)
    pi = ss.stationary(play.chain(eps)) if play is not None and play.states <= STATIONARY_STATES else None
    pairs = [c for c in conv if c is not None]
    return grid, A, B, res, pairs, conv, pi, play


def _at_stable(path: AdaptivePath, exact, start) -> np.ndarray:
    """1 where the period's history is in a stochastically stable class (the kind's count of shares)."""
    grid, A, B, res, pairs, conv, pi, play = exact
    if play is None:
        stable = {conv[j] for j in res.stable}
        pair_ok = np.array([(a, b) in stable for a, b in zip(path.rows, path.cols)])
        return (path.at_convention & pair_ok).astype(float)
    states = history_states(path, (play.n1, play.n2), start)
    return np.isin(states, np.concatenate([res.classes[j] for j in res.stable])).astype(float)


@lru_cache(maxsize=4096)
def _welfare(specs: tuple[str, ...], ps: float, pi: float) -> float:
    """E[max v; max v >= ps + pi], a total within the grid game's PRICE_SLACK of a value reaching it (as in
    the payoffs A and B: 0.7 + 0.3 sells to a value of 1)."""
    game = PricingGame(specs)
    slack = PRICE_SLACK * max(game.unit, ps + pi)
    return evaluate_right_auction(game.bidders, PostedRightPrice(pi), ps - slack).welfare


class AdaptivePlayView(PathView, MarketView):
    protocol = "adaptive-play"
    title = "Adaptive play with mistakes (Young 1993; monopolist-intermediary, Section 5)"
    rules = ("adaptive-play",)
    controls = COMMON_CONTROLS + ("seller_price", "intermediary_price", "points", "memory", "sample_row",
                                  "sample_column", "eps_row", "eps_column")
    extra = ("at_stable", "at_convention")

    def check(self, controls) -> None:
        if controls.intermediaries != 1 or controls.items != 1:
            raise InputError("adaptive-play takes one intermediary holding every buyer and one item, got "
                             f"{controls.intermediaries} intermediaries and {controls.items} items")
        try:
            check(runner_params(controls))
        except ParamError as err:
            key = CONTROL_OF.get(err.key, err.key)
            raise InputError(f"{key} = {getattr(controls, key)!r}: {err}") from None

    def build(self, controls) -> AdaptivePlayModel:
        return AdaptivePlayModel(runner_params(controls), controls.seed)

    def caption(self, model: AdaptivePlayModel) -> str:
        grid, t, p = model.exact[0], model.round - 1, model.path
        masses = _masses(model)
        shares = ", ".join(f"({grid[a]:.3g}, {grid[b]:.3g}) {s:.3g}" + (f" [exact {masses[a, b]:.3g}]" if masses
                                                                          else "")
                           for (a, b), s in model.visits().items() if s > 0)
        return (f"period {model.round}: seller {grid[p.rows[t]]:.3g}, intermediary {grid[p.cols[t]]:.3g}"
                f"{' (a convention)' if p.at_convention[t] else ''}; periods at each convention: "
                f"{shares or 'none yet'}")

    def extra_series(self, model: AdaptivePlayModel, t: int) -> dict[str, np.ndarray]:
        return {"at_stable": model.at_stable[:t], "at_convention": model.path.at_convention[:t] * 1.0}

    def reference(self, model: AdaptivePlayModel) -> Reference:
        grid, _, _, res, _, conv, pi, _ = model.exact
        stable = [conv[j] for j in res.stable if conv[j] is not None]
        bands = bands_at(model, stable)
        masses = _masses(model)
        if masses:
            stable_mass = float(pi[np.concatenate([res.classes[j] for j in res.stable])].sum())
            bands |= {"at_stable": (stable_mass, stable_mass), "at_convention": (sum(masses.values()),) * 2}
        named = "; ".join(f"({grid[a]:.3g}, {grid[b]:.3g})" for a, b in stable) or "classes that are not conventions"
        mass_text = ("stationary masses at the controls' mistake rates: " + ", ".join(
            f"({grid[a]:.3g}, {grid[b]:.3g}) {m:.3g}" for (a, b), m in masses.items()) if masses
            else f"no exact stationary masses (the chain has more than {STATIONARY_STATES} histories or is not built)")
        return Reference(bands, f"stochastically stable (seller price, intermediary price): {named}; {res.method}; "
                                f"{mass_text}")

    def price_plane(self, model: AdaptivePlayModel) -> PricePlane:
        grid, pairs = model.exact[0], model.exact[4]
        conventions = np.array([[grid[a], grid[b]] for a, b in pairs]).reshape(-1, 2)
        return best_response_plane(model, conventions, f"best responses and conventions (strict equilibria) of "
                                   f"the {len(grid)}-price grid game")


def _masses(model: AdaptivePlayModel) -> dict[tuple[int, int], float]:
    """Each convention's exact stationary mass (empty without the exact chain's law)."""
    pi, play = model.exact[6], model.exact[7]
    return {} if pi is None else {(a, b): float(pi[play.convention(a, b)]) for a, b in model.exact[4]}


register(AdaptivePlayView())
