"""Reproduction reports: each paper claim beside what Agora measures."""

from __future__ import annotations

import datetime as _dt
import platform
from dataclasses import asdict, dataclass, field
from pathlib import Path

from agora.experiments.output import dumps, write_text
from agora.experiments.tables import format_table, markdown_table

#: Where a row's expected value comes from: a number printed in the paper (quote where),
#: the paper's closed form evaluated by code other than the code measured, an independent
#: method (a linear program, brute force, exact arithmetic, another algorithm), a comparison
#: of two evaluators, or an inequality of the paper (the row shows its slack).
PROVENANCE = ("paper-number", "paper-formula", "independent", "cross-evaluator", "bound")


@dataclass(frozen=True)
class Check:
    """One claim of a paper on one instance: the expected value, ours, and whether the claim holds.

    ``provenance`` is one of :data:`PROVENANCE` and ``source`` says where exactly (the page or
    equation of a printed number, the independent method used).
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

    def __post_init__(self):
        if self.provenance and self.provenance not in PROVENANCE:
            raise ValueError(f"provenance {self.provenance!r}; accepted: {', '.join(PROVENANCE)}")


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

    def markdown(self) -> str:
        held = sum(c.holds for c in self.checks)
        out = [f"# {self.title}", "",
               f"Source: `{self.source}`. Generated {_dt.date.today().isoformat()} by "
               f"`agora reproduce` (Python {platform.python_version()}).", "",
               f"**{held} of {len(self.checks)} checks hold.**", ""]
        for s in self.sections:
            out += [f"## {s.title}", "", s.text.strip(), ""]
            if s.checks:
                rows = [(c.result, c.instance, c.quantity, c.paper, c.measured, c.tolerance,
                         "holds" if c.holds else "**FAILS**") for c in s.checks]
                out += [markdown_table(["result", "instance", "quantity", "paper", "measured",
                                        "tolerance", "claim"], rows), ""]
            if s.extra:
                out += [s.extra.strip(), ""]
        return "\n".join(out)

    def summary(self) -> str:
        rows = [(c.result, c.instance, c.quantity, c.paper, c.measured,
                 "holds" if c.holds else "FAILS") for c in self.checks]
        held = sum(c.holds for c in self.checks)
        return (f"{self.title}\n\n"
                + format_table(["result", "instance", "quantity", "paper", "measured", "claim"], rows)
                + f"\n\n{held} of {len(self.checks)} checks hold.")

    def write(self, out: Path) -> None:
        write_text(out / "report.md", self.markdown())
        write_text(out / "results.json", dumps({"title": self.title, "source": self.source,
                                                "checks": [asdict(c) for c in self.checks]}))
