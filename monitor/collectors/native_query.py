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
"""

from __future__ import annotations

from itertools import product
from typing import Literal

from monitor.errors import ConfigError
from monitor.query import All, Any_, Node, Not, Query, Term

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


def _term(term: Term, dialect: Dialect) -> str:
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


def _render(node: Node, dialect: Dialect, top: bool = False) -> str:
    if isinstance(node, Term):
        return _term(node, dialect)
    if isinstance(node, Not):
        term = node.part
        assert isinstance(term, Term)
        plain = term.kind == "word" and not term.value.isalnum()
        return f'-"{term.value}"' if plain else f"-{term}"
    if isinstance(node, Any_):
        return "(" + " OR ".join(_render(p, dialect) for p in node.parts) + ")"
    joiner = " " if dialect == "x" else " AND "
    rendered = joiner.join(_render(p, dialect) for p in node.parts)
    return rendered if top else f"({rendered})"


def boolean(query: Query, dialect: Dialect) -> str:
    """The query in X's or Reddit's boolean search syntax, every group parenthesised.

    On X a word also searches its hashtag (``(acme OR #acme)``), as the local matcher does.
    """
    return _render(_searchable(query, dialect, exclusions=dialect == "x"), dialect, top=True)


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
