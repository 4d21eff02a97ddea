"""What the dashboard's controls hold, and how a TOML file's ``[market]`` table sets them.

The same controls appear on the page (protocol, distributions, number of buyers and
of intermediaries, items, the intermediaries' utility model, learning rule and rate,
start prices, seed, and how many rounds the series show) and in a spec file::

    [market]
    protocol = "simultaneous"
    bidders = ["uniform:0,1", "uniform:0,2"]   # repeated in turn to fill `buyers`
    buyers = 4
    intermediaries = 1                        # buyers split into this many blocks (posted-menu)
    items = 1                                 # k identical items (posted-menu)
    utility = "surplus"                       # or "monopolist" (posted-menu)
    rule = "best-response"                    # the protocol's rules: see its view
    rate = 0.5                                # in (0, 1]
    seller_price = 0.2                        # start (or fixed) prices
    intermediary_price = 0.2
    seed = 7
    points = 41                               # prices per side of a learning grid
    window = 200                              # the series show the last 200 rounds
    mean = 0.5                                # robust: every bidder's mean is at least this
    upper = 1.0                               # robust: values lie in [0, upper]
    adversary = "worst-case"                  # robust: or "distributions" (nature draws from bidders)
    beta = 4e-6                               # q-learning: explore w.p. exp(-beta t); rate is alpha
    delta = 0.95                              # q-learning: the discount
    memory = 1                                # q-learning: price pairs remembered
    sample_row = 1                            # adaptive-play: the seller's sample (and sample_column)
    eps_row = 0.05                            # adaptive-play: the seller's mistake rate (and eps_column)

Every key is optional. A spec of the experiment runner (``agora run``) is read too, at its
first sweep point (:mod:`agora.experiments.dashboard.runner_spec`). A bad value is one line
naming the key, the value and what is accepted (an :class:`~agora.market.errors.InputError`).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from agora.experiments.markets import SpecError, bad_value, shown
from agora.experiments.spec import read_spec_document
from agora.market.distributions import ACCEPTED_SPECS, parse_spec
from agora.market.errors import InputError
from agora.market.k_items.utility import MODELS as UTILITY_MODELS

MAX_BUYERS = 500
MAX_POINTS = 1001
WINDOW = 200  # rounds the series show by default: the last ones
#: Nature in the robust view: the thesis' worst case for the seller's mechanism, or independent draws
#: from the distributions (one per bidder, repeated in turn)
ADVERSARIES = ("worst-case", "distributions")


class SpecFileError(SpecError):
    """A dashboard spec file that holds a value the dashboard cannot show."""


@dataclass(frozen=True)
class Controls:
    """The market a dashboard shows: one value per control."""

    protocol: str = "seller-first"
    bidders: tuple[str, ...] = ("uniform:0,1",)
    buyers: int = 3
    rule: str = "best-response"
    rate: float = 1.0
    seller_price: float = 0.0
    intermediary_price: float = 0.0
    seed: int = 1
    intermediaries: int = 1
    items: int = 1
    utility: str = "surplus"
    points: int | None = None  # prices per side of a learning grid; None: the protocol's own
    window: int = WINDOW
    mean: float | None = None  # a bound on every bidder's mean value (robust, Chapter 1); None: none
    upper: float = 1.0  # values lie in [0, upper] (robust)
    adversary: str = "worst-case"  # nature (robust): the thesis' worst case, or draws from the distributions
    beta: float = 4e-6  # Q-learning: exploration with probability exp(-beta t)
    delta: float = 0.95  # Q-learning: the discount
    memory: int = 1  # Q-learning: past price pairs remembered; adaptive play: past plays remembered
    sample_row: int = 1  # adaptive play: the seller's sample of the intermediary's remembered prices
    sample_column: int = 1  # adaptive play: the intermediary's sample of the seller's
    eps_row: float = 0.05  # adaptive play: the seller's mistake rate
    eps_column: float = 0.05  # adaptive play: the intermediary's mistake rate

    def __post_init__(self):
        from agora.experiments.dashboard.views import VIEWS  # the registry names the protocols

        for name in ("protocol", "utility", "rule", "adversary"):
            if not isinstance(getattr(self, name), str):
                raise InputError(f"{name} must be a string, got {getattr(self, name)!r}")
        if self.protocol not in VIEWS:
            raise InputError(f"unknown protocol {self.protocol!r}; accepted: {', '.join(VIEWS)}")
        if not self.bidders:
            raise InputError(f"a market needs at least one bidder distribution; accepted: {ACCEPTED_SPECS}")
        for spec in self.bidders:
            parse_spec(spec)
        if not _whole(self.buyers) or not 1 <= self.buyers <= MAX_BUYERS:
            raise InputError(f"buyers must be a whole number from 1 to {MAX_BUYERS}, got {self.buyers!r}")
        if not _whole(self.intermediaries) or not 1 <= self.intermediaries <= self.buyers:
            raise InputError(f"intermediaries must be a whole number from 1 to buyers ({self.buyers}), "
                             f"got {self.intermediaries!r}")
        if not _whole(self.items) or not 1 <= self.items <= MAX_BUYERS:
            raise InputError(f"items must be a whole number from 1 to {MAX_BUYERS}, got {self.items!r}")
        if self.utility not in UTILITY_MODELS:
            raise InputError(f"unknown intermediary utility {self.utility!r}; accepted: {', '.join(UTILITY_MODELS)}")
        if self.rule not in VIEWS[self.protocol].rules:
            raise InputError(f"unknown learning rule {self.rule!r} for {self.protocol}; "
                             f"accepted: {', '.join(VIEWS[self.protocol].rules)}")
        if not _number(self.rate) or not 0.0 < self.rate <= 1.0:
            raise InputError(f"rate must be a number in (0, 1], got {self.rate!r}")
        for name in ("seller_price", "intermediary_price"):
            value = getattr(self, name)
            if not _number(value) or not 0.0 <= value < math.inf:
                raise InputError(f"{name} must be a price >= 0, got {value!r}")
        if self.points is not None and (not _whole(self.points) or not 3 <= self.points <= MAX_POINTS):
            raise InputError(f"points must be a whole number from 3 to {MAX_POINTS} (prices per side of a "
                             f"learning grid), got {self.points!r}")
        if self.mean is not None and (not _number(self.mean) or not 0.0 <= self.mean < math.inf):
            raise InputError(f"mean must be a number >= 0 or blank (no bound), got {self.mean!r}")
        if not _number(self.upper) or not 0.0 < self.upper < math.inf:
            raise InputError(f"upper must be a number > 0 (the top of the value range), got {self.upper!r}")
        if self.adversary not in ADVERSARIES:
            raise InputError(f"unknown adversary {self.adversary!r}; accepted: {', '.join(ADVERSARIES)}")
        if not _number(self.beta) or not 0.0 < self.beta < math.inf:
            raise InputError(f"beta must be a number > 0 (exploration exp(-beta t)), got {self.beta!r}")
        if not _number(self.delta) or not 0.0 <= self.delta < 1.0:
            raise InputError(f"delta must be a number in [0, 1) (the discount), got {self.delta!r}")
        if not _whole(self.memory) or self.memory < 1:
            raise InputError(f"memory must be a whole number >= 1 of price pairs, got {self.memory!r}")
        for name in ("sample_row", "sample_column"):
            if not _whole(getattr(self, name)) or getattr(self, name) < 1:
                raise InputError(f"{name} must be a whole number >= 1 of remembered plays, got {getattr(self, name)!r}")
        for name in ("eps_row", "eps_column"):
            if not _number(getattr(self, name)) or not 0.0 < getattr(self, name) <= 1.0:
                raise InputError(f"{name} must be a number in (0, 1] (a mistake rate), got {getattr(self, name)!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise InputError(f"seed must be a whole number >= 0, got {self.seed!r}")
        check_window(self.window)
        VIEWS[self.protocol].check(self)

    @property
    def specs(self) -> tuple[str, ...]:
        """One distribution per buyer: buyer i draws from ``bidders[i % len(bidders)]``."""
        return tuple(self.bidders[i % len(self.bidders)] for i in range(self.buyers))

    def as_page_values(self) -> dict:
        """The controls as the page shows them (distributions joined by '; ')."""
        d = asdict(self)
        d["bidders"] = "; ".join(self.bidders)
        d["points"] = "" if self.points is None else str(self.points)
        d["mean"] = "" if self.mean is None else str(self.mean)
        return d


ACCEPTED_KEYS = tuple(f.name for f in fields(Controls))


def _whole(x) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _number(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def check_window(window) -> None:
    """The series' window: a whole number of rounds >= 1 (else a one-line InputError naming it)."""
    if not _whole(window) or window < 1:
        raise InputError(f"window must be a whole number of rounds >= 1, got {window!r}")


def split_bidders(text: str) -> tuple[str, ...]:
    """``"uniform:0,1; exponential:1"`` -> ``("uniform:0,1", "exponential:1")``."""
    return tuple(part.strip() for part in str(text).split(";") if part.strip())


def parse_seed(text) -> int:
    """A seed typed on the page: a whole number >= 0."""
    try:
        seed = int(str(text).strip())
    except ValueError:
        raise InputError(f"seed must be a whole number >= 0, got {text!r}") from None
    if seed < 0:
        raise InputError(f"seed must be a whole number >= 0, got {seed}")
    return seed


def parse_points(text) -> int | None:
    """Grid points typed on the page: a whole number, or blank (or None) for the protocol's own."""
    text = "" if text is None else str(text).strip()
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        raise InputError(f"points must be a whole number from 3 to {MAX_POINTS} or blank, got {text!r}") from None


def parse_mean(text) -> float | None:
    """A bound on the mean typed on the page: a number >= 0, or blank (or None) for none."""
    text = "" if text is None else str(text).strip()
    return None if not text else parse_price("mean", text)


def parse_price(name: str, text, accepted: str = "a price >= 0") -> float:
    """A price (or another number >= 0, as ``accepted`` says) typed on the page."""
    try:
        price = float(str(text).strip())
    except ValueError:
        raise InputError(f"{name} must be {accepted}, got {text!r}") from None
    if not 0.0 <= price < math.inf:
        raise InputError(f"{name} must be {accepted}, got {text!r}")
    return price


def controls_from_table(table: dict, where: str = "[market]") -> Controls:
    """Controls from a mapping such as a TOML ``[market]`` table (missing keys keep their defaults)."""
    unknown = sorted(set(table) - set(ACCEPTED_KEYS))
    if unknown:
        raise SpecFileError(f"{where}: unknown key {unknown[0]!r}; accepted: {', '.join(ACCEPTED_KEYS)}")
    values = dict(table)
    bidders = values.get("bidders", Controls.bidders)
    if isinstance(bidders, str):
        bidders = split_bidders(bidders)
    if not isinstance(bidders, (list, tuple)) or not all(isinstance(b, str) for b in bidders):
        raise SpecFileError(f"{where}: bidders must be a list of distribution specs, got {bidders!r}; "
                            f"accepted: {ACCEPTED_SPECS}")
    values["bidders"] = tuple(bidders)
    values.setdefault("buyers", len(values["bidders"]) if "bidders" in table else Controls.buyers)
    try:
        return Controls(**values)
    except InputError as err:
        raise SpecFileError(f"{where}: {err}") from None


def runner_format(doc: dict, path: str | Path) -> bool:
    """Whether a spec is written in the runner's keys (:mod:`agora.experiments.spec`) rather than the
    controls' own: a protocol only the runner has, run settings or a sweep, or a key of the runner's
    kind that is not a control. A key that is neither is refused here, in one line worded as the
    runner words it."""
    from agora.experiments.dashboard import views  # before runner_spec: the views' modules import each other
    from agora.experiments.dashboard.runner_spec import RUN_SETTINGS, runner_keys

    market = doc["market"]
    protocol = market.get("protocol", Controls.protocol)
    runner = runner_keys(protocol) if isinstance(protocol, str) else ()
    unknown = sorted(set(market) - set(ACCEPTED_KEYS) - set(runner))
    if unknown:
        theirs = f"; or the runner's keys of protocol {shown(protocol)}: {', '.join(runner)}" if runner else ""
        err = bad_value(f"market.{unknown[0]}", market[unknown[0]],
                        f"the dashboard's keys {', '.join(ACCEPTED_KEYS)}{theirs}", "unknown key")
        raise SpecFileError(f"{path}: {err}")
    if not runner:
        return False
    return (protocol not in views.VIEWS or any(k in doc for k in (*RUN_SETTINGS, "sweep"))
            or not set(market) <= set(ACCEPTED_KEYS)
            or protocol == "robust" and isinstance(market.get("bidders"), int))  # the runner's count of bidders


def load_spec(path: str | Path) -> Controls:
    """Controls from a TOML file (:func:`read_spec`), without its notices."""
    return read_spec(path)[0]


def read_spec(path: str | Path) -> tuple[Controls, list[str]]:
    """Controls from the ``[market]`` table of a TOML file, in the controls' keys or the runner's
    (:mod:`agora.experiments.dashboard.runner_spec`), and notices of what the dashboard sets aside.
    The file is read by the runner's reader (:func:`agora.experiments.spec.read_spec_document`): a
    file that cannot be read, is not TOML or has a bad top level is refused in the line ``agora run``
    gives."""
    _, doc = read_spec_document(path)
    path = Path(path)
    if runner_format(doc, path):
        from agora.experiments.dashboard.runner_spec import controls_from_runner_spec

        return controls_from_runner_spec(doc, str(path))
    return controls_from_table(doc["market"], f"{path} [market]"), []
