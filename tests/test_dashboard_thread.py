"""A post's thread on the Mentions page: its conversation and its reply chain, read from a store."""

from __future__ import annotations

import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from monitor.dashboard.thread_data import depths, thread_of  # noqa: E402
from monitor.models import Mention  # noqa: E402
from monitor.store.sqlite import SqliteStore  # noqa: E402

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=timezone.utc)


def post(n: int, reply_to: int | None = None, conversation: int | None = None, brand: str = "Acme") -> Mention:
    return Mention(id=f"x:{n}", brand=brand, source="x", text=f"post {n}", created_at=T0 + timedelta(minutes=n),
                   collected_at=T0, reply_to=None if reply_to is None else f"x:{reply_to}",
                   conversation=None if conversation is None else f"x:{conversation}")


def test_the_thread_holds_the_conversation_and_parents_stored_outside_it(tmp_path):
    with SqliteStore(tmp_path / "m.db") as store:
        store.add_mentions([post(1), post(2, 1), post(3, 2, 2), post(4, 2, 2), post(5, conversation=5),
                            post(3, 2, 2, brand="Other")])
        assert [m.id for m in thread_of(store, "Acme", "x:4")] == ["x:1", "x:2", "x:3", "x:4"]
        assert [m.id for m in thread_of(store, "Acme", "x:5")] == ["x:5"]
        assert thread_of(store, "Acme", "x:9") == []


def test_depth_counts_stored_posts_up_the_chain_and_survives_a_loop():
    assert depths([post(1), post(2, 1), post(3, 2), post(4, 9)]) == {"x:1": 0, "x:2": 1, "x:3": 2, "x:4": 0}
    assert depths([post(1, 2), post(2, 1)]) == {"x:1": 1, "x:2": 1}
