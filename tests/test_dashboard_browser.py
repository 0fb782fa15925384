"""The dashboard in a real browser: ``monitor dashboard`` on a seeded database, driven by Debian's Chromium.

Screenshots of every page are saved under ``test-artifacts/dashboard/``. Skipped, with the reason,
only where Chromium is not installed (``make test`` installs it where it can); with
``MONITOR_REQUIRE_BROWSER=1`` (CI) that is a failure instead.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import httpx
import pytest

from dashboard_seed import (
    BRAND, COMPETITOR, COMPETITOR_COUNT, COUNT, FAILURE, MENTIONS, make_incident, seed, write_config,
)

from monitor.alerts.notify.story import title

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts" / "dashboard"
STARTUP_SECONDS = 90
STOP_SECONDS = 10
PAGE_TIMEOUT_MS = 60_000
WIDTH = 1280  # a laptop's window: nothing may run off its right edge
OFF_THE_EDGE = """() => {
    const main = document.querySelector('[data-testid="stMainBlockContainer"]');
    const edge = main.getBoundingClientRect().right;
    return [...main.querySelectorAll('[data-testid="stElementContainer"]')]
        .filter(e => e.getBoundingClientRect().width > 0 && e.getBoundingClientRect().right > edge + 1)
        .map(e => e.innerText.slice(0, 60));
}"""
IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
CHARTS_DRAWN = """count => {
    const charts = [...document.querySelectorAll('[data-testid="stVegaLiteChart"]')];
    return charts.length === count && charts.every(chart => chart.querySelector('canvas, svg'));
}"""


def chromium_path() -> str:
    """Debian's Chromium (or ``$CHROMIUM``); skips without it, or fails where ``MONITOR_REQUIRE_BROWSER=1`` (CI)."""
    found = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        reason = ("Chromium is not installed and could not be installed here (`apt-get install -y chromium` "
                  "needs root and a package mirror); the browser test needs it.")
        if os.environ.get("MONITOR_REQUIRE_BROWSER") == "1":
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def monitor_command() -> list[str]:
    script = Path(sys.executable).parent / "monitor"
    return [str(script)] if script.exists() else [sys.executable, "-m", "monitor"]


def stop(server: subprocess.Popen) -> None:
    """End ``monitor dashboard`` and the Streamlit server it started: their own process group, politely first."""
    for signal_number in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(server.pid, signal_number)
        except ProcessLookupError:
            return
        try:
            server.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            pass


@contextmanager
def running_dashboard(folder: Path, env: dict[str, str] | None = None) -> Iterator[str]:
    """``monitor dashboard`` on a seeded database in ``folder``; yields its URL, stops it after."""
    seed(folder / "monitor.db")
    config = write_config(folder, folder / "monitor.db")
    port = free_port()
    log = (folder / "dashboard.log").open("w")
    server = subprocess.Popen([*monitor_command(), "dashboard", "--config", str(config), "--port", str(port)],
                              stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                              env=dict(os.environ, **(env or {})))
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            assert server.poll() is None, (folder / "dashboard.log").read_text()
            try:
                if httpx.get(f"{url}/_stcore/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, f"no dashboard:\n{(folder / 'dashboard.log').read_text()}"
            time.sleep(0.5)
        yield url
    finally:
        stop(server)
        log.close()


@pytest.fixture(scope="module")
def dashboard_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with running_dashboard(tmp_path_factory.mktemp("browser")) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium_path(), headless=True,
                                              args=["--no-sandbox", "--disable-dev-shm-usage"])
        yield launched
        launched.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": WIDTH, "height": 2200})
    opened = context.new_page()
    opened.set_default_timeout(PAGE_TIMEOUT_MS)
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    yield opened
    context.close()
    assert not errors, f"JavaScript errors in the page (a chart failed to draw?): {errors}"


def shows(locator) -> bool:
    """Whether ``locator`` is visible, waiting for it as Streamlit streams the page in."""
    locator.wait_for(state="visible")
    return locator.is_visible()


def in_range(page):
    """The value of the Overview's "Mentions in range" metric."""
    return page.get_by_test_id("stMetric").filter(has_text="Mentions in range").get_by_test_id("stMetricValue")


def visit(page, url: str, heading: str, shot: str, charts: int) -> None:
    """Open ``url``; wait until ``heading`` shows, the script ran and ``charts`` charts are drawn; no exception;
    save a screenshot."""
    page.goto(url)
    page.get_by_role("heading", name=heading).wait_for()
    page.wait_for_selector(IDLE)
    page.wait_for_function(CHARTS_DRAWN, arg=charts)
    assert page.locator('[data-testid="stException"]').count() == 0
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{shot}.png"))


def test_overview(page, dashboard_url):
    visit(page, dashboard_url, f"{BRAND}: overview", "overview", charts=4)
    assert shows(in_range(page).get_by_text(f"{COUNT:,}", exact=True))
    assert shows(page.get_by_role("heading", name="Share of voice"))


def test_brand_picker_switches_brand(page, dashboard_url):
    visit(page, dashboard_url, f"{BRAND}: overview", "overview-before-brand", charts=4)
    page.get_by_test_id("stSidebar").get_by_test_id("stSelectbox").click()
    page.get_by_role("option", name=COMPETITOR).click()
    assert shows(page.get_by_role("heading", name=f"{COMPETITOR}: overview"))
    assert shows(in_range(page).get_by_text(f"{COMPETITOR_COUNT:,}", exact=True))


def test_mentions_search_filter(page, dashboard_url):
    visit(page, dashboard_url + "/mentions", f"{BRAND}: mentions", "mentions", charts=0)
    assert shows(page.get_by_text(f"{COUNT:,} mention(s) match"))
    search = page.get_by_role("textbox", name="Search text")
    search.fill("delayed")
    search.press("Enter")
    expected = sum(1 for m in MENTIONS if "delayed" in m.text)
    assert shows(page.get_by_text(f"{expected:,} mention(s) match"))
    page.wait_for_selector(IDLE)
    assert shows(page.get_by_test_id("stDownloadButton"))
    page.screenshot(path=str(ARTIFACTS / "mentions-filtered.png"))


def test_incidents_and_slack_link(page, dashboard_url):
    visit(page, dashboard_url + "/incidents", f"{BRAND}: incidents", "incidents", charts=1)
    incident = make_incident()
    visit(page, f"{dashboard_url}/?incident={incident.id}", f"{BRAND}: incidents", "incident-linked", charts=1)
    assert shows(page.get_by_role("heading", name=title(incident)))
    assert shows(page.get_by_role("heading", name="Representative posts"))
    assert shows(page.get_by_text("Service outage / travel disruption").first)
    assert page.evaluate(OFF_THE_EDGE) == []
    assert page.evaluate("document.documentElement.scrollWidth") <= WIDTH


def test_clicking_the_volume_chart_lists_that_buckets_mentions(page, dashboard_url):
    visit(page, dashboard_url, f"{BRAND}: overview", "overview", charts=4)
    chart = page.get_by_test_id("stVegaLiteChart").first
    box = chart.bounding_box()
    chart.click(position={"x": box["width"] / 2, "y": box["height"] / 2})
    page.get_by_text("mention(s) from").first.wait_for()
    page.wait_for_selector(IDLE)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "overview-bucket.png"))
    assert page.get_by_test_id("stDataFrame").count() >= 3  # the bucket's mentions, top posts, top authors


def test_outcomes_care_and_health(page, dashboard_url):
    visit(page, dashboard_url + "/outcomes", f"{BRAND}: playbook outcomes", "outcomes", charts=0)
    visit(page, dashboard_url + "/care", f"{BRAND}: customer care", "care", charts=1)
    assert shows(page.get_by_text("12 min"))
    visit(page, dashboard_url + "/health", f"{BRAND}: sources health", "health", charts=1)
    assert shows(page.get_by_text(FAILURE).first)
