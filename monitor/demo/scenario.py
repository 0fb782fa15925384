"""The bundled demo scenario: weeks of ordinary Aurora Air chatter, then a viral IT-outage crisis.

``generate()`` returns file-import rows (see ``monitor.collectors.file``) sorted by time; the texts
and all rates live in ``scenario.yaml``. Volume is an inhomogeneous Poisson process with a daily and
weekly rhythm, day-to-day noise, one harmless good-news bump, and the crisis ramp on top.
"""

from __future__ import annotations

import bisect
import json
import math
import random
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Iterable, Iterator

import yaml

from monitor.models import utc

DEFAULT_START = datetime(2026, 3, 2, tzinfo=timezone.utc)  # a Monday
KINDS = ("ordinary", "decoy", "bump", "crisis", "quote", "repost", "viral", "news")
CRISIS_KINDS = frozenset({"crisis", "quote", "repost", "viral", "news"})
_SLOT = re.compile(r"\{(\w+)\}")
_PREFIX = {"twitter": "tw", "bluesky": "bs", "mastodon": "md", "reddit": "rd", "youtube": "yt", "news": "nw"}
_URL = {
    "twitter": "https://x.example.org/{author}/status/{num}",
    "bluesky": "https://bsky.example.org/profile/{author}/post/{num}",
    "mastodon": "https://mastodon.example.org/@{author}/{num}",
    "reddit": "https://reddit.example.org/r/travel/comments/{num}/",
    "youtube": "https://video.example.org/watch?v=aurora-{lang}&lc={num}",
    "news": "https://news.example.org/{lang}/{date}/aurora-air-{num}",
}


@dataclass
class Scenario:
    """Rows sorted by ``created_at`` plus the moments and ids the demo reports on.

    ``kinds`` maps each row id to the template family it came from (see ``KINDS``): ground truth
    for tests and benchmarks, never part of the rows themselves.
    """

    rows: list[dict[str, Any]]
    start: datetime
    crisis_start: datetime
    end: datetime
    viral_post_id: str
    brand: str = "Aurora Air"
    query: str = '"aurora air" OR #auroraair OR @auroraair'
    kinds: dict[str, str] = field(default_factory=dict)

    @property
    def decoy_ids(self) -> frozenset[str]:
        """Rows that say "aurora" without the brand: the query must filter them out."""
        return frozenset(i for i, kind in self.kinds.items() if kind == "decoy")


@lru_cache(maxsize=1)
def load_config() -> dict[str, Any]:
    """The parsed ``scenario.yaml`` (cached; treat as read-only)."""
    text = resources.files("monitor.demo").joinpath("scenario.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


def base_rate(moment: datetime, volume: dict[str, Any]) -> float:
    """Expected ordinary posts per hour at ``moment``: daily curve × weekday × travel evenings."""
    hourly = volume["hourly"]
    x = moment.hour + moment.minute / 60 - 0.5
    i = math.floor(x)
    rate = hourly[i % 24] + (hourly[(i + 1) % 24] - hourly[i % 24]) * (x - i)
    rate *= volume["weekday"][moment.weekday()]
    evening = volume["travel_evenings"]
    if moment.weekday() in evening["days"] and evening["from_hour"] <= moment.hour < evening["to_hour"]:
        rate *= evening["factor"]
    return rate


def crisis_multiplier(hours: float, crisis: dict[str, Any]) -> float:
    """Volume multiple ``hours`` after the crisis starts: exponential ramp, then slow decay."""
    if hours < 0:
        return 1.0
    peak, ramp, growth = crisis["peak"], crisis["ramp_hours"], crisis["growth"]
    if hours < ramp:
        return 1 + (peak - 1) * math.expm1(growth * hours) / math.expm1(growth * ramp)
    return 1 + (peak - 1) * math.exp(-(hours - ramp) / crisis["decay_hours"])


def _poisson(rng: random.Random, lam: float) -> int:
    limit, count, product = math.exp(-lam), 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


class _Writer:
    """Turns (kind, moment) into a row: language, template, author, platform and engagement."""

    def __init__(self, config: dict[str, Any], rng: random.Random):
        self.config, self.rng = config, rng
        self.langs = list(config["languages"])
        self.lang_weights = list(config["languages"].values())
        self.sources = list(config["sources"])
        self.source_weights = list(config["sources"].values())
        self.authors = {lang: self._pool(lang, max(40, round(700 * share)))
                        for lang, share in config["languages"].items()}

    def _pool(self, lang: str, size: int) -> list[tuple[str, int]]:
        stems, suffixes = self.config["authors"][lang], self.config["authors"]["suffixes"]
        handles: dict[str, int] = {}
        while len(handles) < size:
            tail = self.rng.choice([str(self.rng.randint(1, 99)), self.rng.choice(suffixes), ""])
            handle = self.rng.choice(stems) + self.rng.choice(["", "_", "."]) + tail
            handles.setdefault(handle, int(self.rng.lognormvariate(5.0, 1.5)))
        return list(handles.items())

    def fill(self, template: str, lang: str) -> str:
        slots = self.config["slots"]
        return _SLOT.sub(lambda m: str(self.rng.choice(slots[lang].get(m[1]) or slots["common"][m[1]])),
                         template)

    def _engagement(self, followers: int, heat: float) -> tuple[int, int, int]:
        reach = heat * math.sqrt(1 + followers / 300)
        likes = int(self.rng.lognormvariate(0.0, 1.2) * reach)
        shares = int(likes * self.rng.random() * 0.35)
        replies = int(self.rng.lognormvariate(-1.0, 1.1) * reach)
        return min(likes, 20000), min(shares, 5000), min(replies, 3000)

    def row(self, kind: str, moment: datetime) -> dict[str, Any]:
        rng, config = self.rng, self.config
        lang = "en" if kind == "repost" else rng.choices(self.langs, self.lang_weights)[0]
        templates = config["templates"][lang]
        title = None
        if kind == "repost":
            text = config["viral"]["text"]
        elif kind == "news":
            item = rng.choice(templates["news"])
            title, text = item["title"], self.fill(item["text"], lang)
        else:
            text = self.fill(rng.choice(templates[kind]), lang)
        if kind == "news":
            source = "news"
            author, followers = rng.choice(list(config["outlets"][lang].items()))
        else:
            source = "twitter" if kind in ("repost", "quote") else rng.choices(self.sources, self.source_weights)[0]
            author, followers = rng.choice(self.authors[lang])
        if kind == "repost":
            likes, shares, replies = int(rng.lognormvariate(-1.0, 1.0)), 0, 0
        else:
            heat = config["crisis"]["engagement"] if kind in CRISIS_KINDS else 1.0
            likes, shares, replies = self._engagement(followers, heat)
        row = {"text": text, "created_at": moment, "source": source, "author": author,
               "followers": followers, "likes": likes, "shares": shares, "replies": replies,
               "is_repost": kind == "repost", "is_quote": kind == "quote", "parent_id": None, "language": lang}
        if title:
            row["title"] = title
        return row

    def viral(self, moment: datetime) -> dict[str, Any]:
        v = self.config["viral"]
        return {"text": v["text"], "created_at": moment, "source": "twitter", "author": v["author"],
                "followers": v["followers"], "likes": v["likes"], "shares": v["shares"],
                "replies": v["replies"], "is_repost": False, "is_quote": False, "parent_id": None, "language": "en"}


def _crisis_start(start: datetime, quiet_days: int, hour: float) -> datetime:
    day = start.date() + timedelta(days=quiet_days)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return datetime.combine(day, time(), tzinfo=timezone.utc) + timedelta(hours=hour)


def _kind(rng: random.Random, crisis: dict[str, Any], hours: float, after_viral: bool,
          bump_share: float, decoy_share: float) -> str:
    """Which template family one post at ``hours`` into the crisis (negative: before it) uses."""
    multiple = crisis_multiplier(hours, crisis)
    if rng.random() < min(crisis["max_share"], (multiple - 1) / multiple):
        if hours >= crisis["news_after_hours"] and rng.random() < crisis["news_share"]:
            return "news"
        roll = rng.random()
        if after_viral and roll < crisis["repost_share"]:
            return "repost"
        if after_viral and roll < crisis["repost_share"] + crisis["quote_share"]:
            return "quote"
        return "crisis"
    if rng.random() < bump_share:
        return "bump"
    return "decoy" if rng.random() < decoy_share else "ordinary"


def generate(start: datetime | None = None, *, quiet_days: int = 21, crisis_hours: int = 12,
             seed: int = 7, scale: float = 1.0) -> Scenario:
    """The scenario for ``seed``: ``quiet_days`` of chatter, then ``crisis_hours`` of crisis.

    ``scale`` multiplies every rate (use it to make bigger benchmark sets). Deterministic per seed.
    """
    if quiet_days < 1 or crisis_hours < 1 or scale <= 0:
        raise ValueError("quiet_days and crisis_hours must be >= 1 and scale > 0")
    config = load_config()
    volume, crisis, bump = config["volume"], config["crisis"], config["bump"]
    rng = random.Random(seed)
    writer = _Writer(config, rng)
    start = utc(start or DEFAULT_START)
    crisis_start = _crisis_start(start, quiet_days, crisis["start_hour"])
    end = crisis_start + timedelta(hours=crisis_hours)
    viral_at = crisis_start + timedelta(minutes=min(crisis["viral_after_minutes"], crisis_hours * 30))
    bump_day = start.date() + timedelta(days=bump["day"]) if bump["day"] < quiet_days else None

    posts: list[tuple[str, dict[str, Any]]] = [("viral", writer.viral(viral_at))]
    noise: dict[date, float] = {}
    minute = start
    while minute < end:
        day_factor = noise.setdefault(minute.date(), rng.lognormvariate(0.0, volume["daily_noise"]))
        bumped = bump["factor"] if minute.date() == bump_day else 1.0
        hours = (minute - crisis_start).total_seconds() / 3600
        rate = base_rate(minute, volume) * day_factor * bumped * crisis_multiplier(hours, crisis) * scale
        for _ in range(_poisson(rng, rate / 60)):
            moment = minute + timedelta(seconds=rng.randrange(60))
            kind = _kind(rng, crisis, hours, moment > viral_at, 1 - 1 / bumped, volume["decoy_share"])
            posts.append((kind, writer.row(kind, moment)))
        minute += timedelta(minutes=1)

    posts.sort(key=lambda post: post[1]["created_at"])
    rows, kinds, viral_id = [], {}, ""
    for number, (kind, row) in enumerate(posts, start=1):
        row["id"] = f"{_PREFIX[row['source']]}-{number:07d}"
        moment = row.pop("created_at")
        row["created_at"] = moment.strftime("%Y-%m-%dT%H:%M:%SZ")
        row["url"] = _URL[row["source"]].format(author=row["author"], num=100000000 + number,
                                                 lang=row["language"], date=moment.strftime("%Y/%m/%d"))
        viral_id = row["id"] if kind == "viral" else viral_id
        kinds[row["id"]] = kind
        rows.append(row)
    for row in rows:
        if row["is_repost"] or row["is_quote"]:
            row["parent_id"] = viral_id
    return Scenario(rows=rows, start=start, crisis_start=crisis_start, end=end, viral_post_id=viral_id,
                    brand=config["brand"], query=config["query"], kinds=kinds)


def created_at(row: dict[str, Any]) -> datetime:
    """A row's ``created_at`` as an aware UTC datetime."""
    return utc(datetime.fromisoformat(row["created_at"].replace("Z", "+00:00")))


def index_at(rows: list[dict[str, Any]], moment: datetime) -> int:
    """How many of the sorted ``rows`` were created at or before ``moment`` (bisect)."""
    return bisect.bisect_right(rows, utc(moment), key=created_at)


def iter_until(rows: list[dict[str, Any]], moment: datetime,
               since: datetime | None = None) -> Iterator[dict[str, Any]]:
    """The sorted ``rows`` created after ``since`` (if given) and at or before ``moment``."""
    first = index_at(rows, since) if since is not None else 0
    return iter(rows[first:index_at(rows, moment)])


def write_jsonl(rows: Iterable[dict[str, Any]], path: str | Path) -> int:
    """Write ``rows`` as UTF-8 JSON lines to ``path``; returns how many were written."""
    count = 0
    with Path(path).open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
            count += 1
    return count
