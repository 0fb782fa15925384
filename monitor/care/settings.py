"""The ``care:`` config section: answer targets, the alert share and the routing rules."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from monitor.durations import PositiveDuration
from monitor.models import SentimentLabel


Target = PositiveDuration


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CareRule(_Section):
    """One routing rule: a post matching every condition given gets ``action`` and ``tag``.

    ``keywords``: any of them, whole words, case and accents folded (``refund*`` finds
    ``refunds``); ``languages`` and ``sentiments``: any of them; ``question``: the post asks
    (has a question mark) or, with ``false``, does not.
    """

    name: str = Field(min_length=1)
    action: Literal["reply", "ignore"] = "reply"
    tag: str = ""
    keywords: list[str] = Field(default_factory=list)
    languages: list[str] = Field(default_factory=list)
    sentiments: list[SentimentLabel] = Field(default_factory=list)
    question: bool | None = None


def default_rules() -> list[CareRule]:
    """Questions and complaints need an answer; the rest addressed to the brand is noise."""
    return [
        CareRule(name="question", tag="question", question=True),
        CareRule(name="complaint", tag="complaint", sentiments=["negative"]),
    ]


class CareConfig(_Section):
    """Targets for a first answer and the rules deciding what needs one (first matching rule wins)."""

    target: Target = timedelta(hours=2)
    targets: dict[str, Target] = Field(default_factory=dict)
    """Per source (``twitter``, ``reddit``...), overriding ``target``."""
    alert_share: float = Field(default=0.75, gt=0, le=1)
    """Posts waiting longer than this share of their target go into the Slack digest."""
    digest_every: Target = timedelta(minutes=30)
    """How often the Slack digest of waiting posts goes out (nothing is sent while none waits)."""
    channel: str | None = None
    """The digest's Slack channel; default the brand's ``slack_channel``, else ``slack.channel``."""
    rules: list[CareRule] = Field(default_factory=default_rules)
    templates_dir: Path | None = None
    """Answer templates (``<language>.yaml``); default the ones shipped in ``monitor/templates``."""

    def target_for(self, source: str) -> timedelta:
        """The first-answer target of posts from ``source``."""
        return self.targets.get(source, self.target)
