"""Polish declension of brand names.

Sources: Wielki słownik ortograficzny PWN, "Odmiana nazw obcych" and the rules on the
apostrophe (§ 95: ``Google'a``, ``Skype'em``); Poradnia językowa PWN on ``w Ryanairze``,
``Facebookiem``, ``Netfliksie``; O. Swan, *A Grammar of Contemporary Polish* (2002), the
masculine, feminine and neuter declensions and the locative consonant alternations (§§ 145–160).
"""

from __future__ import annotations

from monitor.inflection.rules import Language, Paradigm, alternations, endings

CONSONANT = r"[bcdfhjlłmnprstwxzśźżćń]"
VOWEL = r"[aeiouyąęó]"

_MASCULINE = (
    endings("genitive or accusative singular", "a", "u", common=True)
    + endings("dative singular", "owi", common=True)
    + endings("nominative plural", "y")
    + endings("genitive plural", "ów")
    + endings("dative, instrumental and locative plural", "om", "ami", "ach")
)
_LOCATIVE_HARD = {  # masculine and neuter locative/vocative -e with the alternations of Swan § 158
    "st": "ście", "zd": "ździe", "sł": "śle", "sn": "śnie", "b": "bie", "p": "pie", "f": "fie",
    "w": "wie", "m": "mie", "n": "nie", "s": "sie", "z": "zie", "t": "cie", "d": "dzie",
    "ł": "le", "r": "rze", "x": "ksie",
}
_DATIVE_FEMININE = {  # feminine dative/locative -e with the same alternations, after dropping -a
    "sta": "ście", "ba": "bie", "pa": "pie", "fa": "fie", "wa": "wie", "ma": "mie", "na": "nie",
    "sa": "sie", "za": "zie", "ta": "cie", "da": "dzie", "ła": "le", "ra": "rze", "ka": "ce",
    "ga": "dze", "cha": "sze", "la": "li",
}
_LOCATIVE_NEUTER = {"ro": "rze", "to": "cie", "do": "dzie", "no": "nie", "so": "sie", "ło": "le",
                    "mo": "mie", "wo": "wie", "bo": "bie", "po": "pie"}

POLISH = Language(
    code="pl",
    name="Polish",
    sources=(
        "Wielki słownik ortograficzny PWN: odmiana nazw obcych; apostrof (§ 95)",
        "O. Swan, A Grammar of Contemporary Polish (2002), §§ 145–160",
    ),
    paradigms=(
        Paradigm("masculine, consonant stem", f"(?<![kg]){CONSONANT}",
                 _MASCULINE + endings("instrumental singular", "em", common=True)),
        Paradigm("masculine, velar stem", "[kg]",
                 _MASCULINE + endings("instrumental singular", "iem", common=True) + endings("nominative plural", "i")),
        *alternations("masculine locative", _LOCATIVE_HARD, "locative or vocative singular -e", common=True),
        Paradigm("masculine ending in a vowel + y", f"{VOWEL}y",
                 endings("genitive singular", "a", "u", common=True) + endings("dative singular", "owi")
                 + endings("instrumental singular", "em", common=True)),
        Paradigm("feminine in -a", "(?<!i)a", endings("accusative singular", "ę", common=True)
                 + endings("instrumental singular", "ą", common=True) + endings("genitive singular", "y", common=True)
                 + endings("vocative singular", "o") + endings("plural", "om", "ami", "ach"), drop=1),
        Paradigm("feminine in -ka, -ga", "[kg]a", endings("genitive singular", "i", common=True), drop=1),
        *alternations("feminine dative", _DATIVE_FEMININE, "dative or locative singular -e", common=True),
        Paradigm("feminine in -ia", "ia", endings("genitive, dative or locative singular", "i", common=True)
                 + endings("accusative singular", "ę", common=True) + endings("instrumental singular", "ą", common=True)
                 + endings("vocative singular", "o") + endings("plural", "e"), drop=1),
        Paradigm("neuter in -o", f"{CONSONANT}o", endings("genitive singular", "a", common=True)
                 + endings("dative or locative singular", "u") + endings("instrumental singular", "em", common=True),
                 drop=1),
        *alternations("neuter locative", _LOCATIVE_NEUTER, "locative singular -e"),
        Paradigm("name ending in a silent -e", f"{CONSONANT}e", endings("genitive singular", "a", common=True)
                 + endings("dative singular", "owi") + endings("instrumental singular", "em", common=True)
                 + endings("locative singular", "u"), drop=1),
        Paradigm("name ending in a silent vowel, with an apostrophe", "e", endings("genitive singular", "a", common=True)
                 + endings("dative singular", "owi") + endings("instrumental singular", "em", common=True)
                 + endings("locative singular", "u") + endings("genitive plural", "ów"), apostrophe=True),
    ),
)
