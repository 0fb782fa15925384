"""What a spike is about, for alerts: key phrases, representative posts, sentiment split."""

from __future__ import annotations

import math
import re
from collections import Counter
from datetime import datetime, timedelta
from typing import Any, Sequence

from monitor.models import Mention, Spike
from monitor.query import normalise
from monitor.store.base import MentionFilter, Store

_WORD = re.compile(r"[^\W\d_][\w'’-]{2,}", re.UNICODE)
_URL = re.compile(r"https?://\S+")
LOOKBACK = timedelta(hours=1)
STOPWORDS = frozenset(
    "the and for are but not you your all any can had has have her his how its our out who why with this that "
    "there their them they then than what when where which will would just from into about been being were was "
    "der die das und ist nicht mit auf für den dem des ein eine einer sich von wie noch schon "
    "los las una por con para que del como pero más est les des une pour pas sur avec dans qui que "
    "nie się jak już jest ale czy tak tylko przez dla też "
    "что это как все так уже нет для его они она".split()
)


def _tokens(text: str, ignore: set[str]) -> list[str]:
    words = [w for w in _WORD.findall(normalise(_URL.sub(" ", text))) if w not in ignore]
    pairs = [f"{a} {b}" for a, b in zip(words, words[1:]) if a not in STOPWORDS and b not in STOPWORDS]
    return [w for w in words if w not in STOPWORDS] + pairs


def key_phrases(window: Sequence[str], reference: Sequence[str], ignore: set[str], top: int = 6) -> list[str]:
    """Words and word pairs much more frequent in ``window`` than in ``reference``.

    Ranked by smoothed log-odds weighted by frequency, counting each text once per phrase
    (a copy-paste storm does not dominate) and dropping phrases contained in a better one.
    """
    here = Counter(p for t in window for p in set(_tokens(t, ignore)))
    there = Counter(p for t in reference for p in set(_tokens(t, ignore)))
    n_here, n_there = max(len(window), 1), max(len(reference), 1)
    scored = []
    for phrase, count in here.items():
        if count < 2:
            continue
        lift = math.log((count + 0.5) / n_here) - math.log((there[phrase] + 0.5) / n_there)
        if lift > 0.5:
            scored.append((lift * math.log1p(count) * (1.3 if " " in phrase else 1.0), phrase))
    chosen: list[str] = []
    for _, phrase in sorted(scored, reverse=True):
        if any(phrase in c or c in phrase for c in chosen):
            continue
        chosen.append(phrase)
        if len(chosen) == top:
            break
    return chosen


def _reach(mention: Mention) -> int:
    return mention.engagement.total * 10 + (mention.author.followers or 0)


def representative_posts(mentions: Sequence[Mention], top: int = 3) -> list[Mention]:
    """The most-shared original posts, negative first, one per distinct text."""
    seen: set[str] = set()
    chosen = []
    ranked = sorted(
        (m for m in mentions if not m.is_repost),
        key=lambda m: (m.sentiment is not None and m.sentiment.label == "negative", _reach(m)),
        reverse=True,
    )
    for mention in ranked:
        key = normalise(mention.text)[:120]
        if key not in seen:
            seen.add(key)
            chosen.append(mention)
        if len(chosen) == top:
            break
    return chosen


def summarise(
    store: Store, spike: Spike, brand_terms: set[str], reference_start: datetime, lookback: timedelta = LOOKBACK
) -> dict[str, Any]:
    """The alert summary of ``spike``: the numbers, key phrases, posts and sentiment split.

    Phrases and posts come from the spike's window and ``lookback`` before it, so the post
    that set things off is shown even when the spike was confirmed a little later.
    """
    since = spike.window_start - lookback
    window = store.search(MentionFilter(brands=[spike.brand], since=since, until=spike.window_end, limit=2000))
    reference = store.search(
        MentionFilter(brands=[spike.brand], since=reference_start, until=since, limit=4000)
    )
    split = Counter(m.sentiment.label for m in window if m.sentiment)
    languages = Counter(m.language for m in window if m.language)
    posts = representative_posts(window)
    return {
        "observed": spike.observed,
        "expected": round(spike.expected, 1),
        "negative_share": round(spike.negative_share, 3),
        "baseline_negative_share": round(spike.baseline_negative_share, 3),
        "key_phrases": key_phrases([m.text for m in window], [m.text for m in reference], brand_terms),
        "posts": [
            {
                "id": m.id,
                "text": m.text,
                "url": m.url,
                "author": m.author.handle,
                "language": m.language,
                "sentiment": m.sentiment.label if m.sentiment else None,
            }
            for m in posts
        ],
        "sentiment_split": {label: split.get(label, 0) for label in ("negative", "neutral", "positive")},
        "languages": dict(languages.most_common(6)),
        "texts": [m.text for m in window[:200]],
    }
