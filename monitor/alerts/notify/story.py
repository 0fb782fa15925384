"""The words and figures of an incident, one way everywhere: Slack, the dashboard, the CLI, reports.

The terms are defined in docs/glossary.md: a *mention* is one stored post; an *interaction* is a
like, share or reply to a post; the *spike window* is the span a spike was measured over; the
*negative share* is the negative mentions among the mentions with a sentiment.
"""

from __future__ import annotations

from collections import Counter

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from monitor.localtime import shown, zone
from monitor.models import SENTIMENT_LABELS, Incident, Spike, SpikeKind

KIND_TITLE = {
    SpikeKind.VOLUME: "Mention spike",
    SpikeKind.NEGATIVE: "Negative sentiment surge",
    SpikeKind.VIRAL_POST: "Post going viral",
}
UNIT = {SpikeKind.VOLUME: "mentions", SpikeKind.NEGATIVE: "negative mentions", SpikeKind.VIRAL_POST: "interactions"}
SENTIMENTS = SENTIMENT_LABELS
HEADLINE_PHRASES = 2
SENTIMENT_COLOURS = {"negative": "#d62728", "neutral": "#9e9e9e", "positive": "#2ca02c", "unknown": "#d9d9d9"}
"""The sentiment palette of every chart, in Slack and in the dashboard."""


def number(value: float) -> str:
    """``1,234`` from 10 up, ``7.5`` below (whole numbers without decimals)."""
    return f"{value:,.0f}" if abs(value) >= 10 or float(value).is_integer() else f"{value:.1f}"


def ratio_text(observed: float, expected: float) -> str:
    """How many times the expected level: ``7.8×`` below 10, ``10,444×`` from 10; the one rounding used."""
    if expected <= 0:
        return "no baseline yet"
    ratio = observed / expected
    return f"{ratio:,.0f}×" if ratio >= 10 else f"{ratio:.1f}×"


def span_text(start: datetime, end: datetime) -> str:
    """``15 min``, ``2 h``, ``1 h 30 min``: the length of a window."""
    minutes = round((end - start) / timedelta(minutes=1))
    hours, rest = divmod(minutes, 60)
    if minutes < 60:
        return f"{minutes} min"
    return f"{hours} h" + (f" {rest} min" if rest else "")


def share_text(share: float) -> str:
    return f"{share:.0%}"


def _float(value: Any, default: float | None = None) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return default


def _counts(raw: Any) -> dict[str, int]:
    """A stored ``{label: count}`` read back with every label (none when it is missing or empty)."""
    if not isinstance(raw, dict) or not raw:
        return {}
    return {label: int(_float(raw.get(label), 0) or 0) for label in SENTIMENTS}


@dataclass(frozen=True)
class Figures:
    """The numbers an incident's alert shows, from its summary (the spike that opened it as a fallback).

    ``observed`` and ``expected`` count :data:`UNIT` of ``kind`` in the spike window; ``split`` is
    the posts the rule judged by sentiment (the mentions of that window; for a post going viral, the
    post and the quotes of and replies to it), ``uncertain`` how many of each label the scorer was
    unsure of, and ``negative_share`` is computed from the split.
    """

    kind: SpikeKind
    observed: float | None
    expected: float
    start: datetime | None = None
    end: datetime | None = None
    split: dict[str, int] = field(default_factory=dict)
    uncertain: dict[str, int] = field(default_factory=dict)
    baseline_share: float | None = None
    spike_share: float | None = None

    @classmethod
    def of(cls, summary: dict[str, Any], spike: Spike | None, kind: SpikeKind = SpikeKind.VOLUME) -> Figures:
        window = summary.get("window") if isinstance(summary.get("window"), list) else []
        start, end = (spike.window_start, spike.window_end) if spike else (None, None)
        if len(window) == 2:
            try:
                start, end = datetime.fromisoformat(window[0]), datetime.fromisoformat(window[1])
            except (TypeError, ValueError):
                pass
        raw_split = summary.get("sentiment_split") if isinstance(summary.get("sentiment_split"), dict) else {}
        split = _counts(raw_split)
        uncertain = _counts(summary.get("uncertain_split")) if split else {}
        try:
            kind = SpikeKind(summary["kind"]) if "kind" in summary else (spike.kind if spike else kind)
        except ValueError:
            kind = spike.kind if spike else kind
        return cls(
            kind=kind,
            observed=_float(summary.get("observed"), spike.observed if spike else None),
            expected=_float(summary.get("expected"), spike.expected if spike else 0.0) or 0.0,
            start=start, end=end, split=split, uncertain=uncertain,
            baseline_share=_float(summary.get("baseline_negative_share"),
                                  spike.baseline_negative_share if spike else None),
            spike_share=_float(summary.get("negative_share"), spike.negative_share if spike else None),
        )

    @property
    def unit(self) -> str:
        return UNIT[self.kind]

    @property
    def scored(self) -> int:
        return sum(self.split.values())

    @property
    def negative_share(self) -> float | None:
        """Negative mentions among the window's mentions with a sentiment (the split's own figure)."""
        if self.split:
            return self.split["negative"] / self.scored if self.scored else None
        return None if self.kind is SpikeKind.VIRAL_POST else self.spike_share

    @property
    def span(self) -> str:
        return span_text(self.start, self.end) if self.start and self.end else "the spike window"

    @property
    def judged(self) -> str:
        """Which posts the split and negative share count: ``in 45 min``, or ``of the post and replies``."""
        return "of the post and replies" if self.kind is SpikeKind.VIRAL_POST else f"in {self.span}"

    def magnitude(self) -> str:
        """``128 mentions in 30 min vs 16 expected (7.8×)``; a viral post's interactions say so."""
        if self.observed is None:
            return ""
        if self.kind is SpikeKind.VIRAL_POST:
            size = f"{number(self.observed)} interactions (likes, shares, replies) on one post"
            usual = "on the brand's usual post"
        else:
            size = f"{number(self.observed)} {self.unit} in {self.span}"
            usual = "expected"
        if self.expected <= 0:
            return f"{size} (no baseline yet)"
        return f"{size} vs {number(self.expected)} {usual} ({ratio_text(self.observed, self.expected)})"

    def negative(self) -> str:
        """``64% (200 of 312) vs 12% usual (+52 pts)``, or "" without a figure."""
        share = self.negative_share
        if share is None:
            return ""
        text = share_text(share) + (f" ({number(self.split['negative'])} of {number(self.scored)})" if self.split else "")
        if self.baseline_share is not None:
            text += f" vs {share_text(self.baseline_share)} usual ({(share - self.baseline_share) * 100:+.0f} pts)"
        return text

    def sentiment(self, icons: dict[str, str] | None = None) -> str:
        """``200 negative (12 uncertain) · 80 neutral · 32 positive``: every label with its uncertain posts,
        each after its icon when ``icons`` are given."""
        parts = []
        for label in SENTIMENTS if self.split else ():
            unsure = self.uncertain.get(label, 0)
            icon = f"{icons[label]} " if icons else ""
            parts.append(f"{icon}{self.split[label]:,} {label}" + (f" ({unsure:,} uncertain)" if unsure else ""))
        return " · ".join(parts)


def how_big(figures: Figures) -> str:
    """The size in plain words for a headline: ``83,551 likes, shares and replies (10,444× usual)``."""
    if figures.observed is None:
        return ""
    ratio = ratio_text(figures.observed, figures.expected)
    if figures.kind is SpikeKind.VIRAL_POST:
        return f"{number(figures.observed)} likes, shares and replies ({ratio} usual)"
    return f"{number(figures.observed)} {figures.unit} in {figures.span} ({ratio} usual)"


def where(summary: dict[str, Any]) -> str:
    """The source the spike's posts come from most (the viral post's own source first)."""
    posts = [p for p in summary.get("posts") or [] if isinstance(p, dict)]
    if summary.get("kind") == SpikeKind.VIRAL_POST.value and posts and posts[0].get("source"):
        return str(posts[0]["source"])
    sources = summary.get("sources") if isinstance(summary.get("sources"), dict) else {}
    return str(min(sources, key=lambda s: (-sources[s], s))) if sources else ""


def story(incident: Incident, summary: dict[str, Any]) -> str:
    """What happened, about what, where and how big, in one line:
    ``Aurora Air: post going viral on twitter about “stranded”, “app dead”: 83,551 likes, shares and replies (10,444× usual)``.
    """
    spike = incident.spikes[0] if incident.spikes else None
    figures = Figures.of(summary, spike, incident.kind)
    line = f"{incident.brand}: {KIND_TITLE[figures.kind].lower()}"
    source = where(summary)
    if source:
        line += f" on {source}"
    phrases = [str(p) for p in summary.get("key_phrases") or [] if p][:HEADLINE_PHRASES]
    if phrases:
        line += " about " + ", ".join(f"“{p}”" for p in phrases)
    size = how_big(figures)
    if size and figures.kind is not SpikeKind.VIRAL_POST and figures.negative_share is not None:
        size += f", {share_text(figures.negative_share)} negative"
    return f"{line}: {size}" if size else line


def headline(incident: Incident, spike: Spike) -> str:
    """The one-line update for a spike, for thread replies and the console."""
    figures = Figures(kind=spike.kind, observed=spike.observed, expected=spike.expected,
                      start=spike.window_start, end=spike.window_end)
    if spike.kind is SpikeKind.VIRAL_POST:
        return f"{KIND_TITLE[spike.kind]} for {incident.brand}: one post has {how_big(figures)}"
    return f"{KIND_TITLE[spike.kind]} for {incident.brand}: {how_big(figures)}, {share_text(spike.negative_share)} negative"


def peak_spike(incident: Incident) -> Spike | None:
    """The spike window with the most mentions (negative mentions without a mention spike); never a
    viral post's, which counts interactions."""
    counted = [s for s in incident.spikes if s.kind is not SpikeKind.VIRAL_POST]
    volume = [s for s in counted if s.kind is SpikeKind.VOLUME] or counted
    return max(volume, key=lambda s: s.observed) if volume else None


def peak_text(incident: Incident, tz: ZoneInfo | None = None) -> str:
    """``128 mentions in 30 min (09:45–10:15 UTC)``, or "" without a counted spike (see the glossary).

    Times are in ``tz`` (UTC when None), its zone named."""
    top = peak_spike(incident)
    if top is None:
        return ""
    tz = tz or zone(None)
    return (f"{number(top.observed)} {UNIT[top.kind]} in {span_text(top.window_start, top.window_end)} "
            f"({top.window_start.astimezone(tz):%H:%M}–{shown(top.window_end, tz, '%H:%M')})")


def title(incident: Incident, tz: ZoneInfo | None = None) -> str:
    """An incident's title by what opened it: ``Post going viral · Aurora Air · detected 08 Jun 07:45 UTC``
    (in ``tz``, UTC when None)."""
    kind = incident.spikes[0].kind if incident.spikes else incident.kind
    return f"{KIND_TITLE[kind]} · {incident.brand} · detected {shown(incident.opened_at, tz or zone(None))}"


def duration(minutes: float) -> str:
    """``45 min``, ``2 h``, ``1 h 30 min``, ``3 d``, ``1.5 d``."""
    minutes = int(round(minutes))
    hours, rest = divmod(minutes, 60)
    if minutes < 1440:
        return f"{minutes} min" if minutes < 60 else f"{hours} h" + (f" {rest} min" if rest else "")
    return f"{minutes / 1440:.1f}".removesuffix(".0") + " d"


def summary_posts(summary: dict[str, Any]) -> list[dict[str, Any]]:
    """The summary's representative posts (ignoring anything that is not a post)."""
    return [p for p in summary.get("posts") or [] if isinstance(p, dict)]


def summary_languages(summary: dict[str, Any]) -> list[str]:
    """The posts' languages, most common first."""
    counts = Counter(summary.get("languages") or {})
    if not counts:
        counts = Counter(p["language"] for p in summary_posts(summary) if p.get("language"))
    return [language for language, _ in counts.most_common()]
