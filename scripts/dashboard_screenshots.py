"""Retake the README's dashboard screenshots (docs/img) from a demo run.

    monitor demo --days 7 --workdir /tmp/demo
    python scripts/dashboard_screenshots.py /tmp/demo/monitor.yaml

Starts ``monitor dashboard`` on the demo's config, opens each page in Chromium (Playwright) and
saves the Overview, the demo incident (as the alert's link opens it) and the Mentions page sorted
by interactions, at the sizes the README shows.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]
IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
WIDTH = 1400
SHOTS = {"dashboard-overview": 1250, "dashboard-incident": 2300, "dashboard-mentions": 900}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def settle(page) -> None:
    """Wait until the script ran and the charts are drawn."""
    page.wait_for_selector(IDLE)
    page.wait_for_function("() => [...document.querySelectorAll('[data-testid=\"stVegaLiteChart\"]')]"
                           ".every(chart => chart.querySelector('canvas, svg'))")
    page.wait_for_timeout(1500)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config", type=Path, help="the demo's monitor.yaml")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "img")
    args = parser.parse_args()
    from monitor import config as config_lib
    from monitor.store import open_store

    incident = min(open_store(config_lib.load(args.config).storage).incidents(), key=lambda i: i.opened_at)
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "monitor", "dashboard", "--config", str(args.config),
                               "--port", str(port)], start_new_session=True, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, env=dict(os.environ, PYTHONPATH=str(ROOT)))
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(180):
            try:
                if httpx.get(f"{url}/_stcore/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.5)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=shutil.which("chromium"), headless=True,
                                                 args=["--no-sandbox", "--disable-dev-shm-usage"])
            for name, url_path in (("dashboard-overview", "/"),
                                   ("dashboard-incident", f"/?incident={incident.id}"),
                                   ("dashboard-mentions", "/mentions")):
                page = browser.new_context(viewport={"width": WIDTH, "height": SHOTS[name]}).new_page()
                page.set_default_timeout(90_000)
                page.goto(url + url_path)
                settle(page)
                if name == "dashboard-mentions":
                    page.get_by_text("Most interactions").click()
                    settle(page)
                page.screenshot(path=str(args.out / f"{name}.png"))
                print(f"wrote {args.out / name}.png")
            browser.close()
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=20)


if __name__ == "__main__":
    main()
