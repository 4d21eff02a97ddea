"""Robustness sweep: a k-item mechanism on every demand structure of n buyers (Bell(n) of them).

With i.i.d. buyers, what a mechanism earns on a partition depends only on the multiset
of its block sizes (buyers are exchangeable), so each multiset is solved once -- exactly
for the posted price (:func:`~agora.market.k_items.solver.evaluate_posted`), by vectorized Monte
Carlo for the auction -- and the result is reported for every partition with that shape.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from agora.market.demand import Partition, all_partitions, bell_number, canonical, partition_text
from agora.market.distributions import ValueDistribution, parse_spec
from agora.market.errors import InputError
from agora.market.k_items.mechanisms import ItemMenu, UniformPriceAuction, guarantee, ipm_price
from agora.market.k_items.montecarlo import simulate_auction, simulate_menu
from agora.market.k_items.solver import block_sizes, evaluate_posted
from agora.market.k_items.utility import utility_model

MECHANISMS = ("posted", "auction")


def _shape_partition(sizes: tuple[int, ...]) -> list[list[int]]:
    """A partition with the given block sizes (buyers numbered block by block)."""
    out, start = [], 0
    for b in sizes:
        out.append(list(range(start, start + b)))
        start += b
    return out


def solve_shapes(dist: ValueDistribution, k: int, shapes: Iterable[tuple[int, ...]], mechanism: str,
                 model, price: float | None = None, rounds: int = 4000, seed: int = 0) -> dict:
    """Outcome per block-size multiset: {sizes: (revenue, stderr, realized welfare)}.

    Exact for the posted price with a linear model; vectorized Monte Carlo (``rounds`` rounds
    per shape, seeds spawned from ``seed``) for the auction and for other utility models.
    """
    model = utility_model(model, dist)
    out = {}
    if mechanism == "posted" and getattr(model, "linear", False):
        for s in shapes:
            o = evaluate_posted(dist, s, k, price, model)
            out[s] = (o.revenue, 0.0, o.realized_welfare)
        return out
    auction = UniformPriceAuction.myerson(dist, k) if mechanism == "auction" else None
    menu = ItemMenu.posted(price, k) if mechanism == "posted" else None
    shapes = sorted(set(shapes))
    seeds = np.random.SeedSequence(seed).spawn(len(shapes))
    for s, ss in zip(shapes, seeds):
        rng = np.random.default_rng(ss)
        est = simulate_auction(dist, _shape_partition(s), auction, model, rounds, rng) if auction else \
            simulate_menu(dist, _shape_partition(s), menu, model, rounds, rng)
        out[s] = (est.mean["revenue"], est.stderr["revenue"], est.mean["welfare"])
    return out


def sample_partitions(n: int, count: int, rng) -> list[Partition]:
    """``count`` partitions of n buyers drawn uniformly from all Bell(n) (Stam's urn algorithm):
    take m urns with probability m^n / (m! e Bell(n)), drop each buyer in a uniform urn,
    keep the nonempty urns."""
    if n < 1 or count < 1:
        raise InputError(f"sampling partitions needs n >= 1 and count >= 1, got n = {n}, count = {count}")
    rng = np.random.default_rng(rng)
    bell = bell_number(n)
    top = 2 * n + 40  # the tail beyond carries less than 1e-12 of the mass
    m = np.arange(1, top + 1)
    logw = n * np.log(m) - np.array([math.lgamma(x + 1) for x in m]) - 1.0 - math.log(bell)
    prob = np.exp(logw)
    prob /= prob.sum()
    out = []
    for urns in rng.choice(m, size=count, p=prob):
        labels = rng.integers(0, urns, n)
        out.append(canonical([np.flatnonzero(labels == u).tolist() for u in np.unique(labels)]))
    return out


def sweep(dist: ValueDistribution | str, n: int, k: int, mechanism: str = "posted",
          models: Sequence[str] = ("surplus", "monopolist"), partitions: Iterable[Partition] | None = None,
          rounds: int = 4000, seed: int = 0) -> pd.DataFrame:
    """One row per demand structure and model: revenue, realized welfare, revenue / Wel(F), the bound.

    ``mechanism`` is ``"posted"`` (the intermediary-proof price p_R, exact) or ``"auction"``
    (the (k+1)-th-price auction with reserve phi^-1(0), intermediaries best-responding;
    Monte Carlo with ``rounds`` rounds per shape). ``partitions`` defaults to all Bell(n) of
    them; :func:`sample_partitions` draws a uniform sample when n is too large. ``models``
    are names or :class:`~agora.market.k_items.utility.UtilityModel` objects.
    """
    if mechanism not in MECHANISMS:
        raise InputError(f"unknown mechanism {mechanism!r}; accepted: {', '.join(MECHANISMS)}")
    dist = parse_spec(dist)
    dist.require_regular("buyer")
    parts = list(partitions) if partitions is not None else list(all_partitions(n))
    sizes = [block_sizes(p) for p in parts]
    shapes = set(sizes)
    price = ipm_price(dist, n, k) if mechanism == "posted" else None
    frames = []
    for name in models:
        model = utility_model(name, dist)
        solved = solve_shapes(dist, k, shapes, mechanism, model, price, rounds, seed)
        tau = model.tau_bound(dist)
        bound = guarantee(dist, n, k, tau if tau is not None else math.nan)
        revenue = np.array([solved[s][0] for s in sizes])
        frames.append(pd.DataFrame({
            "partition": [partition_text(p) for p in parts],
            "intermediaries": [len(p) for p in parts],
            "sizes": ["+".join(map(str, s)) for s in sizes],
            "model": name if isinstance(name, str) else model.describe(), "mechanism": mechanism,
            "revenue": revenue,
            "revenue_stderr": [solved[s][1] for s in sizes],
            "realized_welfare": [solved[s][2] for s in sizes],
            "welfare": bound["welfare"],
            "ratio": revenue / bound["welfare"],
            "guarantee": bound["guarantee"],
        }))
    return pd.concat(frames, ignore_index=True)


def summary(table: pd.DataFrame) -> pd.DataFrame:
    """Worst and best revenue / Wel(F) per model and mechanism, over the structures swept."""
    g = table.groupby(["mechanism", "model"])
    return pd.DataFrame({"structures": g.size(), "min_ratio": g["ratio"].min(), "max_ratio": g["ratio"].max(),
                         "guarantee_ratio": g["guarantee"].first() / g["welfare"].first()}).reset_index()


