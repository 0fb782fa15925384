"""The brand query compiled to each API's own search syntax.

A compiled search may return more than the brand query matches, never less: the pipeline
matches every mention locally, so a broader search costs quota but loses nothing, while a
narrower one would lose mentions. Two shapes cover the sources:

- :func:`boolean` for APIs with AND / OR and parentheses (X, Reddit). On X, exclusions of
  single terms at the top level are kept (they save quota); every other exclusion is
  dropped (Reddit stems words, so its ``NOT`` could exclude more than the local matcher).
- :func:`clauses` for APIs that search one conjunction of words at a time (Bluesky,
  Hacker News, YouTube, Mastodon): a short list of term groups such that every post the
  query matches contains all terms of at least one group.

These APIs search whole words, so a name declined in the post's language (``Ryanairem``) is
found only if it is asked for: :func:`expanded` adds the common inflected forms of each word
for the brand's languages to a boolean query, as many as the API's length limit allows, and
names the ones it left out. That is the one place a search may be narrower than the matcher.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import product, zip_longest
from typing import Literal

import logging

from monitor import inflection
from monitor.collectors.base import FetchContext
from monitor.errors import ConfigError
from monitor.query import All, Any_, Node, Not, Query, Term

log = logging.getLogger(__name__)
_warned: set[tuple[str, str, tuple[str, ...]]] = set()

Dialect = Literal["x", "reddit"]
MAX_CLAUSES = 8


def relax(node: Node, exclusions: bool = True, top: bool = True) -> Node | None:
    """A node matching at least what ``node`` matches, with only simple exclusions kept.

    ``None`` means "matches anything". Exclusions survive only when ``exclusions`` is set,
    as direct parts of the top-level conjunction, and only of a single term.
    """
    if isinstance(node, Term):
        return node
    if isinstance(node, Not):
        return node if exclusions and top and isinstance(node.part, Term) else None
    if isinstance(node, Any_):
        parts = [relax(p, exclusions, top=False) for p in node.parts]
        if any(p is None for p in parts):
            return None
        return Any_(tuple(p for p in parts if p is not None))
    kept = [r for r in (relax(p, exclusions, top=top) for p in node.parts) if r is not None]
    if not kept:
        return None
    return kept[0] if len(kept) == 1 else All(tuple(kept))


def _needs_positive(node: Node | None) -> bool:
    if node is None or isinstance(node, Not):
        return False
    if isinstance(node, Term):
        return True
    if isinstance(node, Any_):
        return all(_needs_positive(p) for p in node.parts)
    return any(_needs_positive(p) for p in node.parts)


def _searchable(query: Query, source: str, exclusions: bool = False) -> Node:
    relaxed = relax(query.root, exclusions)
    if not _needs_positive(relaxed):
        raise ConfigError(
            f"query {str(query)!r} cannot be searched on {source}: it matches posts without any "
            "of its terms; add a term, phrase, #hashtag or @handle that every match must contain"
        )
    assert relaxed is not None
    return relaxed


Forms = dict[Term, list[str]]


def check_searchable(query: Query, source_type: str) -> None:
    """Raise :class:`ConfigError` when a source of ``source_type`` could not search ``query``."""
    from monitor import registry

    if getattr(registry.load(registry.COLLECTORS, source_type), "searches_natively", True):
        _searchable(query, source_type)


def _term(term: Term, dialect: Dialect, forms: Forms) -> str:
    extra = forms.get(term, [])
    if extra:
        base = _term(term, dialect, {})
        base = base[1:-1] if base.startswith("(") else base
        return "(" + " OR ".join([base, *(_quoted(f) for f in extra)]) + ")"
    if term.kind == "phrase":
        return f'"{term.value}"'
    if term.kind == "hashtag":
        return f"#{term.value}" if dialect == "x" else term.value
    if term.kind == "handle":
        if dialect == "x":
            return f"(@{term.value} OR from:{term.value})"
        return f"(author:{term.value} OR {term.value})"
    word = f'"{term.value}"' if not term.value.isalnum() else term.value
    if dialect == "x" and term.value.isalnum():
        return f"({word} OR #{word})"
    return word


def _quoted(form: str) -> str:
    return form if form.isalnum() else f'"{form}"'


def _render(node: Node, dialect: Dialect, forms: Forms, top: bool = False) -> str:
    if isinstance(node, Term):
        return _term(node, dialect, forms)
    if isinstance(node, Not):
        term = node.part
        assert isinstance(term, Term)
        plain = term.kind == "word" and not term.value.isalnum()
        return f'-"{term.value}"' if plain else f"-{term}"
    if isinstance(node, Any_):
        return "(" + " OR ".join(_render(p, dialect, forms) for p in node.parts) + ")"
    joiner = " " if dialect == "x" else " AND "
    rendered = joiner.join(_render(p, dialect, forms) for p in node.parts)
    return rendered if top else f"({rendered})"


def boolean(query: Query, dialect: Dialect) -> str:
    """The query in X's or Reddit's boolean search syntax, every group parenthesised.

    On X a word also searches its hashtag (``(acme OR #acme)``), as the local matcher does.
    """
    return _render(_searchable(query, dialect, exclusions=dialect == "x"), dialect, {}, top=True)


@dataclass(frozen=True)
class Expanded:
    """A boolean query with inflected forms added, and the forms the length limit left out."""

    text: str
    added: list[str] = field(default_factory=list)
    left_out: list[str] = field(default_factory=list)


def common_forms(term: Term, languages: Iterable[str]) -> list[str]:
    """The common inflected forms of a word or phrase term, the languages taking turns.

    Forms with an apostrophe are left out: the APIs split words there, so the name is found.
    """
    if term.kind not in ("word", "phrase"):
        return []
    *before, last = term.words
    per_language = [[" ".join([*before, f.text]) for f in inflection.forms(last, code)
                     if f.common and inflection.APOSTROPHE not in f.text] for code in languages]
    return list(dict.fromkeys(form for turn in zip_longest(*per_language) for form in turn if form))


def expanded(query: Query, dialect: Dialect, languages: Iterable[str], limit: int) -> Expanded:
    """:func:`boolean` with the common forms in ``languages`` of each word it searches, within ``limit``
    characters (a word the boolean query had to drop, such as one ORed with an exclusion, gets none)."""
    node = _searchable(query, dialect, exclusions=dialect == "x")
    wanted = {term: common_forms(term, languages) for term in Query(node).positive_terms()}
    chosen: Forms = {term: [] for term in wanted}
    added: list[str] = []
    left_out: list[str] = []
    for turn in zip_longest(*wanted.values()):
        for term, form in zip(wanted, turn):
            if form is None:
                continue
            chosen[term].append(form)
            if len(_render(node, dialect, chosen, top=True)) <= limit:
                added.append(form)
            else:
                chosen[term].pop()
                left_out.append(form)
    return Expanded(_render(node, dialect, chosen, top=True), added, left_out)


def _cover(node: Node | None) -> list[tuple[Term, ...]] | None:
    """Groups of terms, one of which every match contains in full; ``None`` if there are none."""
    if isinstance(node, Term):
        return [(node,)]
    if node is None or isinstance(node, Not):
        return None
    if isinstance(node, Any_):
        covers = [_cover(p) for p in node.parts]
        if any(c is None for c in covers):
            return None
        return _unique([group for c in covers if c is not None for group in c])
    covers = sorted((c for c in (_cover(p) for p in node.parts) if c is not None), key=len)
    if not covers:
        return None
    combined = covers[0]
    for cover in covers[1:]:
        if len(combined) * len(cover) > MAX_CLAUSES:
            break
        combined = _unique([tuple(dict.fromkeys(a + b)) for a, b in product(combined, cover)])
    return combined


def _unique(groups: list[tuple[Term, ...]]) -> list[tuple[Term, ...]]:
    return list(dict.fromkeys(groups))


def clauses(query: Query, source: str) -> list[tuple[Term, ...]]:
    """Term groups to search one by one (each group's terms ANDed), covering every match."""
    groups = _cover(_searchable(query, source))
    assert groups is not None
    return groups


def alternatives(group: tuple[Term, ...], languages: Iterable[str], limit: int) -> str:
    """A group as a keyword search in YouTube's syntax: a lone word or phrase with its common
    inflected forms joined by ``|`` (OR), as many as fit in ``limit`` characters; any other group
    as :func:`words`."""
    plain = words(group, hashtags=True)
    if len(group) != 1:
        return plain
    found = [plain]
    for form in common_forms(group[0], languages):
        candidate = "|".join([*found, _quoted(form)])
        if len(candidate) > limit:
            break
        found.append(_quoted(form))
    return "|".join(found)


def words(group: tuple[Term, ...], hashtags: bool = True) -> str:
    """A group as a plain keyword search: phrases quoted, ``#`` kept only when ``hashtags``."""
    rendered = []
    for term in group:
        if term.kind == "phrase":
            rendered.append(f'"{term.value}"')
        elif term.kind == "hashtag" and hashtags:
            rendered.append(f"#{term.value}")
        else:
            rendered.append(term.value)
    return " ".join(rendered)


def searched(context: FetchContext, dialect: Dialect, limit: int) -> str:
    """The query a source sends for a brand: :func:`expanded` for the brand's languages, with a
    warning (once per process) naming the forms that did not fit."""
    found = expanded(context.query, dialect, context.languages, limit)
    _warn_left_out(context, found.added, found.left_out)
    return found.text


def with_forms(groups: list[tuple[Term, ...]], context: FetchContext, limit: int) -> list[tuple[Term, ...]]:
    """For APIs that search one group at a time and know no OR (Bluesky): ``groups`` plus one
    group for each common inflected form of a lone word or phrase, at most ``limit`` more, the
    forms left out named in a warning (once per process)."""
    extra: list[tuple[Term, ...]] = []
    left_out: list[str] = []
    lone = [group[0] for group in groups if len(group) == 1]
    for turn in zip_longest(*(common_forms(term, context.languages) for term in lone)):
        for term, form in zip(lone, turn):
            if form is None:
                continue
            if len(extra) < limit:
                extra.append((Term("phrase" if " " in form else "word", form),))
            else:
                left_out.append(form)
    _warn_left_out(context, [words(group) for group in extra], left_out)
    return groups + extra


def _warn_left_out(context: FetchContext, added: list[str], left_out: list[str]) -> None:
    key = (context.brand, context.source, tuple(left_out))
    if left_out and key not in _warned:
        _warned.add(key)
        log.warning("%s/%s: the search has room for %d inflected forms of %d; the local matcher "
                    "still finds the others among what the search returns. Left out: %s", context.brand,
                    context.source, len(added), len(added) + len(left_out), ", ".join(left_out))
