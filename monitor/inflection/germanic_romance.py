"""Germanic genitives and Romance elision.

Every language accepts the English-style possessive (``Ryanair's``, ``Ryanair’s``) and a
hyphenated compound that starts with the name (``Ryanair-Flug``); these tables add what is
particular to a language.

Sources: Duden, Die deutsche Rechtschreibung, "Apostroph" and the genitive of names (``Ryanairs
Kunden``); Taaladvies.net (Nederlandse Taalunie), "Apostrof bij bezittelijke vormen"; Svenska
Akademiens grammatik (1999), genitiv ``-s``; Retskrivningsordbogen (Dansk Sprognævn), genitiv;
M. Grevisse and A. Goosse, *Le Bon Usage* (16th ed.), §§ 44–45 (élision: ``l'``, ``d'``,
``qu'``); Treccani, "elisione"; Institut d'Estudis Catalans, Ortografia catalana (2017), l'apòstrof.
"""

from __future__ import annotations

from monitor.inflection.rules import Language, Paradigm, endings

_GENITIVE_S = Paradigm("name", r"[^s]", endings("genitive -s", "s", common=True))

GERMAN = Language("de", "German", ("Duden: Apostroph; Genitiv der Eigennamen",), (_GENITIVE_S,))
DUTCH = Language("nl", "Dutch", ("Taaladvies.net: Apostrof bij bezittelijke vormen",), (
    Paradigm("name ending in a consonant", r"[^aeiouys]", endings("possessive -s", "s", common=True)),
    Paradigm("name ending in a vowel", r"[aeiouy]", endings("possessive -'s", "s", common=True), apostrophe=True),
))
SWEDISH = Language("sv", "Swedish", ("Svenska Akademiens grammatik (1999): genitiv",), (_GENITIVE_S,))
DANISH = Language("da", "Danish", ("Retskrivningsordbogen (Dansk Sprognævn): genitiv",), (_GENITIVE_S,))
NORWEGIAN = Language("nb", "Norwegian", ("Språkrådet: genitiv",), (_GENITIVE_S,))

FRENCH = Language("fr", "French", ("Grevisse & Goosse, Le Bon Usage, §§ 44–45 (élision)",),
                  elision=("l", "d", "qu", "j", "n", "s", "c", "m", "t", "jusqu", "lorsqu", "puisqu", "quoiqu"))
ITALIAN = Language("it", "Italian", ("Treccani: elisione",),
                   elision=("l", "d", "un", "dell", "all", "dall", "nell", "sull", "coll", "quest", "quell"))
CATALAN = Language("ca", "Catalan", ("Institut d'Estudis Catalans, Ortografia catalana (2017): l'apòstrof",),
                   elision=("l", "d", "s", "m", "t", "n"))
