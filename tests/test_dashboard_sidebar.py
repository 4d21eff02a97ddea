"""The dashboard's sidebar, rendered without a browser: which controls it shows, what they show, and the
market as a spec file that reads back to the same controls."""

from __future__ import annotations

import threading
import time
import tomllib
from dataclasses import fields, replace

import ipyvuetify as v
import ipywidgets
import pytest
import solara

from agora.experiments.dashboard import page
from agora.experiments.dashboard.controls import ACCEPTED_KEYS, Controls, controls_from_table, read_spec
from agora.experiments.dashboard.model import MarketDashboard
from agora.experiments.dashboard.page import make_page
from agora.experiments.dashboard.sidebar import FIELDS, applied, spec_text
from agora.experiments.dashboard.views import VIEWS
from agora.market.errors import InputError
from tests.dashboard_checks import rule_and_knowledge

ONE_LAW = ("uniform:0,1",)  # posted menus and posted fees need identically distributed buyers
SLIDERS = [name for name, f in FIELDS.items() if f.kind in ("int", "float")]


def market(protocol: str, **changes) -> Controls:
    """A market of ``protocol`` that every view accepts: 3 buyers of one law (two intermediaries in posted fees),
    and a rule that makes a market (:func:`rule_and_knowledge`)."""
    values = {"bidders": ONE_LAW, "buyers": 3, "intermediaries": 2 if protocol == "posted-fees" else 1,
              **rule_and_knowledge(protocol, changes.get("rule"))}
    return Controls(protocol=protocol, **{**values, **changes})


def render(controls: Controls):
    """The page as a browser session gets it, inside the app layout that holds the sidebar."""
    _, rc = solara.render(solara.AppLayout(children=[make_page(controls)()]), handle_error=False)
    return rc


def shown(rc) -> set[str]:
    return {name for name in ACCEPTED_KEYS if len(rc.find(meta_control=name))}


def choose(rc, name: str, value) -> None:
    """Pick ``value`` in the select of control ``name``, as a click in the menu does."""
    rc.find(meta_control=name).find(v.Select).widget.v_model = value


def test_every_control_has_a_field_and_every_view_declares_known_controls():
    assert sorted(FIELDS) == sorted(ACCEPTED_KEYS)
    for view in VIEWS.values():
        assert set(view.controls) <= set(ACCEPTED_KEYS) and "protocol" in view.controls, view.protocol


@pytest.mark.parametrize("protocol", list(VIEWS))
def test_the_sidebar_shows_exactly_the_controls_the_view_declares(protocol):
    rc = render(market(protocol))
    assert shown(rc) == set(VIEWS[protocol].controls)
    rc.close()


def test_choosing_a_protocol_shows_its_controls_and_a_rule_it_has():
    rc = render(market("posted-menu", rule="intermediary-proof"))
    assert {"intermediaries", "items", "utility"} <= shown(rc)
    choose(rc, "protocol", "veto-bargaining")
    assert shown(rc) == set(VIEWS["veto-bargaining"].controls)
    assert not {"intermediaries", "items", "utility"} & shown(rc)
    rule = rc.find(meta_control="rule").find(v.Select).widget
    assert rule.items == list(VIEWS["veto-bargaining"].rules) and rule.v_model == "best-response"
    rc.close()


def test_every_slider_shows_its_value_in_the_number_beside_it():
    c = market("posted-menu", buyers=7, intermediaries=3, items=4, rate=0.35, window=70)
    rc = render(c)
    for name in set(SLIDERS) & shown(rc):
        box = rc.find(meta_control=name)
        assert box.find(v.Slider).widget.v_model == getattr(c, name), name
        assert float(box.find(v.TextField).widget.v_model) == getattr(c, name), name
    rc.close()


@pytest.mark.parametrize("protocol", list(VIEWS))
def test_a_control_not_shown_does_not_change_the_market(protocol):
    """Every protocol, every rule: a hidden control set off its default is refused by the protocol or
    leaves the first rounds exactly as they were."""
    other = {"rate": 0.5, "seller_price": 0.3, "intermediary_price": 0.4, "intermediaries": 3, "items": 2,
             "utility": "monopolist", "points": 11, "mean": 0.25, "upper": 2.0, "adversary": "distributions"}
    hidden = [name for name in other if name not in VIEWS[protocol].controls]
    for rule in VIEWS[protocol].rules:
        base = market(protocol, rule=rule)
        for name in hidden:
            try:
                changed = replace(base, **{name: other[name]})
            except InputError as err:
                assert name in str(err)
                continue
            series = []
            for c in (base, changed):
                m = MarketDashboard(**c.as_page_values())
                for _ in range(3):
                    m.step()
                series.append(m.view.series(m.market))
            assert series[0].equals(series[1]), (rule, name)


def spec_markets():
    """A market per protocol with its shown controls off their defaults (floats that need every digit)."""
    two_laws = ("uniform:0,1", "exponential:1.5")
    yield market("seller-first", bidders=two_laws, buyers=5, rate=0.1 + 0.2, seller_price=0.25, seed=12345678901)
    yield market("intermediary-first", rate=0.5, intermediary_price=1e-05, window=30)
    yield market("simultaneous", bidders=two_laws, rule="hedge", rate=0.7, seller_price=0.2,
                 intermediary_price=0.3, points=17)
    yield market("learning", rule="regret-matching", seller_price=0.1, intermediary_price=0.9)
    yield market("posted-menu", buyers=7, intermediaries=3, items=2, utility="monopolist", rule="fixed-price",
                 seller_price=0.45)
    yield market("posted-fees", buyers=4, items=2, rule="hedge", rate=0.5, seller_price=0.2,
                 intermediary_price=0.1, points=21)
    yield market("veto-bargaining", bidders=two_laws, buyers=4, rule="fixed-price", seller_price=0.6, seed=3)
    yield market("k-item-auction", buyers=5, intermediaries=2, items=2, utility="monopolist", rule="fixed-price",
                 seller_price=0.35)
    yield market("robust", bidders=("uniform:0.2,0.9",), buyers=2, rule="best-reserve", mean=0.55, upper=1.5,
                 adversary="distributions", seed=4)
    yield market("robust", rule="random-price", upper=3.0)


@pytest.mark.parametrize("controls", list(spec_markets()), ids=lambda c: c.protocol)
def test_the_spec_text_reads_back_to_the_same_controls(controls, tmp_path):
    assert MarketDashboard(**applied(controls.as_page_values())).controls == controls  # nothing hidden is set
    path = tmp_path / "market.toml"
    path.write_text(spec_text(controls))
    assert read_spec(path) == (controls, [])  # what `agora viz SPEC` reads
    assert set(tomllib.loads(path.read_text())["market"]) <= set(VIEWS[controls.protocol].controls)


@pytest.mark.parametrize("controls", list(spec_markets()), ids=lambda c: c.protocol)
def test_the_page_shows_its_market_as_a_spec_that_reads_back(controls):
    rc = render(controls)
    text = rc.find(v.Textarea).widget.v_model
    assert controls_from_table(tomllib.loads(text)["market"]) == controls
    rc.close()


def test_hidden_controls_are_kept_in_the_sidebar_and_left_out_of_the_market():
    """A spec may set a control its protocol does not read: the sidebar keeps it for a protocol that
    does, the market on the page has it at its default, and so has its spec text."""
    c = Controls(points=11, rate=0.5, intermediary_price=0.3)  # seller-first reads the rate, not the others
    built = replace(c, points=None, intermediary_price=0.0)
    assert {f.name for f in fields(Controls)} == set(applied(c.as_page_values()))
    assert MarketDashboard(**applied(c.as_page_values())).controls == built
    rc = render(c)
    assert controls_from_table(tomllib.loads(rc.find(v.Textarea).widget.v_model)["market"]) == built
    choose(rc, "protocol", "simultaneous")
    for name, value in (("points", "11"), ("intermediary_price", "0.3")):
        assert rc.find(meta_control=name).find(v.TextField).widget.v_model == value, name
    rc.close()


def reset(rc) -> None:
    """Click Reset and wait until the new market is built (Reset builds it in a thread)."""
    rc.find(v.Btn, children=["Reset"]).widget.click()
    built(rc)


def built(rc, pictures: int = 1) -> None:
    """Wait until no Reset is building a market, the page shows its panels with at least ``pictures``
    of the market built (the panels are drawn one after another once the build ends) and Step is
    enabled again (a click on a disabled button is lost)."""
    for _ in range(600):
        if (not page.BUILDING.value and not rc.find(v.ProgressLinear) and not panels_hidden(rc)
                and figures(rc) >= pictures and "round 0" in summary(rc)
                and not rc.find(v.Btn, children=["Step"]).widget.disabled):
            return
        time.sleep(0.05)
    raise AssertionError("Reset did not finish building in 30 s")


def at_round(rc, n: int) -> None:
    """Wait until the summary shows round ``n``: a Step's redraw is left to another thread when one is
    rendering (the panels of a market just built, say), which draws it once its current picture is done."""
    for _ in range(600):
        if f"round {n}<" in summary(rc):
            return
        time.sleep(0.05)
    raise AssertionError(f"the page did not reach round {n} in 30 s: {summary(rc)[:200]}")


def panels_hidden(rc) -> bool:
    """Whether the page's grid of panels is hidden (while Reset builds)."""
    return "display:none" in rc.find(v.Html, class_="agora-panels").widget.style_.replace(" ", "")


def test_reset_builds_the_chosen_protocol_from_the_controls_it_shows():
    """Posted menus with 3 intermediaries and 2 items, then veto bargaining and Reset: the committee's
    market, whose one intermediary and one item (the defaults) it accepts, and its spec text says so."""
    rc = render(market("posted-menu", intermediaries=3, items=2, rule="fixed-price", seller_price=0.4))
    choose(rc, "protocol", "veto-bargaining")
    reset(rc)
    text = rc.find(v.Textarea).widget.v_model
    expected = market("veto-bargaining", rule="fixed-price", seller_price=0.4)  # a rule veto bargaining has
    assert controls_from_table(tomllib.loads(text)["market"]) == expected
    assert "intermediaries" not in text and "items" not in text
    rc.close()


def figures(rc) -> int:
    return len(rc.find(ipywidgets.Image))


def summary(rc) -> str:
    return next(w.widget.unsafe_innerHTML for w in rc.find(solara.widgets.HTML)
                if 'class="summary"' in w.widget.unsafe_innerHTML)


def test_while_reset_builds_the_page_shows_progress_and_no_figure_of_the_old_market(monkeypatch):
    """Reset held before its market is built: a progress bar, the old market's panels (three pictures and
    the summary) hidden; once built, the new market's three pictures at round 0 in sight."""
    gate, started = threading.Event(), threading.Event()
    build = page.prepared

    def held(parameters):
        started.set()
        gate.wait(30)
        return build(parameters)

    monkeypatch.setattr(page, "prepared", held)
    rc = render(market("simultaneous", rule="fictitious-play", points=11))
    assert figures(rc) == 3
    rc.find(v.Btn, children=["Step"]).widget.click()
    assert "round 1" in summary(rc)
    rc.find(v.Btn, children=["Reset"]).widget.click()
    assert started.wait(30)
    assert page.BUILDING.value and len(rc.find(v.ProgressLinear)) == 1
    assert panels_hidden(rc)  # the old market's pictures and summary with it (the browser test looks)
    assert len(rc.find(v.Html, class_="agora-panels")) == 1
    assert rc.find(v.Btn, children=["Step"]).widget.disabled
    gate.set()
    built(rc, pictures=3)
    assert figures(rc) == 3 and "round 0" in summary(rc) and not rc.find(v.ProgressLinear)
    rc.close()


@pytest.mark.parametrize("protocol", list(VIEWS))
def test_the_market_after_reset_plays_the_rounds_of_a_freshly_built_one(protocol):
    """Three rounds, Reset, three rounds on the page: the summary (this round, mean so far, exact) of a
    market built and stepped on its own from the same controls, seed included."""
    c = market(protocol, buyers=4, seed=11)
    rc = render(c)
    for _ in range(3):
        rc.find(v.Btn, children=["Step"]).widget.click()
    reset(rc)
    for _ in range(3):
        rc.find(v.Btn, children=["Step"]).widget.click()
    at_round(rc, 3)
    fresh = MarketDashboard(**applied(c.as_page_values()))
    for _ in range(3):
        fresh.step()
    assert fresh.error is None and summary(rc) == page.summary_html(fresh)
    rc.close()
