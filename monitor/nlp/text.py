"""Text clean-up shared by the sentiment backends, the cache and language id."""

from __future__ import annotations

import re
import unicodedata

URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
HANDLE = re.compile(r"(?<![\w@])@\w{1,50}")
_REPOST = re.compile(r"^(?:\s*rt\b\s*:?\s*)+", re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SPACE = re.compile(r"\s+")

MAX_CHARS = 4096
"""Texts are cut to this many characters before scoring; every model here reads far fewer."""


def sanitize(text: str) -> str:
    """Make any string safe to encode: fix lone surrogates, drop NULs and control characters."""
    if not isinstance(text, str):
        text = "" if text is None else str(text)
    text = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return _CONTROL.sub("", text)


def prepare(text: str) -> str:
    """The text a sentiment model reads: sanitised, ``@user``/``http`` placeholders, capped length.

    The placeholders are the convention of the tweet sentiment corpora the models learnt from.
    """
    text = URL.sub("http", sanitize(text)[:MAX_CHARS])
    return _SPACE.sub(" ", HANDLE.sub("@user", text)).strip()


def cache_key(text: str) -> str:
    """A key equal for reposts and copy-paste variants: NFKC, casefold, no URLs/handles/``RT``."""
    text = unicodedata.normalize("NFKC", sanitize(text)[:MAX_CHARS])
    text = HANDLE.sub(" ", URL.sub(" ", text))
    text = _REPOST.sub("", text)
    return _SPACE.sub(" ", text.casefold()).strip(" :")
