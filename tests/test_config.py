from datetime import timedelta
from importlib import resources
from pathlib import Path

import pytest
from pydantic import ValidationError

from monitor.config import BrandConfig, load, parse
from monitor.errors import ConfigError
from monitor.query import Query

MINIMAL = """
brands:
  - name: Aurora Air
    terms: ["aurora air"]
"""


def problems_of(text: str) -> list[tuple[str, str]]:
    with pytest.raises(ConfigError) as caught:
        parse(text)
    assert caught.value.exit_code == 2
    return caught.value.problems


def test_starter_config_is_valid():
    config = parse(resources.files("monitor").joinpath("starter.yaml").read_text())
    assert config.brands[0].name == "Aurora Air"
    assert [s.key for s in config.brands[0].sources] == ["news", "import"]
    assert config.detection.bucket == timedelta(minutes=15)


def test_defaults_fill_everything_but_brands():
    config = parse(MINIMAL)
    assert config.storage.backend == "sqlite"
    assert config.nlp.backend == "auto"
    assert config.alerts.cooldown == timedelta(hours=2)


def test_every_error_is_reported_with_its_path_and_line():
    problems = problems_of(
        """
detection:
  bucket: soon
brands:
  - name: Aurora Air
    sources:
      - type: rss
        every: 5m
      - type: carrier-pigeon
"""
    )
    where = {path.split(" ")[0]: (path, msg) for path, msg in problems}
    assert "detection.bucket" in where and "(line 3)" in where["detection.bucket"][0]
    assert "not a duration" in where["detection.bucket"][1]
    assert "brands[0].sources[0].url" in where
    assert "brands[0].sources[1].type" in where
    assert "unknown collector 'carrier-pigeon'" in where["brands[0].sources[1].type"][1]
    assert "rss" in where["brands[0].sources[1].type"][1]


def test_unknown_keys_and_missing_brands_are_errors():
    problems = problems_of("storage:\n  backnd: sqlite\n")
    paths = [p for p, _ in problems]
    assert any(p.startswith("storage.backnd") for p in paths)
    assert any(p.startswith("brands") for p in paths)


def test_secret_values_in_the_file_are_refused():
    problems = problems_of(MINIMAL + "slack:\n  token: xoxb-123\n")
    path, message = problems[0]
    assert path.startswith("slack.token")
    assert "environment" in message
    assert all("xoxb-123" not in m for _, m in problems)


def test_yaml_syntax_error_names_the_line():
    with pytest.raises(ConfigError, match="line 3"):
        parse("brands:\n  - name: a\n    terms: x: y\n")


def test_duplicate_source_names_are_rejected():
    problems = problems_of(
        MINIMAL + "    sources:\n      - {type: rss, url: 'http://a'}\n      - {type: rss, url: 'http://b'}\n"
    )
    assert "share the name 'rss'" in problems[0][1]


def test_relative_paths_resolve_beside_the_file_into_a_new_config(tmp_path):
    path = tmp_path / "conf" / "monitor.yaml"
    path.parent.mkdir()
    text = ("storage: {backend: elasticsearch, ca_certs: certs/ca.crt}\nemail: {host: smtp.example, sender: a@b.example,"
            " to: [c@d.example]}\n" + MINIMAL + "    sources:\n      - {type: file, path: feed.jsonl}\n"
            "      - {type: file, name: remote, path: 'https://example.org/feed.jsonl'}\n")
    path.write_text(text)
    config = load(path)
    assert config.storage.settings.ca_certs == path.parent / "certs" / "ca.crt"
    assert config.brands[0].sources[0].settings.path == str(path.parent / "feed.jsonl")
    assert config.brands[0].sources[1].settings.path == "https://example.org/feed.jsonl"
    assert config.section("email").journal == path.parent / "email-sent.jsonl"
    assert config.section("outbox").path == path.parent / "outbox.jsonl"
    assert config.alerts.playbooks_dir == path.parent / "playbooks"
    parsed = parse(text)
    resolved = parsed.resolve_paths(tmp_path)
    assert resolved is not parsed and parsed.brands[0].sources[0].settings.path == "feed.jsonl"
    assert parsed.section("email").journal == Path("email-sent.jsonl")
    assert sqlite_path(parse(MINIMAL).resolve_paths(tmp_path)) == tmp_path / "monitor.db"


def sqlite_path(config):
    return config.storage.settings.path


def test_the_validated_config_is_immutable():
    config = parse(MINIMAL + "    sources:\n      - {type: rss, url: 'https://example.org/feed'}\n")
    for model, field, value in [(config, "brands", []), (config.alerts, "cooldown", timedelta(0)),
                                (config.storage, "backend", "elasticsearch"), (config.storage.settings, "path", "x"),
                                (config.brands[0].sources[0], "every", timedelta(0)),
                                (config.brands[0].sources[0].settings, "url", "x"), (config.care, "target", 0),
                                (config.section("outbox"), "path", "x"), (config.slack, "channel", "#x")]:
        with pytest.raises(ValidationError, match="frozen"):
            setattr(model, field, value)


def test_each_plugin_gets_its_options_validated_once_as_its_own_model():
    config = parse("storage: {backend: elasticsearch, url: 'http://127.0.0.1:9200', index_prefix: brand-x}\n"
                   + MINIMAL + "    sources:\n      - {type: rss, url: 'https://example.org/feed', timeout: 3}\n")
    store, source = config.storage.settings, config.brands[0].sources[0].settings
    assert type(store).__name__ == "ElasticsearchConfig" and store.index_prefix == "brand-x"
    assert type(source).__name__ == "RssConfig" and source.timeout == 3.0
    assert config.storage.model_dump(mode="json")["index_prefix"] == "brand-x"  # round-trips (the dashboard's key)
    assert type(config.storage).model_validate_json(config.storage.model_dump_json()).settings == store


def test_store_and_notifier_options_are_checked_by_their_plugins_model():
    problems = dict(problems_of(
        "storage: {backend: sqlite, url: 'http://127.0.0.1:9200'}\n"
        "alerts: {notifier: email}\n"
        "email: {port: 0, sender: not-an-address}\n"
        "slak: {channel: '#x'}\n" + MINIMAL))
    assert problems["storage.url (line 1)"] == "Extra inputs are not permitted"
    assert "Field required" in problems["email.host (line 3)"] and "email.to (line 3)" in problems
    assert "greater than or equal to 1" in problems["email.port (line 3)"]
    assert "should match pattern" in problems["email.sender (line 3)"]
    assert problems["slak (line 4)"].startswith("unknown section 'slak' (settings: timezone, storage, workers")
    assert "notifier sections: email, outbox, slack" in problems["slak (line 4)"]


def test_a_chosen_notifier_needs_a_valid_section_even_when_it_is_left_out():
    problems = problems_of("alerts: {notifier: email}\n" + MINIMAL)
    assert {path.split(" ")[0] for path, _ in problems} == {"email.host", "email.sender", "email.to"}


def test_the_older_outbox_spelling_still_works_and_cannot_be_doubled(tmp_path):
    config = parse("alerts: {outbox: alerts/out.jsonl, cooldown: 1h}\n" + MINIMAL)
    assert config.section("outbox").path == Path("alerts/out.jsonl")
    assert config.alerts.cooldown == timedelta(hours=1)
    problems = problems_of("alerts: {outbox: a.jsonl}\noutbox: {path: b.jsonl}\n" + MINIMAL)
    assert "keep the outbox: section" in problems[0][1]


def test_missing_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="cannot read config"):
        load(tmp_path / "nope.yaml")


def test_brand_fields_compile_to_a_query():
    brand = BrandConfig(name="Aurora Air", terms=["aurora air", "aurora"], hashtags=["auroraair"],
                        handles=["@AuroraAir"], exclusions=["borealis", "northern lights"])
    query = Query.parse(brand.query_text())
    assert query.match("aurora air lost my bag")
    assert query.match("#auroraair")
    assert not query.match("aurora borealis tonight")
    assert not query.match("aurora and the northern lights")


def test_brand_without_terms_searches_its_name():
    assert Query.parse(BrandConfig(name="Aurora Air").query_text()).match("flying Aurora Air")


def test_aliases_are_alternatives_to_the_terms_or_the_query():
    brand = BrandConfig(name="Ryanair", terms=["ryanair"], aliases=["Райанэйр", "ryan air"], exclusions=["fan"])
    assert brand.query_text() == 'ryanair OR Райанэйр OR "ryan air" -fan'
    explicit = BrandConfig(name="Ryanair", query="ryanair -fan", aliases=["Райанэйр"])
    assert explicit.query_text() == "(ryanair -fan) OR Райанэйр"
    assert Query.parse(explicit.query_text()).match("Жалоба на Райанэйра", languages=["ru"])


def test_a_query_that_does_not_parse_is_refused_at_load():
    with pytest.raises(ValueError, match="expected a term"):
        BrandConfig(name="Acme", query="(acme OR")


def test_workers_settings_have_defaults_and_a_lease_never_shorter_than_a_job_interval():
    base = "brands:\n  - name: Aurora Air\n    sources: [{type: rss, url: 'http://x/feed', every: 10m}]\n"
    config = parse(base)
    assert (config.workers.capacity, config.workers.poll, config.workers.lease) == (4, timedelta(seconds=5), None)
    assert config.lease == timedelta(minutes=10)  # the longest job interval
    assert parse(base + "workers: {lease: 15m, capacity: 2}\n").lease == timedelta(minutes=15)
    with pytest.raises(ConfigError) as refused:
        parse(base + "workers: {lease: 2m}\n")
    assert refused.value.exit_code == 2
    assert "workers.lease" in str(refused.value.problems) and "brands[0].sources[0].every" in str(refused.value.problems)
