"""Czech and Slovak declension of brand names.

Sources: Internetová jazyková příručka (Ústav pro jazyk český AV ČR), "Skloňování cizích
jmen" and the patterns hrad, pán, žena (``Ryanairu``, ``Googlem``, ``Škodou``); Pravidla
českého pravopisu (1993), consonant alternations before ``-e/-ě`` (``r → ře``, ``k → ce``,
``h → ze``, ``ch → še``); Pravidlá slovenského pravopisu (JÚĽŠ SAV, 2013) and Krátky slovník
slovenského jazyka, the patterns dub, chlap, žena (``Ryanairom``, ``Škodou``).
"""

from __future__ import annotations

from monitor.inflection.rules import Language, Paradigm, alternations, endings

CONSONANT = r"[bcdfghjklmnpqrstvwxzčďňřšťž]"

_CZECH_E = {"r": "ře", "k": "ce", "h": "ze", "g": "ze", "ch": "še", "d": "dě", "t": "tě", "n": "ně",
            "b": "bě", "p": "pě", "v": "vě", "m": "mě", "f": "fě"}
_CZECH_A = {f"{k}a": v for k, v in _CZECH_E.items()}

CZECH = Language(
    code="cs",
    name="Czech",
    sources=(
        "Internetová jazyková příručka (ÚJČ AV ČR): skloňování cizích jmen; vzory hrad, pán, žena",
        "Pravidla českého pravopisu (1993): střídání souhlásek před -e/-ě",
    ),
    paradigms=(
        Paradigm("masculine, consonant stem (hrad, pán)", CONSONANT,
                 endings("genitive, dative or locative singular", "u", common=True)
                 + endings("genitive or accusative singular (animate)", "a", common=True)
                 + endings("dative or locative singular (animate)", "ovi", common=True)
                 + endings("instrumental singular", "em", common=True)
                 + endings("nominative plural", "y", "i") + endings("genitive plural", "ů")
                 + endings("dative plural", "ům") + endings("locative plural", "ech", "ích")),
        *alternations("masculine locative", _CZECH_E, "locative or vocative singular -e/-ě"),
        Paradigm("feminine in -a (žena)", "(?<!i)a", endings("genitive singular", "y", common=True)
                 + endings("accusative singular", "u", common=True) + endings("instrumental singular", "ou", common=True)
                 + endings("vocative singular", "o") + endings("plural", "ám", "ách", "ami"), drop=1),
        *alternations("feminine dative", _CZECH_A, "dative or locative singular -e/-ě", common=True),
        Paradigm("feminine in -ia", "ia", endings("genitive singular", "e", common=True)
                 + endings("dative, accusative or locative singular", "i", common=True)
                 + endings("instrumental singular", "í", "ou"), drop=1),
        Paradigm("name ending in a silent -e", f"{CONSONANT}e", endings("genitive singular", "u", "a", common=True)
                 + endings("instrumental singular", "em", common=True) + endings("dative singular", "ovi"), drop=1),
    ),
)

SLOVAK = Language(
    code="sk",
    name="Slovak",
    sources=(
        "Pravidlá slovenského pravopisu (JÚĽŠ SAV, 2013): skloňovanie podstatných mien; vzory dub, chlap, žena",
        "Krátky slovník slovenského jazyka (2020): skloňovanie cudzích vlastných mien",
    ),
    paradigms=(
        Paradigm("masculine, consonant stem (dub, chlap)", CONSONANT,
                 endings("genitive or dative singular", "u", common=True)
                 + endings("genitive or accusative singular (animate)", "a", common=True)
                 + endings("dative or locative singular (animate)", "ovi")
                 + endings("instrumental singular", "om", common=True)
                 + endings("locative singular", "e", "i", common=True)
                 + endings("nominative plural", "y") + endings("genitive plural", "ov")
                 + endings("locative plural", "och") + endings("instrumental plural", "mi", "ami")),
        Paradigm("feminine in -a (žena)", "(?<!i)a", endings("genitive singular", "y", common=True)
                 + endings("dative or locative singular", "e", common=True) + endings("accusative singular", "u", common=True)
                 + endings("instrumental singular", "ou", common=True) + endings("plural", "ám", "ách", "ami"), drop=1),
        Paradigm("feminine in -ia", "ia", endings("genitive singular", "e", common=True)
                 + endings("dative, accusative or locative singular", "i", "u", common=True)
                 + endings("instrumental singular", "ou"), drop=1),
        Paradigm("name ending in a silent -e", f"{CONSONANT}e", endings("genitive singular", "u", "a", common=True)
                 + endings("instrumental singular", "om", common=True), drop=1),
    ),
)
