"""The dashboard's entry point: loads the config named by ``MONITOR_CONFIG``, draws the sidebar, routes pages.

Started by ``monitor dashboard --config monitor.yaml``.
"""

from __future__ import annotations

import os
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import NoReturn
from zoneinfo import ZoneInfo

import streamlit as st

from monitor.dashboard import data
from monitor.dashboard.auth import require_login
from monitor import config as config_lib
from monitor.config import Config
from monitor.errors import ConfigError, MonitorError
from monitor.localtime import day_span, local_day, shown
from monitor.models import Incident

START_HINT = "Start the dashboard with `monitor dashboard --config monitor.yaml`."
DEFAULT_DAYS = 7
# Not ``pages/``: Streamlit treats a ``pages/`` folder beside the entry point as a v1 multipage app
# and may run those files without this script (on a fresh server's deep link, and on AppTest reruns).
PAGES = (
    ("views/overview.py", "Overview", ":material/monitoring:", "overview"),
    ("views/mentions.py", "Mentions", ":material/forum:", "mentions"),
    ("views/incidents.py", "Incidents", ":material/emergency:", "incidents"),
    ("views/outcomes.py", "Playbook outcomes", ":material/checklist:", "outcomes"),
    ("views/care.py", "Customer care", ":material/support_agent:", "care"),
    ("views/health.py", "Sources health", ":material/sensors:", "health"),
)
INCIDENTS_PAGE = "views/incidents.py"
_BRAND = "brand"
_LINK_SEEN = "linked_incident_seen"


def show_setup_problem(title: str, body: str) -> NoReturn:
    """A page of its own that says what is wrong and what to do."""
    st.navigation([st.Page(lambda: None, title="Setup", url_path="setup")], position="hidden")
    st.title("monitor")
    st.error(f"**{title}**")
    st.markdown(body)
    st.stop()


def load_config() -> tuple[str, Config]:
    """The config file named by ``MONITOR_CONFIG``; stops with a setup page when it is missing or invalid."""
    path = os.environ.get("MONITOR_CONFIG", "").strip()
    if not path:
        show_setup_problem("No configuration given.",
                           f"The environment variable `MONITOR_CONFIG` is not set. {START_HINT}")
    try:
        config = config_lib.load(path)
    except ConfigError as exc:
        if any(where.split(" ")[0] == "brands" for where, _ in exc.problems):
            show_setup_problem("No brands configured.",
                               f"Add at least one brand under `brands:` in `{path}` "
                               f"(e.g. `brands: [{{name: Aurora Air}}]`), then reload. {START_HINT}")
        problems = "\n".join(f"- `{where}`: {why}" for where, why in exc.problems)
        show_setup_problem("The configuration cannot be used.",
                           f"{str(exc).splitlines()[0]}\n\n{problems}\n\n"
                           f"Fix it (check with `monitor check-config --config {path}`), then run "
                           "`monitor dashboard --config monitor.yaml`.")
    return str(Path(path).resolve()), config


def date_range(brand: str, newest: datetime, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """Sidebar date range in local days of ``tz`` (as UTC instants), defaulting to the last seven days that hold
    data (not the wall clock)."""
    last = local_day(newest, tz)
    picked = st.sidebar.date_input(
        f"Date range ({tz.key})", value=(last - timedelta(days=DEFAULT_DAYS - 1), last), key=f"range:{brand}",
        help="Defaults to the seven days up to the newest stored mention.",
    )
    days: tuple[date, ...] = tuple(picked) if isinstance(picked, (tuple, list)) else (picked,)
    first, final = (days[0], days[-1]) if days else (last, last)
    return day_span(first, tz)[0], day_span(final, tz)[1]


def linked_incident(store_key: str) -> Incident | None:
    """The incident named by ``?incident=<id>`` (the link in Slack alerts), when it exists."""
    wanted = st.query_params.get("incident", "")
    return data.incident(store_key, wanted) if wanted else None


def main() -> None:
    st.set_page_config(page_title="monitor", page_icon=":material/radar:", layout="wide")
    require_login()
    config_path, config = load_config()
    store_key = config.storage.model_dump_json()
    names = [b.name for b in config.brands]
    try:
        linked = linked_incident(store_key)
        if linked and linked.brand in names and st.session_state.get(_LINK_SEEN) != linked.id:
            st.session_state[_LINK_SEEN] = linked.id
            st.session_state[_BRAND] = linked.brand
        brand = st.sidebar.selectbox("Brand", names, key=_BRAND)
        newest = data.newest_mention(store_key, brand)
    except MonitorError as exc:
        show_setup_problem("The database cannot be read.", f"{exc}\n\nCheck `storage:` in `{config_path}`.")
    wanted = st.query_params.get("incident", "")
    if wanted and linked is None:
        st.warning(f"No incident `{wanted}` in this database, so the Overview is shown. The Incidents page lists "
                   "the incidents; an old link may name one from another database.")
    first = INCIDENTS_PAGE if linked else PAGES[0][0]
    page = st.navigation([st.Page(path, title=title, icon=icon, url_path=url, default=path == first)
                          for path, title, icon, url in PAGES])
    if newest is None:
        st.title(page.title)
        st.info(
            f"No mentions stored for **{brand}** yet. Collect some with `monitor run --config {config_path}`, "
            "or replay the bundled crisis with `monitor demo --workdir demo` "
            "and open it with `monitor dashboard --config demo/monitor.yaml`."
        )
        return
    tz = config.zone(brand)
    start, end = date_range(brand, newest, tz)
    st.sidebar.caption(f"Newest mention: {shown(newest, tz, '%d %b %Y %H:%M')}")
    chosen = next(b for b in config.brands if b.name == brand)
    sources = tuple((s.key, s.every.total_seconds()) for s in chosen.sources if s.enabled)
    data.set_view(data.View(config_path=config_path, store_key=store_key, brand=brand, start=start, end=end,
                            competitors=tuple(chosen.competitors), playbooks_dir=str(config.alerts.playbooks_dir),
                            sources=sources, zone=tz.key))
    page.run()


main()
