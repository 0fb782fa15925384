"""The ``daily_digest:`` config section."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class DailyDigestConfig(BaseModel):
    """When and where each brand's daily digest is posted (the hour is in the brand's ``timezone``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = False
    hour: int = Field(default=9, ge=0, le=23)
    channel: str | None = None
    """Default: the brand's ``slack_channel``, else ``slack.channel``."""
    top_posts: int = Field(default=5, ge=1, le=20)

