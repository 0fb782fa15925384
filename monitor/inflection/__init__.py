"""How a name is written in each language: declension tables and the forms they make.

``forms("ryanair", "pl")`` lists ``ryanaira``, ``ryanairem``, ``ryanairze``, … each with the
rule that makes it. Every language also accepts the forms of :func:`universal_forms`. The
tables, one module per language or family, name the grammar references they follow.
"""

from __future__ import annotations

import functools

from monitor.inflection.czech_slovak import CZECH, SLOVAK
from monitor.inflection.east_slavic import RUSSIAN, UKRAINIAN
from monitor.inflection.finnish_turkish import FINNISH, TURKISH
from monitor.inflection.germanic_romance import CATALAN, DANISH, DUTCH, FRENCH, GERMAN, ITALIAN, NORWEGIAN, SWEDISH
from monitor.inflection.hungarian import HUNGARIAN
from monitor.inflection.polish import POLISH
from monitor.inflection.rules import APOSTROPHE, Form, Language

LANGUAGES: dict[str, Language] = {language.code: language for language in (
    POLISH, HUNGARIAN, CZECH, SLOVAK, RUSSIAN, UKRAINIAN, FINNISH, TURKISH,
    GERMAN, DUTCH, SWEDISH, DANISH, NORWEGIAN, FRENCH, ITALIAN, CATALAN,
)}
"""The languages with tables, by ISO 639-1 code."""

ALIASES = {"no": "nb", "nn": "nb"}

POSSESSIVE = "possessive 's (every language)"
COMPOUND = "first part of a hyphenated compound (every language)"
EXACT = "the word itself"

__all__ = ["APOSTROPHE", "COMPOUND", "EXACT", "Form", "LANGUAGES", "Language", "POSSESSIVE", "forms",
           "language", "universal_forms"]


def language(code: str | None) -> Language | None:
    """The tables for ``code`` (``pl``, ``pl-PL``, ``no``), or None where there are none."""
    if not code:
        return None
    base = code.strip().lower().replace("_", "-").split("-")[0]
    return LANGUAGES.get(ALIASES.get(base, base))


def universal_forms(word: str) -> list[Form]:
    """The forms every language accepts: the word itself and its possessive ``'s``."""
    return [Form(word, "", EXACT, True), Form(f"{word}{APOSTROPHE}s", "", POSSESSIVE, True)]


@functools.lru_cache(maxsize=4096)
def forms(word: str, code: str) -> tuple[Form, ...]:
    """The inflected forms of ``word`` (lower case) in the language ``code``; none for a language
    without tables."""
    found = language(code)
    return tuple(found.forms(word)) if found else ()
