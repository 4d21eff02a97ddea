"""Reproduction reports: each paper claim beside what Agora measures."""

from __future__ import annotations

import datetime as _dt
import math
import platform
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

from agora.experiments.output import dumps, write_text
from agora.experiments.tables import format_table, markdown_table

#: Where a row's expected value comes from: a number printed in the paper (quote where),
#: the paper's closed form evaluated by code other than the code measured, an independent
#: method (a linear program, brute force, exact arithmetic, another algorithm), a comparison
#: of two evaluators, or an inequality of the paper (the row shows its slack).
PROVENANCE = ("paper-number", "paper-formula", "independent", "cross-evaluator", "bound")
#: How the headline names each kind (singular, plural).
KIND_NAMES = {"paper-number": ("paper number", "paper numbers"),
              "paper-formula": ("paper formula", "paper formulas"),
              "independent": ("independent", "independent"),
              "cross-evaluator": ("cross-evaluator", "cross-evaluator"),
              "bound": ("bound", "bounds")}
SENSES = ("", ">=", "<=")


@dataclass(frozen=True)
class Check:
    """One claim of a paper on one instance: the expected value, ours, and whether the claim holds.

    ``provenance`` is one of :data:`PROVENANCE` and ``source`` says where exactly (the page or
    equation of a printed number, the independent method used); both are required. A bound row
    (``provenance="bound"``) has the bound in ``paper``; ``sense`` says whether the measured value
    must be at least (">=") or at most ("<=") it, and :attr:`slack` is how far it is from binding.
    """

    result: str
    instance: str
    quantity: str
    paper: float | str
    measured: float | str
    holds: bool
    tolerance: str = ""
    provenance: str = ""
    source: str = ""
    sense: str = ""

    def __post_init__(self):
        if self.provenance not in PROVENANCE:
            raise ValueError(f"{self.result} ({self.quantity}): provenance {self.provenance!r}; "
                             f"accepted: {', '.join(PROVENANCE)}")
        if not self.source:
            raise ValueError(f"{self.result} ({self.quantity}): no source for the expected value")
        if self.sense not in SENSES:
            raise ValueError(f"sense {self.sense!r}; accepted: '>=', '<=' or ''")
        object.__setattr__(self, "holds", bool(self.holds))

    @property
    def slack(self) -> float | None:
        """measured / bound for a lower bound, bound / measured for an upper one (>= 1 when it holds).

        Without a stated sense the direction is the one the row's verdict implies. None for rows
        that are not bounds or whose values are not positive numbers.
        """
        if self.provenance != "bound" or not all(_is_number(x) for x in (self.paper, self.measured)):
            return None
        b, m = float(self.paper), float(self.measured)
        if b <= 0 or m < 0:
            return None
        up = m / b
        down = b / m if m > 0 else math.inf
        if self.sense == ">=":
            return up
        if self.sense == "<=":
            return down
        return max(up, down) if self.holds else min(up, down)


def _is_number(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


@dataclass
class Section:
    title: str
    text: str
    checks: list[Check] = field(default_factory=list)
    extra: str = ""  # markdown after the table (figures, more tables)


@dataclass
class Report:
    title: str
    source: str
    sections: list[Section] = field(default_factory=list)

    @property
    def checks(self) -> list[Check]:
        return [c for s in self.sections for c in s.checks]

    @property
    def all_hold(self) -> bool:
        return all(c.holds for c in self.checks)

    @property
    def tightest_slack(self) -> float | None:
        """The least slack over the bound rows, None if no bound row has one."""
        slacks = [c.slack for c in self.checks if c.slack is not None]
        return min(slacks) if slacks else None

    def headline(self) -> str:
        """e.g. "158 of 158 checks hold: 12 paper numbers, ..., 15 bounds (tightest slack 1.04)"."""
        checks = self.checks
        held = sum(c.holds for c in checks)
        counts = Counter(c.provenance for c in checks)
        parts = []
        for kind in PROVENANCE:
            if counts[kind]:
                one, many = KIND_NAMES[kind]
                parts.append(f"{counts[kind]} {one if counts[kind] == 1 else many}")
        if counts["bound"] and self.tightest_slack is not None:
            parts[-1] += f" (tightest slack {self.tightest_slack:.3g})"
        return f"{held} of {len(checks)} checks hold" + (": " + ", ".join(parts) if parts else "")

    def markdown(self) -> str:
        out = [f"# {self.title}", "",
               f"Source: {self.source}. Generated {_dt.date.today().isoformat()} by "
               f"`agora reproduce` (Python {platform.python_version()}).", "",
               f"**{self.headline()}.**", "",
               "Provenance of each expected value: *paper-number* (printed in the paper), *paper-formula* "
               "(the paper's closed form, evaluated apart from the code measured), *independent* (another "
               "method), *cross-evaluator* (two evaluators of the same quantity), *bound* (an inequality of "
               "the paper; slack = measured / bound for a lower bound, bound / measured for an upper one).", ""]
        for s in self.sections:
            out += [f"## {s.title}", "", s.text.strip(), ""]
            if s.checks:
                rows = [(c.result, c.instance, c.quantity, c.paper, c.measured, _tolerance(c),
                         c.provenance, c.source, "holds" if c.holds else "**FAILS**") for c in s.checks]
                out += [markdown_table(["result", "instance", "quantity", "expected", "measured",
                                        "tolerance", "provenance", "source", "claim"], rows), ""]
            if s.extra:
                out += [s.extra.strip(), ""]
        return "\n".join(out)

    def summary(self) -> str:
        rows = [(c.result, c.instance, c.quantity, c.paper, c.measured, c.provenance,
                 "holds" if c.holds else "FAILS") for c in self.checks]
        return (f"{self.title}\n\n"
                + format_table(["result", "instance", "quantity", "expected", "measured", "provenance",
                                "claim"], rows)
                + f"\n\n{self.headline()}.")

    def write(self, out: Path) -> None:
        write_text(out / "report.md", self.markdown())
        write_text(out / "results.json", dumps({
            "title": self.title, "source": self.source, "headline": self.headline(),
            "checks": [{**asdict(c), "slack": c.slack} for c in self.checks]}))


def _tolerance(c: Check) -> str:
    if c.slack is None:
        return c.tolerance
    return f"{c.tolerance}; slack {c.slack:.4g}" if c.tolerance else f"slack {c.slack:.4g}"
