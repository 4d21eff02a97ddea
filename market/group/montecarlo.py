"""Vectorized Monte Carlo of a collective mechanism (the second evaluator for groups).

Draws every round's type profile at once, applies the mechanism's ex-post rules
and returns per-quantity means with standard errors: the seller's profit
``m - c x``, trade, the transfer and each member's payoff ``theta_i x - m``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from agora.market.errors import InputError
from agora.market.group.mechanisms import CollectiveMechanism


@dataclass(frozen=True)
class GroupEstimate:
    rounds: int
    mean: dict
    stderr: dict


def group_rounds(mech: CollectiveMechanism, theta: np.ndarray) -> dict[str, np.ndarray]:
    """Each profile's (row of ``theta``) seller profit ``m - c x``, trade ``x``, transfer ``m`` and
    member i's payoff ``theta_i x - m`` (``utility_i``, 0-based), by the mechanism's ex-post rules."""
    x = mech.allocation(theta)
    m = mech.transfer(theta)
    series = {"profit": m - mech.cost * x, "trade": x, "transfer": m}
    for i in range(theta.shape[1]):
        series[f"utility_{i}"] = theta[:, i] * x - m
    return series


def draw_types(mech: CollectiveMechanism, rounds: int, rng: np.random.Generator) -> np.ndarray:
    """``rounds`` independent type profiles (one column per member)."""
    return np.column_stack([d.rvs(rounds, rng) for d in mech.members])


def simulate_group(mech: CollectiveMechanism, rounds: int, rng: np.random.Generator,
                   types: np.ndarray | None = None) -> GroupEstimate:
    """Means and standard errors over ``rounds`` independent profiles (or the given ``types``)."""
    if rounds < 2:
        raise InputError(f"Monte Carlo needs at least 2 rounds, got {rounds}")
    theta = types if types is not None else draw_types(mech, rounds, rng)
    series = group_rounds(mech, theta)
    n = theta.shape[0]
    return GroupEstimate(n, {k: float(v.mean()) for k, v in series.items()},
                         {k: float(v.std(ddof=1) / math.sqrt(n)) for k, v in series.items()})
