"""Market views: what the dashboard needs to know about one protocol.

A view builds the model from the controls and reads back what the page draws:

* :meth:`MarketView.network`: the demand structure this round (buyers ->
  intermediaries -> seller, or members -> committee -> seller) with each node's
  value, who won, and the messages each edge carried;
* :meth:`MarketView.series`: one row per round: what each party gets
  (``*_revenue``, ``*_utility``, ``*_profit``), ``welfare``, and posted prices ``*_price``;
* :meth:`MarketView.reference`: the exact solver's values of those columns
  (a line, or a band when the solver finds a set of equilibria);
* :meth:`MarketView.price_plane`: for pricing games, both best-response curves
  and the equilibrium set in the (seller price, intermediary price) plane.

A new protocol plugs in with one subclass and :func:`register`. Views for the
three timings of :class:`~agora.models.market_model.MarketModel` (seller-first,
intermediary-first, simultaneous; monopolist-intermediary Sections 3-5) are here;
posted menus for k items (:mod:`.posted_menu_view`) and veto bargaining
(:mod:`.veto_view`) have modules of their own.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import defaultdict
from dataclasses import dataclass, field
from functools import lru_cache

import networkx as nx
import numpy as np
import pandas as pd

from agora.agents.adjustment import GRID_RULES, LEARNING_RULES, grid_rule, learning_strategy
from agora.agents.strategies import BestResponseDynamics, FixedMechanism, StackelbergPrice
from agora.market.demand import SELLER, buyer_node, intermediary_node
from agora.market.distributions import parse_spec
from agora.market.errors import InputError
from agora.market.k_items.mechanisms import ItemMenu
from agora.market.learning.selection import Market
from agora.market.single_item.intermediary_first import CommitmentOptimum, best_commitment, evaluate_right_auction
from agora.market.single_item.right_auctions import PostedRightPrice
from agora.market.single_item.seller_first import solve_seller_first
from agora.market.single_item.simultaneous import PricingGame, grid_game, pure_equilibria
from agora.models.learning_models import learning_model
from agora.models.market_model import MarketModel
from agora.protocols.messages import ALL

PLANE_POINTS = 201  # prices per side of the grid the price plane and the equilibrium set are drawn on
#: The controls every protocol reads: what is sold to whom, how its parties move, and how it is shown.
COMMON_CONTROLS = ("protocol", "bidders", "buyers", "rule", "seed", "window")
LEARNING_POINTS = 41  # the grid learners' prices: linear on [0, upper] (agora.market.learning.selection.price_levels)


@dataclass
class Network:
    """The demand structure as one round left it.

    ``graph`` nodes carry ``kind`` and ``layer`` (0 buyers, 1 intermediaries, 2 the seller);
    ``values`` maps buyer nodes to this round's values; ``winners`` holds the nodes that
    received the item; ``messages`` maps a (sender node, recipient node) pair to the
    short labels of the messages sent along it this round.
    """

    graph: nx.DiGraph
    values: dict[str, float] = field(default_factory=dict)
    winners: set[str] = field(default_factory=set)
    messages: dict[tuple[str, str], list[str]] = field(default_factory=lambda: defaultdict(list))
    caption: str = ""  # what the round came to, e.g. who got the item


@dataclass(frozen=True)
class Reference:
    """Exact values of the series columns: ``bands[col] = (low, high)`` (low == high: a line)."""

    bands: dict[str, tuple[float, float]]
    method: str


@dataclass(frozen=True)
class PricePlane:
    """Best-response curves and equilibria of two players' prices on a price grid.

    ``players`` are the parties on the x and y axes (as the series name them: the seller and
    the intermediary by default). ``x_best[j]`` is the x player's best price against the y
    player's ``grid[j]``; ``y_best[i]`` the y player's against the x player's ``grid[i]``.
    ``columns`` are the series columns of the path, ``labels`` the axes' labels, ``note``
    what the page says under the legend.
    """

    grid: np.ndarray
    x_best: np.ndarray
    y_best: np.ndarray
    equilibria: np.ndarray  # rows (x price, y price), verified
    continuum: dict | None  # keyed by ``columns``: each player's price range along a segment
    method: str
    players: tuple[str, str] = ("seller", "intermediary")
    columns: tuple[str, str] = ("seller_price", "intermediary_price")
    labels: tuple[str, str] = ("seller price p_s", "intermediary price p_I")
    note: str = "best responses on a grid of prices; equilibria verified against any deviation"


def money_columns(df: pd.DataFrame) -> list[str]:
    """The series columns that are amounts a party gets (revenue, utility, profit) and welfare."""
    return [c for c in df.columns if not c.endswith("_price") and c != "welfare"] + ["welfare"]


def price_columns(df: pd.DataFrame) -> list[str]:
    return [c for c in df.columns if c.endswith("_price")]


class MarketView(ABC):
    """One protocol as the dashboard sees it.

    ``rules`` are the learning rules (seller strategies) it accepts; ``controls`` the controls it
    reads (the fields of :class:`~agora.experiments.dashboard.controls.Controls` the page shows for
    it; the others keep their defaults); :meth:`check` adds the protocol's own checks of the
    controls (how many intermediaries and items it takes, say).
    """

    protocol: str
    title: str
    rules: tuple[str, ...] = LEARNING_RULES
    controls: tuple[str, ...] = COMMON_CONTROLS
    no_price_game = "No price game in this protocol."

    def check(self, controls) -> None:
        """Raise a one-line InputError if this protocol cannot run on ``controls``."""

    @abstractmethod
    def build(self, controls):
        """The model for these controls (a ``mesa.Model`` with ``step()``)."""

    @abstractmethod
    def network(self, model) -> Network:
        """The demand structure with this round's values, winners and messages."""

    @abstractmethod
    def series(self, model) -> pd.DataFrame:
        """One row per round played so far."""

    @abstractmethod
    def reference(self, model) -> Reference:
        """The exact solver's values for the series."""

    def price_plane(self, model) -> PricePlane | None:
        """Best-response curves of two pricing players, the equilibria and the path's columns (None: no price game)."""
        return None


VIEWS: dict[str, MarketView] = {}


def register(view: MarketView) -> MarketView:
    """Make a view available to the dashboard under its protocol's name."""
    VIEWS[view.protocol] = view
    return view


# ---- the single-item timings of MarketModel -------------------------------------------------

SERIES = ("seller_revenue", "intermediary_revenue", "welfare", "seller_price", "intermediary_price")


def _short(message) -> str:
    amount = getattr(message, "amount", None)
    if message.kind == "Commit":
        return f"commit {_describe(message.mechanism)}"
    if message.kind == "Offer":
        return "offer"
    if message.kind == "Allocation":
        return "item" if message.delivered else "no item"
    if message.kind == "Forward":
        return "forward"
    if message.kind == "Request":
        return f"ask {len(message.items)}" if message.items else "ask " + ", ".join(f"{b:.3g}" for b in
                                                                                 message.amounts)
    if message.kind == "Award":
        return f"award {len(message.items)}"
    if message.kind == "Vote":
        return "accept" if message.accept else "veto"
    if message.kind == "Report":
        return f"report {message.amount:.3g}"
    if message.kind == "Proposal":
        return "proposal"
    return f"{message.kind.lower()} {amount:.3g}" if amount is not None else message.kind.lower()


def _describe(mechanism) -> str:
    if isinstance(mechanism, PostedRightPrice):
        return f"right at {mechanism.parameter:.3g}"
    if isinstance(mechanism, ItemMenu):
        return f"{mechanism.k} at {mechanism.prices[0]:.3g}" if mechanism.uniform else "menu"
    price = getattr(mechanism, "price", None)
    return f"price {price:.3g}" if price is not None else getattr(mechanism, "name", "mechanism")


class TimingView(MarketView):
    """A MarketModel timing: one intermediary holds every buyer (monopsony)."""

    no_price_game = ("No price game in this protocol: the intermediary answers the seller's "
                     "commitment with the shifted Myerson auction.")

    def __init__(self, protocol: str, title: str, controls: tuple[str, ...],
                 rules: tuple[str, ...] = LEARNING_RULES):
        self.protocol = protocol
        self.title = title
        self.controls = COMMON_CONTROLS + controls
        self.rules = rules

    def check(self, controls) -> None:
        if controls.intermediaries != 1:
            raise InputError(f"intermediaries must be 1 for {self.protocol} (one intermediary holds every "
                             f"buyer, monopolist-intermediary), got {controls.intermediaries}")
        if controls.items != 1:
            raise InputError(f"items must be 1 for {self.protocol} (a single item), got {controls.items}")

    def strategies(self, controls) -> dict:
        """The seller's and the intermediary's strategies under the chosen learning rule."""
        c = controls
        if self.protocol == "seller-first":
            return {"seller": learning_strategy(c.rule, StackelbergPrice(), c.rate, c.seller_price)}
        if self.protocol == "intermediary-first":
            # what BestCommitment commits to, solved once and shared with the reference lines
            best = FixedMechanism(stackelberg_commitment(c.specs).commitment) if c.rule == "best-response" else None
            return {"intermediary": learning_strategy(c.rule, best, c.rate, c.intermediary_price)}
        return {"seller": learning_strategy(c.rule, BestResponseDynamics(c.intermediary_price), c.rate,
                                            c.seller_price),
                "intermediary": learning_strategy(c.rule, BestResponseDynamics(c.seller_price), c.rate,
                                                  c.intermediary_price)}

    def build(self, controls) -> MarketModel:
        if controls.rule in GRID_RULES:
            return grid_learning_model(controls)
        return MarketModel(controls.specs, protocol=self.protocol, rng=controls.seed,
                           **self.strategies(controls))

    def network(self, model: MarketModel) -> Network:
        net = Network(layered_demand(model))
        if model.last is None:
            return net
        net.values = {buyer_node(i): v for i, v in enumerate(model.last.values)}
        if model.last.delivered:
            net.winners = {buyer_node(model.last.winner)}
        net.caption = f"item to {', '.join(sorted(net.winners)) or 'nobody'}"
        add_messages(net, model.last.messages, agent_nodes(model))
        return net

    def series(self, model: MarketModel) -> pd.DataFrame:
        df = model.datacollector.get_model_vars_dataframe()
        if df.empty:
            return pd.DataFrame(columns=SERIES, dtype=float)
        df = df[list(SERIES)].astype(float)
        df.index = pd.RangeIndex(1, len(df) + 1, name="round")
        return df

    def reference(self, model: MarketModel) -> Reference:
        specs = tuple(b.spec for b in model.distributions)
        return _reference(self.protocol, specs)

    def price_plane(self, model: MarketModel) -> PricePlane | None:
        if self.protocol == "seller-first":
            return None
        return _price_plane(tuple(b.spec for b in model.distributions))


def snap(levels: np.ndarray, price: float) -> int:
    """The index of the grid price nearest ``price`` (the lower one on a tie)."""
    return int(np.argmin(np.abs(np.asarray(levels) - price)))


def grid_learning_model(controls) -> MarketModel:
    """Simultaneous play by :class:`~agora.agents.learning.Learning` agents on the market's price grid.

    The grid: ``points`` (default :data:`LEARNING_POINTS`) linear prices on [0, upper]
    (:class:`~agora.market.learning.selection.Market`;
    upper is the top of the values' support, or where a sale has chance 1e-9). Both sides learn by
    the chosen rule with the rate mapped by :func:`~agora.agents.adjustment.grid_rule`, from the start
    prices snapped to the grid; the agents and the model are seeded by ``SeedSequence(seed)``, and
    the model draws the values itself, for as many rounds as it is stepped.
    """
    c = controls
    market = learning_market(c)
    _, mg = market.discretized()
    start = (snap(mg.row_actions, c.seller_price), snap(mg.col_actions, c.intermediary_price))
    rule = grid_rule(c.rule, c.rate)
    return learning_model(market, rule, rule, start, None, np.random.SeedSequence(c.seed))


def learning_market(controls) -> Market:
    """The market grid learners play: the buyers' laws and ``points`` (default :data:`LEARNING_POINTS`)
    linear prices per side."""
    return Market("dashboard", controls.specs, points=controls.points or LEARNING_POINTS)


class GridLearningView(TimingView):
    """The simultaneous pricing game played by grid learners only (equilibrium selection, Section 5):
    the runner's ``learning`` kind, best response included as best response with inertia 1 - rate."""

    def build(self, controls) -> MarketModel:
        return grid_learning_model(controls)


def layered_demand(model) -> nx.DiGraph:
    """A copy of a MarketModel's demand graph, each node in its ``layer``: 0 buyers, 1 intermediaries, 2 the seller."""
    g = nx.DiGraph(model.demand)
    for v, kind in g.nodes(data="kind"):
        g.nodes[v]["layer"] = {"buyer": 0, "intermediary": 1, "seller": 2}[kind]
    return g


def agent_nodes(model) -> dict[int, str]:
    """Graph node of every agent of a MarketModel, by unique_id."""
    node = {b.unique_id: buyer_node(b.index) for b in model.buyers}
    node |= {m.unique_id: intermediary_node(m.index) for m in model.intermediaries}
    node[model.seller.unique_id] = SELLER
    return node


def add_messages(net: Network, messages, node: dict[int, str], via: dict[str, str] | None = None) -> None:
    """Put each message on the edge it travels: sender -> recipient, or (ALL) to the sender's neighbours
    on the side it addresses; ``via`` reroutes a sender's messages through another node."""
    g = net.graph
    for message in messages:
        sender = node[message.sender]
        if message.recipient == ALL:
            recipients = list(g.predecessors(sender))
        else:
            recipients = [node[message.recipient]]
        if via and sender in via:
            recipients = [via[sender]]
        for recipient in recipients:
            net.messages[(sender, recipient)].append(_short(message))


@lru_cache(maxsize=32)
def stackelberg_commitment(specs: tuple[str, ...]) -> CommitmentOptimum:
    """The intermediary's best posted price for the right against a best-responding seller (Section 4).

    Solved once per market (bilevel, :func:`~agora.market.single_item.intermediary_first.best_commitment`);
    the model's intermediary and the reference lines share it.
    """
    return best_commitment(tuple(parse_spec(s) for s in specs), PostedRightPrice)


@lru_cache(maxsize=32)
def _reference(protocol: str, specs: tuple[str, ...]) -> Reference:
    """The solver's values: Stackelberg (Sections 3, 4) or the pure equilibrium set (Section 5)."""
    if protocol == "seller-first":
        s = solve_seller_first(specs)
        values = {"seller_revenue": s.seller_revenue, "intermediary_revenue": s.intermediary_revenue,
                  "welfare": s.welfare, "seller_price": s.seller_price}
        return Reference({k: (v, v) for k, v in values.items()}, f"seller-first Stackelberg: {s.method}")
    if protocol == "intermediary-first":
        best = stackelberg_commitment(specs)
        o = best.outcome
        values = {"seller_revenue": o.seller_revenue, "intermediary_revenue": o.intermediary_revenue,
                  "welfare": o.welfare, "seller_price": o.seller_price,
                  "intermediary_price": best.commitment.parameter}
        return Reference({k: (v, v) for k, v in values.items()},
                         f"intermediary-first Stackelberg (posted price for the right): {best.method}")
    return _equilibrium_reference(specs)


def _equilibrium_reference(specs: tuple[str, ...]) -> Reference:
    """Bands spanning every verified pure equilibrium (one line when there is one)."""
    eq, _, method = pricing_equilibria(specs)
    if not len(eq):
        return Reference({}, f"no trading pure equilibrium found: {method}")
    game = PricingGame(specs)
    picked = eq if len(eq) <= 25 else eq[np.linspace(0, len(eq) - 1, 25).astype(int)]
    welfare = [evaluate_right_auction(game.bidders, PostedRightPrice(pi), ps).welfare for ps, pi in picked]
    us, ui = game.payoffs(eq[:, 0], eq[:, 1])
    columns = {"seller_price": eq[:, 0], "intermediary_price": eq[:, 1], "seller_revenue": us,
               "intermediary_revenue": ui, "welfare": np.array(welfare)}
    return Reference({k: (float(v.min()), float(v.max())) for k, v in columns.items()}, method)


@lru_cache(maxsize=32)
def _grid(specs: tuple[str, ...]):
    game = PricingGame(specs)
    grid, A, B = grid_game(game, PLANE_POINTS)
    return game, grid, grid[np.argmax(A, axis=0)], grid[np.argmax(B, axis=1)]


@lru_cache(maxsize=32)
def pricing_equilibria(specs: tuple[str, ...]) -> tuple[np.ndarray, dict | None, str]:
    """Verified pure equilibria (rows: seller price, intermediary price), any continuum, and the method.

    :func:`~agora.market.single_item.simultaneous.pure_equilibria` on the plane's grid: the grid's
    mutual best responses (continua such as Theorem 5.1's show up here), refined off the grid
    and verified against any deviation.
    """
    game, _, _, _ = _grid(specs)
    found = pure_equilibria(game, points=PLANE_POINTS)
    rows = [(e.seller_price, e.intermediary_price) for e in found.equilibria]
    return np.array(sorted(set(rows))).reshape(-1, 2), found.continuum, f"{found.method} on a {PLANE_POINTS}-point grid"


def _price_plane(specs: tuple[str, ...]) -> PricePlane:
    """Grid best responses of both sides (argmax of each payoff column/row) and the verified equilibria."""
    _, grid, seller_best, intermediary_best = _grid(specs)
    eq, continuum, method = pricing_equilibria(specs)
    return PricePlane(grid, seller_best, intermediary_best, eq, continuum,
                      f"best responses on a {PLANE_POINTS}-point grid; equilibria: {method}")


GRID_CONTROLS = ("rate", "seller_price", "intermediary_price", "points")  # both sides move, maybe on a grid
register(TimingView("seller-first", "Seller first (monopolist-intermediary, Section 3)", ("rate", "seller_price")))
register(TimingView("intermediary-first", "Intermediary first (monopolist-intermediary, Section 4)",
                    ("rate", "intermediary_price")))
register(TimingView("simultaneous", "Simultaneous prices (monopolist-intermediary, Section 5)", GRID_CONTROLS,
                    LEARNING_RULES + GRID_RULES))
register(GridLearningView("learning", "Learning on a price grid (monopolist-intermediary, Section 5)",
                          GRID_CONTROLS, ("best-response",) + GRID_RULES))

from agora.experiments.dashboard import (  # noqa: E402, F401  (they register themselves)
    adaptive_view,
    k_auction_view,
    posted_fees_view,
    posted_menu_view,
    qlearning_fees_view,
    qlearning_view,
    robust_view,
    veto_view,
)
