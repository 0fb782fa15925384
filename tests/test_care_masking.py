"""Personal data found and masked, and look-alikes (flight numbers, dates, prices) left alone."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from monitor.care.masking import LABELS, find, has_personal_data, luhn_valid, mask

MASKED = [
    ("write to me at jane.doe+air@example.co.uk please", "write to me at [e-mail] please"),
    ("booking ref X7K9PQ, flight cancelled", "booking ref [booking ref], flight cancelled"),
    ("My booking is 4RT2ZZ and nobody answers", "My booking is [booking ref] and nobody answers"),
    ("order #12345678 never arrived", "order #[booking ref] never arrived"),
    ("PNR: AB12CD", "PNR: [booking ref]"),
    ("Meine Buchungsnummer lautet K3ZL9Q", "Meine Buchungsnummer lautet [booking ref]"),
    ("numer rezerwacji W2XK8P, pomocy", "numer rezerwacji [booking ref], pomocy"),
    ("mi reserva 8HJK2L sigue sin reembolso", "mi reserva [booking ref] sigue sin reembolso"),
    ("номер брони QW12ER", "номер брони [booking ref]"),
    ("call me on +48 601 234 567", "call me on [phone]"),
    ("call me on 601-234-567", "call me on [phone]"),
    ("tel 0049 30 1234567 please", "tel [phone] please"),
    ("ring 030 1234 5678 today", "ring [phone] today"),
    ("card 4111 1111 1111 1111 was charged twice", "card [card number] was charged twice"),
    ("charged 4111-1111-1111-1111!", "charged [card number]!"),
]

KEPT = [
    "flight AU214 delayed 40 minutes",
    "my booking for AU214 was cancelled",
    "Booking CANCELLED again, thanks @AuroraAir",
    "landed at 10:30 on 2026-03-14 10:45",
    "the sandwich is €9 now, was €7.50",
    "1 200 000 passengers a year",
    "write to @AuroraAir or email them",
    "4111 1111 1111 1112 is not a card (fails Luhn)",
    "gate B12, seat 14C, bag drop 45 minutes",
    "order 66 jokes aside, where is my refund?",
]


@pytest.mark.parametrize(("text", "expected"), MASKED)
def test_personal_data_is_masked(text: str, expected: str) -> None:
    assert has_personal_data(text)
    assert mask(text) == expected


@pytest.mark.parametrize("text", KEPT)
def test_look_alikes_are_not_masked(text: str) -> None:
    assert find(text) == []
    assert mask(text) == text


def test_luhn() -> None:
    assert luhn_valid("4111111111111111")
    assert not luhn_valid("4111111111111112")


@given(st.text(alphabet=st.characters(blacklist_categories=("Nd",), blacklist_characters="@"), max_size=200))
def test_text_without_digits_or_at_signs_is_unchanged(text: str) -> None:
    assert mask(text) == text


@given(st.lists(st.sampled_from([t for t, _ in MASKED] + KEPT), min_size=1, max_size=5))
def test_masking_leaves_nothing_to_mask(parts: list[str]) -> None:
    masked = mask(" ".join(parts))
    assert find(masked) == []
    assert mask(masked) == masked
    assert sum(masked.count(label) for label in LABELS.values()) >= sum(
        1 for p in parts if has_personal_data(p))
