"""The brand query compiled to native search syntax: never narrower than the local matcher."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.collectors.native_query import boolean, clauses, relax, words
from monitor.errors import ConfigError
from monitor.query import All, Any_, Node, Not, Query, Term

VOCABULARY = ["acme", "widget", "fire", "refund", "corp"]

leaves = st.one_of(
    st.builds(Term, st.just("word"), st.sampled_from(VOCABULARY)),
    st.builds(Term, st.just("hashtag"), st.sampled_from(VOCABULARY)),
    st.builds(Term, st.just("handle"), st.sampled_from(VOCABULARY)),
    st.builds(lambda a, b: Term("phrase", f"{a} {b}"), st.sampled_from(VOCABULARY), st.sampled_from(VOCABULARY)),
)


def _nodes(children: st.SearchStrategy[Node]) -> st.SearchStrategy[Node]:
    return st.one_of(
        st.builds(Not, children),
        st.builds(lambda parts: Any_(tuple(parts)), st.lists(children, min_size=2, max_size=3)),
        st.builds(lambda parts: All(tuple(parts)), st.lists(children, min_size=2, max_size=3)),
    )


queries = st.recursive(leaves, _nodes, max_leaves=6).map(Query)
documents = st.tuples(
    st.lists(st.tuples(st.sampled_from(["", "#", "@"]), st.sampled_from(VOCABULARY + ["other"])), max_size=8)
    .map(lambda tokens: " ".join(p + w for p, w in tokens)),
    st.one_of(st.none(), st.sampled_from(VOCABULARY)),
)


def as_local(native: str) -> str:
    """A native query in the local language: ``from:h`` (X) and ``author:h`` (Reddit) match the author."""
    return native.replace("from:", "@").replace("author:", "@")


def _searchable(query: Query, compile_: object) -> object:
    try:
        return compile_(query)  # type: ignore[operator]
    except ConfigError:
        return None


@settings(max_examples=300, deadline=None)
@given(queries, documents)
def test_term_groups_cover_every_local_match(query: Query, document: tuple[str, str | None]) -> None:
    text, author = document
    groups = _searchable(query, lambda q: clauses(q, "test"))
    if groups is None or not query.match(text, author):
        return
    assert any(Query(All(group) if len(group) > 1 else group[0]).match(text, author) for group in groups)


@settings(max_examples=300, deadline=None)
@given(queries, documents)
def test_x_query_never_excludes_a_local_match(query: Query, document: tuple[str, str | None]) -> None:
    text, author = document
    compiled = _searchable(query, lambda q: boolean(q, "x"))
    if compiled is None or not query.match(text, author):
        return
    assert Query.parse(as_local(compiled)).match(text, author), compiled


@settings(max_examples=300, deadline=None)
@given(queries, documents)
def test_reddit_query_never_excludes_a_local_match(query: Query, document: tuple[str, str | None]) -> None:
    text, author = document
    compiled = _searchable(query, lambda q: boolean(q, "reddit"))
    if compiled is None or not query.match(text, author):
        return
    assert Query.parse(as_local(compiled.replace(" AND ", " "))).match(text, author), compiled


@settings(max_examples=200, deadline=None)
@given(queries, documents)
def test_relaxed_query_matches_at_least_the_original(query: Query, document: tuple[str, str | None]) -> None:
    text, author = document
    relaxed = relax(query.root)
    if query.match(text, author):
        assert relaxed is None or Query(relaxed).match(text, author)


@pytest.mark.parametrize(("text", "x", "reddit"), [
    ("acme", "(acme OR #acme)", "acme"),
    ('"acme corp" -refund', '"acme corp" -refund', '"acme corp"'),
    ("#acmefail OR @acme", "(#acmefail OR (@acme OR from:acme))", "(acmefail OR (author:acme OR acme))"),
    ("acme (fire OR recall) -(refund widget)", "(acme OR #acme) ((fire OR #fire) OR (recall OR #recall))",
     "acme AND (fire OR recall)"),
    ("acme's -don't", '"acme\'s" -"don\'t"', '"acme\'s"'),
])
def test_boolean_dialects(text: str, x: str, reddit: str) -> None:
    assert boolean(Query.parse(text), "x") == x
    assert boolean(Query.parse(text), "reddit") == reddit


def test_term_groups_are_few_and_keep_phrases() -> None:
    groups = clauses(Query.parse('("acme corp" OR #acmefail) (fire OR recall) -refund'), "test")
    assert [words(g) for g in groups] == ['"acme corp" fire', '"acme corp" recall', "#acmefail fire",
                                          "#acmefail recall"]
    assert [words(g, hashtags=False) for g in groups][2] == "acmefail fire"


def test_queries_without_a_required_term_cannot_be_searched() -> None:
    with pytest.raises(ConfigError, match="cannot be searched on mastodon"):
        clauses(Query.parse("-acme"), "mastodon")
    with pytest.raises(ConfigError, match="without any of its terms"):
        boolean(Query.parse("acme OR -refund"), "x")
