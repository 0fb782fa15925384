"""Finnish and Turkish case endings of brand names.

Finnish sources: Kielitoimiston ohjepankki, "Vierasperäisten nimien taivutus" (a name ending
in a consonant takes a linking ``i``: ``Ryanairin``, ``Ryanairilla``); Iso suomen kielioppi
(VISK, 2004) §§ 65–70 and the case table § 1220. Vowel harmony of a foreign name cannot be read
from its spelling, so ``a`` and ``ä`` variants are both accepted.

Turkish sources: Türk Dil Kurumu, Yazım Kılavuzu, "Kesme işareti" (suffixes on proper names
follow an apostrophe: ``Ryanair'ın``, ``Ryanair'de``); A. Göksel and C. Kerslake, *Turkish: A
Comprehensive Grammar* (2005), ch. 8 (case suffixes, buffer consonants ``y``, ``n``). Informal
writing drops the apostrophe, so the same endings are also accepted attached directly.
"""

from __future__ import annotations

from monitor.inflection.rules import Ending, Language, Paradigm, endings

_FI_CASES = (
    endings("genitive -n", "n", common=True)
    + endings("inessive -ssa/-ssä", "ssa", "ssä", common=True)
    + endings("elative -sta/-stä", "sta", "stä", common=True)
    + endings("adessive -lla/-llä", "lla", "llä", common=True)
    + endings("ablative -lta/-ltä", "lta", "ltä")
    + endings("allative -lle", "lle", common=True)
    + endings("essive -na/-nä", "na", "nä")
    + endings("translative -ksi", "ksi")
    + endings("abessive -tta/-ttä", "tta", "ttä")
    + endings("plural -t", "t")
)


def _linked(cases: tuple[Ending, ...]) -> tuple[Ending, ...]:
    return tuple(Ending("i" + e.suffix, f"{e.rule} after a linking i", e.common) for e in cases)


FINNISH = Language(
    code="fi",
    name="Finnish",
    sources=(
        "Kielitoimiston ohjepankki: Vierasperäisten nimien taivutus",
        "Iso suomen kielioppi (VISK, 2004), §§ 65–70, § 1220",
    ),
    paradigms=(
        Paradigm("name ending in a consonant", "[bcdfghjklmnpqrstvwxzš]", _linked(_FI_CASES)
                 + endings("partitive -a/-ä after a linking i", "ia", "iä", common=True)
                 + endings("illative after a linking i", "iin", common=True)),
        *(Paradigm(f"name ending in -{v}", v, _FI_CASES + endings("partitive -a/-ä", "a", "ä", common=True)
                   + endings("illative (vowel lengthened + n)", f"{v}n", common=True)) for v in "aeiouyäö"),
    ),
)

def _turkish(after_vowel: bool) -> tuple[Ending, ...]:
    """Case suffixes in every harmony variant; after a vowel with the buffer ``y`` or ``n``."""
    y, n = ("y", "n") if after_vowel else ("", "")
    return (
        endings("accusative", *(y + v for v in "ıiuü"), common=True)
        + endings("dative", y + "a", y + "e", common=True)
        + endings("locative", "da", "de", "ta", "te", common=True)
        + endings("ablative", "dan", "den", "tan", "ten", common=True)
        + endings("genitive", *(n + v + "n" for v in "ıiuü"), common=True)
        + endings("comitative", y + "la", y + "le")
        + endings("plural", "lar", "ler")
        + endings("relative -daki", "daki", "deki", "taki", "teki")
    )


_TR_VOWEL = "[aeıioöuü]"

TURKISH = Language(
    code="tr",
    name="Turkish",
    sources=(
        "Türk Dil Kurumu, Yazım Kılavuzu: Kesme işareti",
        "A. Göksel and C. Kerslake, Turkish: A Comprehensive Grammar (2005), ch. 8",
    ),
    paradigms=(
        Paradigm("name ending in a consonant, after an apostrophe", f"(?!{_TR_VOWEL})\\w", _turkish(False), apostrophe=True),
        Paradigm("name ending in a vowel, after an apostrophe", _TR_VOWEL, _turkish(True), apostrophe=True),
        Paradigm("name ending in a consonant, no apostrophe", f"(?!{_TR_VOWEL})\\w", _turkish(False)),
        Paradigm("name ending in a vowel, no apostrophe", _TR_VOWEL, _turkish(True)),
    ),
)
