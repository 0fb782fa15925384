"""Whether ``monitor dashboard`` may listen where it was asked to: beyond this machine only behind
a login (a password in ``MONITOR_DASHBOARD_PASSWORD`` or Streamlit's ``[auth]`` OpenID Connect)."""

from __future__ import annotations

import ipaddress
import os
import tomllib
from pathlib import Path
from urllib.parse import urlsplit

from monitor.errors import ConfigError

PASSWORD_ENV = "MONITOR_DASHBOARD_PASSWORD"


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def oidc_configured(folder: Path | None = None) -> bool:
    """Whether Streamlit's secrets (``.streamlit/secrets.toml`` here or in the home folder) hold ``[auth]``."""
    for candidate in ((folder or Path.cwd()) / ".streamlit" / "secrets.toml", Path.home() / ".streamlit" / "secrets.toml"):
        try:
            if "auth" in tomllib.loads(candidate.read_text(encoding="utf-8")):
                return True
        except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
            continue
    return False


def check_access(host: str) -> None:
    """Refuse (exit 2) to serve the dashboard beyond loopback without a login."""
    if is_loopback(host) or os.environ.get(PASSWORD_ENV) or oidc_configured():
        return
    raise ConfigError(f"--host {host} would let anyone on the network read every mention and incident: set "
                      f"{PASSWORD_ENV} (a password readers type) or configure [auth] in .streamlit/secrets.toml "
                      "(single sign-on), or keep the default --host 127.0.0.1")


DEFAULT_PORT = 8501


def link_port(dashboard_url: str, asked: int | None) -> tuple[int, str | None]:
    """The port to serve on and, when Slack's links would miss it, what to change.

    Without ``--port`` the dashboard serves on the port ``slack.dashboard_url`` names, so the
    alerts' "Open in dashboard" links reach it.
    """
    parts = urlsplit(dashboard_url) if dashboard_url else None
    named = parts.port or (443 if parts.scheme == "https" else 80) if parts and parts.hostname else None
    local = parts is not None and parts.hostname is not None and is_loopback(parts.hostname)
    port = asked or (named if local and named else DEFAULT_PORT)
    if local and named != port:
        return port, (f"Slack alerts link to {dashboard_url} (slack.dashboard_url in the config), not to port {port}; "
                      "set slack.dashboard_url to where people open the dashboard.")
    return port, None
