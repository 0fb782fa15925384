"""Language identification with py3langid (its model ships in the package)."""

from __future__ import annotations

import functools
import re
from collections.abc import Collection, Iterable

from py3langid.langid import MODEL_FILE, LanguageIdentifier

from monitor.nlp.text import HANDLE, URL, sanitize

MIN_LETTERS = 3
MIN_CONFIDENCE = 0.1
"""Below this probability (over all ~140 languages) the identifier is guessing: None."""
MIN_CANDIDATE_CONFIDENCE = 0.03
"""The lower bar for the best of the caller's candidate languages (they are likely a priori)."""

_HASHTAG = re.compile(r"#(\w+)")
_NO_LANGUAGE = {"zxx", "und"}


@functools.cache
def _identifier() -> LanguageIdentifier:
    """py3langid's identifier with normalised probabilities, loaded once."""
    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


@functools.cache
def known_languages() -> frozenset[str]:
    """The codes the identifier can answer."""
    return frozenset(_identifier().labels) - _NO_LANGUAGE


def _clean(text: str) -> str:
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
    cleaned = _clean(text)
    if sum(char.isalpha() for char in cleaned) < MIN_LETTERS:
        return None
    if wanted is None:
        language, confidence = _identifier().classify(cleaned)
        return None if language in _NO_LANGUAGE or confidence < MIN_CONFIDENCE else language
    language, confidence = next((lang, p) for lang, p in _identifier().rank(cleaned) if lang in wanted)
    return language if confidence >= MIN_CANDIDATE_CONFIDENCE else None


def detect_languages(texts: Iterable[str], candidates: Collection[str] | None = None) -> list[str | None]:
    """:func:`detect_language` for many texts (the model is loaded once)."""
    return [detect_language(text, candidates) for text in texts]
