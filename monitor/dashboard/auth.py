"""Who may read the dashboard: Streamlit's OpenID Connect login where ``[auth]`` is configured in
``.streamlit/secrets.toml``, otherwise the password in ``MONITOR_DASHBOARD_PASSWORD`` (compared in
constant time), otherwise nobody is asked (``monitor dashboard`` then listens on 127.0.0.1 only)."""

from __future__ import annotations

import hmac
import os
import time

import streamlit as st

from monitor.dashboard.access import PASSWORD_ENV, oidc_configured

_SIGNED_IN = "signed_in"
WRONG_PASSWORD_DELAY = 1.0
"""Seconds a wrong password waits, so guessing is slow."""


def password_matches(given: str, expected: str) -> bool:
    """Constant-time comparison of the typed password with the configured one."""
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def require_login() -> None:
    """Stop the page with a login form until the reader has signed in (no-op when no login is set)."""
    if oidc_configured():
        if not st.user.is_logged_in:
            st.title("monitor")
            st.button("Log in", on_click=st.login, type="primary")
            st.stop()
        return
    expected = os.environ.get(PASSWORD_ENV, "")
    if not expected or st.session_state.get(_SIGNED_IN):
        return
    st.title("monitor")
    with st.form("login"):
        given = st.text_input("Password", type="password")
        submitted = st.form_submit_button("Log in", type="primary")
    if submitted:
        if password_matches(given, expected):
            st.session_state[_SIGNED_IN] = True
            st.rerun()
        time.sleep(WRONG_PASSWORD_DELAY)
        st.error("Wrong password.")
    st.stop()
