"""Keyed JSON-lines files: the records of one key in file order, broken lines skipped, no file no records."""

from __future__ import annotations

from monitor.alerts.notify.jsonl import records_with_key


def test_the_records_of_a_key_in_file_order_past_broken_lines(tmp_path):
    path = tmp_path / "log.jsonl"
    path.write_text('{"key": "a", "n": 1}\n{"key": "b", "n": 2}\n{"key": "a", "n"\n[1, 2]\n"a"\n{"key": "a", "n": 3}\n',
                    encoding="utf-8")
    assert [record["n"] for record in records_with_key(path, "a")] == [1, 3]
    assert [record["n"] for record in records_with_key(path, "b")] == [2]
    assert list(records_with_key(path, "c")) == []


def test_a_missing_file_has_no_records(tmp_path):
    assert list(records_with_key(tmp_path / "none.jsonl", "a")) == []
