"""SQLite's totals and authors columns, filled in once for a file written before them."""

from datetime import datetime, timezone

from monitor.models import Author, Engagement, Mention
from monitor.store.base import AuthorTotals, MentionFilter, Totals
from monitor.store.sqlite import SqliteStore

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=timezone.utc)


def post(n: int, author: Author, reach: int | None = None) -> Mention:
    return Mention(id=f"x:{n}", brand="Aurora Air", source="x", text=f"post {n}", created_at=T0, collected_at=T0,
                   author=author, engagement=Engagement(likes=n), reach=reach)


def test_a_database_written_before_totals_gets_author_followers_and_reach_from_its_json(tmp_path):
    path = tmp_path / "old.db"
    posts = [post(1, Author(handle="@ana", followers=40)), post(2, Author(handle="", name="Bo Li"), reach=900),
             post(3, Author(name="Bo Li", followers=7)), post(4, Author())]
    with SqliteStore(path) as old:
        old.add_mentions(posts)
        for column in ("author", "followers", "reach"):
            old._db.execute(f"ALTER TABLE mentions DROP COLUMN {column}")
    columns = "SELECT id, author, followers, reach FROM mentions ORDER BY id"
    with SqliteStore(path) as reopened:
        everything = MentionFilter(brands=["Aurora Air"])
        assert reopened.totals(everything) == Totals(mentions=4, interactions=10, reach=40 + 900 + 7)
        assert reopened.authors(everything) == [AuthorTotals(author="Bo Li", mentions=2, interactions=5, followers=7),
                                                AuthorTotals(author="@ana", mentions=1, interactions=1, followers=40)]
        migrated = reopened._query(columns)
    with SqliteStore(tmp_path / "new.db") as new:  # a new file fills the same columns on insert
        new.add_mentions(posts)
        assert new._query(columns) == migrated == [("x:1", "@ana", 40, 40), ("x:2", "Bo Li", None, 900),
                                                   ("x:3", "Bo Li", 7, 7), ("x:4", None, None, 0)]
