"""Typed objects that cross module boundaries: mentions, spikes, incidents, playbooks."""

from __future__ import annotations

import enum
import hashlib
from datetime import datetime, timezone
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

SentimentLabel = Literal["negative", "neutral", "positive"]
SENTIMENT_LABELS: tuple[SentimentLabel, ...] = ("negative", "neutral", "positive")

MAX_COUNT = 10**12
"""The largest count (likes, followers, reach) a mention may carry: above any real one, and
small enough that sums of many stay exact in SQLite, Elasticsearch and JSON readers."""


def utc(value: datetime) -> datetime:
    """Return ``value`` as an aware UTC datetime (naive values are taken as UTC)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Author(_Model):
    handle: str | None = None
    name: str | None = None
    followers: int | None = Field(default=None, ge=0, le=MAX_COUNT)


class Engagement(_Model):
    likes: int = Field(default=0, ge=0, le=MAX_COUNT)
    shares: int = Field(default=0, ge=0, le=MAX_COUNT)
    replies: int = Field(default=0, ge=0, le=MAX_COUNT)

    @property
    def total(self) -> int:
        return self.likes + self.shares + self.replies


class Sentiment(_Model):
    """A sentiment judgement: the label, its probability and the full distribution."""

    label: SentimentLabel
    score: float = Field(ge=0.0, le=1.0)
    probabilities: dict[SentimentLabel, float]
    uncertain: bool = False
    model: str = ""
    corrected_by: str | None = None
    """Who set the label by hand (see :class:`SentimentCorrection`); None while it is the model's."""

    @property
    def label_id(self) -> int:
        """0 negative, 1 neutral, 2 positive (the TweetEval convention)."""
        return SENTIMENT_LABELS.index(self.label)

    @classmethod
    def by_hand(cls, label: SentimentLabel, by: str, model: str = "") -> Sentiment:
        """A person's label: certain, with all its probability on ``label``."""
        return cls(label=label, score=1.0, probabilities={name: float(name == label) for name in SENTIMENT_LABELS},
                   model=model, corrected_by=by)


class Mention(_Model):
    """One post, article or comment that matched a brand's query."""

    id: str
    brand: str
    source: str
    text: str
    created_at: datetime
    collected_at: datetime
    url: str | None = None
    title: str | None = None
    author: Author = Field(default_factory=Author)
    engagement: Engagement = Field(default_factory=Engagement)
    is_repost: bool = False
    is_quote: bool = False
    parent_id: str | None = None
    """The mention this one reposts or quotes."""
    reply_to: str | None = None
    """The mention this one answers (its id, whether stored or not)."""
    conversation: str | None = None
    """The id of the thread's first post, shared by every reply in it."""
    reach: int | None = Field(default=None, ge=0, le=MAX_COUNT)
    """How many times the post was seen (impressions, views) where the service says."""
    community: str | None = None
    """Where it was posted, when the service has such places (``r/name`` on Reddit)."""
    thread_title: str | None = None
    """The title of the story or thread a comment belongs to (Hacker News)."""
    labels: list[str] = Field(default_factory=list)
    """Sensitivity flags and moderation labels the service put on the post (``sensitive``, ``nsfw``...)."""
    language: str | None = None
    language_hint: str | None = None
    sentiment: Sentiment | None = None
    matched_terms: list[str] = Field(default_factory=list)
    deleted_at: datetime | None = None
    """When its author deleted the post (seen on a stream): kept as an incident's evidence, never viral again."""

    @field_validator("created_at", "collected_at", "deleted_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        return None if value is None else utc(value)

    @staticmethod
    def make_id(source: str, external_id: str) -> str:
        return f"{source}:{external_id}"

    @property
    def full_text(self) -> str:
        """The title (when there is one) and the text, as stored and searched."""
        return f"{self.title}\n{self.text}" if self.title else self.text

    @property
    def estimated_reach(self) -> int:
        """How many could have seen the post: its views where the source says, else its author's followers."""
        return self.reach if self.reach is not None else self.author.followers or 0

    @property
    def author_name(self) -> str:
        """The author's handle, else their name ("" when the source gives neither)."""
        return self.author.handle or self.author.name or ""


class SentimentCorrection(_Model):
    """A person's sentiment label for one mention: it replaces the model's label in every figure, and the
    latest one per mention is training data for the sentiment model (``monitor nlp export-corrections``)."""

    brand: str
    mention_id: str
    label: SentimentLabel
    previous: SentimentLabel | None = None
    """The label the mention had before (the model's, or an earlier correction's)."""
    by: str
    at: datetime
    text: str = ""
    language: str | None = None

    @field_validator("at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        return utc(value)


class SpikeKind(str, enum.Enum):
    VOLUME = "volume"
    NEGATIVE = "negative"
    VIRAL_POST = "viral_post"


class Severity(int, enum.Enum):
    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4

    @property
    def word(self) -> str:
        return self.name.lower()


class Spike(_Model):
    """A detector's finding about one closed time window of one brand."""

    brand: str
    kind: SpikeKind
    window_start: datetime
    window_end: datetime
    observed: float
    expected: float
    score: float
    severity: Severity
    negative_share: float = 0.0
    baseline_negative_share: float = 0.0
    topic: str = ""
    top_terms: list[str] = Field(default_factory=list)
    sample_mention_ids: list[str] = Field(default_factory=list)
    growth_rate: float | None = None

    @field_validator("window_start", "window_end")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        return utc(value)

    @property
    def ratio(self) -> float:
        return self.observed / self.expected if self.expected > 0 else float("inf")


class IncidentState(str, enum.Enum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    MITIGATED = "mitigated"
    RESOLVED = "resolved"
    FALSE_ALARM = "false_alarm"

    @property
    def is_active(self) -> bool:
        return self in (IncidentState.OPEN, IncidentState.ACKNOWLEDGED, IncidentState.MITIGATED)


class Transition(_Model):
    state: IncidentState
    at: datetime
    by: str = "system"
    note: str = ""
    # the request that made this change (a Slack action's id and timestamp): applied once only
    request: str | None = None


class StepDone(_Model):
    """A playbook step marked done: its number (from 1), its title and deadline then, who and when."""

    number: int = Field(ge=1)
    title: str
    due_at: datetime
    at: datetime
    by: str = "system"
    note: str = ""

    @property
    def minutes_late(self) -> float:
        """How long after its deadline the step was done (zero or less: on time)."""
        return (self.at - self.due_at).total_seconds() / 60


class Incident(_Model):
    """A crisis candidate: one or more spikes sharing a fingerprint, with its lifecycle."""

    id: str
    fingerprint: str
    brand: str
    kind: SpikeKind
    topic: str = ""
    state: IncidentState = IncidentState.OPEN
    severity: Severity
    opened_at: datetime
    updated_at: datetime
    last_spike_at: datetime
    spikes: list[Spike] = Field(default_factory=list)
    playbook_id: str | None = None
    slack_channel: str | None = None
    slack_ts: str | None = None
    transitions: list[Transition] = Field(default_factory=list)
    steps_done: list[StepDone] = Field(default_factory=list)
    # the stored version this copy was read at (0: not stored yet); set by the store, never serialised
    version: int = Field(default=0, exclude=True)

    def __eq__(self, other: object) -> bool:
        """Equal in content: the version a copy was read at is the store's bookkeeping."""
        if not isinstance(other, Incident):
            return NotImplemented
        return self.model_dump() == other.model_dump()

    @staticmethod
    def fingerprint_of(brand: str, kind: SpikeKind, topic: str = "") -> str:
        raw = "\x1f".join((brand.casefold(), kind.value, topic.casefold()))
        return hashlib.sha256(raw.encode()).hexdigest()[:16]

    def time_in(self, state: IncidentState) -> datetime | None:
        """When the incident first entered ``state``, if it did."""
        for transition in self.transitions:
            if transition.state == state:
                return transition.at
        return None

    def step_done(self, number: int) -> StepDone | None:
        """The record of playbook step ``number`` (from 1) being done, if it was."""
        return next((done for done in self.steps_done if done.number == number), None)


class Silence(_Model):
    """Mutes alerts of a brand (and optionally one topic) from ``starts_at`` until ``ends_at``.

    Incidents are still opened and recorded; only their messages wait until the silence ends.
    """

    id: str
    brand: str
    topic: str = ""
    starts_at: datetime
    ends_at: datetime
    created_by: str = "system"
    reason: str = ""
    # the stored version this copy was read at (0: not stored yet); set by the store, never serialised
    version: int = Field(default=0, exclude=True)

    def __eq__(self, other: object) -> bool:
        """Equal in content, like :class:`Incident`."""
        if not isinstance(other, Silence):
            return NotImplemented
        return self.model_dump() == other.model_dump()

    def covers(self, incident: Incident, at: datetime) -> bool:
        return (
            self.starts_at <= at < self.ends_at
            and self.brand.casefold() == incident.brand.casefold()
            and (not self.topic or self.topic.casefold() == incident.topic.casefold())
        )


class PlaybookStep(_Model):
    title: str
    owner: str
    due_minutes: int = Field(gt=0, description="deadline, in minutes after the incident opens")
    details: str = ""


class PlaybookTriggers(_Model):
    crisis_types: list[str] = Field(default_factory=list)
    keywords: list[str] = Field(default_factory=list)
    kinds: list[SpikeKind] = Field(default_factory=list)
    min_severity: Severity = Severity.LOW
    languages: list[str] = Field(default_factory=list)
    sources: list[str] = Field(default_factory=list)


class Playbook(_Model):
    """A crisis-communication playbook loaded from ``playbooks/*.yaml``."""

    id: str
    title: str
    crisis_type: str
    description: str = ""
    fallback: bool = False
    triggers: PlaybookTriggers = Field(default_factory=PlaybookTriggers)
    steps: list[PlaybookStep] = Field(min_length=1)
    holding_statement: dict[str, str] = Field(min_length=1)
    response_templates: dict[str, dict[str, str]] = Field(default_factory=dict)
    move_to_private: str = ""
    escalation_contacts: list[str] = Field(default_factory=list)
    slack_channel: str | None = None

    def holding_statement_for(self, language: str | None, brand: str | None = None) -> str:
        """The statement in ``language`` (English, else the first, when missing), ``{brand}`` filled."""
        statement = self.holding_statement.get(language or "en") or self.holding_statement.get(
            "en", next(iter(self.holding_statement.values()))
        )
        return statement.replace("{brand}", brand) if brand else statement
