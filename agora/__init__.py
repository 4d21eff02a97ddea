"""Agora: markets with intermediaries, committees and robust sellers.

The package is layered, and imports run one way:
``agora.experiments -> agora.models -> agora.agents -> agora.protocols -> agora.market``.

* :mod:`agora.market`: the economics, pure and vectorized (one subpackage per paper:
  ``single_item``, ``k_items``, ``group``, ``robust``, and ``learning``);
* :mod:`agora.protocols`: who moves when and which messages flow;
* :mod:`agora.agents`: the Mesa agents (buyers, intermediaries, sellers, committees);
* :mod:`agora.models`: the Mesa worlds, one round of a protocol per step;
* :mod:`agora.experiments`: specs, the runner, reproductions, the dashboard and the CLI.

The names most users reach for first are here too, imported on first use:

>>> import agora
>>> sol = agora.solve_seller_first(["uniform:0,1"])
>>> round(sol.seller_price, 6)
0.5
"""

from importlib import import_module

__version__ = "0.1.0"

#: name -> the module that defines it (imported when the name is first used).
_LAZY = {
    "MarketModel": "agora.models.market_model",
    "GroupModel": "agora.models.group_model",
    "RobustMarketModel": "agora.models.robust_model",
    "parse_spec": "agora.market.distributions",
    "solve_seller_first": "agora.market.single_item.seller_first",
    "solve_intermediary_first": "agora.market.single_item.intermediary_first",
    "pure_equilibria": "agora.market.single_item.simultaneous",
    "solve_ipm": "agora.market.k_items.solver",
    "solve_group": "agora.market.group.solver",
    "solve_robust": "agora.market.robust.solver",
    "InputError": "agora.market.errors",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'agora' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
