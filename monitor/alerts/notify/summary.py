"""What a spike is about, for alerts: key phrases, representative posts, sentiment split."""

from __future__ import annotations

import logging
import math
import re
from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Sequence

import numpy as np

from monitor.errors import NlpError
from monitor.models import SENTIMENT_LABELS, Mention, Spike, SpikeKind
from monitor.nlp.text import cache_key
from monitor.nlp.themes import centred, cluster, embed_texts
from monitor.query import normalise
from monitor.store.base import MentionFilter, Store

log = logging.getLogger(__name__)

_WORD = re.compile(r"[^\W\d_][\w'’-]{2,}", re.UNICODE)
_URL = re.compile(r"https?://\S+")
_CLAUSE = re.compile(r"[.,;:!?…()\[\]\"“”«»/|=+&<>→\n]+|\s[-–—]+\s")
LOOKBACK = timedelta(hours=1)
MIN_TEXTS = 3
"""Distinct texts a key phrase must occur in."""
NEGATIVE_RISE = 0.1
"""A spike whose negative share is this far above its baseline is summarised from negative posts."""
MAX_THEMED_TEXTS = 100
"""Distinct texts embedded to find a spike's themes: the most repeated ones."""
SAME_THEME = 0.25
"""Cosine of centred embeddings above which a post repeats one already chosen (in a demo spike
half the pairs of posts score below 0.07 and 95% below 0.34; the same news in two languages 0.29)."""
STOPWORDS = frozenset(
    "the and for are but not you your all any can had has have her his how its our out who why with this that "
    "there their them they then than what when where which will would just from into about been being were was "
    "now right one every here also very much really even get got "
    "der die das und ist nicht mit auf für den dem des ein eine einer sich von wie noch schon "
    "los las una por con para que del como pero más est les des une pour pas sur avec dans qui que "
    "nie się jak już jest ale czy tak tylko przez dla też "
    "что это как все так уже нет для его они она".split()
)


def _tokens(text: str, ignore: set[str]) -> list[str]:
    """The text's words and the pairs of words next to each other in one clause (never across
    punctuation or the brand's name; words under three letters are skipped), function words left out."""
    words: list[str] = []
    pairs: list[str] = []
    for clause in _CLAUSE.split(normalise(_URL.sub(" ", text))):
        kept = ["" if w in ignore else w for w in _WORD.findall(clause)]
        words += [w for w in kept if w and w not in STOPWORDS]
        pairs += [f"{a} {b}" for a, b in zip(kept, kept[1:]) if a and b and not {a, b} & STOPWORDS]
    return words + pairs


def _phrase_counts(texts: Sequence[str], ignore: set[str]) -> tuple[Counter[str], int]:
    """In how many distinct texts each phrase occurs, and how many distinct texts there are."""
    distinct = {cache_key(t): t for t in texts}
    return Counter(p for t in distinct.values() for p in set(_tokens(t, ignore))), len(distinct)


def key_phrases(
    window: Sequence[str], reference: Sequence[str], ignore: set[str], top: int = 6, anchors: Sequence[str] = ()
) -> list[str]:
    """Words and word pairs much more frequent in ``window`` than in ``reference``.

    Ranked by smoothed log-odds weighted by frequency, counting each distinct text once (reposts
    and copy-paste storms do not dominate; the post they copy is shown anyway), keeping phrases
    that at least :data:`MIN_TEXTS` texts share (fewer is chance in a small window) or that one
    of the ``anchors`` says (the post that went viral: what it says is what the spike is about;
    after the phrases many texts share), and dropping phrases contained in a better one.
    """
    anchored = {p for t in anchors for p in _tokens(t, ignore)}
    shared: dict[str, bool] = {}
    here, n_here = _phrase_counts([*window, *anchors], ignore)
    there, n_there = _phrase_counts(reference, ignore)
    n_here, n_there = max(n_here, 1), max(n_there, 1)
    scored = []
    for phrase, count in here.items():
        if count < MIN_TEXTS and phrase not in anchored:
            continue
        lift = math.log((count + 0.5) / n_here) - math.log((there[phrase] + 0.5) / n_there)
        if lift > 0.5:
            shared[phrase] = count >= MIN_TEXTS
            scored.append((lift * math.log1p(count) * (1.3 if " " in phrase else 1.0), phrase))
    chosen: list[str] = []
    for _, phrase in sorted(scored, key=lambda item: (shared[item[1]], *item), reverse=True):
        if any(phrase in c or c in phrase for c in chosen):
            continue
        chosen.append(phrase)
        if len(chosen) == top:
            break
    return chosen


def _reach(mention: Mention) -> int:
    return mention.engagement.total * 10 + (mention.author.followers or 0)


def _negativity(mention: Mention) -> float:
    return mention.sentiment.probabilities.get("negative", 0.0) if mention.sentiment else 1 / 3


def _by_reach(mentions: Sequence[Mention], top: int, chosen: list[Mention]) -> list[Mention]:
    """``chosen``, topped up with the most-shared original posts, negative first, one per text."""
    seen = {normalise(m.text)[:120] for m in chosen}
    ranked = sorted(
        (m for m in mentions if not m.is_repost),
        key=lambda m: (m.sentiment is not None and m.sentiment.label == "negative", _reach(m)),
        reverse=True,
    )
    for mention in ranked:
        if len(chosen) >= top:
            break
        key = normalise(mention.text)[:120]
        if key not in seen:
            seen.add(key)
            chosen.append(mention)
    return chosen


def _by_theme(
    mentions: Sequence[Mention], top: int, embed: Callable[[list[str]], np.ndarray]
) -> list[Mention]:
    """The highest-reach original post of each of the ``top`` heaviest themes.

    A theme whose post says what a chosen one says (often the same news in another language,
    which the small encoder keeps apart) is skipped.
    """
    groups: dict[str, list[Mention]] = defaultdict(list)
    for mention in mentions:
        groups[cache_key(mention.text)].append(mention)
    texts = sorted(groups, key=lambda key: (len(groups[key]), max(map(_reach, groups[key]))), reverse=True)
    texts = texts[:MAX_THEMED_TEXTS]
    if not texts:
        return []
    vectors = embed([groups[key][0].text for key in texts])
    sizes = np.array([len(groups[key]) for key in texts], dtype=float)
    labels = cluster(vectors, sizes, max(top, round(math.sqrt(len(texts)))))
    points, row = centred(vectors, sizes), {key: index for index, key in enumerate(texts)}
    themes: dict[int, list[Mention]] = defaultdict(list)
    for key, label in zip(texts, labels):
        themes[int(label)].extend(groups[key])
    ranked = sorted(themes.values(), key=lambda members: (
        len(members) * float(np.mean([_negativity(m) for m in members])), len(members)), reverse=True)
    chosen: list[Mention] = []
    rows: list[int] = []
    for members in ranked:
        originals = [m for m in members if not m.is_repost]
        if not originals:
            continue
        post = max(originals, key=_reach)
        index = row[cache_key(post.text)]
        if rows and float((points[rows] @ points[index]).max()) > SAME_THEME:
            continue
        chosen.append(post)
        rows.append(index)
        if len(chosen) == top:
            break
    return chosen


def representative_posts(
    mentions: Sequence[Mention], top: int = 3, embed: Callable[[list[str]], np.ndarray] | None = None
) -> list[Mention]:
    """One post per thing people say: ``top`` original posts from different themes.

    Distinct texts (reposts and copy-paste variants folded together) are embedded with the
    offline multilingual encoder (``embed``, :func:`monitor.nlp.themes.embed_texts` by default)
    and clustered; themes are ranked by mentions × mean negative probability and each gives its
    highest-reach original post. When embedding fails, the most-shared posts, negative first.
    """
    chosen: list[Mention] = []
    try:
        chosen = _by_theme(mentions, top, embed or embed_texts)
    except NlpError as exc:
        log.warning("representative posts ranked by reach: the themes could not be found (%s)", exc)
    return _by_reach(mentions, top, chosen)


def negative_focus(spike: Spike, window: Sequence[Mention]) -> Sequence[Mention]:
    """The posts a spike's phrases and posts come from: the negative ones when the spike is about
    negativity (a negative surge, a post going viral, or a volume spike whose negative share rose
    by :data:`NEGATIVE_RISE`), else all; all as well when no post is negative."""
    negative = spike.kind in (SpikeKind.NEGATIVE, SpikeKind.VIRAL_POST) or (
        spike.negative_share >= spike.baseline_negative_share + NEGATIVE_RISE)
    chosen = [m for m in window if m.sentiment and m.sentiment.label == "negative"] if negative else []
    return chosen or window


def reactions(window: Sequence[Mention], posts: set[str]) -> list[Mention]:
    """The quotes of and replies to ``posts`` in ``window``: what people say about a post going viral."""
    return [m for m in window if (m.parent_id in posts and not m.is_repost) or m.reply_to in posts]


def _top(counts: Counter[str], top: int = 6) -> dict[str, int]:
    """The ``top`` most frequent, ties by name: the same whatever order the posts were stored in."""
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:top])


def window_split(store: Store, spike: Spike) -> dict[str, int]:
    """The brand's mentions in the spike window by sentiment: the counts the detector and the dashboard read."""
    rows = store.series(spike.brand, spike.window_start, spike.window_end, spike.window_end - spike.window_start,
                        group_by=("sentiment",))
    split = Counter({label: 0 for label in SENTIMENT_LABELS})
    for row in rows:
        if row.group.get("sentiment") in split:
            split[row.group["sentiment"]] += row.count
    return dict(split)


def label_split(posts: Sequence[Mention]) -> tuple[dict[str, int], dict[str, int]]:
    """``posts`` by sentiment label, and how many of each label the scorer marked uncertain."""
    split = Counter({label: 0 for label in SENTIMENT_LABELS})
    uncertain = Counter({label: 0 for label in SENTIMENT_LABELS})
    for post in posts:
        if post.sentiment:
            split[post.sentiment.label] += 1
            uncertain[post.sentiment.label] += int(post.sentiment.uncertain)
    return dict(split), dict(uncertain)


def judged_split(store: Store, spike: Spike, window: Sequence[Mention]) -> tuple[dict[str, int], dict[str, int]]:
    """The posts the rule judged, by sentiment, and the uncertain ones among each label.

    A mention spike or negative surge judged every mention of its window: the split is the
    detector's own count (:func:`window_split`). A post going viral judged that post: the split
    counts it, the other viral posts of the spike and the quotes of and replies to them in
    ``window`` (:func:`reactions`), not the unrelated posts of its hour.
    """
    if spike.kind is SpikeKind.VIRAL_POST:
        pinned = set(spike.sample_mention_ids)
        return label_split([m for m in window if m.id in pinned] + reactions(window, pinned))
    split = window_split(store, spike)
    judged = store.search(MentionFilter(brands=[spike.brand], since=spike.window_start, until=spike.window_end,
                                        limit=max(sum(split.values()), 1)))
    _, uncertain = label_split([m for m in judged if spike.window_start <= m.created_at < spike.window_end])
    return split, uncertain


def summarise(
    store: Store, spike: Spike, brand_terms: set[str], reference_start: datetime, lookback: timedelta = LOOKBACK
) -> dict[str, Any]:
    """The alert summary of ``spike``: the numbers, key phrases, posts and sentiment split.

    The sentiment split counts the posts the rule judged (:func:`judged_split`), with the uncertain
    ones of each label apart, so the alert's negative share and split agree; the sources count the
    mentions of the spike window; a viral post's usual negative share is the reference's.

    Phrases and posts come from the spike's window and ``lookback`` before it, so the post
    that set things off is shown even when the spike was confirmed a little later; see
    :func:`negative_focus` for which of those posts. A post going viral is shown with the quotes
    of and replies to it (:func:`reactions`) rather than with other posts of the hour.
    """
    since = spike.window_start - lookback
    window = store.search(MentionFilter(brands=[spike.brand], since=since, until=spike.window_end, limit=2000))
    reference = store.search(
        MentionFilter(brands=[spike.brand], since=reference_start, until=since, limit=4000)
    )
    split, uncertain = judged_split(store, spike, window)
    languages = Counter(m.language for m in window if m.language)
    sources = Counter(m.source for m in window if spike.window_start <= m.created_at < spike.window_end)
    focus = negative_focus(spike, window)
    pinned = set(spike.sample_mention_ids)
    posts = [m for m in window if m.id in pinned]
    viral = spike.kind is SpikeKind.VIRAL_POST and bool(posts)
    others = representative_posts(reactions(window, pinned) if viral else focus)
    posts = (posts + [m for m in others if m.id not in pinned])[:3]
    baseline_share = spike.baseline_negative_share
    if spike.kind is SpikeKind.VIRAL_POST:
        scored = [m.sentiment.label for m in reference if m.sentiment]
        baseline_share = scored.count("negative") / len(scored) if scored else 0.0
    return {
        "kind": spike.kind.value,
        "window": [spike.window_start.isoformat(), spike.window_end.isoformat()],
        "observed": spike.observed,
        "expected": round(spike.expected, 1),
        "negative_share": round(spike.negative_share, 3),
        "baseline_negative_share": round(baseline_share, 3),
        "key_phrases": key_phrases([m.text for m in focus], [m.text for m in reference], brand_terms,
                                   anchors=[m.text for m in posts if m.id in pinned]),
        "posts": [
            {
                "id": m.id,
                "text": m.text,
                "url": m.url,
                "author": m.author.handle,
                "language": m.language,
                "sentiment": m.sentiment.label if m.sentiment else None,
                "source": m.source,
            }
            for m in posts
        ],
        "sentiment_split": split,
        "uncertain_split": uncertain,
        "sources": _top(sources),
        "languages": _top(languages),
        "texts": [m.text for m in window[:200]],
    }
