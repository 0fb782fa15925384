"""Matching a parsed query against a post, in the post's language.

A ``word`` term (or the last word of a ``"phrase"``) matches, in every language, the word
itself, its possessive (``ryanair's``) and a hyphenated compound that starts with it
(``ryanair-flug``); in the post's language, also the forms that language's declension tables
make (``ryanairem`` in Polish, ``ryanairrel`` in Hungarian; see :mod:`monitor.inflection`) and,
in French, Italian and Catalan, the word after an elided article (``l'apple``). ``=term``
matches the exact word only, ``term*`` any word that starts with ``term``. A name inside
another word never matches (``pineapple``, ``applet`` for ``apple``).

The post's language is asked for only when a word could be an inflected form, so most posts
never need it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass

from monitor import inflection
from monitor.inflection import APOSTROPHE, COMPOUND, EXACT, Form
from monitor.query.syntax import WORD, All, Any_, Node, Not, Term, normalise

Languages = Collection[str] | Callable[[], Iterable[str]] | None
"""The post's language(s): codes, a function that finds them (called at most once), or None."""

_WORD_KINDS = ("word", "phrase", "exact")


@dataclass(frozen=True)
class Evidence:
    """Why a term matched: the word of the post, the form it was read as, and the rule."""

    term: Term
    word: str
    language: str
    rule: str


@dataclass(frozen=True)
class Document:
    """A post's words (lower case, in order), hashtags and handles (its author's included)."""

    words: tuple[str, ...]
    hashtags: frozenset[str]
    handles: frozenset[str]
    joined: tuple[str, ...] = ()
    """The words with a hyphen or an apostrophe inside (compounds, possessives, elisions)."""

    @classmethod
    def read(cls, text: str, author: str | None = None) -> Document:
        normalised = normalise(text)
        tokens = [t.rstrip(".-" + APOSTROPHE) for t in WORD.findall(normalised)]
        if "#" in normalised or "@" in normalised or author:
            words = tuple(t.lstrip("#@") for t in tokens if t.lstrip("#@"))
            hashtags = frozenset(t[1:] for t in tokens if t.startswith("#") and len(t) > 1)
            handles = {t[1:] for t in tokens if t.startswith("@") and len(t) > 1}
        else:
            words, hashtags, handles = tuple(tokens), frozenset(), set()
        if author:
            handles.add(normalise(author).lstrip("@"))
        joined = ()
        if "-" in normalised or APOSTROPHE in normalised:
            joined = tuple(w for w in words if "-" in w or APOSTROPHE in w)
        return cls(words, hashtags, frozenset(handles), joined)


@functools.cache
def _elisions() -> dict[str, frozenset[str]]:
    """Each elided article or preposition (``l``, ``d``, ``dell``) and the languages that write it."""
    found: dict[str, set[str]] = {}
    for language in inflection.LANGUAGES.values():
        for prefix in language.elision:
            found.setdefault(prefix, set()).add(language.code)
    return {prefix: frozenset(codes) for prefix, codes in found.items()}


class Matcher:
    """A query compiled for matching: every form of every term, indexed by its spelling."""

    def __init__(self, root: Node):
        self.root = root
        self.index: dict[str, list[tuple[Term, Form]]] = {}
        self.prefixes: list[Term] = []
        for term in _terms(root):
            if term.kind == "prefix":
                self.prefixes.append(term)
            elif term.kind in _WORD_KINDS:
                for form in _forms_of(term):
                    self.index.setdefault(form.text, []).append((term, form))

    def evidence(self, doc: Document, languages: Languages = None,
                 rejected: list[Evidence] | None = None) -> dict[Term, Evidence]:
        """The terms found in ``doc``, each with why; language-specific forms count only when
        the post is in that language (the others go to ``rejected`` when it is given)."""
        found: dict[Term, Evidence] = {}
        pending: list[Evidence] = []
        words = doc.words
        for key in self.index.keys() & set(words):
            self._lookup(key, key, words, found, pending)
        for word in doc.joined:
            if "-" in word:
                self._lookup(word.split("-", 1)[0], word, words, found, pending, COMPOUND)
            if APOSTROPHE in word:
                article, _, rest = word.partition(APOSTROPHE)
                for code in _elisions().get(article, ()):
                    rule = f"after the elided {article}{APOSTROPHE} ({inflection.LANGUAGES[code].name})"
                    self._lookup(rest, word, words, found, pending, rule, code)
        for term in self.prefixes:
            word = next((w for w in words if w.startswith(term.value)), None)
            if word is not None:
                found[term] = Evidence(term, word, "", f"starts with {term.value}")
        waiting = [e for e in pending if e.term not in found]
        if waiting:
            codes = _resolve(languages)
            for item in waiting:
                if item.term not in found and item.language in codes:
                    found[item.term] = item
            if rejected is not None:
                rejected.extend(e for e in waiting if e.term not in found)
        return found

    def _lookup(self, key: str, word: str, words: tuple[str, ...], found: dict[Term, Evidence],
                pending: list[Evidence], rule: str | None = None, language: str = "") -> None:
        for term, form in self.index.get(key, ()):
            if term in found or (rule is not None and (form.rule != EXACT or term.kind == "exact")):
                continue
            before = term.words[:-1]
            if before and not any(tuple(words[i - len(before):i]) == before
                                   for i, w in enumerate(words) if w == word):
                continue
            evidence = Evidence(term, word, language or form.language, rule or form.rule)
            if evidence.language:
                pending.append(evidence)
            else:
                found[term] = evidence


def _resolve(languages: Languages) -> frozenset[str]:
    if languages is None:
        return frozenset()
    codes = languages() if callable(languages) else languages
    return frozenset(found.code for code in codes if (found := inflection.language(code)))


def _forms_of(term: Term) -> list[Form]:
    """The spellings of a term's last word that match it, in every language with tables."""
    last = term.words[-1]
    if term.kind == "exact":
        return [Form(last, "", EXACT, True)]
    forms = inflection.universal_forms(last)
    for code in inflection.LANGUAGES:
        forms.extend(inflection.forms(last, code))
    return forms


def _terms(node: Node) -> list[Term]:
    if isinstance(node, Term):
        return [node]
    if isinstance(node, Not):
        return _terms(node.part)
    return [term for part in node.parts for term in _terms(part)]


def evaluate(node: Node, doc: Document, found: dict[Term, Evidence], hits: list[str]) -> bool:
    """Whether ``node`` holds for ``doc``; matched terms (outside exclusions) go to ``hits``."""
    if isinstance(node, Term):
        if node.kind == "hashtag":
            hit = node.value in doc.hashtags
        elif node.kind == "handle":
            hit = node.value in doc.handles
        else:
            hit = node in found
        if hit and str(node) not in hits:
            hits.append(str(node))
        return hit
    if isinstance(node, Not):
        return not evaluate(node.part, doc, found, [])
    results = [evaluate(part, doc, found, hits) for part in node.parts]
    return any(results) if isinstance(node, Any_) else all(results)


__all__ = ["All", "Document", "Evidence", "Languages", "Matcher", "evaluate"]
