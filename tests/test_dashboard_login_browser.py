"""The dashboard's password login in a real browser (Debian's Chromium), and no Deploy button."""

from __future__ import annotations

from typing import Iterator

import pytest

from dashboard_seed import BRAND
from monitor.dashboard.access import PASSWORD_ENV
from test_dashboard_browser import ARTIFACTS, IDLE, PAGE_TIMEOUT_MS, browser, running_dashboard  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.slow]
PASSWORD = "tr0ub4dor&3"


@pytest.fixture(scope="module")
def protected_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("login")
    with running_dashboard(folder, {PASSWORD_ENV: PASSWORD}) as url:
        yield url
    assert PASSWORD not in (folder / "dashboard.log").read_text()


def test_the_dashboard_asks_for_the_password_first(browser, protected_url):
    context = browser.new_context(viewport={"width": 1400, "height": 1200})
    page = context.new_page()
    page.set_default_timeout(PAGE_TIMEOUT_MS)
    try:
        page.goto(protected_url)
        password = page.get_by_label("Password", exact=True)
        password.wait_for()
        page.wait_for_selector(IDLE)
        assert page.get_by_text("Mentions in range").count() == 0
        assert page.get_by_text("Deploy", exact=True).count() == 0
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "login.png"))
        password.fill("guess")
        page.get_by_role("button", name="Log in").click()
        page.get_by_text("Wrong password.").wait_for()
        assert page.get_by_text("Mentions in range").count() == 0
        page.get_by_label("Password", exact=True).fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.get_by_role("heading", name=f"{BRAND}: overview").wait_for()
        assert page.get_by_label("Password", exact=True).count() == 0
        page.screenshot(path=str(ARTIFACTS / "login-done.png"))
    finally:
        context.close()
