"""The brand query compiled to native search syntax: never narrower than the local matcher."""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from monitor.collectors.native_query import alternatives, boolean, clauses, common_forms, expanded, relax, words
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


def test_expanded_adds_common_forms_of_the_brand_languages_within_the_limit():
    query = Query.parse('ryanair OR "wizz air" -fan')
    found = expanded(query, "x", ["pl", "hu"], 512)
    assert len(found.text) <= 512
    assert "ryanairem" in found.added and "ryanairrel" in found.added and '"wizz airem"' in found.text
    assert found.left_out and not set(found.left_out) & set(found.added)
    assert found.text.endswith(" -fan")
    narrow = expanded(query, "x", ["pl", "hu"], len(boolean(query, "x")) + 20)
    assert narrow.text.count("ryanair") + narrow.text.count("wizz") <= 4 and len(narrow.left_out) > len(found.left_out)


def test_expanded_with_no_languages_is_the_boolean_query():
    query = Query.parse("ryanair OR #fr")
    assert expanded(query, "reddit", [], 512).text == boolean(query, "reddit")


def test_common_forms_leave_out_apostrophes_and_take_turns():
    forms = common_forms(Term("word", "google"), ["pl", "tr"])
    assert forms and not any("'" in form for form in forms)
    assert common_forms(Term("hashtag", "google"), ["pl"]) == []


@settings(max_examples=50)
@given(queries, st.sampled_from([["pl"], ["hu", "cs"], []]))
# acme AND (widget OR NOT acme): searched as "acme" alone, so no forms of widget may be counted as added
@example(Query(All((Term("word", "acme"), Any_((Term("word", "widget"), Not(Term("word", "acme"))))))), ["pl"])
def test_expanded_is_never_narrower_than_the_boolean_query(query, languages):
    try:
        plain = boolean(query, "reddit")
    except ConfigError:
        return
    assert len(expanded(query, "reddit", languages, len(plain)).text) == len(plain)
    wide = expanded(query, "reddit", languages, 10_000)
    searched = relax(query.root, exclusions=False)
    assert searched is not None
    for term in Query(searched).positive_terms():
        if term.kind in ("word", "phrase"):
            assert term.value in wide.text
    assert all(form in wide.text for form in wide.added)


def test_searched_names_the_forms_left_out_once(caplog):
    from datetime import datetime, timezone

    from monitor.collectors.base import FetchContext
    from monitor.collectors.native_query import searched

    context = FetchContext("Ryanair", "x-left-out", Query.parse("ryanair"), ("pl", "hu"), datetime.now(timezone.utc))
    with caplog.at_level("WARNING"):
        text = searched(context, "x", 120)
        searched(context, "x", 120)
    assert len(text) <= 120 and "ryanaira" in text
    warnings = [r.getMessage() for r in caplog.records if "Left out" in r.getMessage()]
    assert len(warnings) == 1 and "ryanair" in warnings[0].split("Left out:")[1]


def test_alternatives_join_forms_with_a_bar_within_the_limit():
    group = (Term("word", "ryanair"),)
    found = alternatives(group, ["pl", "hu"], 60)
    assert found.startswith("ryanair|ryanaira|") and len(found) <= 60
    assert alternatives(group, [], 60) == "ryanair"
    both = (Term("word", "acme"), Term("word", "refund"))
    assert alternatives(both, ["pl"], 200) == "acme refund"
