"""The care digest in Block Kit: a header, the oldest waiting posts, and where to find the rest."""

from __future__ import annotations

from typing import Any

from monitor.alerts.notify.slack.blocks import (
    MAX_BLOCKS,
    MAX_HEADER,
    MAX_SECTION,
    clip,
    clip_plain,
    escape,
    post_text,
)
from monitor.care.digest import Digest
from monitor.care.queue import format_left

SHOWN = 20
"""Posts shown in one digest message; the rest are counted."""


def digest_blocks(digest: Digest) -> list[dict[str, Any]]:
    """The digest's blocks: one section per waiting post (oldest first), at most ``SHOWN``."""
    header = {"type": "header", "text": {"type": "plain_text", "text": clip_plain(digest.text(), MAX_HEADER)}}
    blocks: list[dict[str, Any]] = [header]
    for brand, item in digest.items[:SHOWN]:
        post = {"text": item.text, "author": item.author, "language": item.language, "sentiment": item.sentiment,
                "url": item.url}
        text = f"*{escape(brand)}* · {escape(item.source)} · {format_left(item.time_left)}\n{post_text(post)}"
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": clip(text, MAX_SECTION)}})
    if len(digest.items) > SHOWN:
        more = f"and {len(digest.items) - SHOWN} more: `monitor care queue` or the dashboard's Customer care page"
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": more}]})
    return blocks[:MAX_BLOCKS]
