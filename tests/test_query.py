import pytest
from hypothesis import given
from hypothesis import strategies as st

from monitor.errors import ConfigError
from monitor.query import All, Any_, Not, Query, Term

BRAND = Query.parse('"aurora air" OR #auroraair OR @auroraair -borealis')

words = st.text(alphabet="abcdefghijklmnopqrstuvwxyzłóżéü", min_size=2, max_size=8).filter(lambda w: w != "or")
terms = st.one_of(
    st.builds(Term, st.just("word"), words),
    st.builds(Term, st.just("hashtag"), words),
    st.builds(Term, st.just("handle"), words),
    st.builds(lambda a, b: Term("phrase", f"{a} {b}"), words, words),
)
nodes = st.recursive(
    terms,
    lambda inner: st.one_of(
        st.builds(Not, terms),
        st.builds(lambda ps: Any_(tuple(ps)), st.lists(inner.filter(lambda n: not isinstance(n, Any_)), min_size=2, max_size=3)),
        st.builds(lambda ps: All(tuple(ps)), st.lists(inner.filter(lambda n: not isinstance(n, All)), min_size=2, max_size=3)),
    ),
    max_leaves=6,
)


def test_phrase_hashtag_and_handle_match_whole_words_in_any_case():
    assert BRAND.match("Stuck at the gate, AURORA AIR cancelled again") == ['"aurora air"']
    assert BRAND.match("love this #AuroraAir crew") == ["#auroraair"]
    assert BRAND.match("thanks @AuroraAir!") == ["@auroraair"]
    assert BRAND.match("aurora airlines is a different company") == []
    assert BRAND.match("aurora over the fjord, air so cold") == []


def test_exclusion_drops_the_post():
    assert BRAND.match("Aurora Air flight to see the aurora borealis") == []


def test_author_handle_counts_as_a_handle_match():
    assert BRAND.match("new routes announced today", author="AuroraAir") == ["@auroraair"]


def test_implicit_and_binds_looser_than_or():
    query = Query.parse("refund late OR delayed")
    assert query.match("refund please, flight delayed")
    assert not query.match("refund please")
    assert not query.match("flight delayed")


def test_parentheses_and_unicode():
    query = Query.parse('(Łódź OR Kraków) "lot odwołany"')
    assert query.match("Lot odwołany w Krakowie? Nie, w Łodzi. Łódź!") == ["łódź", '"lot odwołany"']


@pytest.mark.parametrize("bad", ["", '"unclosed', "(a OR b", "a OR", "OR a", "-", "a )"])
def test_malformed_queries_raise_config_error(bad):
    with pytest.raises(ConfigError):
        Query.parse(bad)


@given(nodes)
def test_printing_then_parsing_gives_the_same_query(node):
    query = Query(node)
    assert Query.parse(str(query)) == query


@given(words, st.lists(words, max_size=6), st.lists(words, max_size=6))
def test_a_term_matches_exactly_when_its_word_is_present(term, before, after):
    query = Query.parse(term)
    text = " ".join(before + [term.upper()] + after)
    assert query.match(text) == [term]
    others = [w for w in before + after if w != term]
    assert query.match(" ".join(others)) == []


@given(words, words, st.lists(words, max_size=5))
def test_exclusion_wins_over_any_match(term, excluded, noise):
    if term == excluded:
        return
    query = Query.parse(f"{term} -{excluded}")
    assert query.match(" ".join(noise + [term, excluded])) == []
    assert query.match(" ".join([w for w in noise if w != excluded] + [term])) == [term]


def test_positive_terms_leave_out_exclusions():
    assert [str(t) for t in BRAND.positive_terms()] == ['"aurora air"', "#auroraair", "@auroraair"]
