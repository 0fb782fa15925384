"""The small engine behind the declension tables: paradigms of endings and the forms they make.

A language is a list of :class:`Paradigm`: each applies to words whose end matches its
pattern, drops some final letters, and adds each of its endings. Stem changes (Polish
``r → rze``, Hungarian ``-val`` assimilated to the last consonant) are paradigms of their own
that drop the changing letters and spell them anew in the ending.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

APOSTROPHE = "'"
"""Documents and terms spell every apostrophe as this one (``’`` and ``ʼ`` are mapped to it)."""


@dataclass(frozen=True)
class Form:
    """One written form of a word: its text, the language whose rule makes it ("" for every
    language), the rule in words, and whether the sources' own searches should ask for it."""

    text: str
    language: str
    rule: str
    common: bool = False


@dataclass(frozen=True)
class Ending:
    """An ending and what it marks (e.g. ``Ending("em", "instrumental singular", True)``)."""

    suffix: str
    rule: str
    common: bool = False


def endings(rule: str, *suffixes: str, common: bool = False) -> tuple[Ending, ...]:
    """Several endings that mark the same thing (harmony or spelling variants)."""
    return tuple(Ending(suffix, rule, common) for suffix in suffixes)


@dataclass(frozen=True)
class Paradigm:
    """Endings added to words whose end matches ``when``, after dropping ``drop`` letters."""

    name: str
    when: str
    endings: tuple[Ending, ...]
    drop: int = 0
    apostrophe: bool = False
    """The endings follow an apostrophe (Polish ``Google'a``, Turkish ``Ryanair'ın``)."""
    _pattern: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_pattern", re.compile(f"(?:{self.when})$"))

    def forms(self, word: str, language: str) -> Iterator[Form]:
        if not self._pattern.search(word) or len(word) <= self.drop:
            return
        stem = word[: len(word) - self.drop] + (APOSTROPHE if self.apostrophe else "")
        for ending in self.endings:
            rule = f"{ending.rule} ({self.name})"
            yield Form(stem + ending.suffix, language, rule, ending.common)


def longest_first(finals: Iterable[str]) -> Iterator[tuple[str, str]]:
    """Each final with the pattern that matches a word ending in it and in no longer final.

    A word takes the longest final that applies (``st`` before ``t``, ``sz`` before ``z``): the
    pattern of a final carries a look-behind for every longer final that ends in it.
    """
    ordered = sorted(finals, key=len, reverse=True)
    for index, final in enumerate(ordered):
        longer = [f for f in ordered[:index] if f.endswith(final)]
        guard = "".join(f"(?<!{re.escape(f[: len(f) - len(final)])})" for f in longer)
        yield final, f"{guard}{re.escape(final)}"


def alternations(name: str, table: dict[str, str], rule: str, common: bool = False) -> tuple[Paradigm, ...]:
    """Paradigms for a stem change: each final spelling in ``table`` is replaced by its value."""
    return tuple(Paradigm(f"{name}: {final} → {table[final]}", pattern, (Ending(table[final], rule, common),),
                          drop=len(final)) for final, pattern in longest_first(table))


@dataclass(frozen=True)
class Language:
    """A language's declension of names, with the references its tables were written from."""

    code: str
    name: str
    sources: tuple[str, ...]
    paradigms: tuple[Paradigm, ...] = ()
    elision: tuple[str, ...] = ()
    """Articles and prepositions written before a word with an apostrophe (French ``l'``, ``d'``)."""

    def forms(self, word: str) -> list[Form]:
        """Every inflected form of ``word`` (lower case) that this language's tables make."""
        seen: dict[str, Form] = {}
        for paradigm in self.paradigms:
            for form in paradigm.forms(word, self.code):
                if form.text != word and form.text not in seen:
                    seen[form.text] = form
        return list(seen.values())
