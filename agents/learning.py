"""Learning rules as agents' strategies in the simultaneous market (monopolist-intermediary, Section 5).

:class:`Learning` lets a seller or an intermediary agent post prices from a grid by a
rule of :mod:`agora.market.learning.rules`. Before each round after the first it observes, from
the model's last :class:`~agora.protocols.base.RoundOutcome`, what the protocol made public:
both posted prices and whether the item sold. Seeded as in :mod:`agora.market.learning.dynamics`, the
agents post the same prices, round for round, as the array dynamics of
:func:`agora.market.learning.selection.play_market` on the same values.

:class:`KLearning` does the same for the seller and the two intermediaries of the k-item
market of :mod:`agora.market.learning.k_selection`, under the :class:`~agora.protocols.posted_fees.PostedFees`
protocol (:func:`agora.models.learning_models.k_learning_model`): each observes the posted price and both fees.

:class:`QLearning` lets the seller and the intermediary of the simultaneous market learn by tabular
Q-learning (Calvano et al. 2020), one :class:`QSession` shared by the two: on the session's seed they
post the prices, period for period, of that session of :func:`agora.market.learning.qlearning.q_learning`.
With a :class:`FeeQSession` the same strategies post the seller's price per item and the intermediary's
fee in the k-item posted-fees market (:mod:`agora.market.learning.fee_game`; the kind ``q-learning-fees``).
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np

from agora.market.distributions import parse_spec
from agora.market.errors import InputError
from agora.market.learning.fee_game import fee_game
from agora.market.learning.k_selection import KItemMarket
from agora.market.learning.qlearning import BLOCK, SIDES, check_parameters
from agora.market.learning.selection import Market
from agora.market.single_item.simultaneous import PricingGame, grid_game
from agora.protocols.posted_fees import PostedFees


class Learning:
    """Post prices from ``market``'s grid by ``rule``, from the start pair ``start`` (grid indices).

    Both sides of one run take the same ``seq``; each uses its own child of it.
    """

    def __init__(self, rule, market: Market, start: tuple[int, int], seq: np.random.SeedSequence):
        self.rule, self.market, self.start, self.seq = rule, market, tuple(start), seq
        self.learner = None
        self._index: dict[float, int] = {}

    def _begin(self, agent, seller: bool) -> None:
        specs = tuple(b.spec for b in agent.model.distributions)
        game, mg = self.market.discretized()
        if specs != game.specs:
            raise InputError(f"this learning strategy was built for bidders {game.specs}, "
                             f"but the model has {specs}")
        self.learner = self.rule.start(mg.seats(self.start, self.seq)[0 if seller else 1])
        self._index = {float(p): k for k, p in enumerate(mg.row_actions)}

    def choose(self, agent) -> float:
        seller = agent is agent.model.seller
        if self.learner is None:
            self._begin(agent, seller)
        else:
            last = agent.model.last
            own, other = ((last.seller_price, last.intermediary_price) if seller
                          else (last.intermediary_price, last.seller_price))
            self.learner.observe(self._index[own], self._index[other], bool(last.sale))
        return float(self.learner.seat.own_prices[self.learner.act()])


class KLearning:
    """Post the price (``player`` 0, the seller) or fee (1, 2: the intermediaries) of a k-item market's
    grid by ``rule``, from the start profile ``start``; every player of one run takes the same ``seq``."""

    def __init__(self, rule, market: KItemMarket, start: tuple[int, int, int], player: int,
                 seq: np.random.SeedSequence):
        self.rule, self.market, self.start, self.player, self.seq = rule, market, tuple(start), player, seq
        self.learner = None
        game = market.game()
        self._index = [{float(p): k for k, p in enumerate(a)} for a in game.actions]
        self._strides = [int(w) for w in game.strides(player)]

    def choose(self, agent) -> float:
        if self.learner is None:
            self.learner = self.rule.start(self.market.game().seats(self.start, self.seq)[self.player])
        else:
            last = agent.model.last
            profile = [self._index[i][p] for i, p in enumerate((last.seller_price, *last.fees))]
            other = sum(w * a for w, a in zip(self._strides, profile))
            self.learner.observe(profile[self.player], other, bool(last.delivered))
        return float(self.learner.seat.own_prices[self.learner.act()])


class GridQSession(ABC):
    """What the seller's and the intermediary's :class:`QLearning` strategies share in one session of
    :func:`~agora.market.learning.qlearning.q_learning` on a grid game: the prices ``grid`` (both sides
    post from it), the seller's payoffs ``A`` (rows) and the intermediary's ``B`` (columns).

    The session's Philox generator on ``seed``, period t taking its uniforms 4t .. 4t + 3 (the
    seller's and the intermediary's exploration tests, then their uniform actions; drawn BLOCK
    periods at a time); the state,
    the last ``memory`` pairs of posted prices (grid indices, the seller's first, the oldest pair
    most significant); and the convergence criterion: learning stops once neither side's greedy
    strategy changed for ``window`` periods, or after ``periods``. Then both play greedily.

    Each round's learning happens when the first of the two strategies is asked for a price: both
    sides update their own Q-tables with the last round's public prices, then both act; a session
    serves one model, round by round from its first. A side's reward is its expected profit at the
    posted pair (the grid game's payoff, which q_learning learns from), not the round's realized sale.
    A subclass says which markets it fits (:meth:`check_model`) and what the two sides posted (:meth:`posted`).
    """

    def __init__(self, grid: np.ndarray, A: np.ndarray, B: np.ndarray, seed: np.random.SeedSequence,
                 alpha: float = 0.15, beta: float = 4e-6, delta: float = 0.95, memory: int = 1,
                 periods: int = 1_000_000, window: int = 100_000):
        check_parameters(alpha, beta, delta, memory, periods, window)
        self.grid, self.A, self.B = grid, A, B
        points = len(grid)
        self.alpha, self.beta, self.delta, self.periods, self.window = alpha, beta, delta, periods, window
        self.states = (points * points) ** memory
        self.tables = {"seller": QTable(self.A, self.A.mean(axis=1) / (1 - delta), self.states),
                       "intermediary": QTable(self.B.T, self.B.mean(axis=0) / (1 - delta), self.states)}
        self._index = {float(p): k for k, p in enumerate(self.grid)}
        self._rng = np.random.Generator(np.random.Philox(seed))
        self.state, self.stable, self.round = 0, 0, -1
        self.converged, self.learning = False, False  # learning: in the current round
        self.learned = 0  # periods of learning so far (q_learning's ``periods`` once it has stopped)
        self._actions: dict[str, int] = {}
        self._model, self._block = None, None

    @abstractmethod
    def check_model(self, model) -> None:
        """InputError (one line) if ``model`` is not the market of this session's grid game."""

    @abstractmethod
    def posted(self, last) -> tuple[float, float]:
        """The seller's and the intermediary's prices in the round outcome ``last``."""

    def action(self, model, side: str) -> int:
        """``side``'s grid index in the model's current round."""
        if model is not self._model:
            self._attach(model)
        if model.round != self.round:
            self._advance(model)
        return self._actions[side]

    def _attach(self, model) -> None:
        self.check_model(model)
        if self._model is not None or model.round != 0:
            raise InputError("a Q-learning session plays one model from its first round; "
                             "build a new session for another model")
        self._model = model

    def _advance(self, model) -> None:
        if model.last is not None:
            a, b = (self._index[p] for p in self.posted(model.last))
            joint = len(self.grid) ** 2
            nxt = (self.state * joint + a * len(self.grid) + b) % self.states
            if self.learning:
                changed = [self.tables["seller"].learn(self.state, a, b, nxt, self.alpha, self.delta),
                           self.tables["intermediary"].learn(self.state, b, a, nxt, self.alpha, self.delta)]
                self.stable = 0 if any(changed) else self.stable + 1
                self.learned = model.round
                self.converged = self.stable >= self.window
            self.state = nxt
        self.round = model.round
        self.learning = not self.converged and self.round < self.periods
        if self.learning and self.round % BLOCK == 0:
            self._block = self._rng.random((BLOCK, 4))
        u = self._block[self.round % BLOCK] if self.learning else None
        explore = np.exp(-self.beta * self.round)
        self._actions = {side: self.tables[side].act(self.state, u is not None and u[k] < explore,
                                                     None if u is None else u[k + 2])
                         for k, side in enumerate(SIDES)}


class QSession(GridQSession):
    """A :class:`GridQSession` on the ``points``-price grid game of ``bidders`` in the simultaneous
    market (monopolist-intermediary, Section 5): both post prices."""

    def __init__(self, bidders, points: int, seed: np.random.SeedSequence, **learning):
        self.game = PricingGame(bidders)
        super().__init__(*grid_game(self.game, points), seed, **learning)

    def check_model(self, model) -> None:
        specs = tuple(b.spec for b in model.distributions)
        if specs != self.game.specs:
            raise InputError(f"this Q-learning session was built for bidders {self.game.specs}, "
                             f"but the model has {specs}")

    def posted(self, last) -> tuple[float, float]:
        return last.seller_price, last.intermediary_price


class FeeQSession(GridQSession):
    """A :class:`GridQSession` on the posted-fees game of :func:`~agora.market.learning.fee_game.fee_game`
    (the kind ``q-learning-fees``): ``items`` items, ``buyers`` buyers with values from ``distribution``, all
    one intermediary's, the seller's price per item and the intermediary's fee on one ``points``-price grid
    up to ``upper`` (default: the support's top), under :class:`~agora.protocols.posted_fees.PostedFees`."""

    def __init__(self, distribution: str, buyers: int, items: int, points: int, seed: np.random.SeedSequence,
                 upper: float | None = None, **learning):
        self.distribution, self.buyers, self.items = distribution, buyers, items
        super().__init__(*fee_game(distribution, buyers, items, points, upper), seed, **learning)

    def check_model(self, model) -> None:
        specs = tuple(b.spec for b in model.distributions)
        want = (parse_spec(self.distribution).spec,) * self.buyers
        protocol = model.protocol
        k = protocol.k if isinstance(protocol, PostedFees) else None
        if (specs, k, len(model.intermediaries)) != (want, self.items, 1):
            raise InputError(f"this Q-learning session was built for {self.buyers} buyers of {self.distribution} "
                             f"and {self.items} items under posted fees with one intermediary, but the model has "
                             f"bidders {specs}, protocol {getattr(protocol, 'name', protocol)} (k = {k}) and "
                             f"{len(model.intermediaries)} intermediaries")

    def posted(self, last) -> tuple[float, float]:
        return last.seller_price, last.fees[0]


class QTable:
    """One side's Q-table (state, own action), started at ``first`` in every state; ``payoff`` is own
    actions x the other's. Greedy: the first action of largest Q-value (numpy's argmax)."""

    def __init__(self, payoff: np.ndarray, first: np.ndarray, states: int):
        self.payoff = payoff
        self.q = np.tile(first, (states, 1))

    def act(self, state: int, explore: bool, u: float | None) -> int:
        """A uniform action (``u`` times the number of actions, rounded down) if exploring, else greedy."""
        return int(u * self.q.shape[1]) if explore else int(self.q[state].argmax())

    def learn(self, state: int, own: int, other: int, nxt: int, alpha: float, delta: float) -> bool:
        """Q(s, a) <- Q(s, a) + alpha (payoff + delta max Q(s', .) - Q(s, a)); whether the greedy action
        in ``state`` changed."""
        before = self.q[state].argmax()
        target = self.payoff[own, other] + delta * self.q[nxt].max()
        self.q[state, own] += alpha * (target - self.q[state, own])
        return bool(self.q[state].argmax() != before)


class QLearning:
    """Post ``side``'s ("seller" or "intermediary") price, or the intermediary's fee under posted fees, by the
    Q-learning of ``session``."""

    def __init__(self, session: GridQSession, side: str):
        if side not in SIDES:
            raise InputError(f"side must be seller or intermediary, got {side!r}")
        self.session, self.side = session, side

    def choose(self, agent) -> float:
        return float(self.session.grid[self.session.action(agent.model, self.side)])
