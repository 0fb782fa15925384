"""The dashboard tests' small, fully known database (mentions, incidents, alerts, runs) and AppTest helpers."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterator

import pandas as pd
import pytest
import streamlit as st
import yaml
from streamlit.dataframe_util import convert_arrow_bytes_to_pandas_df
from streamlit.testing.v1 import AppTest

from monitor.alerts.incidents.playbooks import BUILT_IN_PLAYBOOKS, load_playbooks
from monitor.models import (
    Author, Engagement, Incident, IncidentState, Mention, Sentiment, Severity, Spike, SpikeKind, StepDone, Transition,
)
from monitor.store.base import JobRun, Notification, NotificationStatus
from monitor.store.sqlite import SqliteStore

PLAYBOOKS = BUILT_IN_PLAYBOOKS
BRAND = "Aurora Air"
COMPETITOR = "SkyLark"
SILENT_COMPETITOR = "Nordwind Airways"
T0 = datetime(2025, 11, 3, 0, 0, tzinfo=timezone.utc)  # a Monday
COUNT = 300
COMPETITOR_COUNT = 100
LABELS = ("negative", "neutral", "neutral", "positive", "negative", "neutral", "positive", "neutral", None, "negative")
OPENED = T0 + timedelta(days=2, hours=3)
ACKNOWLEDGED = OPENED + timedelta(minutes=12)
RESOLVED = OPENED + timedelta(hours=3)
OUTAGE = next(p for p in load_playbooks(PLAYBOOKS) if p.id == "outage")
STEP_TITLES = [step.title for step in OUTAGE.steps]
OPEN_OPENED = T0 + timedelta(days=2, hours=20)
HEADLINE = "Negative sentiment surge for Aurora Air: 40 mentions vs 10 expected (4.0×), 70% negative"
KEY_PHRASES = ["delayed again", "app down"]
POST_TEXT = "Stranded at the gate, flight delayed again and nobody tells us anything"
POST_URL = "https://example.com/viral"
FAILING_SOURCE = "news"
FAILURE = "HTTP 503 from the news feed"


APP = str(Path(__file__).resolve().parents[1] / "monitor" / "dashboard" / "app.py")


def make_mention(n: int, brand: str = BRAND) -> Mention:
    label = LABELS[n % len(LABELS)]
    sentiment = None
    if label:
        probs = {"negative": 0.1, "neutral": 0.1, "positive": 0.1, label: 0.8}
        sentiment = Sentiment(label=label, score=0.8, probabilities=probs)
    created = T0 + timedelta(minutes=14 * n)
    return Mention(
        id=f"x:{n}", brand=brand, source="x" if n % 3 else "news", language="de" if n % 4 == 0 else "en",
        text=f"flight {n} {'delayed again' if label == 'negative' else 'was fine'}",
        created_at=created, collected_at=created, url=f"https://example.com/{n}",
        author=Author(handle=f"@user{n % 7}", followers=100 * (n % 7)), engagement=Engagement(likes=n % 5),
        sentiment=sentiment, reach=1000 + n if n % 10 == 0 else None,
    )


def _threaded(mention: Mention, root: int, parent: int | None) -> Mention:
    reply_to = None if parent is None else f"x:{parent}"
    return mention.model_copy(update={"conversation": f"x:{root}", "reply_to": reply_to})


THREAD = (COUNT - 5, COUNT - 3, COUNT - 1)
"""A post, a reply to it and a reply to the reply (shown as one thread on the Mentions page)."""
MENTIONS = [make_mention(n) for n in range(COUNT)]
MENTIONS[THREAD[0]] = _threaded(MENTIONS[THREAD[0]], THREAD[0], None)
MENTIONS[THREAD[1]] = _threaded(MENTIONS[THREAD[1]], THREAD[0], THREAD[0])
MENTIONS[THREAD[2]] = _threaded(MENTIONS[THREAD[2]], THREAD[0], THREAD[1])
COMPETITOR_MENTIONS = [make_mention(n, COMPETITOR) for n in range(COMPETITOR_COUNT)]


def _spike(opened: datetime, observed: float, share: float, severity: Severity) -> Spike:
    return Spike(
        brand=BRAND, kind=SpikeKind.NEGATIVE, window_start=opened - timedelta(minutes=15), window_end=opened,
        observed=observed, expected=10, score=6.5, severity=severity, negative_share=share, top_terms=["delayed"],
    )


def make_incident() -> Incident:
    """Resolved: opened, acknowledged by a person after 12 minutes, resolved by them after three hours;
    playbook step 1 done on time, step 3 done ten minutes late."""
    return Incident(
        id="aurora-air-20251105-0300-abc123", fingerprint=Incident.fingerprint_of(BRAND, SpikeKind.NEGATIVE),
        brand=BRAND, kind=SpikeKind.NEGATIVE, severity=Severity.HIGH, opened_at=OPENED, updated_at=RESOLVED,
        last_spike_at=OPENED, spikes=[_spike(OPENED, 40, 0.7, Severity.HIGH)], playbook_id="outage",
        state=IncidentState.RESOLVED,
        transitions=[Transition(state=IncidentState.OPEN, at=OPENED),
                     Transition(state=IncidentState.ACKNOWLEDGED, at=ACKNOWLEDGED, by="maria", note="acknowledged"),
                     Transition(state=IncidentState.RESOLVED, at=RESOLVED, by="maria", note="resolved")],
        steps_done=[StepDone(number=1, title=STEP_TITLES[0], due_at=OPENED + timedelta(minutes=10),
                             at=OPENED + timedelta(minutes=9), by="maria"),
                    StepDone(number=3, title=STEP_TITLES[2], due_at=OPENED + timedelta(minutes=30),
                             at=OPENED + timedelta(minutes=40), by="jonas", note="statement on the website")],
    )


def make_open_incident() -> Incident:
    """Still open, no playbook matched."""
    return Incident(
        id="aurora-air-20251105-2000-def456", fingerprint=Incident.fingerprint_of(BRAND, SpikeKind.VOLUME, "x"),
        brand=BRAND, kind=SpikeKind.VOLUME, severity=Severity.MEDIUM, opened_at=OPEN_OPENED,
        updated_at=OPEN_OPENED, last_spike_at=OPEN_OPENED, spikes=[_spike(OPEN_OPENED, 20, 0.3, Severity.MEDIUM)],
        transitions=[Transition(state=IncidentState.OPEN, at=OPEN_OPENED)],
    )


def alert_for(incident: Incident) -> Notification:
    summary = {"key_phrases": KEY_PHRASES,
               "posts": [{"id": "x:viral", "text": POST_TEXT, "url": POST_URL, "author": "@jonas",
                          "language": "en", "sentiment": "negative"}]}
    return Notification(key=f"{incident.id}:alert", incident_id=incident.id, kind="alert", channel="#alerts",
                        payload={"headline": HEADLINE, "summary": summary}, created_at=incident.opened_at,
                        status=NotificationStatus.SENT, sent_at=incident.opened_at + timedelta(seconds=20))


def runs() -> list[JobRun]:
    """Three good runs of ``x``; ``news`` succeeded once, then failed."""
    found = []
    for hour in range(3):
        at = T0 + timedelta(hours=hour)
        found.append(JobRun(job=f"collect:{BRAND}:x", brand=BRAND, source="x", started_at=at,
                            finished_at=at + timedelta(seconds=5), ok=True, fetched=12, stored=10))
    at = T0 + timedelta(hours=1)
    found.append(JobRun(job=f"collect:{BRAND}:news", brand=BRAND, source="news", started_at=at,
                        finished_at=at + timedelta(seconds=3), ok=True, fetched=4, stored=4))
    found.append(JobRun(job=f"collect:{BRAND}:news", brand=BRAND, source="news", started_at=at + timedelta(hours=1),
                        finished_at=at + timedelta(hours=1, seconds=9), ok=False, error=FAILURE))
    return found


def seed(db: Path) -> None:
    """Fill the SQLite database at ``db`` with everything above."""
    with SqliteStore(db) as store:
        store.add_mentions(MENTIONS)
        store.add_mentions(COMPETITOR_MENTIONS)
        for incident in (make_incident(), make_open_incident()):
            store.save_incident(incident, [alert_for(incident)] if incident.playbook_id else [])
        for run in runs():
            store.record_run(run)


def write_config(folder: Path, db: Path, brands: list[dict] | None = None) -> Path:
    """``monitor.yaml`` in ``folder``: the brand with two competitors (one of them collected), and the competitor."""
    path = folder / "monitor.yaml"
    if brands is None:
        brands = [{"name": BRAND, "competitors": [COMPETITOR, SILENT_COMPETITOR]}, {"name": COMPETITOR}]
    path.write_text(yaml.safe_dump({"brands": brands, "storage": {"path": str(db)},
                                    "alerts": {"playbooks_dir": str(PLAYBOOKS)}}))
    return path


# -- AppTest helpers ------------------------------------------------------------------------


@pytest.fixture(name="fresh_caches", autouse=True)
def fresh_caches_fixture() -> Iterator[None]:
    """Streamlit's caches outlive an AppTest; every test starts and ends without them."""
    st.cache_data.clear()
    st.cache_resource.clear()
    yield
    st.cache_data.clear()
    st.cache_resource.clear()


@pytest.fixture(name="config")
def config_fixture(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The seeded database and its config, named by ``MONITOR_CONFIG``."""
    db = tmp_path / "monitor.db"
    seed(db)
    path = write_config(tmp_path, db)
    monkeypatch.setenv("MONITOR_CONFIG", str(path))
    return path


def run_app(page: str | None = None) -> AppTest:
    """The dashboard run once, then switched to ``page`` (a path under ``dashboard/``), without exceptions."""
    at = AppTest.from_file(APP, default_timeout=30).run()
    if page:
        at.switch_page(page).run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def widget(widgets: Any, label: str) -> Any:
    return next(w for w in widgets if w.label == label)


def chart_data(at: AppTest, index: int) -> list[pd.DataFrame]:
    """The datasets behind the ``index``-th chart on the page."""
    proto = at.get("vega_lite_chart")[index].proto
    return [convert_arrow_bytes_to_pandas_df(d.data.data) for d in proto.datasets]
