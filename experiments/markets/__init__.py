"""Market kinds an experiment can run: a registry that new markets extend with one adapter.

An experiment's ``[market]`` table names a kind by its ``protocol`` key; the other keys are
that kind's parameters. A kind declares its parameters (each with a reader that checks and
normalizes one value and says what it accepts), the per-step quantities it records, and one
function, ``run(params, steps, rng) -> RunOutput``, that builds the market from validated
parameters, runs it for ``steps`` steps on the random generator it is given, and returns
per-step columns and one per-run row.

To add a kind: write a module defining ``MARKETS = {name: MarketKind(...)}`` and add its
import path to :data:`MARKET_MODULES` (one line). Workers import this package, so a kind
registered here runs on any executor.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import import_module
from typing import Any

import numpy as np

from agora.experiments.limits import Cost, Limits, largest, limits_of, require_fits
from agora.market.errors import InputError

#: Modules that define ``MARKETS``; each adds kinds to the registry.
MARKET_MODULES: tuple[str, ...] = ("agora.experiments.markets.single_item", "agora.experiments.markets.selection",
                                   "agora.experiments.markets.group", "agora.experiments.markets.k_items",
                                   "agora.experiments.markets.robust", "agora.experiments.markets.qlearning",
                                   "agora.experiments.markets.adaptive_play")

REQUIRED = object()
#: Every point is validated on load (about a millisecond each): a sweep of more points is refused before
#: it is expanded, so that a mistyped grid cannot hang the loader.
MAX_SWEEP_POINTS = 100_000


class SpecError(InputError):
    """An experiment spec that cannot be run: names the key, the bad value and what is accepted."""


class ParamError(InputError):
    """Raised by a kind's ``check``: parameter ``key`` does not fit the others (``problem`` says why)."""

    def __init__(self, key: str, problem: str):
        super().__init__(problem)
        self.key = key


def shown(value) -> str:
    """A value as the spec would write it (strings quoted)."""
    try:
        return json.dumps(value)
    except TypeError:
        return repr(value)


def bad_value(key: str, value, accepted: str, problem: str | None = None) -> SpecError:
    """The one-line error for ``key = value`` (a problem that already says what is accepted stands alone)."""
    if problem and "accepted:" in problem:
        return SpecError(f"{key} = {shown(value)}: {problem}")
    why = f"{problem}; " if problem else ""
    return SpecError(f"{key} = {shown(value)}: {why}accepted: {accepted}")


@dataclass(frozen=True)
class Param:
    """One parameter of a market kind.

    ``read(value)`` returns the normalized value (plain Python: str, int, float, bool,
    lists and dicts of them) or raises ``ValueError``/``InputError`` saying what is wrong.
    """

    name: str
    accepted: str
    read: Callable[[Any], Any]
    default: Any = REQUIRED


@dataclass(frozen=True)
class Size:
    """A parameter a run's memory and time grow in: ``cost`` of ``value``, the other parameters held
    fixed; ``low`` is its least accepted value; ``note`` follows the key in a refusal. Runs whose
    sizes have the same ``shared`` key use one market, built once per process and kept. ``key``
    names a market parameter, or with ``in_market = False`` a key of the spec (its ``steps``)."""

    key: str
    value: int
    cost: Cost
    low: int = 1
    note: str = ""
    shared: Any = None
    in_market: bool = True


@dataclass(frozen=True)
class RunOutput:
    """What a market run returns: per-step columns (equal lengths) and one per-run row."""

    steps: Mapping[str, Sequence]
    run: Mapping[str, Any]


@dataclass(frozen=True)
class MarketKind:
    """A market an experiment can run.

    ``check(params)`` may reject a combination of individually valid parameters (raise
    :class:`ParamError` naming the key at fault, or :class:`InputError`); ``sizes(params, steps)``
    lists the parameters a run of ``steps`` steps grows in, checked against the limits before
    ``check`` builds anything; ``quantities`` are the per-step columns ``run`` returns;
    ``expand(market)`` turns a ``[market]`` table (before validation) that stands for several
    markets, such as ``partition = "all"``, into the parameter values of each (None: it is one),
    raising :class:`ParamError` naming the key when they are too many.
    """

    name: str
    description: str
    params: tuple[Param, ...]
    quantities: tuple[str, ...]
    run: Callable[[Mapping[str, Any], int, np.random.Generator], RunOutput]
    check: Callable[[Mapping[str, Any]], None] | None = field(default=None)
    sizes: Callable[[Mapping[str, Any], int], Sequence[Size]] | None = field(default=None)
    expand: Callable[[Mapping[str, Any]], list[dict[str, Any]] | None] | None = field(default=None)

    def validate(self, market: Mapping[str, Any], where: str = "market", limits: Limits | None = None,
                 steps: int = 1) -> dict:
        """The validated, normalized parameters of a ``[market]`` table (without ``protocol``);
        a run of ``steps`` steps too big for ``limits`` (default: this machine's, :func:`limits_of`)
        is refused first."""
        known = {p.name: p for p in self.params}
        for key, value in market.items():
            if key not in known:
                raise bad_value(f"{where}.{key}", value, f"keys of protocol {shown(self.name)}: "
                                f"protocol, {', '.join(known)}", "unknown key")
        out = {}
        for p in self.params:
            if p.name not in market:
                if p.default is REQUIRED:
                    raise SpecError(f"{where}.{p.name} is missing; accepted: {p.accepted}")
                out[p.name] = p.default
                continue
            value = market[p.name]
            try:
                out[p.name] = p.read(value)
            except (ValueError, TypeError) as err:
                raise bad_value(f"{where}.{p.name}", value, p.accepted, _first_line(err)) from None
        self.require_fits(out, steps, where, limits or limits_of(None))
        if self.check is not None:
            try:
                self.check(out)
            except ParamError as err:
                raise bad_value(f"{where}.{err.key}", market.get(err.key, out[err.key]), known[err.key].accepted,
                                _first_line(err)) from None
            except InputError as err:
                raise SpecError(f"{where} (protocol {shown(self.name)}): {_first_line(err)}") from None
        return out

    def require_fits(self, params: Mapping[str, Any], steps: int, where: str, limits: Limits) -> None:
        """SpecError (one line: the estimate and the largest value that fits) if a size is too big.

        Of the sizes over the limits, the one blamed is the first that some accepted value of it
        would bring under them (shrinking a grid is no help when the blocks alone are too big).
        """
        over = []
        for s in self.sizes(params, steps) if self.sizes is not None else ():
            name = f"{where}.{s.key}" if s.in_market else where.removesuffix("market") + s.key
            try:
                require_fits(name + s.note, s.value, s.cost, limits)
            except InputError as err:
                over.append((s, err))
        if over:
            _, err = next(((s, e) for s, e in over if largest(s.cost, limits) >= s.low), over[0])
            raise SpecError(str(err)) from None


def _first_line(err: Exception) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


@cache
def registry() -> dict[str, MarketKind]:
    """Every registered market kind, by protocol name."""
    kinds: dict[str, MarketKind] = {}
    for module in MARKET_MODULES:
        for name, kind in import_module(module).MARKETS.items():
            if name in kinds:
                raise RuntimeError(f"market kind {name!r} is registered twice")
            kinds[name] = kind
    return kinds


def kind_of(name, where: str = "market.protocol") -> MarketKind:
    """The registered kind called ``name``; a :class:`SpecError` naming the accepted ones otherwise."""
    kinds = registry()
    if not isinstance(name, str) or name not in kinds:
        raise bad_value(where, name, ", ".join(shown(k) for k in kinds), "unknown protocol")
    return kinds[name]


# ------------------------------------------------------------------ readers for Params
def read_bool(value) -> bool:
    if not isinstance(value, bool):
        raise ValueError("not true or false")
    return value


def read_int(low: int = 0) -> Callable[[Any], int]:
    def read(value) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError("not a whole number")
        if value < low:
            raise ValueError(f"less than {low}")
        return value
    return read


def means_and_errors(cols: Mapping[str, np.ndarray], names: Sequence[str] | None = None) -> dict[str, float]:
    """Each quantity's mean over the steps, then each one's standard error (``q_stderr``; nan for one step)."""
    names = list(cols) if names is None else names
    steps = len(cols[names[0]])
    return {**{q: float(np.mean(cols[q])) for q in names},
            **{f"{q}_stderr": float(np.std(cols[q], ddof=1) / math.sqrt(steps)) if steps > 1 else math.nan
               for q in names}}


def stepped_columns(model, steps: int, columns: Mapping[str, str]) -> dict[str, np.ndarray]:
    """Step a Mesa market ``steps`` rounds; its per-round ``columns`` (name given -> DataCollector column)."""
    for _ in range(steps):
        model.step()
    df = model.rounds()
    return {name: df[col].to_numpy(float) for name, col in columns.items()}


def rounds_output(cols: Mapping[str, np.ndarray], steps: int, row: Mapping[str, Any]) -> RunOutput:
    """The kind's run: its per-step columns, and a row of the steps, their means and errors, then ``row``."""
    return RunOutput(cols, {"steps": steps, **means_and_errors(cols), **row})


def read_number(value, low: float = 0.0) -> float:
    """A finite number >= low (TOML integers count)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError("not a number")
    if not (math.isfinite(value) and value >= low):
        raise ValueError(f"not a finite number >= {low:g}")
    return float(value)


def read_positive(value) -> float:
    """A finite number > 0."""
    x = read_number(value)
    if not x > 0:
        raise ValueError("not > 0")
    return x


def read_choice(*choices: str) -> Callable[[Any], str]:
    def read(value) -> str:
        if value not in choices:
            raise ValueError("not one of the choices")
        return value
    return read
