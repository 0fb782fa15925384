"""Russian and Ukrainian declension of brand names.

A name in Cyrillic declines as a noun (``Райанэйр → Райанэйра, Райанэйром``); a name kept in
Latin letters takes the Cyrillic ending directly, after an apostrophe or after a hyphen
(``Ryanair'а``, ``Ryanair-у``; the hyphen is accepted in every language).

Sources: Д. Э. Розенталь, «Справочник по правописанию и литературной правке» (§ 152,
склонение иноязычных имён); А. А. Зализняк, «Грамматический словарь русского языка»
(types 1a, 1b, 7a); «Український правопис» (2019), §§ 78–99 (відмінювання іменників, чергування
к → ц, г → з, х → с перед -і); О. Д. Пономарів, «Сучасна українська мова» (2005).
"""

from __future__ import annotations

from monitor.inflection.rules import Language, Paradigm, endings

CYRILLIC_CONSONANT = "[бвгджзклмнпрстфхцчшщ]"
LATIN = "[a-z]"

_RU_MASCULINE = (
    endings("genitive singular", "а", common=True) + endings("dative singular", "у", common=True)
    + endings("prepositional singular", "е", common=True) + endings("nominative plural", "ы", "и")
    + endings("genitive plural", "ов", common=True) + endings("plural", "ам", "ами", "ах")
)
_RU_LATIN = endings("genitive singular", "а", common=True) + endings("dative singular", "у") + endings(
    "instrumental singular", "ом", common=True) + endings("prepositional singular", "е") + endings("genitive plural", "ов")

RUSSIAN = Language(
    code="ru",
    name="Russian",
    sources=(
        "Д. Э. Розенталь, Справочник по правописанию и литературной правке, § 152",
        "А. А. Зализняк, Грамматический словарь русского языка, типы склонения 1a, 1b, 7a",
    ),
    paradigms=(
        Paradigm("masculine, hard stem", "[бвдзклмнпрстфхг]", _RU_MASCULINE + endings("instrumental singular", "ом", common=True)),
        Paradigm("masculine, sibilant stem", "[жшчщц]", _RU_MASCULINE + endings("instrumental singular", "ем", "ом", common=True)),
        Paradigm("masculine in -й", "й", endings("genitive singular", "я", common=True) + endings("dative singular", "ю")
                 + endings("instrumental singular", "ем", common=True) + endings("prepositional singular", "е", common=True)
                 + endings("plural", "и", "ев", "ям", "ями", "ях"), drop=1),
        Paradigm("in -ь", "ь", endings("genitive singular", "я", "и", common=True) + endings("dative singular", "ю")
                 + endings("instrumental singular", "ем", "ью", common=True) + endings("prepositional singular", "е"), drop=1),
        Paradigm("feminine in -а", f"{CYRILLIC_CONSONANT}а", endings("genitive singular", "ы", "и", common=True)
                 + endings("dative or prepositional singular", "е", common=True) + endings("accusative singular", "у", common=True)
                 + endings("instrumental singular", "ой", "ою", common=True) + endings("plural", "ам", "ами", "ах"), drop=1),
        Paradigm("feminine in -я", "я", endings("genitive singular", "и", common=True) + endings("dative singular", "е")
                 + endings("accusative singular", "ю", common=True) + endings("instrumental singular", "ей", "ею"), drop=1),
        Paradigm("name in Latin letters, Cyrillic ending", LATIN, _RU_LATIN),
        Paradigm("name in Latin letters, Cyrillic ending after an apostrophe", LATIN, _RU_LATIN, apostrophe=True),
    ),
)

_UK_LATIN = endings("genitive singular", "а", "у", common=True) + endings("dative singular", "ові") + endings(
    "instrumental singular", "ом", common=True) + endings("locative singular", "і")

UKRAINIAN = Language(
    code="uk",
    name="Ukrainian",
    sources=(
        "Український правопис (2019), §§ 78–99",
        "О. Д. Пономарів, Сучасна українська мова (2005), відмінювання іменників",
    ),
    paradigms=(
        Paradigm("masculine, hard stem", "[бвдзклмнпрстфхгґжшчщц]",
                 endings("genitive singular", "а", "у", common=True) + endings("dative singular", "ові", common=True)
                 + endings("instrumental singular", "ом", common=True) + endings("locative singular", "і", common=True)
                 + endings("vocative singular", "е") + endings("nominative plural", "и")
                 + endings("genitive plural", "ів", common=True) + endings("plural", "ам", "ами", "ах")),
        Paradigm("masculine, locative к → ці", "к", endings("locative singular", "ці", common=True), drop=1),
        Paradigm("masculine, locative г → зі", "г", endings("locative singular", "зі", common=True), drop=1),
        Paradigm("masculine, locative х → сі", "х", endings("locative singular", "сі", common=True), drop=1),
        Paradigm("masculine in -й", "й", endings("genitive singular", "я", common=True) + endings("dative singular", "єві", "ю")
                 + endings("instrumental singular", "єм", common=True) + endings("locative singular", "ї", "ю")
                 + endings("plural", "ї", "їв"), drop=1),
        Paradigm("feminine in -а", f"{CYRILLIC_CONSONANT}а", endings("genitive singular", "и", "і", common=True)
                 + endings("dative or locative singular", "і", common=True) + endings("accusative singular", "у", common=True)
                 + endings("instrumental singular", "ою", common=True) + endings("vocative singular", "о")
                 + endings("plural", "ам", "ами", "ах"), drop=1),
        Paradigm("feminine in -ка, dative ц", "ка", endings("dative or locative singular", "ці", common=True), drop=2),
        Paradigm("feminine in -я", "я", endings("genitive singular", "ї", "і", common=True)
                 + endings("accusative singular", "ю", common=True) + endings("instrumental singular", "ею", "єю"), drop=1),
        Paradigm("name in Latin letters, Cyrillic ending", LATIN, _UK_LATIN),
        Paradigm("name in Latin letters, Cyrillic ending after an apostrophe", LATIN, _UK_LATIN, apostrophe=True),
    ),
)
