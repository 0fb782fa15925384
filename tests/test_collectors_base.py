"""The run's count of unreadable items: every skip counted, the first ones logged with where they came from."""

from __future__ import annotations

import logging
from datetime import datetime, timezone

import pytest

from monitor.collectors.base import WARN_LIMIT, FetchContext
from monitor.query import Query


def test_every_skip_is_counted_and_the_first_ones_are_logged(caplog: pytest.LogCaptureFixture) -> None:
    context = FetchContext("acme", "import", Query.parse("acme"), (), datetime(2024, 5, 1, tzinfo=timezone.utc))
    with caplog.at_level(logging.WARNING, logger="monitor.collectors.base"):
        for line in range(1, WARN_LIMIT + 6):
            context.skip(f"row rows.jsonl:{line}", "broken JSON")
    assert context.unreadable.count == WARN_LIMIT + 5
    assert f"import: skipped row rows.jsonl:{WARN_LIMIT}: broken JSON" in caplog.text
    assert f"rows.jsonl:{WARN_LIMIT + 1}:" not in caplog.text
    assert len(caplog.records) == WARN_LIMIT + 1 and "only counted from now on" in caplog.records[-1].message
