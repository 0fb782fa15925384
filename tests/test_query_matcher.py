"""What each kind of term matches, in which language; property tests of the matcher."""

import unicodedata

from hypothesis import assume, given
from hypothesis import strategies as st

from monitor import inflection
from monitor.query import Query

STEMS = st.text(alphabet="bdfklmnprstvz", min_size=2, max_size=4).flatmap(
    lambda consonants: st.just("a".join(consonants) + "r"))
DECLINING = ["pl", "hu", "cs", "sk", "fi", "tr", "de", "nl"]


def test_without_a_language_only_the_shared_forms_count():
    query = Query.parse("ryanair")
    assert query.match("Ryanair's app") == ["ryanair"]
    assert query.match("Ryanair-Flug gestrichen") == ["ryanair"]
    assert query.match("Lecę Ryanairem") == []


def test_the_language_is_asked_for_only_when_a_word_could_be_inflected():
    calls = []

    def languages():
        calls.append(1)
        return ["pl"]

    query = Query.parse("ryanair")
    assert query.match("Ryanair again late", languages=languages) == ["ryanair"]
    assert query.match("nothing here at all", languages=languages) == []
    assert calls == []
    assert query.match("Lecę Ryanairem", languages=languages) == ["ryanair"]
    assert calls == [1]


def test_exact_terms_match_the_exact_word_only():
    query = Query.parse("=ryanair")
    assert str(query) == "=ryanair"
    assert query.match("Ryanair!", languages=["pl"]) == ["=ryanair"]
    for post in ("Lecę Ryanairem", "Ryanair's app", "Ryanair-Flug"):
        assert query.match(post, languages=["pl", "de"]) == []
    phrase = Query.parse('="wizz air"')
    assert str(phrase) == '="wizz air"'
    assert phrase.match("Wizz Air late") and not phrase.match("Wizz Airem", languages=["pl"])


def test_prefix_terms_match_any_word_starting_with_them():
    query = Query.parse("cancel*")
    assert str(query) == "cancel*"
    assert query.match("flights cancelled again") == ["cancel*"]
    assert query.match("cancellation fee") == ["cancel*"]
    assert query.match("we can cel") == []


def test_a_phrase_declines_its_last_word():
    query = Query.parse('"wizz air"')
    assert query.match("Lecę Wizz Airem", languages=["pl"]) == ['"wizz air"']
    assert query.match("A Wizz Airrel repültem", languages=["hu"]) == ['"wizz air"']
    assert query.match("Wizz Air-járat késik", languages=["hu"]) == ['"wizz air"']
    assert query.match("Wizzem Air", languages=["pl"]) == []
    assert query.match("air wizz", languages=["pl"]) == []


def test_exclusions_decline_too():
    query = Query.parse("ryanair -borealis")
    assert query.match("Ryanairem nad borealisem", languages=["pl"]) == []


def test_aliases_in_another_script_decline_in_their_language():
    query = Query.parse("ryanair OR райанэйр")
    assert query.match("Жалоба на Райанэйра", languages=["ru"]) == ["райанэйр"]


def test_explain_names_the_word_form_and_rule():
    explanation = Query.parse("ryanair").explain("W Ryanairze znowu", languages=["pl"])
    evidence, = explanation.found.values()
    assert (evidence.word, evidence.language) == ("ryanairze", "pl") and "locative" in evidence.rule
    other = Query.parse("ryanair").explain("W Ryanairze znowu", languages=["en"])
    assert not other.matches and {e.language for e in other.other_languages} >= {"pl"}


@given(STEMS, st.sampled_from(DECLINING), st.sampled_from(DECLINING), st.data())
def test_a_suffix_from_another_language_never_matches(word, language, other, data):
    assume(language != other)
    own = {f.text for f in inflection.forms(word, language)} | {word, f"{word}'s"}
    foreign = [f.text for f in inflection.forms(word, other) if f.text not in own]
    assume(foreign)
    form = data.draw(st.sampled_from(foreign))
    query = Query.parse(word)
    assert query.match(f"today {form} again", languages=[language]) == []
    assert query.match(f"today {form} again", languages=[other]) == [word]


@given(STEMS, st.sampled_from(DECLINING + ["ru", "uk", "en", "fr"]), st.data())
def test_matching_is_case_and_accent_stable(word, language, data):
    forms = [f.text for f in inflection.forms(word, language)] + [word]
    text = f"no {data.draw(st.sampled_from(forms))} yes"
    query = Query.parse(word)
    expected = query.match(text, languages=[language])
    assert expected == [word]
    for variant in (text.upper(), text.title(), unicodedata.normalize("NFD", text),
                    unicodedata.normalize("NFD", text.upper())):
        assert query.match(variant, languages=[language]) == expected


@given(STEMS, st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=5),
       st.sampled_from(DECLINING + ["en", "ru", "fr"]))
def test_a_name_inside_another_word_is_not_a_match(word, prefix, language):
    assert Query.parse(word).match(f"the {prefix}{word} case", languages=[language]) == []
