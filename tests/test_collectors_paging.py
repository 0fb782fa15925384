"""The shared page loop: the per-run page bound, sweep bookkeeping, batches and engagement refresh."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any, Generator, Iterator

from monitor.collectors.api import ApiConfig, Sweep
from monitor.collectors.base import Batch, FetchContext
from monitor.collectors.paging import Page, Pager
from monitor.models import Mention
from monitor.query import Query

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)
CONTEXT = FetchContext("acme", "src", Query.parse("acme"), (), NOW)


def mention(key: int, title: str | None = None) -> Mention:
    return Mention(id=Mention.make_id("src", str(key)), brand="acme", source="src", text=f"post {key}", title=title,
                   created_at=NOW - timedelta(minutes=key), collected_at=NOW)


def page(*keys: int, last: bool = False, recent: list[Mention] | None = None) -> Page:
    ordered = sorted(keys)
    return Page([mention(k) for k in keys], [str(k) for k in ordered], last, recent)


def drain(batches: Generator[Batch, None, Any]) -> tuple[list[Batch], Any]:
    """Every batch and the generator's return value."""
    seen = []
    while True:
        try:
            seen.append(next(batches))
        except StopIteration as stop:
            return seen, stop.value


class Pages:
    """Serves the given pages in order and counts how many were asked for."""

    def __init__(self, *pages: Page):
        self.pages = list(pages)
        self.read = 0

    def __iter__(self) -> Iterator[Page]:
        for served in self.pages:
            self.read += 1
            yield served


def pager(max_pages: int = 10, sweeps: list[Sweep] | None = None, **options: Any) -> Pager:
    return Pager(ApiConfig(max_pages=max_pages, **options), CONTEXT, lambda: json.dumps([s.to_dict() for s in sweeps or []]))


def test_a_finished_sweep_moves_its_watermark_and_reports_it() -> None:
    sweep = Sweep(since="10")
    run = pager(sweeps=[sweep])
    batches, finished = drain(run.sweep(sweep, iter(Pages(page(30, 25), page(20, 15, last=True)))))
    assert finished is True
    assert [[m.id for m in b.mentions] for b in batches] == [["src:30", "src:25"], ["src:20", "src:15"]]
    assert (sweep.since, sweep.until, sweep.newest) == ("30", None, None)
    assert run.left == 8


def test_each_batch_carries_the_cursor_after_its_page() -> None:
    sweep = Sweep(since="10")
    run = pager(sweeps=[sweep])
    batches, _ = drain(run.sweep(sweep, iter(Pages(page(30, 25), page(20, last=True)))))
    first, second = (json.loads(b.cursor or "")[0] for b in batches)
    assert (first["since"], first["until"], first["newest"]) == ("10", "25", "30")
    assert (second["since"], second["until"], second["newest"]) == ("30", None, None)


def test_the_page_bound_stops_before_reading_another_page() -> None:
    sweep = Sweep(since="10")
    pages = Pages(page(30), page(25), page(20), page(15, last=True))
    run = pager(max_pages=2)
    batches, finished = drain(run.sweep(sweep, iter(pages)))
    assert finished is False and len(batches) == 2 and pages.read == 2 and run.left == 0
    assert (sweep.since, sweep.until, sweep.newest) == ("10", "25", "30")


def test_the_bound_is_shared_by_the_sweeps_of_a_run() -> None:
    first, second, third = Sweep(), Sweep(), Sweep()
    later = Pages(page(5, last=True))
    run = pager(max_pages=3)
    assert drain(run.sweep(first, iter(Pages(page(40), page(35, last=True)))))[1] is True
    batches, finished = drain(run.sweep(second, iter(Pages(page(30), page(25, last=True)))))
    assert finished is False and len(batches) == 1 and second.until == "30"
    assert drain(run.sweep(third, iter(later))) == ([], False) and later.read == 0


def test_an_empty_page_keeps_the_resume_point() -> None:
    sweep = Sweep(since="10", until="20", newest="50")
    drain(pager(max_pages=1).sweep(sweep, iter(Pages(Page([], [], False)))))
    assert (sweep.until, sweep.newest) == ("20", "50")


def test_recent_posts_are_remembered_where_asked_and_only_those_chosen() -> None:
    sweep, recent = Sweep(), Sweep()
    story = mention(3, title="a story")
    chosen = page(3, 4, last=True, recent=[story])
    drain(pager().sweep(sweep, iter(Pages(chosen)), recent=recent))
    assert recent.recent_ids() == ["3"] and sweep.recent == []
    drain(pager().sweep(sweep, iter(Pages(page(1, 2, last=True)))))
    assert sweep.recent_ids() == ["1", "2"]


def test_remembering_follows_the_refresh_options() -> None:
    sweep = Sweep()
    drain(pager(refresh_hours=0).sweep(sweep, iter(Pages(page(1, 2, last=True)))))
    assert sweep.recent == []
    drain(pager(refresh_max=1).sweep(sweep, iter(Pages(page(1, 2, last=True)))))
    assert sweep.recent_ids() == ["1"]


def test_refresh_looks_up_unique_ids_in_groups_and_skips_empty_answers() -> None:
    asked: list[list[str]] = []

    def lookup(ids: list[str]) -> list[Mention]:
        asked.append(ids)
        return [mention(int(i)) for i in ids if i != "4"]

    sweep = Sweep(since="9")
    batches = list(pager(sweeps=[sweep]).refresh(["1", "2", "1", "3", "4"], 2, lookup))
    assert asked == [["1", "2"], ["3", "4"]]
    assert [[m.id for m in b.mentions] for b in batches] == [["src:1", "src:2"], ["src:3"]]
    assert all(json.loads(b.cursor or "")[0]["since"] == "9" for b in batches)
    assert list(pager().refresh(["4"], 2, lookup)) == []
