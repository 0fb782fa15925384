"""The brand query language, parsed once and matched locally against every mention.

``Query.parse('ryanair OR #ryanair -"ryanair fan"').match(text, languages=["pl"])`` lists the
terms that matched; :mod:`monitor.query.syntax` has the grammar and :mod:`monitor.query.matcher`
what each kind of term matches.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from monitor.query.matcher import Document, Evidence, Languages, Matcher, evaluate
from monitor.query.syntax import All, Any_, Node, Not, Parser, Term, normalise

__all__ = ["All", "Any_", "Evidence", "Explanation", "Languages", "Node", "Not", "Query", "Term", "normalise"]


@dataclass(frozen=True)
class Explanation:
    """Why a post matches a query or not: the terms found, with the word, form and rule of each."""

    matched: list[str]
    found: dict[Term, Evidence]
    excluded: list[Term]
    other_languages: list[Evidence]
    """Words that are forms of a term in another language than the post's."""

    @property
    def matches(self) -> bool:
        return bool(self.matched)


class Query:
    """A parsed brand query: ``Query.parse(text).match(post)`` lists the terms that matched."""

    def __init__(self, root: Node):
        self.root = root

    @classmethod
    def parse(cls, text: str) -> Query:
        return cls(Parser(text).parse())

    def __str__(self) -> str:
        return str(self.root)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Query) and other.root == self.root

    def __hash__(self) -> int:
        return hash(self.root)

    @functools.cached_property
    def _matcher(self) -> Matcher:
        return Matcher(self.root)

    def positive_terms(self) -> list[Term]:
        """Terms that can make a post match (excluded terms left out), in query order."""
        found: list[Term] = []

        def walk(node: Node) -> None:
            if isinstance(node, Term):
                if node not in found:
                    found.append(node)
            elif isinstance(node, (All, Any_)):
                for part in node.parts:
                    walk(part)

        walk(self.root)
        return found

    def match(self, text: str, author: str | None = None, languages: Languages = None) -> list[str]:
        """The matched terms (as written in the query) or ``[]`` when the post does not match.

        ``languages``: the post's language codes, or a function that finds them (called only
        when a word could be an inflected form); without them only the forms every language
        shares count (the word, its possessive, a hyphenated compound).
        """
        doc = Document.read(text, author)
        hits: list[str] = []
        return hits if evaluate(self.root, doc, self._matcher.evidence(doc, languages), hits) else []

    def explain(self, text: str, author: str | None = None, languages: Languages = None) -> Explanation:
        """:meth:`match` with the evidence: which word matched which term, as what form, by which rule."""
        doc = Document.read(text, author)
        rejected: list[Evidence] = []
        found = self._matcher.evidence(doc, languages, rejected)
        for term in self.positive_terms():
            if term.kind == "hashtag" and term.value in doc.hashtags:
                found[term] = Evidence(term, f"#{term.value}", "", "hashtag")
            elif term.kind == "handle" and term.value in doc.handles:
                found[term] = Evidence(term, f"@{term.value}", "", "handle, mentioned or the author")
        hits: list[str] = []
        matched = hits if evaluate(self.root, doc, found, hits) else []
        excluded = [node.part for node in _exclusions(self.root)
                    if isinstance(node.part, Term) and evaluate(node.part, doc, found, [])]
        return Explanation(matched, found, excluded, rejected)


def _exclusions(node: Node) -> list[Not]:
    if isinstance(node, Not):
        return [node]
    if isinstance(node, (All, Any_)):
        return [found for part in node.parts for found in _exclusions(part)]
    return []
