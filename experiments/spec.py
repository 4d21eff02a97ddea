"""Experiment specs: one TOML file naming a market, a sweep over its parameters, steps, seeds
and what to record; validated completely on load, before anything runs or is written.

    name = "seller-price"              # optional; default: the file's stem
    steps = 200                        # steps (rounds) per run
    [seeds]
    count = 8                          # runs per parameter point
    base = 20240601                    # run r draws from SeedSequence(base, spawn_key=(r,))
    [market]
    protocol = "seller-first"          # a registered market kind (experiments.markets)
    bidders = ["uniform:0,1", "uniform:0,2"]
    [sweep.grid]                       # or: [[sweep.points]] tables, one per point
    "market.seller" = [0.3, 0.5, 0.7]  # dotted keys into [market]
    [record]
    every = 1                          # keep every k-th step in steps.parquet
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import re
import tomllib
from collections.abc import Iterator, Mapping
from copy import deepcopy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from agora.experiments.limits import Limits, human_bytes, limits_of
from agora.experiments.markets import (
    MAX_SWEEP_POINTS,
    ParamError,
    SpecError,
    bad_value,
    kind_of,
    read_bool,
    read_int,
    registry,
    shown,
)

TOP_KEYS = ("name", "description", "steps", "seeds", "market", "sweep", "record")
TABLE_KEYS = ("seeds", "market", "sweep", "record")
SEED_KEYS = ("count", "base", "common")
RECORD_KEYS = ("steps", "every", "quantities")
ID_COLUMNS = ("run", "point", "seed")
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


@dataclass(frozen=True)
class Seeds:
    """``count`` runs per point; run r draws from the r-th child of ``SeedSequence(base)``.

    With ``common = true`` every point's j-th run uses the j-th child instead (common
    random numbers: differences between points are paired).
    """

    count: int
    base: int
    common: bool = False

    def spawn_key(self, run: int, seed: int) -> tuple[int]:
        return (seed,) if self.common else (run,)

    def sequence(self, run: int, seed: int) -> np.random.SeedSequence:
        """The same as ``SeedSequence(base).spawn(k + 1)[k]`` for k = the spawn key."""
        return np.random.SeedSequence(self.base, spawn_key=self.spawn_key(run, seed))


@dataclass(frozen=True)
class Record:
    """What to keep: per-step rows at all (``steps``), every k-th step, and which quantities."""

    steps: bool = True
    every: int = 1
    quantities: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Point:
    """One parameter point: the swept values (table columns) and the validated market."""

    index: int
    columns: dict[str, Any]
    protocol: str
    params: dict[str, Any]


@dataclass(frozen=True)
class RunTask:
    """Everything one run needs, small and picklable: it travels to any executor's workers."""

    run: int
    point: int
    seed: int
    protocol: str
    params: dict[str, Any]
    columns: dict[str, Any]
    steps: int
    seed_base: int
    spawn_key: tuple[int, ...]
    record: Record

    def rng(self) -> np.random.Generator:
        return np.random.default_rng(np.random.SeedSequence(self.seed_base, spawn_key=self.spawn_key))


@dataclass(frozen=True)
class ExperimentSpec:
    name: str
    description: str
    steps: int
    seeds: Seeds
    record: Record
    sweep_keys: tuple[str, ...]
    points: tuple[Point, ...]
    source: str  # the file's text, kept in the manifest

    @property
    def runs(self) -> int:
        return len(self.points) * self.seeds.count

    def tasks(self) -> Iterator[RunTask]:
        """Every run in run order: run = point * seeds.count + seed."""
        for p in self.points:
            for s in range(self.seeds.count):
                r = p.index * self.seeds.count + s
                yield RunTask(r, p.index, s, p.protocol, p.params, p.columns, self.steps, self.seeds.base,
                              self.seeds.spawn_key(r, s), self.record)

    def canonical(self) -> dict:
        """The spec as validated and expanded: equal for any two files that ask for the same runs."""
        return {"name": self.name, "steps": self.steps,
                "seeds": {"count": self.seeds.count, "base": self.seeds.base, "common": self.seeds.common},
                "record": {"steps": self.record.steps, "every": self.record.every,
                           "quantities": list(self.record.quantities) if self.record.quantities else None},
                "sweep_keys": list(self.sweep_keys),
                "points": [{"columns": p.columns, "protocol": p.protocol, "params": p.params}
                           for p in self.points]}

    @property
    def sha256(self) -> str:
        text = json.dumps(self.canonical(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()


# ------------------------------------------------------------------ loading
def load_spec(path: str | Path, limits: Limits | None = None) -> ExperimentSpec:
    """Read and validate a spec file; :class:`SpecError` (one line, naming the file) if it is wrong
    or a point's run would exceed ``limits`` (default: this machine's)."""
    text, data = read_spec_document(path)
    path = Path(path)
    try:
        return parse_spec_table(data, default_name=path.stem, source=text, limits=limits)
    except RecursionError:
        raise SpecError(f"{path}: tables or arrays nested too deeply to read") from None
    except SpecError as err:
        raise SpecError(f"{path}: {err}") from None


def read_spec_document(path: str | Path) -> tuple[str, dict[str, Any]]:
    """The text of the spec file at ``path`` and its TOML table, the top level checked
    (:func:`check_top_level`): the one reader of ``agora run``, ``agora simulate --spec`` and
    ``agora viz``, so that each refuses a file it cannot read in the same line (a :class:`SpecError`
    naming the file)."""
    text = read_spec_text(path)
    path = Path(path)
    try:
        data = tomllib.loads(text)
        check_top_level(data)
    except tomllib.TOMLDecodeError as err:
        raise SpecError(f"{path}: not valid TOML: {err}") from None
    except RecursionError:
        raise SpecError(f"{path}: tables or arrays nested too deeply to read") from None
    except SpecError as err:
        raise SpecError(f"{path}: {err}") from None
    return text, data


def read_spec_text(path: str | Path) -> str:
    """The UTF-8 text of the file at ``path``; :class:`SpecError` in one line naming the path if it
    is empty or cannot be read."""
    if not str(path).strip():  # Path("") is ".", which would name the wrong file
        raise SpecError(f"cannot read spec {str(path)!r}: an empty path; accepted: the path of a TOML spec file")
    path = Path(path)
    try:
        return path.read_text(encoding="utf-8")
    except OSError as err:
        raise SpecError(f"cannot read spec '{path}': {err.strerror}") from None
    except UnicodeDecodeError as err:
        raise SpecError(f"cannot read spec '{path}': not UTF-8 text ({err.reason} at byte {err.start})") from None
    except ValueError:  # a NUL character, which no file name can hold
        raise SpecError(f"cannot read spec '{path}': it holds a NUL character; accepted: a path without one") from None


def check_top_level(data: Mapping[str, Any]) -> None:
    """A spec's top level as every reader holds it: known keys only, a ``[market]`` table, the other
    tables tables, and a name and description (when given) of the right kind."""
    for key, value in data.items():
        if key not in TOP_KEYS:
            raise bad_value(key, value, f"top-level keys {', '.join(TOP_KEYS)}", "unknown key")
    if "name" in data:
        read_name(data["name"])
    if not isinstance(data.get("description", ""), str):
        raise bad_value("description", data["description"], "a string")
    for key in TABLE_KEYS:
        table(key, data.get(key), required=key == "market")


def read_name(name) -> str:
    """A run's name: letters, digits, '.', '_' and '-', starting with a letter or digit."""
    if not isinstance(name, str) or not NAME.fullmatch(name):
        raise bad_value("name", name, "letters, digits, '.', '_' and '-', starting with a letter or digit")
    return name


def parse_spec_table(data: Mapping[str, Any], default_name: str = "experiment", source: str = "",
                     limits: Limits | None = None) -> ExperimentSpec:
    """Validate a spec already read from TOML; each point's sizes are held to ``limits`` before its
    market is built (:meth:`MarketKind.validate`)."""
    check_top_level(data)
    name = read_name(data.get("name", default_name))
    description = data.get("description", "")
    if "steps" not in data:
        raise SpecError("steps is missing; accepted: a whole number >= 1 of steps per run")
    steps = read_key("steps", data["steps"], read_int(1), "a whole number >= 1 of steps per run")
    seeds = parse_seeds(data.get("seeds"))
    market = data["market"]
    points = expand_sweep(market, data.get("sweep"), limits, steps)
    require_markets_fit(points, steps, limits or limits_of(None))
    record = parse_record(data.get("record"), points)
    sweep_keys = tuple(dict.fromkeys(k for p in points for k in p.columns))
    return ExperimentSpec(name, description, steps, seeds, record, sweep_keys, tuple(points), source)


def read_key(key: str, value, read, accepted: str):
    try:
        return read(value)
    except (ValueError, TypeError) as err:
        raise bad_value(key, value, accepted, str(err)) from None


def table(key: str, value, required: bool = False) -> dict:
    if value is None:
        if required:
            raise SpecError(f"[{key}] is missing; accepted: a table")
        return {}
    if not isinstance(value, dict):
        raise bad_value(key, value, "a table")
    return value


def check_keys(where: str, data: Mapping, allowed: tuple[str, ...]) -> None:
    for key, value in data.items():
        if key not in allowed:
            raise bad_value(f"{where}.{key}", value, f"keys {', '.join(allowed)}", "unknown key")


def parse_seeds(value) -> Seeds:
    seeds = table("seeds", value, required=True)
    check_keys("seeds", seeds, SEED_KEYS)
    for key in ("count", "base"):
        if key not in seeds:
            raise SpecError(f"seeds.{key} is missing; accepted: "
                            + ("a whole number >= 1 of runs per point" if key == "count"
                               else "a whole number >= 0 (the root of every run's SeedSequence)"))
    count = read_key("seeds.count", seeds["count"], read_int(1), "a whole number >= 1 of runs per point")
    base = read_key("seeds.base", seeds["base"], read_int(0), "a whole number >= 0")
    common = read_key("seeds.common", seeds.get("common", False), read_bool, "true or false")
    return Seeds(count, base, common)


# ------------------------------------------------------------------ the sweep
def flatten(data: Mapping, prefix: str = "") -> dict[str, Any]:
    """Nested tables to dotted keys: {"market": {"seller": 1}} -> {"market.seller": 1}."""
    out = {}
    for key, value in data.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flatten(value, path + "."))
        else:
            out[path] = value
    return out


def set_path(market: dict, key: str, value) -> None:
    """Set a dotted key ``market.a.b`` inside the market table (a copy)."""
    parts = key.split(".")
    if parts[0] != "market" or len(parts) < 2:
        raise bad_value(f"sweep key {key}", value, "dotted keys into [market], like \"market.seller\"",
                        "does not start with 'market.'")
    node = market
    for i, part in enumerate(parts[1:-1], start=1):
        inner = node.setdefault(part, {})
        if not isinstance(inner, dict):
            raise bad_value(f"sweep key {key}", value, "dotted keys into [market]",
                            f"{'.'.join(parts[:i + 1])} is not a table")
        node = inner
    node[parts[-1]] = value


def sweep_settings(sweep: Mapping) -> list[dict[str, Any]]:
    """The list of settings (dotted key -> value), one per point, from ``grid`` or ``points``."""
    check_keys("sweep", sweep, ("grid", "points"))
    if ("grid" in sweep) == ("points" in sweep):
        raise SpecError(f"[sweep] has {'both' if sweep else 'neither'} grid and points; accepted: "
                        "exactly one of grid (a table of value lists) or points (a list of tables)")
    if "grid" in sweep:
        grid = flatten(table("sweep.grid", sweep["grid"]))
        if not grid:
            raise SpecError("sweep.grid is empty; accepted: dotted keys into [market] with lists of values")
        for key, values in grid.items():
            if not isinstance(values, list) or not values:
                raise bad_value(f"sweep.grid.{key}", values, "a nonempty list of values")
        size = math.prod(len(v) for v in grid.values())
        if size > MAX_SWEEP_POINTS:
            raise SpecError(f"sweep.grid has {size} points ({' x '.join(str(len(v)) for v in grid.values())}); "
                            f"accepted: at most {MAX_SWEEP_POINTS} points")
        return [dict(zip(grid, combo)) for combo in itertools.product(*grid.values())]
    points = sweep["points"]
    if isinstance(points, list) and len(points) > MAX_SWEEP_POINTS:
        raise SpecError(f"sweep.points has {len(points)} points; accepted: at most {MAX_SWEEP_POINTS} points")
    if not isinstance(points, list) or not points or not all(isinstance(p, dict) and p for p in points):
        raise bad_value("sweep.points", points, "a nonempty list of nonempty tables of dotted keys into [market]")
    return [flatten(p) for p in points]


def point_label(setting: Mapping[str, Any]) -> str:
    return ", ".join(f"{k} = {shown(v)}" for k, v in setting.items())


def expanded(market: Mapping, settings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The settings with every point that stands for several markets (a kind's ``expand``, such as
    ``partition = "all"``) replaced by one point per market, in the kind's order; at most
    :data:`MAX_SWEEP_POINTS` in all."""
    out: list[dict[str, Any]] = []
    for i, setting in enumerate(settings):
        m = deepcopy(dict(market))
        for key, value in setting.items():
            set_path(m, key, value)
        kind = registry().get(m.get("protocol")) if isinstance(m.get("protocol"), str) else None
        where = f"sweep point {i} ({point_label(setting)}): market" if setting else "market"
        try:
            alternatives = kind.expand(m) if kind is not None and kind.expand is not None else None
        except ParamError as err:
            accepted = next(p.accepted for p in kind.params if p.name == err.key)
            raise bad_value(f"{where}.{err.key}", m.get(err.key), accepted, str(err)) from None
        out.extend([setting] if alternatives is None else
                   [{**setting, **{f"market.{k}": v for k, v in alt.items()}} for alt in alternatives])
        if len(out) > MAX_SWEEP_POINTS:
            raise SpecError(f"the sweep has more than {MAX_SWEEP_POINTS} points once its \"all\" values are "
                            f"expanded (at {where}); accepted: at most {MAX_SWEEP_POINTS} points")
    return out


def column_name(key: str) -> str:
    return key.removeprefix("market.")


def harmonize(settings: list[dict[str, Any]], base: Mapping) -> list[dict[str, Any]]:
    """Table columns for the swept keys: one type per column, across every point.

    A point that does not set a key shows the market's value for it (or the kind's
    default, as ``null`` shown as a string). Columns that mix types are written as JSON text.
    """
    keys = list(dict.fromkeys(k for s in settings for k in s))
    flat_base = flatten({"market": base})
    columns = []
    for s in settings:
        columns.append({column_name(k): s.get(k, flat_base.get(k)) for k in keys})
    for key in keys:
        name = column_name(key)
        values = [c[name] for c in columns]
        if all(isinstance(v, bool) for v in values) or all(isinstance(v, str) for v in values):
            continue
        if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
            continue
        if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
            for c in columns:
                c[name] = float(c[name])
            continue
        for c in columns:
            c[name] = json.dumps(c[name], sort_keys=True)
    return columns


def expand_sweep(market: dict, sweep, limits: Limits | None = None, steps: int = 1) -> list[Point]:
    """Every parameter point, each market validated by its kind (a run of ``steps`` steps held to ``limits``)."""
    if "protocol" not in market:
        raise SpecError("market.protocol is missing; accepted: one of the registered market kinds "
                        f"({', '.join(shown(k) for k in registry())})")
    if sweep is None:
        kind = kind_of(market["protocol"])
        settings = expanded(market, [{}])
        if settings == [{}]:
            params = kind.validate({k: v for k, v in market.items() if k != "protocol"}, limits=limits, steps=steps)
            return [Point(0, {}, kind.name, params)]
    else:
        settings = expanded(market, sweep_settings(table("sweep", sweep)))
    columns = harmonize(settings, market)
    reserved = set(ID_COLUMNS) | {"step"}
    points = []
    for i, (setting, cols) in enumerate(zip(settings, columns)):
        clash = reserved.intersection(cols)
        if clash:
            raise SpecError(f"sweep key market.{min(clash)} would clash with the table column "
                            f"'{min(clash)}'; accepted: keys other than {', '.join(sorted(reserved))}")
        m = deepcopy(market)
        for key, value in setting.items():
            set_path(m, key, value)
        where = f"sweep point {i} ({point_label(setting)}): market"
        kind = kind_of(m["protocol"], f"{where}.protocol")
        params = kind.validate({k: v for k, v in m.items() if k != "protocol"}, where=where, limits=limits,
                               steps=steps)
        points.append(Point(i, cols, kind.name, params))
    return points


def require_markets_fit(points: list[Point], steps: int, limits: Limits) -> None:
    """The sweep's distinct markets (one per ``shared`` key of the kinds' sizes), held to the limits
    together: each is built once, and a process that runs them all may keep them all."""
    markets: dict[Any, tuple[float, float]] = {}
    for p in points:
        kind = registry()[p.protocol]
        for size in kind.sizes(p.params, steps) if kind.sizes is not None else ():
            if size.shared is not None:
                markets[size.shared] = size.cost.estimate(size.value)
    nbytes, seconds = (sum(e[i] for e in markets.values()) for i in (0, 1))
    if nbytes > limits.memory or seconds > limits.seconds:
        raise SpecError(f"the sweep's {len(markets)} distinct markets would need about {human_bytes(nbytes)} and "
                        f"{seconds:.3g} s together (estimated, each built once and kept); accepted: at most "
                        f"--max-memory {human_bytes(limits.memory)} and --max-seconds {limits.seconds:g} "
                        "together: sweep fewer or smaller markets, or raise them")


def parse_record(value, points: list[Point]) -> Record:
    rec = table("record", value)
    check_keys("record", rec, RECORD_KEYS)
    steps = read_key("record.steps", rec.get("steps", True), read_bool, "true or false")
    every = read_key("record.every", rec.get("every", 1), read_int(1), "a whole number >= 1")
    quantities = None
    if "quantities" in rec:
        known = list(dict.fromkeys(q for p in points for q in registry()[p.protocol].quantities))
        q = rec["quantities"]
        if not isinstance(q, list) or not q or any(x not in known for x in q):
            raise bad_value("record.quantities", q, f"a nonempty list of {', '.join(known)}")
        quantities = tuple(dict.fromkeys(q))
    return Record(steps, every, quantities)
