"""Time to alert, end to end: viral posts on a loopback Jetstream-like stream, through ``monitor run``, to Slack.

    python benchmarks/latency.py [--brands 10] [--likes 100] [--noise 200]

A Jetstream-like WebSocket server and a fake Slack Web API run on loopback; ``monitor run``
(the real command, in its own process, SQLite store, offline sentiment model) streams one
``jetstream`` source per brand. Each brand's store holds a week of ordinary posts, so the
viral rule knows what engagement is usual. Ordinary traffic flows all along (``--noise``
events a second: other people's posts, likes and reposts of posts never stored, now and
then an ordinary post naming a brand). Then, brand after brand, a negative post naming the
brand is published and liked ``--likes`` times over two seconds; the viral rule's threshold
(``min_engagement`` = ``--likes``) is crossed at the moment the last like is sent. Time to
alert runs from that moment to the alert's arrival at the fake Slack (``chat.postMessage``
in the brand's channel). The last line printed is
``time-to-alert p50 X s p95 Y s over N viral posts``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from monitor.alerts.incidents.playbooks import BUILT_IN_PLAYBOOKS  # noqa: E402
from monitor.models import Author, Engagement, Mention  # noqa: E402
from monitor.store.sqlite import SqliteStore  # noqa: E402
from tests.fake_slack import DEFAULT_TOKEN, FakeSlack  # noqa: E402
from monitor.demo.jetstream_fake import LIKE, POST, REPOST, FakeJetstream, commit  # noqa: E402

NAMES = ["Aurelia", "Borealis", "Cobalto", "Dunmore", "Elstree", "Fenwick", "Galloway", "Harrowby", "Islay",
         "Jorvik", "Kestrel", "Lindqvist", "Marlowe", "Norcross", "Ossian", "Pemberly", "Quillon", "Rosmund",
         "Sterling", "Tamsin"]
ANGRY = "{name} cancelled my flight, stranded with two kids and no help at all, worst service ever"
HISTORY = 30


def clock() -> int:
    return int(time.time() * 1e6)


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class Traffic:
    """Events for the fake stream, each with a fresh ``time_us``."""

    def __init__(self, server: FakeJetstream, seed: int):
        self.server, self.rng = server, random.Random(seed)
        self._last = 0
        self._lock = threading.Lock()

    def _time(self) -> int:
        with self._lock:
            self._last = max(self._last + 1, clock())
            return self._last

    def post(self, did: str, rkey: str, text: str) -> None:
        record = {"text": text, "createdAt": iso(datetime.now(timezone.utc)), "langs": ["en"]}
        self.server.publish(commit(self._time(), did, POST, rkey, record))

    def like(self, uri: str, kind: str = LIKE) -> None:
        did = f"did:plc:fan{self.rng.randrange(10**6)}"
        record = {"subject": {"uri": uri, "cid": "bafy"}, "createdAt": iso(datetime.now(timezone.utc))}
        self.server.publish(commit(self._time(), did, kind, f"l{self._time()}", record))

    def noise(self, rate: float, names: list[str], stop: threading.Event) -> None:
        """Ordinary traffic: mostly likes of posts never stored, other posts, now and then one naming a brand."""
        while not stop.wait(1 / rate):
            roll = self.rng.random()
            if roll < 0.2:
                self.post(f"did:plc:u{self.rng.randrange(10**6)}", f"n{self._time()}", "just had lunch, nice day")
            elif roll < 0.205:
                self.post(f"did:plc:u{self.rng.randrange(10**6)}", f"b{self._time()}",
                          f"flying {self.rng.choice(names)} next week")
            else:
                uri = f"at://did:plc:u{self.rng.randrange(10**6)}/{POST}/x{self.rng.randrange(10**9)}"
                self.like(uri, LIKE if roll < 0.85 else REPOST)


def config(folder: Path, stream: str, slack: FakeSlack, names: list[str], likes: int) -> Path:
    data = {
        "storage": {"path": str(folder / "latency.db")},
        "nlp": {"backend": "offline"},
        "slack": {"base_url": slack.base_url, "channel": "#brand-alerts"},
        "workers": {"poll": "1s"},
        "detection": {"viral": {"min_engagement": likes, "min_ratio": 5, "min_rate": 100, "min_history": HISTORY}},
        "alerts": {"outbox": str(folder / "outbox.jsonl"), "playbooks_dir": str(BUILT_IN_PLAYBOOKS)},
        "brands": [{"name": name, "query": name.lower(), "slack_channel": f"#alerts-{name.lower()}",
                    "sources": [{"type": "jetstream", "url": stream, "flush_seconds": 0.2}]} for name in names],
    }
    path = folder / "monitor.yaml"
    path.write_text(json.dumps(data))
    return path


def seed_history(folder: Path, names: list[str]) -> None:
    """A week of ordinary posts per brand (a few likes each), older than the viral rule's lookback."""
    store = SqliteStore(folder / "latency.db")
    now = datetime.now(timezone.utc)
    rng = random.Random(3)
    store.add_mentions([
        Mention(id=f"bluesky:at://did:plc:old/{POST}/{name}{k}", brand=name, source="bluesky",
                text=f"{name} flight {k} was fine", created_at=now - timedelta(hours=6 + 5 * k),
                collected_at=now - timedelta(hours=6 + 5 * k), author=Author(handle="old.bsky.social"),
                engagement=Engagement(likes=rng.randint(0, 8)))
        for name in names for k in range(HISTORY)])
    store.close()


def wait(condition, limit: float, what: str, service: subprocess.Popen, log: Path) -> None:
    """Wait for ``condition``; give up (showing the service's log) when it takes too long or the service ends."""
    deadline = time.monotonic() + limit
    while not condition():
        if time.monotonic() > deadline or service.poll() is not None:
            sys.exit(f"gave up waiting for {what}; monitor run said:\n{log.read_text()[-3000:]}")
        time.sleep(0.01)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--brands", type=int, default=10, help=f"viral posts, one per brand (at most {len(NAMES)})")
    parser.add_argument("--likes", type=int, default=100, help="likes that make a post viral")
    parser.add_argument("--noise", type=float, default=200, help="ordinary events per second")
    parser.add_argument("--timeout", type=float, default=120, help="seconds to wait for each alert")
    args = parser.parse_args()
    names = NAMES[: args.brands]
    with tempfile.TemporaryDirectory() as tmp, FakeJetstream() as server, FakeSlack() as slack:
        folder = Path(tmp)
        path = config(folder, server.url, slack, names, args.likes)
        seed_history(folder, names)
        env = {**os.environ, "SLACK_BOT_TOKEN": DEFAULT_TOKEN}
        log = folder / "run.log"
        output = log.open("w")
        service = subprocess.Popen([sys.executable, "-m", "monitor", "run", str(path)], env=env, stdout=output,
                                   stderr=subprocess.STDOUT)
        traffic, stop = Traffic(server, seed=11), threading.Event()
        noise = threading.Thread(target=traffic.noise, args=(args.noise, names, stop), daemon=True)
        try:
            wait(lambda: len(server.connections) >= len(names), 300, "monitor run to open its streams", service, log)
            noise.start()
            time.sleep(2)
            delays = []
            for k, name in enumerate(names):
                channel = f"alerts-{name.lower()}"
                uri = f"at://did:plc:angry{k}/{POST}/viral{k}"
                traffic.post(f"did:plc:angry{k}", f"viral{k}", ANGRY.format(name=name))
                for _ in range(args.likes):
                    time.sleep(2 / args.likes)
                    traffic.like(uri)
                crossed = time.monotonic()
                wait(lambda: any(slack.names.get(m["channel"]) == channel for m in slack.messages), args.timeout,
                     f"the alert of {name}", service, log)
                delays.append(time.monotonic() - crossed)
                print(f"{name}: alert {delays[-1]:.2f} s after the threshold was crossed", flush=True)
        finally:
            stop.set()
            service.send_signal(signal.SIGTERM)
            service.wait(60)
            output.close()
    p50 = statistics.median(delays)
    p95 = statistics.quantiles(delays, n=20, method="inclusive")[-1] if len(delays) > 1 else delays[0]
    print(f"time-to-alert p50 {p50:.2f} s p95 {p95:.2f} s over {len(delays)} viral posts")


if __name__ == "__main__":
    main()
