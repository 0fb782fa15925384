from datetime import datetime, timezone

import pytest

from monitor.collectors.base import FetchContext
from monitor.collectors.x_rules import Rule, RuleSync, plan, rule_value
from monitor.collectors.x_stream import XStreamConfig
from monitor.errors import ConfigError
from monitor.query import Query
from tests.x_stream_fake import TOKEN, FakeXStream

NOW = datetime(2026, 3, 23, 12, 0, tzinfo=timezone.utc)


def context(query: str, brand: str = "Acme", peers: tuple[str, ...] = ()) -> FetchContext:
    return FetchContext(brand, "x_stream", Query.parse(query), ("en",), NOW, peers=peers or (brand,))


def test_the_rule_is_the_query_as_the_search_collector_compiles_it_within_the_length_limit(caplog):
    assert rule_value(context("acme -job"), 512) == "(acme OR #acme) -job"
    inflected = FetchContext("Acme", "x_stream", Query.parse("ryanair"), ("pl",), NOW)
    short = rule_value(inflected, 40)
    assert len(short) <= 40 and short.startswith("(ryanair OR #ryanair")
    assert "Left out" in caplog.text and "ryanairem" in caplog.text.lower()
    with pytest.raises(ConfigError, match="max_rule_length"):
        rule_value(context("acme OR globex OR initech"), 20)


def test_plan_adds_replaces_and_deletes_only_our_rules():
    existing = [Rule("1", "cats", "someone-else"), Rule("2", "(acme OR #acme)", "monitor:Acme"),
                Rule("3", "old", "monitor:Globex"), Rule("4", "gone", "monitor:Gone"), Rule("5", "dogs")]
    wanted = {"monitor:Globex": "(globex OR #globex)"}
    changes = plan(existing, wanted, "monitor:", ("Acme", "Globex"))
    assert changes.delete == ["3", "4"] and changes.add == [("(globex OR #globex)", "monitor:Globex")]
    same = plan(existing, {"monitor:Acme": "(acme OR #acme)"}, "monitor:", ("Acme",))
    assert same.delete == ["3", "4"] and same.add == []
    unknown = plan(existing, {"monitor:Acme": "(acme OR #acme)"}, "monitor:", ())
    assert unknown.delete == [] and unknown.add == []


def test_rules_sync_adds_changes_and_removes_brands_and_keeps_foreign_rules():
    foreign = {"id": "9", "value": "cats OR dogs", "tag": "pets"}
    untagged = {"id": "10", "value": "weather"}
    stale = {"id": "11", "value": "(acme OR #acme)", "tag": "monitor:Acme"}
    removed = {"id": "12", "value": "(initech OR #initech)", "tag": "monitor:Initech"}
    with FakeXStream(rules=[foreign, untagged, stale, removed]) as server:
        sync = RuleSync(XStreamConfig(base_url=server.base_url), TOKEN)
        sync.sync(context("acme OR acmecorp", peers=("Acme", "Globex")))
        sync.sync(context("globex", brand="Globex", peers=("Acme", "Globex")))
        values = {r.get("tag"): r["value"] for r in server.rules}
        assert values == {"pets": "cats OR dogs", None: "weather",
                          "monitor:Acme": "((acme OR #acme) OR (acmecorp OR #acmecorp))",
                          "monitor:Globex": "(globex OR #globex)"}
        posts = [r for r in server.rule_requests if r[0] == "POST"]
        assert posts[0][1] == {"delete": {"ids": ["11", "12"]}}
        assert posts[1][1] == {"add": [{"value": values["monitor:Acme"], "tag": "monitor:Acme"}]}
        before = len(server.rule_requests)
        assert not sync.sync(context("globex", brand="Globex", peers=("Acme", "Globex"))).add
        assert [r[0] for r in server.rule_requests[before:]] == ["GET"], "an unchanged rule is left as it is"


def test_a_dry_run_asks_x_to_check_the_changes_and_changes_nothing():
    with FakeXStream(rules=[{"id": "11", "value": "old", "tag": "monitor:Acme"}]) as server:
        RuleSync(XStreamConfig(base_url=server.base_url, dry_run=True), TOKEN).sync(context("acme"))
        assert [r[0] for r in server.rule_requests] == ["GET", "POST dry_run", "POST dry_run"]
        assert server.rules == [{"id": "11", "value": "old", "tag": "monitor:Acme"}]


def test_the_rules_are_listed_page_after_page():
    rules = [{"id": str(n), "value": f"rule {n}", "tag": "monitor:Old" if n == 4 else "other"} for n in range(5)]
    with FakeXStream(rules=rules) as server:
        server.rules_page = 2
        sync = RuleSync(XStreamConfig(base_url=server.base_url), TOKEN)
        assert [r.id for r in sync.rules()] == ["0", "1", "2", "3", "4"]
        assert sync.sync(context("acme")).delete == ["4"], "the removed brand's rule was on the last page"
