"""Learning rules that wrap a strategy: how fast a price follows what the strategy recommends.

The dashboard and dynamics experiments pick a rule by name (:data:`LEARNING_RULES`)
and a rate in (0, 1]:

* ``"best-response"``: partial adjustment towards the agent's best response,
  p_t = p_{t-1} + rate (b_t - p_{t-1}) with p_{-1} the start price and b_t what
  the wrapped strategy chooses in round t (Stackelberg price, best commitment, or
  the best response to the other side's last price). ``rate = 1`` is the wrapped
  strategy itself.
* ``"fixed-price"``: post the start price every round (:class:`~agora.agents.strategies.FixedPrice`).

Learning over a price grid (:mod:`agora.market.learning.rules`, played by :mod:`agora.agents.learning`)
takes the same rate, mapped to each rule's own parameter by :func:`grid_rule`
(payoffs are scaled so the best is 1, :func:`agora.market.learning.rules.scaled`):

* ``"best-response"``: best-response dynamics with inertia 1 - rate (revise with probability rate);
* ``"hedge"``: Hedge with eta = :data:`HEDGE_ETA` x rate;
* ``"fictitious-play"``: smoothed (logit) fictitious play with temperature :data:`FP_TEMPERATURE` / rate;
* ``"regret-matching"``: regret matching that revises with probability rate (inertia 1 - rate);
* ``"demand-learning"``: demand learning with inertia 1 - rate (explore :data:`EXPLORE`).
"""

from __future__ import annotations

import math
from dataclasses import fields, is_dataclass

from agora.agents.strategies import FixedPrice
from agora.market.errors import InputError
from agora.market.learning.rules import BestResponse, DemandLearning, FictitiousPlay, Hedge, RegretMatching, WithInertia
from agora.market.single_item.right_auctions import PostedRightPrice
from agora.market.single_item.seller_mechanisms import PostedPrice

LEARNING_RULES = ("best-response", "fixed-price")
GRID_RULES = ("hedge", "fictitious-play", "regret-matching", "demand-learning")
HEDGE_ETA = 10.0  # rate 0.5: eta 5, the equilibrium-selection report's Hedge
FP_TEMPERATURE = 0.01  # rate 1: temperature 0.01, the report's smoothed fictitious play
EXPLORE = 0.05


def posted_price_of(choice) -> float:
    """The price a strategy's choice posts: a number, a posted price, or a posted price for the right."""
    if isinstance(choice, (int, float)) and not isinstance(choice, bool):
        return float(choice)
    if isinstance(choice, PostedPrice):
        return choice.price
    if isinstance(choice, PostedRightPrice):
        return choice.parameter
    raise InputError(f"partial adjustment needs a posted price to follow, got {choice!r}")


def check_rate(rate: float) -> float:
    if not (isinstance(rate, (int, float)) and 0.0 < rate <= 1.0):
        raise InputError(f"a learning rate must be a number in (0, 1], got {rate!r}")
    return float(rate)


class PartialAdjustment:
    """Move the posted price a fraction ``rate`` of the way to what ``target`` recommends, every round."""

    def __init__(self, target, rate: float = 1.0, start: float = 0.0):
        self.target = target
        self.rate = check_rate(rate)
        if not 0.0 <= start < math.inf:
            raise InputError(f"a start price must be >= 0, got {start}")
        self.price = float(start)

    def choose(self, agent) -> float:
        goal = posted_price_of(self.target.choose(agent))
        self.price = goal if self.rate == 1.0 else self.price + self.rate * (goal - self.price)
        return self.price


def learning_strategy(rule: str, best, rate: float, start: float):
    """The strategy for ``rule``: ``best`` (a strategy) followed at ``rate``, or ``start`` fixed."""
    if rule == "best-response":
        return PartialAdjustment(best, rate, start)
    if rule == "fixed-price":
        check_rate(rate)
        if not 0.0 <= start < math.inf:
            raise InputError(f"a fixed price must be >= 0, got {start}")
        return FixedPrice(float(start))
    raise InputError(f"unknown learning rule {rule!r}; accepted: {', '.join(LEARNING_RULES)}")


def grid_rule(rule: str, rate: float):
    """The :mod:`agora.market.learning.rules` rule named ``rule`` with ``rate`` in (0, 1] as its parameter
    (module doc)."""
    rate = check_rate(rate)
    if rule == "best-response":
        return BestResponse(inertia=1.0 - rate)
    if rule == "hedge":
        return Hedge(eta=HEDGE_ETA * rate)
    if rule == "fictitious-play":
        return FictitiousPlay(temperature=FP_TEMPERATURE / rate)
    if rule == "regret-matching":
        return WithInertia(RegretMatching(), inertia=1.0 - rate)
    if rule == "demand-learning":
        return DemandLearning(explore=EXPLORE, inertia=1.0 - rate)
    raise InputError(f"unknown grid learning rule {rule!r}; accepted: best-response, {', '.join(GRID_RULES)}")


def _rate_candidate(rule) -> tuple[str, float]:
    """The name :func:`grid_rule` knows ``rule`` by, and the rate its parameter maps back to."""
    if isinstance(rule, WithInertia) and isinstance(rule.rule, RegretMatching):
        return "regret-matching", 1.0 - rule.inertia
    if isinstance(rule, RegretMatching):  # no inertia: what rate 1 plays (WithInertia at 0 never draws)
        return "regret-matching", 1.0
    if isinstance(rule, BestResponse):
        return "best-response", 1.0 - rule.inertia
    if isinstance(rule, Hedge):
        return "hedge", rule.eta / HEDGE_ETA
    if isinstance(rule, FictitiousPlay):
        return "fictitious-play", FP_TEMPERATURE / rule.temperature if rule.temperature > 0 else math.inf
    if isinstance(rule, DemandLearning):
        return "demand-learning", 1.0 - rule.inertia
    raise InputError(f"no rate gives the grid rule {rule!r}")


def _same_rule(a, b) -> bool:
    """Equal rules, parameters compared to rounding (1 - (1 - x) need not be x)."""
    a, b = (r.rule if isinstance(r, WithInertia) and r.inertia == 0.0 else r for r in (a, b))
    if type(a) is not type(b):
        return False
    if not is_dataclass(a):
        return a == b
    for f in fields(a):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if isinstance(x, float) or isinstance(y, float):
            if not math.isclose(x, y, rel_tol=1e-12, abs_tol=1e-15):
                return False
        elif not _same_rule(x, y):
            return False
    return True


def rate_of(rule) -> tuple[str, float]:
    """The (name, rate) that :func:`grid_rule` maps to ``rule`` (a :mod:`agora.market.learning.rules` rule),
    or an InputError saying which parameters the rate cannot reach (the other parameters at their defaults)."""
    name, rate = _rate_candidate(rule)
    if 0.0 < rate <= 1.0 + 1e-12 and _same_rule(grid_rule(name, min(rate, 1.0)), rule):
        return name, min(rate, 1.0)
    raise InputError(f"{rule.label} is not a rule a learning rate gives; accepted: best-response with "
                     f"inertia < 1, hedge with eta <= {HEDGE_ETA:g}, fictitious-play with temperature >= "
                     f"{FP_TEMPERATURE:g}, regret-matching, demand-learning with explore {EXPLORE:g}, each "
                     "with its other parameters at their defaults")
