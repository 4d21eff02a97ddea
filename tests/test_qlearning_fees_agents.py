"""Q-learning seller and intermediary as Mesa agents in the k-item posted-fees market: on a session's seed, the
agent-based market (PostedFees rounds, the seller's price per item and the intermediary's fee posted by
``QLearning`` strategies on a ``FeeQSession``) posts the prices and fees of the compiled vectorized session of
``q_learning`` on ``fee_game``, period for period, ends with the same Q-tables, and then plays the converged
prices the ``q-learning-fees`` kind reports for that session."""

import numpy as np
import pytest

from agora.agents.learning import FeeQSession, QLearning
from agora.experiments.markets.qlearning import MARKETS
from agora.market.errors import InputError
from agora.market.learning.fee_game import fee_game
from agora.market.learning.qlearning import q_learning, session_seeds
from agora.models.learning_models import q_learning_fees_model
from agora.models.market_model import MarketModel
from agora.protocols.posted_fees import PostedFees
from tests.qlearning_checks import agents_replay_the_session

AFTER = 12  # rounds of greedy play checked once learning has stopped


def _played(model, grid: np.ndarray) -> np.ndarray:
    """(round, 2): the grid indices of the seller's price and the intermediary's fee in every round."""
    rounds = model.rounds()
    index = {float(p): k for k, p in enumerate(grid)}
    return np.array([(index[p], index[f[0]]) for p, f in zip(rounds.seller_price, rounds.fees)])


MARKETS_ = [  # law, buyers, items, points, memory, seed, learning, converged
    ("uniform:0,1", 3, 2, 6, 1, 1, dict(alpha=0.3, beta=2e-3, delta=0.9, periods=5_000, window=500), True),
    ("beta:2,3,0,2", 4, 1, 6, 2, 0, dict(alpha=0.3, beta=1e-3, delta=0.95, periods=3_000, window=1_000), False),
]


@pytest.mark.parametrize("law, buyers, items, points, memory, seed, kw, converged", MARKETS_)
def test_agents_post_the_prices_and_fees_of_the_vectorized_session(law, buyers, items, points, memory, seed, kw,
                                                                   converged):
    """Learning periods: the same price and fee in every period, the same Q-tables to the last bit, the same
    stop; after it, the greedy path of impulse_response without a cut from the state learning ended in. The
    second of the kind's sessions (run by the runner's ``q-learning-fees`` on the same seed): its reported
    converged price and fee (the first joint action of the limit cycle of greedy play) are posted by the agents
    once learning has stopped."""
    one = session_seeds(seed, 3)[1]
    grid, A, B = fee_game(law, buyers, items, points)
    res = q_learning(A, B, [one], memory=memory, record=True, **kw)
    assert bool(res.converged[0]) is converged
    stop = int(res.periods[0])
    session = FeeQSession(law, buyers, items, points, one, memory=memory, **kw)
    model = q_learning_fees_model(session, rng=1)
    for _ in range(stop + AFTER):
        model.step()
    path = _played(model, grid)
    assert len(np.unique(path[:stop], axis=0)) > points  # learning explored: not a constant path
    agents_replay_the_session(path, res, session, converged, points, memory)
    params = {"distribution": law, "buyers": buyers, "items": items, "upper": None, "points": points,
              "memory": memory, **kw, "impulse": "none", "deviator": "seller", "impulse_periods": 10}
    out = MARKETS["q-learning-fees"].run(params, 3, np.random.default_rng(seed))
    kind = (float(out.steps["seller_price"][1]), float(out.steps["intermediary_price"][1]))
    assert kind in {(float(grid[a]), float(grid[b])) for a, b in path[stop:]}


def test_agents_are_paid_by_the_posted_fees_round():
    """The agents' prices go through PostedFees: each round the seller earns its price per item served and the
    intermediary its fee per item, at most ``items`` served, to buyers whose value reaches price + fee."""
    session = FeeQSession("uniform:0,1", 3, 2, 6, session_seeds(5, 1)[0], periods=200, window=50)
    model = q_learning_fees_model(session, rng=2)
    for _ in range(200):
        model.step()
    rounds = model.rounds()
    fee = np.array([f[0] for f in rounds.fees])
    units = np.array([u[0] for u in rounds.units])
    assert np.array_equal(rounds.seller_revenue, rounds.seller_price * units)
    assert np.array_equal(rounds.intermediary_revenue, fee * units)
    assert units.max() <= 2 and units.min() == 0 and units.max() > 0


def test_bad_use_refused():
    seed = session_seeds(0, 1)[0]
    with pytest.raises(InputError, match="alpha"):
        FeeQSession("uniform:0,1", 3, 2, 5, seed, alpha=0.0)
    session = FeeQSession("uniform:0,1", 3, 2, 5, seed, periods=100, window=10)
    for other in (MarketModel(["uniform:0,1"] * 3, protocol=PostedFees(1), seller=QLearning(session, "seller"),
                              intermediary=QLearning(session, "intermediary")),
                  MarketModel(["uniform:0,1"] * 3, protocol="simultaneous", seller=QLearning(session, "seller"),
                              intermediary=QLearning(session, "intermediary"))):
        with pytest.raises(InputError, match="built for 3 buyers of uniform:0,1 and 2 items"):
            other.step()
    model = q_learning_fees_model(session)
    model.step()
    with pytest.raises(InputError, match="one model from its first round"):
        q_learning_fees_model(session).step()
