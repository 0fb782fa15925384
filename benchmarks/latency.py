"""Time to alert, end to end: viral posts on three loopback streams, through ``monitor run``, to Slack.

    python benchmarks/latency.py [--brands 12] [--likes 100] [--noise 200]

Three loopback fakes speak the real APIs' shapes: a Jetstream-like WebSocket server, a
Mastodon streaming server and X's filtered stream (with its rules endpoint); a fake Slack
Web API takes the alerts. ``monitor run`` (the real command, in its own process, SQLite
store, offline sentiment model) streams one source per brand, the brands taking the three
kinds in turn (``jetstream``, ``mastodon_stream``, ``x_stream``). Each brand's store holds a
week of ordinary posts, so the viral rule knows what engagement is usual. Ordinary traffic
flows all along (``--noise`` events a second, most on Jetstream: other people's posts, likes
and reposts of posts never stored, now and then an ordinary post naming a brand). Then,
brand after brand, a negative post naming the brand is published and its engagement grows to
``--likes`` over two seconds: on Jetstream ``--likes`` likes, on X ``--likes`` retweets
(each carrying the original with X's rising counts), on Mastodon ten boosts carrying the
original with the instance's rising totals (favourites and boosts). The viral rule's
threshold (``min_engagement`` = ``--likes``) is crossed at the moment the last of them is
sent. Time to alert runs from that moment to the alert's arrival at the fake Slack
(``chat.postMessage`` in the brand's channel). Per-source figures come first; the last line
printed is ``time-to-alert p50 X s p95 Y s over N viral posts``.
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
from typing import Callable

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from monitor.alerts.incidents.playbooks import BUILT_IN_PLAYBOOKS  # noqa: E402
from monitor.demo.jetstream_fake import LIKE, POST, REPOST, FakeJetstream, commit  # noqa: E402
from monitor.models import Author, Engagement, Mention  # noqa: E402
from monitor.store.sqlite import SqliteStore  # noqa: E402
from tests.fake_api import FakeApi  # noqa: E402
from tests.fake_mastodon_stream import FakeStreaming, status  # noqa: E402
from tests.fake_slack import DEFAULT_TOKEN, FakeSlack  # noqa: E402
from tests.x_stream_fake import TOKEN, FakeXStream  # noqa: E402

NAMES = ["Aurelia", "Borealis", "Cobalto", "Dunmore", "Elstree", "Fenwick", "Galloway", "Harrowby", "Islay",
         "Jorvik", "Kestrel", "Lindqvist", "Marlowe", "Norcross", "Ossian", "Pemberly", "Quillon", "Rosmund",
         "Sterling", "Tamsin"]
ANGRY = "{name} cancelled my flight, stranded with two kids and no help at all, worst service ever"
HISTORY = 30
KINDS = ("jetstream", "mastodon_stream", "x_stream")
BOOSTS = 10
SNOWFLAKE_EPOCH_MS = 1288834974657


def clock() -> int:
    return int(time.time() * 1e6)


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class Traffic:
    """Events for the three fake streams: Jetstream's with a fresh ``time_us``, Mastodon's and X's with fresh ids."""

    def __init__(self, jetstream: FakeJetstream, mastodon: FakeStreaming, x: FakeXStream, seed: int):
        self.jetstream, self.mastodon, self.x = jetstream, mastodon, x
        self.rng = random.Random(seed)
        self._last = self._status = self._tweet = 0
        self._lock = threading.Lock()

    def _time(self) -> int:
        with self._lock:
            self._last = max(self._last + 1, clock())
            return self._last

    def _status_id(self) -> str:
        with self._lock:
            self._status = max(self._status + 1, clock())
            return str(self._status)

    def _tweet_id(self) -> str:
        """A snowflake: milliseconds since X's epoch, shifted, plus a sequence."""
        with self._lock:
            self._tweet = max(self._tweet + 1, (int(time.time() * 1000) - SNOWFLAKE_EPOCH_MS) << 22)
            return str(self._tweet)

    def post(self, did: str, rkey: str, text: str) -> None:
        record = {"text": text, "createdAt": iso(datetime.now(timezone.utc)), "langs": ["en"]}
        self.jetstream.publish(commit(self._time(), did, POST, rkey, record))

    def like(self, uri: str, kind: str = LIKE) -> None:
        did = f"did:plc:fan{self.rng.randrange(10**6)}"
        record = {"subject": {"uri": uri, "cid": "bafy"}, "createdAt": iso(datetime.now(timezone.utc))}
        self.jetstream.publish(commit(self._time(), did, kind, f"l{self._time()}", record))

    def toot(self, text: str, account: str, counts: int = 0, reblog: dict | None = None) -> dict:
        """A status on the public stream (a boost when ``reblog`` is given); the status sent."""
        number = int(self._status_id())
        sent = {**status(number, text, reblog), "created_at": iso(datetime.now(timezone.utc)),
                "favourites_count": counts,
                "account": {"acct": account, "display_name": account, "followers_count": 10}}
        self.mastodon.publish(["public"], sent)
        return sent

    def tweet(self, text: str, user: str, retweet_of: dict | None = None) -> dict:
        """A post on X's stream (a retweet of ``retweet_of``, carried in ``includes``); the post sent."""
        post = {"id": self._tweet_id(), "text": text, "author_id": user, "lang": "en",
                "created_at": iso(datetime.now(timezone.utc)), "edit_history_tweet_ids": [],
                "public_metrics": {"retweet_count": 0, "reply_count": 0, "like_count": 0, "quote_count": 0}}
        post["edit_history_tweet_ids"] = [post["id"]]
        includes: dict = {"users": [{"id": user, "username": f"user{user}", "name": f"User {user}",
                                     "public_metrics": {"followers_count": 50}}]}
        if retweet_of is not None:
            post["text"] = f"RT @user{retweet_of['author_id']}: {retweet_of['text']}"[:140]
            post["referenced_tweets"] = [{"type": "retweeted", "id": retweet_of["id"]}]
            includes["tweets"] = [retweet_of]
        self.x.publish({"data": post, "includes": includes})
        return post

    def noise(self, rate: float, names: list[str], stop: threading.Event) -> None:
        """Ordinary traffic: mostly likes of posts never stored, other posts, now and then one naming a brand."""
        while not stop.wait(1 / rate):
            roll = self.rng.random()
            if roll < 0.1:
                self.toot("just had lunch, nice day", f"u{self.rng.randrange(10**6)}")
            elif roll < 0.102:
                self.tweet(f"flying {self.rng.choice(names)} next week", str(self.rng.randrange(10**6)))
            elif roll < 0.2:
                self.post(f"did:plc:u{self.rng.randrange(10**6)}", f"n{self._time()}", "just had lunch, nice day")
            elif roll < 0.205:
                self.post(f"did:plc:u{self.rng.randrange(10**6)}", f"b{self._time()}",
                          f"flying {self.rng.choice(names)} next week")
            else:
                uri = f"at://did:plc:u{self.rng.randrange(10**6)}/{POST}/x{self.rng.randrange(10**9)}"
                self.like(uri, LIKE if roll < 0.85 else REPOST)

    def viral(self, kind: str, k: int, name: str, likes: int, before_last: Callable[[], None]) -> None:
        """A negative post naming ``name`` whose engagement grows to ``likes`` over two seconds;
        ``before_last`` is called before the event that crosses the threshold."""
        text = ANGRY.format(name=name)
        if kind == "jetstream":
            uri = f"at://did:plc:angry{k}/{POST}/viral{k}"
            self.post(f"did:plc:angry{k}", f"viral{k}", text)
            for n in range(likes):
                time.sleep(2 / likes)
                if n == likes - 1:
                    before_last()
                self.like(uri)
        elif kind == "mastodon_stream":
            original = self.toot(text, f"angry{k}")
            for step in range(1, BOOSTS + 1):
                time.sleep(2 / BOOSTS)
                totals = {"favourites_count": (likes - BOOSTS) * step // BOOSTS, "reblogs_count": step}
                if step == BOOSTS:
                    before_last()
                self.toot("", f"fan{step}", reblog={**original, **totals})
        else:
            original = self.tweet(text, str(9000 + k))
            for fan in range(likes):
                time.sleep(2 / likes)
                if fan == likes - 1:
                    before_last()
                counts = {**original["public_metrics"], "retweet_count": fan + 1}
                self.tweet("", str(10_000 + fan), retweet_of={**original, "public_metrics": counts})


def config(folder: Path, streams: dict[str, str], slack: FakeSlack, names: list[str], likes: int) -> Path:
    sources = {
        "jetstream": {"type": "jetstream", "url": streams["jetstream"], "flush_seconds": 0.2},
        "mastodon_stream": {"type": "mastodon_stream", "instance": streams["mastodon_api"],
                            "streaming_url": streams["mastodon_stream"], "flush_seconds": 0.2},
        "x_stream": {"type": "x_stream", "base_url": streams["x_stream"], "flush_seconds": 0.2},
    }
    data = {
        "storage": {"path": str(folder / "latency.db")},
        "nlp": {"backend": "offline"},
        "slack": {"base_url": slack.base_url, "channel": "#brand-alerts"},
        "workers": {"poll": "1s"},
        "detection": {"viral": {"min_engagement": likes, "min_ratio": 5, "min_rate": 100, "min_history": HISTORY}},
        "alerts": {"outbox": str(folder / "outbox.jsonl"), "playbooks_dir": str(BUILT_IN_PLAYBOOKS)},
        "brands": [{"name": name, "query": name.lower(), "slack_channel": f"#alerts-{name.lower()}",
                    "sources": [sources[kind_of(k)]]} for k, name in enumerate(names)],
    }
    path = folder / "monitor.yaml"
    path.write_text(json.dumps(data))
    return path


def kind_of(k: int) -> str:
    """The streaming source of the ``k``-th brand: the three kinds in turn."""
    return KINDS[k % len(KINDS)]


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


def alerted(slack: FakeSlack, channel: str) -> bool:
    """Whether an alert was posted in ``channel`` (its name, without ``#``)."""
    return any(slack.names.get(m["channel"]) == channel for m in slack.messages)


def percentiles(delays: list[float]) -> tuple[float, float]:
    p95 = statistics.quantiles(delays, n=20, method="inclusive")[-1] if len(delays) > 1 else delays[0]
    return statistics.median(delays), p95


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--brands", type=int, default=12, help=f"viral posts, one per brand (at most {len(NAMES)})")
    parser.add_argument("--likes", type=int, default=100, help="engagement that makes a post viral")
    parser.add_argument("--noise", type=float, default=200, help="ordinary events per second")
    parser.add_argument("--timeout", type=float, default=120, help="seconds to wait for each alert")
    args = parser.parse_args()
    names = NAMES[: args.brands]
    wanted = {kind: sum(kind_of(k) == kind for k in range(len(names))) for kind in KINDS}
    api, mastodon = FakeApi(), FakeStreaming()
    with tempfile.TemporaryDirectory() as tmp, FakeJetstream() as jetstream, FakeXStream() as x, \
            FakeSlack() as slack:
        folder = Path(tmp)
        streams = {"jetstream": jetstream.url, "mastodon_api": api.url, "mastodon_stream": mastodon.url,
                   "x_stream": x.base_url}
        path = config(folder, streams, slack, names, args.likes)
        seed_history(folder, names)
        env = {**os.environ, "SLACK_BOT_TOKEN": DEFAULT_TOKEN, "X_BEARER_TOKEN": TOKEN}
        log = folder / "run.log"
        output = log.open("w")
        service = subprocess.Popen([sys.executable, "-m", "monitor", "run", str(path)], env=env, stdout=output,
                                   stderr=subprocess.STDOUT)
        traffic, stop = Traffic(jetstream, mastodon, x, seed=11), threading.Event()
        noise = threading.Thread(target=traffic.noise, args=(args.noise, names, stop), daemon=True)
        delays: dict[str, list[float]] = {kind: [] for kind in KINDS}
        try:
            wait(lambda: len(jetstream.connections) >= wanted["jetstream"]
                 and sum(bool(s) for s in mastodon.subscriptions) >= wanted["mastodon_stream"]
                 and len(x.rules) >= wanted["x_stream"] and (bool(x.connections) or not wanted["x_stream"]),
                 300, "monitor run to open its streams", service, log)
            noise.start()
            time.sleep(2)
            for k, name in enumerate(names):
                channel = f"alerts-{name.lower()}"

                def early(channel: str = channel, name: str = name) -> None:
                    if alerted(slack, channel):
                        sys.exit(f"{name} was alerted before its threshold was crossed")

                traffic.viral(kind_of(k), k, name, args.likes, early)
                crossed = time.monotonic()
                wait(lambda: alerted(slack, channel), args.timeout, f"the alert of {name}", service, log)
                delays[kind_of(k)].append(time.monotonic() - crossed)
                print(f"{name} ({kind_of(k)}): alert {delays[kind_of(k)][-1]:.2f} s after the threshold was crossed",
                      flush=True)
        finally:
            stop.set()
            service.send_signal(signal.SIGTERM)
            service.wait(60)
            output.close()
            mastodon.close()
            api.close()
    for kind, found in delays.items():
        if found:
            p50, p95 = percentiles(found)
            print(f"{kind}: time-to-alert p50 {p50:.2f} s p95 {p95:.2f} s over {len(found)} viral posts")
    every = [d for found in delays.values() for d in found]
    p50, p95 = percentiles(every)
    print(f"time-to-alert p50 {p50:.2f} s p95 {p95:.2f} s over {len(every)} viral posts")


if __name__ == "__main__":
    main()
