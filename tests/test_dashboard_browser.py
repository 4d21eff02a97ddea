"""The dashboard in a real browser: `agora viz` serves it, headless Chromium drives it.

One server (started as a user would, ``agora viz SPEC.toml --port P``) serves every
test; each of the six protocols is chosen in the sidebar (posted menus and posted
fees with one law, two intermediaries and two items set there too, posted fees with
Hedge) and Reset, Step is clicked
several times, and the page must show the network, redraw its plots (the price plane too, where
there is one: simultaneous play and posted fees), and display
the amounts (revenue, utilities, profit) and welfare that the same market, built
here independently with the same seed, yields.
In the sidebar, each protocol shows exactly the controls its view declares, each at least
100 CSS px wide and showing the value of the page's market (as its spec text writes it).
Every request the page makes must stay on 127.0.0.1, and the server must not try
to fetch front-end assets from the internet. Screenshots go to
``results/screenshots/<protocol>.png`` and ``sidebar-<protocol>.png`` (or ``$AGORA_ARTIFACTS``).
"""

from __future__ import annotations

import itertools
import os
import socket
import subprocess
import sys
import time
import tomllib
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import pytest

from agora.agents.adjustment import PartialAdjustment
from agora.agents.strategies import BestCommitment, BestResponseDynamics, StackelbergPrice
from agora.experiments.dashboard.figures import PANEL_PX
from agora.experiments.dashboard.views import VIEWS
from agora.market.demand import from_partition
from agora.market.k_items.mechanisms import ItemMenu
from agora.market.k_items.solver import best_posted_price
from agora.market.learning.k_selection import KItemMarket
from agora.market.learning.rules import Hedge
from agora.models.group_model import GroupModel
from agora.models.learning_models import k_learning_model
from agora.models.market_model import MarketModel
from agora.protocols.posted_menu import PostedMenu

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run"]
BIDDERS = ["uniform:0,1", "uniform:0,2"]
BUYERS, SEED, RATE, START = 3, 5, 0.5, 0.2
STEPS = 4
SPEC = f"""[market]
protocol = "seller-first"
bidders = {BIDDERS!r}
buyers = {BUYERS}
rule = "best-response"
rate = {RATE}
seller_price = {START}
intermediary_price = {START}
seed = {SEED}
""".replace("'", '"')


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"the browser tests need Debian's chromium at {CHROMIUM}: run `make setup` as root "
                    "or `sudo apt-get install chromium`")
    spec = tmp_path_factory.mktemp("viz") / "market.toml"
    spec.write_text(SPEC)
    log = spec.with_name("server.log")
    port = _free_port()
    agora = Path(sys.executable).with_name("agora")
    with open(log, "w") as out:
        proc = subprocess.Popen([str(agora), "viz", str(spec), "--port", str(port)], stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                urllib.request.urlopen(url, timeout=5).read()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"the dashboard server did not come up:\n{log.read_text()}")
                time.sleep(0.5)
        yield url, log
    finally:
        proc.terminate()
        proc.wait(timeout=20)


@pytest.fixture(scope="module")
def browser():
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        yield b
        b.close()


POSTED_MENU = {"law": "uniform:0,1", "intermediaries": 2, "items": 2}  # set on the page; blocks [0, 1], [2]
FEES_RULE = "hedge"  # posted fees: chosen on the page; rate 0.5 is Hedge's eta 5
PLANES = ("simultaneous", "posted-fees")  # the protocols with a price plane
K_ITEMS = ("posted-menu", "k-item-auction", "posted-fees")  # one law, 2 intermediaries and 2 items set on the page
ONE_LAW_ONLY = ("q-learning-fees",)  # one law set on the page (one intermediary holds every buyer)
PROTOCOLS = ["seller-first", "intermediary-first", "simultaneous", "posted-menu", "posted-fees", "veto-bargaining"]


def independent_rounds(protocol: str) -> dict[str, list[float]]:
    """What the page should show, from the market built from the agents' own strategies and models."""
    specs = [BIDDERS[i % len(BIDDERS)] for i in range(BUYERS)]
    if protocol == "veto-bargaining":
        model = GroupModel(specs, mechanism="optimal", rng=SEED)  # Theorem 1's mechanism
        rounds = []
        for _ in range(STEPS):
            model.step()
            rounds.append(model.last)
        return {"seller_profit": [r.profit for r in rounds],
                **{f"member_{i}_utility": [r.utilities[i] for r in rounds] for i in range(BUYERS)},
                "welfare": [r.profit + sum(r.utilities) for r in rounds]}
    if protocol == "posted-fees":  # 31 prices on [0, 1]: the start 0.2 is the 7th; Hedge, eta 10 x rate
        market = KItemMarket("page", POSTED_MENU["law"], (2, 1), POSTED_MENU["items"], points=31)
        model = k_learning_model(market, (Hedge(10 * RATE),) * 3, (6, 6, 6), None, np.random.SeedSequence(SEED))
        for _ in range(STEPS):
            model.step()
        df = model.datacollector.get_model_vars_dataframe()
        return {"seller_revenue": df["seller_revenue"].tolist(), "welfare": df["welfare"].tolist(),
                "intermediary_0_revenue": (df["first_fee"] * df["first_items"]).tolist(),
                "intermediary_1_revenue": (df["second_fee"] * df["second_items"]).tolist()}
    if protocol == "posted-menu":
        k, law = POSTED_MENU["items"], POSTED_MENU["law"]
        best = best_posted_price(law, [2, 1], k).price  # the seller's best price on blocks of 2 and 1
        path = [best + (START - best) * (1 - RATE) ** (t + 1) for t in range(STEPS)]  # partial adjustment
        model = MarketModel([law] * BUYERS, protocol=PostedMenu(ItemMenu.posted(path[0], k)),
                            demand=from_partition([[0, 1], [2]], BUYERS), utility="surplus", rng=SEED)
        for price in path:
            model.protocol.menu = ItemMenu.posted(price, k)
            model.step()
        df = model.datacollector.get_model_vars_dataframe()
        return {c: df[c].tolist() for c in ("seller_revenue", "welfare")}
    elif protocol == "seller-first":
        model = MarketModel(specs, protocol=protocol, seller=PartialAdjustment(StackelbergPrice(), RATE, START),
                            rng=SEED)
    elif protocol == "intermediary-first":
        model = MarketModel(specs, protocol=protocol, rng=SEED,
                            intermediary=PartialAdjustment(BestCommitment(("posted_price",)), RATE, START))
    else:
        model = MarketModel(specs, protocol=protocol, rng=SEED,
                            seller=PartialAdjustment(BestResponseDynamics(START), RATE, START),
                            intermediary=PartialAdjustment(BestResponseDynamics(START), RATE, START))
    for _ in range(STEPS):
        model.step()
    df = model.datacollector.get_model_vars_dataframe()
    return {c: df[c].tolist() for c in ("seller_revenue", "welfare", "intermediary_revenue")}


def _local(request: str, url: str) -> bool:
    """A request to the dashboard's own server (blob: and data: URLs are made in the page itself)."""
    if request.startswith("data:"):
        return True
    return urlsplit(request.removeprefix("blob:")).netloc == urlsplit(url).netloc


def _cell(page, quantity: str, column: str) -> str:
    row = page.locator("table.summary tr", has=page.locator(f'td[data-col="quantity"]:text-is("{quantity}")'))
    return row.locator(f'td[data-col="{column}"]').inner_text().strip()


def _image(page, card: str):
    return page.locator(".v-card", has_text=card).locator("img").first


def _control(page, name: str):
    """The sidebar's box of control ``name`` (its label, widget and note)."""
    return page.locator(f".agora-control-{name}").first


def _set_slider(page, name: str, value: int) -> None:
    """Move the slider of control ``name`` from 1 to ``value`` with the keyboard."""
    thumb = _control(page, name).locator("[role=slider]").first
    thumb.focus()
    for _ in range(value - 1):
        thumb.press("ArrowRight")
    _control(page, name).locator(f'[role=slider][aria-valuenow="{value}"]').wait_for(
        state="attached", timeout=10_000)


def _fill_number(page, name: str, value: int) -> None:
    """Type ``value`` in the number field beside control ``name``'s slider until the slider shows it (a
    value typed while the page still hydrates the field is dropped by the widget: typed again)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    slider = _control(page, name).locator(f'[role=slider][aria-valuenow="{value}"]')
    for attempt in range(3):
        field = _control(page, name).locator("input").last
        field.fill(str(value))
        field.press("Enter")
        try:
            slider.wait_for(state="attached", timeout=20_000)
            return
        except PlaywrightTimeout:
            if attempt == 2:
                raise


def _choose(page, name: str, value: str) -> None:
    _control(page, name).locator(".v-select").click()
    page.locator(".menuable__content__active .v-list-item", has_text=value).first.click()


def _choose_protocol(page, protocol: str) -> None:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    _choose(page, "protocol", protocol)
    if protocol in K_ITEMS + ONE_LAW_ONLY:
        field = _control(page, "bidders").locator("input").first
        field.fill(POSTED_MENU["law"])
        field.press("Enter")
    if protocol in K_ITEMS:
        _set_slider(page, "intermediaries", POSTED_MENU["intermediaries"])
        _set_slider(page, "items", POSTED_MENU["items"])
    if protocol == "posted-fees":
        _choose(page, "rule", FEES_RULE)
    page.get_by_role("button", name="Reset").click()
    title = page.get_by_text(VIEWS[protocol].title)
    try:
        title.wait_for(timeout=30_000)
    except PlaywrightTimeout:  # a Reset clicked while the page still applied the controls is lost: once more
        page.get_by_role("button", name="Reset").click()
        title.wait_for(timeout=60_000)


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_steps_redraw_and_show_the_models_revenue(server, browser, protocol):
    url, log = server
    page = browser.new_page(viewport={"width": 1500, "height": 1150})
    requests = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(url)
    page.locator("span.round", has_text="round 0").wait_for(timeout=60_000)
    if protocol != "seller-first":
        _choose_protocol(page, protocol)
        page.locator("span.round", has_text="round 0").wait_for(timeout=60_000)

    network = _image(page, "Demand network")
    network.wait_for(timeout=30_000)
    before = _image(page, "Revenue, welfare and prices").get_attribute("src")
    plane = _image(page, "Price plane")
    if protocol in PLANES:
        plane.wait_for(timeout=30_000)
        plane_before = plane.get_attribute("src")
    for k in range(1, STEPS + 1):
        page.get_by_role("button", name="Step").click()
        page.locator("span.round", has_text=f"round {k}").wait_for(timeout=60_000)

    assert network.is_visible() and network.bounding_box()["width"] > 200
    assert _image(page, "Revenue, welfare and prices").get_attribute("src") != before

    for col, values in independent_rounds(protocol).items():
        assert _cell(page, col, "mean") == f"{sum(values) / len(values):.6f}", col
        assert _cell(page, col, "this_round") == f"{values[-1]:.6f}", col
    if protocol == "posted-menu":  # two intermediaries, each with its own row
        assert _cell(page, "intermediary_1_utility", "exact") != ""
    if protocol == "posted-fees":  # the continuous equilibrium's revenue, and Hedge on the page
        assert _cell(page, "intermediary_1_revenue", "exact") != ""
        assert _control(page, "rule").locator(".v-select__selection").inner_text().strip() == FEES_RULE

    if protocol in PLANES:  # shown, and redrawn with the path so far
        assert plane.is_visible() and plane.bounding_box()["width"] > 200
        assert plane.get_attribute("src") != plane_before
    if protocol == "posted-fees":  # the intermediaries' fee plane at the seller's equilibrium price
        assert page.locator(".v-card", has_text="Price plane").get_by_text("p_s* = ").is_visible()
    outside = [u for u in requests if not _local(u, url)]
    assert not outside, outside
    served = log.read_text()
    assert f"serving the dashboard at {url}" in served
    assert "Could not load URL" not in served

    shots = Path(os.environ.get("AGORA_ARTIFACTS", ROOT / "results" / "screenshots"))
    shots.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shots / f"{protocol}.png"), full_page=True)
    page.close()


def test_play_pause_and_reset(server, browser):
    """Play at the shortest pause (10 ms, less than any redraw of three pictures takes): the page batches
    rounds per redraw and says so; Pause stops the rounds; Reset goes back to round 0."""
    url, _ = server
    page = browser.new_page()
    page.goto(url)
    page.locator("span.round", has_text="round 0").wait_for(timeout=60_000)
    _fill_number(page, "play_interval", 10)
    page.get_by_role("button", name="▶").click()
    page.wait_for_function("() => { const e = document.querySelector('span.round');"  # batches skip rounds
                           " return e && parseInt(e.innerText.split(' ').pop()) >= 2; }", timeout=60_000)
    pace = page.locator(".agora-pace", has_text="batched: a redraw takes")
    pace.wait_for(timeout=60_000)
    assert "longer than the 10 ms pause allows" in pace.inner_text() and "rounds/s" in pace.inner_text()
    page.get_by_role("button", name="❚❚").click()
    page.get_by_role("button", name="▶").wait_for(timeout=30_000)
    shown = [page.locator("span.round").inner_text()]
    for _ in range(3):  # a round under way when Pause was clicked may still land, then no more
        time.sleep(2.0)
        shown.append(page.locator("span.round").inner_text())
        if shown[-1] == shown[-2]:
            break
    assert shown[-1] == shown[-2] and len(set(shown)) <= 2, shown
    assert int(shown[-1].split()[-1]) >= 2
    page.get_by_role("button", name="Reset").click()
    page.locator("span.round", has_text="round 0").wait_for(timeout=60_000)
    assert _cell(page, "seller_revenue", "mean") == ""
    page.close()


SAMPLE_JS = """title => {
  const laidOut = e => e.getClientRects().length > 0, text = document.body.innerText;
  return [[...document.querySelectorAll('img')].filter(laidOut).map(i => i.src),
          text.includes('Building the market'),
          [...document.querySelectorAll('span.round')].filter(laidOut).map(e => e.innerText),
          text.includes(title)];
}"""  # one look at the page: the pictures and rounds laid out, progress, the new market's title


def test_reset_never_shows_the_previous_market(server, browser):
    """Two rounds of seller-first play, then intermediary-first with 200 buyers and Reset: from the first
    sample of the page that differs from the one before Reset until the new market's round 0, no picture
    of the old market is shown, and progress is."""
    url, _ = server
    page = browser.new_page(viewport={"width": 1440, "height": 1000})
    page.goto(url)
    page.locator("span.round", has_text="round 0").wait_for(timeout=60_000)
    for k in (1, 2):
        page.get_by_role("button", name="Step").click()
        page.locator("span.round", has_text=f"round {k}").wait_for(timeout=60_000)
    _choose(page, "protocol", "intermediary-first")
    _fill_number(page, "buyers", 200)
    title = VIEWS["intermediary-first"].title
    time.sleep(1.0)  # the sidebar's new height may have moved the page's width: let the pictures follow
    old, *_ = page.evaluate(SAMPLE_JS, title)
    page.get_by_role("button", name="Reset").click()
    seen = []
    for _ in range(600):
        shown, building, rounds, new = page.evaluate(SAMPLE_JS, title)
        seen.append((len(set(shown) & set(old)), building, tuple(rounds), new))
        if new and rounds == ["round 0"]:
            break
        time.sleep(0.05)
    assert seen[-1][3] and seen[-1][2] == ("round 0",), seen[-1]
    # until the click reaches the server the page is the one before Reset: every old picture, no progress,
    # round 2 of the old market; from the first sample that differs on, Reset has taken effect
    untouched = (len(old), False, ("round 2",), False)
    after = list(itertools.dropwhile(lambda s: s == untouched, seen))
    assert after and not any(s[0] for s in after), ("a picture of the old market was shown after Reset", after)
    assert any(s[1] for s in after), "no progress shown while the 200-buyer market was built"
    page.close()


CARD_TEXT_JS = """img => { const text = img.closest('.v-card__text'), style = getComputedStyle(text);
  return text.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight); }"""


@pytest.mark.parametrize("protocol, viewport", [("seller-first", 1440), ("simultaneous", 1440),
                                                ("simultaneous", 1920), ("simultaneous", 1100)])
def test_figures_fill_their_panels_at_their_own_size(server, browser, protocol, viewport):
    """Each picture is drawn as wide as its panel's content with TEXT_PX text and shown unscaled (its text
    is TEXT_PX CSS px); two panels a row where each picture gets at least PANEL_PX, else one."""
    url, _ = server
    page = browser.new_page(viewport={"width": viewport, "height": 1000})
    page.goto(url)
    page.locator("span.round", has_text="round 0").wait_for(timeout=60_000)
    if protocol != "seller-first":
        _choose_protocol(page, protocol)
    page.get_by_role("button", name="Step").click()
    page.locator("span.round", has_text="round 1").wait_for(timeout=60_000)
    cards = ["Demand network", "Revenue, welfare and prices"] + (["Price plane"] if protocol in PLANES else [])
    widths = []
    for card in cards:
        image = _image(page, card)
        image.wait_for(timeout=30_000)
        page.wait_for_function(f"() => {{ const i = document.evaluate(\"//div[contains(@class, 'v-card')]"
                               f"[.//div[text()='{card}']]//img\", document, null, 9, null).singleNodeValue;"
                               f" return i && Math.abs(i.naturalWidth - ({CARD_TEXT_JS})(i)) <= 1; }}",
                               timeout=30_000)  # the page's width reached the server, the picture followed
        natural, shown = image.evaluate("e => [e.naturalWidth, e.getBoundingClientRect().width]")
        assert shown == pytest.approx(natural, abs=0.5), (card, natural, shown)
        widths.append(natural)
    network, summary = (page.locator(".v-card", has_text=c).first.bounding_box() for c in ("Demand network",
                                                                                           "Summary"))
    two = widths[0] >= PANEL_PX and network["y"] == pytest.approx(summary["y"], abs=1)
    assert two == (viewport >= 1440), (viewport, widths, network, summary)  # 1100 px: one column, wider
    assert min(widths) >= PANEL_PX and len(set(widths)) == 1, widths
    if viewport == 1920:
        assert widths[0] > PANEL_PX + 150  # the page's width is used, not left empty
    page.close()


CONTROLS_JS = """() => [...document.querySelectorAll('.agora-control')].map(box => {
  const name = [...box.classList].find(c => c.startsWith('agora-control-')).slice('agora-control-'.length);
  const widget = box.querySelector('.v-slider') || box.querySelector('.v-input');
  const slider = box.querySelector('[role=slider]');
  const number = box.querySelector('.control-value input');
  const select = box.querySelector('.v-select__selection');
  const text = box.querySelector('input');
  return {name, width: widget.getBoundingClientRect().width, slider: slider && slider.getAttribute('aria-valuenow'),
          shown: number ? number.value : select ? select.innerText : text.value};
})"""
MIN_CONTROL_PX = 100
MIN_TEXT_PX = 11
SMALL_TEXT_JS = """min => {
  const small = [], walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode, box = node.parentElement, text = node.textContent.trim();
    const shown = box.getClientRects().length > 0 && getComputedStyle(box).visibility !== 'hidden';
    const px = parseFloat(getComputedStyle(box).fontSize);
    if (text && shown && px < min) small.push([px, text.slice(0, 60)]);
  }
  return small;
}"""


def _spec_values(page) -> dict:
    """The page's market, read from its spec text with the spec reader's TOML parser."""
    return tomllib.loads(page.locator(".agora-spec textarea").input_value())["market"]


def _as_shown(name: str, value) -> str:
    """How a spec value appears in the sidebar (distributions joined by '; ', numbers as typed)."""
    if name == "bidders":
        return "; ".join(value)
    return "" if value is None else f"{value:g}" if isinstance(value, float) else str(value)


def _same(shown: str, expected: str) -> bool:
    """The same text, or the same number written another way (0.5 and 0.50)."""
    try:
        return shown == expected or float(shown) == float(expected)
    except ValueError:
        return False


@pytest.mark.parametrize("protocol", list(VIEWS))
def test_every_control_shows_its_value_and_is_wide_enough(server, browser, protocol):
    """At 1440 px: the sidebar holds exactly the protocol's controls (and Play's two), each at least
    MIN_CONTROL_PX wide, each showing the value the page's spec text holds for its market; a slider's
    number is the slider's own value. No text shown on the page is under MIN_TEXT_PX CSS px.
    The k-item markets: the 2 intermediaries and 2 items set show."""
    url, _ = server
    page = browser.new_page(viewport={"width": 1440, "height": 1000})
    page.goto(url)
    page.locator("span.round", has_text="round 0").wait_for(timeout=60_000)
    if protocol != "seller-first":
        _choose_protocol(page, protocol)
        page.locator("span.round", has_text="round 0").wait_for(timeout=60_000)
    page.wait_for_function("p => (document.querySelector('.agora-spec textarea') || {}).value"
                           "?.includes(`protocol = \"${p}\"`)", arg=protocol, timeout=30_000)
    controls = page.evaluate(CONTROLS_JS)
    spec = {**_spec_values(page), "protocol": protocol}
    names = [c["name"] for c in controls]
    assert sorted(names) == sorted(VIEWS[protocol].controls + ("play_interval", "render_interval"))
    for c in controls:
        assert c["width"] >= MIN_CONTROL_PX, c
        if c["slider"] is not None:
            assert c["shown"] == c["slider"], c
        if c["name"] in VIEWS[protocol].controls:
            expected = _as_shown(c["name"], spec.get(c["name"]))
            assert _same(c["shown"], expected), (c, expected)
    small = page.evaluate(SMALL_TEXT_JS, MIN_TEXT_PX)  # the pictures' text: see the size test above
    assert not small, f"text under {MIN_TEXT_PX} CSS px: {small}"
    if protocol in K_ITEMS:
        shown = {c["name"]: c["shown"] for c in controls}
        assert (shown["intermediaries"], shown["items"]) == ("2", "2")
        assert (spec["intermediaries"], spec["items"]) == (2, 2)
    shots = Path(os.environ.get("AGORA_ARTIFACTS", ROOT / "results" / "screenshots"))
    shots.mkdir(parents=True, exist_ok=True)
    tall = page.evaluate("() => document.querySelector('.v-navigation-drawer__content').scrollHeight")
    page.set_viewport_size({"width": 1440, "height": max(1000, tall + 80)})  # the whole sidebar in sight
    page.screenshot(path=str(shots / f"sidebar-{protocol}.png"), full_page=True)
    page.close()


def _readout_at(page, image, dx: float, dy: float) -> tuple[float, float]:
    """Point at (dx, dy) CSS px from the picture's centre; the prices the read-out shows there once it
    has settled (the same for 0.3 s)."""
    box = image.bounding_box()
    before = page.locator(".agora-plane-readout").inner_text()
    page.mouse.move(box["x"] + box["width"] / 2 + dx, box["y"] + box["height"] / 2 + dy)
    page.wait_for_function("t => { const e = document.querySelector('.agora-plane-readout');"
                           " return e && e.innerText !== t && e.innerText.includes('best responses'); }",
                           arg=before, timeout=30_000)
    text = None
    while text != (text := page.locator(".agora-plane-readout").inner_text()):
        time.sleep(0.3)
    x, y = (float(part.split("=")[1]) for part in text.split(";")[0].split(","))  # "p_s = a, p_I = b"
    return x, y


def test_the_price_plane_reads_out_under_the_pointer_and_zooms_on_a_click(server, browser):
    """Simultaneous play: the read-out under the pointer moves with it (40 px right: higher p_s, same
    p_I); after a click at the centre the point under it stays (a map's zoom) and 40 px is half as many
    prices; the whole-plane button brings the first scale back."""
    url, _ = server
    page = browser.new_page(viewport={"width": 1440, "height": 1400})
    page.goto(url)
    page.locator("span.round", has_text="round 0").wait_for(timeout=60_000)
    _choose_protocol(page, "simultaneous")
    image = _image(page, "Price plane")
    image.wait_for(timeout=30_000)
    image.scroll_into_view_if_needed()
    time.sleep(1.0)  # the page's width has reached the server and the picture followed
    centre, right = _readout_at(page, image, 0, 0), _readout_at(page, image, 40, 0)
    span = right[0] - centre[0]
    assert span > 0 and right[1] == pytest.approx(centre[1], abs=1e-3)
    src, box = image.get_attribute("src"), image.bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_function("s => document.querySelector('.agora-plane img').src !== s", arg=src, timeout=30_000)
    pixel = span / 40
    zoomed = _readout_at(page, image, 1, 0)
    assert zoomed[0] == pytest.approx(centre[0] + pixel / 2, abs=1.5 * pixel)
    assert zoomed[1] == pytest.approx(centre[1], abs=1.5 * pixel)
    zoomed_right = _readout_at(page, image, 41, 0)
    assert zoomed_right[0] - zoomed[0] == pytest.approx(span / 2, rel=0.05)
    src = image.get_attribute("src")
    page.locator(".agora-plane-whole").click()
    page.wait_for_function("s => document.querySelector('.agora-plane img').src !== s", arg=src, timeout=30_000)
    a, b = _readout_at(page, image, 2, 0), _readout_at(page, image, 42, 0)
    assert b[0] - a[0] == pytest.approx(span, rel=0.05)
    page.close()
