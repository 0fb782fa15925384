"""The dashboard's login: a password form until the right password is typed (AppTest, headless)."""

from __future__ import annotations

import pytest

from monitor.dashboard import auth
from dashboard_seed import config_fixture, fresh_caches_fixture, run_app  # noqa: F401 (pytest fixtures)

PASSWORD = "correct horse battery staple"


@pytest.fixture(autouse=True)
def fast_refusals(monkeypatch):
    monkeypatch.setattr(auth, "WRONG_PASSWORD_DELAY", 0.0)


def test_without_a_password_the_dashboard_opens(config, monkeypatch):
    monkeypatch.delenv(auth.PASSWORD_ENV, raising=False)
    at = run_app()
    assert not at.text_input and any("overview" in t.value for t in at.title)


def test_a_password_is_asked_before_anything_is_shown(config, monkeypatch):
    monkeypatch.setenv(auth.PASSWORD_ENV, PASSWORD)
    at = run_app()
    assert [t.label for t in at.text_input] == ["Password"]
    assert not at.metric and not at.sidebar.selectbox
    at.text_input[0].input("wrong")
    at.button[0].click().run()
    assert [e.value for e in at.error] == ["Wrong password."]
    assert not at.metric
    at.text_input[0].input(PASSWORD)
    at.button[0].click().run()
    assert not at.exception and at.metric and not at.text_input


@pytest.mark.parametrize(("given", "expected"), [("a", "a"), ("ä€", "ä€")])
def test_password_comparison(given, expected):
    assert auth.password_matches(given, expected)
    assert not auth.password_matches(given + "x", expected)
