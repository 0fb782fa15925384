"""Shipped playbooks, the loader's error messages and the matcher."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from monitor.alerts.incidents.playbooks import BUILT_IN_PLAYBOOKS, fold, keyword_pattern, load_playbooks, match, rank, validate
from monitor.errors import PlaybookError
from monitor.models import Incident, Playbook, PlaybookStep, PlaybookTriggers, Severity, Spike, SpikeKind

ROOT = Path(__file__).resolve().parents[1]
PLAYBOOKS = BUILT_IN_PLAYBOOKS
NOW = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)

MINIMAL = """\
id: {id}
title: Minimal
crisis_type: test
fallback: {fallback}
triggers:
  keywords: [zeppelin]
steps:
  - title: Publish the holding statement
    owner: Head of Comms
    due_minutes: 30
holding_statement:
  en: We are looking into it.
"""


def make_incident(kind: SpikeKind = SpikeKind.VOLUME, severity: Severity = Severity.HIGH,
                  topic: str = "", top_terms: tuple[str, ...] = ()) -> Incident:
    spike = Spike(brand="Acme", kind=kind, window_start=NOW - timedelta(minutes=15), window_end=NOW,
                  observed=312, expected=40, score=9.0, severity=severity, negative_share=0.64,
                  baseline_negative_share=0.12, topic=topic, top_terms=list(top_terms))
    return Incident(id="acme-20240501-1145-abcdef", fingerprint="abcdef0123456789", brand="Acme", kind=kind,
                    topic=topic, severity=severity, opened_at=NOW, updated_at=NOW, last_spike_at=NOW,
                    spikes=[spike])


@pytest.fixture(scope="module")
def shipped() -> list[Playbook]:
    return load_playbooks(PLAYBOOKS)


# -- the shipped playbooks ----------------------------------------------------------------

REQUIRED_TYPES = {"outage", "product_safety", "data_breach", "customer_complaint", "misconduct", "misinformation"}


def test_shipped_playbooks_are_valid_and_cover_every_crisis_type(shipped: list[Playbook]) -> None:
    assert validate(PLAYBOOKS) == []
    assert REQUIRED_TYPES <= {p.crisis_type for p in shipped}
    assert [p.id for p in shipped if p.fallback] == ["generic"]


@pytest.mark.parametrize("path", sorted(PLAYBOOKS.glob("*.yaml")), ids=lambda p: p.stem)
def test_each_shipped_playbook_is_complete(path: Path, shipped: list[Playbook]) -> None:
    playbook = next(p for p in shipped if p.id == path.stem)
    assert {"en", "pl", "de", "es", "fr"} <= set(playbook.holding_statement)
    for language in ("en", "pl"):
        assert {"public_reply", "dm_followup"} <= set(playbook.response_templates[language])
    assert playbook.move_to_private and playbook.escalation_contacts and playbook.description
    assert all(step.owner.strip() for step in playbook.steps)
    first_public = [s for s in playbook.steps if "holding statement" in s.title.lower()]
    assert first_public and first_public[0].due_minutes <= 60, "a first public reply within the hour"
    assert playbook.steps[0].due_minutes <= 30
    if not playbook.fallback:
        assert len(playbook.triggers.keywords) >= 30


POSTS = {
    "outage": [
        "@AcmeAir my flight to Berlin was cancelled and the app is down, nobody at the gate knows anything",
        "Lot do Gdańska odwołany, aplikacja Acme nie działa od rana. Stoimy na lotnisku i nikt nic nie wie",
        "Schon wieder eine Störung bei Acme, die App funktioniert nicht und mein Flug ist annulliert",
        "La app de Acme no funciona desde esta mañana y mi vuelo está retrasado tres horas",
        "Site Acme en panne depuis ce matin, impossible de payer, et mon vol est annulé",
    ],
    "product_safety": [
        "Found a piece of glass in my Acme yoghurt and my daughter got sick after eating it. Is there a recall??",
        "W jogurcie Acme był kawałek szkła! Dziecko ma zatrucie, jesteśmy w szpitalu. Czy będzie wycofanie?",
        "Gibt es einen Rückruf bei Acme? Mein Joghurt hatte Schimmel, das ist gefährlich für Kinder",
        "Mi hijo acabó hospitalizado tras comer yogur Acme, ¿está contaminado? Pedimos la retirada del mercado",
        "Intoxication après un yaourt Acme, trois enfants hospitalisés. Un rappel produit est en cours ?",
    ],
    "data_breach": [
        "Just got an email that my Acme account was hacked and my personal data leaked. Data breach and no word",
        "Wyciek danych w Acme? Dostałem maila, że moje dane osobowe i hasła wyciekły. Zero informacji od firmy",
        "Datenleck bei Acme: meine Kundendaten wurden gestohlen, das ist ein klarer DSGVO Verstoß",
        "Filtración de datos en Acme: mis datos personales y contraseñas están circulando por internet",
        "Fuite de données chez Acme : mes données personnelles et mots de passe ont été piratés",
    ],
    "viral_complaint": [
        "Worst customer service ever. Acme lost my luggage, the staff was rude and they refuse a refund. Never again",
        "Najgorsza obsługa klienta w historii. Reklamacja odrzucona, zero zwrotu pieniędzy. Nigdy więcej Acme!",
        "Schlechtester Kundenservice überhaupt, Acme reagiert seit Wochen nicht. Abzocke! Nie wieder",
        "El peor servicio de atención al cliente, Acme no me devuelve el reembolso. Una vergüenza, nunca más",
        "Le pire service client que j'ai connu, Acme refuse le remboursement. Plus jamais !",
    ],
    "misconduct": [
        "Video shows Acme's CEO making racist jokes at a staff party. This is harassment and he should be fired",
        "Prezes Acme oskarżony o molestowanie i mobbing pracowników. Powinien zostać zwolniony",
        "Sexuelle Belästigung durch den Geschäftsführer von Acme, Mitarbeiter berichten von Mobbing",
        "Denuncian acoso y comentarios racistas del director general de Acme a sus empleados",
        "Harcèlement et propos sexistes : le PDG d'Acme visé par des employés",
    ],
    "misinformation": [
        "That screenshot of Acme's 'new policy' is photoshopped, it's fake news. Stop sharing this hoax #BoycottAcme",
        "To fejk! Screen z rzekomym oświadczeniem Acme jest spreparowany, nie dajcie się nabrać #bojkotAcme",
        "Falschmeldung über Acme: das Video ist gefälscht, glaubt dem Gerücht nicht",
        "Es un bulo: el vídeo de Acme es un montaje y la noticia falsa se está compartiendo",
        "Infox : la capture d'écran sur Acme est un photomontage, attention à la désinformation",
    ],
}


@pytest.mark.parametrize(
    "expected,post",
    [(pid, post) for pid, posts in POSTS.items() for post in posts],
    ids=[f"{pid}-{lang}" for pid in POSTS for lang in ("en", "pl", "de", "es", "fr")],
)
def test_realistic_posts_match_their_playbook(shipped: list[Playbook], expected: str, post: str) -> None:
    assert match(make_incident(), shipped, [post]).id == expected
    scores = [score for score, _ in rank(make_incident(), shipped, [post])]
    assert len(scores) == 1 or scores[0] > scores[1], "a clear winner, not a tie broken by file order"


def test_unrelated_posts_fall_back_to_the_generic_playbook(shipped: list[Playbook]) -> None:
    posts = ["Acme just announced a new logo", "Nowe logo Acme, co o tym myślicie?"]
    assert match(make_incident(), shipped, posts).id == "generic"
    assert rank(make_incident(), shipped, posts) == []


def test_many_posts_outweigh_one_off_words(shipped: list[Playbook]) -> None:
    posts = ["The Acme app is down again", "Acme down for an hour", "still down, Acme?", "Acme is the worst"]
    assert match(make_incident(), shipped, posts).id == "outage"


def test_top_terms_and_topic_are_used(shipped: list[Playbook]) -> None:
    assert match(make_incident(top_terms=("wyciek danych", "hasła")), shipped).id == "data_breach"
    assert match(make_incident(topic="product_safety"), shipped).id == "product_safety"


# -- matching rules -----------------------------------------------------------------------


def _playbook(pid: str, keywords: list[str], **triggers: object) -> Playbook:
    return Playbook(
        id=pid, title=pid, crisis_type=pid,
        triggers=PlaybookTriggers(keywords=keywords, **triggers),
        steps=[PlaybookStep(title="Publish the holding statement", owner="Comms", due_minutes=30)],
        holding_statement={"en": "We are on it."},
    )


FALLBACK = _playbook("fallback", []).model_copy(update={"fallback": True})


def test_keywords_match_whole_words_ignoring_case_and_accents() -> None:
    assert keyword_pattern("down").search(fold("Site is DOWN!"))
    assert not keyword_pattern("down").search(fold("download the app"))
    assert keyword_pattern("awari*").search(fold("kolejna awarię"))
    assert keyword_pattern("odwołany").search(fold("lot ODWOLANY"))
    assert keyword_pattern("przestał* działać").search(fold("bank przestała\n działać"))
    assert keyword_pattern("#boycott*").search(fold("#BoycottAcme now"))
    assert keyword_pattern("boycott").search(fold("#boycott"))
    assert not keyword_pattern("ceo").search(fold("ceos"))
    assert keyword_pattern("can't log in").search(fold("I CAN’T LOG IN"))
    assert keyword_pattern("e. coli").search(fold("E. coli found"))


def test_severity_language_and_source_filters() -> None:
    loud = _playbook("loud", ["outage"], min_severity=Severity.CRITICAL)
    polish = _playbook("polish", ["outage"], languages=["pl"])
    forum = _playbook("forum", ["outage"], sources=["forum"])
    playbooks = [loud, polish, forum, FALLBACK]
    medium = make_incident(severity=Severity.MEDIUM)
    assert match(medium, playbooks, ["outage"], language="en", source="rss").id == "fallback"
    assert match(medium, playbooks, ["outage"], language="pl", source="rss").id == "polish"
    assert match(medium, playbooks, ["outage"], language="en", source="forum").id == "forum"
    assert match(make_incident(severity=Severity.CRITICAL), [loud, FALLBACK], ["outage"]).id == "loud"


def test_spike_kind_breaks_ties_but_does_not_match_alone() -> None:
    plain = _playbook("plain", ["outage"])
    viral = _playbook("viral", ["outage"], kinds=[SpikeKind.VIRAL_POST])
    assert match(make_incident(SpikeKind.VIRAL_POST), [plain, viral, FALLBACK], ["outage"]).id == "viral"
    assert match(make_incident(SpikeKind.VOLUME), [plain, viral, FALLBACK], ["outage"]).id == "plain"
    assert match(make_incident(SpikeKind.VIRAL_POST), [plain, viral, FALLBACK], ["hello"]).id == "fallback"


# -- loading errors -----------------------------------------------------------------------


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(folder: Path) -> str:
    with pytest.raises(PlaybookError) as caught:
        load_playbooks(folder)
    assert caught.value.exit_code == 2
    return str(caught.value)


def test_field_errors_name_the_file_and_the_field_path(tmp_path: Path) -> None:
    write(tmp_path, "generic.yaml", MINIMAL.format(id="generic", fallback="true"))
    broken = MINIMAL.format(id="broken", fallback="false").replace("due_minutes: 30", "due_minutes: -5")
    write(tmp_path, "broken.yaml", broken.replace("crisis_type: test\n", "crisis_type: test\ncolour: red\n"))
    message = problems_of(tmp_path)
    assert re.search(r"broken\.yaml: steps\[0\]\.due_minutes: .*greater than 0", message)
    assert re.search(r"broken\.yaml: colour: Extra inputs", message)
    assert "generic.yaml" not in message


def test_missing_fields_and_bad_yaml_are_reported_per_file(tmp_path: Path) -> None:
    write(tmp_path, "generic.yaml", MINIMAL.format(id="generic", fallback="true"))
    write(tmp_path, "nosteps.yaml", "id: nosteps\ntitle: T\ncrisis_type: x\nholding_statement: {en: hi}\n")
    write(tmp_path, "syntax.yaml", "id: [unclosed\n")
    write(tmp_path, "list.yaml", "- just\n- a list\n")
    message = problems_of(tmp_path)
    assert "nosteps.yaml: steps: Field required" in message
    assert re.search(r"syntax\.yaml: not valid YAML at line \d+", message)
    assert "list.yaml: expected a mapping" in message


def test_content_checks(tmp_path: Path) -> None:
    write(tmp_path, "generic.yaml", MINIMAL.format(id="generic", fallback="true"))
    text = MINIMAL.format(id="odd", fallback="false")
    text = text.replace("[zeppelin]", "[zeppelin, 'zep*pelin', ZEPPELIN]")
    text = text.replace("  en: We are looking into it.", "  en: ' '\n  english: Hello")
    write(tmp_path, "odd.yaml", text + "slack_channel: Brand Alerts\n")
    message = problems_of(tmp_path)
    assert "odd.yaml: triggers.keywords[1]" in message and "'*' only ends a word" in message
    assert "odd.yaml: triggers.keywords[2]" in message and "listed twice" in message
    assert "odd.yaml: holding_statement.en: must not be blank" in message
    assert "odd.yaml: holding_statement.english" in message
    assert "odd.yaml: slack_channel" in message


def test_duplicate_ids_and_fallback_count(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", MINIMAL.format(id="same", fallback="false"))
    write(tmp_path, "b.yaml", MINIMAL.format(id="same", fallback="false"))
    message = problems_of(tmp_path)
    assert "b.yaml: id: duplicate id 'same' (also in" in message and "a.yaml" in message
    assert "exactly one must" in message
    write(tmp_path, "b.yaml", MINIMAL.format(id="other", fallback="true"))
    write(tmp_path, "c.yaml", MINIMAL.format(id="third", fallback="true"))
    assert "c.yaml: fallback: only one playbook may be the fallback" in problems_of(tmp_path)


def test_severity_words_and_empty_folders(tmp_path: Path) -> None:
    assert validate(tmp_path / "missing") == [(str(tmp_path / "missing"), "playbook folder does not exist")]
    assert "no playbook files" in validate(tmp_path)[0][1]
    write(tmp_path, "generic.yaml", MINIMAL.format(id="generic", fallback="true"))
    text = MINIMAL.format(id="loud", fallback="false").replace("triggers:\n", "triggers:\n  min_severity: high\n")
    write(tmp_path, "loud.yaml", text)
    loaded = {p.id: p for p in load_playbooks(tmp_path)}
    assert loaded["loud"].triggers.min_severity == Severity.HIGH


# -- documentation ------------------------------------------------------------------------


def test_every_playbook_field_is_documented() -> None:
    docs = (ROOT / "docs" / "playbooks.md").read_text(encoding="utf-8")
    for model in (Playbook, PlaybookStep, PlaybookTriggers):
        for name in model.model_fields:
            assert f"`{name}`" in docs, f"{model.__name__}.{name} is not documented in docs/playbooks.md"
