"""The e-mail sent-log: the last state of a key decides whether its message counts as delivered."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.alerts.notify.email.journal import SentJournal
from monitor.errors import DeliveryError


def test_sending_and_sent_count_as_delivered_refused_does_not(tmp_path: Path) -> None:
    journal = SentJournal(tmp_path / "mail" / "sent.jsonl")
    assert journal.delivered("a") is None
    journal.write("a", "<1@x>", "sending")
    assert journal.delivered("a") == "<1@x>"  # the server may have it: never sent again
    journal.write("b", "<2@x>", "sending")
    journal.write("b", "<2@x>", "refused")
    assert journal.delivered("b") is None and journal.last("b") == ("refused", "<2@x>")
    journal.write("b", "<2@x>", "sending")
    journal.write("b", "<2@x>", "sent")
    assert journal.delivered("b") == "<2@x>"


def test_a_torn_line_is_skipped_and_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "sent.jsonl"
    SentJournal(path).write("a", "<1@x>", "sent")
    with path.open("a", encoding="utf-8") as out:
        out.write('{"key": "b", "mess')
    assert SentJournal(path).delivered("a") == "<1@x>" and SentJournal(path).delivered("b") is None
    SentJournal(path).write("c", "<3@x>", "sent")  # starts a line of its own
    assert SentJournal(path).delivered("c") == "<3@x>"
    assert len(path.read_text().splitlines()) == 3


def test_an_unwritable_journal_is_a_delivery_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(DeliveryError, match="cannot write the e-mail journal"):
        SentJournal(blocker / "sent.jsonl").write("a", "<1@x>", "sending")
