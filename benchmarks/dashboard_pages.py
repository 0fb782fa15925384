"""Dashboard page load times on a large SQLite store, against the same pages on a small one.

    python benchmarks/dashboard_pages.py [--mentions 1000000] [--baseline 10000] [--repeats 3]

Each page is run headless with ``streamlit.testing`` (the page's whole script: the sidebar,
every query through the ``Store`` and every chart spec; not the browser's drawing), cold
(Streamlit's caches cleared, so every query hits SQLite) and warm (cached). The baseline is
the same page on a store with ``--baseline`` mentions, timed in the same run. Databases are
built once through ``SqliteStore.add_mentions`` and kept under ``.cache/`` for later runs.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import streamlit as st
import yaml
from streamlit.testing.v1 import AppTest

from monitor.alerts.incidents.playbooks import BUILT_IN_PLAYBOOKS
from monitor.models import (
    Author, Engagement, Incident, IncidentState, Mention, Sentiment, Severity, Spike, SpikeKind, Transition,
)
from monitor.store.base import JobRun, MentionFilter, Notification, NotificationStatus
from monitor.store.sqlite import SqliteStore

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "monitor" / "dashboard" / "app.py")
CACHE = ROOT / ".cache"
BRAND, COMPETITOR = "Aurora Air", "SkyLark"
END = datetime(2026, 3, 31, tzinfo=timezone.utc)
DAYS = 30
BATCH = 5000
INCIDENTS = 20
RUNS = 2000
SOURCES = ("twitter", "bluesky", "mastodon", "reddit", "youtube")
LANGUAGES = ("en", "pl", "de", "es", "fr", "hu", "ru")
WORDS = ("flight delayed again", "great crew", "app down", "lost my bag", "refund please", "smooth landing",
         "cancelled", "nice seats", "customer service", "on time", "stranded at the gate", "thank you")
PAGES = (
    ("Overview", "views/overview.py", None),
    ("Mentions", "views/mentions.py", None),
    ("Mentions, text search", "views/mentions.py", "delayed"),
    ("Incidents", "views/incidents.py", None),
    ("Playbook outcomes", "views/outcomes.py", None),
    ("Customer care", "views/care.py", None),
    ("Sources health", "views/health.py", None),
)


def make_mention(rng: random.Random, index: int, brand: str) -> Mention:
    label = rng.choices(("negative", "neutral", "positive"), (0.3, 0.5, 0.2))[0]
    created = END - timedelta(seconds=rng.uniform(0, DAYS * 86400))
    probabilities = {"negative": 0.1, "neutral": 0.1, "positive": 0.1, label: 0.8}
    return Mention(
        id=f"bench:{index}", brand=brand, source=rng.choice(SOURCES), language=rng.choice(LANGUAGES),
        text=f"{brand} {rng.choice(WORDS)} {rng.choice(WORDS)} #{index % 997}", created_at=created,
        collected_at=created, url=f"https://example.com/{index}", author=Author(handle=f"user{index % 5000}"),
        engagement=Engagement(likes=index % 17), sentiment=Sentiment(label=label, score=0.8,
                                                                     probabilities=probabilities),
    )


def make_incident(rng: random.Random, index: int) -> Incident:
    opened = END - timedelta(days=DAYS * (index + 0.5) / INCIDENTS)
    spike = Spike(brand=BRAND, kind=SpikeKind.NEGATIVE, window_start=opened - timedelta(minutes=15), window_end=opened,
                  observed=120, expected=30, score=6.0, severity=Severity.HIGH, negative_share=0.7,
                  top_terms=["delayed"])
    transitions = [Transition(state=IncidentState.OPEN, at=opened)]
    state = IncidentState.OPEN
    if index:
        state = IncidentState.RESOLVED
        transitions += [
            Transition(state=IncidentState.ACKNOWLEDGED, at=opened + timedelta(minutes=rng.randint(3, 40)), by="maria"),
            Transition(state=IncidentState.RESOLVED, at=opened + timedelta(hours=rng.randint(2, 9)), by="maria"),
        ]
    return Incident(id=f"bench-{index}", fingerprint=f"fp{index}", brand=BRAND, kind=SpikeKind.NEGATIVE,
                    severity=Severity.HIGH, opened_at=opened, updated_at=transitions[-1].at, last_spike_at=opened,
                    spikes=[spike], playbook_id=("outage", "viral_complaint", "generic")[index % 3], state=state,
                    transitions=transitions)


def build(path: Path, count: int) -> None:
    """A store with ``count`` mentions of the brand over 30 days, a tenth as many of a competitor,
    incidents with alerts, and collector runs."""
    rng = random.Random(count)
    with SqliteStore(path) as store:
        for brand, total in ((BRAND, count), (COMPETITOR, count // 10)):
            for start in range(0, total, BATCH):
                store.add_mentions([make_mention(rng, i, brand) for i in range(start, min(start + BATCH, total))])
        for index in range(INCIDENTS):
            incident = make_incident(rng, index)
            alert = Notification(key=f"{incident.id}:alert", incident_id=incident.id, kind="alert", channel="#alerts",
                                 payload={"headline": "spike", "summary": {"key_phrases": ["delayed"], "posts": []}},
                                 created_at=incident.opened_at, status=NotificationStatus.SENT,
                                 sent_at=incident.opened_at)
            store.save_incident(incident, [alert])
        for index in range(RUNS):
            at, failed = END - timedelta(minutes=15 * index), index % 50 == 7
            store.record_run(JobRun(job=f"collect:{BRAND}:{SOURCES[index % 5]}", brand=BRAND,
                                    source=SOURCES[index % 5], started_at=at, finished_at=at + timedelta(seconds=4),
                                    ok=not failed, fetched=40, stored=35, error="HTTP 503" if failed else None))


def database(count: int) -> Path:
    """The cached database with ``count`` mentions of the brand, built when missing."""
    CACHE.mkdir(exist_ok=True)
    path = CACHE / f"dashboard-bench-{count}.db"
    if path.exists():
        with SqliteStore(path) as store:
            if store.count(MentionFilter(brands=[BRAND])) == count:
                return path
        path.unlink()
    began = time.perf_counter()
    build(path, count)
    print(f"built {path.name} ({count:,} mentions) in {time.perf_counter() - began:.0f} s", file=sys.stderr)
    return path


def clear_caches() -> None:
    st.cache_data.clear()
    st.cache_resource.clear()


def load(page: str, search: str | None, cold: bool) -> float:
    """Seconds to run ``page`` (after the entry script ran once), with or without Streamlit's caches."""
    at = AppTest.from_file(APP, default_timeout=120).run()
    if search:
        at.switch_page(page).run()
        next(t for t in at.text_input if t.label == "Search text").set_value(search)
    if cold:
        clear_caches()
    began = time.perf_counter()
    (at.run() if search else at.switch_page(page).run())
    elapsed = time.perf_counter() - began
    assert not at.exception, [e.message for e in at.exception]
    return elapsed


def time_pages(db: Path, folder: Path, repeats: int) -> dict[str, tuple[float, float]]:
    """Median cold and warm seconds per page on ``db``."""
    config = folder / f"{db.stem}.yaml"
    config.write_text(yaml.safe_dump({
        "brands": [{"name": BRAND, "competitors": [COMPETITOR]}, {"name": COMPETITOR}],
        "storage": {"path": str(db)}, "alerts": {"playbooks_dir": str(BUILT_IN_PLAYBOOKS)},
    }))
    os.environ["MONITOR_CONFIG"] = str(config)
    clear_caches()
    results = {}
    for title, page, search in PAGES:
        cold = statistics.median(load(page, search, cold=True) for _ in range(repeats))
        warm = statistics.median(load(page, search, cold=False) for _ in range(repeats))
        results[title] = (cold, warm)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mentions", type=int, default=1_000_000)
    parser.add_argument("--baseline", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    large, small = database(args.mentions), database(args.baseline)
    with tempfile.TemporaryDirectory() as folder:
        baseline = time_pages(small, Path(folder), args.repeats)
        ours = time_pages(large, Path(folder), args.repeats)
    print(f"| page | {args.mentions:,} mentions, cold | baseline: {args.baseline:,} mentions, cold "
          f"| ratio | {args.mentions:,}, warm (cached) |")
    print("| --- | --- | --- | --- | --- |")
    for title, (cold, warm) in ours.items():
        base = baseline[title][0]
        print(f"| {title} | {cold:.2f} s | {base:.2f} s | {cold / base:.1f} | {warm:.2f} s |")


if __name__ == "__main__":
    main()
