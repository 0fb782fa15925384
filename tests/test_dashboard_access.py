"""``monitor dashboard`` serves beyond this machine only behind a login."""

from __future__ import annotations

import pytest

from monitor.dashboard.access import PASSWORD_ENV, check_access, is_loopback, link_port, oidc_configured
from monitor.errors import ConfigError


@pytest.fixture(autouse=True)
def no_login(monkeypatch, tmp_path):
    monkeypatch.delenv(PASSWORD_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))


@pytest.mark.parametrize(("host", "loopback"), [("127.0.0.1", True), ("::1", True), ("localhost", True),
                                                 ("0.0.0.0", False), ("192.0.2.7", False), ("example.org", False)])
def test_loopback_hosts(host, loopback):
    assert is_loopback(host) is loopback


def test_loopback_needs_no_login():
    check_access("127.0.0.1")


def test_another_host_without_a_login_is_refused():
    with pytest.raises(ConfigError, match=PASSWORD_ENV) as caught:
        check_access("0.0.0.0")
    assert caught.value.exit_code == 2


def test_a_password_or_single_sign_on_opens_another_host(monkeypatch, tmp_path):
    monkeypatch.setenv(PASSWORD_ENV, "s3cret")
    check_access("0.0.0.0")
    monkeypatch.delenv(PASSWORD_ENV)
    (tmp_path / ".streamlit").mkdir()
    (tmp_path / ".streamlit" / "secrets.toml").write_text('[auth]\nredirect_uri = "http://x/oauth2callback"\n')
    assert oidc_configured()
    check_access("0.0.0.0")


def test_a_broken_secrets_file_is_not_a_login(tmp_path):
    (tmp_path / ".streamlit").mkdir()
    (tmp_path / ".streamlit" / "secrets.toml").write_text("[auth\n")
    assert not oidc_configured()


def test_the_dashboard_serves_where_slacks_links_point():
    assert link_port("http://localhost:8600", None) == (8600, None)
    assert link_port("http://localhost:8501", None) == (8501, None)
    port, note = link_port("http://localhost:8600", 8501)
    assert port == 8501 and "slack.dashboard_url" in note and "8600" in note
    assert link_port("https://monitor.example.com/", None) == (8501, None)  # behind a proxy: its own port
    assert link_port("", 8502) == (8502, None)
