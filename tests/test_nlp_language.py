"""Language identification on short social posts."""

from __future__ import annotations

import pytest

from monitor.nlp.language import detect_language, detect_languages, known_languages

POSTS = {
    "en": "The customer service at this store was terrible, I waited an hour for nothing.",
    "pl": "Obsługa klienta jest okropna, czekałem godzinę i nikt mi nie pomógł.",
    "de": "Der Kundendienst ist furchtbar, ich habe eine Stunde gewartet.",
    "es": "El servicio al cliente es horrible, esperé una hora y nadie me ayudó.",
    "fr": "Le service client est nul, j'ai attendu une heure pour rien.",
    "hu": "Az ügyfélszolgálat borzalmas, egy órát vártam és senki sem segített.",
    "ru": "Служба поддержки ужасная, я ждал целый час и никто не помог.",
}


@pytest.mark.parametrize(("language", "post"), POSTS.items())
def test_short_posts(language: str, post: str) -> None:
    assert detect_language(post) == language


def test_urls_handles_and_hashtags_do_not_decide() -> None:
    assert detect_language("@acme_support https://t.co/xyz #fail Dziękuję bardzo za szybką pomoc!") == "pl"


@pytest.mark.parametrize("text", ["", "   ", "ok", "😀😀😀", "12345 !!!", "@acme https://t.co/x", "\ud800\x00"])
def test_no_language_without_enough_letters(text: str) -> None:
    assert detect_language(text) is None


def test_candidates_constrain_the_answer() -> None:
    assert detect_language("Lot super") is None  # too short to be sure among 176 languages
    assert detect_language("Muy bien") == "fr"  # two words can mislead the open-ended guess …
    assert detect_language("Muy bien", candidates=["en", "es"]) == "es"  # … the brand's languages fix it
    assert detect_language(POSTS["es"], candidates={"ES", "pt"}) == "es"
    assert detect_language(POSTS["ru"], candidates=["en", "pl"]) is None  # none of them is plausible


def test_every_language_of_the_model_can_be_a_candidate() -> None:
    assert len(known_languages()) == 176
    assert detect_language(POSTS["ru"], candidates=["yo", "gn"]) is None  # probabilities that round to zero


def test_unknown_candidate_codes_are_rejected() -> None:
    with pytest.raises(ValueError, match="xx"):
        detect_language("hello there friends", candidates=["en", "xx"])


def test_batch_matches_single() -> None:
    texts = list(POSTS.values()) + ["", "ok"]
    assert detect_languages(texts) == [detect_language(t) for t in texts]
    assert detect_languages(texts)[:len(POSTS)] == list(POSTS)
    assert {"en", "pl", "hu"} <= known_languages()
