"""The dashboard in a real browser: `agora viz` serves it, headless Chromium drives it.

One server (started as a user would, ``agora viz SPEC.toml --port P``) serves every
test; each protocol is chosen in the sidebar and Reset, Step is clicked several
times, and the page must show the network, redraw its plots, and display the
revenue that the same market, built here independently with the same seed, earns.
Every request the page makes must stay on 127.0.0.1, and the server must not try
to fetch front-end assets from the internet. Screenshots go to
``results/screenshots/<protocol>.png`` (or ``$AGORA_ARTIFACTS``).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from agents.adjustment import PartialAdjustment
from agents.strategies import BestCommitment, BestResponseDynamics, StackelbergPrice
from experiments.dashboard.views import VIEWS
from market.model import MarketModel

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


def independent_model(protocol: str) -> MarketModel:
    """The market the page should be showing, built from the agents' own strategies."""
    specs = [BIDDERS[i % len(BIDDERS)] for i in range(BUYERS)]
    if protocol == "seller-first":
        kw = {"seller": PartialAdjustment(StackelbergPrice(), RATE, START)}
    elif protocol == "intermediary-first":
        kw = {"intermediary": PartialAdjustment(BestCommitment(("posted_price",)), RATE, START)}
    else:
        kw = {"seller": PartialAdjustment(BestResponseDynamics(START), RATE, START),
              "intermediary": PartialAdjustment(BestResponseDynamics(START), RATE, START)}
    return MarketModel(specs, protocol=protocol, rng=SEED, **kw)


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


def _choose_protocol(page, protocol: str) -> None:
    page.locator(".v-select", has_text="protocol").first.click()
    page.locator(".menuable__content__active .v-list-item", has_text=protocol).first.click()
    page.get_by_role("button", name="Reset").click()
    page.get_by_text(VIEWS[protocol].title).wait_for(timeout=60_000)


@pytest.mark.parametrize("protocol", ["seller-first", "intermediary-first", "simultaneous"])
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
    for k in range(1, STEPS + 1):
        page.get_by_role("button", name="Step").click()
        page.locator("span.round", has_text=f"round {k}").wait_for(timeout=60_000)

    assert network.is_visible() and network.bounding_box()["width"] > 200
    assert _image(page, "Revenue, welfare and prices").get_attribute("src") != before

    model = independent_model(protocol)
    for _ in range(STEPS):
        model.step()
    rounds = model.datacollector.get_model_vars_dataframe()
    for col in ("seller_revenue", "intermediary_revenue", "welfare"):
        assert _cell(page, col, "mean") == f"{rounds[col].mean():.6f}", col
        assert _cell(page, col, "this_round") == f"{rounds[col].iloc[-1]:.6f}", col

    if protocol == "simultaneous":
        assert _image(page, "Price plane").is_visible()
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
    url, _ = server
    page = browser.new_page()
    page.goto(url)
    page.locator("span.round", has_text="round 0").wait_for(timeout=60_000)
    page.get_by_role("button", name="▶").click()
    page.locator("span.round", has_text="round 2").wait_for(timeout=60_000)
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
