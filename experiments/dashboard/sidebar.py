"""The dashboard's sidebar: the market's controls and the market as a spec file.

Each control has its label above it (a long label never narrows the control), shows its
value (a slider has a number field beside it, which also takes a typed value), and appears
only for the protocols that read it (:attr:`~agora.experiments.dashboard.views.MarketView.controls`);
the market is built with every control that is not shown at its default (:func:`applied`).
The market on the page is also shown as the ``[market]`` table of a spec file
(:func:`spec_text`) that ``agora viz SPEC`` reads back to the same controls
(:func:`agora.experiments.dashboard.controls.read_spec`).
"""

from __future__ import annotations

import json
from contextlib import contextmanager
from dataclasses import dataclass

import solara

from agora.agents.adjustment import FP_TEMPERATURE, HEDGE_ETA
from agora.experiments.dashboard.controls import ACCEPTED_KEYS, ADVERSARIES, Controls
from agora.experiments.dashboard.views import VIEWS
from agora.market.k_items.utility import MODELS as UTILITY_MODELS

NOTE_STYLE = {"font-size": "12px", "color": "#555", "line-height": "1.3"}
VALUE_STYLE = {"max-width": "6em", "min-width": "5em", "margin-left": "8px"}


@dataclass(frozen=True)
class Field:
    """How the sidebar draws one control: ``kind`` is "select", "text", "int" or "float" (a slider
    from ``low`` to ``high`` with a number field beside it); ``note`` is a line of help below it."""

    label: str
    kind: str
    note: str = ""
    low: float = 0
    high: float = 0
    step: float = 1


FIELDS = {
    "protocol": Field("protocol", "select"),
    "bidders": Field("distributions", "text", "specs separated by ';', repeated in turn to fill the buyers"),
    "buyers": Field("number of buyers", "int", "the committee's members in veto bargaining", 1, 200),
    "intermediaries": Field("number of intermediaries", "int", "the buyers split into contiguous blocks", 1, 200),
    "items": Field("items for sale", "int", "", 1, 50),
    "utility": Field("intermediaries' utility", "select"),
    "mean": Field("bound on every bidder's mean", "text", "the seller knows each mean is at least this "
                  "(Chapter 1); blank: only the range"),
    "upper": Field("top of the value range", "text", "values lie in [0, upper]"),
    "adversary": Field("nature", "select", "the thesis' worst case for the mechanism, or independent draws "
                       "from the distributions"),
    "beta": Field("exploration decay beta", "text", "each side explores with probability exp(-beta t)"),
    "delta": Field("discount delta", "float", "", 0.0, 0.99, 0.01),
    "memory": Field("memory", "int", "past pairs of prices each side's state holds", 1, 3),
    "sample_row": Field("seller's sample", "int", "of the intermediary's remembered prices", 1, 50),
    "sample_column": Field("intermediary's sample", "int", "of the seller's remembered prices", 1, 50),
    "eps_row": Field("seller's mistake rate", "float", "", 0.01, 1.0, 0.01),
    "eps_column": Field("intermediary's mistake rate", "float", "", 0.01, 1.0, 0.01),
    "rule": Field("learning rule", "select"),
    "rate": Field("learning rate r", "float", f"step; revise w.p. r; Hedge eta {HEDGE_ETA:g}r; "
                  f"fictitious play temperature {FP_TEMPERATURE:g}/r", 0.05, 1.0, 0.05),
    "seller_price": Field("seller's start (or fixed) price", "text"),
    "intermediary_price": Field("intermediary's start (or fixed) price", "text", "both fees in posted fees"),
    "points": Field("grid points", "text", "prices per side of the learners' grid; blank: the protocol's own"),
    "seed": Field("seed", "text"),
    "window": Field("rounds shown", "int", "the series show the last this many rounds", 10, 1000, 10),
}


def shown_controls(protocol: str) -> tuple[str, ...]:
    """The controls the page shows for ``protocol``, in the sidebar's order (:data:`FIELDS`): what is
    sold to whom, how the parties move, the seed and the window."""
    declared = VIEWS[protocol].controls
    return tuple(name for name in FIELDS if name in declared)


def applied(values: dict) -> dict:
    """The page's values (as :meth:`Controls.as_page_values` writes them) with every control the
    protocol does not show at its default: what Reset builds the market from."""
    shown = shown_controls(values["protocol"])
    defaults = Controls().as_page_values()
    return {name: values[name] if name in shown else defaults[name] for name in ACCEPTED_KEYS}


def with_value(values: dict, name: str, value) -> dict:
    """The page's values after one control changed; a new protocol whose rules lack the current
    rule gets its first rule."""
    new = {**values, name: value}
    rules = VIEWS[new["protocol"]].rules
    if new["rule"] not in rules:
        new["rule"] = rules[0]
    return new


def _toml(value) -> str:
    """A TOML value: strings as basic strings (JSON's escapes are TOML's), lists of them, numbers."""
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, tuple):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return repr(value)


def spec_text(controls: Controls) -> str:
    """The ``[market]`` table of a spec file holding ``controls``' protocol and every control it shows
    (a blank grid, None, is left out); the others are the defaults the reader fills in."""
    lines = ["[market]"]
    for name in shown_controls(controls.protocol):
        value = getattr(controls, name)
        if value is not None:
            lines.append(f"{name} = {_toml(value)}")
    return "\n".join(lines) + "\n"


def _text(value) -> str:
    """A value in a text field: a number in its shortest exact form (0.2, not 0.2000)."""
    if isinstance(value, float) and float(f"{value:g}") == value:
        return f"{value:g}"
    return str(value)


def _choices(name: str, protocol: str) -> list[str]:
    if name == "protocol":
        return list(VIEWS)
    if name == "rule":
        return list(VIEWS[protocol].rules)
    if name == "adversary":
        return list(ADVERSARIES)
    return list(UTILITY_MODELS)


@contextmanager
def labelled(name: str, label: str, note: str):
    """One control's box: its label above the widgets made inside, its note below them."""
    with solara.Column(gap="2px", classes=["agora-control", f"agora-control-{name}"],
                       style={"min-width": "0", "padding-bottom": "14px"}).meta(control=name):
        solara.Text(label, classes=["control-label"], style={"font-size": "14px", "font-weight": "500"})
        yield
        if note:
            solara.Text(note, classes=["control-note"], style=NOTE_STYLE)


def number_slider(value, on_value, spec: Field) -> None:
    """A slider with its value in a number field beside it (either sets the value); the range
    widens to hold a value set beyond it."""
    slider, number = ((solara.SliderFloat, solara.InputFloat) if spec.kind == "float"
                      else (solara.SliderInt, solara.InputInt))
    with solara.Row(style={"align-items": "center", "flex-wrap": "nowrap"}, gap="0px"):
        slider("", value=value, min=min(spec.low, value), max=max(spec.high, value), step=spec.step,
               on_value=on_value, thumb_label=False)
        number("", value=value, on_value=on_value, continuous_update=False, classes=["control-value"],
               style=VALUE_STYLE, dense=True)


@solara.component
def ControlField(name: str, values: dict, on_value):
    """The widget of control ``name`` showing ``values[name]``, labelled."""
    spec, value = FIELDS[name], values[name]
    with labelled(name, spec.label, spec.note):
        if spec.kind in ("int", "float"):
            number_slider(value, on_value, spec)
        elif spec.kind == "select":
            solara.Select("", value=value, values=_choices(name, values["protocol"]), on_value=on_value)
        else:
            solara.InputText("", value=_text(value), on_value=on_value)


@solara.component
def MarketControls(values: solara.Reactive[dict]):
    """The controls of the protocol chosen in ``values`` (the page's values); a change takes effect at Reset."""
    def setter(name):
        return lambda value: values.set(with_value(values.value, name, value))

    with solara.Column(gap="0px"):
        for name in shown_controls(values.value["protocol"]):
            ControlField(name, values.value, setter(name))


@solara.component
def SpecPanel(controls: Controls | None):
    """The market on the page as a spec file, to copy or to download."""
    if controls is None:
        solara.Text("no market: see the summary", style=NOTE_STYLE)
        return
    text = spec_text(controls)
    with solara.Column(classes=["agora-spec"], gap="4px"):
        solara.v.Textarea(v_model=text, readonly=True, outlined=True, auto_grow=True, rows=4, hide_details=True,
                          style_="font-family: monospace; font-size: 12px; line-height: 1.4")
        solara.FileDownload(text, filename="market.toml", label="download market.toml")
        solara.Text("open it with: agora viz market.toml", style=NOTE_STYLE)
