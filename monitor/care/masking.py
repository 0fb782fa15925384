"""Personal data in posts: find it, and mask it wherever a post is shown (queue, dashboard, Slack).

Found: e-mail addresses; card-like numbers (13 to 19 digits, spaces or dashes allowed, that pass
the Luhn check); booking and order references (a code of 5 to 12 letters and digits with at
least one digit, within three words after a word such as *booking*, *order*,
*reservation*, *PNR*, *Buchung*, *rezerwacja*, *reserva*, *commande*, *заказ*, *foglalás*);
phone numbers (``+`` or ``00`` and 8 to 15 digits, a leading-zero national number, or three
groups of three digits starting 5 to 8, as Polish mobiles). Flight numbers (``AU214``), dates,
times, prices and handles stay. An all-letter code (``QWERTY``) is not found: too many words look
like one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

KINDS = ("email", "card", "reference", "phone")
LABELS = {"email": "[e-mail]", "card": "[card number]", "reference": "[booking ref]", "phone": "[phone]"}

_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
_CARD = re.compile(r"(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d-])")
_REFERENCE_WORDS = (
    r"booking|bookings|booked|order|orders|reservation|reference|ref|pnr|confirmation|ticket"
    r"|buchung\w*|bestellung\w*|auftrag\w*|rezerwacj\w*|zamówieni\w*|zamowieni\w*"
    r"|reserva\w*|pedido\w*|localizador|réservation\w*|commande\w*|dossier"
    r"|заказ\w*|брон\w*|foglalás\w*|rendelés\w*"
)
_REFERENCE = re.compile(
    rf"(?i:\b(?:{_REFERENCE_WORDS})\b)(?:\s+\S+){{0,2}}?[\s:#.,-]+"
    r"(?![A-Z]{2}\d{1,4}\b)((?=[A-Za-z]*\d)[A-Za-z0-9]{5,12})\b"
)
_PHONE = re.compile(
    r"(?<![\w+])(?:(?:\+|00)\d(?:[\s().-]?\d){7,14}|0\d{2,4}[\s.-]?\d{3,4}[\s.-]?\d{3,4}"
    r"|[5-8]\d{2}[ -]\d{3}[ -]\d{3})(?![\w-])"
)


@dataclass(frozen=True)
class Found:
    """One piece of personal data: its kind (see :data:`KINDS`) and where it is in the text."""

    kind: str
    start: int
    end: int


def luhn_valid(digits: str) -> bool:
    """The Luhn checksum every payment card number passes."""
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char) * (2 if index % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def _spans(text: str) -> list[Found]:
    found = [Found("email", m.start(), m.end()) for m in _EMAIL.finditer(text)]
    found += [Found("card", m.start(), m.end()) for m in _CARD.finditer(text)
              if luhn_valid(re.sub(r"\D", "", m.group()))]
    found += [Found("reference", m.start(1), m.end(1)) for m in _REFERENCE.finditer(text)]
    found += [Found("phone", m.start(), m.end()) for m in _PHONE.finditer(text)]
    return found


def find(text: str) -> list[Found]:
    """The personal data in ``text``, in order; overlaps go to the earlier kind in :data:`KINDS`."""
    kept: list[Found] = []
    for item in sorted(_spans(text), key=lambda f: KINDS.index(f.kind)):
        if all(item.end <= other.start or item.start >= other.end for other in kept):
            kept.append(item)
    return sorted(kept, key=lambda f: f.start)


def has_personal_data(text: str) -> bool:
    return bool(find(text))


def mask(text: str) -> str:
    """``text`` with each piece of personal data replaced by its label (``[booking ref]``...)."""
    out, last = [], 0
    for item in find(text):
        out += [text[last:item.start], LABELS[item.kind]]
        last = item.end
    return "".join(out) + text[last:]
