"""Q-learning seller and intermediary as Mesa agents: on a session's seed, the agent-based simultaneous
market (per-side Q-tables in numpy, the model's rounds) posts the prices of the compiled vectorized
session of ``q_learning``, period for period, and ends with the same Q-tables."""

import numpy as np
import pytest

from agora.agents.learning import QLearning, QSession
from agora.market.errors import InputError
from agora.market.learning.qlearning import q_learning, session_seeds
from agora.market.single_item.simultaneous import PricingGame, grid_game
from agora.models.learning_models import q_learning_model
from agora.models.market_model import MarketModel
from tests.qlearning_checks import agents_replay_the_session

BIDDERS = ("uniform:0,1", "uniform:0,2")
AFTER = 12  # rounds of greedy play checked once learning has stopped


@pytest.mark.parametrize("points, memory, seed, kw, converged", [
    (7, 1, session_seeds(3, 3)[1], dict(alpha=0.3, beta=2e-3, delta=0.9, periods=5_000, window=500), True),
    (5, 2, session_seeds(4, 3)[1], dict(alpha=0.3, beta=1e-3, delta=0.95, periods=3_000, window=1_000), False),
])
def test_agents_post_the_prices_of_the_vectorized_session(points, memory, seed, kw, converged):
    """Learning periods: the same actions in every period and the same Q-tables to the last bit, and the
    same stop (converged at the same period, or stopped at ``periods``). After it both agents play
    greedily: the path of impulse_response without a cut from the state learning ended in."""
    grid, A, B = grid_game(PricingGame(BIDDERS), points)
    res = q_learning(A, B, [seed], memory=memory, record=True, **kw)
    assert bool(res.converged[0]) is converged
    stop = int(res.periods[0])
    session = QSession(BIDDERS, points, seed, memory=memory, **kw)
    model = q_learning_model(session, rng=1)
    for _ in range(stop + AFTER):
        model.step()
    posted = model.rounds()[["seller_price", "intermediary_price"]].to_numpy()
    index = {float(p): k for k, p in enumerate(grid)}
    path = np.vectorize(index.__getitem__)(posted)
    agents_replay_the_session(path, res, session, converged, points, memory)


def test_bad_use_refused():
    seed = session_seeds(0, 1)[0]
    with pytest.raises(InputError, match="alpha"):
        QSession(BIDDERS, 5, seed, alpha=0.0)
    session = QSession(BIDDERS, 5, seed, periods=100, window=10)
    with pytest.raises(InputError, match="side must be seller or intermediary"):
        QLearning(session, "buyer")
    other = MarketModel(["uniform:0,1"], protocol="simultaneous", seller=QLearning(session, "seller"),
                        intermediary=QLearning(session, "intermediary"))
    with pytest.raises(InputError, match="built for bidders"):
        other.step()
    model = q_learning_model(session)
    model.step()
    with pytest.raises(InputError, match="one model from its first round"):
        q_learning_model(session).step()
