"""Hungarian case endings of brand names.

Sources: A magyar helyesírás szabályai, 12th edition (MTA, 2015), §§ 136 (the ``-val/-vel``
and ``-vá/-vé`` endings assimilate to a final consonant: ``Ryanairrel``, ``Netflixszel``), 137
(digraphs double their first letter: ``Asszal``), 215–219 (suffixes on names; a hyphen after a
final letter that is not pronounced, ``Apple-lel``), and 147 (final ``a``/``e`` lengthen to
``á``/``é``: ``Toyotát``); C. Rounds, *Hungarian: An Essential Grammar* (2009), the case table.
A foreign name's vowel harmony cannot be read from its spelling, so back, front and rounded
variants are all accepted.
"""

from __future__ import annotations

from monitor.inflection.rules import Ending, Language, Paradigm, endings, longest_first

VOWEL = "aeiouyáéíóöőúüű"
DIGRAPHS = ("dzs", "sz", "zs", "cs", "gy", "ly", "ny", "ty", "dz")
CONSONANTS = "bcdfghjklmnpqrstvwxz"

_CASES = (
    endings("adessive -nál/-nél", "nál", "nél", common=True)
    + endings("delative -ról/-ről", "ról", "ről", common=True)
    + endings("dative -nak/-nek", "nak", "nek", common=True)
    + endings("inessive -ban/-ben", "ban", "ben", common=True)
    + endings("illative -ba/-be", "ba", "be")
    + endings("elative -ból/-ből", "ból", "ből")
    + endings("sublative -ra/-re", "ra", "re", common=True)
    + endings("allative -hoz/-hez/-höz", "hoz", "hez", "höz")
    + endings("ablative -tól/-től", "tól", "től")
    + endings("terminative -ig", "ig")
    + endings("causal-final -ért", "ért")
    + endings("essive -ként", "ként")
    + endings("possessive -é", "é")
)


def _double(final: str) -> str:
    """The final consonant doubled as an assimilated ``v`` spells it (§ 136–137)."""
    if final == "x":
        return "xsz"
    return final[0] + final


def _assimilated() -> tuple[Paradigm, ...]:
    """``-val/-vel`` and ``-vá/-vé`` after each final consonant, longest digraph first."""
    paradigms = []
    for final, pattern in longest_first((*DIGRAPHS, *CONSONANTS)):
        doubled = _double(final)
        paradigms.append(Paradigm(
            f"consonant stem: v assimilated to {final}", pattern,
            (Ending(doubled + "al", "instrumental -val (assimilated)", True),
             Ending(doubled + "el", "instrumental -vel (assimilated)", True),
             Ending(doubled + "á", "translative -vá (assimilated)"),
             Ending(doubled + "é", "translative -vé (assimilated)")),
            drop=len(final),
        ))
    return tuple(paradigms)


def _lengthened(vowel: str, long: str) -> Paradigm:
    return Paradigm(f"stem in -{vowel}, lengthened to -{long}", vowel, tuple(
        Ending(long + e.suffix, e.rule, e.common) for e in (
            _CASES + endings("accusative -t", "t", common=True) + endings("instrumental -val/-vel", "val", "vel", common=True)
            + endings("superessive -n", "n", common=True) + endings("plural -k", "k") + endings("translative -vá/-vé", "vá", "vé")
        )), drop=1)


HUNGARIAN = Language(
    code="hu",
    name="Hungarian",
    sources=(
        "A magyar helyesírás szabályai, 12th ed. (2015), §§ 136–137, 147, 215–219",
        "C. Rounds, Hungarian: An Essential Grammar (2009), noun cases",
    ),
    paradigms=(
        *_assimilated(),
        Paradigm("consonant stem", f"[{CONSONANTS}]", endings("accusative -t", "t", common=True)
                 + endings("accusative -t with a linking vowel", "ot", "et", common=True) + endings(
                     "accusative -t with a linking vowel", "öt", "at") + _CASES
                 + endings("superessive -on/-en/-ön", "on", "en", common=True) + endings("superessive -ön", "ön")
                 + endings("plural -ok/-ek/-ök/-ak", "ok", "ek", "ök", "ak")
                 + endings("adjective -os/-es/-ös", "os", "es", "ös", "as")),
        Paradigm("stem in another vowel", "[iouyíóöőúüű]", _CASES + endings("accusative -t", "t", common=True)
                 + endings("instrumental -val/-vel", "val", "vel", common=True)
                 + endings("superessive -n", "n", common=True) + endings("plural -k", "k")),
        _lengthened("a", "á"),
        _lengthened("e", "é"),
    ),
)
