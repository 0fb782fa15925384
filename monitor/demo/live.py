"""``monitor demo --live``: the demo's crisis replayed as a Bluesky stream, the alert seconds after the post goes viral.

A loopback Jetstream-like server (:mod:`monitor.demo.jetstream_fake`) replays on a compressed
clock what the stream would carry: ordinary traffic (other people's posts, posts that say
"aurora" without the airline, likes of posts never stored, now and then an ordinary post
naming the brand), the scenario's first crisis posts, then its viral post and the likes and
reposts that make it viral. The real pipeline streams it: a ``jetstream`` source pointed at
the server, run by :class:`~monitor.live.LiveSource`, each stored batch judged on arrival and
the alert delivered at once (to Slack when ``SLACK_BOT_TOKEN`` is set, else to the outbox).
What engagement is usual for the brand comes from a week of its ordinary posts stored before
the stream starts (stored without sentiment: the viral rule only needs their counts).

Printed: the moment the post went viral (its likes and reposts on the stream reached the
viral rule's threshold) and the moment the alert was delivered, seconds apart.
"""

from __future__ import annotations

import itertools
import json
import math
import random
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable

from monitor import config as config_lib
from monitor.alerts.detect.viral import usual_engagement
from monitor.alerts.incidents.playbooks import BUILT_IN_PLAYBOOKS
from monitor.alerts.notify.base import Notifier
from monitor.alerts.notify.story import story
from monitor.demo.jetstream_fake import LIKE, POST, REPOST, FakeJetstream, commit
from monitor.demo.scenario import Scenario, generate
from monitor.errors import ConfigError
from monitor.live import LiveSource
from monitor.models import Author, Engagement, Mention
from monitor.nlp.annotate import Annotator
from monitor.pipeline import Pipeline
from monitor.runtime import build_pipeline
from monitor.store.base import Notification, NotificationStatus

HISTORY = 200
"""Ordinary posts of the brand stored as its usual week."""
RATIO = 20
"""The viral rule's ``min_ratio``: how many times the usual engagement a viral post reaches."""
FLOOR = 300
"""The viral rule's ``min_engagement`` at least."""
LIKES_PER_SECOND = 150
PHASE_SECONDS = 3.0
ALERT_WAIT = timedelta(seconds=60)
VIRAL_DID = "did:plc:jonaskrtravels"
DATABASE = "live.db"


@dataclass
class LiveRun:
    """What the live demo saw: when the post went viral on the stream and when the alert was delivered."""

    pipeline: Pipeline
    threshold: int
    viral_at: datetime
    alert: Notification | None
    events: int

    @property
    def gap(self) -> timedelta | None:
        """From the post going viral to the alert's delivery (``None``: no alert came)."""
        if self.alert is None or self.alert.sent_at is None:
            return None
        return self.alert.sent_at - self.viral_at


def live_config(stream_url: str, scenario: Scenario, threshold: int) -> dict[str, Any]:
    """SQLite and the outbox in the workspace (beside a ``monitor demo`` run's own files), one ``jetstream``
    source on the loopback stream."""
    source = {"type": "jetstream", "url": stream_url, "flush_seconds": 0.2, "backoff_initial": 0.2, "backoff_max": 2}
    return {
        "storage": {"backend": "sqlite", "path": DATABASE},
        "nlp": {"backend": "auto"},
        "detection": {"viral": {"min_engagement": threshold, "min_ratio": RATIO, "min_rate": 100, "min_history": 30}},
        "alerts": {"playbooks_dir": str(BUILT_IN_PLAYBOOKS)},
        "outbox": {"path": "live-outbox.jsonl"},
        "slack": {"channel": "#aurora-air-alerts"},
        "brands": [{"name": scenario.brand, "query": scenario.query, "sources": [source]}],
    }


def usual_week(scenario: Scenario, now: datetime) -> list[Mention]:
    """The scenario's last ordinary posts, spread over the week before ``now`` (older than the viral lookback)."""
    ordinary = [row for row in scenario.rows if scenario.kinds[row["id"]] == "ordinary"][-HISTORY:]
    step = timedelta(hours=160) / max(len(ordinary), 1)
    return [
        Mention(id=f"{row['source']}:demo-{row['id']}", brand=scenario.brand, source=row["source"], text=row["text"],
                created_at=now - timedelta(hours=4) - k * step, collected_at=now - timedelta(hours=4) - k * step,
                url=row["url"], author=Author(handle=row["author"], followers=row["followers"]),
                engagement=Engagement(likes=row["likes"], shares=row["shares"], replies=row["replies"]),
                language=row["language"])
        for k, row in enumerate(reversed(ordinary))]


class Traffic:
    """Jetstream events on the server, each with a fresh ``time_us`` on the real clock."""

    def __init__(self, server: FakeJetstream, seed: int = 17):
        self.server, self.rng = server, random.Random(seed)
        self.sent = 0
        self._last = 0
        self._keys = itertools.count()

    def _time(self) -> int:
        self._last = max(self._last + 1, int(time.time() * 1e6))
        return self._last

    def post(self, did: str, rkey: str, text: str, lang: str = "en") -> None:
        record = {"text": text, "createdAt": _iso(datetime.now(timezone.utc)), "langs": [lang]}
        self.server.publish(commit(self._time(), did, POST, rkey, record))
        self.sent += 1

    def like(self, uri: str, collection: str = LIKE) -> None:
        record = {"subject": {"uri": uri, "cid": "bafydemo"}, "createdAt": _iso(datetime.now(timezone.utc))}
        self.server.publish(commit(self._time(), f"did:plc:fan{self.rng.randrange(10**6)}", collection,
                                   f"k{next(self._keys)}", record))
        self.sent += 1

    def noise(self, brand_rows: list[dict[str, Any]], decoys: list[dict[str, Any]]) -> None:
        """One ordinary event: mostly a like of a post never stored, else someone's post."""
        roll = self.rng.random()
        if roll < 0.7:
            self.like(f"at://did:plc:u{self.rng.randrange(10**6)}/{POST}/x{self.rng.randrange(10**9)}")
        elif roll < 0.9 and decoys:
            row = self.rng.choice(decoys)
            self.post(f"did:plc:u{self.rng.randrange(10**6)}", f"d{next(self._keys)}", row["text"], row["language"])
        elif brand_rows:
            row = self.rng.choice(brand_rows)
            self.post(f"did:plc:u{self.rng.randrange(10**6)}", f"o{next(self._keys)}", row["text"], row["language"])


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def run_live_demo(
    workdir: Path | None = None,
    *,
    echo: Callable[[str], None] = print,
    notifier: Notifier | None = None,
    annotator: Annotator | None = None,
) -> LiveRun:
    """Stream the crisis through the real pipeline and print when the post went viral and when the alert came."""
    workdir = workdir or Path(tempfile.mkdtemp(prefix="monitor-live-demo-"))
    if (workdir / DATABASE).exists():
        raise ConfigError(f"{workdir / DATABASE} exists: the live demo needs a --workdir it has not run in")
    workdir.mkdir(parents=True, exist_ok=True)
    scenario = generate(quiet_days=7)
    now = datetime.now(timezone.utc)
    history = usual_week(scenario, now)
    usual = usual_engagement(history)
    threshold = max(FLOOR, math.ceil(RATIO * usual))
    with FakeJetstream() as server:
        path = workdir / "live.yaml"
        path.write_text(json.dumps(live_config(server.url, scenario, threshold), indent=2))
        config = config_lib.load(path)
        pipeline = build_pipeline(config, notifier=notifier, annotator=annotator)
        pipeline.store.add_mentions(history)
        echo(f"Live demo workspace: {workdir}")
        echo(f"Stream: {server.url} (a Jetstream-like server on loopback), read by a `jetstream` source")
        echo(f"{scenario.brand}'s usual week: {len(history)} ordinary posts stored, usual engagement {usual:.0f}; "
             f"a post is viral at {threshold} likes, reposts and replies ({threshold / usual:.0f}× usual)")
        brand = config.brand(scenario.brand)
        live = LiveSource(pipeline, brand, pipeline.source_config(brand, "jetstream"))
        stop = threading.Event()
        thread = threading.Thread(target=live.run, args=(stop,), name="live-demo-stream", daemon=True)
        thread.start()
        try:
            _wait(lambda: bool(server.connections), timedelta(seconds=30))
            traffic = Traffic(server)
            viral_at = _replay(scenario, traffic, threshold, echo)
            alert = _wait(lambda: _sent_alert(pipeline), ALERT_WAIT)
        finally:
            stop.set()
            thread.join(10)
    run = LiveRun(pipeline=pipeline, threshold=threshold, viral_at=viral_at, alert=alert, events=traffic.sent)
    _report(run, config, echo)
    return run


def _replay(scenario: Scenario, traffic: Traffic, threshold: int, echo: Callable[[str], None]) -> datetime:
    """Ordinary traffic, the first crisis posts, then the viral post and its likes; returns when it went viral."""
    kinds = scenario.kinds
    ordinary = [r for r in scenario.rows if kinds[r["id"]] == "ordinary"]
    decoys = [r for r in scenario.rows if kinds[r["id"]] == "decoy"]
    crisis = [r for r in scenario.rows if kinds[r["id"]] == "crisis"][:15]
    echo(f"{_clock()} ordinary traffic: other people's posts and likes, now and then a post naming the brand")
    _for(PHASE_SECONDS, 40, lambda: traffic.noise(ordinary, decoys))
    echo(f"{_clock()} the outage starts: {len(crisis)} crisis posts among the traffic")
    rows = iter(crisis)
    _for(PHASE_SECONDS, 40, lambda: _crisis_or_noise(traffic, rows, ordinary, decoys))
    viral = next(r for r in scenario.rows if r["id"] == scenario.viral_post_id)
    rkey = f"viral{int(time.time())}"
    traffic.post(VIRAL_DID, rkey, viral["text"], viral["language"])
    echo(f"{_clock()} the viral post appears: \"{viral['text'][:80]}…\"")
    uri = f"at://{VIRAL_DID}/{POST}/{rkey}"
    for count in range(1, threshold + 1):
        viral_at = datetime.now(timezone.utc)  # the last pass sends the like that makes it viral
        traffic.like(uri, LIKE if count % 5 else REPOST)
        time.sleep(1 / LIKES_PER_SECOND)
    echo(f"{_clock(viral_at)} it went viral: {threshold} likes and reposts on the stream")
    return viral_at


def _crisis_or_noise(traffic: Traffic, rows: Any, ordinary: list[dict[str, Any]], decoys: list[dict[str, Any]]) -> None:
    row = next(rows, None) if traffic.rng.random() < 0.15 else None
    if row is None:
        traffic.noise(ordinary, decoys)
    else:
        traffic.post(f"did:plc:c{traffic.rng.randrange(10**6)}", f"c{row['id']}", row["text"], row["language"])


def _for(seconds: float, rate: float, act: Callable[[], None]) -> None:
    """Call ``act`` ``rate`` times a second for ``seconds``."""
    for _ in range(int(seconds * rate)):
        act()
        time.sleep(1 / rate)


def _wait(condition: Callable[[], Any], limit: timedelta) -> Any:
    deadline = time.monotonic() + limit.total_seconds()
    while True:
        found = condition()
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.02)


def _sent_alert(pipeline: Pipeline) -> Notification | None:
    return next((n for n in pipeline.store.notifications()
                 if n.kind == "alert" and n.status is NotificationStatus.SENT), None)


def _clock(moment: datetime | None = None) -> str:
    return f"{(moment or datetime.now(timezone.utc)):%H:%M:%S.%f}"[:-3] + " UTC"


def _report(run: LiveRun, config: config_lib.Config, echo: Callable[[str], None]) -> None:
    echo("")
    echo(f"Went viral:       {_clock(run.viral_at)} ({run.threshold} likes and reposts on the stream)")
    if run.alert is None or run.gap is None:
        echo(f"No alert was delivered within {ALERT_WAIT.total_seconds():.0f} s.")
        return
    where = run.alert.channel if config.slack.token else f"{config.section('outbox').path} ({run.alert.channel})"
    echo(f"Alert delivered:  {_clock(run.alert.sent_at)} to {where}")
    echo(f"Time to alert:    {run.gap.total_seconds():.1f} s after the post went viral "
         f"({run.events:,} events streamed)")
    incident = run.pipeline.store.get_incident(run.alert.incident_id)
    if incident is not None:
        echo(f"  {story(incident, run.alert.payload['summary'])}")
